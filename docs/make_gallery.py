"""Regenerate the README gallery: run every shipped config, keep its pictures and numbers.

    python docs/make_gallery.py            # every config (several minutes)
    python docs/make_gallery.py relu_ellipse polar_ellipse

Writes docs/gallery/<config>-loss.png, <config>-regions.png (sweeps: -heatmaps.png) and the
pictures listed in EXTRA (three frames of moons' animation as PNGs: a GIF is too large for
git), at a modest resolution, and docs/gallery/results.md, the table the README shows.
Run folders go to a temporary directory and are deleted. ``digits_best`` is the digits
config trained once at the sweep's best cell (features, confusion, misclassified).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"
WIDTH = 640  # pixels: sharp enough on a page, small enough for git
WIDE = {"heatmaps": 1280}  # pictures of several panels side by side: at 640 px their numbers are unreadable
# pictures kept besides loss and regions, per gallery entry
EXTRA = {
    "higham_2232": ("neurons", "network"),
    "polar_ellipse": ("data",),
    "ps5_sigmoid7": ("data",),
    "moons_deep_relu": ("neurons", "accuracy"),
    "sine_regression": ("fit", "residuals"),
    "franke_regression": ("fit", "residuals"),
    "digits_best": ("features", "confusion", "misclassified", "accuracy", "network"),
    "digits_early_stopping": ("accuracy",),
    "iris": ("confusion",),
}
# configs for `nnrun explain` (a step or a few, set by hand): numbers to follow, no pictures to show
EXPLAIN_ONLY = {"mazur_step", "higham_2232_step"}
# entries that train a shipped config with overrides: name -> (config, overrides)
VARIANTS = {"digits_best": ("digits_sweep", ["train.eta=1", "train.lambda=0.0001"])}
FRAMES = (0.2, 0.7, 1.0)
METRIC_KEYS = ("iterations", "train_loss", "test_loss", "val_loss", "train_accuracy", "test_accuracy",
               "val_accuracy", "train_r2", "test_r2")  # animation frames kept: nearest these fractions of the iterations


def shrink(src: Path, dst: Path) -> None:
    image = Image.open(src)
    width = WIDE.get(src.stem, WIDTH)
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.convert("P", palette=Image.ADAPTIVE, colors=256).save(dst, optimize=True)


def frames(gif: Path, snapshots: Path, stem: str) -> None:
    """Frames of animation.gif nearest FRAMES of the run, as <stem>-frame<k>.png."""
    import numpy as np

    iterations = np.load(snapshots)["iterations"]
    image = Image.open(gif)
    for k, fraction in enumerate(FRAMES, start=1):
        image.seek(int(np.abs(iterations - fraction * iterations[-1]).argmin()))
        image.convert("RGB").save(GALLERY / f"{stem}-frame{k}.png", optimize=True)


def run(entry: str, runs: Path) -> dict:
    config_name, overrides = VARIANTS.get(entry, (entry, []))
    config = ROOT / "configs" / f"{config_name}.yaml"
    sweep = "sweep" in config.read_text() and entry not in VARIANTS
    command = [sys.executable, "-m", "nnrun", "sweep" if sweep else "train", str(config), *overrides,
               "--runs-dir", str(runs), "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start  # the whole command, pictures included, warm kernel cache
    folder = Path(done.stdout.strip().splitlines()[-1])
    row = {"config": entry, "command": f"nnrun {'sweep' if sweep else 'train'} configs/{config.name}"
                                       + "".join(f" {o}" for o in overrides), "wall_seconds": f"{wall:.1f}"}
    config = config.with_name(f"{entry}.yaml")  # gallery file names follow the entry
    if sweep:
        import yaml

        from nnrun.store.results import best_row

        results = pd.read_csv(folder / "results.csv")
        axes = list(yaml.safe_load((folder / "sweep.yaml").read_text())["axes"])
        best, metric = best_row(results)  # the sweep's own choice: on validation where there is a set
        where = ", ".join(f"{k.split('.')[-1]}={best[k]}" for k in axes)
        if metric == "test_accuracy":
            result = f"best test accuracy {best['test_accuracy']:.4f} at {where} (chosen on the test set)"
        else:
            result = (f"best {metric.replace('_', ' ')} {best[metric]:.4f} at {where}, "
                      f"its test accuracy {best['test_accuracy']:.4f}")
        if len(axes) == 1 or len(results) <= 8:  # small sweeps: every cell's numbers
            shown = [c for c in ("val_accuracy", "test_accuracy") if c in results and results[c].notna().any()]
            cells = [f"{', '.join(str(r[k]) for k in axes)}: train loss {r['train_loss']:.3g}, "
                     + ", ".join(f"{c.replace('_', ' ').replace('val ', 'validation ')} {r[c]:.4f}" for c in shown)
                     for _, r in results.iterrows()]
            result += " (" + "; ".join(cells) + ")"
        counts = results["status"].value_counts()
        pruned = f", {counts['pruned']} pruned" if "pruned" in counts else ""
        row.update(status=f"{counts.get('completed', 0)} of {len(results)} cells completed{pruned}", result=result)
        for name in ("heatmaps", "curves", "search_history", "search_parallel"):
            if (folder / f"{name}.png").exists():
                shrink(folder / f"{name}.png", GALLERY / f"{config.stem}-{name}.png")
    else:
        m = json.loads((folder / "metrics.json").read_text())
        parts = [f"{k.replace('_', ' ')} {m[k]:.4g}" for k in
                 ("train_accuracy", "test_accuracy", "train_r2", "test_r2", "train_loss", "test_loss")
                 if m.get(k) is not None]
        first = m["diagnostics"].get("first_loss")
        if first:
            parts.append(f"first loss {first:.4g}")
        early = m.get("early_stopping")
        if early and early.get("stopped_at") is not None:
            parts.append(f"stopped at iteration {early['stopped_at']}, best {early['monitor']} at "
                         f"{early['best_iteration']} (restored)")
        row.update(status=m["status"], result=", ".join(parts), seconds=f"{m['train_seconds']:.2f}",
                   hints=" / ".join(m["diagnostics"]["hints"]),
                   # full precision, for tests/test_gallery.py to hold the gallery to what the configs give
                   metrics={k: m[k] for k in METRIC_KEYS if m.get(k) is not None})
        for name in ("loss", "regions", *EXTRA.get(entry, ())):
            if (folder / f"{name}.png").exists():
                shrink(folder / f"{name}.png", GALLERY / f"{config.stem}-{name}.png")
        if (folder / "animation.gif").exists():
            frames(folder / "animation.gif", folder / "snapshots.npz", config.stem)
    return row


def main(names: list[str]) -> None:
    GALLERY.mkdir(parents=True, exist_ok=True)
    entries = names or sorted([p.stem for p in (ROOT / "configs").glob("*.yaml") if p.stem not in EXPLAIN_ONLY]
                              + list(VARIANTS))
    table = GALLERY / "results.json"
    rows = json.loads(table.read_text()) if table.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            print(f"running {entry} ...", flush=True)
            rows[entry] = run(entry, Path(tmp))
            print(f"  {rows[entry]['result']}", flush=True)
    table.write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| config | command | status | result | training seconds | whole command seconds |",
             "|---|---|---|---|---|---|"]
    for row in rows.values():
        lines.append(f"| {row['config']} | `{row['command']}` | {row['status']} | {row['result']} | "
                     f"{row.get('seconds', '')} | {row.get('wall_seconds', '')} |")
    (GALLERY / "results.md").write_text("\n".join(lines) + "\n")
    shutil.rmtree(ROOT / "runs" / "__gallery__", ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
