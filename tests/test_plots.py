"""Pictures: the registry, the new pictures, redraws, snapshots, and the defects of issue 11."""

from pathlib import Path

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nnrun
from conftest import CONFIGS, cli, r2_of_saved_run, read_metrics, run_dir_from, small_config
from nnrun.plots import PICTURES, curves, draw_run, plane
from nnrun.plots import heatmaps as plots_heatmaps
from nnrun.plots import sweep as plots_sweep
from nnrun.plots import sweep_curves as plots_sweep_curves
from nnrun.maths.snapshots import snapshot_iterations
from nnrun.maths.network import Network
from nnrun.training import build_network

DIGITS = {"source": "digits", "path": str(CONFIGS.parent / "datasets" / "digits.csv"), "test_fraction": 0.2,
          "transform": ["minmax"]}


def pictures(run_dir: Path) -> set[str]:
    return {p.name for p in run_dir.iterdir() if p.suffix in (".png", ".gif", ".pdf", ".svg")}


def train(write_config, runs_dir, cfg, *args) -> Path:
    result = cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q", *args)
    assert result.exit_code == 0, result.output
    return run_dir_from(result)


def redraw_all(run_dir: Path) -> set[str]:
    """Delete every picture, redraw with nnrun plot; the pictures there afterwards."""
    before = pictures(run_dir)
    for name in before:
        (run_dir / name).unlink()
    result = cli("plot", run_dir)
    assert result.exit_code == 0, result.output
    assert pictures(run_dir) == before
    return before


def test_every_picture_comes_from_its_familys_own_table():
    """Adding a picture is one file: its family module's PICTURES. nnrun.plots joins every
    module's table that has one, each name once, none dropped, in the order drawn."""
    import importlib
    import pkgutil

    import nnrun.plots

    tables = {}
    for info in pkgutil.iter_modules(nnrun.plots.__path__):
        module = importlib.import_module(f"nnrun.plots.{info.name}")
        if isinstance(getattr(module, "PICTURES", None), dict):
            tables[info.name] = module.PICTURES
    owners = {}
    for family, table in tables.items():
        for name, picture in table.items():
            owners.setdefault(name, []).append(family)
            assert PICTURES.get(name) is picture, f"{family}.PICTURES['{name}'] is not in nnrun.plots.PICTURES"
    assert {name: fams for name, fams in owners.items() if len(fams) > 1} == {}, "a picture in two families"
    assert set(PICTURES) == set(owners), f"pictures in no family's table: {sorted(set(PICTURES) - set(owners))}"
    assert list(PICTURES) == ["loss", "accuracy", "data", "regions", "neurons", "network", "confusion", "features",
                              "misclassified", "fit", "residuals", "animation"]


# --------------------------------------------------------------------- which pictures where
def test_an_image_classifier_draws_features_confusion_misclassified_and_redraws_them(write_config, runs_dir):
    cfg = small_config(data=DIGITS, model={"architecture": "64-12-10", "activation": "sigmoid", "output": "softmax"},
                       train={"loss": "cross_entropy", "eta": 0.5, "epochs": 3, "batch_size": 50,
                              "iterations": None, "log_every": None})
    run_dir = train(write_config, runs_dir, cfg)
    assert redraw_all(run_dir) == {"loss.png", "accuracy.png", "network.png", "confusion.png", "features.png",
                                   "misclassified.png"}
    assert cli("plot", run_dir, "--format", "svg").exit_code == 0 and (run_dir / "features.svg").exists()


def test_confusion_keeps_long_class_names_and_its_labels_on_the_picture(monkeypatch, tmp_path):
    """iris' "versicolor" pushed the "true class" label off the left edge (cold read)."""
    from nnrun.data import load_data
    from nnrun.plots import classes

    cfg = nnrun.load_config(str(CONFIGS / "iris.yaml"))
    figures = []
    monkeypatch.setattr(classes, "save", lambda fig, path: figures.append(fig))
    classes.plot_confusion(build_network(cfg, np.random.default_rng(0)), load_data(cfg), cfg, tmp_path / "c.png")
    fig = figures[0]
    fig.canvas.draw()
    ax = fig.axes[0]
    for text in [ax.yaxis.label, *ax.get_yticklabels(), ax.xaxis.label, *fig.axes[1].texts, fig.axes[1].yaxis.label]:
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, text.get_text()
    # every cell says its count: an untrained net leaves empty cells, which were blank (cold read)
    assert len(ax.texts) == 3 * 3 and "0" in [t.get_text() for t in ax.texts]


def test_coinciding_accuracies_stay_visible_and_neuron_maps_say_what_their_colour_is(monkeypatch, tmp_path):
    """Cold read: accuracy.png hid the training curve under the test curve (both at 1.0),
    and neurons.png's colour bars had no label."""
    from nnrun.data import load_data
    from nnrun.plots import plane

    cfg = nnrun.load_config(str(CONFIGS / "relu_ellipse.yaml"))
    it = np.arange(0, 101, 10.0)
    history = pd.DataFrame({"iteration": it, "train_accuracy": np.ones(len(it)), "test_accuracy": np.ones(len(it))})
    figures = capture(monkeypatch, curves)
    curves.plot_accuracy(history, cfg, tmp_path / "accuracy.png", n_classes=2)
    ax = figures[0].axes[0]
    train_line, test_line = ax.lines[:2]
    assert train_line.get_label() == "training accuracy" and test_line.get_label() == "test accuracy"
    assert train_line.get_linewidth() >= 2 * test_line.get_linewidth()  # its border shows around the test line
    assert ax.get_ylim()[1] > 1.01
    figures = capture(monkeypatch, plane)
    network = build_network(cfg, np.random.default_rng(0))
    plane.plot_neurons(network, load_data(cfg), cfg, tmp_path / "neurons.png")
    bars = [a for a in figures[0].axes if a.get_label() == "<colorbar>"]
    assert [b.get_ylabel() for b in bars] == ["relu(z)", "relu(z)", "softmax(z)"]


def test_regressions_draw_fit_and_residuals_and_redraw_them(write_config, runs_dir):
    sine = small_config(data={"source": "sine", "n_samples": 80, "test_fraction": 0.25},
                        model={"architecture": "1-8-1", "activation": "tanh", "output": "identity"},
                        train={"loss": "quadratic", "eta": 0.05, "iterations": 400, "batch_size": 8,
                               "snapshots": 5})
    run_dir = train(write_config, runs_dir, sine)
    assert read_metrics(run_dir)["train_r2"] == pytest.approx(r2_of_saved_run(run_dir)[0], rel=1e-12)
    assert redraw_all(run_dir) == {"loss.png", "network.png", "fit.png", "residuals.png", "animation.gif"}
    franke = small_config(data={"source": "franke", "n_samples": 100, "test_fraction": 0.2},
                          model={"architecture": "2-6-1", "activation": "tanh", "output": "identity"},
                          train={"loss": "quadratic", "eta": 0.05, "iterations": 300, "batch_size": 8})
    run_dir = train(write_config, runs_dir, franke, "--name", "surface")
    assert redraw_all(run_dir) == {"loss.png", "network.png", "fit.png", "residuals.png", "data.png",
                                   "neurons.png"}


def test_franke_is_franke():
    from nnrun.data import franke_function

    # values of the published formula at three points, computed by hand from its four terms
    x, y = np.array([0.0, 0.5, 2 / 9]), np.array([0.0, 0.5, 2 / 9])
    expected = [0.75 * np.exp(-1 - 1) + 0.75 * np.exp(-1 / 49 - 0.1) + 0.5 * np.exp(-49 / 4 - 9 / 4)
                - 0.2 * np.exp(-16 - 49),
                0.75 * np.exp(-6.25 / 4 * 2) + 0.75 * np.exp(-5.5 ** 2 / 49 - 0.55) + 0.5 * np.exp(-6.25 / 4 - 2.25 / 4)
                - 0.2 * np.exp(-0.25 - 6.25),
                0.75 + 0.75 * np.exp(-9 / 49 - 0.3) + 0.5 * np.exp(-25 / 4 - 1 / 4) - 0.2 * np.exp(-4 - 25)]
    assert np.allclose(franke_function(x, y), expected, rtol=1e-12)


