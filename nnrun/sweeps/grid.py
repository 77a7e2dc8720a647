"""A sweep's grid: the axis grammar and the cells.

Axes come from the config's ``sweep.grid`` and from command-line overrides whose value is
a comma list (as Hydra's multirun): ``train.eta=0.01,0.1``, ``[a, b]`` lists,
``logspace(a, b, n)`` and ``linspace(a, b, n)``. A cell is one combination of axis values
and one seed; :func:`prepare_sweep` validates every cell before any folder exists, and
:func:`check_resume` refuses a ``--resume`` whose config differs from the sweep's own.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from nnrun.config import (
    apply_overrides,
    config_file,
    dump_yaml,
    parse_override,
    read_yaml,
    set_dotted,
    validate,
)
from nnrun.config.messages import did_you_mean
from nnrun.errors import NnrunError
from nnrun.store.names import sanitize_name
from nnrun.store.results import short_value

if TYPE_CHECKING:
    pass


# ------------------------------------------------------------------------- axes
def split_top_level(text: str) -> list[str]:
    """'0.1,0.01' -> ['0.1', '0.01']; commas inside [], {} or () do not split."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def expand_values(key: str, spec, where: str | None = None) -> list:
    """A list, 'logspace(a, b, n)' (10^a .. 10^b) or 'linspace(a, b, n)' -> values.
    ``where`` names the spec in an error (default: the config's sweep.grid.KEY)."""
    where = where or f"sweep.grid.{key}"
    if isinstance(spec, list):
        if not spec:
            raise NnrunError(f"{where}: empty list; give at least one value")
        return spec
    if isinstance(spec, str):
        m = re.fullmatch(r"\s*(logspace|linspace)\s*\(\s*([^,]+),\s*([^,]+),\s*(\d+)\s*\)\s*", spec)
        if m:
            try:
                kind, a, b, n = m.group(1), float(m.group(2)), float(m.group(3)), int(m.group(4))
            except ValueError:
                m = None
        if m:
            if n < 1:
                raise NnrunError(f"{where}: {spec} has no values; n must be >= 1")
            values = np.logspace(a, b, n) if kind == "logspace" else np.linspace(a, b, n)
            return [float(f"{v:.12g}") for v in values]
    if parse_range(key, spec, where) is not None:
        raise NnrunError(f"{where}: {spec!r} is a range, which a grid cannot walk; give a list, logspace(a, b, n) "
                         "or linspace(a, b, n), or search it with sweep.method=random or sweep.method=tpe")
    raise NnrunError(
        f"{where}: {spec!r} is not a list of values, 'logspace(a, b, n)' or 'linspace(a, b, n)'"
        " (a search also takes loguniform(a, b), uniform(a, b), int(a, b), choice(a, b, ...))"
    )


# Ranges: what a search (sweep.method random or tpe) draws from; a grid needs values.
RANGES = {"loguniform": "loguniform(a, b)", "uniform": "uniform(a, b)", "int": "int(a, b)",
          "choice": "choice(a, b, ...)"}
SPACES = {"logspace": "logspace(a, b, n)", "linspace": "linspace(a, b, n)"}  # a grid's values
_RANGE = re.compile(r"\s*(loguniform|uniform|int|choice)\s*\((.*)\)\s*")
_CALL = re.compile(r"\s*([A-Za-z_]\w*)\s*\(.*\)\s*")


def check_spelling(spec, where: str) -> None:
    """An axis written as a call whose name is a near miss of a range or a space
    (``logunifrom(0.01, 3)``, ``logspac(-2, 0, 3)``) is one line that names the right one;
    without this it was taken for one value, and validation said it is not a number."""
    m = _CALL.fullmatch(spec) if isinstance(spec, str) else None
    if m is None or m.group(1) in RANGES or m.group(1) in SPACES:
        return
    hint = did_you_mean(m.group(1), [*SPACES, *RANGES])
    if hint:
        shown = "" if spec.strip() in where else f" {spec.strip()!r}:"  # the command line quotes it already
        raise NnrunError(f"{where}:{shown} unknown range '{m.group(1)}'{hint} (accepted: "
                         f"{', '.join(SPACES.values())}; in a search also {', '.join(RANGES.values())})")


@dataclass(frozen=True)
class Range:
    """A search axis: ``loguniform(a, b)``, ``uniform(a, b)``, ``int(a, b)`` or ``choice(a, b, ...)``."""

    kind: str
    args: tuple

    @property
    def probes(self) -> list:
        """Values a cell is validated with before the sweep starts: the ends, or every choice."""
        return list(self.args)

    def text(self) -> str:
        return f"{self.kind}({', '.join(short_value(a) if not isinstance(a, str) else a for a in self.args)})"


