"""The experiment config: YAML in, a validated :class:`Config` out.

``load_config(path, overrides)`` reads YAML with the safe loader (duplicate keys are
errors), applies Hydra-style ``key.path=value`` overrides (values read as YAML), makes
relative paths relative to the config file, and validates everything with the pydantic
schema below. Unknown keys are errors, with the closest valid key suggested. Every
problem becomes one :class:`~nnrun.errors.NnrunError` line naming the file, the key,
the bad value and what is accepted.

Where to add things: a data source is one model in ``DATA_SOURCES`` here plus its
generator in ``nnrun/data.py``; activations and losses come from their registries.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from nnrun.activations import ACTIVATIONS, OUTPUTS, SOFTMAX
from nnrun.data import TRANSFORMS as TRANSFORM_STEPS
from nnrun.errors import NnrunError
from nnrun.losses import LOSSES
from nnrun.optimizers import HYPER_KEYS, OPTIMIZERS
from nnrun.schedules import SCHEDULES

TRANSFORMS = tuple(TRANSFORM_STEPS)  # the names of data.TRANSFORMS, its one registry


def did_you_mean(name, choices) -> str:
    """'; did you mean 'relu'?' when one of ``choices`` is spelt much like ``name``, else ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown(kind: str, name, choices) -> str:
    """The line for a name no registry has: 'unknown activation 'relus'; did you mean
    'relu'? (accepted: identity, sigmoid, ...)'."""
    hint = did_you_mean(name, choices)
    accepted = ", ".join(map(str, choices))
    return f"unknown {kind} {name!r}{hint} (accepted: {accepted})" if hint else \
        f"unknown {kind} {name!r}; accepted: {accepted}"


def known(kind: str, name: str, registry) -> str:
    """``name`` if the registry has it, else the one-line error listing what is accepted."""
    if name not in registry:
        raise ValueError(unknown(kind, name, registry))
    return name


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, defer_build=True)


# ----------------------------------------------------------------------------- data
class DataCommon(Strict):
    test_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share held out for testing")
    validation_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share held out for validation")
    transform: list[Literal[TRANSFORMS]] = Field(
        default_factory=list, description="applied in order, fitted on the training part"
    )
    task: Literal["classification", "regression"] = "classification"
    image_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = Field(
        None, description="[height, width]: the inputs are images (features.png, misclassified.png)")

    @model_validator(mode="after")
    def _held_out(self):
        if self.test_fraction + self.validation_fraction >= 1.0:
            raise ValueError(
                f"data.validation_fraction: {self.validation_fraction:g} with data.test_fraction "
                f"{self.test_fraction:g} leaves no training sample; the two must add up to less than 1"
            )
        return self


class HighamData(DataCommon):
    """The 10 points of Higham & Higham (2019), classes A (first 5) and B."""

    source: Literal["higham"]


class GeneratedData(DataCommon):
    # an infinite noise or radius gives infinite points, which no plot can place
    model_config = ConfigDict(allow_inf_nan=False)
    n_samples: int = Field(400, gt=1, le=10_000_000)
    noise: float = Field(0.05, ge=0.0)


class EllipseData(GeneratedData):
    """Two classes on two concentric ellipse contours around (0.5, 0.5)."""

    source: Literal["ellipse"]
    inner: float = Field(0.18, gt=0.0, description="semi-major axis of the inner contour")
    outer: float = Field(0.38, gt=0.0, description="semi-major axis of the outer contour")
    aspect: float = Field(0.6, gt=0.0, le=1.0, description="minor / major axis")
    angle: float = Field(30.0, description="rotation of the major axis, degrees")
    noise: float = Field(0.02, ge=0.0)


class MoonsData(GeneratedData):
    """Two interleaving half-moons, as scikit-learn's make_moons."""

    source: Literal["moons"]
    noise: float = Field(0.1, ge=0.0)


class CirclesData(GeneratedData):
    """Two concentric circles, as scikit-learn's make_circles."""

    source: Literal["circles"]
    factor: float = Field(0.5, gt=0.0, lt=1.0, description="inner radius / outer radius")


class XorData(GeneratedData):
    """Uniform points in [-1, 1]^2, class = sign(x1) xor sign(x2)."""

    source: Literal["xor"]
    noise: float = Field(0.0, ge=0.0)


class SpiralsData(GeneratedData):
    """Interleaved spiral arms, one class per arm."""

    source: Literal["spirals"]
    classes: int = Field(2, ge=2, le=20)
    turns: float = Field(1.0, gt=0.0)
    noise: float = Field(0.03, ge=0.0)


