"""Regenerate the README gallery: run every shipped config, keep its pictures and numbers.

    python docs/make_gallery.py            # every config (several minutes)
    python docs/make_gallery.py relu_ellipse polar_ellipse

Writes docs/gallery/<config>-loss.png, <config>-regions.png (sweeps: -heatmaps.png)
at a modest resolution, and docs/gallery/results.md, the table the README shows.
Run folders go to a temporary directory and are deleted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "docs" / "gallery"
WIDTH = 640  # pixels: sharp enough on a page, small enough for git


def shrink(src: Path, dst: Path) -> None:
    image = Image.open(src)
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    image.convert("P", palette=Image.ADAPTIVE, colors=256).save(dst, optimize=True)


def run(config: Path, runs: Path) -> dict:
    sweep = "sweep" in config.read_text()
    command = [sys.executable, "-m", "nnrun", "sweep" if sweep else "train", str(config), "--runs-dir", str(runs), "-q"]
    done = subprocess.run(command, capture_output=True, text=True)
    folder = Path(done.stdout.strip().splitlines()[-1])
    row = {"config": config.stem, "command": f"nnrun {'sweep' if sweep else 'train'} configs/{config.name}"}
    if sweep:
        results = pd.read_csv(folder / "results.csv")
        best = results.loc[results["test_accuracy"].idxmax()]
        row.update(status=f"{(results['status'] == 'completed').sum()} of {len(results)} cells completed",
                   result=f"best test accuracy {best['test_accuracy']:.4f} at eta={best['train.eta']:g}, "
                          f"lambda={best['train.lambda']:g}")
        shrink(folder / "heatmaps.png", GALLERY / f"{config.stem}-heatmaps.png")
    else:
        m = json.loads((folder / "metrics.json").read_text())
        parts = [f"{k.replace('_', ' ')} {m[k]:.4g}" for k in
                 ("train_accuracy", "test_accuracy", "train_loss", "test_loss") if m.get(k) is not None]
        first = m["diagnostics"].get("first_loss")
        if first:
            parts.append(f"first loss {first:.4g}")
        row.update(status=m["status"], result=", ".join(parts), seconds=f"{m['train_seconds']:.2f}",
                   hints=" / ".join(m["diagnostics"]["hints"]))
        for name in ("loss", "regions"):
            if (folder / f"{name}.png").exists():
                shrink(folder / f"{name}.png", GALLERY / f"{config.stem}-{name}.png")
    return row


def main(names: list[str]) -> None:
    GALLERY.mkdir(parents=True, exist_ok=True)
    configs = [ROOT / "configs" / f"{n}.yaml" for n in names] or sorted((ROOT / "configs").glob("*.yaml"))
    table = GALLERY / "results.json"
    rows = json.loads(table.read_text()) if table.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            print(f"running {config.name} ...", flush=True)
            rows[config.stem] = run(config, Path(tmp))
            print(f"  {rows[config.stem]['result']}", flush=True)
    table.write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| config | command | status | result | training seconds |", "|---|---|---|---|---|"]
    for row in rows.values():
        lines.append(f"| {row['config']} | `{row['command']}` | {row['status']} | {row['result']} | "
                     f"{row.get('seconds', '')} |")
    (GALLERY / "results.md").write_text("\n".join(lines) + "\n")
    shutil.rmtree(ROOT / "runs" / "__gallery__", ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
