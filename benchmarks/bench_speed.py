"""Speed benchmark of nnrun (issue 3): tables of time per iteration, start-up and memory.

Five tables, printed to stdout:

1. E1 (configs/higham_2232.yaml: 2-2-3-2 sigmoid, per-sample SGD, 10**6 iterations),
   with the loss recorded every iteration and every 1000: nnrun's ``train_seconds``
   against the plain NumPy loop and the C floor of ``baselines.py``, with the targets.
2. Time per iteration against network size (per-sample SGD on the higham data), and the
   NumPy engine against the numba engine for a few sizes.
3. Time per iteration against data size with the loss recorded every iteration (the
   recorded loss is over the whole training set), and a batch-size table for both
   engines that checks ``choose_engine``'s claim: numba is faster at every batch size.
4. Whole-process time of ``nnrun train configs/higham_2232.yaml --quiet``, with a cold
   and a warm numba cache (the cache is redirected to a fresh temporary directory with
   NUMBA_CACHE_DIR, so the repository's own cache is neither used nor touched).
5. Peak memory (max RSS) of ``nnrun train`` with 10**6 and 10**7 recorded iterations.

nnrun is timed through its public API (``load_config``, ``load_data``, ``train``) after
a warm-up run that loads or compiles the numba code. Short measurements are repeated
and the best time is reported; after each table, the CPU time other processes and the
hypervisor took meanwhile is printed (``--wait-idle`` waits for a quiet machine first).
Nothing is written into the repository: run folders, the C binary and numba caches go
to temporary directories that are removed at the end.

    python benchmarks/bench_speed.py            # full run, about 4 minutes on 2 cores
    python benchmarks/bench_speed.py --quick    # smaller sizes, about a minute
    python benchmarks/bench_speed.py --only 14 --wait-idle 300
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nnrun

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
E1_CONFIG = REPO / "configs" / "higham_2232.yaml"
sys.path.insert(0, str(HERE))
import baselines  # noqa: E402  (benchmarks/baselines.py, next to this file)

E1_ITERATIONS = 10**6
from nnrun.engines.numba_engine import ROWS_MIN_WORK  # noqa: E402  (per-sample loops below, BLAS products above)

# Targets of issue 3.
TARGET_RATIO_TO_C = 1.5  # nnrun / C with log_every=1
TARGET_SPEEDUP_NUMPY = 30.0  # NumPy loop / nnrun
TARGET_US_LOG1000 = 0.3  # microseconds per iteration with log_every=1000
TARGET_WARM_S = 5.0  # whole process, warm numba cache
TARGET_COMPILE_S = 3.0  # cold - warm


@dataclass
class Mode:
    """Sizes of one benchmark run (--quick or full)."""

    repeats: int  # best of this many for calibrated timings
    e1_repeats: int  # best of this many for E1 (nnrun and C)
    numpy_iterations: int  # iterations the NumPy loop really runs (scaled to 10**6)
    target_seconds: float  # aim of the calibrated measurements
    architectures: list[str]
    engine_pairs: list[str]  # architectures timed on both engines
    data_sizes: list[int]
    batch_architectures: list[str]
    batches: list[int | str]
    memory_iterations: list[int]


FULL = Mode(
    repeats=3, e1_repeats=5, numpy_iterations=10**5, target_seconds=0.3,
    architectures=["2-2-3-2", "2-5-5-5-2", "2-10-10-2", "2-25-25-2", "2-50-50-2", "2-100-100-2"],
    engine_pairs=["2-2-3-2", "2-10-10-2", "2-100-100-2"],
    data_sizes=[10, 100, 1000, 10_000],
    batch_architectures=["2-5-5-2", "2-50-50-2"],
    batches=[1, 10, 30, 100, 300, "full"],
    memory_iterations=[10**6, 10**7],
)
QUICK = Mode(
    repeats=1, e1_repeats=2, numpy_iterations=5_000, target_seconds=0.1,
    architectures=["2-2-3-2", "2-10-10-2", "2-100-100-2"],
    engine_pairs=["2-2-3-2", "2-100-100-2"],
    data_sizes=[10, 1000, 10_000],
    batch_architectures=["2-5-5-2"],
    batches=[1, 10, 100, "full"],
    memory_iterations=[10**5, 10**6],
)


# --------------------------------------------------------------------------- output
def print_table(title: str, header: list[str], rows: list[list], notes: list[str] = ()) -> None:
    """A plain-text table: the title, right-aligned columns, then the notes."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{'=' * len(title)}")
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print(line)
    for r in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for note in notes:
        print(f"  {note}")
    sys.stdout.flush()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews timings."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class CpuMeter:
    """CPU time other processes and the hypervisor took while a table was measured.

    From /proc/stat (all CPUs) minus this process and its waited-for children, so the
    numbers say how much the timings may be skewed by other work on the machine.
    """

    def __init__(self):
        self.start = self.sample()

    @staticmethod
    def sample() -> tuple[float, float, float, float]:
        """(busy CPU seconds of the machine, steal seconds, own CPU seconds, monotonic time)."""
        try:
            with open("/proc/stat") as f:
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        except (OSError, ValueError):
            return math.nan, math.nan, math.nan, time.monotonic()
        tick = os.sysconf("SC_CLK_TCK")
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return (user + nice + system + irq + softirq) / tick, steal / tick, own, time.monotonic()

    def others(self) -> tuple[float, float]:
        """(CPU used by other processes, hypervisor steal), each in CPUs (1.0 = one core busy)."""
        busy0, steal0, own0, t0 = self.start
        busy1, steal1, own1, t1 = self.sample()
        wall = max(t1 - t0, 1e-9)
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / wall, (steal1 - steal0) / wall

    def report(self) -> str:
        other, steal = self.others()
        if math.isnan(other):
            return "[CPU use of other processes unknown (no /proc/stat)]"
        return (f"[while measuring: other processes used {other:.2f} of the {os.cpu_count()} CPUs, "
                f"hypervisor steal {steal:.2f} CPUs]")