class GaussData(GeneratedData):
    """Isotropic Gaussian blobs with centres evenly spaced on a circle."""

    source: Literal["gauss"]
    classes: int = Field(2, ge=2, le=100)
    radius: float = Field(2.0, ge=0.0, description="distance of the centres from the origin")
    noise: float = Field(1.0, ge=0.0, description="standard deviation of each blob")


class SineData(GeneratedData):
    """1-D regression: y = sin(2 pi x) + noise, x uniform in [0, 1]."""

    source: Literal["sine"]
    noise: float = Field(0.1, ge=0.0, description="std of the noise added to the target")
    task: Literal["classification", "regression"] = "regression"


class FrankeData(GeneratedData):
    """2-D regression: Franke's function on [0, 1]^2 plus noise (Hjorth-Jensen's test surface)."""

    source: Literal["franke"]
    noise: float = Field(0.05, ge=0.0, description="std of the noise added to the target")
    task: Literal["classification", "regression"] = "regression"


class CsvData(DataCommon):
    """A CSV file with a header row; the label column and the feature columns."""

    source: Literal["csv"]
    path: str = Field(description="CSV file; in a config file relative to it, on the command line to the "
                      "current directory")
    label: str | None = Field(None, description="label column (default: the last)")
    features: list[str] | None = Field(None, description="feature columns (default: all others)")


class DigitsData(DataCommon):
    """The 8x8 handwritten digits (1797 images, 64 pixels 0..16, 10 classes)."""

    source: Literal["digits"]
    path: str = Field("../datasets/digits.csv", description="relative to the config file")
    image_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = (8, 8)


DATA_SOURCES = (
    HighamData, EllipseData, MoonsData, CirclesData, XorData, SpiralsData, GaussData, SineData,
    FrankeData, CsvData, DigitsData,
)
DataConfig = Annotated[Union[DATA_SOURCES], Field(discriminator="source")]  # type: ignore[valid-type]
SOURCES = tuple(m.model_fields["source"].annotation.__args__[0] for m in DATA_SOURCES)


# ---------------------------------------------------------------------------- model
def parse_architecture(value: Any) -> list[int]:
    """"2-2-3-2" or [2, 2, 3, 2] -> [2, 2, 3, 2]; at least two layers, all sizes >= 1."""
    if isinstance(value, str):
        if not re.fullmatch(r"\s*\d+(\s*-\s*\d+)+\s*", value):
            raise ValueError(
                f"'{value}' is not an architecture: give layer sizes joined by '-' such as "
                "'2-2-3-2', or a list [2, 2, 3, 2]"
            )
        sizes = [int(s) for s in value.split("-")]
    elif isinstance(value, (list, tuple)) and all(
        isinstance(s, int) and not isinstance(s, bool) for s in value
    ):
        sizes = list(value)
    else:
        raise ValueError(
            f"{value!r} is not an architecture: give layer sizes such as '2-2-3-2' or [2, 2, 3, 2]"
        )
    if len(sizes) < 2:
        raise ValueError(f"{value!r} has {len(sizes)} layer; need an input and an output layer at least")
    if min(sizes) < 1:
        raise ValueError(f"{value!r} has a layer of size {min(sizes)}; every layer needs >= 1 unit")
    return sizes


