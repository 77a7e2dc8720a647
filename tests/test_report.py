"""report.html of runs and sweeps, nnrun runs, nnrun report (issue 12)."""

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import cli, nnrun_process, run_dir_from, small_config

FAST = {"train": {"iterations": 200, "batch_size": 4, "log_every": 20}}


class Page(HTMLParser):
    """What a page holds: image sources, links, scripts and style sheets from outside, text."""

    def __init__(self, text):
        super().__init__()
        self.images, self.links, self.external, self.text, self.tags = [], [], [], [], set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag in ("script", "link", "iframe") and (attrs.get("src") or attrs.get("href")):
            self.external.append(attrs)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def words(self):
        return " ".join(" ".join(self.text).split())


def read_page(path: Path) -> Page:
    return Page(path.read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs that differ in activation, and a sweep, in one runs folder."""
    tmp = tmp_path_factory.mktemp("reports")
    runs_dir = tmp / "runs"
    config = tmp / "exp.yaml"
    import yaml

    config.write_text(yaml.safe_dump(small_config(**FAST)))
    dirs = []
    for activation in ("tanh", "relu", "sigmoid"):
        result = cli("train", config, f"model.activation={activation}", "--runs-dir", runs_dir, "-q")
        assert result.exit_code == 0, result.output
        dirs.append(run_dir_from(result))
    result = cli("sweep", config, "train.eta=0.05,0.5", "train.lambda=0,0.01", "--jobs", "2", "--runs-dir",
                 runs_dir, "-q")
    assert result.exit_code == 0, result.output
    return runs_dir, dirs, run_dir_from(result)


def test_run_report_is_self_contained_and_holds_every_picture(runs):
    _, dirs, _ = runs
    run_dir = dirs[0]
    page = read_page(run_dir / "report.html")
    pictures = sorted(p.name for p in run_dir.glob("*.png"))
    assert len(page.images) == len(pictures) == 7  # loss accuracy data regions neurons network confusion
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert not page.external
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", (run_dir / "report.html").read_text())
    words = page.words
    assert f"nnrun train {runs[0].parent / 'exp.yaml'} model.activation=tanh --runs-dir {runs[0]} -q" in page.words
    for text in ("tiny", "completed", "2-4-2, tanh hidden, softmax output", "test accuracy", "loss.png",
                 "regions.png", "Resolved config", "nnrun train"):
        assert text in words, text
    assert "@media print" in (run_dir / "report.html").read_text()


def test_a_new_picture_in_the_folder_appears_in_the_report(runs):
    _, dirs, _ = runs
    run_dir = dirs[1]
    (run_dir / "zz_extra.png").write_bytes((run_dir / "loss.png").read_bytes())
    result = cli("plot", run_dir)
    assert result.exit_code == 0 and str(run_dir / "report.html") in result.stdout
    page = read_page(run_dir / "report.html")
    assert len(page.images) == 8 and "zz_extra.png" in page.words
    assert page.words.index("loss.png") < page.words.index("zz_extra.png")
    (run_dir / "zz_extra.png").unlink()
    cli("plot", run_dir)


def test_a_failing_report_costs_one_warning_line_not_the_run(write_config, runs_dir, monkeypatch):
    from nnrun.report import run as report_run

    def broken(*args, **kwargs):
        raise ValueError("simulated")

    monkeypatch.setattr(report_run, "run_page", broken)
    result = cli("train", write_config(small_config(**FAST)), "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0
    run_dir = run_dir_from(result)
    warnings = [line for line in result.stderr.splitlines() if "report.html was not written" in line]
    assert len(warnings) == 1 and "simulated" in warnings[0]
    assert (run_dir / "metrics.json").exists() and not (run_dir / "report.html").exists()


def test_sweep_report_has_heatmaps_best_cell_sortable_table_and_cell_links(runs):
    _, _, sweep_dir = runs
    text = (sweep_dir / "report.html").read_text()
    page = Page(text)
    assert len(page.images) == 2 and all(i.startswith("data:image/png") for i in page.images)  # heatmaps, curves
    results = pd.read_csv(sweep_dir / "results.csv")
    cell_links = [link for link in page.links if link.endswith("/report.html") and link != "../report.html"]
    # the best cell's page, written by the sweep; every other cell's folder until `nnrun plot CELL` writes its page
    folder_links = [link for link in page.links if link.endswith("/") and link[:-1] in set(results["folder"])]
    assert len(set(cell_links)) == 1 and len(set(folder_links)) == len(results) - 1
    assert sorted({*(link[:-len("/report.html")] for link in cell_links), *(link[:-1] for link in folder_links)}) \
        == sorted(results["folder"])
    for link in cell_links:
        assert (sweep_dir / link).exists()
        assert "../report.html" in Page((sweep_dir / link).read_text()).links  # back up to the sweep
    assert "class='sortable'" in text and "<script>" in text and "Best cell" in page.words
    assert "train.eta: 0.05, 0.5" in page.words
    # the base config's own eta never ran: the page shows the swept values in its place
    assert "η=swept: 0.05, 0.5" in text and "eta: 'swept: 0.05, 0.5'" in page.words


def test_pages_name_the_folder_by_the_path_the_user_reaches_it_by(runs):
    """A run's page said `nnrun train <folder name>/config.yaml` (right only inside runs/), and
    a sweep cell's said `nnrun train run/config.yaml`, after the worker's temporary folder."""
    _, dirs, sweep_dir = runs
    from nnrun.report import write_run_report

    cell = sorted(sweep_dir.glob("c000_*"))[0]
    write_run_report(cell)  # a cell's page is written on demand (the sweep writes only its best cell's)
    for folder in (dirs[0], cell):
        text = (folder / "report.html").read_text()
        assert f"nnrun train {folder}/config.yaml" in text
        assert f"<code>{folder.name}</code>" in text
    assert f"nnrun plot {cell}</code>" in (cell / "report.html").read_text()  # a cell draws no pictures


def test_best_during_training_is_kept_while_training_exactly_as_history_csv_gives_it(runs):
    """The page read E1's whole history.csv again for it (0.35 s of 6); metrics.json now keeps it."""
    import json

    from nnrun.report.run import best_of_history
    from nnrun.store.history import read_history

    _, dirs, sweep_dir = runs
    for folder in [*dirs, *sorted(sweep_dir.glob("c0*"))]:
        metrics = json.loads((folder / "metrics.json").read_text())
        kept = best_of_history(folder, metrics)
        assert "best_during_training" in metrics and {"train_loss", "test_accuracy"} <= set(kept)
        history = read_history(folder).set_index("iteration")  # a cell's: its rows of the sweep's table
        assert set(kept) == set(best_of_history(folder))  # what the page read from history.csv before
        for column, (value, iteration) in kept.items():
            best = history[column].max() if column.endswith("accuracy") else history[column].min()
            # history.csv holds 16 significant digits; metrics.json the doubles themselves
            assert value == pytest.approx(best, rel=1e-15)
            assert history.loc[iteration, column] == pytest.approx(value, rel=1e-15)


def test_runs_table_shows_differing_config_and_metrics(runs):
    runs_dir, dirs, sweep_dir = runs
    result = cli("runs", runs_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 + 4
    header = lines[0].split()
    assert header[:4] == ["time", "name", "kind", "status"]
    assert "model.activation" in header and "test_accuracy" in header
    assert "data.source" not in header  # the same everywhere
    table = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv").stdout))
    # no validation set in this sweep: the kind says that the test set chose its best cell
    assert len(table) == 4 and set(table["kind"]) == {"run", "sweep (by test_accuracy)"}
    sweep = table[table["kind"] == "sweep (by test_accuracy)"].iloc[0]
    assert sweep["train.eta"].startswith("{") and "4 completed" in sweep["status"]


def test_runs_csv_keeps_whole_numbers_whole_where_some_runs_lack_the_key(tmp_path, runs):
    """`nnrun runs --csv` wrote data.n_samples 600.0 once another run had no such key (cold read)."""
    import shutil

    runs_dir, dirs, _ = runs
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copytree(dirs[0], mixed / dirs[0].name)
    other = mixed / "20261123-000000-other"
    shutil.copytree(dirs[1], other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    del config["data"]["n_samples"]
    config["train"]["iterations"] = 70
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    text = cli("runs", mixed, "--csv").stdout
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert sorted(table["data.n_samples"]) == ["", str(small_config(**FAST)["data"]["n_samples"])]
    assert sorted(table["train.iterations"]) == sorted([str(small_config(**FAST)["train"]["iterations"]), "70"])


def test_runs_on_a_terminal_fit_its_width_and_name_what_they_leave_out(runs):
    """`nnrun runs` printed up to 670 columns whatever the terminal (cold read)."""
    import os
    import pty
    import subprocess
    import sys

    runs_dir, _, _ = runs
    master, terminal = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "nnrun", "runs", str(runs_dir), "--sort", "train.eta"],
                          stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "125"})
    os.close(terminal)
    out = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    lines = out.decode().replace("\r", "").strip().splitlines()
    assert done.returncode == 0 and len(lines) == 1 + 4
    header = lines[0].split()
    assert header[:3] == ["folder", "kind", "status"] and header[-1] == "test_accuracy"
    assert "train.eta" in header  # the key sorted by always shows
    assert max(map(len, lines)) <= 125, lines
    piped = cli("runs", runs_dir).stdout.splitlines()[0].split()  # not a terminal: every column
    left_out = [c for c in piped if c not in header and c not in ("time", "name", "folder")]
    assert left_out and all(c in done.stderr for c in left_out) and "--csv shows them all" in done.stderr