def wait_until_idle(limit: float, busy: float = 0.25) -> str:
    """Wait up to `limit` s until other processes use < `busy` CPUs over 2 s; says what happened."""
    t0 = time.monotonic()
    while True:
        meter = CpuMeter()
        time.sleep(2.0)
        other, _ = meter.others()
        if math.isnan(other) or other < busy:
            return f"(machine idle after waiting {time.monotonic() - t0:.0f} s)" if time.monotonic() - t0 > 3 else ""
        if time.monotonic() - t0 > limit:
            return f"(gave up waiting for an idle machine after {limit:g} s: others use {other:.2f} CPUs)"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def fmt(x: float, digits: int = 3) -> str:
    """x with `digits` significant digits, no exponent for ordinary magnitudes."""
    if x is None or not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


# ------------------------------------------------------------------- nnrun timings
_DATA_CACHE: dict[tuple, nnrun.Dataset] = {}


def data_for(cfg) -> nnrun.Dataset:
    """load_data(cfg), memoised on the data section and the architecture."""
    key = (repr(cfg.data), tuple(cfg.model.architecture), cfg.seed)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = nnrun.load_data(cfg)
    return _DATA_CACHE[key]


def run_nnrun(overrides: list[str], iterations: int, log_every: int | None = None,
              config: Path = E1_CONFIG) -> nnrun.TrainResult:
    """One nnrun.train of `config` + overrides for `iterations` (log_every None: only the last)."""
    extra = [f"train.iterations={iterations}", f"train.log_every={log_every or iterations}"]
    cfg = nnrun.load_config(config, [*overrides, *extra])
    return nnrun.train(cfg, data_for(cfg), on_rows=lambda block: None)


@dataclass
class Timing:
    """train_seconds and wall times of the train() call over repeated runs."""

    seconds: list[float]
    walls: list[float]
    result: nnrun.TrainResult  # of the last run

    @property
    def best(self) -> float:
        return min(self.seconds)


def timed(overrides: list[str], iterations: int, log_every: int | None, repeats: int) -> Timing:
    """Run nnrun.train `repeats` times and collect its times."""
    seconds, walls, result = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run_nnrun(overrides, iterations, log_every)
        walls.append(time.perf_counter() - t0)
        seconds.append(result.train_seconds)
    return Timing(seconds, walls, result)


def calibrated(overrides: list[str], log_every: int | None, target: float, repeats: int,
               step: int = 1) -> tuple[int, float, nnrun.TrainResult]:
    """(iterations, best seconds, result) for about `target` seconds of training.

    A pilot run grows tenfold until it takes a tenth of the target; the measured run
    then uses iterations in proportion, a multiple of `step` (log_every).
    """
    n = step
    while True:
        pilot = run_nnrun(overrides, n, log_every).train_seconds
        if pilot >= target / 10 or n >= 10**8:
            break
        n *= 10
    n = max(step, int(round(target / max(pilot, 1e-9) * n / step)) * step)
    t = timed(overrides, n, log_every, repeats)
    return n, t.best, t.result


