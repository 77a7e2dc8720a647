"""A sweep on a real Dask cluster, started the way a user starts one, surviving its faults.

A ``dask scheduler`` and two ``dask worker`` processes run on this machine (loopback
only). A worker killed in the middle of a sweep loses its cells to the other one; a
client killed with SIGKILL leaves a folder that ``--resume`` completes. Every cell is
then in results.csv exactly once, and the client's memory stays flat.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

from conftest import small_config  # noqa: E402

DASK = str(Path(sys.executable).parent / "dask")
CELLS = {"train.eta": [0.02, 0.05, 0.1, 0.2, 0.5], "train.lambda": [0.0, 1e-4, 1e-3, 1e-2]}  # 20 cells


def wait_for(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, [worker processes]) of a cluster on 127.0.0.1; torn down after."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    info = tmp_path / "scheduler.json"
    processes = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(info)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=tmp_path)]
    try:
        wait_for(info.exists, 60, "the scheduler")
        address = json.loads(info.read_text())["address"]
        workers = [subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                     "--host", "127.0.0.1", "--name", f"w{k}"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, cwd=tmp_path) for k in range(2)]
        processes += workers

        def two_workers():
            from distributed import Client

            with Client(address, timeout="5s") as client:
                return len(client.scheduler_info()["workers"]) == 2

        wait_for(two_workers, 90, "two workers")
        yield address, workers
    finally:
        for p in processes:
            p.kill()
            p.wait()


def sweep_config(write_config):
    cfg = small_config(train={"iterations": 3000, "batch_size": 4, "log_every": 100})
    cfg["sweep"] = {"grid": CELLS}
    return write_config(cfg)


def finished_cells(runs: Path) -> int:
    return sum(1 for p in runs.glob("*-sweep/c*/metrics.json"))


def result_rows(runs: Path) -> int:
    """Rows of results.csv so far (it grows as cells finish; the last line may be half written)."""
    files = list(runs.glob("*-sweep/results.csv"))
    return max(0, files[0].read_text().count("\n") - 2) if files else 0


def start_sweep(config, runs, *extra):
    return subprocess.Popen([sys.executable, "-m", "nnrun", "sweep", str(config), "--runs-dir", str(runs), "-q",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_a_worker_killed_midway_loses_no_cell(cluster, write_config, tmp_path):
    address, workers = cluster
    runs = tmp_path / "runs"
    client = start_sweep(sweep_config(write_config), runs, "--scheduler", address)
    memory = []
    wait_for(lambda: finished_cells(runs) >= 4 or client.poll() is not None, 300, "the first cells")
    assert client.poll() is None, client.stderr.read()
    workers[0].send_signal(signal.SIGKILL)  # a worker lost with whatever it was computing
    deadline = time.monotonic() + 300
    while client.poll() is None:
        if time.monotonic() > deadline:  # a lost cell would leave the client waiting forever
            client.kill()
            raise AssertionError("the sweep did not finish after a worker was killed")
        memory.append(rss_mb(client.pid))
        time.sleep(0.1)
    out, err = client.communicate()
    assert client.returncode == 0, err
    sweep_dir = Path(out.strip().splitlines()[-1])
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 20 and results["folder"].is_unique and set(results["status"]) == {"completed"}
    assert sorted(p.name for p in sweep_dir.glob("c*") if p.is_dir()) == sorted(results["folder"])
    memory = [m for m in memory if m > 0]  # a process on its way out has no VmRSS line
    steady = memory[len(memory) // 4:]
    assert max(steady) < min(steady) + 50, f"client memory grew: {min(steady):.0f} -> {max(steady):.0f} MB"


def test_a_client_killed_with_sigkill_leaves_a_folder_that_resume_completes(cluster, write_config, tmp_path):
    address, _ = cluster
    runs = tmp_path / "runs"
    config = sweep_config(write_config)
    client = start_sweep(config, runs, "--scheduler", address)
    # results.csv grows as cells finish: wait for 5 complete rows (one more line may be under way)
    wait_for(lambda: result_rows(runs) >= 5 or client.poll() is not None, 300, "the first rows of results.csv")
    client.send_signal(signal.SIGKILL)
    client.wait()
    sweep_dir = next(runs.glob("*-sweep"))
    before = finished_cells(runs)
    assert 5 <= before < 20
    assert result_rows(runs) >= 5
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("c*/metrics.json")}

    resumed = subprocess.run([sys.executable, "-m", "nnrun", "sweep", str(config), "--resume", str(sweep_dir),
                              "--scheduler", address, "-q"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{before} of 20 cells already done" in resumed.stderr
    results = pd.read_csv(sweep_dir / "results.csv")
    assert len(results) == 20 and results["folder"].is_unique
    for name, mtime in done_before.items():  # finished cells were not run again
        assert (sweep_dir / name / "metrics.json").stat().st_mtime_ns == mtime