def test_a_bad_image_shape_exits_2_naming_the_key(write_config, runs_dir):
    cfg = small_config(data={**DIGITS, "image_shape": [8, 7]},
                       model={"architecture": "64-5-10", "output": "softmax"}, train={"loss": "cross_entropy"})
    result = cli("train", write_config(cfg), "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 2 and "data.image_shape" in result.stderr and "64" in result.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_polar_data_shows_the_inputs_the_network_sees(monkeypatch, tmp_path):
    cfg = nnrun.load_config(str(CONFIGS / "polar_ellipse.yaml"))
    data = nnrun.load_data(cfg)
    figures = capture(monkeypatch, plane)
    plane.plot_data(data, cfg, tmp_path / "data.png")
    axes = [ax for ax in figures[0].axes if ax.get_xlabel()]
    assert len(axes) == 2 and axes[1].get_xlabel().startswith("r =") and "θ" in axes[1].get_ylabel()


# ------------------------------------------------------------------------------ snapshots
def test_snapshot_iterations_are_distinct_include_both_ends_and_crowd_the_start():
    for total in (1, 7, 60, 1000, 12345, 10**6):
        for n in (1, 2, 17, 60):
            its = snapshot_iterations(total, n)
            assert its[-1] == total and len(its) == min(n, total + 1) and np.all(np.diff(its) > 0)
            if n > 1:
                assert its[0] == 0
    its = snapshot_iterations(10000, 60)
    assert np.sum(its < 2500) > 25 and np.sum(its > 7500) >= 5  # dense early, but the end is seen


def test_snapshots_change_no_number_and_animate(write_config, runs_dir):
    cfg = small_config(train={"iterations": 500, "log_every": 50})
    plain = train(write_config, runs_dir, cfg)
    snapped = train(write_config, runs_dir, small_config(train={"iterations": 500, "log_every": 50, "snapshots": 12}))
    a, b = np.load(plain / "model.npz"), np.load(snapped / "model.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)
    assert pd.read_csv(plain / "history.csv").drop(columns="seconds").equals(
        pd.read_csv(snapped / "history.csv").drop(columns="seconds"))
    with np.load(snapped / "snapshots.npz") as s:
        assert s["iterations"].tolist() == snapshot_iterations(500, 12).tolist()
        assert np.array_equal(s["theta"][-1], Network.from_npz(snapped / "model.npz").theta)
        assert not np.array_equal(s["theta"][0], s["theta"][-1])
    gif = Image.open(snapped / "animation.gif")
    assert gif.n_frames == 12
    assert "animation.gif" not in pictures(plain)


# --------------------------------------------------------------------- never crash a run
def test_nan_weights_never_crash_any_picture(tmp_path):
    for config, overrides in (("relu_ellipse.yaml", []), ("sine_regression.yaml", []),
                              ("franke_regression.yaml", []), ("digits_sweep.yaml", [])):
        cfg = nnrun.load_config(str(CONFIGS / config), overrides)
        data = nnrun.load_data(cfg)
        net = build_network(cfg, np.random.default_rng(0))
        net.theta[::3] = np.nan
        net.theta[1::3] = np.inf
        history = pd.DataFrame({"iteration": [0, 10, 20], "train_loss": [1.0, 1e250, np.inf],
                                "test_loss": [1.0, np.nan, np.nan], "train_accuracy": [0.5, np.nan, np.nan],
                                "test_accuracy": [0.5, 0.5, np.nan], "seconds": [0, 1, 2]})
        snapshots = (np.array([0, 20]), np.vstack([net.theta, net.theta]))
        messages = []
        run_dir = tmp_path / config
        run_dir.mkdir()
        written = draw_run(run_dir, cfg, history, net, data, {"status": "diverged", "diverged_at": 20},
                           snapshots=snapshots, log=messages.append)
        assert not messages, messages
        assert {p.name for p in written} >= {"loss.png", "network.png"}


def test_a_failing_picture_costs_one_warning_line_not_the_run(write_config, runs_dir, monkeypatch):
    def broken(run, path):
        raise RuntimeError("boom")

    monkeypatch.setitem(PICTURES, "network", PICTURES["network"]._replace(draw=broken))
    result = cli("train", write_config(small_config()), "--runs-dir", runs_dir, "-q")
    assert result.exit_code == 0
    assert "network.png was not drawn (RuntimeError: boom)" in result.stderr
    assert {"loss.png", "regions.png", "confusion.png"} <= pictures(run_dir_from(result))


# --------------------------------------------------------------------- defects of issue 11
def capture(monkeypatch, module):
    """Keep the figures a plotting module saves (save() closes them otherwise)."""
    figures = []
    monkeypatch.setattr(module, "save", lambda fig, path: figures.append(fig))
    return figures


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("config", ["ps5_sigmoid7.yaml", "relu_ellipse.yaml", "moons_deep_relu.yaml"])
def test_legends_never_cover_the_data(config, monkeypatch, tmp_path):
    cfg = nnrun.load_config(str(CONFIGS / config))
    data = nnrun.load_data(cfg)
    net = build_network(cfg, np.random.default_rng(0))
    figures = capture(monkeypatch, plane)
    plane.plot_data(data, cfg, tmp_path / "data.png")
    plane.plot_regions(net, data, cfg, tmp_path / "regions.png")
    for fig in figures:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert legend is not None and not _overlaps(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
        assert _inside_figure(fig, legend)
    # cold read: regions.png's legend named the points but not the shading; a map of several
    # units (the class by colour) says what it is, one unit has its colour bar instead
    labels = [t.get_text() for t in figures[1].axes[0].get_legend().get_texts()]
    assert ("shade: class predicted there" in labels) == (net.sizes[-1] > 1), labels


@pytest.mark.parametrize("config", ["moons_deep_relu.yaml", "sine_regression.yaml"])
def test_the_animation_keeps_its_legends_off_the_data(config, monkeypatch, tmp_path):
    """The loss legend sat inside the loss axes, over the flat start of the curves (cold read);
    a regression's animation had no legend for its points and fit."""
    import matplotlib.pyplot as plt

    from nnrun.plots import animation

    cfg = nnrun.load_config(str(CONFIGS / config))
    data = nnrun.load_data(cfg)
    net = build_network(cfg, np.random.default_rng(0))
    figures, subplots = [], plt.subplots
    monkeypatch.setattr(plt, "subplots", lambda *a, **k: figures.append(subplots(*a, **k)) or figures[-1])
    history = pd.DataFrame({"iteration": [0.0, 40.0], "train_loss": [0.7, 0.6], "test_loss": [0.7, 0.65]})
    animation.plot_animation(net, data, cfg, history, (np.array([0, 40]), np.vstack([net.theta, net.theta])),
                             tmp_path / "animation.gif")
    fig, axes = figures[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax in axes:
        legend = ax.get_legend()
        assert legend is not None and not _overlaps(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
        # readable in the GIF's pixels: its 7-pt legends were ~8 pixels tall (cold read)
        pixels = animation.GIF_DPI / fig.dpi  # the GIF's pixels per pixel measured here
        assert all(t.get_window_extent(renderer).height * pixels >= 10 for t in legend.get_texts())
    if data.task == "classification":  # the shapes' legend: filled, as the points are
        train = next(h for h in axes[0].get_legend().legend_handles if h.get_label() == "train")
        assert train.get_markerfacecolor() not in ("w", "white", (1.0, 1.0, 1.0, 1.0))


def test_a_flat_map_has_no_decision_boundary_and_says_so_a_real_one_gets_its_contour(monkeypatch, tmp_path):
    """Issue 23: the first frame of moons_deep_relu's animation (output 0.499-0.501 everywhere)
    was a flat map crossed by stray 0.5 contours through ripples of a few thousandths."""
    import matplotlib.pyplot as plt
    from matplotlib.contour import ContourSet

    from nnrun.plots import animation

    flat = 0.5 + 0.001 * np.linspace(-1, 1, 50)
    assert plane.boundary_note(flat) == "no decision boundary yet: output 0.499–0.501"
    assert plane.boundary_note(np.linspace(0.1, 0.9, 50)) == ""
    assert plane.boundary_note(np.linspace(0.6, 0.9, 50)) == \
        "no decision boundary: output 0.600–0.900, above 0.5 everywhere"

    cfg = nnrun.load_config(str(CONFIGS / "moons_deep_relu.yaml"))
    data = nnrun.load_data(cfg)
    net = build_network(cfg, np.random.default_rng(0))
    fig, ax = plt.subplots()
    scene = animation._Regions(ax, fig, net, cfg, data, [net.theta])
    fig.canvas.draw()
    drawn, contour = [], ax.contour
    monkeypatch.setattr(ax, "contour", lambda *a, **k: drawn.append(contour(*a, **k)) or drawn[-1])
    x1 = scene.inputs[:, :1]
    scene.draw(0.5 + 0.001 * np.tanh(x1))  # a frame of a fresh network: flat, crossing 0.5
    assert drawn == [] and scene.note.get_text().startswith("no decision boundary yet: output 0.499–0.50")
    scene.draw(1 / (1 + np.exp(-4 * x1)))  # a frame with a boundary
    assert len(drawn) == 1
    plt.close(fig)

    # regions.png: the same rule, the same note
    G0, G1, points = plane.grid(data, 40)
    inputs = data.transform(points)[:, :1]
    for out, contoured in ((0.5 + 0.001 * np.tanh(inputs), False), (1 / (1 + np.exp(-4 * inputs)), True)):
        fig, ax = plt.subplots()
        plane.draw_map(ax, fig, G0, G1, out, cfg, data)
        assert any(isinstance(c, ContourSet) for c in ax.collections) == contoured
        assert any(t.get_text().startswith("no decision boundary yet") for t in ax.texts) != contoured
        plt.close(fig)


def test_the_animation_shares_one_colour_scale_over_its_frames_for_an_unbounded_output(monkeypatch):
    """The scale of a one-unit output that is not a sigmoid came from the first frame alone
    (nearly flat): every later frame saturated it."""
    import matplotlib.pyplot as plt

    from nnrun.plots import animation

    cfg = nnrun.load_config(str(CONFIGS / "moons_deep_relu.yaml"), ["model.output=identity", "train.loss=quadratic"])
    data = nnrun.load_data(cfg)
    net = build_network(cfg, np.random.default_rng(0))
    thetas = [net.theta.copy(), 3 * net.theta]
    fig, ax = plt.subplots()
    scene = animation._Regions(ax, fig, net, cfg, data, thetas)
    outs = []
    for theta in thetas:
        net.theta[:] = theta
        outs.append(net.predict(scene.inputs))
    assert scene.mesh.get_clim() == pytest.approx((min(o.min() for o in outs), max(o.max() for o in outs)))
    plt.close(fig)


def _loss_history(values):
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({"iteration": np.arange(len(values)) * 10.0, "train_loss": values,
                         "test_loss": np.full(len(values), np.nan)})


def test_a_diverged_curve_draws_every_finite_record(tmp_path):
    cfg = nnrun.load_config(str(CONFIGS / "digits_sweep.yaml"))
    # E5's eta=100 cell: the loss grows ~45 decades per record, then overflows
    values = [7.3, 9e45, 8.9e90, 9e135, 8.6e180, 8e225, 7e270, np.inf, np.nan]
    curves.plot_loss(_loss_history(values), cfg, tmp_path / "loss.png", "diverged", diverged_at=80)
    line = curves._LOSS_FIGURE[0].lines["train_loss"]
    assert len(line.get_xdata()) == 7 and line.get_xdata()[-1] == 60
    with np.errstate(over="ignore"):  # matplotlib's tick maths near 1e300
        labels = [t.get_text() for t in curves._LOSS_FIGURE[0].ax.get_yticklabels() if t.get_text()]
    assert 3 <= len(labels) <= 12  # readable: neither 2 nor one per decade


def test_a_narrow_log_axis_labels_the_plateau(tmp_path):
    cfg = nnrun.load_config(str(CONFIGS / "higham_relu.yaml"))
    # higham_relu: from ~0.32 down to a plateau at 0.25
    values = np.concatenate([np.linspace(0.32, 0.25, 20), np.full(80, 0.25)])
    curves.plot_loss(_loss_history(values), cfg, tmp_path / "loss.png")
    ax = curves._LOSS_FIGURE[0].ax
    ticks = [float(t) for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert 0.25 in ticks and len(ticks) >= 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "0.25" in labels


def test_titles_use_the_run_name(write_config, runs_dir):
    from nnrun.plots import redraw_run

    run_dir = train(write_config, runs_dir, small_config(), "--name", "my-experiment")
    redraw_run(run_dir, only=("loss",))  # here, not in a forked copy: the figure stays to be read
    assert curves._LOSS_FIGURE[0].ax.get_title().startswith("my-experiment: ")
    from nnrun.store.names import folder_name

    assert folder_name(run_dir, "tiny") == "my-experiment"
    assert folder_name("20261123-034720-moons-2", "x") == "moons"
    assert folder_name("20261123-034720-digits-sweep", "x") == "digits"
    assert folder_name("c001_eta=0.1_seed=0", "tiny") == "tiny"


def test_raster_pictures_are_at_least_150_dpi(write_config, runs_dir):
    run_dir = train(write_config, runs_dir, small_config())
    for png in run_dir.glob("*.png"):
        dpi = Image.open(png).info["dpi"]
        assert min(dpi) >= 149.5, (png.name, dpi)



def test_png_writer_keeps_every_pixel_and_the_resolution(tmp_path):
    """nnrun writes PNGs itself (unfiltered rows, issue 11): what a decoder reads back is
    exactly Agg's buffer, and what savefig through Pillow would have written."""
    import matplotlib.pyplot as plt

    from nnrun.plots.png import png_bytes
    from nnrun.plots.style import DPI, save_figure

    rgba = np.random.default_rng(0).integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    (tmp_path / "noise.png").write_bytes(png_bytes(rgba, 150, {"Software": "nnrun test"}))
    image = Image.open(tmp_path / "noise.png")
    assert image.mode == "RGBA" and image.size == (5, 7)
    assert np.array_equal(np.asarray(image), rgba)
    assert image.info["Software"] == "nnrun test" and min(image.info["dpi"]) >= 149.5

    fig, ax = plt.subplots(figsize=(3.3, 2.1), dpi=DPI)  # 495 x 315 pixels
    ax.plot([0, 1, 2], [1, 0, 2], label="a line")
    ax.set_title("title")
    ax.legend()
    save_figure(fig, tmp_path / "ours.png")
    fig.savefig(tmp_path / "pillow.png", dpi=DPI)
    plt.close(fig)
    ours, pillow = Image.open(tmp_path / "ours.png"), Image.open(tmp_path / "pillow.png")
    assert ours.size == pillow.size == (495, 315)
    assert np.array_equal(np.asarray(ours), np.asarray(pillow))
    assert ours.info == pillow.info


def test_png_writer_gives_way_to_savefig_when_matplotlibrc_crops(tmp_path):
    """A user's matplotlibrc with savefig.bbox: tight makes savefig crop the pixels; the
    picture is then written by savefig (cropped, as before issue 11), never lost."""
    import matplotlib.pyplot as plt

    from nnrun.plots.style import DPI, save_figure

    with plt.rc_context({"savefig.bbox": "tight"}):
        fig, ax = plt.subplots(figsize=(3.3, 2.1), dpi=DPI)
        ax.plot([0, 1], [0, 1])
        save_figure(fig, tmp_path / "ours.png")
        fig.savefig(tmp_path / "pillow.png", dpi=DPI)
        plt.close(fig)
    ours, pillow = Image.open(tmp_path / "ours.png"), Image.open(tmp_path / "pillow.png")
    assert ours.size == pillow.size != (495, 315)
    assert np.array_equal(np.asarray(ours), np.asarray(pillow))

def _sweep_results(seeds=1):
    rows = []
    for eta in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0):
        for lam in (1e-5, 1e-3, 1e-1, 10.0):
            for seed in range(seeds):
                bad = eta == 10.0 and lam == 10.0
                rows.append({"train.eta": eta, "train.lambda": lam, "seed": seed,
                             "status": "diverged" if bad else "completed",
                             "train_loss": np.nan if bad else 10 ** (-3 * eta) + lam * 0.1,
                             "test_loss": np.nan, "train_accuracy": 0.1 + 0.8 * (eta > 1e-3),
                             "test_accuracy": 0.1 + 0.7 * (eta > 1e-3)})
    axes = {"train.eta": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0], "train.lambda": [1e-5, 1e-3, 1e-1, 10.0]}
    return pd.DataFrame(rows), axes


def capture_sweep(monkeypatch):
    figures = []
    for module in (plots_sweep, plots_heatmaps, plots_sweep_curves):  # each draws its own pictures
        monkeypatch.setattr(module, "save_figure", lambda fig, path: figures.append(fig))
    monkeypatch.setattr(plots_sweep.plt, "close", lambda fig=None: None)
    return figures


def test_heatmaps_are_titled_with_the_sweep_name_one_label_style_and_readable_colour_bars(monkeypatch, tmp_path):
    results, axes = _sweep_results(seeds=2)
    figures = capture_sweep(monkeypatch)
    folder = tmp_path / "20261123-040633-digits-sweep"
    folder.mkdir()
    plots_sweep.draw_sweep(folder, results, axes)
    fig = figures[0]
    title = fig._suptitle.get_text()
    assert title.startswith("digits: train.eta × train.lambda") and "20261123" not in title
    assert "mean over 2 seeds" in title
    heat = fig.axes[0]
    assert [t.get_text() for t in heat.get_yticklabels()] == ["10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹"]
    loss_bar = fig.axes[-1]
    fig.canvas.draw()
    labels = [t.get_text() for t in loss_bar.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3, labels


def test_one_label_style_for_values_that_are_not_powers_of_ten():
    assert plots_sweep.axis_labels([1e-5, 3e-3, 0.01, 10.0]) == ["1.0e-05", "3.0e-03", "1.0e-02", "1.0e+01"]
    assert plots_sweep.axis_labels([0.05, 0.1, 0.5]) == ["0.05", "0.1", "0.5"]
    assert plots_sweep.axis_labels([0.05, 0.5, 2, 20]) == ["0.05", "0.5", "2", "20"]  # was 5.0e-02 … 2.0e+01
    assert plots_sweep.axis_labels([0.0031622776601683794, 0.1, 3.1622776601683795]) == ["0.00316", "0.1", "3.16"]
    assert plots_sweep.axis_labels(["relu", "tanh"]) == ["relu", "tanh"]


def _one_axis_seeds(losses: dict) -> pd.DataFrame:
    """A one-axis sweep over train.eta with one row per (eta, seed), final training loss given."""
    return pd.DataFrame([{"train.eta": eta, "seed": seed, "status": "completed", "train_loss": loss,
                          "test_loss": np.nan, "train_accuracy": 0.9, "test_accuracy": np.nan,
                          "folder": f"c{k}_{seed}"}
                         for k, (eta, seeds) in enumerate(losses.items()) for seed, loss in enumerate(seeds, 1)])


def test_a_one_axis_sweep_shows_every_seed_on_its_log_loss_axis(monkeypatch, tmp_path):
    """metrics.png drew mean ± 1 std: at eta=2 (seeds 1.3e-5, 0.067, 2.7e-5: 0.022 ± 0.039)
    the bar ran below zero, off the log axis, and the two good seeds were nowhere."""
    losses = {0.05: [0.13, 0.13, 0.12], 0.5: [4e-4, 1.2e-4, 1.8e-3], 2.0: [1.3e-5, 0.067, 2.7e-5]}
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, _one_axis_seeds(losses), {"train.eta": list(losses)}, pictures=("results",))
    fig = figures[0]
    assert "mean over 3 seeds, small dots each seed" in fig._suptitle.get_text()
    loss_ax = next(ax for ax in fig.axes if ax.get_yscale() == "log")
    dots = np.vstack([c.get_offsets() for c in loss_ax.collections if len(c.get_offsets()) == 9])
    assert sorted(dots[:, 1]) == sorted(v for seeds in losses.values() for v in seeds)
    means = next(line for line in loss_ax.lines if len(line.get_ydata()) == 3).get_ydata()
    assert list(means) == pytest.approx([np.mean(v) for v in losses.values()], rel=1e-12)
    lo, hi = loss_ax.get_ylim()
    assert lo < 1.3e-5 and hi > 0.13  # every seed and mean inside the axes, none on its frame
    assert not [c for c in loss_ax.collections if type(c).__name__ == "LineCollection"]  # no error bars
    # one seed: no dots, no word of seeds
    plots_sweep.draw_sweep(tmp_path, _one_axis_seeds({eta: v[:1] for eta, v in losses.items()}),
                           {"train.eta": list(losses)}, pictures=("results",))
    assert "seed" not in figures[1]._suptitle.get_text() and not figures[1].axes[-1].collections


def test_a_one_axis_sweep_labels_its_own_values_and_keeps_accuracy_below_one(monkeypatch, tmp_path):
    """Cold read: the README's first sweep (train.eta=0.01,0.05,0.2) drew a log x axis labelled
    only 10⁻² and 10⁻¹, and a flat training accuracy of 1.0 on an axis running to 1.04."""
    results = _one_axis_seeds({0.01: [0.25], 0.05: [0.15], 0.2: [0.12]}).assign(train_accuracy=1.0)
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, results, {"train.eta": [0.01, 0.05, 0.2]}, pictures=("results",))
    fig = figures[0]
    fig.canvas.draw()
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.05", "0.2"]
        assert not ax.xaxis.get_minor_ticks() or not any(t.get_visible() and t.label1.get_text()
                                                          for t in ax.xaxis.get_minor_ticks())
    accuracy = next(ax for ax in fig.axes if ax.get_yscale() == "linear")
    assert accuracy.get_ylim()[1] <= 1.02


def test_a_one_axis_sweeps_curves_say_the_seeds_are_overlaid_not_averaged(monkeypatch, tmp_path):
    """curves.png's title said 'each cell the mean over 3 seeds' above one line per seed."""
    losses = {0.05: [0.13, 0.13, 0.12], 0.5: [4e-4, 1.2e-4, 1.8e-3]}
    results = _one_axis_seeds(losses)
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, results, {"train.eta": list(losses)}, histories=_cell_histories(results),
                           pictures=("curves",))
    fig = figures[0]
    assert "3 seeds overlaid, a thin line each" in fig._suptitle.get_text() and "mean" not in fig._suptitle.get_text()
    loss_ax = fig.axes[0]
    assert len([line for line in loss_ax.lines if line.get_linestyle() == "-"]) == 6  # one per seed
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["0.05", "0.5"]
    assert all(ax.xaxis.get_major_formatter()(10000) == "10,000" for ax in fig.axes[:2])  # as loss.png
    # a seed axis: one line per value, nothing said of overlaid seeds
    seed_axis = results[results["train.eta"] == 0.05]
    plots_sweep.draw_sweep(tmp_path, seed_axis, {"seed": [1, 2, 3]}, histories=_cell_histories(seed_axis),
                           pictures=("curves",))
    assert "overlaid" not in figures[1]._suptitle.get_text()


def test_an_accuracy_that_flips_at_every_step_is_drawn_pale_under_its_running_mean(monkeypatch, tmp_path):
    """Cold read: E1's accuracy over its ten points flips between 0.5 and 0.8 at every step;
    drawn as one bold line it was a solid block. The records stay (pale), their running mean
    is the bold line, and the legend says so."""
    cfg = nnrun.load_config(str(CONFIGS / "higham_2232.yaml"))
    it = np.arange(20001.0)
    flips = np.where(np.arange(20001) % 2, 0.8, 0.5)
    history = pd.DataFrame({"iteration": it, "train_accuracy": flips})
    figures = capture(monkeypatch, curves)
    curves.plot_accuracy(history, cfg, tmp_path / "accuracy.png", n_classes=2)
    fig = figures[0]
    ax = fig.axes[0]
    pale, mean = ax.lines[0], ax.lines[1]
    assert pale.get_alpha() == 0.3 and pale.get_linewidth() < 1 and max(pale.get_ydata()) == 0.8
    assert np.allclose(mean.get_ydata()[5:-5], 0.65, atol=0.01)  # the mean of 200 records around each
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["training accuracy,\nmean of 200 records", "each record", "chance (1/2)"]
    assert _inside_figure(fig, ax.get_legend())
    # a curve that climbs keeps its one line
    figures.clear()
    curves.plot_accuracy(history.assign(train_accuracy=np.linspace(0.5, 1.0, len(it))), cfg, tmp_path / "a.png",
                         n_classes=2)
    assert [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()] == ["training accuracy", "chance (1/2)"]


def test_validation_columns_are_drawn_when_history_has_them(monkeypatch, tmp_path):
    cfg = nnrun.load_config(str(CONFIGS / "relu_ellipse.yaml"))
    it = np.arange(0, 101, 10.0)
    history = pd.DataFrame({"iteration": it, "train_loss": np.exp(-it / 50), "val_loss": 1.1 * np.exp(-it / 50),
                            "test_loss": 1.2 * np.exp(-it / 50), "train_accuracy": 1 - 0.5 * np.exp(-it / 30),
                            "val_accuracy": 1 - 0.6 * np.exp(-it / 30), "test_accuracy": 1 - 0.7 * np.exp(-it / 30),
                            "eta": np.full(len(it), 0.05), "seconds": it / 100})
    curves.plot_loss(history, cfg, tmp_path / "loss.png")
    assert len(curves._LOSS_FIGURE[0].lines["val_loss"].get_xdata()) == len(it)
    figures = capture(monkeypatch, curves)
    curves.plot_accuracy(history, cfg, tmp_path / "accuracy.png", n_classes=2)
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert labels == ["training accuracy", "validation accuracy", "test accuracy", "chance (1/2)"]
    # without the columns (history.csv of this version) the validation lines are simply absent
    curves.plot_loss(history.drop(columns=["val_loss"]), cfg, tmp_path / "loss.png")
    assert len(curves._LOSS_FIGURE[0].lines["val_loss"].get_xdata()) == 0
    curves.plot_accuracy(history.drop(columns=["val_accuracy"]), cfg, tmp_path / "accuracy.png", n_classes=2)
    assert "validation accuracy" not in [t.get_text() for t in figures[1].axes[0].get_legend().get_texts()]


def _cell_histories(results: pd.DataFrame) -> dict:
    """A short, distinct history per cell (its folder name is its key)."""
    it = np.arange(0, 101, 20.0)
    out = {}
    for k, folder in enumerate(results["folder"]):
        out[folder] = pd.DataFrame({"iteration": it, "train_loss": (1 + k) * np.exp(-it / 40),
                                    "test_loss": (1.5 + k) * np.exp(-it / 50)})
    return out


def test_sweep_curves_overlay_the_seeds_of_a_panel_and_say_so(monkeypatch, tmp_path):
    results, axes = _sweep_results(seeds=2)
    results["folder"] = [f"c{k:03d}" for k in range(len(results))]
    histories = _cell_histories(results)
    figures = capture_sweep(monkeypatch)
    written = plots_sweep.draw_sweep(tmp_path, results, axes, histories=histories)
    assert [p.name for p in written] == ["heatmaps.png", "curves.png"]
    fig = figures[1]
    assert "each panel overlays 2 seeds" in fig._suptitle.get_text()
    (ax,) = fig.axes
    panels = [p for p in ax.patches if str(p.get_gid()).startswith("panel ")]
    assert len(panels) == 7 * 4
    # eta=10, lambda=10 diverged (both seeds): its panel is grey and says so
    grey = next(p for p in panels if p.get_gid() == "panel 6,3")
    assert grey.get_facecolor()[:3] == pytest.approx((0xe0 / 255,) * 3)
    assert "div" in [t.get_text() for t in ax.texts]
    fig.canvas.draw()
    for (i, j), group in results.groupby([results["train.eta"].map(axes["train.eta"].index),
                                          results["train.lambda"].map(axes["train.lambda"].index)]):
        box = next(p for p in panels if p.get_gid() == f"panel {i},{j}").get_window_extent()
        lines = [line for line in ax.lines if line.get_gid() in set(group["folder"])]
        assert len(lines) == 2 * 2  # two seeds, training and test loss each
        for line in lines:
            history = histories[line.get_gid()]
            assert np.array_equal(line.get_xdata(), history["iteration"])
            assert np.array_equal(line.get_ydata(), history[line.get_label()])
            assert line.get_clip_box().bounds == pytest.approx(box.bounds)  # drawn in its own panel


def test_a_one_axis_sweep_labels_a_narrow_loss_range_in_plain_numbers(monkeypatch, tmp_path):
    """metrics.png read 2.465×10⁻¹ ... 2.5×10⁻¹ on its loss axis (three etas of higham_2232)."""
    losses = {0.001: 0.25003, 0.002: 0.24983, 0.005: 0.24959}
    results = pd.DataFrame([{"train.eta": eta, "seed": 1, "status": "completed", "train_loss": loss,
                             "test_loss": np.nan, "train_accuracy": 0.5, "test_accuracy": np.nan}
                            for eta, loss in losses.items()])
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, results, {"train.eta": list(losses)}, pictures=("results",))
    loss_ax = next(ax for ax in figures[0].axes if ax.get_yscale() == "log")
    figures[0].canvas.draw()
    lo, hi = loss_ax.get_ylim()
    labels = [t.get_text() for t in loss_ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert len(labels) >= 3 and all(re.fullmatch(r"0\.\d+", text) for text in labels), labels


def test_sweep_curves_are_left_out_beyond_15_panels_a_side_in_one_log_line(monkeypatch, tmp_path):
    rows = [{"train.eta": 0.01 * (k + 1), "train.lambda": lam, "seed": 0, "status": "completed",
             "train_loss": 0.5, "test_loss": 0.6, "train_accuracy": 0.9, "test_accuracy": 0.8,
             "folder": f"c{k}_{lam}"} for k in range(16) for lam in (0.0, 0.1)]
    results = pd.DataFrame(rows)
    axes = {"train.eta": [0.01 * (k + 1) for k in range(16)], "train.lambda": [0.0, 0.1]}
    capture_sweep(monkeypatch)
    notes = []
    written = plots_sweep.draw_sweep(tmp_path, results, axes, histories=_cell_histories(results), log=notes.append)
    assert [p.name for p in written] == ["heatmaps.png"]
    assert len(notes) == 1 and "16 x 2" in notes[0] and "more than 15" in notes[0]
    axes["train.eta"], results = axes["train.eta"][:15], results[results["train.eta"] < 0.155]
    notes.clear()
    written = plots_sweep.draw_sweep(tmp_path, results, axes, histories=_cell_histories(results), log=notes.append)
    assert [p.name for p in written] == ["heatmaps.png", "curves.png"] and not notes


def _heat_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_heatmaps_annotate_the_mean_over_seeds_with_its_std(monkeypatch, tmp_path):
    accuracy = {(0.1, 0.0): [0.90, 0.94], (0.1, 0.1): [0.50, 0.60], (1.0, 0.0): [0.962, 0.962],
                (1.0, 0.1): [0.70, 0.71]}
    rows = [{"train.eta": eta, "train.lambda": lam, "seed": s, "status": "completed", "test_accuracy": acc,
             "train_accuracy": acc, "train_loss": 0.01 * (1 + s) * (1 + eta), "test_loss": np.nan}
            for (eta, lam), accs in accuracy.items() for s, acc in enumerate(accs)]
    results, axes = pd.DataFrame(rows), {"train.eta": [0.1, 1.0], "train.lambda": [0.0, 0.1]}
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, results, axes)
    texts = _heat_texts(figures[0])
    for (eta, lam), accs in accuracy.items():
        assert f"{np.mean(accs):.3f}\n±{np.std(accs, ddof=1):.3f}" in texts
    losses = [t.get_text() for t in figures[0].axes[2].texts]  # the loss panel: 2 significant digits
    seeds = [0.01 * 1.1, 0.02 * 1.1]
    assert f"{np.mean(seeds):.2g}\n±{np.std(seeds, ddof=1):.2g}" in losses
    assert "± their standard deviation" in figures[0]._suptitle.get_text()
    # one seed: no ± at all
    plots_sweep.draw_sweep(tmp_path, results[results["seed"] == 0], axes)
    assert not any("±" in t for t in _heat_texts(figures[-1]))


def test_a_seed_axis_beyond_the_first_two_is_averaged_not_the_best_of(monkeypatch, tmp_path):
    accuracy = {0.1: [0.90, 0.20], 1.0: [0.80, 0.70]}
    rows = [{"train.eta": eta, "train.lambda": 0.0, "seed": seed, "status": "completed", "test_accuracy": acc,
             "train_accuracy": acc, "train_loss": 0.1, "test_loss": np.nan}
            for eta, accs in accuracy.items() for seed, acc in zip((1, 2), accs)]
    axes = {"train.eta": [0.1, 1.0], "train.lambda": [0.0], "seed": [1, 2]}
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, pd.DataFrame(rows), axes)
    texts = _heat_texts(figures[0])
    assert f"{0.55:.3f}\n±{np.std([0.9, 0.2], ddof=1):.3f}" in texts  # not the lucky seed's 0.900
    assert "best over" not in figures[0].axes[0].get_title()