def us(seconds: float, iterations: int) -> float:
    return 1e6 * seconds / iterations


# ------------------------------------------------------------------------ table 1
def table_e1(mode: Mode, workdir: Path) -> None:
    """E1 at 10**6 iterations: C floor, nnrun (train_seconds and wall), NumPy loop (scaled)."""
    n, n_np = E1_ITERATIONS, min(mode.numpy_iterations, E1_ITERATIONS)
    scale = n / n_np
    rows, checks = [], []
    for log_every in (1, 1000):
        c_all = [baselines.c_loop(n, log_every, 0, workdir)[0] for _ in range(mode.e1_repeats)]
        nn = timed([], n, log_every, mode.e1_repeats)
        c_s, nn_s, nn_wall = min(c_all), nn.best, min(nn.walls)
        np_s = baselines.numpy_loop(n_np, log_every, 0)[0] * scale
        for label, s, spread in (("C floor (c_floor.c)", c_s, c_all),
                                 (f"nnrun train_seconds ({nn.result.engine})", nn_s, nn.seconds),
                                 ("nnrun, wall time of train()", nn_wall, nn.walls),
                                 (f"NumPy loop, SCALED x{scale:g} from {n_np:,} it.", np_s, [np_s])):
            rows.append([label, log_every, fmt(s), f"{fmt(min(spread))}-{fmt(max(spread))}" if len(spread) > 1 else "-",
                         fmt(us(s, n)), fmt(s / c_s), fmt(np_s / s)])
        ratio, speedup = nn_s / c_s, np_s / nn_s
        if log_every == 1:
            checks.append(["nnrun / C, log_every=1", f"<= {TARGET_RATIO_TO_C}", fmt(ratio),
                           verdict(ratio <= TARGET_RATIO_TO_C)])
        checks.append([f"NumPy loop / nnrun, log_every={log_every}", f">= {TARGET_SPEEDUP_NUMPY:g}",
                       fmt(speedup), verdict(speedup >= TARGET_SPEEDUP_NUMPY)])
        if log_every == 1000:
            u = us(nn_s, n)
            checks.append(["us per iteration, log_every=1000", f"<= {TARGET_US_LOG1000}", fmt(u),
                           verdict(u <= TARGET_US_LOG1000)])
    print_table(
        f"1. E1: 2-2-3-2 sigmoid, quadratic loss, per-sample SGD, eta 0.05, {n:,} iterations",
        ["run", "log_every", "seconds", "range of repeats", "us/iter", "ratio to C", "speed-up over NumPy"],
        rows,
        [f"nnrun and C: best of {mode.e1_repeats} (all repeats in one process; the range shows the noise).",
         "train_seconds counts the engine only (not sampling or history rows, which go to a no-op",
         "on_rows); the wall row is the whole nnrun.train() call.",
         f"The NumPy loop (baselines.numpy_loop) ran {n_np:,} iterations; its time is scaled linearly to {n:,}.",
         "C and NumPy include their random-number draws and the cost logging in their timed loop."],
    )
    print_table("1b. E1 targets", ["target", "wanted", "measured", "status"], checks)


# ------------------------------------------------------------------------ table 2
def table_network_size(mode: Mode) -> None:
    """Per-sample SGD on the higham data, log_every=1000, against the number of parameters."""
    rows, per_arch = [], {}
    for arch in mode.architectures:
        over = [f"model.architecture={arch}"]
        n, s, result = calibrated(over, 1000, mode.target_seconds, mode.repeats, step=1000)
        p = len(result.network.theta)
        per_arch[arch] = us(s, n)
        rows.append([arch, p, f"{n:,}", fmt(us(s, n)), fmt(1e3 * us(s, n) / p)])
    print_table(
        "2. Time per iteration against network size (higham data, batch 1, numba, log_every=1000)",
        ["architecture", "parameters", "iterations", "us/iter", "ns/parameter"], rows,
        [f"iterations chosen for about {mode.target_seconds} s each; best of {mode.repeats}."],
    )
    rows = []
    for arch in mode.engine_pairs:
        over = [f"model.architecture={arch}", "train.engine=numpy"]
        n, s, result = calibrated(over, 1000, mode.target_seconds, 1, step=1000)
        u = us(s, n)
        rows.append([arch, len(result.network.theta), f"{n:,}", fmt(u), fmt(per_arch[arch]),
                     fmt(u / per_arch[arch])])
    print_table(
        "2b. NumPy engine against numba engine (same runs as table 2, batch 1, log_every=1000)",
        ["architecture", "parameters", "numpy iterations", "numpy us/iter", "numba us/iter",
         "numpy / numba"], rows,
    )


