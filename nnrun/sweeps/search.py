"""The search sweeper: cells drawn by Optuna (``sweep.method`` random or tpe), or a grid
walked by Optuna's GridSampler so that ``sweep.prune`` can stop its unpromising cells.

The grid sweeper (:mod:`nnrun.sweeps.runner`'s :class:`~nnrun.sweeps.runner.GridSweeper`)
knows its cells before the sweep starts; this one asks the study for a trial whenever a
worker is free. Both offer the runner the same small interface: ``run(pool, ...)`` (the
cells trained and written; True if a signal stopped it), ``cells()`` (those written, for
results.csv) and ``pictures(...)``. A trial is a cell like a grid's: trained by the same
:func:`~nnrun.sweeps.cell.compute_cell` in the same workers, written by the client with the
same :func:`~nnrun.sweeps.cell.write_cell`, one row of results.csv (plus its ``trial``).

Pruning: a worker's cell reports each record of the monitored loss (validation where there
is one, else training; never the test set) to its trial through :class:`TrialReport`, the
``should_stop`` hook of :func:`nnrun.training.train`; when the pruner says prune, training
stops at that record and the cell is ``pruned``. Workers reach the study through its storage:
``study.journal`` in the sweep folder (Optuna's JournalStorage on a file), or ``--storage``.

Processes: each process that runs ``nnrun sweep`` on a study is a client with its own
workers. A client owns the trials it asks for, writes their cells and tells their results;
it touches a heartbeat file (``.owners/<host>-<pid>-<token>``) every few seconds. A trial
whose owner is gone (its pid dead on this host, or its heartbeat older than
:data:`STALE_SECONDS`) is marked FAIL by whichever client sees it first, and its values are
enqueued, so the next trial asked trains them again: the study ends with the requested
number of finished trials, and no cell is written twice (a trial's folder is named by its
number; a grid cell is never asked for twice while its trial is alive or finished).
"""

from __future__ import annotations

import copy
import math
import os
import secrets
import socket
import time
import warnings
from pathlib import Path

from nnrun.errors import NnrunError
from nnrun.store.names import OWNERS, STUDY
from nnrun.sweeps.grid import Cell, make_cells, parse_range

STALE_SECONDS = 60.0  # a heartbeat older than this: its process is gone (another host; same host: its pid)
BEAT_SECONDS = 2.0
STUDY_NAME = "nnrun"  # the study's name in the sweep folder's own journal


def optuna():
    """Optuna, or the one line that says how to get it."""
    try:
        import optuna as module
    except ImportError:
        raise NnrunError('sweep.method/sweep.prune: a search needs Optuna: pip install -e ".[search]" in the nnrun '
                         "checkout (or pip install optuna), or use sweep.method=grid with sweep.prune=none") from None
    module.logging.set_verbosity(module.logging.WARNING)
    return module


# ---------------------------------------------------------------- storage, samplers, pruners
def open_storage(url: str):
    """A database URL Optuna accepts (``sqlite:///…``, ``postgresql://…``), else a journal file."""
    op = optuna()
    if "://" in url:
        return op.storages.RDBStorage(url)
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    # the open lock (O_EXCL) also works on NFS, where the default symlink lock may not
    return op.storages.JournalStorage(JournalFileBackend(url, lock_obj=JournalFileOpenLock(url)))


def storage_of(sweep_dir: Path, search: dict) -> str:
    return search.get("storage") or str(Path(sweep_dir).absolute() / STUDY)


REDUCTION = 3  # halving and Hyperband keep a third of the cells at each rung


def first_rung(records: int) -> int:
    """The first record at which a pruner may stop a cell: three rungs of 3x before the last."""
    return max(1, records // REDUCTION**3)


def make_pruner(prune: str, records: int):
    """The pruner of ``sweep.prune`` for cells of ``records`` records (steps 1 .. records)."""
    op = optuna()
    first = first_rung(records)
    if prune == "median":
        return op.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=first)
    if prune == "halving":
        return op.pruners.SuccessiveHalvingPruner(min_resource=first, reduction_factor=REDUCTION)
    if prune == "hyperband":
        return op.pruners.HyperbandPruner(min_resource=first, max_resource=max(records, first),
                                          reduction_factor=REDUCTION)
    return op.pruners.NopPruner()