def test_heatmaps_over_three_axes_show_each_squares_best_cell_and_why_a_square_has_none(monkeypatch, tmp_path):
    """A third axis: each square shows its best cell (the mean over seeds; the first in the
    axis's order on a tie) and that cell's spread; a square whose cells all diverged, were
    pruned or failed says so (div over pruned over fail); a square with no cell says nothing."""
    def row(eta, lam, hidden, seed, status, acc):
        return {"train.eta": eta, "train.lambda": lam, "model.hidden": hidden, "seed": seed, "status": status,
                "test_accuracy": acc, "train_accuracy": acc, "train_loss": 0.5, "test_loss": np.nan}

    # (0.1, 0.0): h=8 and h=16 tie at 0.5 (exact in binary): the first, h=8, with its spread
    rows = [row(0.1, 0.0, h, s, "completed", acc) for h, accs in ((4, (0.25, 0.25)), (8, (0.75, 0.25)),
                                                                  (16, (0.5, 0.5))) for s, acc in zip((0, 1), accs)]
    rows += [row(0.1, 0.1, h, s, "completed", 0.6) for h in (4, 8, 16) for s in (0, 1)]
    rows += [row(1.0, 0.0, 4, 0, "pruned", np.nan), row(1.0, 0.0, 8, 0, "diverged", np.nan),
             row(1.0, 0.0, 16, 0, "failed", np.nan)]
    rows += [row(1.0, 0.1, 4, 0, "pruned", np.nan), row(1.0, 0.1, 8, 1, "failed", np.nan)]
    rows += [row(3.0, 0.0, 4, 0, "failed", np.nan)]  # (3.0, 0.1): no cell at all
    axes = {"train.eta": [0.1, 1.0, 3.0], "train.lambda": [0.0, 0.1], "model.hidden": [4, 8, 16]}
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, pd.DataFrame(rows), axes)
    ax = figures[0].axes[0]
    assert "best over model.hidden" in ax.get_title()
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(0, 0): f"0.500\n±{np.std([0.75, 0.25], ddof=1):.3f}",
                     (0, 1): "0.600\n±0.000", (1, 0): "div", (1, 1): "pruned", (2, 0): "fail"}