class ModelConfig(Strict):
    architecture: list[int] = Field(description='layer sizes, "2-2-3-2" or [2, 2, 3, 2]')
    activation: str | list[str] = Field("sigmoid", description="hidden activation, or one per hidden layer")
    output: str = Field("sigmoid", description="output activation, or softmax")
    init: Literal["normal", "xavier", "he"] = "normal"
    init_scale: float = Field(1.0, gt=0.0, description="std of the 'normal' init")
    bias_init: Literal["normal", "zeros"] | float | None = Field(
        None, description="'normal' (as the weights), 'zeros', or a constant; default: normal for "
        "init=normal, zeros otherwise"
    )
    init_from: str | None = Field(None, description="model.npz to start from")
    dropout: float | list[float] = Field(0.0, description="drop probability p of the hidden units, "
                                         "one number or one per hidden layer")

    @field_validator("architecture", mode="before")
    @classmethod
    def _architecture(cls, v):
        return parse_architecture(v)

    @field_validator("activation")
    @classmethod
    def _activation(cls, v):
        for name in [v] if isinstance(v, str) else v:
            known("activation", name, ACTIVATIONS)
        return v

    @field_validator("output")
    @classmethod
    def _output(cls, v):
        return known("output", v, OUTPUTS)

    @model_validator(mode="after")
    def _consistent(self):
        n_hidden = len(self.architecture) - 2
        if isinstance(self.activation, list) and len(self.activation) != n_hidden:
            raise ValueError(
                f"activation: {len(self.activation)} activations given for {n_hidden} hidden "
                f"layers of {'-'.join(map(str, self.architecture))}; give one per hidden layer or a single name"
            )
        rates = [self.dropout] if not isinstance(self.dropout, list) else self.dropout
        for p in rates:
            if not (0.0 <= p < 1.0):
                raise ValueError(f"dropout: {p!r} is not a drop probability; give p with 0 <= p < 1 "
                                 "(the keep probability is 1 - p)")
        if isinstance(self.dropout, list) and len(self.dropout) != n_hidden:
            raise ValueError(f"dropout: {len(self.dropout)} values given for {n_hidden} hidden layers of "
                             f"{'-'.join(map(str, self.architecture))}; give one per hidden layer or a single number")
        if n_hidden == 0 and any(p > 0 for p in rates):
            raise ValueError(f"dropout: {self.dropout!r} on {'-'.join(map(str, self.architecture))}, which has "
                             "no hidden layer; dropout acts on hidden units only")
        if self.output == SOFTMAX and self.architecture[-1] < 2:
            raise ValueError("output: softmax on a single output unit is always 1; use sigmoid for one unit")
        if self.bias_init is None:
            self.bias_init = "normal" if self.init == "normal" else "zeros"
        return self

    @property
    def activations(self) -> list[str]:
        """One activation name per layer after the input: hidden ones, then the output."""
        n_hidden = len(self.architecture) - 2
        hidden = [self.activation] * n_hidden if isinstance(self.activation, str) else list(self.activation)
        return hidden + [self.output]

    @property
    def dropout_rates(self) -> list[float]:
        """The drop probability of each hidden layer."""
        n_hidden = len(self.architecture) - 2
        return list(self.dropout) if isinstance(self.dropout, list) else [float(self.dropout)] * n_hidden


# ---------------------------------------------------------------------------- train
ScheduleConfig = Annotated[Union[tuple(s.model for s in SCHEDULES.values())],  # type: ignore[valid-type]
                           Field(discriminator="type")]


class EarlyStopping(Strict):
    """Stop when the monitored loss (validation, else training) has not improved for a while."""

    patience: int = Field(ge=1, description="records without improvement before training stops")
    min_delta: float = Field(0.0, ge=0.0, description="an improvement must beat the best by more than this")
    restore_best: bool = Field(True, description="end with the weights of the best record")