def _encoded(values: list) -> list:
    """A categorical axis as Optuna stores it: the values themselves when plain, else their
    text (a list such as an architecture)."""
    plain = all(v is None or isinstance(v, (bool, int, float, str)) for v in values)
    from nnrun.store.results import short_value

    return list(values) if plain else [short_value(v) for v in values]


def trial_seed(sampler_seed: int, number: int) -> int:
    """The seed trial ``number``'s values are drawn with: a function of the sampler's seed and
    the trial's number alone. One sampler seeded once would draw the same sequence again in
    every process that asks for trials (a resumed search, each process of a shared study):
    the same cells trained twice. Drawn per trial, a search continues where it stopped, and
    trial k has the same values for any number of workers or processes."""
    import numpy as np

    return int(np.random.SeedSequence([sampler_seed, number]).generate_state(1)[0])


def make_sampler(search: dict, axes: dict, number: int | None = None):
    """The study's sampler; for a random or TPE search, the one that draws trial ``number``'s
    values (:func:`trial_seed`). A grid's sampler walks the grid in one seeded order, and
    knows which of its cells the study has already asked for."""
    op = optuna()
    seed = search["sampler_seed"] if number is None else trial_seed(search["sampler_seed"], number)
    if search["method"] == "grid":
        space = {k: _encoded(v) for k, v in axes.items()}

        class CellGrid(op.samplers.GridSampler):
            """GridSampler whose after_trial does not call study.stop() (which only works inside
            study.optimize): the runner counts the trials itself."""

            def after_trial(self, study, trial, state, values):
                pass

        return CellGrid(space, seed=seed)
    if search["method"] == "random":
        return op.samplers.RandomSampler(seed=seed)
    return op.samplers.TPESampler(seed=seed)


def suggest(trial, axes: dict) -> dict:
    """The trial's value of every axis (ranges drawn, lists chosen), decoded."""
    values = {}
    for key, spec in axes.items():
        r = parse_range(key, spec) if isinstance(spec, str) else None
        if r is None or r.kind == "choice":
            choices = list(r.args) if r is not None else spec
            picked = trial.suggest_categorical(key, _encoded(choices))
            values[key] = choices[_encoded(choices).index(picked)]
        elif r.kind == "int":
            values[key] = trial.suggest_int(key, *r.args)
        else:
            values[key] = trial.suggest_float(key, *r.args, log=r.kind == "loguniform")
    return values


def decode(params: dict, axes: dict) -> dict:
    """A finished trial's params as the axes' values (what its folder and row show)."""
    values = {}
    for key, spec in axes.items():
        r = parse_range(key, spec) if isinstance(spec, str) else None
        if r is None or r.kind == "choice":
            choices = list(r.args) if r is not None else spec
            values[key] = choices[_encoded(choices).index(params[key])]
        else:
            values[key] = params[key]
    return values


# ---------------------------------------------------------------------------- reporting
MAX_REPORTS = 100  # a trial reports at most about this many records (E1 records 20,000)


def report_steps(prune: str, records: int) -> tuple[int, ...]:
    """The records (steps 1 .. ``records``) a trial reports to its pruner: the ones it decides at.

    Halving and Hyperband decide only at their rungs, records ``first * 3**k``
    (:func:`first_rung`): a value reported between two rungs is never read, so only the rungs
    are reported, and the last record. The median pruner compares every step with the other
    trials' values at that step: every ``every``-th record, at most about :data:`MAX_REPORTS`
    of them. Each report is a write to the study's storage (reporting every one of E1's
    20,000 records made its searches 30 times slower and their journal 16 MB); training's
    chunks end at these records."""
    if prune in ("halving", "hyperband"):
        rungs = {first_rung(records) * REDUCTION**k for k in range(64)}
        return tuple(sorted({s for s in rungs if s < records} | {records}))
    every = max(1, math.ceil(records / MAX_REPORTS))
    return tuple(sorted(set(range(every, records + 1, every)) | {records}))