def parse_range(key: str, spec, where: str | None = None) -> Range | None:
    """'loguniform(1e-5, 10)' -> Range; None when ``spec`` is not a range (a list, a
    logspace, ...). A malformed range is an error naming ``where`` (default sweep.grid.KEY)."""
    if not isinstance(spec, str):
        return None
    m = _RANGE.fullmatch(spec)
    if not m:
        return None
    where = where or f"sweep.grid.{key}"
    kind, pieces = m.group(1), [p for p in split_top_level(m.group(2)) if p != ""]
    if kind == "choice":
        if not pieces:
            raise NnrunError(f"{where}: {spec!r} has no values; expected {RANGES[kind]}")
        return Range(kind, tuple(parse_override(f"{key}={p}")[1] for p in pieces))
    try:
        low, high = (int(p) if kind == "int" else float(p) for p in pieces)
    except ValueError:
        raise NnrunError(f"{where}: {spec!r} is not {RANGES[kind]} with two numbers a < b"
                         f"{' (whole numbers)' if kind == 'int' else ''}") from None
    if not low < high or (kind == "loguniform" and low <= 0):
        raise NnrunError(f"{where}: {spec!r} is not {RANGES[kind]} with a < b"
                         f"{' and a > 0' if kind == 'loguniform' else ''}")
    return Range(kind, (low, high))


def split_overrides(overrides) -> tuple[dict, list[str]]:
    """Command-line overrides -> (axes from comma lists or logspace/linspace, plain overrides)."""
    axes, plain = {}, []
    for text in overrides:
        key, _, value = text.partition("=")
        check_spelling(value, f"command line {text!r}")
        pieces = split_top_level(value)
        if len(pieces) > 1:
            axes[key.strip()] = [parse_override(f"{key}={p}")[1] for p in pieces]
        elif re.fullmatch(r"\s*(logspace|linspace)\(.*\)\s*", value):
            axes[key.strip()] = expand_values(key.strip(), value, f"command line {text!r}")
        elif parse_range(key.strip(), value, f"command line {text!r}") is not None:
            axes[key.strip()] = value.strip()  # a search's range, drawn from by the sweeper
        else:
            plain.append(text)
    return axes, plain


SEARCH_KEYS = ("method", "trials", "sampler_seed", "prune")  # the search's keys (nnrun.sweeps.search)


def axes_from(raw: dict, cli_axes: dict) -> tuple[dict, dict, int]:
    """(axes {key: values}, base raw config without the sweep section, seeds). With
    ``sweep.method`` random or tpe an axis may also be a range, kept as its text."""
    base = copy.deepcopy(raw)
    sweep = base.pop("sweep", None) or {}
    if not isinstance(sweep, dict):
        raise NnrunError("sweep: expected a mapping with grid and seeds")
    grid = sweep.get("grid") or {}
    if not isinstance(grid, dict):
        raise NnrunError("sweep.grid: expected a mapping of config keys to value lists")
    extra = set(sweep) - {"grid", "seeds", "metrics", *SEARCH_KEYS}
    if extra:
        raise NnrunError(f"unknown key 'sweep.{sorted(extra)[0]}' (accepted here: grid, seeds, metrics, "
                         f"{', '.join(SEARCH_KEYS)})")
    # a method other than grid keeps its ranges: a misspelt one ('tpee') is named by its own
    # check (search_settings), not taken for a grid that cannot walk a range
    searched = sweep.get("method", "grid") != "grid"
    axes = {}
    for key, spec in [*grid.items(), *cli_axes.items()]:
        key = str(key)
        check_spelling(spec, f"sweep.grid.{key}")
        if isinstance(spec, str) and parse_range(key, spec) is not None:
            if not searched:
                expand_values(key, spec)  # the one-line error: a range needs a search
            axes[key] = spec.strip()
        else:
            axes[key] = expand_values(key, spec)
    return axes, base, sweep.get("seeds", 1)


@dataclass
class Cell:
    index: int
    values: dict  # axis key -> value
    seed: int
    config: dict  # the cell's raw config
    trial: int | None = None  # a search's trial number (results.csv's trial column)
    prefix: str = "c"  # c<NNN>: a grid's cell; t<NNN>: a search's trial

    @property
    def folder_name(self) -> str:
        parts = [f"{k.split('.')[-1]}={short_value(v)}" for k, v in self.values.items()]
        if self.values.get("seed") != self.seed:  # a seed axis already names the seed
            parts.append(f"seed={self.seed}")
        return sanitize_name(f"{self.prefix}{self.index:03d}_" + "_".join(parts))