class TrainConfig(Strict):
    loss: str = "quadratic"
    eta: float = Field(gt=0.0, description="learning rate")
    iterations: int | None = Field(None, gt=0, description="gradient steps (or give epochs)")
    epochs: int | None = Field(None, gt=0, description="passes over the training set (or give iterations)")
    batch_size: int | Literal["full"] = Field(1, description="1 = per-sample SGD; 'full' = gradient descent")
    sampling: Literal["random", "epoch"] = "random"
    lambda_: float = Field(0.0, ge=0.0, alias="lambda", description="L2 penalty (lambda/2)||W||^2")
    log_every: int | None = Field(None, gt=0, description="record losses every this many iterations")
    engine: Literal["auto", "numpy", "numba"] = "auto"
    snapshots: int = Field(0, ge=0, le=1000, description="save the parameters this many times (animation.gif)")
    optimizer: str = Field("sgd", description=", ".join(OPTIMIZERS))
    momentum: float | None = Field(None, description="momentum/nesterov: mu (default 0.9)")
    betas: list[float] | None = Field(None, description="adam: [beta1, beta2] (default [0.9, 0.999])")
    epsilon: float | None = Field(None, description="adam/rmsprop: added to the root (default 1e-8)")
    alpha: float | None = Field(None, description="rmsprop: decay of the squared gradient (default 0.99)")
    schedule: ScheduleConfig = Field(default_factory=lambda: SCHEDULES["constant"].model(),
                                     description="how eta changes over the run")
    early_stopping: EarlyStopping | None = Field(None, description="stop when the monitored loss stalls")

    @field_validator("optimizer")
    @classmethod
    def _optimizer(cls, v):
        return known("optimizer", v, OPTIMIZERS)

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v):
        """'plateau' is short for {type: plateau}; a key of another schedule is named as such."""
        if isinstance(v, str):
            v = {"type": v}
        if isinstance(v, dict):
            kind = v.get("type", "constant")
            if kind not in SCHEDULES:
                raise ValueError(unknown("schedule", kind, SCHEDULES))
            own = [k for k in SCHEDULES[kind].model.model_fields if k != "type"]
            for key in v:
                owners = [name for name, s in SCHEDULES.items() if key in s.model.model_fields and key != "type"]
                if key != "type" and key not in own and owners:
                    raise ValueError(f"{key} belongs to the {' / '.join(owners)} schedule, not {kind} "
                                     f"({kind} takes {', '.join(own) or 'no keys'})")
            v = {"type": kind, **{k: x for k, x in v.items() if k != "type"}}
        return v

    @field_validator("loss")
    @classmethod
    def _loss(cls, v):
        return known("loss", v, LOSSES)

    @field_validator("eta", "lambda_")
    @classmethod
    def _finite(cls, v):
        if not math.isfinite(v):
            raise ValueError(f"{v} is not a finite number")
        return v

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError(f"batch_size {v} must be >= 1 or 'full'")
        return v

    @model_validator(mode="after")
    def _length(self):
        if (self.iterations is None) == (self.epochs is None):
            raise ValueError("give exactly one of train.iterations and train.epochs (to switch from one "
                              "to the other on the command line, set the other to null: train.iterations=null)")
        return self

    @model_validator(mode="after")
    def _optimizer_keys(self):
        """Each optimizer key belongs to some optimizers; unset ones get their defaults."""
        taken = OPTIMIZERS[self.optimizer].defaults
        for key, owners in HYPER_KEYS.items():
            if getattr(self, key) is not None and key not in taken:
                raise ValueError(
                    f"train.{key}: {getattr(self, key)!r} is a setting of optimizer {' and '.join(owners)}, "
                    f"not of train.optimizer={self.optimizer}; remove train.{key} or choose {' or '.join(owners)}"
                )
        checks = {
            "momentum": (lambda v: 0.0 <= v < 1.0, "a number with 0 <= momentum < 1"),
            "betas": (lambda v: len(v) == 2 and all(0.0 <= b < 1.0 for b in v), "[beta1, beta2], each in [0, 1)"),
            "epsilon": (lambda v: 0.0 < v and math.isfinite(v), "a number > 0"),
            "alpha": (lambda v: 0.0 <= v < 1.0, "a number with 0 <= alpha < 1"),
        }
        for key, default in taken.items():
            value = getattr(self, key)
            if value is None:
                setattr(self, key, copy.deepcopy(default))
            elif not checks[key][0](value):
                raise ValueError(f"train.{key}: {value!r} is out of range; expected {checks[key][1]}")
        return self


# ---------------------------------------------------------------------------- sweep
class SweepConfig(Strict):
    grid: dict[str, Any] = Field(default_factory=dict, description="key -> list, logspace(a,b,n) or linspace(a,b,n)")
    seeds: int = Field(1, ge=1, le=1000, description="seeds per cell")


class Config(Strict):
    name: str = "run"
    seed: int = Field(0, ge=0, description="one seed for init, split and sampling")
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    sweep: SweepConfig | None = None
    nnrun_version: str | None = Field(None, description="written by nnrun into a run's config.yaml; ignored")

    @model_validator(mode="after")
    def _combination(self):
        loss = LOSSES[self.train.loss]
        if loss.outputs is not None and self.model.output not in loss.outputs:
            raise ValueError(
                f"train.loss: {self.train.loss} needs a {' or '.join(loss.outputs)} output, "
                f"not model.output={self.model.output}; use loss quadratic or change the output"
            )
        if self.data.task == "regression" and self.model.output == SOFTMAX:
            raise ValueError("model.output: softmax is for classification; regression needs identity")
        return self

    def to_dict(self) -> dict:
        """The resolved config as plain YAML-able data (aliases such as 'lambda' restored)."""
        return self.model_dump(mode="json", by_alias=True)


