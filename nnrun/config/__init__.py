"""The experiment config: YAML in, a validated :class:`Config` out.

``load_config(path, overrides)`` reads YAML with the safe loader (duplicate keys are
errors), applies Hydra-style ``key.path=value`` overrides (values read as YAML), makes
relative paths relative to the config file, and validates everything with the pydantic
schema. Unknown keys are errors, with the closest valid key suggested. Every problem
becomes one :class:`~nnrun.errors.NnrunError` line naming the file, the key, the bad
value and what is accepted.

One module per job, each importing only the ones above it in this list:

- :mod:`~nnrun.config.reading`: the safe YAML reader and writer (no duplicate keys, no
  tags): ``read_yaml``, ``dump_yaml``, and ``config_file`` (a file or a run folder);
- :mod:`~nnrun.config.base`: ``Strict``, the base of every section (unknown keys are errors);
- :mod:`~nnrun.config.sources`: the data-source models, ``DATA_SOURCES`` (the generators'
  from ``nnrun.data.sources``, the files' here) and ``SOURCES``;
- :mod:`~nnrun.config.overrides`: ``key.path=value`` overrides (``parse_override``,
  ``set_dotted``, ``get_dotted``, ``apply_overrides``) and the relative paths;
- :mod:`~nnrun.config.messages`: the one-line messages (``did_you_mean``, ``unknown``,
  ``known``, ``format_validation_error``);
- :mod:`~nnrun.config.schema`: the models of the sections (``ModelConfig``,
  ``TrainConfig``, ``SweepConfig``, ``Config``, ...) and ``validate``;
- here: ``load_config``, which joins them, and the names code outside imports.

Where to add things: a config key is a field on its section's model; a generated data
source is one file, ``nnrun/data/sources.py`` (a file source: see :mod:`~nnrun.config.sources`);
activations and losses come from their registries.
"""

from __future__ import annotations

from pathlib import Path

from nnrun.config.overrides import (
    apply_overrides,
    get_dotted,
    parse_override,
    set_dotted,
)
from nnrun.config.reading import config_file, dump_yaml, read_yaml
from nnrun.config.schema import (
    Config,
    EarlyStopping,
    ModelConfig,
    SweepConfig,
    TrainConfig,
    validate,
)
from nnrun.config.sources import DATA_SOURCES, SOURCES

__all__ = [
    "DATA_SOURCES", "SOURCES", "Config", "EarlyStopping", "ModelConfig", "SweepConfig", "TrainConfig",
    "apply_overrides", "config_file", "dump_yaml", "get_dotted", "load_config", "parse_override", "read_yaml",
    "set_dotted", "validate",
]


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a config file. Relative paths become absolute."""
    path = config_file(path)
    data = apply_overrides(read_yaml(path), overrides, path.resolve().parent)
    return validate(data, str(path), overrides)