def test_two_drawing_processes_write_the_very_pictures_of_one(write_config, runs_dir, monkeypatch):
    """draw_run(jobs=2) forks a copy of the process that draws about half the pictures: the
    files are byte for byte those of one process, listed in the same order, and a picture
    that fails in the copy costs one warning line, as it would here."""
    from nnrun.plots import _share, redraw_run

    run_dir = train(write_config, runs_dir, small_config())
    said = []
    one = redraw_run(run_dir, log=said.append, jobs=1)
    first = {path.name: path.read_bytes() for path in one}
    two = redraw_run(run_dir, log=said.append, jobs=2)
    assert two == one and len(one) == 7 and not said
    assert {path.name: path.read_bytes() for path in two} == first
    names = [path.stem for path in one]
    mine, theirs = _share([(name, run_dir / f"{name}.png") for name in names])
    assert mine and theirs and len(mine) + len(theirs) == 7

    failing = theirs[0][0]  # drawn by the forked copy
    monkeypatch.setitem(PICTURES, failing, PICTURES[failing]._replace(draw=lambda run, path: 1 / 0))
    (run_dir / f"{failing}.png").unlink()
    written = redraw_run(run_dir, log=said.append, jobs=2)
    assert said == [f"nnrun: warning: {failing}.png was not drawn (ZeroDivisionError: division by zero)"]
    assert [p.stem for p in written] == [name for name in names if name != failing]
    assert not (run_dir / f"{failing}.png").exists()