# --------------------------------------------------------------------- YAML reading
class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (plain PyYAML keeps the last silently)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
# PyYAML follows YAML 1.1, where 1e6 and 1e-3 (no dot) are strings; read them as numbers,
# as YAML 1.2 and every student does.
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def config_file(path: str | Path) -> Path:
    """The config file ``path`` names: the file itself, or a run folder's ``config.yaml``
    (the resolved config the run saved), so ``nnrun gradcheck RUN`` checks that run."""
    path = Path(path)
    if path.is_dir():
        if (path / "config.yaml").is_file():
            return path / "config.yaml"
        kind = "a sweep folder (its cells are run folders)" if (path / "sweep.yaml").is_file() else "a folder"
        raise NnrunError(f"{path}: is {kind}, not a config file; give a YAML config, or a run folder that holds "
                         "config.yaml")
    return path


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping safely; any problem is one NnrunError naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise NnrunError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise NnrunError(f"{path}: is a directory, not a config file") from None
    except OSError as e:
        raise NnrunError(f"{path}: cannot read config file ({e.strerror})") from None
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError:
        raise NnrunError(f"{path}: not a text file (not valid UTF-8); expected a YAML config") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if "could not determine a constructor for the tag" in problem:
            problem = (f"{problem.split('tag')[-1].strip()} is a YAML tag nnrun does not accept "
                       "(configs are read with the safe loader: plain mappings, lists, numbers and strings)")
        raise NnrunError(f"{path}: invalid YAML{at}: {problem}") from None
    if data is None:
        raise NnrunError(f"{path}: empty config; expected a mapping with data, model and train")
    if not isinstance(data, dict):
        raise NnrunError(
            f"{path}: the top level is a {type(data).__name__}, expected a mapping with data, model and train"
        )
    return data


