"""Speed of the training methods (issue 10), side by side in one run.

Two questions, one table each:

1. Does plain SGD without dropout stay as fast as before the methods existed? The same
   runs are timed in this checkout and in a git revision from before (default
   ``e3860fa``, nnrun 0.1.0 before issue 10), checked out into a temporary worktree.
2. What does a method cost? E1 (higham_2232: 2-2-3-2, per-sample, the per-sample kernel)
   and the digits network (64-50-10, batch 100, the rows kernel) with every optimizer and
   with dropout, against SGD in the same round. Target: momentum and adam at most 1.3x
   SGD per iteration on E1.

Each round starts one process per revision that loads the compiled kernels (warm-up
run), then times every case once (``train_seconds``: the training loop alone); the best
of the rounds is reported, so a busy moment hurts one round, not the table. Both
revisions run with one BLAS thread: on a machine shared with other work, OpenBLAS's
threads wait on each other and make a 64-50-10 step several times slower.

    python benchmarks/bench_methods.py                 # 5 rounds, ~3 minutes
    python benchmarks/bench_methods.py --rounds 3 --baseline e3860fa
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (label, config, overrides); the baseline only runs the cases its version knows
E1 = ["train.iterations=1000000"]
CASES = [
    ("E1 sgd, loss every 1000", "higham_2232.yaml", E1 + ["train.log_every=1000"]),
    ("E1 sgd, loss every iteration", "higham_2232.yaml", ["train.iterations=200000", "train.log_every=1"]),
    ("digits sgd, 100 epochs", "digits_sweep.yaml", ["train.eta=1", "train.lambda=1e-4"]),
]
METHODS = [
    ("E1 momentum, loss every 1000", "higham_2232.yaml", E1 + ["train.log_every=1000", "train.optimizer=momentum"]),
    ("E1 nesterov, loss every 1000", "higham_2232.yaml", E1 + ["train.log_every=1000", "train.optimizer=nesterov"]),
    ("E1 adam, loss every 1000", "higham_2232.yaml", E1 + ["train.log_every=1000", "train.optimizer=adam",
                                                          "train.eta=0.001"]),
    ("E1 rmsprop, loss every 1000", "higham_2232.yaml", E1 + ["train.log_every=1000", "train.optimizer=rmsprop",
                                                             "train.eta=0.001"]),
    ("E1 sgd + dropout 0.3, loss every 1000", "higham_2232.yaml", E1 + ["train.log_every=1000", "model.dropout=0.3"]),
    ("E1 plateau + early stopping, loss every 1000", "higham_2232.yaml",
     E1 + ["train.log_every=1000", "train.schedule=plateau", "train.early_stopping={patience: 1000000}"]),
    ("digits adam, 100 epochs", "digits_sweep.yaml", ["train.eta=0.001", "train.lambda=1e-4", "train.optimizer=adam"]),
    ("digits sgd + dropout 0.3, 100 epochs", "digits_sweep.yaml", ["train.eta=1", "train.lambda=1e-4",
                                                                  "model.dropout=0.3"]),
]

ROUND = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import nnrun
cases = json.loads(sys.argv[1])
out = {}
for label, path, overrides in cases:
    cfg = nnrun.load_config(path, overrides)
    data = nnrun.load_data(cfg)
    nnrun.train(cfg, data)  # loads (or compiles) the kernel
    result = nnrun.train(cfg, data)
    out[label] = [result.train_seconds, result.iterations]
print(json.dumps(out))
"""


def one_round(source: Path, cases) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    args = [[label, str(source / "configs" / name), overrides] for label, name, overrides in cases]
    done = subprocess.run([sys.executable, "-c", ROUND, json.dumps(args)], env=env, capture_output=True,
                          text=True, cwd=source)
    if done.returncode != 0:
        raise SystemExit(f"{source}: {done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default="e3860fa", help="git revision from before the methods")
    args = parser.parse_args(argv)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-methods-") as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.baseline],
                       check=True, capture_output=True)
        try:
            best_old, best_new = {}, {}
            for r in range(args.rounds):
                for best, source, cases in ((best_old, old, CASES), (best_new, REPO, CASES + METHODS)):
                    for label, (seconds, iterations) in one_round(source, cases).items():
                        if label not in best or seconds < best[label][0]:
                            best[label] = (seconds, iterations)
                print(f"round {r + 1} of {args.rounds} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], capture_output=True)

    print(f"\n1. Plain SGD without dropout: this checkout ({head}) against {args.baseline}, best of {args.rounds} rounds")
    print(f"{'case':<34} {'before s':>9} {'now s':>9} {'now/before':>10}")
    for label, _, _ in CASES:
        before, now = best_old[label][0], best_new[label][0]
        print(f"{label:<34} {before:>9.3f} {now:>9.3f} {now / before:>10.2f}")
    print(f"\n2. Methods against SGD in the same rounds (best of {args.rounds}); target on E1: momentum, adam <= 1.3x")
    print(f"{'case':<46} {'seconds':>8} {'us/iter':>8} {'x sgd':>6}")
    for label, _, _ in CASES + METHODS:
        seconds, iterations = best_new[label]
        if label in {c[0] for c in CASES}:  # the baselines themselves
            print(f"{label:<46} {seconds:>8.3f} {1e6 * seconds / iterations:>8.3f} {'-':>6}")
            continue
        sgd = best_new["E1 sgd, loss every 1000" if label.startswith("E1") else "digits sgd, 100 epochs"]
        ratio = (seconds / iterations) / (sgd[0] / sgd[1])
        verdict = ""
        if label.startswith(("E1 momentum", "E1 adam")):
            verdict = "  target met" if ratio <= 1.3 else "  TARGET MISSED"
        print(f"{label:<46} {seconds:>8.3f} {1e6 * seconds / iterations:>8.3f} {ratio:>6.2f}{verdict}")


if __name__ == "__main__":
    main()
