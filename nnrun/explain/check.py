"""``nnrun explain CONFIG --check FILE``: a student's numbers against the run's.

FILE (YAML or JSON) has the layout of ``--format json``, with any subset of the fields:
steps are matched by ``iteration`` (else by their place), layers by ``layer`` (else by
their place). Each given number is compared with the expected one:

    |given - expected| <= max(rtol |expected|, atol)

``rtol`` (default 1e-4) is about what a hand calculation keeps; the absolute floor
``atol`` (default 1e-6) is for entries that are zero or nearly, such as a dead ReLU
unit's delta or a dropped unit's activation, where a relative error means nothing. A
field nnrun does not know, or a list of the wrong shape, is bad input (one line, exit 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnrun.errors import NnrunError
from nnrun.explain.steps import LAYER_FIELDS, STEP_FIELDS

RTOL, ATOL = 1e-4, 1e-6


@dataclass
class Mismatch:
    where: str  # "step 1, layer 2, delta[0][1]"
    expected: float
    given: float

    @property
    def relative(self) -> float:
        return abs(self.given - self.expected) / abs(self.expected) if self.expected else float("inf")


def read_answers(path: Path) -> dict:
    """The student's file, as a mapping with a ``steps`` list."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise NnrunError(f"--check: cannot read {path} ({e.strerror})") from None
    try:
        answers = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise NnrunError(f"--check: {path} is not valid {'JSON' if str(path).endswith('.json') else 'YAML'} "
                         f"({str(e).splitlines()[0]})") from None
    if not isinstance(answers, dict) or not isinstance(answers.get("steps"), list):
        raise NnrunError(f"--check: {path} must hold a mapping with a 'steps' list, as `nnrun explain --format json` "
                         "writes it")
    return answers


def steps_needed(answers: dict) -> int:
    """How many steps the file asks about."""
    return max((s.get("iteration", k + 1) if isinstance(s, dict) else k + 1
                for k, s in enumerate(answers["steps"])), default=1)


def compare(answers: dict, expected: dict, path, rtol: float = RTOL, atol: float = ATOL
            ) -> tuple[int, list[Mismatch]]:
    """(numbers compared, the mismatches)."""
    by_iteration = {s["iteration"]: s for s in expected["steps"]}
    checked, wrong = 0, []
    for k, step in enumerate(answers["steps"]):
        if not isinstance(step, dict):
            raise NnrunError(f"--check: {path}: steps[{k}] is not a mapping of fields")
        iteration = step.get("iteration", k + 1)
        if iteration not in by_iteration:
            raise NnrunError(f"--check: {path}: step {iteration} is past the {len(by_iteration)} steps of the run")
        want = by_iteration[iteration]
        for key, value in step.items():
            where = f"step {iteration}"
            if key == "iteration":  # which step, not a number to grade
                continue
            if key not in STEP_FIELDS:
                raise NnrunError(f"--check: {path}: {where}: unknown field '{key}'; a step has "
                                 f"{', '.join(STEP_FIELDS)}")
            if key == "layers":
                n, bad = _layers(value, want["layers"], where, path, rtol, atol)
            else:
                n, bad = _numbers(value, want.get(key), f"{where}, {key}", path, rtol, atol)
            checked, wrong = checked + n, wrong + bad
    return checked, wrong