# ----------------------------------------------------------------------- overrides
def parse_override(text: str) -> tuple[str, Any]:
    """'train.eta=0.01' -> ('train.eta', 0.01); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise NnrunError(f"override '{text}': expected KEY=VALUE with a dotted key, e.g. train.eta=0.01")
    try:
        value = yaml.load(raw, Loader=_UniqueKeyLoader) if raw.strip() else None
    except yaml.YAMLError:
        value = raw  # not YAML: keep the text, the schema decides
    return key, value


def set_dotted(data: dict, key: str, value: Any) -> None:
    """data['a']['b'] = value for key 'a.b', creating sections as needed."""
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if isinstance(child, str) and part == "schedule":  # train.schedule=step, then its keys
            child = node[part] = {"type": child}
        if not isinstance(child, dict):
            raise NnrunError(f"override {key}: '{'.'.join(parts[:i + 1])}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def get_dotted(data: dict, key: str, default: Any = None) -> Any:
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


# ---------------------------------------------------------------------- validation
def _valid_keys(model: type[BaseModel]) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(field.alias or name)
    return keys


def _model_at(section: tuple, data: dict) -> type[BaseModel] | None:
    """The pydantic model of the section ``section`` (() is the top level), for suggestions."""
    if len(section) == 0:
        return Config
    if section == ("train", "early_stopping"):
        return EarlyStopping
    if section == ("train", "schedule"):
        kind = get_dotted(data, "train.schedule.type", "constant")
        return SCHEDULES[kind].model if kind in SCHEDULES else None
    if len(section) > 1:
        return None
    if section[0] == "data":
        source = get_dotted(data, "data.source")
        for m in DATA_SOURCES:
            if m.model_fields["source"].annotation.__args__[0] == source:
                return m
        return None
    return {"model": ModelConfig, "train": TrainConfig, "sweep": SweepConfig}.get(section[0])


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def origin(key: str, source: str, overrides=()) -> str:
    """Where the value at dotted ``key`` came from: the last command-line override that
    set it or a section above it (``command line 'train.etta=0.1'``), else ``source``."""
    for text in reversed(tuple(overrides)):
        given = text.partition("=")[0].strip()
        if key == given or key.startswith(given + "."):
            return f"command line {text!r}"
    return source


def format_validation_error(err: ValidationError, data: dict, source: str, overrides=()) -> str:
    """The first schema error as one line: 'file: key: problem (got value); accepted ...'.
    'file' is the command-line override instead when one of ``overrides`` set the key.

    A required key reported missing beside an unknown key of the same section is most
    likely that key misspelt (``etta: 0.05``): the unknown key, with its 'did you mean',
    is the line that helps."""
    errors = err.errors(include_url=False)
    e = errors[0]
    if e["type"] == "missing":
        e = next((x for x in errors if x["type"] == "extra_forbidden" and x["loc"][:-1] == e["loc"][:-1]), e)
    loc = tuple(str(p) for p in e["loc"])
    if len(loc) >= 2 and loc[0] == "data" and loc[1] in SOURCES:
        loc = (loc[0],) + loc[2:]  # drop the discriminator tag pydantic inserts
    if len(loc) >= 3 and loc[:2] == ("train", "schedule") and loc[2] in SCHEDULES:
        loc = loc[:2] + loc[3:]
    source = origin(".".join(loc), source, overrides)
    if len(loc) >= 2 and (loc[-1] in ("int", "float", "str", "list[str]") or loc[-1].startswith("literal[")):
        loc = loc[:-1]  # pydantic names the union branch that failed; the user only sees the key
        if loc == ("train", "batch_size"):
            return f"{source}: train.batch_size: {e.get('input')!r} is not a batch size; give a whole number >= 1 or 'full'"
    key = ".".join(loc) if loc else "(top level)"
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if e["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1], data)
        valid = _valid_keys(owner) if owner else []
        close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        hint = f"; did you mean '{'.'.join(loc[:-1] + (close[0],))}'?" if close else ""
        if len(loc) == 1:  # a section key written at the top level: train.eta for eta
            nested = [f"{sec}.{k}" for sec, m in (("model", ModelConfig), ("train", TrainConfig))
                      for k in _valid_keys(m)] + [f"data.{k}" for k in ("test_fraction", "transform", "task", "source")]
            exact = [key for key in nested if key.split(".")[-1] == loc[-1]]
            if exact:
                hint = f"; did you mean '{exact[0]}'?"
        accepted = f" (accepted here: {', '.join(valid)})" if valid else ""
        return f"{source}: unknown key '{key}'{hint}{accepted}"
    if e["type"] == "missing":
        return f"{source}: {key}: required key is missing"
    if e["type"] == "union_tag_invalid":
        return f"{source}: data.source: {unknown('source', get_dotted(data, 'data.source'), SOURCES)}"
    if e["type"] == "union_tag_not_found":
        return f"{source}: data.source: required key is missing; accepted: {', '.join(SOURCES)}"
    named = re.match(r"^([a-z_]+(?:\.[a-z_]+)*): (.*)$", msg)
    if named and e["type"] == "value_error" and not isinstance(e.get("input"), (str, int, float, list)):
        # a whole-section check whose message names its key: 'model' + 'output: ...'
        inner = named.group(1)
        key = inner if "." in inner or not loc else f"{key}.{inner}"
        return f"{source}: {key}: {named.group(2)}"
    got = e.get("input")
    shown = "" if isinstance(got, dict) or e["type"].startswith("value_error") else f" (got {_describe(got)})"
    if e["type"] == "literal_error":  # "Input should be 'normal', 'xavier' or 'he'"
        shown += did_you_mean(got, re.findall(r"'([^']*)'", str(e.get("ctx", {}).get("expected", ""))))
    if not loc or loc == ("data",) or key in ("model", "train", "sweep"):
        return f"{source}: {key}: {msg}"
    return f"{source}: {key}: {msg}{shown}"


def validate(data: dict, source: str = "config", overrides=()) -> Config:
    """Validate a raw mapping into a Config, or raise one NnrunError line naming
    ``source`` (the file), or the one of the KEY=VALUE ``overrides`` that set the key."""
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise NnrunError(format_validation_error(err, data, source, overrides)) from None


def _absolute(data: dict, key: str, base: Path) -> None:
    value = get_dotted(data, key)
    if isinstance(value, str) and value and not Path(value).is_absolute():
        set_dotted(data, key, str((base / value).resolve()))


PATH_KEYS = ("data.path", "model.init_from")


def apply_overrides(raw: dict, overrides, config_dir: Path) -> dict:
    """A copy of ``raw`` with KEY=VALUE overrides applied and file paths made absolute.

    A relative path inside the config file is relative to the config file's folder; one
    given on the command line is relative to the current directory, where the user
    typed it (so tab completion gives the right path).
    """
    data = copy.deepcopy(raw)
    for text in overrides:
        key, value = parse_override(text)
        if key in PATH_KEYS and isinstance(value, str) and value and not Path(value).is_absolute():
            value = str(Path(value).resolve())
        set_dotted(data, key, value)
    if isinstance(data.get("data"), dict) and data["data"].get("source") == "digits":
        data["data"].setdefault("path", DigitsData.model_fields["path"].default)
    for key in PATH_KEYS:
        _absolute(data, key, config_dir)
    return data


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a config file. Relative paths become absolute."""
    path = config_file(path)
    data = apply_overrides(read_yaml(path), overrides, path.resolve().parent)
    return validate(data, str(path), overrides)


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