def make_cells(base: dict, axes: dict, seeds: int) -> list[Cell]:
    """The cartesian product of the axes, times the seeds.

    Repeat s (0 .. seeds-1) of a cell runs with seed + s, where seed is the cell's own
    value of the ``seed`` axis if there is one, else the base config's.
    """
    cells = []
    keys = list(axes)
    for combo in itertools.product(*(axes[k] for k in keys)):
        for s in range(seeds):
            cfg = copy.deepcopy(base)
            for key, value in zip(keys, combo):
                set_dotted(cfg, key, value)
            seed = cfg.get("seed", 0)
            if isinstance(seed, int) and not isinstance(seed, bool):  # else validation says what is wrong
                cfg["seed"] = seed + s
            cells.append(Cell(len(cells), dict(zip(keys, combo)), cfg.get("seed"), cfg))
    return cells


# --------------------------------------------------------------------- the sweep
def prepare_sweep(config_path, overrides, log=None):
    """Read the config, build and validate every cell: errors exit 2 before any folder.
    The first cell's kernel is compiled here if numba's cache lacks it (once, ``log``
    told), not by every worker; a cached one the fork server of local workers loads
    (:mod:`nnrun.sweeps.forkserver`), and Dask workers load it themselves."""
    base, axes, seeds, cells, metrics = sweep_cells(config_path, overrides)
    # catch data problems (missing file, wrong sizes) once, not in every cell
    from nnrun.experiment import prepare

    prepare(validate(cells[0].config), announce=log, load_kernel="if-missing")
    return base, axes, seeds, cells, metrics


def sweep_cells(config_path, overrides):
    """(base config, axes, seeds, cells, metrics) of a sweep config plus overrides, every
    cell validated (NnrunError naming the cell otherwise); ``metrics``: ``sweep.metrics``
    (the pictures' choice), None when not given."""
    config_path = config_file(config_path)
    cli_axes, plain = split_overrides(overrides)
    # plain overrides first, so sweep.seeds=2 or sweep.grid={...} on the command line count
    raw = apply_overrides(read_yaml(config_path), plain, config_path.resolve().parent)
    axes, base, seeds = axes_from(raw, cli_axes)
    for text in plain:  # a single value for a grid key fixes that axis (as Hydra's overrides do)
        key, value = parse_override(text)
        if key in axes and key not in cli_axes:
            axes[key] = [value]
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 1000:
        raise NnrunError(f"sweep.seeds: {seeds!r}; expected a whole number from 1 to 1000")
    ranges = {k: parse_range(k, v) for k, v in axes.items() if isinstance(v, str)}
    # a search's ranges are checked at their ends (every choice): one cell per probe value
    cells = make_cells(base, axes, seeds) if not ranges else probe_cells(base, axes, ranges)
    for cell in cells:
        try:
            validate(cell.config, str(config_path), overrides)
        except NnrunError as e:
            where = ", ".join(f"{k}={short_value(v)}" for k, v in cell.values.items())
            raise NnrunError(f"{e} (in the sweep cell {where})" if where else str(e)) from None
    metrics = (raw.get("sweep") or {}).get("metrics")
    if metrics is not None:  # checked with a cell's config: its task, its validation set
        metrics = validate({**cells[0].config, "sweep": {"metrics": metrics}}, str(config_path),
                           overrides).sweep.metrics
    return base, axes, seeds, cells, metrics


def search_settings(config_path, overrides, axes: dict, seeds: int, cells: list) -> dict | None:
    """The sweep's search keys (``sweep.method``, ``trials``, ``sampler_seed``, ``prune``),
    checked; None for a plain grid (every cell, no pruning: the grid path as it always was)."""
    config_path = config_file(config_path)
    _, plain = split_overrides(overrides)
    raw = apply_overrides(read_yaml(config_path), plain, config_path.resolve().parent)
    given = {k: v for k, v in ((raw.get("sweep") or {}) if isinstance(raw.get("sweep"), dict) else {}).items()
             if k in SEARCH_KEYS}
    sweep = validate({**cells[0].config, "sweep": given}, str(config_path), overrides).sweep
    if sweep.method == "grid" and sweep.prune == "none":
        if sweep.trials is not None:
            raise NnrunError(f"sweep.trials: {sweep.trials} with sweep.method grid; a grid trains every cell: "
                             "remove sweep.trials, or search with sweep.method random or tpe")
        return None
    if seeds != 1:
        raise NnrunError(f"sweep.seeds: {seeds} with sweep.method {sweep.method} and sweep.prune {sweep.prune}; "
                         "a search trains one seed per trial: use 1, or search the seed as an axis")
    if sweep.method == "grid":
        if sweep.trials is not None:
            raise NnrunError(f"sweep.trials: {sweep.trials} with sweep.method grid; a pruned grid runs a trial per "
                             "cell: remove sweep.trials, or search with sweep.method random or tpe")
        trials = len(cells)
    elif sweep.trials is None:
        raise NnrunError(f"sweep.trials: not set; sweep.method {sweep.method} needs how many cells to train, "
                         "e.g. sweep.trials=20")
    else:
        trials = sweep.trials
    if not axes:
        raise NnrunError(f"sweep.grid: empty; sweep.method {sweep.method} needs at least one axis to search")
    seed = sweep.sampler_seed if sweep.sampler_seed is not None else cells[0].config.get("seed", 0)
    return {"method": sweep.method, "trials": trials, "sampler_seed": seed, "prune": sweep.prune}