class TrialReport:
    """The ``should_stop`` hook a worker's cell trains with: the monitored loss at each of
    :func:`report_steps` (step = the record's number: the epoch, for an epoch config) is
    reported to the trial, and the pruner decides. :meth:`next_step` tells training where to
    end its chunks. Picklable: the study is opened in the worker, at the first report."""

    def __init__(self, storage: str, study_name: str, trial_id: int, prune: str, records: int, column: int):
        self.storage, self.study_name, self.trial_id = storage, study_name, trial_id
        self.prune, self.records, self.column = prune, records, column
        self.steps = report_steps(prune, records)
        self.step, self._trial = 0, None

    def __getstate__(self):
        return {**self.__dict__, "_trial": None}

    def next_step(self, step: int) -> int:
        """The first record after ``step`` that is reported (past the last: the last)."""
        return next((s for s in self.steps if s > step), self.records)

    def __call__(self, block) -> bool:
        from nnrun.engines.layout import IT

        op = optuna()
        for row in block:
            if row[IT] <= 0:  # the initial weights: no step of training yet
                continue
            self.step += 1
            if self.step not in self.steps:
                continue
            if self._trial is None:
                study = op.load_study(study_name=self.study_name, storage=_worker_storage(self.storage),
                                      pruner=make_pruner(self.prune, self.records))
                self._trial = op.trial.Trial(study, self.trial_id)
            value = float(row[self.column])
            try:
                self._trial.report(value if math.isfinite(value) else float("inf"), self.step)
                if self._trial.should_prune():
                    return True
            except op.exceptions.UpdateFinishedTrialError:
                return True  # its client is gone and another marked the trial failed: stop
        return False


_STORAGES: dict = {}  # a worker's open storages, by URL


def _worker_storage(url: str):
    """The storage a worker's trials report to, opened once per worker process: opening a
    journal replays it from its first line (~14 ms a trial by the last of E5's 49 halving
    trials); kept open, it reads only the lines written since. A worker lives as long as its
    sweep's pool, so a kept storage never outlives its study."""
    if url not in _STORAGES:
        _STORAGES[url] = open_storage(url)
    return _STORAGES[url]


# -------------------------------------------------------------------------- the sweeper
def monitor_of(cfg) -> str:
    """The monitored record: the validation loss where there is one, else the training loss."""
    return "val_loss" if cfg.data.validation_fraction else "train_loss"


def planned_records(cfg) -> int:
    """How many records after the first a cell of ``cfg`` makes (the pruners' max resource)."""
    from nnrun.sweeps.cell import cell_data
    from nnrun.training import planned_iterations, resolve_log_every

    n = len(cell_data(cfg).X_train)
    return max(1, math.ceil(planned_iterations(cfg, n) / resolve_log_every(cfg, n)))


def new_study(storage: str, study_name: str, search: dict, axes: dict, records: int):
    """(study, created): a new study, or (with --storage) the one other processes made."""
    op = optuna()
    try:
        study = op.create_study(study_name=study_name, storage=open_storage(storage), direction="minimize",
                                sampler=make_sampler(search, axes), pruner=make_pruner(search["prune"], records))
        return study, True
    except op.exceptions.DuplicatedStudyError:
        return load(storage, study_name, search, axes, records), False


def load(storage: str, study_name: str, search: dict, axes: dict, records: int):
    op = optuna()
    try:
        return op.load_study(study_name=study_name, storage=open_storage(storage),
                             sampler=make_sampler(search, axes), pruner=make_pruner(search["prune"], records))
    except KeyError:
        raise NnrunError(f"--storage: {storage} holds no study named {study_name}") from None


