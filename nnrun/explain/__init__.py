"""``nnrun explain``: every number of the first backpropagation steps of a run, shown,
checkable and gradable; and one input through a trained network.

- :mod:`nnrun.explain.steps`: the numbers (:func:`explain_steps`), from the NumPy
  reference engine as ``nnrun train`` runs it;
- :mod:`nnrun.explain.render`: text for the terminal, Markdown with ``$...$`` maths;
- :mod:`nnrun.explain.check`: a student's numbers against the run's (``--check``);
- :mod:`nnrun.explain.forward`: a trained run on one input (``--input``).
"""

from __future__ import annotations

import json

from nnrun.explain.steps import explain_steps

__all__ = ["explain_config", "explain_steps", "to_json"]


def explain_config(cfg, steps: int = 1) -> dict:
    """The first ``steps`` updates of the run of ``cfg``. A data set of one row, or of one
    class, is accepted here (a textbook step), though ``nnrun train`` refuses one class."""
    from nnrun.data import load_data

    if steps < 1:
        from nnrun.errors import NnrunError

        raise NnrunError(f"--steps: {steps}; give the number of updates to show, 1 or more")
    return explain_steps(cfg, load_data(cfg, one_class_ok=True), steps)


def to_json(explained: dict) -> str:
    """Every number at full precision (Python's shortest repr that reads back exactly);
    non-finite numbers as null, as in every JSON file nnrun writes."""
    from nnrun.store.files import json_safe

    return json.dumps(json_safe(explained), indent=1) + "\n"
