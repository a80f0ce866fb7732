"""skfit.plotting: the displays draw what the estimators recorded."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skfit import GDClassifier, GDRegressor, diagnose, find_learning_rate
from skfit.__main__ import main
from skfit.plotting import (
    DiagnosisDisplay,
    LearningRateFinderDisplay,
    LossCurveDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    plt.close("all")


@pytest.fixture(scope="module")
def spiky_fit():
    """A fit on data with one corrupted row: it spikes in every epoch after the
    detector's warm-up, and early stopping keeps a best epoch."""
    X, y = make_regression(n_samples=800, n_features=8, noise=20, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    y[17] += 5
    est = GDRegressor(
        learning_rate=0.004,
        schedule=lambda t: 1 / (1 + t / 1000),
        batch_size=16,
        validation_fraction=0.2,
        early_stopping=True,
        n_iter_no_change=10,
        tol=1e-5,
        spike_policy="skip",
        random_state=0,
    )
    return est.fit(X, y)


def test_loss_curve_draws_the_history(spiky_fit):
    est, history = spiky_fit, spiky_fit.history_
    display = LossCurveDisplay.from_estimator(est)
    np.testing.assert_array_equal(display.lines_["loss"].get_xdata(), history["epoch"])
    np.testing.assert_array_equal(display.lines_["loss"].get_ydata(), history["loss"])
    np.testing.assert_array_equal(
        display.lines_["val_loss"].get_ydata(), history["val_loss"]
    )
    np.testing.assert_array_equal(
        display.lines_["learning_rate"].get_ydata(), history["learning_rate"]
    )
    assert display.lines_["learning_rate"].axes is display.lr_ax_
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "loss"
    assert display.lr_ax_.get_ylabel() == "learning rate"
    assert display.figure_ is display.ax_.figure
    assert "GDRegressor" in display.ax_.get_title()


def test_loss_curve_marks_spikes_and_the_best_epoch(spiky_fit):
    est = spiky_fit
    spike_epochs = sorted({spike.epoch for spike in est.spikes_})
    assert spike_epochs  # the fixture spikes
    display = LossCurveDisplay.from_estimator(est)
    markers = display.spike_markers_
    np.testing.assert_array_equal(markers.get_xdata(), spike_epochs)
    np.testing.assert_array_equal(
        markers.get_ydata(), est.history_["loss"][np.array(spike_epochs) - 1]
    )
    assert markers.get_linestyle() == "None" and markers.get_marker() == "X"
    assert list(display.best_epoch_line_.get_xdata()) == [est.best_epoch_] * 2
    labels = display.ax_.get_legend_handles_labels()[1]
    assert f"best epoch ({est.best_epoch_})" in labels
    assert any(label.startswith("epochs with loss spikes") for label in labels)


def test_loss_curve_from_history_on_given_axes():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    est = GDRegressor(learning_rate=0.1, schedule="constant", random_state=0)
    est.fit(X, y)
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_history(est.history_, ax=ax, name="run 1")
    assert display.ax_ is ax and display.figure_ is fig
    assert "val_loss" not in display.lines_  # no validation share
    assert display.spike_markers_ is None and display.best_epoch_line_ is None
    assert display.ax_.get_title() == "Loss per epoch: run 1"
    # A constant rate sits halfway up its axis.
    assert display.lr_ax_.get_ylim() == (0, 0.2)


def test_loss_curve_options_and_errors(spiky_fit):
    display = LossCurveDisplay.from_estimator(
        spiky_fit, show_learning_rate=False, log_scale=True
    )
    assert display.lr_ax_ is None and "learning_rate" not in display.lines_
    assert display.ax_.get_yscale() == "log"
    with pytest.raises(TypeError, match="skfit estimator"):
        LossCurveDisplay.from_estimator(Ridge().fit([[0], [1]], [0, 1]))


def test_learning_rate_finder_display():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    result = find_learning_rate(model, X, y)
    display = result.plot()
    assert isinstance(display, LearningRateFinderDisplay)
    np.testing.assert_array_equal(
        display.lines_["loss"].get_xdata(), result.learning_rates
    )
    np.testing.assert_array_equal(display.lines_["loss"].get_ydata(), result.losses)
    np.testing.assert_array_equal(
        display.lines_["smoothed"].get_ydata(), result.smoothed_losses
    )
    assert list(display.suggestion_line_.get_xdata()) == [result.suggestion] * 2
    assert display.ax_.get_xscale() == "log"
    assert display.ax_.get_xlabel() == "learning rate"
    assert display.ax_.get_ylabel() == "loss"
    assert "GDClassifier" in display.ax_.get_title()
    other = LearningRateFinderDisplay.from_estimator(model, X, y)
    assert other.suggestion == result.suggestion


def test_diagnosis_display_of_a_learning_curve():
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(100, 1))
    y = np.sin(1.5 * X[:, 0]) + 0.3 * rng.normal(size=100)
    model = make_pipeline(PolynomialFeatures(25), StandardScaler(), Ridge(1e-10))
    diagnosis = diagnose(model, X, y, cv=3, train_sizes=(0.3, 0.6, 1.0), random_state=0)
    display = diagnosis.plot()
    assert isinstance(display, DiagnosisDisplay)
    np.testing.assert_array_equal(
        display.lines_["train"].get_xdata(), diagnosis.train_sizes
    )
    np.testing.assert_allclose(
        display.lines_["train"].get_ydata(), diagnosis.train_scores.mean(axis=1)
    )
    np.testing.assert_allclose(
        display.lines_["validation"].get_ydata(),
        diagnosis.validation_scores.mean(axis=1),
    )
    assert (
        list(display.lines_["baseline"].get_ydata()) == [diagnosis.baseline_score] * 2
    )
    assert display.ax_.get_title() == f"Ridge: overfitting (gap {diagnosis.gap:.3g})"
    assert display.ax_.get_xlabel() == "training rows"
    assert display.ax_.get_ylabel() == "score (R²)"
    # The view keeps to the range from below the baseline to perfect.
    low, high = display.ax_.get_ylim()
    assert low > diagnosis.baseline_score - 1.2 and high >= 1.0


