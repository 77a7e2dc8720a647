"""The one-line messages: a pydantic error, or a name no registry has, as one line that
names the file (or the override), the key, the bad value and what is accepted.

The schema's validators word their own errors with :func:`known` and :func:`unknown`;
:func:`format_validation_error` turns what pydantic raises into the line the user sees.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from nnrun.config.overrides import get_dotted
from nnrun.config.sources import SOURCES
from nnrun.maths.schedules import SCHEDULES

#: the section model of a key's section (() is the top level), or None: schema.section_model
SectionModel = Callable[[tuple, dict], type[BaseModel] | None]


#: words other libraries use where nnrun has its own: a key (its last part) or a value -> nnrun's word.
#: A hint offers nnrun's word only where it is accepted (lr -> eta among the train keys).
ALIASES = {
    "lr": "eta", "learning_rate": "eta", "weight_decay": "lambda",
    "mse": "quadratic", "squared_error": "quadratic", "crossentropy": "cross_entropy", "ce": "cross_entropy",
    "glorot": "xavier", "kaiming": "he",
}


def did_you_mean(name, choices) -> str:
    """'; did you mean 'relu'?' when one of ``choices`` is spelt much like ``name``, else ''.
    The same word in other letter case comes first: 'Relu' is 'relu', not 'elu'."""
    choices = [str(c) for c in choices]
    same = [c for c in choices if c.lower() == str(name).lower()]
    if same:
        return f"; did you mean '{same[0]}'?"
    alias = ALIASES.get(str(name).lower())
    if alias in choices:
        return f"; did you mean '{alias}'?"
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
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


def _valid_keys(model: type[BaseModel]) -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(field.alias or name)
    return keys



def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _override(key: str, overrides=()) -> str | None:
    """The last command-line override that set dotted ``key`` or a section above it, or None."""
    for text in reversed(tuple(overrides)):
        given = text.partition("=")[0].strip()
        if key == given or key.startswith((given + ".", given + "[")):
            return text
    return None


def origin(key: str, source: str, overrides=()) -> str:
    """Where the value at dotted ``key`` came from: the last command-line override that
    set it or a section above it (``command line 'train.etta=0.1'``), else ``source``."""
    text = _override(key, overrides)
    return f"command line {text!r}" if text is not None else source


class Where:
    """Where each value of a config came from: the file ``source``, or one of the
    command-line ``overrides`` (as :func:`origin` finds it)."""

    def __init__(self, source: str = "the config", overrides=()):
        self.source, self.overrides = source, tuple(overrides)

    def typed(self, key: str) -> bool:
        """Whether ``key`` (or a section above it) was set on the command line."""
        return _override(key, self.overrides) is not None

    def given(self, key: str, shown) -> str:
        """The value as its place writes it, and the place: 'train.epochs=5 on the command
        line', 'train.iterations: 10000 in configs/moons.yaml'."""
        return f"{key}={shown} on the command line" if self.typed(key) else f"{key}: {shown} in {self.source}"

    def written(self, key: str, shown) -> str:
        """The value as its place writes it, without the place: 'train.epochs=5', 'train.epochs: 5'."""
        return f"{key}={shown}" if self.typed(key) else f"{key}: {shown}"


class Clash(ValueError):
    """A check on several keys, each of which may be in the file or on the command line.
    ``words(where)`` is the whole line, given a :class:`Where` to say where each value came
    from and to word the fix for that place (a key typed on the command line is fixed
    there); :func:`format_validation_error` passes the real one. Without it (a model
    validated on its own) the values are said to be in 'the config'."""

    def __init__(self, keys, words: Callable[[Where], str]):
        self.keys, self.words = tuple(keys), words
        super().__init__(words(Where()))



def _location(e: dict) -> tuple[str, ...]:
    """The key of pydantic's error ``e`` as the user wrote it, without the tags pydantic inserts."""
    loc = tuple(str(p) for p in e["loc"])
    if len(loc) >= 2 and loc[0] == "data" and loc[1] in SOURCES:
        loc = (loc[0],) + loc[2:]  # drop the discriminator tag pydantic inserts
    if len(loc) >= 3 and loc[:2] == ("train", "schedule") and loc[2] in SCHEDULES:
        loc = loc[:2] + loc[3:]
    return loc


def _unknown_key(loc: tuple[str, ...], key: str, data: dict, source: str, section_model: SectionModel) -> str:
    """The line for a key no section has, with the closest valid key and what the section accepts."""
    owner = section_model(loc[:-1], data)
    valid = _valid_keys(owner) if owner else []
    close = [ALIASES[loc[-1].lower()]] if ALIASES.get(loc[-1].lower()) in valid else \
        difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{'.'.join(loc[:-1] + (close[0],))}'?" if close else ""
    if len(loc) == 1:  # a section key written at the top level: train.eta for eta
        nested = [f"{sec}.{k}" for sec in ("model", "train")
                  for k in _valid_keys(section_model((sec,), data))] + [f"data.{k}" for k in ("test_fraction", "transform", "task", "source")]
        exact = [key for key in nested if key.split(".")[-1] == loc[-1]]
        if exact:
            hint = f"; did you mean '{exact[0]}'?"
    accepted = f" (accepted here: {', '.join(valid)})" if valid else ""
    return f"{source}: unknown key '{key}'{hint}{accepted}"