def test_network_diagram_counts_units_in_words(monkeypatch, tmp_path):
    """Regression (cold read): a one-unit layer read '1 units'."""
    from nnrun.config import validate
    from nnrun.plots import diagram

    cfg = validate({**small_config(), "model": {"architecture": "2-3-1", "output": "sigmoid"}})
    network = Network([2, 3, 1], ["tanh", "sigmoid"], np.zeros(13))
    figures = capture(monkeypatch, diagram)
    diagram.plot_network(network, cfg, tmp_path / "network.png")
    texts = [t.get_text() for t in figures[0].axes[0].texts]
    assert "input\n2 units" in texts and "hidden 1\n3 units\ntanh" in texts and "output\n1 unit\nsigmoid" in texts


# --------------------------------------------------------------------- defects of issue 23
def _inside_figure(fig, artist) -> bool:
    fig.canvas.draw()
    box, frame = artist.get_window_extent(fig.canvas.get_renderer()), fig.bbox
    return box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5 and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5


def test_the_whole_heatmaps_title_fits_on_a_small_sweep_with_seeds(monkeypatch, tmp_path):
    """issue 23: a 2 × 2 sweep with seeds cut its title at both ends ("gham_2232: … deviati")."""
    rows = [{"train.eta": eta, "train.lambda": lam, "seed": s, "status": "completed", "test_accuracy": np.nan,
             "train_accuracy": 0.9, "train_loss": 0.1 + s, "test_loss": np.nan}  # no test set: two panels
            for eta in (0.05, 0.5) for lam in (0.0, 0.001) for s in (1, 2)]
    figures = capture_sweep(monkeypatch)
    folder = tmp_path / "20261205-134500-higham_2232-sweep"
    folder.mkdir()
    plots_sweep.draw_sweep(folder, pd.DataFrame(rows), {"train.eta": [0.05, 0.5], "train.lambda": [0.0, 0.001]})
    fig = figures[0]
    assert "standard deviation" in fig._suptitle.get_text()
    assert _inside_figure(fig, fig._suptitle)
    one = pd.DataFrame(rows).assign(train_accuracy=np.nan)  # a regression without a test set: one panel
    plots_sweep.draw_sweep(folder, one, {"train.eta": [0.05, 0.5], "train.lambda": [0.0, 0.001]})
    assert len(figures[-1].axes) == 2 and _inside_figure(figures[-1], figures[-1]._suptitle)