def test_runs_sort_and_filter(runs):
    runs_dir, _, _ = runs
    table = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv", "--sort", "test_accuracy").stdout))
    accuracies = table["test_accuracy"].tolist()
    assert accuracies == sorted(accuracies, reverse=True)  # best first
    table = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv", "--sort", "test_accuracy", "--reverse").stdout))
    assert table["test_accuracy"].tolist() == sorted(accuracies)
    table = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv", "--filter", "model.activation=relu").stdout))
    assert len(table) == 1 and table["kind"][0] == "run"
    sweeps = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv", "--filter", "kind=sweep").stdout))
    assert list(sweeps["kind"]) == ["sweep (by test_accuracy)"]  # regression (cold read): matched nothing
    table = pd.read_csv(io.StringIO(cli("runs", runs_dir, "--csv", "--filter", "kind=run", "--filter",
                                        "train.eta=0.1").stdout))
    assert len(table) == 3 and "model.activation" in table.columns


@pytest.mark.parametrize("args,words", [
    (["--filter", "model.activashun=relu"], ["--filter", "'model.activashun'", "model.activation"]),
    (["--filter", "relu"], ["--filter", "KEY=VALUE"]),
    (["--sort", "nope"], ["--sort", "'nope'"]),
], ids=["unknown-filter-key", "not-key-value", "unknown-sort-key"])
def test_runs_bad_options_are_one_line(runs, args, words):
    runs_dir, _, _ = runs
    result = nnrun_process("runs", runs_dir, *args)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


