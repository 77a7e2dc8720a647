"""The experiment config: YAML in, a validated :class:`Config` out (see :mod:`nnrun.config.schema`)."""

from nnrun.config.schema import (  # noqa: F401
    SOURCES,
    Config,
    apply_overrides,
    config_file,
    dump_yaml,
    load_config,
    parse_override,
    read_yaml,
    set_dotted,
    validate,
)