def test_early_stoppings_loss_marks_the_weights_kept_and_the_stop_and_its_y_label_fits(tmp_path):
    """issue 23: digits_early_stopping's y label ran into the title; nothing marked the
    best iteration (the weights kept) or the stop."""
    cfg = nnrun.load_config(str(CONFIGS / "digits_early_stopping.yaml"))
    values = np.concatenate([np.geomspace(2.3, 0.1, 200), np.full(76, 0.11)])
    history = _loss_history(values).assign(val_loss=values * 1.01)
    stops = {"monitor": "val_loss", "stopped_at": 2750, "best_iteration": 2310, "restored_best": True}
    curves.plot_loss(history, cfg, tmp_path / "loss.png", early_stopping=stops)
    figure = curves._LOSS_FIGURE[0]
    fig, ax = figure.fig, figure.ax
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "best: 2,310\n(weights kept)" in legend and "stopped: 2,750" in legend
    xs = {line.get_xdata()[0] for line in ax.get_lines() if line.get_visible() and line.get_label() in legend
          and len(set(line.get_xdata())) == 1}
    assert {2310, 2750} <= xs
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    label, frame = ax.yaxis.label.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert frame.y0 - 1 <= label.y0 and label.y1 <= frame.y1 + 1  # beside the axes, not up into the title
    assert not _overlaps(label, ax.title.get_window_extent(renderer))
    # a run without early stopping: no marks left over from the last picture
    curves.plot_loss(history, cfg, tmp_path / "loss.png")
    assert not [t.get_text() for t in ax.get_legend().get_texts() if "best" in t.get_text() or "stop" in t.get_text()]