def test_runs_of_a_missing_folder(tmp_path):
    result = nnrun_process("runs", tmp_path / "nowhere")
    assert result.returncode == 2 and "nowhere: no such folder" in result.stderr


def test_report_compares_runs_showing_only_differing_keys(runs, tmp_path):
    _, dirs, _ = runs
    out = tmp_path / "compare.html"
    result = cli("report", *dirs, "--out", out)
    assert result.exit_code == 0, result.output
    page = read_page(out)
    assert len(page.images) == 1 and not page.external
    words = page.words
    assert "model.activation" in words and "activation=tanh" in words and "activation=sigmoid" in words
    assert "train.eta" not in words and "data.source" not in words
    assert "other config keys have the same value in every run" in words
    for d in dirs:
        assert any(link.endswith(f"{d.name}/report.html") and (out.parent / link).resolve().exists()
                   for link in page.links)



class Tables(HTMLParser):
    """A page's tables: each a list of rows, each row a list of (text, title) per cell."""

    def __init__(self, text):
        super().__init__()
        self.tables, self._cell = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self._cell = ["", dict(attrs).get("title")]

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self.tables[-1][-1].append((" ".join(self._cell[0].split()), self._cell[1]))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def test_report_of_sweep_cells_heads_columns_short_and_fills_the_time(runs, tmp_path):
    """Issue 23: comparing sweep cells with a run headed the columns with whole folder
    names (the tables scrolled sideways), and the time column was empty for cells, whose
    folder names carry no time stamp (their sweep folder's does)."""
    _, dirs, sweep_dir = runs
    cells = sorted(sweep_dir.glob("c00*_*"))[:2]
    out = tmp_path / "compare.html"
    result = cli("report", *cells, dirs[0], "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    runs_table, differs, metrics = Tables(text).tables
    labels = [row[0][0] for row in runs_table[1:]]
    folders = [row[1][0] for row in runs_table[1:]]
    assert folders == [f"{sweep_dir.name}/{cells[0].name}", f"{sweep_dir.name}/{cells[1].name}", dirs[0].name]
    stamp = sweep_dir.name[:15]
    started = [row[2][0] for row in runs_table[1:]]
    assert all(started), started
    assert started[0].startswith(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}")
    assert len(set(labels)) == 3 and all(len(label) <= 28 for label in labels), labels
    for table in (differs, metrics):
        heads = table[0][1:]
        assert [h for h, _ in heads] == labels
        assert [t for _, t in heads] == [str(f.resolve()) for f in (*cells, dirs[0])]
    assert [c for c, _ in runs_table[0]] == ["run", "folder (its report)", "started", "status"]


def test_the_comparison_title_is_wrapped_inside_the_picture(monkeypatch):
    """Issue 23: one line of long run names ran off both sides of the picture."""
    from matplotlib.figure import Figure

    from nnrun.plots.runs_compared import runs_curves_png

    figures, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: figures.append(self) or savefig(self, *a, **k))
    it = np.arange(0, 1001, 10.0)
    names = [f"20261205-1430{k:02d}-digits-sweep/c{k:03d}_eta=0.1_lambda=0.001_seed=0" for k in range(3)]
    histories = [pd.DataFrame({"iteration": it, "train_loss": np.exp(-it / (k + 100))}) for k in range(3)]
    assert runs_curves_png(histories, names, "quadratic")  # loss only: one panel, the narrowest figure
    fig = figures[0]
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    width, height = fig.bbox.width, fig.bbox.height
    assert box.x0 >= 0 and box.x1 <= width and box.y1 <= height, (box, width)
    for name in names:
        assert name in fig._suptitle.get_text().replace("\n", " ")
    legend = fig.legends[0].get_window_extent()
    assert legend.x0 >= 0 and legend.x1 <= width, (legend, width)