def probe_cells(base: dict, axes: dict, ranges: dict) -> list[Cell]:
    """Cells that validate a search's space: every axis's probe values (a range's ends,
    each choice, each value of a list), the other axes at their first."""
    def probes(key):
        return ranges[key].probes if key in ranges else axes[key]

    first = {k: probes(k)[0] for k in axes}
    cells = []
    for key in axes:
        for value in probes(key):
            values = {**first, key: value}
            cfg = copy.deepcopy(base)
            for k, v in values.items():
                set_dotted(cfg, k, v)
            cells.append(Cell(len(cells), values, cfg.get("seed"), cfg))
    return cells


def check_resume(sweep_dir: Path, spec: dict, config_path, overrides, storage: str | None = None) -> list | None:
    """--resume finishes the sweep that sweep.yaml describes (``storage``: or a process joins,
    through --storage, the study that another started). A config or overrides that now say
    something else would be silently ignored (or, worse, believed): refuse them, naming the
    first key that differs. Returns the ``sweep.metrics`` they give now."""
    # sweep.metrics is left out: it chooses pictures, not cells, and a sweep folder from
    # before the key existed resumes under a config that now has it
    base, axes, seeds, _, metrics = sweep_cells(config_path, overrides)
    # both through YAML, so that 0.1 and 1e-1 or a tuple and a list compare equal
    given = yaml.safe_load(dump_yaml({"axes": axes, "seeds": seeds, "base": resolved_base(base)}))
    saved = {"axes": spec["axes"], "seeds": spec["seeds"], "base": dict(spec["base"])}
    for side in (saved, given):
        side["base"].pop("name", None)  # --name may have renamed the sweep
    difference = _first_difference(saved, given)
    if difference:
        key, was, now = difference
        if storage:
            raise NnrunError(
                f"--storage {storage}: its study (sweep folder {sweep_dir}) runs with {key}={_shown(was)}, but "
                f"{config_path} and the overrides now give {_shown(now)}; join it with the config and overrides it "
                f"started with, or start a new study: another --storage, or --name NAME")
        raise NnrunError(
            f"--resume {sweep_dir}: this sweep ran with {key}={_shown(was)}, but {config_path} and the overrides "
            f"now give {_shown(now)}; resume with the config and overrides it started with, or start a new sweep "
            f"without --resume")
    return metrics


def _shown(value) -> str:
    """A value of sweep.yaml as the user writes it on the command line (axes comma-separated)."""
    if isinstance(value, list):
        return ",".join(short_value(v) for v in value)
    return "(not set)" if value is None else short_value(value)


def _first_difference(saved, given, prefix=""):
    """(dotted key, saved value, given value) of the first difference, or None. The
    sections axes/seeds/base are named as the user writes them (``train.eta``,
    ``sweep.seeds``, the axis key for a grid)."""
    if isinstance(saved, dict) and isinstance(given, dict):
        for key in list(saved) + [k for k in given if k not in saved]:
            found = _first_difference(saved.get(key), given.get(key), f"{prefix}{key}.")
            if found:
                return found
        return None
    if saved != given:
        key = prefix.rstrip(".")
        for section, shown in (("base.", ""), ("axes.", "sweep axis "), ("seeds", "sweep.seeds")):
            if key.startswith(section):
                key = shown + key[len(section):]
        return key, saved, given
    return None


def resolved_base(base: dict) -> dict:
    """The base config with every default spelled out (the sweep section and the version,
    which sweep.yaml states once at its top level, dropped)."""
    cfg = validate(base).to_dict()
    cfg.pop("sweep", None)
    cfg.pop("nnrun_version", None)
    return cfg
