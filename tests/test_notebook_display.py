"""What a notebook shows: the progress bar's end, History's reprs, LiveLossPlot and
the estimator's HTML repr."""

import pickle
import re
import threading
import types
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier, GDRegressor, History
from skfit.callbacks import LiveLossPlot, ProgressBar

X_cancer, y_cancer = load_breast_cancer(return_X_y=True)
X_cancer = StandardScaler().fit_transform(X_cancer)
X_reg, y_reg = make_regression(200, 4, noise=5, random_state=0)
y_reg = y_reg / y_reg.std()

SVG = "{http://www.w3.org/2000/svg}"

# Short fits on purpose: whether reaching max_epochs warns is not tested here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def bars(monkeypatch):
    """The tqdm bars ProgressBar creates, through tqdm.auto (``kind``: std or
    notebook)."""
    tqdm_auto = pytest.importorskip("tqdm.auto")
    created = []

    def use(kind):
        if kind == "notebook":
            pytest.importorskip("ipywidgets")
            from tqdm.notebook import tqdm as base
        else:
            from tqdm.std import tqdm as base

        class Recording(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                created.append(self)

        monkeypatch.setattr(tqdm_auto, "tqdm", Recording)
        return created

    return use


def test_text_bar_ends_full_and_names_the_stop_reason(bars):
    created = bars("std")
    est = GDRegressor(max_epochs=500, callbacks=[ProgressBar()]).fit(X_reg, y_reg)
    assert est.stop_reason_ == "tol" and est.n_epochs_ < 500
    (bar,) = created
    assert bar.n == bar.total == est.n_epochs_
    assert bar.postfix.endswith("stop_reason=tol")
    assert "loss=" in bar.postfix


def test_notebook_bar_ends_green_and_full_after_early_stopping(bars):
    created = bars("notebook")
    est = GDClassifier(
        early_stopping=True, max_epochs=500, random_state=0, callbacks=[ProgressBar()]
    ).fit(X_cancer, y_cancer)
    assert est.stop_reason_ == "early_stopping"
    (bar,) = created
    # tqdm.notebook's widgets: a label, the progress bar and its text.
    _, progress, text = bar.container.children
    assert progress.bar_style == "success"
    assert progress.value == progress.max == est.n_epochs_
    assert "stop_reason=early_stopping" in text.value
    assert "val_loss=" in text.value


def test_notebook_bar_stays_red_where_training_diverged(bars):
    created = bars("notebook")
    est = GDRegressor(
        optimizer="sgd",
        learning_rate=10.0,
        batch_size=None,
        max_epochs=100,
        callbacks=[ProgressBar()],
    )
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X_reg * 100, y_reg)
    assert est.stop_reason_ == "diverged"
    (bar,) = created
    _, progress, text = bar.container.children
    assert progress.bar_style == "danger"
    assert progress.value == est.n_epochs_ < progress.max == 100
    assert "stop_reason=diverged" in text.value


def test_max_epochs_bar_is_full(bars):
    created = bars("std")
    GDRegressor(max_epochs=3, tol=None, callbacks=[ProgressBar()]).fit(X_reg, y_reg)
    (bar,) = created
    assert bar.n == bar.total == 3
    assert bar.postfix.endswith("stop_reason=max_epochs")


def test_progress_bar_does_not_read_a_previous_fit_s_stop_reason(bars):
    class Fails(ProgressBar):
        def on_epoch_end(self, estimator, record):
            raise ValueError("fails")

    created = bars("std")
    est = GDRegressor(max_epochs=3, tol=None).fit(X_reg, y_reg)
    est.set_params(callbacks=[Fails()])
    with pytest.raises(ValueError, match="fails"):
        est.fit(X_reg, y_reg)
    (bar,) = created
    assert "stop_reason" not in (bar.postfix or "")
    # The failed call left the estimator as it was.
    assert est.stop_reason_ == "max_epochs"


def test_no_bar_in_a_thread_other_than_the_main_one(bars):
    created = bars("std")
    est = GDRegressor(max_epochs=3, tol=None, callbacks=[ProgressBar()])
    thread = threading.Thread(target=est.fit, args=(X_reg, y_reg))
    thread.start()
    thread.join()
    assert est.n_epochs_ == 3
    assert created == []


def test_no_bar_in_a_child_process(bars, monkeypatch):
    import multiprocessing

    created = bars("std")
    # What multiprocessing.parent_process() returns in joblib's loky and
    # multiprocessing workers.
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    GDRegressor(max_epochs=3, tol=None, callbacks=[ProgressBar()]).fit(X_reg, y_reg)
    assert created == []