@pytest.mark.parametrize("which,words", [("sweep", ["sweep folder"]), ("missing", ["no such run folder"]),
                                         ("one", ["at least two"])])
def test_report_bad_runs_are_one_line(runs, tmp_path, which, words):
    _, dirs, sweep_dir = runs
    args = {"sweep": [dirs[0], sweep_dir], "missing": [dirs[0], tmp_path / "gone"], "one": [dirs[0]]}[which]
    result = nnrun_process("report", *args, "--out", tmp_path / "x.html")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert all(word in result.stderr for word in words) and not (tmp_path / "x.html").exists()


def test_a_file_inside_a_run_folder_is_named_with_its_folder(runs, tmp_path):
    """`nnrun predict RUN/model.npz CSV` said 'no such run folder' of a file that exists, and
    `nnrun plot RUN/loss.png` gave click's usage error (cold read)."""
    _, dirs, _ = runs
    csv = tmp_path / "rows.csv"
    csv.write_text("x1,x2\n0.1,0.2\n")
    for args in (["predict", dirs[0] / "model.npz", csv], ["plot", dirs[0] / "loss.png"],
                 ["report", dirs[0] / "model.npz", dirs[1], "--out", tmp_path / "x.html"]):
        result = nnrun_process(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert f"is a file, not a run folder; give the folder that holds it, {dirs[0]}" in lines[0]


def test_validation_columns_appear_when_a_run_has_them(runs, tmp_path):
    """history.csv and metrics.json may carry val_loss / val_accuracy (and eta): pages show them."""
    import json
    import shutil

    _, dirs, _ = runs
    copies = []
    for d in dirs[:2]:
        copy = tmp_path / d.name
        shutil.copytree(d, copy)
        history = pd.read_csv(copy / "history.csv")
        history["val_loss"] = history["test_loss"] * 1.5
        history["val_accuracy"] = history["test_accuracy"]
        history["eta"] = 0.1
        history.to_csv(copy / "history.csv", index=False)
        metrics = json.loads((copy / "metrics.json").read_text())
        metrics.update(val_loss=0.123456, val_accuracy=0.5)
        (copy / "metrics.json").write_text(json.dumps(metrics))
        copies.append(copy)
    assert cli("plot", copies[0]).exit_code == 0
    words = read_page(copies[0] / "report.html").words
    assert "validation loss 0.1235" in words and "validation accuracy 0.5" in words
    assert cli("report", *copies, "--out", tmp_path / "c.html").exit_code == 0
    assert "validation loss 0.1235 0.1235" in read_page(tmp_path / "c.html").words
    table = pd.read_csv(io.StringIO(cli("runs", tmp_path, "--csv").stdout))
    assert list(table["val_loss"]) == [0.123456, 0.123456]


def test_run_report_names_the_training_method_and_early_stopping(write_config, runs_dir):
    cfg = small_config(data={"validation_fraction": 0.2},
                       train={"optimizer": "adam", "eta": 0.01, "iterations": 200, "batch_size": 4, "log_every": 10,
                              "early_stopping": {"patience": 3}},
                       model={"dropout": 0.1})
    run_dir = run_dir_from(cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q"))
    words = read_page(run_dir / "report.html").words
    assert "adam, η=0.01" in words and "early stopping (patience 3)" in words and "dropout p=0.1" in words
    assert "Early stopping" in words and "val loss was best at iteration" in words
    assert "validation loss" in words and "validation accuracy" in words
    # issue 20: the test set's best record is labelled as a look, never as the result
    assert "test accuracy †" in words and "test loss †" in words and "validation loss †" not in words
    assert "shown for inspection, not as a result" in words
    assert "best seen during training" in words


def test_the_comparison_picture_names_its_runs_and_labels_as_the_run_pictures_do(monkeypatch):
    """Cold read: the compared curves had no title naming the runs, 10⁻¹ loss ticks and
    60000 without separators, unlike every run's own pictures."""
    from matplotlib.figure import Figure

    from nnrun.plots.runs_compared import runs_curves_png

    figures, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: figures.append(self) or savefig(self, *a, **k))
    it = np.arange(0, 60001, 1000.0)
    histories = [pd.DataFrame({"iteration": it, "train_loss": 0.5 * np.exp(-it / s) + 1e-4,
                               "train_accuracy": 1 - 0.5 * np.exp(-it / s)}) for s in (5000.0, 20000.0)]
    assert runs_curves_png(histories, ["relu_ellipse", "myblob"], "cross entropy")
    fig = figures[0]
    assert fig._suptitle.get_text() == "2 runs compared: relu_ellipse, myblob"
    fig.canvas.draw()
    loss_ax = fig.axes[0]
    assert "60,000" in [t.get_text() for t in loss_ax.get_xticklabels()]
    loss_ticks = [t.get_text() for t in loss_ax.get_yticklabels() if t.get_text()]
    assert loss_ticks and not any("$" in t or "10^" in t for t in loss_ticks), loss_ticks


def test_the_comparison_draws_accuracies_that_flip_at_every_step_as_their_running_mean(monkeypatch):
    """Cold read: two E1 runs' accuracies (ten points, one sample a step) overlaid were a block."""
    from matplotlib.figure import Figure

    from nnrun.plots.runs_compared import runs_curves_png

    figures, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: figures.append(self) or savefig(self, *a, **k))
    it = np.arange(20001.0)
    flips = np.where(np.arange(20001) % 2, 0.8, 0.5)
    histories = [pd.DataFrame({"iteration": it, "train_loss": 0.25 - it * 1e-6, "train_accuracy": flips})] * 2
    assert runs_curves_png(histories, ["a", "b"], "quadratic")
    accuracy = figures[0].axes[1]
    assert "running mean" in accuracy.get_title()
    assert all(np.allclose(line.get_ydata()[5:-5], 0.65, atol=0.01) for line in accuracy.lines)


