"""Data sources, transforms, the split and the samplers (and the report bugs of E2)."""

import numpy as np
import pytest

import nnrun
from nnrun.config import SOURCES, validate
from nnrun.data import HIGHAM_X1, HIGHAM_X2, TRANSFORMS
from nnrun.maths.sampling import Sampler
from conftest import REPO, small_config

GENERATED = ["ellipse", "moons", "circles", "xor", "spirals", "gauss"]
REGRESSION = {"sine": 1, "franke": 2}  # source -> number of inputs


def data_for(data, architecture="2-4-2", **model):
    cfg = validate(small_config(data=data, model={"architecture": architecture, **model}))
    return nnrun.load_data(cfg)


def test_every_source_is_tested():
    assert set(SOURCES) == set(GENERATED) | set(REGRESSION) | {"higham", "csv", "inline", "digits"}  # inline: tests/test_inline.py



def test_every_generator_has_its_config_model():
    """A generator is one file: its function beside a model whose ``source`` is its name,
    which the config offers (a generator without one, or with another's, is named here)."""
    from nnrun.config import DATA_SOURCES
    from nnrun.config.base import Strict
    from nnrun.data.common import DataCommon
    from nnrun.data.sources import GENERATORS

    def literal(model):
        field = getattr(model, "model_fields", {}).get("source")
        return field.annotation.__args__ if field is not None else None

    wrong = {name: getattr(g.model, "__name__", g.model) for name, g in GENERATORS.items()
             if not (isinstance(g.model, type) and issubclass(g.model, DataCommon) and literal(g.model) == (name,)
                     and g.model in DATA_SOURCES and callable(g.generate))}
    assert not wrong, f"generators whose config model is missing or names another source: {wrong}"
    assert DataCommon.model_config == Strict.model_config  # the data models are as strict as every section

def test_higham_points_and_classes():
    d = data_for({"source": "higham"})
    np.testing.assert_array_equal(d.X_train, np.column_stack([HIGHAM_X1, HIGHAM_X2]))
    np.testing.assert_array_equal(d.Y_train, np.repeat([[1, 0], [0, 1]], 5, axis=0))
    assert not d.has_test


@pytest.mark.parametrize("source", GENERATED)
def test_generators_are_seeded_balanced_and_sized(source):
    spec = {"source": source, "n_samples": 101, "test_fraction": 0.2}
    a, b = data_for(spec), data_for(spec)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert len(a.X_train) + len(a.X_test) == 101 and len(a.X_test) == 20
    counts = np.bincount(np.concatenate([a.labels_train, a.labels_test]))
    assert counts.min() >= 50 and a.X_train.shape[1] == 2


@pytest.mark.parametrize("source", REGRESSION)
def test_regression_generators_are_seeded_sized_and_noisy_around_their_function(source):
    from nnrun.data import franke_function

    n_in = REGRESSION[source]
    spec = {"source": source, "n_samples": 500, "test_fraction": 0.2}
    arch = f"{n_in}-4-1"
    def load():
        cfg = small_config(data=spec, model={"architecture": arch, "output": "identity"}, train={"loss": "quadratic"})
        return nnrun.load_data(validate(cfg))

    a, b = load(), load()
    np.testing.assert_array_equal(a.Y_train, b.Y_train)
    assert a.task == "regression" and a.X_train.shape == (400, n_in) and len(a.X_test) == 100
    assert a.raw_train.min() >= 0.0 and a.raw_train.max() <= 1.0
    X = a.raw_train
    clean = np.sin(2 * np.pi * X[:, 0]) if source == "sine" else franke_function(X[:, 0], X[:, 1])
    residual = a.labels_train - clean
    noise = {"sine": 0.1, "franke": 0.05}[source]  # the defaults
    assert abs(residual.std() - noise) < 0.2 * noise and abs(residual.mean()) < 0.3 * noise


def test_ellipse_contours_nest_around_the_centre():
    d = data_for({"source": "ellipse", "n_samples": 400, "noise": 0.0})
    r = np.hypot(*(d.raw_train - 0.5).T)
    assert r[d.labels_train == 0].max() < r[d.labels_train == 1].min()
    np.testing.assert_allclose(d.raw_train.mean(axis=0), 0.5, atol=0.02)