# ------------------------------------------------------------------------ table 3
def ellipse(n_samples: int, arch: str = "2-5-5-2") -> list[str]:
    return ["data.source=ellipse", f"data.n_samples={n_samples}", f"model.architecture={arch}"]


def table_data_size(mode: Mode) -> None:
    """Ellipse data of growing size, 2-5-5-2, log_every=1: the recorded loss costs O(N)."""
    rows = []
    for N in mode.data_sizes:
        n1, s1, result = calibrated(ellipse(N), 1, mode.target_seconds, mode.repeats)
        n2, s2, _ = calibrated(ellipse(N), 1000, mode.target_seconds, mode.repeats, step=1000)
        n3, s3, _ = calibrated([*ellipse(N), "train.engine=numpy"], 1, mode.target_seconds, 1)
        u1, u2, u3 = us(s1, n1), us(s2, n2), us(s3, n3)
        eval_ns = 1e3 * (u1 - u2) / N
        rows.append([N, len(result.network.theta), f"{n1:,}", fmt(u1), fmt(u2), fmt(eval_ns),
                     fmt(u3), fmt(u3 / u1)])
    print_table(
        "3. Time per iteration against data size (ellipse, 2-5-5-2 sigmoid, batch 1, log_every=1)",
        ["n_samples", "parameters", "iterations", "us/iter", "us/iter log_every=1000",
         "ns/sample recorded", "numpy engine us/iter", "numpy / numba"], rows,
        ["ns/sample recorded = (us/iter at log_every=1 - at 1000) / n_samples: the cost of the",
         "per-iteration loss over the whole training set, per sample. No test split (test_fraction 0).",
         f"iterations chosen for about {mode.target_seconds} s each (fewer for big data)."],
    )


def engine_of_auto(arch: str, batch) -> str:
    """The engine train.engine=auto picks (a one-iteration run)."""
    return run_nnrun([*ellipse(1000, arch), f"train.batch_size={batch}", "train.engine=auto"], 1).engine


def describe_crossover(label: str, points: list[tuple[int, float]], p: int) -> str:
    """One note: is numba faster at every batch (what choose_engine assumes)?"""
    slower = [w for w, r in points if r < 1]
    if not slower:
        return f"{label}: numba is faster at every batch measured (batch*P {points[0][0]:,} .. {points[-1][0]:,})."
    return (f"{label}: NumPy is FASTER at batch*P {', '.join(f'{w:,}' for w in slower)}; "
            "choose_engine's auto (always numba) is wrong there.")


def blas_one_thread():
    """A context limiting BLAS to one thread (threadpoolctl), or None if threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1, user_api="blas")


def blas_threads() -> str:
    """'openblas x2' etc.: the BLAS libraries NumPy loaded and their thread counts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    info = {f"{i.get('internal_api')} x{i.get('num_threads')}" for i in threadpool_info() if i.get("user_api") == "blas"}
    return ", ".join(sorted(info)) or "none found"


