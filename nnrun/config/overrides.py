"""Hydra-style ``key.path=value`` overrides, and the relative paths a config names.

The value of an override is read as YAML (``train.eta=1e-3`` is a number). A relative
path inside the config file is relative to the config file's folder; one given on the
command line is relative to the current directory.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from nnrun.config.reading import UniqueKeyLoader
from nnrun.config.sources import DigitsData
from nnrun.errors import NnrunError


def parse_override(text: str) -> tuple[str, Any]:
    """'train.eta=0.01' -> ('train.eta', 0.01); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise NnrunError(f"override '{text}': expected KEY=VALUE with a dotted key, e.g. train.eta=0.01")
    try:
        value = yaml.load(raw, Loader=UniqueKeyLoader) if raw.strip() else None
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
