"""Callbacks beyond hook order: progress bars, interrupts, scikit-learn's protocol."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import NotFittedError
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


class InterruptAtTheEnd(Callback):
    def on_train_end(self, estimator):
        raise KeyboardInterrupt


class ExitAtEpoch(Callback):
    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, estimator, record):
        if record["epoch"] == self.epoch:
            raise SystemExit(3)


class SaveAtTheEnd(Callback):
    def on_train_end(self, estimator):
        self.coef_ = estimator.coef_.copy()
        self.reason_ = estimator.stop_reason_


def test_an_interrupt_from_on_train_end_keeps_the_finished_fit():
    X, y = load_iris(return_X_y=True)
    expected = GDClassifier(max_epochs=4, tol=None, random_state=0).fit(X, y)
    est = GDClassifier(
        max_epochs=4, tol=None, random_state=0, callbacks=[InterruptAtTheEnd()]
    )
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert est.stop_reason_ == "max_epochs"
    assert est.n_epochs_ == 4
    np.testing.assert_array_equal(est.coef_, expected.coef_)


@pytest.mark.parametrize("warm", [False, True])
def test_a_system_exit_from_a_callback_undoes_the_call(warm):
    X, y = load_iris(return_X_y=True)
    est = GDClassifier(max_epochs=3, tol=None, random_state=0, warm_start=warm)
    if warm:
        est.fit(X, y)
        coef, reason, n_epochs = est.coef_.copy(), est.stop_reason_, est.n_epochs_
    est.set_params(callbacks=[ExitAtEpoch(epoch=2 + 3 * warm)])
    with pytest.raises(SystemExit):
        est.fit(X, y)
    if warm:
        np.testing.assert_array_equal(est.coef_, coef)
        assert (est.stop_reason_, est.n_epochs_) == (reason, n_epochs)
    else:
        assert not hasattr(est, "stop_reason_")
        with pytest.raises(NotFittedError):
            est.predict(X)


def test_on_train_end_sees_the_restored_best_parameters():
    X, y = load_iris(return_X_y=True)
    saver = SaveAtTheEnd()
    est = GDClassifier(
        early_stopping=True,
        n_iter_no_change=2,
        tol=1e6,
        max_epochs=30,
        random_state=0,
        callbacks=[saver],
    ).fit(X, y)
    assert saver.reason_ == est.stop_reason_ == "early_stopping"
    np.testing.assert_array_equal(saver.coef_, est.coef_)