def test_diagnosis_display_of_a_history():
    rng = np.random.RandomState(0)  # few noisy rows, many features
    X = rng.normal(size=(80, 50))
    y = X[:, 0] + rng.normal(size=80)
    est = GDRegressor(
        penalty=None, tol=None, max_epochs=200, validation_fraction=0.3, random_state=0
    ).fit(X, y)
    fig, ax = plt.subplots()
    display = DiagnosisDisplay.from_estimator(est, ax=ax)
    diagnosis = display.diagnosis
    assert diagnosis.verdict == "overfitting" and diagnosis.rise_epoch is not None
    np.testing.assert_array_equal(
        display.lines_["train"].get_ydata(), est.history_["loss"]
    )
    np.testing.assert_array_equal(
        display.lines_["validation"].get_ydata(), est.history_["val_loss"]
    )
    assert list(display.lines_["rise"].get_xdata()) == [diagnosis.rise_epoch] * 2
    assert display.ax_.get_title().startswith("GDRegressor: overfitting")
    assert display.ax_.get_xlabel() == "epoch"


def test_images_are_written(tmp_path, spiky_fit):
    display = LossCurveDisplay.from_estimator(spiky_fit)
    path = tmp_path / "loss_curve.png"
    display.figure_.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_drawing_without_matplotlib_names_the_extra(monkeypatch, spiky_fit):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "skfit\[plot\]"'):
        LossCurveDisplay.from_estimator(spiky_fit)
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ImportError, match=r'pip install "skfit\[plot\]"'):
        LearningRateFinderDisplay.from_estimator(GDClassifier(), X, y)


def test_demo_ends_with_the_diagnosis_and_writes_the_plot(tmp_path, capsys):
    path = tmp_path / "curve.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["demo", "--output", str(path)]) == 0
    out = capsys.readouterr().out
    assert "verdict: good_fit" in out
    assert "advice:" in out
    assert f"loss curve written to {path.resolve()}" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_without_matplotlib(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["matplotlib"] = None
        from skfit.__main__ import main
        main(["demo", "--output", {str(tmp_path / "curve.png")!r}])
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "verdict:" in result.stdout
    assert 'plot skipped: matplotlib is not installed (pip install "skfit[plot]")' in (
        result.stdout
    )
    assert not (tmp_path / "curve.png").exists()
