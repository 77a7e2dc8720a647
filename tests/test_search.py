"""nnrun sweep as a search (sweep.method random/tpe, sweep.prune, --resume, --storage), through Optuna."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import assert_clean_error, cli, nnrun_process, run_dir_from, small_config

optuna = pytest.importorskip("optuna", reason='the search sweeper needs Optuna: pip install -e ".[search]"')

FAST = {"train": {"iterations": 60, "batch_size": 4, "log_every": 10},
        "data": {"source": "moons", "n_samples": 80, "noise": 0.1, "test_fraction": 0.25,
                 "validation_fraction": 0.25}}
KEYS = ["trial", "train.eta", "train.lambda", "status", "val_loss", "folder"]


def search_config(**sweep):
    cfg = small_config(**FAST)
    cfg["sweep"] = {"grid": {"train.eta": "loguniform(0.001, 1)", "train.lambda": "choice(0, 0.001)"}, **sweep}
    return cfg


def study_of(sweep_dir: Path):
    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    from nnrun.sweeps.search import load, storage_of

    return load(storage_of(sweep_dir, spec["search"]), spec["search"]["study"], spec["search"], spec["axes"],
                spec["search"]["records"])


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_a_search_gives_the_same_trials_twice_with_one_job(method, write_config, runs_dir):
    path = write_config(search_config(method=method, trials=4, sampler_seed=7))
    frames = []
    for _ in range(2):
        result = cli("sweep", path, "--jobs", "1", "--runs-dir", runs_dir, "-q")
        assert result.exit_code == 0, result.output
        sweep_dir = run_dir_from(result)
        frames.append(pd.read_csv(sweep_dir / "results.csv")[KEYS])
        assert sorted(p.name for p in sweep_dir.glob("t*")) == sorted(frames[-1]["folder"])
        assert (sweep_dir / "search_history.png").exists() and (sweep_dir / "search_parallel.png").exists()
        assert (sweep_dir / "study.journal").exists() and "best cell chosen by val_accuracy" in result.stderr
    assert len(frames[0]) == 4 and list(frames[0]["trial"]) == [0, 1, 2, 3]
    cli("train", path, "train.lambda=0.5", "--runs-dir", runs_dir, "-q")  # a run beside: the axes' columns differ
    listed = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv").stdout)).set_index("kind")
    sweeps = listed.loc[f"sweep ({method}; by val_accuracy)"]  # a range as written, not "20 values"
    assert set(sweeps["train.eta"]) == {"loguniform(0.001, 1)"} and set(sweeps["train.lambda"]) == {"choice(0, 0.001)"}
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[0]["folder"][0].startswith("t000_eta=")
    page = (sweep_dir / "report.html").read_text()  # cold read: the page called the search's space a grid
    assert "search space" in page and f"4 trials: 4 completed" in page and ">grid<" not in page
    plotted = cli("plot", sweep_dir)  # cold read: it redrew the search's pictures but did not list them
    assert plotted.exit_code == 0 and "search_history.png" in plotted.stdout and "search_parallel.png" in plotted.stdout
    # second cold read: search_parallel.png's inner axes read 2×10⁻¹ over the lines
    import nnrun

    fig = nnrun.load(sweep_dir).figure("search_parallel")
    fig.canvas.draw()
    inner = [a for a in fig.axes[1:] if a.get_label() != "<colorbar>"]
    logs = [a for a in inner if a.get_yscale() == "log"]
    assert logs and all("10^" not in t.get_text() and "times" not in t.get_text()
                        for a in logs for t in a.get_yticklabels())
    assert all(t.get_bbox_patch() is not None for a in inner for t in a.get_yticklabels() if t.get_text())
    # cold read: dark was better here and yellow better in heatmaps.png; now yellow is the lower loss in both
    cmap = fig.axes[0].collections[0].get_cmap()
    assert sum(cmap(0.0)[:2]) > sum(cmap(1.0)[:2]) and "yellow is lower" in fig.axes[0].get_title()


@pytest.mark.parametrize("overrides, words", [
    (["train.eta=loguniform(0.001,1)"], ["train.eta", "loguniform(0.001,1)", "sweep.method=random"]),
    (["sweep.method=bayes"], ["sweep.method", "bayes", "tpe"]),
    (["sweep.prune=early"], ["sweep.prune", "early", "halving"]),
    # cold read: a misspelt method beside a range was told that a grid cannot walk a range
    (["sweep.method=tpee", "sweep.trials=4", "train.eta=loguniform(0.001,1)"], ["sweep.method", "did you mean 'tpe'"]),
    # cold read: a misspelt range was one value that "should be a valid number"
    (["sweep.method=tpe", "sweep.trials=4", "train.eta=logunifrom(0.001,1)"],
     ["train.eta=logunifrom(0.001,1)", "unknown range 'logunifrom'", "did you mean 'loguniform'"]),
    (["train.eta=logspac(-3,-1,3)"], ["unknown range 'logspac'", "did you mean 'logspace'", "linspace(a, b, n)"]),
])
def test_bad_search_input_exits_2_in_one_line(overrides, words, write_config, runs_dir):
    cfg = small_config(**FAST)
    cfg["sweep"] = {"grid": {"train.eta": [0.1, 0.5]}}
    assert_clean_error(nnrun_process("sweep", write_config(cfg), *overrides, "--runs-dir", runs_dir), words, runs_dir)


def test_a_search_without_trials_exits_2(write_config, runs_dir):
    result = nnrun_process("sweep", write_config(search_config(method="tpe")), "--runs-dir", runs_dir)
    assert_clean_error(result, ["sweep.trials", "tpe"], runs_dir)


def test_a_pruned_grid_is_deterministic_and_its_cells_match_training_alone(write_config, runs_dir):
    cfg = small_config(**FAST)
    cfg["train"].update(iterations=270, log_every=10)
    cfg["sweep"] = {"prune": "halving", "grid": {"train.eta": [0.003, 0.03, 0.3], "train.lambda": [0, 0.01, 0.1]}}
    path = write_config(cfg)
    frames = []
    for _ in range(2):
        result = cli("sweep", path, "--jobs", "1", "--runs-dir", runs_dir, "-q")
        assert result.exit_code == 0, result.output
        sweep_dir = run_dir_from(result)
        frames.append(pd.read_csv(sweep_dir / "results.csv")[["trial", *KEYS[1:], "iterations"]])
    pd.testing.assert_frame_equal(frames[0], frames[1])  # one job: the same trials, pruned at the same records
    results = frames[1]
    assert len(results) == 9 and sorted(p.name for p in sweep_dir.glob("c0*")) == sorted(results["folder"])
    assert "pruned" in set(results["status"]) and "completed" in set(results["status"])
    assert (sweep_dir / "heatmaps.png").exists() and (sweep_dir / "search_history.png").exists()
    assert "pruned" in (sweep_dir / "report.html").read_text()
    pruned = results[results["status"] == "pruned"].iloc[0]
    cell = sweep_dir / pruned["folder"]
    assert yaml.safe_load((cell / "metrics.json").read_text())["status"] == "pruned"
    alone = run_dir_from(cli("train", cell / "config.yaml", "--runs-dir", runs_dir / "alone", "-q"))
    mine, theirs = pd.read_csv(cell / "history.csv"), pd.read_csv(alone / "history.csv")
    stop = int(mine["iteration"].iloc[-1])
    assert stop == pruned["iterations"] and stop < 270
    theirs = theirs[theirs["iteration"] <= stop]
    columns = [c for c in mine.columns if c != "seconds"]
    pd.testing.assert_frame_equal(mine[columns], theirs[columns].reset_index(drop=True), check_exact=True)


def _wait_for(pattern_dir: Path, pattern: str, count: int, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        found = list(pattern_dir.glob(pattern))
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return list(pattern_dir.glob(pattern))


SLOW = {"iterations": 120000, "log_every": 20000}  # ~0.5 s a cell: a signal lands between the first and last


def test_an_interrupted_search_resumes_to_its_trials_without_writing_a_cell_twice(write_config, runs_dir):
    """Ctrl-C as a terminal sends it (to the whole process group: the workers too, whose cell
    stops short), then --resume. Regressions: the interrupted cell was written and counted as
    a finished trial (never trained again: 4 completed, 1 interrupted), and the resumed
    process drew the first trials' values again (its sampler restarted from the same seed)."""
    cfg = search_config(method="random", trials=5)
    cfg["train"].update(SLOW)
    path = write_config(cfg)
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(path), "--jobs", "1", "--runs-dir",
                             str(runs_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    _wait_for(runs_dir, "*-sweep/t*/metrics.json", 1, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    sweep_dir = next(runs_dir.glob("*-sweep"))
    before = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("t*/metrics.json")}
    assert 1 <= len(before) < 5 and "--resume" in err
    assert f"sweep interrupted: {len(before)} of 5 trials done" in err  # was "of <cells written so far> cells"
    result = cli("sweep", path, "--resume", sweep_dir, "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    assert "already done" in result.stderr
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 5 and results["folder"].is_unique and set(results["status"]) == {"completed"}
    assert results["train.eta"].is_unique, results[["trial", "train.eta"]]  # no values drawn twice
    for name, mtime in before.items():  # written once
        assert (sweep_dir / name / "metrics.json").stat().st_mtime_ns == mtime
    states = [t.state.name for t in study_of(sweep_dir).get_trials()]
    assert states.count("COMPLETE") == 5  # the trial in flight at Ctrl-C: FAIL, its values trained again


def test_two_processes_share_a_study_and_one_killed_midway_costs_nothing(write_config, runs_dir, tmp_path):
    cfg = search_config(method="random", trials=6)
    cfg["train"].update(SLOW)
    path = write_config(cfg)
    storage = tmp_path / "shared.journal"
    command = [sys.executable, "-m", "nnrun", "sweep", str(path), "--jobs", "1", "--runs-dir", str(runs_dir),
               "--storage", str(storage), "-q"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    time.sleep(1.0)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(runs_dir, "*-sweep/t*/metrics.json", 2, second)
    os.killpg(first.pid, signal.SIGKILL)  # the first process and its workers, mid-trial
    first.wait(timeout=30)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    sweep_dir = Path(out.strip().splitlines()[-1])
    assert [p.name for p in runs_dir.iterdir()] == [sweep_dir.name]  # one sweep folder for both
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 6 and results["folder"].is_unique and set(results["status"]) == {"completed"}
    # regression: both processes seeded their sampler alike and drew the same values (each cell twice)
    assert results["train.eta"].is_unique, results[["trial", "train.eta"]]
    assert sorted(p.name for p in sweep_dir.glob("t*")) == sorted(results["folder"])
    trials = study_of(sweep_dir).get_trials()
    assert sum(t.state.name == "COMPLETE" for t in trials) == 6
    assert all(t.state.name in ("COMPLETE", "FAIL") for t in trials)  # the killed one's: FAIL, not RUNNING


def test_a_trial_of_many_records_reports_about_a_hundred_of_them(write_config, runs_dir):
    """A cell recording 3,000 times (E1 records every iteration) reports every 30th record
    to the study, and its last: not 3,000 writes to the storage (that made E1's searches 30
    times slower, and their journal 16 MB). A trial that is pruned stops at such a record."""
    cfg = small_config(**FAST)
    cfg["train"].update(iterations=3000, log_every=1)
    cfg["sweep"] = {"method": "random", "trials": 4, "prune": "median", "grid": {"train.eta": "loguniform(0.001, 1)"}}
    result = cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    study = optuna.load_study(study_name=None, storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(sweep_dir / "study.journal"))))
    steps = [sorted(t.intermediate_values) for t in study.trials]
    assert all(s and len(s) <= 101 and all(k % 30 == 0 or k == 3000 for k in s) for s in steps), steps
    for row in pd.read_csv(sweep_dir / "results.csv").itertuples():
        assert row.status != "pruned" or row.iterations % 30 == 0


def test_halving_reports_only_its_rungs_and_prunes_where_seeing_every_record_would(write_config, runs_dir):
    """Successive halving decides only at its rungs, so a trial reports only those records
    (54 records: rungs 2, 6, 18, then the last), not all 54. The oracle: the same trials
    replayed in a fresh in-memory study whose pruner is asked after every record, from the
    cells' own history.csv; each stops at the very record the sweep stopped it at."""
    cfg = small_config(**FAST)
    cfg["train"].update(iterations=540, log_every=10)
    cfg["sweep"] = {"prune": "halving", "grid": {"train.eta": [0.003, 0.03, 0.3], "train.lambda": [0, 0.01, 0.1]}}
    result = cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    reported = [sorted(t.intermediate_values) for t in study_of(sweep_dir).trials]
    assert all(set(steps) <= {2, 6, 18, 54} for steps in reported) and any(len(s) > 1 for s in reported), reported

    results = pd.read_csv(sweep_dir / "results.csv").sort_values("trial")
    assert {"pruned", "completed"} <= set(results["status"])
    replay = optuna.create_study(pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3))
    for cell in results.itertuples():
        val_loss = pd.read_csv(sweep_dir / cell.folder / "history.csv")["val_loss"].to_numpy()[1:]  # records 1, 2, ...
        trial, stopped = replay.ask(), None
        for step, value in enumerate(val_loss, start=1):
            trial.report(value, step)
            if step < 54 and trial.should_prune():
                stopped = step
                break
        assert (cell.status, len(val_loss)) == (("pruned", stopped) if stopped else ("completed", 54)), cell.folder
        replay.tell(trial, state=optuna.trial.TrialState.PRUNED) if stopped else replay.tell(trial, val_loss[-1])