def _axis_written(kind: str, got) -> str | None:
    """Several values where one number belongs, as a sweep's axis is written (0.01,0.05), else None."""
    if kind in ("float_parsing", "int_parsing") and isinstance(got, str) and "," in got:
        return got
    if kind in ("float_type", "int_type") and isinstance(got, list) and len(got) > 1 and \
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in got):
        return ",".join(str(v) for v in got)
    return None


def _sweep_command(file_source, overrides, key: str, axis: str) -> str:
    """The nnrun sweep command with the config, every other override as given, and the axis."""
    import shlex

    config = str(file_source) if str(file_source).endswith((".yaml", ".yml")) else "CONFIG"
    others = [o for o in overrides if not str(o).partition("=")[0].strip() == key]
    return shlex.join(["nnrun", "sweep", config, *map(str, others), f"{key}={axis}"])


def format_validation_error(err: ValidationError, data: dict, source: str, section_model: SectionModel,
                            overrides=()) -> str:
    """The first schema error as one line: 'file: key: problem (got value); accepted ...'.
    'file' is the command-line override instead when one of ``overrides`` set the key;
    ``section_model`` gives the model of a section, for the keys it accepts.

    A required key reported missing beside an unknown key of the same section is most
    likely that key misspelt (``etta: 0.05``): the unknown key, with its 'did you mean',
    is the line that helps."""
    errors = err.errors(include_url=False)
    e = errors[0]
    if e["type"] == "missing":
        e = next((x for x in errors if x["type"] == "extra_forbidden" and x["loc"][:-1] == e["loc"][:-1]), e)
    loc = _location(e)
    file_source, source = source, origin(".".join(loc), source, overrides)
    clash = e.get("ctx", {}).get("error")
    if isinstance(clash, Clash):  # a check on several keys: the line says where each came from
        return clash.words(Where(file_source, overrides))
    if len(loc) >= 2 and (loc[-1] in ("int", "float", "str", "list[str]") or loc[-1].startswith("literal[")):
        loc = loc[:-1]  # pydantic names the union branch that failed; the user only sees the key
        if loc == ("train", "batch_size"):
            return f"{source}: train.batch_size: {e.get('input')!r} is not a batch size; give a whole number >= 1 or 'full'"
    key = ".".join(loc) if loc else "(top level)"
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if e["type"] == "extra_forbidden":
        return _unknown_key(loc, key, data, source, section_model)
    if e["type"] == "missing":
        return f"{source}: {key}: required key is missing"
    if e["type"] == "union_tag_invalid":
        return f"{source}: data.source: {unknown('source', get_dotted(data, 'data.source'), SOURCES)}"
    if e["type"] == "union_tag_not_found":
        return f"{source}: data.source: required key is missing; accepted: {', '.join(SOURCES)}"
    named = re.match(r"^([a-z_]+(?:\.[A-Za-z0-9_]+(?:\[\d+\])?)*): (.*)$", msg)
    if named and e["type"] == "value_error" and not isinstance(e.get("input"), (str, int, float, list)):
        # a whole-section check whose message names its key: 'model' + 'output: ...'
        inner = named.group(1)
        key = inner if "." in inner or not loc else f"{key}.{inner}"
        source = origin(key, file_source, overrides)  # the key the check names: maybe typed on the command line
        return f"{source}: {key}: {named.group(2)}"
    got = e.get("input")
    shown = "" if isinstance(got, dict) or e["type"].startswith("value_error") else f" (got {_describe(got)})"
    if e["type"] == "literal_error":  # "Input should be 'normal', 'xavier' or 'he'"
        shown += did_you_mean(got, re.findall(r"'([^']*)'", str(e.get("ctx", {}).get("expected", ""))))
    if e["type"] == "list_type" and isinstance(got, str):  # data.transform=standardize
        shown += f"; write a list, even of one: [{got}]"
    axis = _axis_written(e["type"], got)
    if axis is not None:  # train.eta=0.01,0.05 (or [0.01, 0.05]) on nnrun train: a sweep's axis
        shown += f"; several values are a sweep's axis: {_sweep_command(file_source, overrides, key, axis)}"
    if not loc or loc == ("data",) or key in ("model", "train", "sweep"):
        return f"{source}: {key}: {msg}"
    return f"{source}: {key}: {msg}{shown}"