def joined_folder(study, storage: str, wait: float = 60.0) -> Path:
    """The sweep folder of a study another process created (it records the folder just after)."""
    deadline = time.monotonic() + wait
    while True:
        folder = study.user_attrs.get("sweep_dir")
        if folder:
            return Path(folder)
        if time.monotonic() > deadline:
            raise NnrunError(f"--storage: the study {study.study_name} in {storage} names no sweep folder; "
                             "another nnrun sweep created it and has not said where it writes (give --name "
                             "to start a new study)")
        time.sleep(0.5)
        study = optuna().load_study(study_name=study.study_name, storage=study._storage)


class Owner:
    """This process's heartbeat file in the sweep folder: alive while it is touched."""

    def __init__(self, sweep_dir: Path):
        self.folder = Path(sweep_dir) / OWNERS
        self.folder.mkdir(exist_ok=True)
        self.token = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.path = self.folder / self.token
        self.last = 0.0
        self.beat(force=True)

    def beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= BEAT_SECONDS:
            self.path.touch()
            self.last = now

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        try:
            self.folder.rmdir()  # the last process out leaves no empty folder
        except OSError:
            pass

    def alive(self, token: str | None) -> bool:
        """Whether the process that owns ``token`` is still working on the study."""
        if not token:
            return False
        parts = token.rsplit("-", 2)  # host-pid-random
        host, pid = parts[0], int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
        if host == socket.gethostname() and pid > 0:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                pass
        try:
            return time.time() - (self.folder / token).stat().st_mtime < STALE_SECONDS
        except OSError:
            return False


