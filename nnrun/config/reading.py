"""YAML in and out, safely: no duplicate keys, no tags; the config file a path names.

Configs are read with a :class:`yaml.SafeLoader` that refuses duplicate keys and reads
1e-3 as a number; any problem is one :class:`~nnrun.errors.NnrunError` naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from nnrun.errors import NnrunError
from nnrun.store.names import CONFIG, SWEEP


class UniqueKeyLoader(yaml.SafeLoader):
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


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
# PyYAML follows YAML 1.1, where 1e6 and 1e-3 (no dot) are strings; read them as numbers,
# as YAML 1.2 and every student does.
UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def config_file(path: str | Path) -> Path:
    """The config file ``path`` names: the file itself, or a run folder's ``config.yaml``
    (the resolved config the run saved), so ``nnrun gradcheck RUN`` checks that run."""
    path = Path(path)
    if path.is_dir():
        if (path / CONFIG).is_file():
            return path / CONFIG
        kind = "a sweep folder (its cells are run folders)" if (path / SWEEP).is_file() else "a folder"
        raise NnrunError(f"{path}: is {kind}, not a config file; give a YAML config, or a run folder that holds "
                         "config.yaml")
    return path


def _configs_beside(path: Path) -> str:
    """'; did you mean configs/higham_2232.yaml? (configs there: …)' for a config path that
    does not exist, from the YAML files of its folder; '' when there are none."""
    import difflib

    folder = path.parent
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError:
        return ""
    if not names:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    guess = f"; did you mean {folder / close[0]}?" if close else ""
    shown = ", ".join(names[:30]) + (f", … ({len(names)} in all)" if len(names) > 30 else "")
    return f"{guess} (configs in {folder}: {shown})"


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping safely; any problem is one NnrunError naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise NnrunError(f"{path}: no such config file{_configs_beside(path)}") from None
    except IsADirectoryError:
        raise NnrunError(f"{path}: is a directory, not a config file") from None
    except OSError as e:
        raise NnrunError(f"{path}: cannot read config file ({e.strerror})") from None
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError:
        raise NnrunError(f"{path}: not a text file (not valid UTF-8); expected a YAML config") from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
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


# libyaml's emitter where PyYAML has it: the same text (held equal in tests/test_sweep.py), 4x
# faster; a sweep of a thousand small cells writes a thousand config.yaml
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, default_flow_style=None)