def _layers(given, expected, where, path, rtol, atol):
    if not isinstance(given, list):
        raise NnrunError(f"--check: {path}: {where}: 'layers' must be a list, one entry per weight layer")
    checked, wrong = 0, []
    for k, layer in enumerate(given):
        if not isinstance(layer, dict):
            raise NnrunError(f"--check: {path}: {where}: layers[{k}] is not a mapping of fields")
        number = layer.get("layer", k + 1)
        if not isinstance(number, int) or not 1 <= number <= len(expected):
            raise NnrunError(f"--check: {path}: {where}: layer {number!r}; the network has layers 1 to {len(expected)}")
        want = expected[number - 1]
        for key, value in layer.items():
            here = f"{where}, layer {number}"
            if key == "layer":
                continue
            if key not in LAYER_FIELDS and key not in want:
                raise NnrunError(f"--check: {path}: {here}: unknown field '{key}'; a layer has "
                                 f"{', '.join(k for k in want if k not in ('layer',))}")
            if key not in want:
                raise NnrunError(f"--check: {path}: {here}: '{key}' is not part of this run's step "
                                 f"(it has {', '.join(k for k in want if k != 'layer')})")
            n, bad = _numbers(value, want[key], f"{here}, {key}", path, rtol, atol)
            checked, wrong = checked + n, wrong + bad
    return checked, wrong


def _numbers(given, expected, where, path, rtol, atol):
    """Compare a number, a list of numbers or a mapping of them."""
    if isinstance(expected, str) or expected is None:
        if given != expected:
            return 1, [Mismatch(f"{where}", expected, given)]  # a name, such as the activation
        return 1, []
    if isinstance(expected, dict):
        if not isinstance(given, dict):
            raise NnrunError(f"--check: {path}: {where} must be a mapping with {', '.join(expected)}")
        checked, wrong = 0, []
        for key, value in given.items():
            if key not in expected:
                raise NnrunError(f"--check: {path}: {where}: unknown field '{key}'; it has {', '.join(expected)}")
            n, bad = _numbers(value, expected[key], f"{where}.{key}", path, rtol, atol)
            checked, wrong = checked + n, wrong + bad
        return checked, wrong
    if isinstance(expected, list) and expected and isinstance(expected[0], dict):  # samples
        if not isinstance(given, list) or len(given) != len(expected):
            raise NnrunError(f"--check: {path}: {where} must be a list of {len(expected)}")
        checked, wrong = 0, []
        for k, (g, e) in enumerate(zip(given, expected)):
            n, bad = _numbers(g, e, f"{where}[{k}]", path, rtol, atol)
            checked, wrong = checked + n, wrong + bad
        return checked, wrong
    want = np.asarray(expected, dtype=float)
    try:
        got = np.asarray(given, dtype=float)
    except (TypeError, ValueError):
        raise NnrunError(f"--check: {path}: {where}: {given!r} is not a number or a list of numbers "
                         f"of shape {want.shape}") from None
    if got.shape != want.shape:
        hint = ("; write it as [[...]], a row per sample, even for one sample"
                if want.ndim == 2 and got.ndim == 1 and want.shape[0] == 1 and got.shape[0] == want.shape[1] else "")
        raise NnrunError(f"--check: {path}: {where} has shape {_shape(got.shape)}, expected {_shape(want.shape)}{hint}")
    wrong = []
    for index in np.ndindex(want.shape):
        e, g = float(want[index]), float(got[index])
        if not abs(g - e) <= max(rtol * abs(e), atol):
            wrong.append(Mismatch(where + "".join(f"[{i}]" for i in index), e, g))
    return want.size, wrong


def _shape(shape) -> str:
    return "a single number" if shape == () else "(" + ", ".join(map(str, shape)) + ")"


def report(checked: int, wrong: list[Mismatch], rtol: float, atol: float) -> list[str]:
    """The lines ``--check`` prints: each mismatch, then the count."""
    lines = []
    for m in wrong:
        if isinstance(m.expected, (int, float)) and isinstance(m.given, (int, float)):
            lines.append(f"{m.where}: expected {m.expected:.9g}, given {m.given:.9g} "
                         f"(relative error {m.relative:.2g})")
        else:
            lines.append(f"{m.where}: expected {m.expected!r}, given {m.given!r}")
    lines.append(f"{checked - len(wrong)} of {checked} numbers match (rtol {rtol:g}; entries within {atol:g} "
                 "of the expected value match whatever their relative error)")
    return lines