class SearchSweeper:
    """Trials asked of an Optuna study, one per free worker, each a cell."""

    def __init__(self, sweep_dir: Path, spec: dict, jobs: int, scheduler: str | None):
        self.sweep_dir, self.spec = Path(sweep_dir), spec
        self.search = spec["search"]
        self.axes, self.base = spec["axes"], spec["base"]
        self.storage = storage_of(sweep_dir, self.search)
        if self.search["prune"] != "none" and scheduler:  # (a resumed one; a new one was refused before its folder)
            raise NnrunError(f"sweep.prune: {self.search['prune']} with --scheduler; pruning needs the workers to "
                             "report to the study, which Dask workers cannot reach here: resume without --scheduler")
        from nnrun.config import validate

        cfg = validate(self.base)
        self.monitor = monitor_of(cfg)
        self.records = self.search.get("records") or planned_records(cfg)
        self.slots = jobs
        self.study = load(self.storage, self.search["study"], self.search, self.axes, self.records)
        self.grid = make_cells(self.base, self.axes, 1) if self.search["method"] == "grid" else None

    # ------------------------------------------------------------------ trials and cells
    def cell_of(self, number: int, values: dict) -> Cell:
        """The trial's cell: a pruned grid's own cell (its folder as the grid names it), or a
        new cell t<number>_<values>."""
        if self.grid is not None:
            found = next(c for c in self.grid if c.values == values)
            return Cell(found.index, found.values, found.seed, found.config, trial=number)
        from nnrun.config import set_dotted

        cfg = copy.deepcopy(self.base)
        for key, value in values.items():
            set_dotted(cfg, key, value)
        return Cell(number, values, cfg.get("seed"), cfg, trial=number, prefix="t")

    def cells(self) -> list[Cell]:
        """The cells written so far, in trial order."""
        trials = self.study.get_trials(deepcopy=False)
        return sorted((self.cell_of(t.number, decode(t.params, self.axes)) for t in trials
                       if t.user_attrs.get("status") and t.user_attrs.get("folder")), key=lambda c: c.index)

    def planned(self) -> str:
        """What the search runs in all: its trials (a pruned grid's: its cells)."""
        return f"{self.search['trials']} trials"

    def _counts(self):
        """(finished trials: their cell written, alive: finished or running). A WAITING trial
        (a retired trial's values, enqueued) is not alive: nobody runs it until a process
        asks for it, and the next ask takes it. Counted alive, it kept every process from
        asking when it was the last trial the study needed: the search waited for ever."""
        op = optuna()
        trials = self.study.get_trials(deepcopy=False)
        finished = sum(1 for t in trials if t.user_attrs.get("status"))
        running = sum(1 for t in trials if t.state == op.trial.TrialState.RUNNING and not t.user_attrs.get("status"))
        return finished, finished + running

    def _fail_stale(self) -> None:
        """Trials whose owner is gone: FAIL, their values enqueued to be trained again."""
        op = optuna()
        for t in self.study.get_trials(deepcopy=False, states=(op.trial.TrialState.RUNNING,)):
            owner = t.user_attrs.get("owner")
            if owner == self.owner.token:
                continue
            if owner is None:  # asked, not yet claimed: give its process the grace time
                started = t.datetime_start.timestamp() if t.datetime_start else time.time()
                if time.time() - started < STALE_SECONDS:
                    continue
            elif self.owner.alive(owner):
                continue
            if t.user_attrs.get("status"):  # its cell was written, its result not told: tell it from the cell
                from nnrun.store.files import read_saved_json
                from nnrun.store.names import METRICS_JSON

                try:
                    self._tell(t.number, read_saved_json(self.sweep_dir / t.user_attrs["folder"] / METRICS_JSON))
                except (op.exceptions.UpdateFinishedTrialError, ValueError, RuntimeError):
                    pass  # another client told it first
                continue
            self._retire(t._trial_id, t.params)

    def _retire(self, trial_id: int, params: dict) -> None:
        op = optuna()
        try:
            if not self.study._storage.set_trial_state_values(trial_id, state=op.trial.TrialState.FAIL):
                return
        except op.exceptions.UpdateFinishedTrialError:
            return  # another client got there first
        if set(params) == set(self.axes):
            self.study.enqueue_trial(params, user_attrs={"retry_of": trial_id})

    def _ask(self):
        """(trial, cell) or None when the study has all the trials it needs."""
        op = optuna()
        trial = self.study.ask()
        trial.set_user_attr("owner", self.owner.token)
        # more processes than trials left: the trials asked first (lower numbers) go first
        before = [t for t in self.study.get_trials(deepcopy=False) if t.number < trial.number
                  and (t.user_attrs.get("status") or t.state in (op.trial.TrialState.RUNNING,))]
        if len(before) >= self.search["trials"]:
            self.study.tell(trial, state=op.trial.TrialState.FAIL)
            return None
        if self.search["method"] != "grid":  # before the values are drawn: trial k's own sampler
            self.study.sampler = make_sampler(self.search, self.axes, trial.number)
        cell = self.cell_of(trial.number, suggest(trial, self.axes))
        taken = {t.user_attrs.get("folder") for t in self.study.get_trials(deepcopy=False)
                 if t.number != trial.number and (t.user_attrs.get("status") or t.state == op.trial.TrialState.RUNNING)}
        if cell.folder_name in taken:  # never a cell twice (a grid point asked again)
            trial.set_user_attr("duplicate", cell.folder_name)
            self.study.tell(trial, state=op.trial.TrialState.FAIL)
            return None
        trial.set_user_attr("folder", cell.folder_name)
        return trial, cell

    def _tell(self, trial, metrics: dict) -> None:
        """The trial's result (``trial``: a Trial, or the number of a stale one whose cell is written)."""
        op = optuna()
        status = metrics.get("status") or "failed"
        if not isinstance(trial, int):
            trial.set_user_attr("status", status)
        value = metrics.get(self.monitor)
        if status == "pruned":
            self.study.tell(trial, state=op.trial.TrialState.PRUNED)
        elif status == "completed" and value is not None and math.isfinite(value):
            self.study.tell(trial, float(value))
        else:  # diverged or failed: no value to learn from
            self.study.tell(trial, state=op.trial.TrialState.FAIL)

    # ----------------------------------------------------------------------------- running
    def run(self, pool, sweep_dir: Path, quiet: bool, axes: dict, curves: dict) -> bool:
        """Ask, train, write and tell until the study has its trials; True if a signal
        stopped it (the trials in flight are retired: FAIL, their values enqueued)."""
        import signal
        import sys

        from tqdm import tqdm

        from nnrun.store.results import append_result
        from nnrun.sweeps.cell import compute_cell, warm_up, write_cell

        stop = {"signal": None}

        def handler(signum, frame):
            stop["signal"] = signum

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        self.owner = Owner(sweep_dir)
        finished, _ = self._counts()
        bar = tqdm(total=self.search["trials"], initial=finished, desc="trials", unit="trial",
                   disable=True if quiet else None, file=sys.stderr)
        pending, asking, warmed = {}, True, 0
        try:
            while stop["signal"] is None:
                self.owner.beat()
                if asking and len(pending) < self.slots:
                    self._fail_stale()
                while asking and len(pending) < self.slots:
                    finished, alive = self._counts()
                    if alive >= self.search["trials"]:
                        asking = bool(pending) or alive > finished  # others' trials may fail and come back
                        break
                    asked = self._ask()
                    if asked is None:
                        continue
                    trial, cell = asked
                    report = (TrialReport(self.storage, self.search["study"], trial._trial_id, self.search["prune"],
                                          self.records, _column(self.monitor))
                              if self.search["prune"] != "none" else None)
                    future = pool.submit(compute_cell, cell.config, sweep_dir.name, str(sweep_dir / cell.folder_name),
                                         None, report)  # no history table: a trial's cell writes its history.csv
                    pending[future] = (trial, cell)
                if not asking and warmed < self.slots and len(pending) < self.slots:
                    # a worker with no trial left imports what the pictures need while the last trials run
                    pool.submit(warm_up, self.picture_modules())
                    warmed += 1
                if not pending:
                    finished, alive = self._counts()
                    if finished >= self.search["trials"] or not asking:
                        break
                    time.sleep(BEAT_SECONDS / 2)  # others' trials still running: one of them may fail
                    asking = True
                    continue
                for future in pool.wait(list(pending)):
                    trial, cell = pending.pop(future)
                    result = future.result()
                    if result.get("metrics", {}).get("status") == "interrupted":
                        # Ctrl-C reached the worker too: the cell stopped short of its end. As a grid drops
                        # its running batches, the trial is retired (FAIL, its values enqueued: trained
                        # again, in this run if it goes on, else on resume)
                        self._retire(trial._trial_id, trial.params)
                        asking = True  # its values wait in the study to be asked again
                        continue
                    write_cell(sweep_dir, cell, result)
                    append_result(sweep_dir, cell, result["metrics"], axes)
                    self._tell(trial, result["metrics"])
                    if result.get("curve") is not None:
                        curves[cell.folder_name] = result["curve"]
                    bar.update(1)
                    asking = True
            if stop["signal"] is not None:
                pool.cancel()
                for trial, _ in pending.values():
                    self._retire(trial._trial_id, trial.params)
                return True
            return False
        finally:
            bar.close()
            self.owner.close()
            for s, h in old.items():
                signal.signal(s, h)

    def draws_grid_pictures(self) -> bool:
        """A pruned grid keeps its heatmaps and curves; a random or tpe search has no grid."""
        return self.grid is not None

    def pictures(self, sweep_dir: Path, log) -> list[Path]:
        """The search's own pictures (:mod:`nnrun.plots.search`) drawn here, the files written;
        a failure is one warning."""
        try:
            from nnrun.plots.search import search_pictures

            return search_pictures(self.study, sweep_dir, self.spec.get("name", sweep_dir.name), self.monitor)
        except Exception as e:  # noqa: BLE001 - a picture must never cost the results
            log(f"nnrun: {_not_drawn(e)}")
            return []

    def picture_modules(self) -> tuple[str, ...]:
        """What this search's pictures are drawn with (:meth:`picture_calls`, and the grid's)."""
        from nnrun.sweeps.cell import GRID_PICTURES

        return (*(GRID_PICTURES if self.draws_grid_pictures() else ()), "nnrun.plots.search",
                "optuna.visualization.matplotlib")

    def picture_calls(self, sweep_dir: Path) -> list:
        """The search's own pictures as a call for a local worker, drawn while other workers
        draw the grid's (drawn here after them, they took 0.55 s of E5's 5.2 s halving)."""
        return [(search_plots, str(sweep_dir), self.spec)]


