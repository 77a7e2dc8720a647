"""Where a sweep's wall time goes (issue 26, acceptance 2): the cells' own training against
everything else (start, planning, files, pictures, page), phase by phase.

One ``nnrun sweep CONFIG --quiet`` in a child process whose runner is wrapped in timers
(nothing in nnrun changes): the child notes the time of each phase on a clock shared with
this process, which also times the whole command from before the interpreter starts to
after it exits. "training" is the cells' own time, the sum of results.csv's
``train_seconds`` divided by the workers; "everything else" is the whole command's wall
time minus that. Nothing is written into the repository.

    python benchmarks/bench_sweep_phases.py                               # E5's full grid
    python benchmarks/bench_sweep_phases.py configs/digits_halving.yaml   # its halving search
    python benchmarks/bench_sweep_phases.py configs/digits_search.yaml --jobs 2 --repeat 3
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the phases of nnrun.sweeps.runner.run_sweep, in order, as (phase, what is timed)
PHASES = [
    ("plan", "_plan"),
    ("pictures", "_draw_in_workers"),
    ("page", "_finish"),
]


def child(config: str, runs: str, jobs: str, marks: str) -> None:
    """``nnrun sweep CONFIG --quiet`` in this process (the command's own entry point) with timers
    around the runner's phases; the times (time.time(), shared with the parent) are written
    to ``marks`` as JSON."""
    times = {"imports_start": time.time()}

    def done():  # registered first, so the last exit handler the command runs
        times["sweep_end"] = time.time()
        Path(marks).write_text(json.dumps(times))

    atexit.register(done)
    import nnrun.sweeps.runner as runner
    import nnrun.sweeps.search as search
    from nnrun.cli import entry as nnrun_entry

    times["imports_end"] = time.time()

    def timed(owner, attr, phase):
        inner = getattr(owner, attr)

        def wrapper(*args, **kwargs):
            if phase == "page":
                times["sweep_dir"] = str(args[0])
            times[phase + "_start"] = time.time()
            try:
                return inner(*args, **kwargs)
            finally:
                times[phase + "_end"] = time.time()

        setattr(owner, attr, wrapper)

    for phase, attr in PHASES:
        timed(runner, attr, phase)
    timed(runner.GridSweeper, "run", "cells")
    timed(search.SearchSweeper, "run", "cells")
    timed(search.SearchSweeper, "pictures", "pictures_here")
    sys.argv = ["nnrun", "sweep", config, "--quiet", "--runs-dir", runs, "--jobs", jobs]
    nnrun_entry()  # the nnrun command's own entry point, its exit included


def measure(config: Path, jobs: int, tmp: Path, repo: Path) -> dict:
    import pandas as pd

    marks = tmp / "marks.json"
    env = {**os.environ, "PYTHONPATH": str(repo)}
    start = time.time()
    # stderr to a file, not a pipe: the command has ended when its process has (a shell's
    # prompt is back), though the fork server, which holds a pipe's end, may linger a moment
    with open(tmp / "stderr.txt", "w") as err:
        done = subprocess.run([sys.executable, __file__, "--child", str(config), str(tmp / "runs"), str(jobs),
                               str(marks)], env=env, cwd=repo, stdout=subprocess.DEVNULL, stderr=err)
    if done.returncode != 0:
        raise SystemExit((tmp / "stderr.txt").read_text())
    end = time.time()
    t = json.loads(marks.read_text())
    results = pd.read_csv(Path(t["sweep_dir"]) / "results.csv")
    training = float(results["train_seconds"].sum()) / jobs

    def span(a, b):
        return t[b] - t[a] if a in t and b in t else 0.0

    cells_wall = span("cells_start", "cells_end")
    row = {
        "interpreter and imports": t["imports_end"] - start,
        "plan (configs checked, folder, fork server)": span("imports_end", "plan_end"),
        "cells: training (sum of train_seconds / workers)": training,
        "cells: the rest (data, records, files, results.csv, round trips)": cells_wall - training,
        "between (results read)": span("cells_end", "pictures_start") if "pictures_start" in t else 0.0,
        "pictures (in workers, written here)": span("pictures_start", "pictures_end"),
        "pictures drawn here": span("pictures_here_start", "pictures_here_end"),
        "page (summary, best cell's page, sweep page)": span("page_start", "page_end"),
        "exit (after the exit handlers, the process ends)": end - t["sweep_end"],
    }
    accounted = sum(row.values())
    row["unaccounted"] = (end - start) - accounted
    return {"phases": row, "wall": end - start, "training": training, "cells": len(results),
            "statuses": results["status"].value_counts().to_dict()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default=str(REPO / "configs" / "digits_search.yaml"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1, help="runs, after an untimed warm-up run")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose nnrun runs (default: this one)")
    args = parser.parse_args(argv)
    config = Path(args.config).resolve()
    runs = []
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-phases-") as tmp:
        for k in range(args.repeat + 1):  # the first fills numba's cache and the OS's file cache
            folder = Path(tmp) / f"r{k}"
            folder.mkdir()
            result = measure(config, args.jobs, folder, args.repo.resolve())
            if k:
                runs.append(result)
    load = os.getloadavg()
    print(f"\n{config.name}, {args.jobs} workers, load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for k, r in enumerate(runs, 1):
        print(f"\nrun {k}: {r['cells']} cells ({', '.join(f'{n} {s}' for s, n in r['statuses'].items())}), "
              f"wall {r['wall']:.2f} s")
        for phase, seconds in r["phases"].items():
            print(f"  {phase:<66} {seconds:6.2f}")
        rest = r["wall"] - r["training"]
        verdict = "MET" if rest < 1.0 else "NOT MET"
        print(f"  {'everything but the cells training (wall - training)':<66} {rest:6.2f}   target < 1 s: {verdict}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        main()
