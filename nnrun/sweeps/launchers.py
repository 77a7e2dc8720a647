"""Launchers: where a sweep's work runs, behind one small interface.

A :class:`Launcher` runs functions in workers: :meth:`~Launcher.submit` one call and get a
future, :meth:`~Launcher.wait` for some to finish, :meth:`~Launcher.cancel` what is left,
:meth:`~Launcher.close`. It knows nothing of cells: the runner decides what a task is (one
batch of cells, sized by the runner; a trial drawn from a shared study, tomorrow). ``slots``
is how many calls run at once, so the runner keeps that many busy and a few more queued.
:class:`LocalPool` forks processes on this machine from the fork server
(:mod:`nnrun.sweeps.forkserver`); :class:`DaskPool` sends calls to a Dask scheduler.
"""

from __future__ import annotations

import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING

from nnrun.errors import NnrunError
from nnrun.sweeps.forkserver import start_fork_server

if TYPE_CHECKING:
    pass


class LocalPool:
    """Worker processes on this machine."""

    def __init__(self, jobs: int):
        self.slots = jobs
        self.executor = ProcessPoolExecutor(max_workers=jobs, mp_context=start_fork_server(),
                                            initializer=_ignore_sigint)

    def submit(self, fn, *args):
        return self.executor.submit(fn, *args)

    def run(self, *calls):
        """Each (fn, *args) of ``calls`` in a worker, at the same time; their results."""
        return [f.result() for f in [self.executor.submit(*call) for call in calls]]

    def wait(self, futures):
        done, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
        return done

    def cancel(self):
        self.executor.shutdown(wait=False, cancel_futures=True)

    def close(self):
        self.executor.shutdown(wait=True)


def _ignore_sigint():
    """Workers leave Ctrl-C to the client, which stops the sweep cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DaskPool:
    """Cells sent to a running Dask distributed scheduler."""

    def __init__(self, address: str):
        try:
            from dask.distributed import Client
        except ImportError:
            raise NnrunError("--scheduler needs Dask: pip install 'nnrun[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise NnrunError(f"--scheduler: cannot connect to {address} ({e})") from None
        try:  # the workers' threads: how many calls run at once
            self.slots = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        except Exception:  # noqa: BLE001 - an unusual scheduler: a guess, only for how many calls wait in line
            self.slots = 4

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def run(self, *calls):
        """Each (fn, *args) of ``calls`` on a Dask worker, at the same time; their results."""
        return [f.result() for f in [self.client.submit(*call, pure=False) for call in calls]]

    def wait(self, futures):
        from dask.distributed import wait as dask_wait

        try:
            done, _ = dask_wait(list(futures), timeout=0.2, return_when="FIRST_COMPLETED")
        except TimeoutError:  # dask raises where concurrent.futures returns nothing done
            return set()
        return done

    def cancel(self):
        self.client.close()

    def close(self):
        self.client.close()