def table_batch(mode: Mode) -> None:
    """Batch sizes on 1000 ellipse samples, both engines: where NumPy/BLAS overtakes numba.

    NumPy is timed as nnrun runs it (BLAS with its default threads) and, with
    threadpoolctl, with one BLAS thread: on a small or busy machine BLAS threads can
    make NumPy much slower.
    """
    rows, notes = [], []
    threads = blas_threads()
    for arch in mode.batch_architectures:
        points, points_1 = [], []
        for batch in mode.batches:
            b = 1000 if batch == "full" else batch
            over = [*ellipse(1000, arch), f"train.batch_size={batch}"]
            n_nb, s_nb, result = calibrated([*over, "train.engine=numba"], None, mode.target_seconds, mode.repeats)
            n_np, s_np, _ = calibrated([*over, "train.engine=numpy"], None, mode.target_seconds, mode.repeats)
            p = len(result.network.theta)
            u_nb, u_np, u_1 = us(s_nb, n_nb), us(s_np, n_np), math.nan
            limit = blas_one_thread()
            if limit is not None:
                with limit:
                    n_1, s_1, _ = calibrated([*over, "train.engine=numpy"], None, mode.target_seconds, mode.repeats)
                u_1 = us(s_1, n_1)
                points_1.append((b * p, u_1 / u_nb))
            points.append((b * p, u_np / u_nb))
            faster = "numba" if u_nb < u_np else "numpy"
            auto = engine_of_auto(arch, batch)
            rows.append([arch, batch, f"{b * p:,}", fmt(u_nb), fmt(u_np), fmt(u_1), fmt(u_np / u_nb),
                         fmt(u_1 / u_nb), faster, auto, "yes" if auto == faster else "NO"])
        notes.append(describe_crossover(f"{arch} (P={p}), NumPy as run", points, p))
        if points_1:
            notes.append(describe_crossover(f"{arch} (P={p}), NumPy with 1 BLAS thread", points_1, p))
    print_table(
        "3b. Batch size, 1000 ellipse samples, both engines (log_every = iterations: the step alone)",
        ["architecture", "batch", "batch*P", "numba us/iter", "numpy us/iter", "numpy 1-thread us/iter",
         "numpy / numba", "numpy 1-thread / numba", "faster", "auto picks", "auto right"], rows,
        ["choose_engine (nnrun/train.py): auto is numba; numba runs a minibatch sample by sample",
         f"below batch * n_params = {ROWS_MIN_WORK:,} and as BLAS matrix products from there (engine_numba.use_rows).",
         "'faster' and 'auto right' compare numba with NumPy as nnrun runs it (default BLAS threads: "
         f"{threads}).", *notes,
         f"iterations chosen for about {mode.target_seconds} s per cell; best of {mode.repeats}."],
    )


# ------------------------------------------------------------------ whole process
def nnrun_command() -> list[str]:
    """The nnrun console script of this interpreter's environment, else python -m nnrun."""
    script = Path(sys.executable).with_name("nnrun")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nnrun"]