def test_spirals_and_gauss_take_a_class_count():
    d = data_for({"source": "spirals", "classes": 3, "n_samples": 90}, architecture="2-4-3", output="softmax")
    assert d.n_classes == 3 and d.Y_train.shape[1] == 3
    d = data_for({"source": "gauss", "classes": 4, "n_samples": 80}, architecture="2-4-4", output="softmax")
    assert d.n_classes == 4


def test_csv_source_reads_named_columns():
    d = data_for({"source": "csv", "path": str(REPO / "datasets" / "ps5_data.csv"), "label": "classification",
                  "test_fraction": 0.2}, architecture="2-7-1", output="sigmoid")
    assert d.feature_names == ["x_1", "x_2"] and len(d.X_train) == 400
    assert -6 <= d.raw_train[:, 0].min() and d.raw_train[:, 1].max() <= 1035
    assert set(np.unique(d.Y_train)) == {0.0, 1.0} and d.Y_train.shape == (400, 1)


def test_digits_source():
    d = data_for({"source": "digits", "path": str(REPO / "datasets" / "digits.csv"), "test_fraction": 0.2},
                 architecture="64-10", output="softmax")
    assert len(d.X_train) + len(d.X_test) == 1797 and d.n_classes == 10
    assert d.raw_train.max() == 16


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms_are_fitted_on_the_training_part_only(name):
    d = data_for({"source": "moons", "n_samples": 200, "test_fraction": 0.3, "transform": [name]})
    step = d.transform.steps[0]
    again = type(step)().fit(d.raw_train)
    np.testing.assert_allclose(again(d.raw_test), d.X_test)
    if name == "standardize":
        np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(d.X_train.std(axis=0), 1)
    if name == "minmax":
        np.testing.assert_allclose(d.X_train.min(axis=0), 0)
        np.testing.assert_allclose(d.X_train.max(axis=0), 1)
    if name == "center":
        np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-12)


def test_polar_theta_uses_the_centred_x1_not_r():
    # E2's report overwrote x1 with r before theta = atan2(x2, x1)
    d = data_for({"source": "ellipse", "n_samples": 200, "transform": ["polar"]})
    c = d.raw_train.mean(axis=0)
    dx, dy = (d.raw_train - c).T
    np.testing.assert_allclose(d.X_train[:, 0], np.hypot(dx, dy))
    np.testing.assert_allclose(d.X_train[:, 1], np.arctan2(dy, dx))


def test_transforms_apply_in_order():
    d = data_for({"source": "moons", "n_samples": 100, "transform": ["polar", "standardize"]})
    np.testing.assert_allclose(d.X_train.std(axis=0), 1)


def test_split_changes_with_the_seed_and_nothing_else():
    spec = {"source": "higham", "test_fraction": 0.3}
    a = nnrun.load_data(validate(small_config(data=spec)))
    b = nnrun.load_data(validate(small_config(data=spec, train={"eta": 0.5})))
    c = nnrun.load_data(validate({**small_config(data=spec), "seed": 99}))
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test) or not np.array_equal(a.X_train, c.X_train)


def test_random_sampling_reaches_the_last_point():
    # E2's report drew indices from 0..N-2, so the last point was never trained on
    idx, ptr, _ = Sampler(10, 1, "random", np.random.default_rng(0)).chunk(2000)
    assert set(idx.tolist()) == set(range(10))
    counts = np.bincount(idx, minlength=10)
    assert counts.min() > 150


def test_epoch_sampling_visits_every_point_once_per_epoch():
    sampler = Sampler(10, 3, "epoch", np.random.default_rng(0))
    idx, ptr, _ = sampler.chunk(8)  # 4 batches per epoch: 3, 3, 3, 1
    assert np.diff(ptr).tolist() == [3, 3, 3, 1, 3, 3, 3, 1]
    assert sorted(idx[:10].tolist()) == list(range(10)) and sorted(idx[10:].tolist()) == list(range(10))


def test_chunked_sampling_equals_one_long_draw():
    one = Sampler(7, 2, "random", np.random.default_rng(5)).chunk(100)[0]
    s = Sampler(7, 2, "random", np.random.default_rng(5))
    parts = np.concatenate([s.chunk(30)[0], s.chunk(70)[0]])
    np.testing.assert_array_equal(one, parts)
