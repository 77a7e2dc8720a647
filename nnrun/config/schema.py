"""The schema of the experiment config: one pydantic model per section, and :func:`validate`.

``Config`` holds ``data`` (one of the source models in :mod:`nnrun.config.sources`),
``model``, ``train`` and an optional ``sweep``. Unknown keys are errors, with the closest
valid key suggested; :func:`validate` turns any problem into one
:class:`~nnrun.errors.NnrunError` line (worded by :mod:`nnrun.config.messages`).

Where to add things: a config key is a field on its section's model; activations,
losses, optimizers and schedules come from their registries.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

import numpy as np

from nnrun.maths.activations import ACTIVATIONS, OUTPUTS, SOFTMAX
from nnrun.config.base import Strict
from nnrun.config.messages import Clash, Where, format_validation_error, known, unknown
from nnrun.config.overrides import get_dotted
from nnrun.config.sources import DATA_SOURCES, DataConfig
from nnrun.errors import NnrunError
from nnrun.maths.losses import LOSSES
from nnrun.maths.network import parameter_problem
from nnrun.maths.metrics import METRICS, RECORDED
from nnrun.maths.optimizers import HYPER_KEYS, HYPERS, OPTIMIZERS
from nnrun.maths.schedules import SCHEDULES


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
    weights: dict[str, Any] | None = Field(
        None, description="the initial parameters written out: W1, b1, W2, b2, ... in model.npz's shapes "
        "(W_l: n_l rows of n_{l-1} numbers; b_l: n_l numbers)")
    dropout: float | list[float] = Field(0.0, description="drop probability p of the hidden units, "
                                         "one number or one per hidden layer")

    @field_validator("architecture", mode="before")
    @classmethod
    def _architecture(cls, v):
        return parse_architecture(v)

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        """Numbers as float64 values (1 -> 1.0), so the run's config.yaml holds what the network
        starts from; what is not a list of numbers is left for :meth:`_consistent` to name."""
        if v is None:
            return v
        out = {}
        for name, value in v.items():
            try:
                out[name] = np.asarray(value, dtype=np.float64).tolist()
            except (TypeError, ValueError):
                out[name] = value
        return out

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
        if self.weights is not None:
            if self.init_from is not None:
                raise ValueError(f"model.weights: given with model.init_from {self.init_from}; the initial weights "
                                 "come from one of them: remove one")
            problem = parameter_problem(self.architecture, self.weights)
            if problem is not None:
                raise ValueError(f"model.weights.{problem}")
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


def softmax_on_one_unit(architecture: list[int], where: Where) -> str:
    """The line for model.output softmax on one output unit: where each of the two values
    came from, then the fix that works for any number of classes (one unit per class),
    worded for where the architecture is, then sigmoid, which works for 2 classes only."""
    arch = "-".join(map(str, architecture))
    wanted = "-".join(map(str, architecture[:-1])) + "-K"
    out, net = "model.output", "model.architecture"
    if where.typed(out) == where.typed(net):
        place = "both on the command line" if where.typed(out) else f"both in {where.source}"
        said = f"{where.written(out, 'softmax')} and {where.written(net, arch)}, {place}: softmax on a single " \
               "output unit is always 1"
    elif where.typed(net):
        said = f"{where.given(net, arch)} ends in a single output unit, and softmax on one unit " \
               f"({where.given(out, 'softmax')}) is always 1"
    else:
        said = f"{where.given(out, 'softmax')} is always 1 on the single output unit of " \
               f"{where.given(net, arch)}"
    if where.typed(net) or where.typed(out):
        also = "" if where.typed(net) else "also "
        fix = f"{also}give model.architecture={wanted}, K the number of classes (one unit per class)"
        sigmoid = "give model.output=sigmoid instead" if where.typed(out) else "also give model.output=sigmoid"
    else:
        fix = f"make the last size of model.architecture the number of classes ({wanted}, one unit per class)"
        sigmoid = "use model.output: sigmoid"
    return f"{said}; {fix}, or, for 2 classes only, {sigmoid}"


def training_length(iterations: int | None, epochs: int | None, where: Where) -> str:
    """The line for train.iterations and train.epochs given both or neither: where each came
    from, and the fix that works from there (a value in the file is switched off on the
    command line with null)."""
    it, ep = "train.iterations", "train.epochs"
    if iterations is None:
        nulled = [k for k in (it, ep) if where.typed(k)]
        said = (" and ".join(f"{k}=null" for k in nulled) + " on the command line leave" if nulled
                else f"{where.source} gives")
        return f"{said} neither {it} nor {ep}; give one: {it}=N (gradient steps) or {ep}=N (passes over " \
               "the training set)"
    values = {it: (iterations, "iterations" if iterations != 1 else "iteration"),
              ep: (epochs, "epochs" if epochs != 1 else "epoch")}
    typed = [k for k in (it, ep) if where.typed(k)]
    if len(typed) == 2:
        return f"{it}={iterations} and {ep}={epochs}, both on the command line, both set the length of " \
               f"training; give only one of them"
    if not typed:
        return f"{it}: {iterations} and {ep}: {epochs}, both in {where.source}, both set the length of " \
               f"training; delete one of them from the file, or switch one off on the command line: " \
               f"{ep}=null to train for {iterations} {values[it][1]}, {it}=null for {epochs} {values[ep][1]}"
    cmd = typed[0]
    kept = ep if cmd == it else it
    (n_cmd, unit_cmd), (n_kept, unit_kept) = values[cmd], values[kept]
    return f"{where.given(cmd, n_cmd)} and {where.given(kept, n_kept)} both set the length of training; " \
           f"give only one: add {kept}=null to train for {n_cmd} {unit_cmd}, or drop {cmd}={n_cmd} " \
           f"to train for {n_kept} {unit_kept}"


# ---------------------------------------------------------------------------- train
ScheduleConfig = Annotated[Union[tuple(s.model for s in SCHEDULES.values())],  # type: ignore[valid-type]
                           Field(discriminator="type")]


class EarlyStopping(Strict):
    """Stop when the monitored loss (validation, else training) has not improved for a while."""

    patience: int = Field(ge=1, description="records without improvement before training stops")
    min_delta: float = Field(0.0, ge=0.0, description="an improvement must beat the best by more than this")
    restore_best: bool = Field(True, description="end with the weights of the best record")


class _TrainHead(Strict):
    """train: everything but the optimizers' hyper-parameters (added from their registry
    below) and the schedule and early stopping, which follow them."""

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

    @field_validator("optimizer")
    @classmethod
    def _optimizer(cls, v):
        return known("optimizer", v, OPTIMIZERS)

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


# train.momentum, train.betas, ...: one field per hyper-parameter of the optimizers' registry
_TrainWithHypers = create_model("_TrainWithHypers", __base__=_TrainHead, **{
    h.key: (h.type | None, Field(None, description=h.description)) for h in HYPERS.values()})


class TrainConfig(_TrainWithHypers):
    schedule: ScheduleConfig = Field(default_factory=lambda: SCHEDULES["constant"].model(),
                                     description="how eta changes over the run")
    early_stopping: EarlyStopping | None = Field(None, description="stop when the monitored loss stalls")

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

    @model_validator(mode="after")
    def _length(self):
        if (self.iterations is None) == (self.epochs is None):
            iterations, epochs = self.iterations, self.epochs
            raise Clash(("train.iterations", "train.epochs"),
                        lambda where: training_length(iterations, epochs, where))
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
        for key, default in taken.items():
            value = getattr(self, key)
            if value is None:
                setattr(self, key, copy.deepcopy(default))
            elif not HYPERS[key].valid(value):
                raise ValueError(f"train.{key}: {value!r} is out of range; expected {HYPERS[key].expected}")
        return self


# ---------------------------------------------------------------------------- sweep
def sweep_metric(name: str) -> str:
    """``name`` if a sweep's results hold it (a recorded metric of the metrics table), else
    the one-line error naming what is accepted."""
    if name in METRICS and name not in RECORDED:  # penalty, test_r2: computed once, not in results.csv
        raise ValueError(f"{name!r} is not in a sweep's results.csv; accepted: {', '.join(RECORDED)}")
    if name not in RECORDED:
        raise ValueError(unknown("metric", name, RECORDED))
    return name


class SweepConfig(Strict):
    grid: dict[str, Any] = Field(default_factory=dict, description="key -> list, logspace(a,b,n) or linspace(a,b,n)")
    seeds: int = Field(1, ge=1, le=1000, description="seeds per cell")
    metrics: list[str] | None = Field(
        None, min_length=1, description="the metrics the sweep's pictures show (default: the accuracies and the training loss)")
    method: Literal["grid", "random", "tpe"] = Field(
        "grid", description="grid: every cell; random or tpe: sweep.trials cells drawn by Optuna (pip install -e \".[search]\")")
    trials: int | None = Field(None, ge=1, le=100_000, description="cells a random or tpe search trains")
    sampler_seed: int | None = Field(None, ge=0, description="the search's sampler seed (default: the config's seed)")
    prune: Literal["none", "median", "halving", "hyperband"] = Field(
        "none", description="stop unpromising cells early on the monitored loss (validation, else training)")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names):
        # the list as a whole: an item's own check would name the key sweep.metrics.0
        return None if names is None else [sweep_metric(name) for name in names]


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
        if self.model.output == SOFTMAX and self.model.architecture[-1] < 2:  # after the task: regression
            architecture = self.model.architecture                              # wants identity, not classes
            raise Clash(("model.output", "model.architecture"), lambda where: softmax_on_one_unit(architecture, where))
        for name in (self.sweep.metrics or []) if self.sweep else []:
            # a metric the runs do not measure would leave its picture out without a word
            metric = METRICS[name]
            if self.data.task not in metric.tasks:
                raise ValueError(f"sweep.metrics: {name} is not measured in {self.data.task}; accepted: "
                                 f"{', '.join(m for m in RECORDED if self.data.task in METRICS[m].tasks)}")
            if metric.split == "val" and not self.data.validation_fraction:
                raise ValueError(f"sweep.metrics: {name} needs a validation set; set data.validation_fraction "
                                 "or choose a train_ or test_ metric")
        return self

    def to_dict(self) -> dict:
        """The resolved config as plain YAML-able data (aliases such as 'lambda' restored)."""
        return self.model_dump(mode="json", by_alias=True)


# ---------------------------------------------------------------------- validation
def section_model(section: tuple, data: dict) -> type[BaseModel] | None:
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


def validate(data: dict, source: str = "config", overrides=()) -> Config:
    """Validate a raw mapping into a Config, or raise one NnrunError line naming
    ``source`` (the file), or the one of the KEY=VALUE ``overrides`` that set the key."""
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise NnrunError(format_validation_error(err, data, source, section_model, overrides)) from None
