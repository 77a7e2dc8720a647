"""The cost of ``nnrun.run(..., live=True)`` (issue 25): wall time of training with and
without the live curve, median of 3 runs each (alternating), on E1
(``configs/higham_2232.yaml``, 10^6 iterations, the loss recorded every iteration) and on
the digits (``configs/digits_optimizers.yaml``: 64-50-10, 50 epochs of batch 100, the
validation set recorded; its sweep section ignored, as ``nnrun.run`` ignores it).

    python benchmarks/bench_live.py

What is timed is :func:`nnrun.app.run_experiment` with ``plots=False`` (the pictures and
the page take the same time either way and would only hide the difference), ``quiet=True``,
and ``watch=None`` or a :class:`nnrun.live.LiveCurve` whose IPython display is a no-op
handle: every PNG is drawn and encoded as in a notebook, only not sent to a front end.
A warm-up run of each config first (numba's cache loaded). Run folders go to a temporary
directory. Target: at most 5 % overhead.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {"E1 (higham_2232, 10^6 iterations)": ("configs/higham_2232.yaml", []),
           "digits (digits_optimizers, 50 epochs)": ("configs/digits_optimizers.yaml", []),
           # long enough for pictures within the 3 % budget: they are drawn while it trains
           "E1 x 10 (10^7 iterations, log_every 10)": ("configs/higham_2232.yaml",
                                                       ["train.iterations=10000000", "train.log_every=10"])}
REPEATS = 4


class _Handle:
    def update(self, obj):
        pass


def _no_display(obj, display_id=None):
    return _Handle()


def one(cfg, runs_dir, live: bool):
    from nnrun.app import run_experiment
    from nnrun.live import LiveCurve

    watch = LiveCurve(cfg.name, cfg.train.loss) if live else None
    t0 = time.perf_counter()
    run_experiment(cfg, runs_dir=runs_dir, quiet=True, plots=False, log=lambda msg: None, watch=watch)
    seconds = time.perf_counter() - t0
    return seconds, (watch.draws, watch.seconds) if watch else (0, 0.0)


def main() -> None:
    import IPython.display

    from nnrun.config import load_config

    IPython.display.display = _no_display  # drawn and encoded, not sent anywhere
    print(f"{'config':40s} {'live=False s':>13s} {'live=True s':>12s} {'overhead':>9s} {'draws':>6s} "
          f"{'drawing s':>10s}")
    for label, (path, overrides) in CONFIGS.items():
        cfg = load_config(REPO / path, overrides)
        with tempfile.TemporaryDirectory(prefix="nnrun-bench-live-") as tmp:
            one(cfg, tmp, False)  # warm-up: the kernel loaded, the data cached by the OS
        off, on, draws = [], [], []
        for k in range(REPEATS):
            for live in ((False, True) if k % 2 == 0 else (True, False)):  # neither always goes first
                with tempfile.TemporaryDirectory(prefix="nnrun-bench-live-") as tmp:  # a fresh disk each
                    seconds, drawn = one(cfg, tmp, live)
                if live:
                    on.append(seconds)
                    draws.append(drawn)
                else:
                    off.append(seconds)
        a, b = statistics.median(off), statistics.median(on)
        n = statistics.median(d[0] for d in draws)
        s = statistics.median(d[1] for d in draws)
        print(f"{label:40s} {a:13.3f} {b:12.3f} {100 * (b - a) / a:8.1f}% {n:6.0f} {s:10.3f}", flush=True)
        print(f"{'':40s} runs: off {', '.join(f'{x:.3f}' for x in off)}; on {', '.join(f'{x:.3f}' for x in on)}")


if __name__ == "__main__":
    main()
