"""Start-up and whole-process times (issue 13): median of 5 wall-clock runs of the command.

    python benchmarks/bench_startup.py           # ~45 s
    python benchmarks/bench_startup.py --cold    # also the first run's compile, per kernel (~1 minute)

1. ``nnrun --help`` (target < 0.3 s);
2. a config error, ``nnrun train configs/higham_2232.yaml train.eta=-1`` (target < 0.3 s), and
   the same for a sweep, ``nnrun sweep configs/digits_sweep.yaml train.eta=-1``;
3. E1's whole process, ``nnrun train configs/higham_2232.yaml`` (10^6 iterations, the loss
   recorded every iteration, every picture; warm numba cache; target < 3 s);
4. ``--cold``: each kernel's compile in a fresh ``NUMBA_CACHE_DIR``, as nnrun reports it
   ("compiled in ... s"; goal < 5 s a kernel).

Run folders go to a temporary directory; nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NNRUN = [sys.executable, "-m", "nnrun"]


def wall(command, expect: int, env=None, n: int = 5) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
        times.append(time.perf_counter() - start)
        if done.returncode != expect:
            raise SystemExit(f"{' '.join(command)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="also time each kernel's compile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-startup-") as tmp:
        e1 = NNRUN + ["train", "configs/higham_2232.yaml", "--runs-dir", str(Path(tmp) / "runs"), "-q"]
        cases = [("nnrun --help", NNRUN + ["--help"], 0, 0.3),
                 ("config error (train.eta=-1)", NNRUN + ["train", "configs/higham_2232.yaml", "train.eta=-1"], 2, 0.3),
                 ("E1 whole process (10^6 iterations, loss every iteration)", e1, 0, 3.0),
                 # last: each leaves the fork server it started finishing its preload for ~1 s
                 ("sweep config error (train.eta=-1)", NNRUN + ["sweep", "configs/digits_sweep.yaml", "train.eta=-1"],
                  2, 0.3)]
        subprocess.run(e1, capture_output=True, cwd=REPO)  # the kernel in numba's cache
        for label, command, expect, target in cases:
            times = wall(command, expect)
            median = statistics.median(times)
            print(f"{label}: median {median:.2f} s ({', '.join(f'{t:.2f}' for t in times)}) "
                  f"[target < {target} s: {'MET' if median < target else 'NOT MET'}]", flush=True)
        if args.cold:
            for kernel, config, extra in [("per-sample", "higham_2232.yaml", "train.iterations=1000"),
                                          ("rows", "digits_sweep.yaml", "train.epochs=1")]:
                env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / f"cache-{kernel}")}
                done = subprocess.run(NNRUN + ["train", f"configs/{config}", extra, "--runs-dir",
                                               str(Path(tmp) / "cold"), "-q"], capture_output=True, text=True,
                                      cwd=REPO, env=env)
                said = re.search(r"compiled in ([\d.]+) s", done.stderr)
                print(f"first run, {kernel} kernel: compiled in {said.group(1) if said else '?'} s "
                      f"[goal < 5 s: {'MET' if said and float(said.group(1)) < 5 else 'NOT MET'}]", flush=True)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
