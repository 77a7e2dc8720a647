"""``python -m nnrun`` is the same as the ``nnrun`` command."""

from nnrun.cli import entry

entry()
