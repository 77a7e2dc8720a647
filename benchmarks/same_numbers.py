"""Do two source trees of nnrun give the same numbers? Every shipped config, shortened,
trained by each; histories (every column but the wall-clock ``seconds``) and model.npz
compared bit for bit.

    git worktree add /tmp/old <rev>
    python benchmarks/same_numbers.py --old /tmp/old --new .

A restructuring must print ``identical`` for every config. The two trees share this
machine, its CPU and its libraries, so any difference is the code's. (Before nnrun 0.1's
same-bits work, the per-sample kernel used fast-math, and two trees' numba caches, compiled
apart, could differ in the last bits: compare such trees with ``--engine numpy``.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ITERATIONS, EPOCHS = 3000, 4  # long enough to leave the first steps, short enough for every config


def shortened(config: Path) -> list[str]:
    """Overrides that cut a config to at most ITERATIONS iterations or EPOCHS epochs."""
    train = (yaml.safe_load(config.read_text()) or {}).get("train", {})
    if train.get("epochs") is not None:
        return [f"train.epochs={min(int(train['epochs']), EPOCHS)}"]
    return [f"train.iterations={min(int(train.get('iterations') or ITERATIONS), ITERATIONS)}"]


def train(tree: Path, config: Path, runs: Path, extra=()) -> Path:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    done = subprocess.run([sys.executable, "-m", "nnrun", "train", str(config), *shortened(config), *extra,
                           "--runs-dir", str(runs), "-q"], capture_output=True, text=True, env=env, cwd=tree)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree}: {config.name}: exit {done.returncode}\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def differences(old: Path, new: Path) -> list[str]:
    """What differs between two run folders' numbers (empty: identical bits)."""
    out = []
    a, b = (pd.read_csv(f / "history.csv").drop(columns=["seconds"]) for f in (old, new))
    if list(a.columns) != list(b.columns) or not same_bits(a.to_numpy(float), b.to_numpy(float)):
        out.append("history.csv")
    with np.load(old / "model.npz") as x, np.load(new / "model.npz") as y:
        for key in sorted(set(x.files) | set(y.files)):
            if key not in x.files or key not in y.files or not same_bits(x[key], y[key]):
                out.append(f"model.npz:{key}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the source tree to compare against")
    parser.add_argument("--new", type=Path, default=Path("."), help="this tree (default)")
    parser.add_argument("--engine", choices=["numba", "numpy"], default=None,
                        help="train.engine for both (default: the config's)")
    parser.add_argument("configs", nargs="*", help="config names (default: every shipped config)")
    args = parser.parse_args()
    configs = [CONFIGS / f"{c.removesuffix('.yaml')}.yaml" for c in args.configs] or sorted(CONFIGS.glob("*.yaml"))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            extra = [f"train.engine={args.engine}"] if args.engine else []
            old = train(args.old, config, Path(tmp) / "old", extra)
            new = train(args.new, config, Path(tmp) / "new", extra)
            diff = differences(old, new)
            failed += bool(diff)
            print(f"{config.stem:24s} {' '.join(shortened(config)):22s} "
                  f"{'identical' if not diff else 'DIFFERS: ' + ', '.join(diff)}", flush=True)
    print(f"{len(configs) - failed} of {len(configs)} configs identical")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