def saved_study(sweep_dir: Path, spec: dict):
    """(study, monitored record) of a search's sweep folder, as its pictures read them."""
    from nnrun.config import validate

    search, cfg = spec["search"], validate(spec["base"])
    records = search.get("records") or planned_records(cfg)
    return load(storage_of(sweep_dir, search), search["study"], search, spec["axes"], records), monitor_of(cfg)


def _not_drawn(error: Exception) -> str:
    return f"warning: the search's pictures were not drawn ({type(error).__name__}: {error})"


def search_plots(sweep_dir: str, spec: dict) -> tuple[dict, list]:
    """A worker's drawing of the search's pictures, from the study in its storage: ({file
    name: bytes}, [lines for the client's log]); a failure is a warning line, never the sweep's."""
    import tempfile

    try:
        from nnrun.plots.search import search_pictures

        study, monitor = saved_study(Path(sweep_dir), spec)
        with tempfile.TemporaryDirectory(prefix="nnrun-search-plots-") as tmp:
            written = search_pictures(study, Path(tmp), spec.get("name", Path(sweep_dir).name), monitor)
            return {path.name: path.read_bytes() for path in written}, []
    except Exception as e:  # noqa: BLE001 - a picture must never cost the results
        return {}, [_not_drawn(e)]


def _column(monitor: str) -> int:
    from nnrun.engines import layout as ix

    return ix.VAL_LOSS if monitor == "val_loss" else ix.TRAIN_LOSS