def test_a_search_with_a_diverged_trial_still_draws_its_pictures(write_config, runs_dir):
    # regression: the count of diverged trials for the title added their status words ("diverged"),
    # so any search with one lost both pictures to a TypeError warning
    cfg = search_config(method="random", trials=6, sampler_seed=3)
    cfg["sweep"]["grid"] = {"train.eta": "choice(0.1, 1000000)", "train.lambda": "choice(0, 0.001)"}
    result = cli("sweep", write_config(cfg), "--jobs", "1", "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0, result.output
    sweep_dir = run_dir_from(result)
    statuses = set(pd.read_csv(sweep_dir / "results.csv")["status"])
    assert {"diverged", "completed"} <= statuses, statuses
    assert "warning" not in result.stderr, result.stderr
    assert (sweep_dir / "search_history.png").exists() and (sweep_dir / "search_parallel.png").exists()
    # second cold read: Optuna's grey ground, 'Best Value' and trial ticks at 2.5, 7.5
    import nnrun

    fig = nnrun.load(sweep_dir).figure("search_history")
    ax = fig.axes[0]
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "best so far"
    assert [line.get_drawstyle() for line in ax.get_lines()] == ["steps-post"]  # cold read: it sloped between trials
    assert all(float(t.get_text().replace("−", "-")).is_integer() for t in ax.get_xticklabels() if t.get_text())
    assert ax.get_facecolor()[:3] == (1.0, 1.0, 1.0)


def test_joining_a_shared_study_with_another_config_names_storage_not_resume(write_config, runs_dir, tmp_path):
    """Cold read: a second process whose overrides differ from the study's was told to
    'resume ... or start a new sweep without --resume', which it had never been given."""
    path = write_config(search_config(method="random", trials=2))
    storage = tmp_path / "shared.journal"
    first = cli("sweep", path, "--jobs", "1", "--runs-dir", runs_dir, "--storage", storage, "-q")
    assert first.exit_code == 0, first.output
    again = cli("sweep", path, "--jobs", "1", "--runs-dir", runs_dir, "--storage", storage, "-q")
    assert again.exit_code == 0 and "2 of 2 trials already done" in again.stderr, again.stderr  # it said nothing
    joined = nnrun_process("sweep", path, "train.eta=loguniform(0.5,1)", "--jobs", "1", "--runs-dir", runs_dir,
                           "--storage", storage)
    assert joined.returncode == 2 and len(joined.stderr.strip().splitlines()) == 1, joined.stderr
    assert f"--storage {storage}" in joined.stderr and "--name" in joined.stderr and "--resume" not in joined.stderr


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc/PID/stat: 'pid (comm) state ppid ...')."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


