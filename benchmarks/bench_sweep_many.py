"""Many small cells fast (issue 26): a sweep's wall time against its cells' own training.

E1 (configs/higham_2232.yaml, 20,000 iterations a cell, every iteration recorded) over
model.init_scale x train.eta x seeds: 100 cells (10 x 10 x 1) and 1,000 cells (10 x 10 x 10
seeds), ``nnrun sweep ... --jobs N`` in a subprocess. Reported: the wall time, the cells'
training (the sum of results.csv's train_seconds divided by the workers), their ratio
(goal: at most 1.3), cells per second, the client's peak memory (VmHWM of the ``nnrun
sweep`` process, read from /proc while it runs; the workers apart) and the folder's size
(``du -sk``). Nothing is written into the repository.

    python benchmarks/bench_sweep_many.py                    # 100 and 1,000 cells, ~1 minute
    python benchmarks/bench_sweep_many.py --cells 100 --repo /tmp/old   # another checkout's code
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sweep_scale import watch_sweep  # noqa: E402  (runs a sweep, reading its memory from /proc)
AXES = ["model.init_scale=linspace(0.1,1,10)", "train.eta=logspace(-2,0,10)"]
GRIDS = {100: AXES, 1000: [*AXES, "sweep.seeds=10"]}


def run(repo: Path, cells: int, runs: Path, jobs: int) -> dict:
    command = [sys.executable, "-m", "nnrun", "sweep", str(repo / "configs" / "higham_2232.yaml"),
               "train.iterations=20000", *GRIDS[cells], "--jobs", str(jobs), "--runs-dir", str(runs), "-q"]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    wall, peak, _, sweep_dir = watch_sweep(command, env=env, cwd=repo)
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == cells, (len(results), cells)
    train = results["train_seconds"].sum() / jobs
    size = int(subprocess.run(["du", "-sk", str(sweep_dir)], capture_output=True, text=True).stdout.split()[0])
    return {"cells": cells, "wall_s": wall, "train_s": train, "ratio": wall / train, "cells_per_s": cells / wall,
            "client_peak_mb": peak / 1024, "folder_mb": size / 1024,
            "completed": int((results["status"] == "completed").sum())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[100, 1000], choices=sorted(GRIDS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose nnrun runs (default: this one)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-many-") as tmp:
        for cells in args.cells:
            rows.append(run(args.repo.resolve(), cells, Path(tmp) / f"runs{cells}", args.jobs))
            print(f"{cells} cells done", file=sys.stderr)
    print(f"\nE1 cells of 20,000 iterations (every one recorded), {args.jobs} workers, code of {args.repo}")
    print(f"{'cells':>6} {'wall s':>7} {'train/cores s':>13} {'ratio':>6} {'cells/s':>8} {'client peak MB':>15} "
          f"{'folder MB':>10} {'completed':>10}")
    for r in rows:
        print(f"{r['cells']:>6} {r['wall_s']:>7.1f} {r['train_s']:>13.1f} {r['ratio']:>6.2f} {r['cells_per_s']:>8.1f} "
              f"{r['client_peak_mb']:>15.0f} {r['folder_mb']:>10.0f} {r['completed']:>10}")


if __name__ == "__main__":
    main()