# ---------------------------------------------------------------------------- planning
def start_search(label: str, base: dict, axes: dict, cells: list, metrics, search: dict, runs_dir, command,
                 storage: str | None, make_dir, config_path=None, overrides=()) -> Path:
    """A new search's sweep folder and study; with ``storage`` (--storage) the study and folder
    other processes already work on, if there is one. ``make_dir(spec)`` makes the folder."""
    from nnrun.config import validate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna()
    cfg = validate(cells[0].config)
    records = planned_records(cfg)
    search = {**search, "records": records, "storage": storage, "study": label if storage else STUDY_NAME}
    if storage:
        study, created = new_study(storage, label, search, axes, records)
        if not created:
            import yaml

            from nnrun.store.names import SWEEP
            from nnrun.sweeps.grid import check_resume

            sweep_dir = joined_folder(study, storage)
            spec = yaml.safe_load((sweep_dir / SWEEP).read_text())
            if config_path is not None:
                check_resume(sweep_dir, spec, config_path, overrides, storage)
            return sweep_dir
        sweep_dir = make_dir(search)
        study.set_user_attr("sweep_dir", str(Path(sweep_dir).absolute()))
        return sweep_dir
    sweep_dir = make_dir(search)
    new_study(storage_of(sweep_dir, search), STUDY_NAME, search, axes, records)
    return sweep_dir


SEARCH_FIGURES = ("search_history", "search_parallel")  # a search's own pictures, as Sweep.figure names them


def search_figure(sweep_dir: Path, spec: dict, name: str):
    """The matplotlib Figure of a search's picture ``name`` (one of :data:`SEARCH_FIGURES`),
    drawn from its study as its file is drawn, nothing written (``nnrun.Sweep.figure``)."""
    from nnrun.plots.search import search_pictures
    from nnrun.plots.style import capture_figures

    study, monitor = saved_study(Path(sweep_dir), spec)
    with capture_figures() as figures:
        search_pictures(study, Path(sweep_dir), spec.get("name", Path(sweep_dir).name), monitor)
    if not figures:
        raise NnrunError(f"figure {name!r}: not drawn (no trial of this search completed)")
    return figures[SEARCH_FIGURES.index(name)]

