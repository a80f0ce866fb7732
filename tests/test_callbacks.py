"""Callbacks beyond hook order: progress bars, interrupts, scikit-learn's protocol."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skfit import GDClassifier, GDRegressor
from skfit.callbacks import Callback, ProgressBar

X, y = make_classification(120, 5, random_state=0)


class Interrupt(Callback):
    """Raises KeyboardInterrupt, as Ctrl-C would, after a given batch or epoch."""

    def __init__(self, epoch=None, batch=None):
        self.epoch = epoch
        self.batch = batch

    def on_batch_end(self, estimator, batch_record):
        if self.batch is not None and batch_record["batch"] == self.batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, estimator, record):
        if self.epoch is not None and record["epoch"] == self.epoch:
            raise KeyboardInterrupt


class Fails(Callback):
    def on_epoch_end(self, estimator, record):
        raise ValueError("callback failure")


def test_interrupt_in_partial_fit_keeps_the_partial_epoch():
    est = GDClassifier(batch_size=10, random_state=0)
    est.partial_fit(X, y, classes=[0, 1])
    est.set_params(callbacks=[Interrupt(batch=4)])
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X, y)
    assert est.stop_reason_ == "interrupted"
    assert est.n_epochs_ == 2
    assert len(est.history_.batch_loss) == 12 + 5
    # Twelve updates in the first call, five completed in the interrupted one.
    assert est.t_ == 17
    assert np.all(np.isfinite(est.coef_))
    est.predict(X)


def test_interrupt_stops_a_grid_search():
    search = GridSearchCV(
        GDClassifier(callbacks=[Interrupt(epoch=2)]), {"alpha": [1e-4, 1e-3]}, cv=2
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)


def test_progress_bar_is_closed_and_dropped_when_fit_fails(monkeypatch):
    pytest.importorskip("tqdm")
    closed = []
    import tqdm.auto

    class RecordingBar(tqdm.auto.tqdm):
        def close(self):
            closed.append(True)
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    bar = ProgressBar()
    with pytest.raises(ValueError, match="callback failure"):
        GDRegressor(callbacks=[bar, Fails()]).fit(X, y)
    assert closed
    assert "_bar" not in vars(bar)


def test_verbose_1_shows_a_progress_bar(capsys):
    pytest.importorskip("tqdm")
    GDRegressor(verbose=1, max_epochs=3, tol=None).fit(X, y)
    assert "3/3" in capsys.readouterr().err


class CountEpochs:
    """A scikit-learn FitCallback counting the tasks it hears about."""

    def __init__(self):
        self.begun = []
        self.ended = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.ended.append(context.task_name)


def test_each_epoch_is_a_scikit_learn_fit_subtask():
    pytest.importorskip("sklearn.callback")
    counter = CountEpochs()
    est = GDClassifier(max_epochs=4, tol=None).set_callbacks(counter)
    est.fit(X, y)
    assert counter.ended.count("epoch") == 4
    assert counter.begun[0] == counter.ended[-1] == "fit"


def test_scikit_learn_progress_bar_inside_grid_search():
    sklearn_callback = pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    search = GridSearchCV(
        GDClassifier(max_epochs=5, tol=None, random_state=0),
        {"alpha": [1e-4, 1e-3]},
        cv=2,
    ).set_callbacks(sklearn_callback.ProgressBar())
    search.fit(X, y)
    # The bars follow the search without changing it: every fit trains its five
    # epochs, and the search scores as one without bars.
    assert search.best_estimator_.n_epochs_ == 5
    plain = GridSearchCV(
        GDClassifier(max_epochs=5, tol=None, random_state=0),
        {"alpha": [1e-4, 1e-3]},
        cv=2,
    ).fit(X, y)
    assert_array_equal(
        search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