def test_a_run_of_two_iterations_has_whole_number_iteration_ticks(tmp_path):
    """issue 23: train.iterations=2 labelled its x axis "0 0 0 1 1 1"."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    cfg = nnrun.load_config(str(CONFIGS / "higham_2232.yaml"))
    history = pd.DataFrame({"iteration": [0.0, 1.0, 2.0], "train_loss": [0.3, 0.29, 0.28],
                            "train_accuracy": [0.5, 0.5, 0.6]})
    curves.plot_loss(history, cfg, tmp_path / "loss.png")
    figures = []
    import matplotlib.pyplot as plt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(curves, "save", lambda fig, path: figures.append(fig))
        curves.plot_accuracy(history, cfg, tmp_path / "accuracy.png")
    for fig, ax in ((curves._LOSS_FIGURE[0].fig, curves._LOSS_FIGURE[0].ax), (figures[0], figures[0].axes[0])):
        FigureCanvasAgg(fig).draw()
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        labels = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
        assert all(float(t).is_integer() for t in ticks) and len(labels) == len(set(labels)) >= 2, labels
    plt.close(figures[0])
    # its narrow loss range has tick labels of 7 characters (0.25925): the two-line y label still fits
    fig = curves._LOSS_FIGURE[0].fig
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert curves._LOSS_FIGURE[0].ax.yaxis.label.get_window_extent(canvas.get_renderer()).x0 >= 0


def test_a_one_axis_sweep_of_names_draws_markers_not_a_line_joining_them(monkeypatch, tmp_path):
    """issue 23: metrics.png joined optimizer names with lines, as if they were ordered."""
    names = ["sgd", "momentum", "adam", "rmsprop"]
    rows = [{"train.optimizer": name, "seed": 1, "status": "completed", "train_loss": 0.1 * (i + 1),
             "test_loss": np.nan, "train_accuracy": 0.9, "test_accuracy": 0.8 + 0.01 * i}
            for i, name in enumerate(names)]
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, pd.DataFrame(rows), {"train.optimizer": names}, pictures=("results",))
    for ax in figures[0].axes:
        means = [line for line in ax.get_lines() if len(line.get_xdata()) == len(names)]
        assert means and all(line.get_linestyle() == "None" and line.get_marker() == "o" for line in means)
        assert [t.get_text() for t in ax.get_xticklabels()] == names
    # numbers are ordered: still joined
    rows = [{**row, "train.eta": eta} for row, eta in zip(rows, (0.01, 0.1, 1.0, 10.0))]
    plots_sweep.draw_sweep(tmp_path, pd.DataFrame(rows), {"train.eta": [0.01, 0.1, 1.0, 10.0]}, pictures=("results",))
    assert all(line.get_linestyle() == "-" for ax in figures[-1].axes for line in ax.get_lines()
               if len(line.get_xdata()) == 4)


def test_network_diagram_names_the_output_classes(monkeypatch, tmp_path):
    """issue 23: iris' network.png did not say which output unit is setosa."""
    from nnrun.plots import diagram

    cfg = nnrun.load_config(str(CONFIGS / "iris.yaml"))
    data = nnrun.load_data(cfg)
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    figures = capture(monkeypatch, diagram)
    network = build_network(cfg, np.random.default_rng(0))
    diagram._draw_network(type("Run", (), {"network": network, "cfg": cfg, "data": data, "name": "iris"})(),
                          run_dir / "network.png")
    fig = figures[0]
    texts = {t.get_text(): t for t in fig.axes[0].texts}
    assert {"setosa", "versicolor", "virginica", "sepal_length"} <= set(texts)
    output_x = network.n_layers
    assert all(texts[name].get_position()[0] > output_x for name in ("setosa", "versicolor", "virginica"))
    assert all(_inside_figure(fig, texts[name]) for name in ("setosa", "versicolor", "virginica"))
    # more classes than output units (one sigmoid unit) or than 10: no names
    figures.clear()
    diagram.plot_network(Network([2, 3, 1], ["tanh", "sigmoid"], np.zeros(13)), cfg, run_dir / "n.png",
                         class_names=["a", "b"])
    assert not {"a", "b"} & {t.get_text() for t in figures[0].axes[0].texts}