def run_process(args: list[str], env: dict | None = None) -> tuple[float, int, int, str]:
    """(wall seconds, max RSS in KiB, exit code, stdout) of a child, measured with os.wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {code}:\n{stderr}")
    return wall, usage.ru_maxrss, code, stdout


def run_folder_facts(stdout: str) -> dict:
    """metrics.json and history.csv size of the run folder printed on the last line."""
    import json

    run_dir = Path(stdout.strip().splitlines()[-1])
    if not run_dir.is_absolute():
        run_dir = REPO / run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["history_bytes"] = (run_dir / "history.csv").stat().st_size
    return metrics


def cache_files(folder: Path) -> dict[str, float]:
    """numba cache files (*.nbi, *.nbc) under folder, with their modification times."""
    return {str(p): p.stat().st_mtime for ext in ("*.nbi", "*.nbc") for p in folder.rglob(ext)}


def table_process(tmp: Path) -> None:
    """nnrun train of E1 as a subprocess, with a fresh (cold) and then a warm numba cache."""
    cache = tmp / "numba-cache"
    cache.mkdir()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    repo_before = cache_files(REPO / "nnrun")
    args = [*nnrun_command(), "train", str(E1_CONFIG), "--quiet", "--runs-dir", str(tmp / "runs")]
    rows, walls = [], []
    import_s = run_process([sys.executable, "-c", "import nnrun.cli, nnrun.experiment, nnrun.engines.numba_engine"], env)[0]
    for label in ("cold numba cache", "warm numba cache (2nd run)", "warm numba cache (3rd run)"):
        wall, rss, _, out = run_process(args, env)
        facts = run_folder_facts(out)
        walls.append(wall)
        rows.append([label, fmt(wall), fmt(facts["train_seconds"]), fmt(wall - facts["train_seconds"]),
                     fmt(rss / 1024)])
        if len(walls) == 1:
            written = cache_files(cache)
    repo_after = cache_files(REPO / "nnrun")
    shutil.rmtree(tmp / "runs", ignore_errors=True)
    warm = walls[1]
    compile_s = walls[0] - min(walls[1:])
    print_table(
        "4. Whole process: nnrun train configs/higham_2232.yaml --quiet (10^6 iterations, log_every=1)",
        ["run", "wall s", "train_seconds", "rest s", "max RSS MiB"], rows,
        [f"import nnrun.cli + experiment + engine_numba alone: {fmt(import_s)} s (part of 'rest').",
         "'rest' = wall - train_seconds: start-up, imports, cache loading or compiling, history.csv,",
         "diagnostics and plots.",
         f"NUMBA_CACHE_DIR={cache.name}/ (fresh, empty): the cold run wrote {len(written)} cache files there; "
         f"the repository's nnrun/__pycache__ cache files {'were untouched' if repo_before == repo_after else 'CHANGED (someone else may be running nnrun)'}.",
         "compile time = cold - the faster warm run; the third run shows the run-to-run noise.",
         "Cold means a cold numba cache only; the OS file cache is warm"
         + (" (PYTHONDONTWRITEBYTECODE is set, so nnrun's own .py files are compiled in every process)."
            if os.environ.get("PYTHONDONTWRITEBYTECODE") else ", and so is Python bytecode.")],
    )
    print_table(
        "4b. Start-up targets", ["target", "wanted", "measured", "status"],
        [["whole process, warm cache (2nd run)", f"< {TARGET_WARM_S:g} s", f"{fmt(warm)} s",
          verdict(warm < TARGET_WARM_S)],
         ["compile time = cold - faster warm", f"<= {TARGET_COMPILE_S:g} s", f"{fmt(compile_s)} s",
          verdict(compile_s <= TARGET_COMPILE_S)]],
    )


def table_memory(mode: Mode, tmp: Path) -> None:
    """Peak RSS of nnrun train with log_every=1 for growing iteration counts."""
    rows, peaks = [], []
    for iterations in mode.memory_iterations:
        runs = tmp / f"runs-{iterations}"
        args = [*nnrun_command(), "train", str(E1_CONFIG), f"train.iterations={iterations}", "--quiet",
                "--runs-dir", str(runs)]
        wall, rss, _, out = run_process(args)
        facts = run_folder_facts(out)
        shutil.rmtree(runs, ignore_errors=True)
        peaks.append(rss / 1024)
        rows.append([f"{iterations:,}", f"{iterations + 1:,}", fmt(facts["history_bytes"] / 2**20),
                     fmt(wall), fmt(facts["train_seconds"]), fmt(rss / 1024)])
    growth = peaks[-1] - peaks[0]
    added = mode.memory_iterations[-1] - mode.memory_iterations[0]
    print_table(
        "5. Peak memory of nnrun train configs/higham_2232.yaml --quiet (log_every=1)",
        ["iterations", "history rows", "history.csv MiB", "wall s", "train_seconds", "max RSS MiB"], rows,
        [f"max RSS grows by {fmt(growth)} MiB for {added:,} more rows ({fmt(growth * 2**20 / added)} bytes/row); "
         f"a history kept in memory as float64 takes 48 bytes/row.",
         f"bounded (growth < 10% of the 10x larger run's peak): {'yes' if growth < 0.1 * peaks[-1] else 'NO'}.",
         "Run folders were written to a temporary --runs-dir and deleted."],
    )


# -------------------------------------------------------------------------- main
def warm_up() -> None:
    """Load (or compile) the numba engine once so that no timing includes compilation."""
    t0 = time.perf_counter()
    run_nnrun([], 1000, 1)
    run_nnrun(ellipse(100), 1000, 1)
    print(f"warm-up (numba cache load or compile): {time.perf_counter() - t0:.2f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--only", default="12345", help="tables to run, e.g. 13 (default all)")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="before each table, wait up to this long for other processes to go quiet")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL

    import numba

    print(f"nnrun speed benchmark ({'quick' if args.quick else 'full'}), {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{git_revision()}")
    print(f"nnrun {nnrun.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
          f"({_cpu_name()}), load average {load_average()}")
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-") as tmp:
        tmp = Path(tmp)
        if set(args.only) & set("123"):
            warm_up()
        tables = {"1": [lambda: table_e1(mode, tmp)],
                  "2": [lambda: table_network_size(mode)],
                  "3": [lambda: table_data_size(mode), lambda: table_batch(mode)],
                  "4": [lambda: table_process(tmp)],
                  "5": [lambda: table_memory(mode, tmp)]}
        for key in args.only:
            for table in tables.get(key, []):
                if args.wait_idle:
                    waited = wait_until_idle(args.wait_idle)
                    if waited:
                        print(f"\n{waited}")
                meter = CpuMeter()
                table()
                print(f"  {meter.report()}")
    print(f"\ntotal benchmark time {time.perf_counter() - t_start:.0f} s")


def git_revision() -> str:
    """'commit abc1234' of the repository, '+ local changes to nnrun/' if its package is edited."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "nnrun"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "git commit unknown"
    return f"commit {head}" + (" + local changes to nnrun/" if dirty else "")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
