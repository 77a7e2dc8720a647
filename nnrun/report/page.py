"""The pieces of a self-contained HTML page: escaping, tables, embedded pictures, style.

A page is one file: pictures are embedded as ``data:`` URIs, the style sheet and the
few lines of script (sorting a table) are inline, nothing is fetched from anywhere,
so it opens from disk in any browser and prints as it shows (a print style sheet
drops the controls and keeps tables and pictures whole on a page).
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

# Known pictures first, in the order a reader wants them; any other picture follows by name.
PICTURE_ORDER = ["loss", "accuracy", "data", "regions", "confusion", "heatmaps", "metrics", "compare"]
PICTURE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif",
                 ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}

STYLE = """
:root { --ink: #1d2127; --muted: #5b6370; --rule: #d8dce2; --band: #f4f6f8; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; padding-bottom: 3px; border-bottom: 2px solid var(--rule); }
.sub { color: var(--muted); margin: 0 0 12px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 10px; font-size: 0.75em; vertical-align: middle;
         font-weight: 600; letter-spacing: 0.03em; text-transform: uppercase; border: 1px solid currentColor; }
.completed { color: #1b7a3a; } .diverged, .failed { color: #b01c1c; } .interrupted { color: #a15c00; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 0.93em; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: var(--band); border-bottom: 2px solid var(--rule); }
table.kv th { font-weight: 600; color: var(--muted); width: 13em; background: none; }
tr.best td { background: #fff6d6; font-weight: 600; }
.wide { overflow-x: auto; }
ul.hints { padding-left: 1.2em; } ul.hints li { margin: 4px 0; }
.hint { background: #fff4e5; border-left: 4px solid #e08a00; padding: 6px 12px; margin: 8px 0; }
figure { margin: 12px 0 20px; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: 0.85em; }
.pictures { display: flex; flex-wrap: wrap; gap: 8px 20px; }
.pictures figure { flex: 1 1 460px; }
pre { background: var(--band); padding: 10px 14px; overflow-x: auto; font-size: 0.85em; line-height: 1.35; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
a { color: var(--accent); }
button.sort { all: unset; cursor: pointer; font-weight: 600; }
button.sort:focus-visible { outline: 2px solid var(--accent); }
button.sort::after { content: " \\2195"; color: var(--muted); font-weight: normal; }
th[aria-sort="ascending"] button.sort::after { content: " \\25B2"; color: var(--ink); }
th[aria-sort="descending"] button.sort::after { content: " \\25BC"; color: var(--ink); }
footer { margin-top: 36px; color: var(--muted); font-size: 0.8em; border-top: 1px solid var(--rule); padding-top: 6px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  a { color: inherit; text-decoration: none; }
  button.sort::after { content: ""; }
  .pictures { display: block; }
  figure img { max-height: 22cm; border: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, table.kv { break-inside: avoid; page-break-inside: avoid; }
  pre { white-space: pre-wrap; }
  .noprint { display: none; }
}
"""

# Sorting a table by a column: numbers as numbers (blank and text last), else text.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    var button = th.querySelector("button.sort");
    if (!button) return;
    button.addEventListener("click", function () {
      var order = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", order);
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col];
        var text = cell.getAttribute("data-value");
        if (text === null) text = cell.textContent.trim();
        var number = parseFloat(text);
        return { text: text, number: text === "" || isNaN(number) ? null : number };
      };
      var sign = order === "ascending" ? 1 : -1;
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x.number !== null && y.number !== null) return sign * (x.number - y.number);
        if (x.number !== null) return -1;
        if (y.number !== null) return 1;
        return sign * x.text.localeCompare(y.text);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


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


def kv_table(rows: list[tuple[str, str]]) -> str:
    """A two-column table of (label, HTML)."""
    body = "".join(f"<tr><th scope='row'>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='kv'><tbody>{body}</tbody></table>"


def grid_table(columns: list[str], rows: list[list], sortable: bool = False, row_classes=None,
               html_cells: set[str] = frozenset(), table_id: str | None = None) -> str:
    """A table with a header; cells escaped unless their column is in ``html_cells``.

    Numbers are right-aligned and keep their full value in ``data-value`` for sorting.
    """
    head = []
    for c in columns:
        label = f"<button class='sort' type='button'>{esc(c)}</button>" if sortable else esc(c)
        head.append(f"<th scope='col'>{label}</th>")
    body = []
    for i, row in enumerate(rows):
        cells = []
        for column, value in zip(columns, row):
            if column in html_cells:
                cells.append(f"<td>{value}</td>")
            elif is_number(value):
                full = "" if (isinstance(value, float) and not math.isfinite(value)) else repr(value)
                cells.append(f"<td class='num' data-value='{esc(full)}'>{esc(fmt(value))}</td>")
            else:
                cells.append(f"<td>{esc(fmt(value))}</td>")
        cls = f" class='{row_classes[i]}'" if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    attrs = (f" id='{esc(table_id)}'" if table_id else "") + (" class='sortable'" if sortable else "")
    return (f"<div class='wide'><table{attrs}><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


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


def figure(path: Path, caption: str | None = None) -> str:
    """An embedded picture with its file name as caption."""
    uri = data_uri(path.read_bytes(), PICTURE_TYPES[path.suffix.lower()])
    caption = caption or path.name
    return (f"<figure><img src='{uri}' alt='{esc(caption)}'>"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def figure_bytes(content: bytes, caption: str, mime: str = "image/png") -> str:
    return (f"<figure><img src='{data_uri(content, mime)}' alt='{esc(caption)}'>"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def document(title: str, body: str, version: str, script: bool = False) -> str:
    """The whole page: head with the inline style, the body, an optional inline script."""
    js = f"<script>{SORT_SCRIPT}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        # nothing from outside: no network, no external script or style
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
        f"<footer>Written by nnrun {esc(version)}. Self-contained: pictures are embedded; "
        f"the page needs no network.</footer>{js}\n</body></html>\n"
    )
