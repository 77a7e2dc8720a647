"""The pieces of a self-contained HTML page: the Jinja2 environment, values as text,
embedded pictures.

Pages are Jinja2 templates in ``nnrun/report/templates/`` rendered with autoescaping on:
every value a template writes is escaped unless nnrun marked it safe, and nnrun marks
nothing of the user's safe (a run name, a class name or a config value always comes out
as text). The Python side computes plain data (strings, numbers, lists, dicts,
:class:`Link`) and :func:`render` passes it to a template:

- ``base.html``: the document (head, inline style ``_style.css``, footer, the inline
  script ``_sort.js`` when a page has a sortable table); every page extends it;
- ``run.html`` (:func:`nnrun.report.run.run_page`), ``sweep.html``
  (:func:`nnrun.report.sweep.sweep_page`), ``compare.html``
  (:func:`nnrun.report.comparison.compare_page`);
- ``_tables.html`` (macros ``kv_table``, ``kv_row``, ``grid_table``) and ``_figure.html``
  (``figure``, ``pictures``).

A page is one file: pictures are embedded as ``data:`` URIs, the style sheet and the
few lines of script (sorting a table) are inline, nothing is fetched from anywhere,
so it opens from disk in any browser and prints as it shows (a print style sheet
drops the controls and keeps tables and pictures whole on a page).
"""

from __future__ import annotations

import base64
import functools
import math
from pathlib import Path
from typing import NamedTuple

TEMPLATES = Path(__file__).with_name("templates")
# Known pictures first, in the order a reader wants them; any other picture follows by name.
PICTURE_ORDER = ["loss", "accuracy", "data", "regions", "confusion", "heatmaps", "metrics", "compare"]
PICTURE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif",
                 ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


class Link(NamedTuple):
    """A table cell that links to ``href`` (its text alone when ``href`` is empty)."""

    href: str | None
    text: str


@functools.cache
def environment():
    """The one Jinja2 environment of the pages (made on first use: jinja2 loads only then).

    Autoescaping is on and undefined names are errors; ``fmt`` and ``data_value`` are
    filters, ``numeric`` and ``link`` are tests (``value is numeric``).
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, data_value=data_value)
    env.tests.update(numeric=is_number, link=lambda value: isinstance(value, Link))
    return env


def render(template: str, **context) -> str:
    """The HTML of ``template`` (a file in templates/) with ``context``, every value escaped."""
    return environment().get_template(template).render(**context)


def fmt(value) -> str:
    """A value as a reader wants it: 4 significant digits for floats, blanks for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return str(value)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def data_value(value) -> str:
    """A number's full value for the sort script's data-value ('' for nan and inf)."""
    return "" if isinstance(value, float) and not math.isfinite(value) else repr(value)


# pictures shown across the page's whole width whatever their shape: the network's small
# labels were unreadable at half width
WIDE_PICTURES = ("network",)
WIDE_ASPECT = 1.6  # a picture wider than this (width / height) is shown across the whole page


def picture(path: Path, caption: str | None = None, wide: bool | None = None) -> dict:
    """A picture for the ``figure`` macro: embedded as a data: URI, its file name as caption;
    ``wide`` (default: wider than WIDE_ASPECT, or one of WIDE_PICTURES) spans the whole page."""
    content = path.read_bytes()
    if wide is None:
        size = image_size(content)
        wide = path.stem in WIDE_PICTURES or (size is not None and size[0] > WIDE_ASPECT * size[1])
    return {"uri": data_uri(content, PICTURE_TYPES[path.suffix.lower()]), "caption": caption or path.name,
            "wide": bool(wide)}


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or GIF from its header; None for other formats."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content[:4] == b"GIF8" and len(content) >= 10:
        return int.from_bytes(content[6:8], "little"), int.from_bytes(content[8:10], "little")
    return None


def data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def pictures_in(folder: Path) -> list[Path]:
    """Every picture of a folder, known ones first (loss, data, regions, ...), one file per name
    (PNG preferred over SVG, GIF and JPEG); hidden and temporary files are left out."""
    preference = list(PICTURE_TYPES)
    chosen: dict[str, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        suffix = path.suffix.lower()
        if suffix not in PICTURE_TYPES or path.name.startswith(".") or not path.is_file():
            continue
        old = chosen.get(path.stem)
        if old is None or preference.index(suffix) < preference.index(old.suffix.lower()):
            chosen[path.stem] = path

    def rank(stem: str):
        base = stem.split("-")[0].split("_")[0]
        return (PICTURE_ORDER.index(base) if base in PICTURE_ORDER else len(PICTURE_ORDER), stem)

    return [chosen[stem] for stem in sorted(chosen, key=rank)]


