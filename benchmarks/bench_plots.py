"""How long nnrun takes to draw: every picture of relu_ellipse, and moons' 60-frame animation.

    python benchmarks/bench_plots.py            # 5 repeats of each, best and range
    python benchmarks/bench_plots.py --repeat 3

Trains each config once without pictures (public API), then times
``nnrun.plots.draw_run`` on that run: all pictures of relu_ellipse together (target:
under 1.5 s) in one process and in two (``jobs=2``, what ``nnrun train`` and ``nnrun
plot`` use on a machine with two cores or more), each picture on its own, and animation.gif of moons_deep_relu with its
60 snapshots (target: under 20 s). The first draw of a process (matplotlib's font cache,
imports) is done once before timing, as a training run has done by the time it draws.
Run folders go to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def trained(config: str, tmp: Path):
    import nnrun
    from nnrun.experiment import final_metrics, prepare
    from nnrun.training import HISTORY_COLUMNS, train

    cfg = nnrun.load_config(str(ROOT / "configs" / f"{config}.yaml"))
    data, network = prepare(cfg)
    result = train(cfg, data, network)
    history = pd.DataFrame(result.history, columns=HISTORY_COLUMNS)
    snapshots = None
    if result.snapshots:
        import numpy as np

        snapshots = (np.array([i for i, _ in result.snapshots]), np.vstack([t for _, t in result.snapshots]))
    run_dir = tmp / config
    run_dir.mkdir()
    return cfg, history, result.network, data, final_metrics(cfg, result, data), run_dir, snapshots


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """(best wall seconds, worst wall seconds, CPU seconds of the best run). CPU time says what
    drawing costs when other processes share the cores (wall time then also counts waiting)."""
    times = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    best = min(times)
    return best[0], max(t for t, _ in times), best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from nnrun.plots import PICTURES, draw_run

    with tempfile.TemporaryDirectory(prefix="nnrun-bench-plots-") as tmp:
        cfg, history, net, data, metrics, run_dir, _ = trained("relu_ellipse", Path(tmp))
        draw = lambda only=None, jobs=1: draw_run(run_dir, cfg, history, net, data, metrics, only=only,  # noqa: E731
                                                  jobs=jobs)
        written = draw()  # warm-up: fonts, imports
        for jobs in (1, 2):  # nnrun train and nnrun plot draw with 2 where there are 2 cores
            best, worst, cpu = timed(lambda: draw(jobs=jobs), args.repeat)
            print(f"relu_ellipse, all {len(written)} pictures ({', '.join(p.stem for p in written)}), "
                  f"{jobs} process{'es' if jobs > 1 else ''}: best {best:.2f} s wall (range {best:.2f}-{worst:.2f}), "
                  f"{cpu:.2f} s CPU of this process, over {args.repeat} runs "
                  f"[target < 1.5 s: {'MET' if best < 1.5 else 'NOT MET'}]")
        for name in PICTURES:
            if any(p.stem == name for p in written):
                b, w, c = timed(lambda: draw((name,)), args.repeat)
                print(f"  {name:14s} {b:.3f} s wall (range {b:.3f}-{w:.3f}), {c:.3f} s CPU")
        cfg, history, net, data, metrics, run_dir, snapshots = trained("moons_deep_relu", Path(tmp))
        animate = lambda: draw_run(run_dir, cfg, history, net, data, metrics, only=("animation",),  # noqa: E731
                                   snapshots=snapshots)
        b, w, c = timed(animate, max(1, min(args.repeat, 3)))
        print(f"moons_deep_relu animation.gif, {len(snapshots[0])} frames: best {b:.2f} s wall (range {b:.2f}-{w:.2f}), "
              f"{c:.2f} s CPU [target < 20 s: {'MET' if b < 20 else 'NOT MET'}]")
    print(f"load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
