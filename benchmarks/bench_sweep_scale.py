"""Sweeps of many small cells: cells per second and the client's memory (issue 13).

E1 (configs/higham_2232.yaml, 20,000 iterations per cell) over a grid of eta x lambda and
seeds: 10 cells (10 x 1 x 1), 100 cells (10 x 10 x 1) and 1,000 cells (10 x 10 x 10
seeds), on all cores. The client is the ``nnrun sweep`` process itself; its peak memory
(VmHWM) and its memory at the end (VmRSS) are read from /proc while it runs, the workers
apart. Nothing is written into the repository.

    python benchmarks/bench_sweep_scale.py              # 10, 100 and 1,000 cells, ~5 minutes
    python benchmarks/bench_sweep_scale.py --cells 10 100
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
GRIDS = {
    10: ["train.eta=logspace(-3,0,10)", "train.lambda=0"],
    100: ["train.eta=logspace(-3,0,10)", "train.lambda=logspace(-5,-1,10)"],
    1000: ["train.eta=logspace(-3,0,10)", "train.lambda=logspace(-5,-1,10)", "sweep.seeds=10"],
}


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def watch_sweep(command: list, **popen) -> tuple[float, int, int, Path]:
    """Run an ``nnrun sweep`` command: (wall seconds, the client's peak and last resident
    memory in kB, read from /proc while it runs, the sweep folder it printed)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    peak, last = 0, 0
    while process.poll() is None:
        peak = max(peak, status_kb(process.pid, "VmHWM"))
        last = status_kb(process.pid, "VmRSS") or last
        time.sleep(0.02)
    wall = time.perf_counter() - start
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(err)
    return wall, peak, last, Path(out.strip().splitlines()[-1])


def run(cells: int, runs: Path) -> dict:
    command = [sys.executable, "-m", "nnrun", "sweep", str(REPO / "configs" / "higham_2232.yaml"),
               "train.iterations=20000", *GRIDS[cells], "--runs-dir", str(runs), "-q"]
    wall, peak, last, sweep_dir = watch_sweep(command)
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == cells, (len(results), cells)
    return {"cells": cells, "wall_s": wall, "cells_per_s": cells / wall, "client_peak_mb": peak / 1024,
            "client_end_mb": last / 1024, "completed": int((results["status"] == "completed").sum())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[10, 100, 1000], choices=sorted(GRIDS))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-scale-") as tmp:
        for cells in args.cells:
            rows.append(run(cells, Path(tmp) / f"runs{cells}"))
            print(f"{cells} cells done", file=sys.stderr)
    print(f"\nE1 cells of 20,000 iterations, {os.cpu_count()} worker processes")
    print(f"{'cells':>6} {'wall s':>8} {'cells/s':>8} {'client peak MB':>15} {'client at end MB':>17} {'completed':>10}")
    for r in rows:
        print(f"{r['cells']:>6} {r['wall_s']:>8.1f} {r['cells_per_s']:>8.2f} {r['client_peak_mb']:>15.0f} "
              f"{r['client_end_mb']:>17.0f} {r['completed']:>10}")


if __name__ == "__main__":
    main()