def test_grid_search_workers_show_no_bars(capfd):
    pytest.importorskip("tqdm")
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(
        GDRegressor(max_epochs=4, tol=None, verbose=1),
        {"alpha": [1e-4, 1e-3]},
        cv=2,
        n_jobs=2,
    )
    search.fit(X_reg, y_reg)
    err = capfd.readouterr().err
    # Four fits ran in the workers, the refit in this process: one bar.
    assert err.count("stop_reason=max_epochs") == 1


def _history(n_epochs=12, validation=True, spikes=(), **params):
    est = GDRegressor(
        max_epochs=n_epochs,
        tol=None,
        validation_fraction=0.2 if validation else None,
        random_state=0,
        **params,
    ).fit(X_reg, y_reg)
    history = est.history_
    for epoch in spikes:
        history[epoch - 1]["n_spikes"] = 1
    return history


def test_history_repr_is_a_table_of_the_last_epochs():
    history = _history(12)
    lines = repr(history).splitlines()
    assert lines[0] == "History of 12 epochs, the last 5 shown"
    header = "epoch loss val_loss val_score learning_rate grad_norm spikes"
    assert lines[1].split() == header.split()
    rows = [line.split() for line in lines[2:]]
    assert [int(row[0]) for row in rows] == [8, 9, 10, 11, 12]
    np.testing.assert_allclose(
        [float(row[1]) for row in rows], history["loss"][-5:], rtol=1e-5
    )
    np.testing.assert_allclose(
        [float(row[3]) for row in rows], history["val_score"][-5:], atol=1e-4
    )
    # Columns line up: each row is as long as the header.
    assert {len(line) for line in lines[1:]} == {len(lines[1])}


def test_history_repr_leaves_out_validation_columns_without_validation():
    history = _history(3, validation=False)
    lines = repr(history).splitlines()
    assert lines[0] == "History of 3 epochs"
    assert "val_loss" not in lines[1] and len(lines) == 5
    assert repr(History()) == "History of 0 epochs"


def _svg(html):
    svg = re.search(r"<svg.*</svg>", html, re.S).group(0)
    return ET.fromstring(svg)


def test_history_html_has_a_table_and_an_svg_loss_curve():
    history = _history(12, spikes=(4, 9))
    html = history._repr_html_()
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    assert len(rows) == 1 + 10  # the header and the last 10 epochs
    first_cells = re.findall(r"<td>(.*?)</td>", rows[1])
    assert first_cells[0] == "3"
    assert float(first_cells[1]) == pytest.approx(history["loss"][2], rel=1e-5)
    assert "History of 12 epochs, the last 10 shown" in html

    svg = _svg(html)
    lines = svg.findall(f"{SVG}polyline")
    assert len(lines) == 2  # training and validation loss
    assert {line.get("stroke") for line in lines} == {"#1f77b4", "#ff7f0e"}
    training = next(line for line in lines if line.get("stroke") == "#1f77b4")
    points = np.array(
        [p.split(",") for p in training.get("points").split()], dtype=float
    )
    assert len(points) == 12
    # x grows with the epoch; y (downwards in SVG) follows the loss linearly.
    assert np.all(np.diff(points[:, 0]) > 0)
    fit = np.polyfit(history["loss"], points[:, 1], 1)
    assert fit[0] < 0
    np.testing.assert_allclose(np.polyval(fit, history["loss"]), points[:, 1], atol=0.1)
    # One red cross per epoch with a spike, over that epoch.
    crosses = [p for p in svg.iter(f"{SVG}path") if p.get("stroke") == "#d62728"]
    assert len(crosses) == 2
    start_x = [float(p.get("d")[1:].split(",")[0]) + 4 for p in crosses]
    np.testing.assert_allclose(start_x, points[[3, 8], 0], atol=0.1)


def test_svg_uses_a_log_scale_for_losses_spanning_orders_of_magnitude():
    history = History()
    for epoch, loss in enumerate([100.0, 10.0, 1.0, 0.1], start=1):
        record = dict.fromkeys(("val_loss", "val_score"), np.nan)
        record.update(
            epoch=epoch,
            loss=loss,
            learning_rate=0.1,
            grad_norm=1.0,
            duration=0.0,
            n_spikes=0,
        )
        history.append(record, np.array([loss], dtype=np.float32))
    svg = _svg(history._repr_html_())
    (line,) = svg.findall(f"{SVG}polyline")
    y = np.array([p.split(",")[1] for p in line.get("points").split()], dtype=float)
    # Equal ratios, equal steps.
    np.testing.assert_allclose(np.diff(y), np.diff(y)[0], atol=0.11)
    assert any(t.text == "loss (log scale)" for t in svg.iter(f"{SVG}text"))


