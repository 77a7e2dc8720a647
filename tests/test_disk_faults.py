"""A full disk, and a runs folder that cannot be written: one line, exit 1, what fits is kept.

The disk is faked in-process (:func:`small_disk`): every file opened for writing under one
folder counts its bytes against a budget, as a file system of that size would, and a write
past it raises ``OSError(ENOSPC)``. The last test uses a real, tiny tmpfs where the machine
lets us mount one.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pandas as pd

from conftest import cli, read_metrics, small_config
from nnrun.store.history import read_history


def _used(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


class _MeteredFile:
    """A file under the small disk: each write is refused once the disk would overflow."""

    def __init__(self, file, root: Path, size: int):
        self._file, self._root, self._size = file, root, size

    def write(self, data):
        if _used(self._root) + len(data) > self._size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = self._file.write(data)
        self._file.flush()  # on disk at once, so the next write counts it
        return written

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def __iter__(self):
        return iter(self._file)

    def __getattr__(self, name):
        return getattr(self._file, name)


@pytest.fixture
def small_disk(monkeypatch):
    """``small_disk(folder, size)``: from now on, ``folder`` lives on a disk of ``size`` bytes."""
    real_open = builtins.open

    def install(root: Path, size: int) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        root = root.resolve()

        def metered_open(file, mode="r", *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            if not any(c in mode for c in "wax+"):
                return f
            path = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.path.abspath(file)
            return _MeteredFile(f, root, size) if Path(path).is_relative_to(root) else f

        monkeypatch.setattr(builtins, "open", metered_open)
        monkeypatch.setattr(io, "open", metered_open)  # pathlib and os.fdopen call io.open
        return root

    return install


def _config(write_config, **train):
    return write_config(small_config(train={"iterations": 3000, "log_every": 1, **train}))


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("nnrun: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[-1]


def test_a_full_disk_while_recording_keeps_metrics_and_weights_and_marks_the_run_failed(
        tmp_path, write_config, small_disk):
    config = _config(write_config)
    whole = cli("train", config, "--runs-dir", tmp_path / "roomy", "-q")
    whole_dir = Path(whole.stdout.strip())
    runs = small_disk(tmp_path / "runs", 30_000)  # the history alone is ~170 kB

    result = cli("train", config, "--runs-dir", runs, "-q")

    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "no space left on device writing" in line and "history.csv after" in line
    assert "kept metrics.json, model.npz and model.json, and marked the run failed" in line
    assert "train.log_every" in line  # what to do: record less
    run_dir = next(runs.iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml", "metrics.json", "model.json", "model.npz"]
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "failed" and metrics["trained"] == "completed"
    assert metrics["error"] == "history.csv: No space left on device"
    # what was kept is the trained network itself, bit for bit
    assert metrics["train_loss"] == read_metrics(whole_dir)["train_loss"]
    kept, trained = np.load(run_dir / "model.npz"), np.load(whole_dir / "model.npz")
    assert all(np.array_equal(kept[k], trained[k]) for k in trained.files)
    # the runs table says failed, never completed
    table = cli("runs", runs, "--csv")
    assert ",failed," in table.stdout and ",completed," not in table.stdout


def test_a_disk_too_full_for_the_config_leaves_no_folder(tmp_path, write_config, small_disk):
    runs = small_disk(tmp_path / "runs", 100)
    result = cli("train", _config(write_config), "--runs-dir", runs, "-q")
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "config.yaml" in line and "nothing was trained and no run folder is left" in line
    assert list(runs.iterdir()) == []


def test_a_full_disk_while_drawing_keeps_the_records_and_names_nnrun_plot(tmp_path, write_config, small_disk):
    config = _config(write_config, log_every=10)
    runs = small_disk(tmp_path / "runs", 60_000)  # the records fit; every picture would not
    result = cli("train", config, "--runs-dir", runs, "-q")
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert line.endswith("draws them") and "the run's records are complete" in line
    run_dir = next(runs.iterdir())
    assert f"`nnrun plot {run_dir}`" in line
    assert read_metrics(run_dir)["status"] == "completed"  # the training and its records are whole
    assert not (run_dir / "report.html").exists()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no half-saved picture
    # free the disk: the command the line gives finishes the folder
    shutil.copytree(run_dir, tmp_path / "freed" / run_dir.name)
    freed = tmp_path / "freed" / run_dir.name
    assert cli("plot", freed).exit_code == 0
    assert (freed / "report.html").exists() and (freed / "loss.png").exists()


def test_a_full_disk_stops_a_sweep_and_resume_finishes_it(tmp_path, write_config, small_disk):
    config = _config(write_config, iterations=400, log_every=1)
    axis = "train.eta=0.05,0.1,0.2,0.4"
    alone = cli("sweep", config, axis, "--jobs", "1", "--runs-dir", tmp_path / "roomy", "-q")
    assert alone.exit_code == 0, alone.stderr
    roomy = next((tmp_path / "roomy").iterdir())
    first = next(p for p in sorted(roomy.iterdir()) if p.is_dir() and p.name.startswith("c"))
    # a cell: its folder and its history, rows of the sweep's table (a table a batch; here a cell a batch)
    cell = _used(first) + (roomy / read_metrics(first)["history"]["file"]).stat().st_size
    runs = small_disk(tmp_path / "runs", int(2.5 * cell) + 1000)  # two cells fit, and the sweep's own small files

    result = cli("sweep", config, axis, "--jobs", "1", "--runs-dir", runs, "-q")

    assert result.exit_code == 1
    line = _one_error_line(result)
    sweep_dir = next(runs.iterdir())
    assert "the sweep stopped with 2 of 4 cells saved, each complete" in line
    assert line.endswith(f"finish it with: nnrun sweep {config} {axis} --resume {sweep_dir}")
    assert not [p for p in sweep_dir.iterdir() if p.name.startswith(".")]
    # free the disk, then the line's command finishes it, with the numbers of an uninterrupted sweep
    moved = tmp_path / "freed" / sweep_dir.name
    shutil.copytree(sweep_dir, moved)
    resumed = cli("sweep", config, axis, "--resume", moved, "-q")
    assert resumed.exit_code == 0, resumed.stderr
    whole = next((tmp_path / "roomy").iterdir())
    for cell in sorted(p.name for p in whole.iterdir() if p.is_dir() and p.name.startswith("c")):
        assert read_metrics(moved / cell)["train_loss"] == read_metrics(whole / cell)["train_loss"]
        pd.testing.assert_frame_equal(read_history(moved / cell).drop(columns="seconds"),
                                      read_history(whole / cell).drop(columns="seconds"), check_exact=True)


@pytest.fixture
def tmpfs(tmp_path):
    """A real 1 MB file system (tmpfs), where the machine allows mounting one (root on Linux)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the in-process fake disk above covers the same paths")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this machine cannot mount a tmpfs ({made.stderr.strip()}); the fake disk above covers it")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_real_full_disk_and_a_read_only_one(tmp_path, write_config, tmpfs):
    from conftest import nnrun_process

    config = _config(write_config, iterations=30_000)  # ~1.7 MB of history on a 1 MB disk
    full = nnrun_process("train", config, "--runs-dir", tmpfs / "runs", "-q")
    assert full.returncode == 1, full.stderr
    assert full.stderr.count("\n") == 1 and "no space left on device writing" in full.stderr
    run_dir = next((tmpfs / "runs").iterdir())
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "failed"

    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    refused = nnrun_process("train", config, "--runs-dir", tmpfs / "runs", "-q")
    assert refused.returncode == 1
    assert refused.stderr == (f"nnrun: error: --runs-dir: cannot create a folder in {tmpfs / 'runs'} (Read-only "
                              "file system); give --runs-dir a folder you can write, on a disk with space\n")