def test_a_cell_stopped_in_its_worker_alone_is_trained_again_in_the_same_search(write_config, runs_dir):
    """A signal that stops a worker's cell but not the search (the client goes on) leaves a
    trial whose cell stopped short: it is retired and its values trained again before the
    search ends, not written as a finished trial. Regression: when that was the study's last
    trial, its enqueued values counted as alive and nobody asked for them: the search (and a
    --resume after Ctrl-C in the last trial) waited for ever."""
    cfg = search_config(method="random", trials=2)  # the signal lands in the second: the last trial
    cfg["train"].update(iterations=480000, log_every=80000)  # ~0.5 s a cell
    proc = subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(write_config(cfg)), "--jobs", "1",
                             "--runs-dir", str(runs_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _wait_for(runs_dir, "*-sweep/t*/metrics.json", 1, proc)
    journal = next(runs_dir.glob("*-sweep/study.journal"))
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline and "retry_of" not in journal.read_text():
        # a worker ignores SIGINT between cells: signal until one lands inside a cell and is retired
        for worker in [w for server in _children(proc.pid) for w in _children(server)]:  # client -> server -> workers
            os.kill(worker, signal.SIGINT)
        time.sleep(0.1)
    try:
        out, err = proc.communicate(timeout=60)  # a cell takes ~0.5 s: more is the wait for ever
    finally:
        if proc.poll() is None:  # waiting for ever: end it, not the test session
            proc.kill()
    assert proc.returncode == 0, err
    sweep_dir = Path(out.strip().splitlines()[-1])
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 2 and set(results["status"]) == {"completed"}, results[["trial", "status"]]
    assert results["train.eta"].is_unique
    trials = study_of(sweep_dir).get_trials()
    failed = [t for t in trials if t.state.name == "FAIL"]
    done = [t.params for t in trials if t.state.name == "COMPLETE"]
    assert failed and all(t.params in done for t in failed)  # each retired trial's values trained again