# ------------------------------------------------------------------ templates
REPORT_SOURCE = Path(__file__).resolve().parents[1] / "nnrun" / "report"


def _poisoned(value):
    """The same page data with '<zz>' after every string: each text slot a template fills."""
    from markupsafe import Markup

    from nnrun.report.page import Link

    assert not isinstance(value, Markup), f"page data marked safe: {value[:60]!r}"
    if isinstance(value, str):
        return value + "<zz>"
    if isinstance(value, Link):
        return Link(*(_poisoned(v) for v in value))
    if isinstance(value, dict):
        return {k: _poisoned(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_poisoned(v) for v in value)
    return value


def test_every_text_slot_of_every_page_template_is_escaped(runs, tmp_path, monkeypatch):
    """Autoescaping is what keeps a name or a class from becoming markup: each page is
    rendered again from its own data with '<zz>' appended to every string, and no zz
    element may appear (it would, were autoescaping off or a value marked safe)."""
    from nnrun.report import comparison, page, run, sweep

    _, dirs, sweep_dir = runs
    rendered = []

    def recording(template, **context):
        rendered.append(template)
        poisoned = page.render(template, **_poisoned(context))
        shown = Page(poisoned)
        assert "zz" not in shown.tags, f"{template}: data became markup"
        assert "<zz>" in " ".join(shown.text), f"{template}: no text slot was filled"
        return page.render(template, **context)

    for module in (run, sweep, comparison):
        monkeypatch.setattr(module, "render", recording)
    run.run_page(dirs[0])
    run.run_page(min(sweep_dir.glob("c000_*")), parent=sweep_dir.name)
    sweep.sweep_page(sweep_dir)
    comparison.compare_page(dirs[:2], tmp_path / "c.html")
    assert rendered == ["run.html", "run.html", "sweep.html", "compare.html"]
    env = page.environment()
    assert env.autoescape is True and env is page.environment()  # one environment, made once
    tables = env.get_template("_tables.html").module
    html = str(tables.grid_table(["<zz>"], [["<zz>", page.Link("<zz>", "<zz>")]])) + str(tables.kv_row("<zz>", "<zz>"))
    assert "<zz>" not in html and html.count("&lt;zz&gt;") == 6


def test_the_report_modules_write_no_html_of_their_own():
    """The pages' HTML lives in the templates: an f-string of HTML in a report module is
    one place more that must remember to escape."""
    tag = re.compile(r"<(td|tr|th|table|tbody|thead|p|h1|h2|a|li|ul|pre|code|div|span|strong|figure|img|"
                     r"figcaption|script|style|html|head|body|meta|title|footer|button|br)\b", re.IGNORECASE)
    found = [f"{path.name}:{n}: {line.strip()}" for path in sorted(REPORT_SOURCE.glob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if tag.search(line)]
    assert not found, found
    templates = {p.name for p in (REPORT_SOURCE / "templates").iterdir()}
    assert {"base.html", "run.html", "sweep.html", "compare.html", "_tables.html", "_figure.html"} <= templates


def test_a_narrow_terminal_keeps_the_differing_config_before_mostly_empty_metrics(write_config, runs_dir):
    """Cold read: `nnrun runs` at 120 columns dropped every config column (eta, architecture)
    but kept the mostly empty val_* columns."""
    from nnrun.report.runs import runs_table, text_table

    for eta, arch, val in ((0.05, "2-3-2", 0.0), (0.1, "2-6-2", 0.0), (0.2, "2-4-2", 0.2)):
        cfg = small_config(data={"source": "moons", "n_samples": 60, "noise": 0.1, "test_fraction": 0.25,
                                 "validation_fraction": val},
                           model={"architecture": arch}, train={"eta": eta, "iterations": 50})
        cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q")
    table = runs_table(runs_dir)
    assert {"val_loss", "val_accuracy", "train.eta", "model.architecture"} <= set(table.columns)
    # exactly the width of every column but the two mostly empty validation columns
    without, _ = text_table(table.drop(columns=["val_loss", "val_accuracy"]), 10**6)
    width = max(map(len, without.splitlines())) + 1
    text, left_out = text_table(table, width)
    header = text.splitlines()[0].split()
    assert "train.eta" in header and "model.architecture" in header
    assert "val_loss" in left_out and "val_accuracy" in left_out
    assert max(map(len, text.splitlines())) <= width


def test_a_narrow_terminal_shows_first_the_config_column_that_tells_most_runs_apart():
    """Cold read: at 120 columns `nnrun runs` kept train.loss (two values) and left out
    train.eta (a value a run), so three higham runs of different eta looked the same."""
    import pandas as pd

    from nnrun.report.runs import text_table

    table = pd.DataFrame({"time": ["t"] * 4, "name": ["h"] * 4, "kind": ["run"] * 4, "status": ["completed"] * 4,
                          "train.loss": ["quadratic", "quadratic", "quadratic", "cross_entropy"],
                          "train.eta": [0.05, 0.5, 0.2, 0.1], "train_loss": [0.1, 0.2, 0.3, 0.4],
                          "folder": ["runs/a", "runs/b", "runs/c", "runs/d"]})
    widest = max(map(len, text_table(table.drop(columns=["train.loss"]), 10**6)[0].splitlines()))
    text, left_out = text_table(table, widest + 1)  # room for one of the two
    assert "train.eta" in text.splitlines()[0].split() and left_out == ["train.loss"]


def _figures(text: str) -> dict:
    """caption -> the <figure ...><img ...> opening tags of a page's pictures."""
    return {m.group(3): m.group(1) + m.group(2)
            for m in re.finditer(r"(<figure[^>]*>)(<img [^>]*>)<figcaption>([^<]*)</figcaption>", text)}


def test_sweep_pictures_span_the_page_and_every_picture_enlarges_on_a_click(runs):
    """issue 23: the sweep's heatmaps and curves were shown at half width, their numbers
    unreadable, with no way to enlarge them; network.png was small on run pages."""
    _, dirs, sweep_dir = runs
    from nnrun.report import run, sweep

    text = sweep.sweep_page(sweep_dir)
    figures = _figures(text)
    assert set(figures) == {"heatmaps.png", "curves.png"}
    assert all("class='wide'" in tag for tag in figures.values()), figures
    assert ".pictures figure.wide { flex-basis: 100%; }" in text
    page = run.run_page(dirs[0])
    figures = _figures(page)
    assert "class='wide'" in figures["network.png"] and "class='wide'" in figures["loss.png"]  # loss: 1140 × 630
    assert "class='wide'" not in figures["confusion.png"]  # 900 × 720: beside another
    for html in (text, page):  # every picture is embedded once and enlarges in place
        assert html.count("data:image/png;base64,") == len(_figures(html))
        assert all("tabindex='0'" in tag for tag in _figures(html).values())
        assert "figure.enlarged" in html and 'classList.add("enlarged")' in html