def test_svg_breaks_the_curve_at_non_finite_losses():
    history = _history(6, validation=False)
    history[2]["loss"] = np.inf
    svg = _svg(history._repr_html_())
    lines = svg.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 3]


def test_fitted_estimator_html_repr_keeps_the_diagram_and_adds_the_history():
    est = GDClassifier(early_stopping=True, random_state=0).fit(X_cancer, y_cancer)
    bundle = est._repr_mimebundle_()
    html = bundle["text/html"]
    # scikit-learn's diagram first, then the history section.
    assert html.index("sk-top-container") < html.index("skfit-history-section")
    summary = re.search(r"<summary>(.*?)</summary>", html.split("skfit-history")[1])
    assert summary.group(1) == (
        f"history_: {est.n_epochs_} epochs, stop_reason_=&#x27;early_stopping&#x27;"
    )
    # Jupyter frontends that read _repr_html_ rather than the bundle get the same.
    section = html[html.index('<details class="skfit-history-section"') :]
    assert est._repr_html_().endswith(section)
    # The best epoch is marked on the curve.
    assert f"best epoch ({est.best_epoch_})" in html
    assert "skfit-history" not in GDClassifier()._repr_mimebundle_()["text/html"]


class FakeHandle:
    def __init__(self, log, obj):
        self.log = log
        log.append(("display", obj))

    def update(self, obj):
        self.log.append(("update", obj))


@pytest.fixture
def notebook(monkeypatch):
    """A fake Jupyter kernel: get_ipython() has a kernel and display() records."""
    IPython = pytest.importorskip("IPython")
    ipython_display = pytest.importorskip("IPython.display")

    log = []

    def display(obj, display_id=False):
        assert display_id is True
        return FakeHandle(log, obj)

    monkeypatch.setattr(
        IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object())
    )
    monkeypatch.setattr(ipython_display, "display", display)
    return log


def test_live_loss_plot_updates_one_display_per_epoch(notebook):
    plot = LiveLossPlot(interval=0)
    est = GDClassifier(early_stopping=True, random_state=0, callbacks=[plot]).fit(
        X_cancer, y_cancer
    )
    kinds = [kind for kind, _ in notebook]
    # One display, then one update per epoch and a last one when training ends.
    assert kinds == ["display"] + ["update"] * (est.n_epochs_ + 1)
    first, last = notebook[1][1].data, notebook[-1][1].data
    assert "epoch 1," in first
    # After one epoch each curve is a single point: a dot, not a line.
    assert _svg(first).find(f"{SVG}polyline") is None
    assert len(_svg(first).findall(f"{SVG}circle")) == 2
    assert "stop_reason_=&#x27;early_stopping&#x27;" in last
    assert f"best epoch ({est.best_epoch_})" in last
    points = _svg(last).find(f"{SVG}polyline").get("points").split()
    assert len(points) == est.n_epochs_
    # Nothing of IPython stays on the callback: the estimator pickles.
    assert vars(plot) == {"interval": 0, "width": 560, "height": 280}
    pickle.loads(pickle.dumps(est))


def test_live_loss_plot_waits_interval_between_redraws(notebook):
    GDRegressor(max_epochs=5, tol=None, callbacks=[LiveLossPlot(interval=3600)]).fit(
        X_reg, y_reg
    )
    # The first epoch draws; the next redraw is the last, when training ends.
    assert [kind for kind, _ in notebook] == ["display", "update", "update"]
    assert "stop_reason_=&#x27;max_epochs&#x27;" in notebook[-1][1].data


def test_live_loss_plot_does_nothing_outside_a_notebook(monkeypatch):
    IPython = pytest.importorskip("IPython")
    ipython_display = pytest.importorskip("IPython.display")

    def fail(*args, **kwargs):
        raise AssertionError("display called outside a notebook")

    monkeypatch.setattr(ipython_display, "display", fail)
    # A terminal IPython has no kernel; a plain script has no shell at all.
    for shell in (types.SimpleNamespace(), None):
        monkeypatch.setattr(IPython, "get_ipython", lambda shell=shell: shell)
        plot = LiveLossPlot(interval=0)
        est = GDRegressor(max_epochs=3, tol=None, callbacks=[plot]).fit(X_reg, y_reg)
        assert est.n_epochs_ == 3
        assert vars(plot) == {"interval": 0, "width": 560, "height": 280}