def test_network_diagram_of_an_image_network_keeps_its_title_and_names_its_inputs(monkeypatch, tmp_path):
    """Cold read: digits_optimizers' network.png lost the start of its one-line title off the
    left edge, and its 20 kept input units (of 64 pixels) were not named."""
    from nnrun.plots import diagram

    cfg = nnrun.load_config(str(CONFIGS / "digits_optimizers.yaml"))
    network = build_network(cfg, np.random.default_rng(0))
    figures = capture(monkeypatch, diagram)
    diagram.plot_network(network, cfg, tmp_path / "network.png", [f"p{k}" for k in range(64)],
                         name="digits_optimizers", class_names=[str(k) for k in range(10)])
    fig = figures[0]
    title = fig.axes[0].title
    assert title.get_text().startswith("digits_optimizers: 64-50-10") and _inside_figure(fig, title)
    named = [t for t in fig.axes[0].texts if re.fullmatch(r"p\d+", t.get_text())]
    assert len(named) == 20 and all(_inside_figure(fig, t) for t in named)


def test_regression_data_says_which_points_are_train_and_which_test(monkeypatch, tmp_path):
    """issue 23: franke_regression's data.png drew circles and crosses with no legend."""
    cfg = nnrun.load_config(str(CONFIGS / "franke_regression.yaml"))
    data = nnrun.load_data(cfg)
    figures = capture(monkeypatch, plane)
    plane.plot_data(data, cfg, tmp_path / "data.png")
    fig = figures[0]
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["train", "test"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert not _overlaps(box, ax.get_window_extent(renderer))
    assert not _overlaps(box, ax.xaxis.label.get_window_extent(renderer))
    assert _inside_figure(fig, legend)


def test_a_divergence_at_the_last_record_is_marked_off_the_spine(tmp_path):
    """issue 23: a run that diverged at iteration 100 (its last record) drew the mark on the right spine."""
    cfg = nnrun.load_config(str(CONFIGS / "relu_ellipse.yaml"))
    history = pd.DataFrame({"iteration": [0.0, 100.0], "train_loss": [1.8, np.inf], "test_loss": [1.9, np.inf]})
    curves.plot_loss(history, cfg, tmp_path / "loss.png", "diverged", diverged_at=100)
    figure = curves._LOSS_FIGURE[0]
    left, right = figure.ax.get_xlim()
    assert figure.diverged.get_visible() and right - 100 >= 0.04 * (right - left)
    assert "diverged at 100" in [t.get_text() for t in figure.ax.get_legend().get_texts()]
    # its one finite record per series is a point one can see, not a line of one point
    assert all(figure.lines[c].get_marker() == "o" for c in ("train_loss", "test_loss"))
    curves.plot_loss(_loss_history([1.0, 0.5, 0.25]), cfg, tmp_path / "loss.png")
    assert figure.lines["train_loss"].get_marker() == "None"


def test_pictures_of_a_sweep_redrawn_from_inside_its_folder_keep_its_name(monkeypatch, tmp_path):
    """`nnrun plot .` inside a sweep folder titled heatmaps.png ": train.eta × …" (an empty name)."""
    rows = [{"train.eta": eta, "train.lambda": lam, "seed": 1, "status": "completed", "test_accuracy": 0.9,
             "train_accuracy": 0.9, "train_loss": 0.1, "test_loss": np.nan}
            for eta in (0.05, 0.5) for lam in (0.0, 0.001)]
    folder = tmp_path / "20261205-134500-higham_2232-sweep"
    folder.mkdir()
    figures = capture_sweep(monkeypatch)
    monkeypatch.chdir(folder)
    plots_sweep.draw_sweep(Path("."), pd.DataFrame(rows), {"train.eta": [0.05, 0.5], "train.lambda": [0.0, 0.001]},
                           pictures=("results",))
    assert figures[0]._suptitle.get_text().startswith("higham_2232: train.eta × train.lambda")


@pytest.mark.parametrize("lo,hi", [(0.05, 0.9), (0.17, 2.2), (0.009, 0.15)])
def test_a_log_axis_of_about_a_decade_labels_its_bottom_too(lo, hi):
    """metrics.png of digits_optimizers: the loss axis 0.17 .. 2.2 labelled 0.5, 1, 1.5, 2,
    and adam's 0.2 sat in a bare third of the axis."""
    import matplotlib.pyplot as plt

    from nnrun.plots.style import label_log_axis

    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    label_log_axis(ax.yaxis, lo, hi)
    fig.canvas.draw()
    labelled = sorted(t.get_position()[1] for t in ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi)
    plt.close(fig)
    assert labelled[0] / lo <= 2 and all(b / a >= 1.09 for a, b in zip(labelled, labelled[1:])), labelled


def test_sweep_metrics_choose_the_panels_of_every_sweep_picture(monkeypatch, tmp_path):
    """Issue 23: sweep.metrics (here the held-out losses) chooses the heatmaps' panels, the
    one-axis metrics.png's panels and the losses the learning curves draw; without it the
    choice is today's."""
    from nnrun.plots.sweep_axes import metric_panels

    results, axes = _sweep_results()
    results["val_loss"] = results["train_loss"] * 1.1
    results["test_loss"] = results["train_loss"] * 1.2
    results["folder"] = [f"c{k:03d}" for k in range(len(results))]
    assert [m for m, _, _ in metric_panels(results)] == ["test_accuracy", "train_accuracy", "train_loss"]
    chosen = metric_panels(results, ["val_loss", "test_accuracy"])
    assert chosen == [("val_loss", "final validation loss", False), ("test_accuracy", "test accuracy", True)]
    histories = _cell_histories(results)
    for h in histories.values():
        h["val_loss"] = h["test_loss"] * 0.9
    figures = capture_sweep(monkeypatch)
    plots_sweep.draw_sweep(tmp_path, results, axes, histories=histories, metrics=["val_loss", "test_loss"])
    heat, grid = figures
    assert [ax.get_title().split(" (")[0] for ax in heat.axes if ax.get_title()] == [
        "final validation loss", "final test loss"]
    drawn = {line.get_label(): line.get_linestyle() for line in grid.axes[0].lines}
    assert drawn == {"train_loss": "-", "val_loss": "--", "test_loss": ":"}
    one = results[results["train.lambda"] == 1e-5]
    figures.clear()
    plots_sweep.draw_sweep(tmp_path, one, {"train.eta": axes["train.eta"]}, histories=histories,
                           metrics=["val_loss", "test_loss"])
    panels, curves_fig = figures
    assert [ax.get_title() for ax in panels.axes] == ["final validation loss", "final test loss"]
    assert curves_fig.axes[0].get_title() == "training (solid), validation (dashed) and test (dotted) loss"
    styles = {line.get_linestyle() for line in curves_fig.axes[0].lines}
    assert styles == {"-", "--", ":"}


def test_a_laid_out_figure_is_drawn_once_when_saved_and_its_pixels_do_not_change(tmp_path):
    """tight_layout() leaves a placeholder layout engine behind, and savefig then drew the
    whole figure twice (once unseen, to lay it out again): a third of heatmaps.png's time.
    save_figure draws it once, and the file is byte for byte what the second draw gave."""
    import matplotlib.pyplot as plt

    from nnrun.plots.style import save_figure

    def figure():
        fig, axs = plt.subplots(1, 2, figsize=(6, 3))
        for k, ax in enumerate(axs):
            ax.imshow(np.arange(12.0).reshape(3, 4) * (k + 1))
            ax.set_title(f"panel {k}")
            for i in range(3):
                ax.text(1, i, f"{i / 7:.3f}", ha="center")
        fig.colorbar(axs[1].images[0], ax=axs[1])
        fig.tight_layout()
        return fig

    draws = []
    fig = figure()
    inner = fig.draw
    fig.draw = lambda renderer: (draws.append(renderer), inner(renderer))[1]
    save_figure(fig, tmp_path / "once.png")
    assert len(draws) == 1
    twice = figure()
    assert twice.get_layout_engine() is not None  # the placeholder that made savefig draw twice
    from nnrun.plots.png import figure_png
    from nnrun.plots.style import DPI

    assert (tmp_path / "once.png").read_bytes() == figure_png(twice, DPI)
    plt.close("all")
