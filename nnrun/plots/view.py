"""What a picture of one run is drawn from and how it is declared: :class:`RunView` and
:class:`Picture`.

Here, below the family modules (``curves``, ``plane``, ``diagram``, ``classes``,
``regression``, ``animation``), so that each can declare its own ``PICTURES`` table
and :mod:`nnrun.plots` can join them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from nnrun.store.names import folder_name


@dataclass
class RunView:
    """Everything a picture of one run may draw from."""

    cfg: object
    history: object  # pandas DataFrame of history.csv (possibly thinned)
    network: object
    data: object | None  # Dataset, or None when the data cannot be loaded again
    metrics: dict
    run_dir: Path | None = None
    snapshots: tuple[np.ndarray, np.ndarray] | None = None  # (iterations, thetas)

    @property
    def name(self) -> str:
        """The run's name: the folder's (``--name``), else the config's."""
        return folder_name(self.run_dir, self.cfg.name)

    @property
    def status(self) -> str:
        return self.metrics.get("status", "completed")

    @property
    def classify(self) -> bool:
        return self.data is not None and self.data.task == "classification"

    @property
    def one_target(self) -> bool:
        """A classification, or a regression of one target: what a picture of the targets
        (coloured points, a fitted curve, predicted against true) can show."""
        return self.data is not None and self.data.n_targets == 1

    def inputs(self, n: int) -> bool:
        return self.data is not None and self.data.raw_train.shape[1] == n


class Picture(NamedTuple):
    """One picture of a run: ``applies(run)`` says whether it means something for this run,
    ``draw(run, path)`` draws it; ``cost`` is its rough drawing time (relu_ellipse, seconds),
    by which ``draw_run(jobs=2)`` shares the pictures between two processes, and ``suffix``
    a file type it always has whatever ``--format`` says (None: the format's)."""

    applies: Callable[[RunView], bool]
    draw: Callable[[RunView, Path], None]
    cost: float = 0.18
    suffix: str | None = None


def accuracy_line(metrics: dict) -> str:
    """"train acc 0.950, test acc 0.925" (and the status when the run did not complete), for a title."""
    parts = [f"{label} {metrics[key]:.3f}" for key, label in (("train_accuracy", "train acc"),
                                                              ("test_accuracy", "test acc"))
             if metrics.get(key) is not None]
    if metrics.get("status") not in (None, "completed"):
        parts.append(metrics["status"].upper())
    return ", ".join(parts)
