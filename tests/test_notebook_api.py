"""The notebook API: nnrun.run / nnrun.sweep / nnrun.load, the Run and Sweep objects, their
inline views, the live curve, and examples/quickstart.ipynb executed by Jupyter's own
executor (nbclient, the ipykernel "python3" kernel)."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnrun
from conftest import CONFIGS, REPO, cli, small_config

# a run folder written by nnrun before the notebook API existed (commit 7eb057c, small_config)
OLD_RUN = Path(__file__).parent / "data" / "old_run" / "20261205-150618-old-tiny"


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("api") / "runs"
    return nnrun.run(small_config(), "train.iterations=200", runs_dir=runs, name="moons")


def test_run_returns_a_run_with_every_attribute(moons_run):
    run = moons_run
    assert run.path.is_dir() and run.path.parent.name == "runs" and run.name == "moons"
    assert run.status == "completed" and run.metrics["iterations"] == 200
    assert run.config["train"]["iterations"] == 200 and run.config["train"]["log_every"] == 10
    assert isinstance(run.history, pd.DataFrame) and run.history["iteration"].iloc[-1] == 200
    layers = run.network
    assert [(W.shape, b.shape) for W, b in layers] == [((4, 2), (4,)), ((2, 4), (2,))]
    text = repr(run)
    assert "\n" not in text and "moons" in text and "completed" in text and str(run.path) in text
    assert "train_loss" in text
    assert "nnrun.run(" in run.metrics["command"]  # the page's command line: the Python call
    assert "W_1" in run.explain() or "W_l" in run.explain()
    assert run.explain(format="markdown") != run.explain()
    with pytest.raises(nnrun.NnrunError, match="format"):
        run.explain(format="html")


def test_both_override_spellings_give_the_same_config(tmp_path, moons_run):
    from nnrun.notebook import override_texts

    texts = ["train.eta=0.05", "model.architecture=[2, 3, 2]", "train.lambda=1.0e-05", "train.optimizer=adam"]
    keyed = override_texts((), {"train__eta": 0.05, "model__architecture": [2, 3, 2], "train__lambda": 1e-5,
                                "train__optimizer": "adam"})
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump(small_config()))
    a = nnrun.load_config(path, texts).to_dict()
    b = nnrun.load_config(path, keyed).to_dict()
    assert a == b and a["train"]["lambda"] == 1e-5 and a["model"]["architecture"] == [2, 3, 2]
    # and through nnrun.run: the same resolved config.yaml either way
    one = nnrun.run(path, "train.eta=0.05", "train.iterations=20", runs_dir=tmp_path / "runs")
    two = nnrun.run(path, train__eta=0.05, train__iterations=20, runs_dir=tmp_path / "runs")
    assert one.config == two.config and one.path != two.path


def test_predict_equals_nnrun_predict(moons_run, tmp_path):
    rows = pd.DataFrame({"x1": [0.1, 1.2, -0.5], "x2": [0.3, -0.2, 0.8]})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = cli("predict", moons_run.path, tmp_path / "rows.csv", "--out", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(tmp_path / "out.csv", dtype={"predicted": str})  # class names are text
    table = moons_run.predict(rows)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False, atol=1e-9)  # the CSV: 10 digits
    as_array = moons_run.predict(rows.to_numpy())
    pd.testing.assert_frame_equal(as_array, table)
    with pytest.raises(nnrun.NnrunError, match="2 features"):
        moons_run.predict(np.zeros((2, 3)))


def test_figure_returns_a_figure_for_every_still_picture(moons_run):
    from matplotlib.figure import Figure

    from nnrun.plots import PICTURES

    run = moons_run
    applies = [name for name, picture in PICTURES.items()
               if picture.suffix is None and picture.applies(run.view())]
    assert {"loss", "accuracy", "data", "regions", "neurons", "network", "confusion"} <= set(applies)
    before = sorted(p.name for p in run.path.iterdir())
    for name in applies:
        fig = run.figure(name)
        assert isinstance(fig, Figure) and fig.axes, name
    assert sorted(p.name for p in run.path.iterdir()) == before  # nothing was written
    # the loss figure is the caller's own: restyling it leaves the next one alone
    run.figure("loss").axes[0].set_yscale("linear")
    assert run.figure("loss").axes[0].get_yscale() == "log"
    with pytest.raises(nnrun.NnrunError, match="frames"):
        run.figure("animation")
    with pytest.raises(nnrun.NnrunError, match="does not apply"):
        run.figure("fit")
    with pytest.raises(nnrun.NnrunError, match="no such picture"):
        run.figure("lossy")


def test_run_html_is_self_contained(moons_run):
    html = moons_run._repr_html_()
    assert html.count("data:image/png;base64,") == 2  # the loss and the most telling picture
    assert "report.html" in html and "completed" in html and "training loss" in html
    for forbidden in ("<script", "<iframe", "http://", "https://"):
        assert forbidden not in html
    uri = html.split("data:image/png;base64,", 1)[1].split("'", 1)[0]
    assert base64.b64decode(uri)[:4] == b"\x89PNG"


def test_sweep_and_load(tmp_path):
    sweep = nnrun.sweep(small_config(), "train.iterations=60", train__eta="0.05,0.2",
                        model__architecture="2-3-2,2-5-2", runs_dir=tmp_path / "runs", jobs=1)
    assert len(sweep.results) == 4 and set(sweep.results["status"]) == {"completed"}
    assert len(sweep.cells) == 4 and all(isinstance(c, nnrun.Run) for c in sweep.cells)
    best = sweep.best
    assert isinstance(best, nnrun.Run) and best.path.parent == sweep.path
    # a cell's history lives in the sweep's table, not in a history.csv of its own
    for cell in sweep.cells:
        assert not (cell.path / "history.csv").exists()
        assert list(cell.history["iteration"])[-1] == 60 and cell.history["train_loss"].notna().all()
    for name in ("heatmaps", "curves"):
        assert sweep.figure(name).axes
    with pytest.raises(nnrun.NnrunError, match="heatmaps"):
        sweep.figure("metrics")
    assert "\n" not in repr(sweep) and "4 cells" in repr(sweep)
    html = sweep._repr_html_()
    assert html.count("data:image/png;base64,") == 2 and "<script" not in html
    again = nnrun.load(sweep.path)
    assert isinstance(again, nnrun.Sweep) and again.results.equals(sweep.results)
    assert isinstance(nnrun.load(best.path), nnrun.Run)
    with pytest.raises(nnrun.NnrunError, match="no such run folder"):
        nnrun.load(tmp_path / "nothing")


def test_load_a_folder_written_before_the_notebook_api(tmp_path):
    folder = tmp_path / OLD_RUN.name
    shutil.copytree(OLD_RUN, folder)
    run = nnrun.load(folder)
    assert isinstance(run, nnrun.Run) and run.name == "old-tiny" and run.status == "completed"
    assert run.history.shape[0] == 31 and len(run.network) == 2
    assert run.figure("regions").axes and run.figure("loss").axes
    table = run.predict(pd.DataFrame({"x1": [0.0], "x2": [0.5]}))
    assert list(table.columns[:1]) == ["predicted"]
    assert "old-tiny" in repr(run) and "data:image" not in run._repr_html_()  # its pictures were not kept


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj)


def test_live_updates_one_display_handle_while_training(tmp_path, monkeypatch):
    import IPython.display

    shown, handle = [], FakeHandle()

    def display(obj, display_id=None):
        assert display_id is True
        shown.append(obj)
        return handle

    monkeypatch.setattr(IPython.display, "display", display)
    from nnrun import live

    seen = []  # (iterations done, updates so far) at each chunk: updates happen while training runs
    real_call = live.LiveCurve.__call__

    def spy(self, done, planned, trace):
        real_call(self, done, planned, trace)
        if self._drawing is not None:  # a drawing started by this chunk: let it finish before the next
            self._drawing.join()
        seen.append((done, planned, len(shown) + len(handle.updates)))

    monkeypatch.setattr(live.LiveCurve, "__call__", spy)
    monkeypatch.setattr(live.LiveCurve, "__init__", _fast_live_init(live.LiveCurve.__init__))
    # a record every iteration: chunks of ~1,400 iterations, so 10,000 iterations are 8 chunks
    run = nnrun.run(small_config(), train__iterations=10_000, train__batch_size=1, train__log_every=1,
                    runs_dir=tmp_path / "runs",
                    live=True)
    assert len(shown) == 1  # one output, then updates of it
    during = [updates for done, planned, updates in seen if done < planned]
    assert len(seen) > 2 and during and during[-1] >= 1, seen
    final = handle.updates[-1].data
    assert "completed" in final and "10,000 iterations" in final and "data:image/png;base64," in final
    assert run.status == "completed"


def _fast_live_init(init):
    def fast(self, *args, **kwargs):  # redraw at every chunk: the test's run lasts a fraction of a second
        init(self, *args, **{**kwargs, "min_interval": 0.0, "budget": float("inf"), "first_after": 0.0})
    return fast


def test_quickstart_notebook_executes_and_shows_its_views(tmp_path):
    """Jupyter's executor runs examples/quickstart.ipynb from examples/ (as a user opening it
    does); every inline view is HTML with the pictures embedded, nothing served."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "quickstart.ipynb", tmp_path / "examples")
    (tmp_path / "configs").symlink_to(CONFIGS)
    notebook = nbformat.read(tmp_path / "examples" / "quickstart.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # saved cleared
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        nbclient.NotebookClient(notebook, kernel_name="python3", timeout=600,
                                resources={"metadata": {"path": "examples"}}).execute()
    finally:
        os.chdir(cwd)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    views = [h for h in html if "nnrun-inline" in h]
    assert len(views) >= 3 and all("data:image/png;base64," in h for h in views[:2])
    live = [h for h in html if "nnrun-live" in h]
    assert len(live) == 1 and "completed" in live[0] and "data:image/png;base64," in live[0]
    text = nbformat.writes(notebook)
    for forbidden in ("http://localhost", "<iframe", "<script src=http", '<script src=\\"http'):
        assert forbidden not in text
    assert (tmp_path / "runs").is_dir()  # ../runs from examples/


def test_a_search_sweep_from_python_shows_its_ranges_and_its_own_pictures(tmp_path):
    """A random search's Sweep: the range as written (not counted as a list of characters),
    the search's two pictures as Figures and inline, and no grid picture offered."""
    pytest.importorskip("optuna", reason='searches need Optuna: pip install -e ".[search]"')
    sweep = nnrun.sweep(small_config(), "train.iterations=60", runs_dir=tmp_path / "runs", jobs=1,
                        sweep__method="random", sweep__trials=3, train__eta="loguniform(0.01,1)")
    text = repr(sweep)
    assert "random search of 3 trials: train.eta loguniform(0.01,1)" in text and "× 18" not in text
    for name in ("search_history", "search_parallel"):
        assert sweep.figure(name).axes
    with pytest.raises(nnrun.NnrunError, match="its pictures: search_history, search_parallel"):
        sweep.figure("curves")
    assert sweep._repr_html_().count("data:image/png;base64,") == 2


def test_a_keyword_with_one_underscore_is_told_to_use_two(tmp_path):
    with pytest.raises(nnrun.NnrunError, match=r"keyword train_eta=0.1: a dotted key is written with two "
                                               r"underscores for each dot, e\.g\. train__eta=0.1 for train\.eta"):
        nnrun.run(small_config(), train_eta=0.1, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_a_script_without_the_main_guard_is_told_to_add_it_and_trains_nothing_twice(tmp_path):
    """Cold read: nnrun.sweep in a script without `if __name__ == "__main__":` ran the script
    again in every worker (two extra runs), failed with multiprocessing's traceback and left an
    empty sweep folder. Now the workers stop at once and the sweep says what to do."""
    import subprocess
    import sys

    (tmp_path / "configs").symlink_to(CONFIGS)
    (tmp_path / "script.py").write_text(
        "import nnrun\n"
        "run = nnrun.run('configs/higham_2232.yaml', train__iterations=200)\n"
        "grid = nnrun.sweep('configs/higham_2232.yaml', 'train.iterations=200', train__eta='0.05,0.5')\n")
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("nnrun.errors.NnrunError: the sweep's workers stopped as they started") and \
        'if __name__ == "__main__":' in last and str(tmp_path / "script.py") in last, done.stderr
    assert done.stderr.count("Traceback") == 1  # the script's own, none from the workers
    assert [p.name.endswith("-higham_2232") for p in (tmp_path / "runs").iterdir()] == [True]  # the one run
