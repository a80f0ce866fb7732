"""The callback protocol's edges: objects with only some hooks, and
scikit-learn's own callbacks through set_callbacks (issue 13, item 5)."""

import numpy as np
import pytest
from _datasets import regression_data
from numpy.testing import assert_allclose
from sklearn.metrics import r2_score

from skfit import GDRegressor, MLPRegressor
from skfit.callbacks import Callback, as_callback


@pytest.fixture(scope="module")
def regression():
    return regression_data(n_samples=120, noise=1.0, n_features=4)


class EpochScores(Callback):
    """Records the weighted R^2 on the training data at the end of each epoch."""

    def __init__(self, X=None, y=None, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def on_train_begin(self, estimator):
        self.scores_ = []

    def on_epoch_end(self, estimator, record):
        predictions = estimator.predict(self.X)
        self.scores_.append(
            r2_score(self.y, predictions, sample_weight=self.sample_weight)
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("weighted", [False, True])
def test_scikit_learn_scoring_monitor_scores_every_epoch(regression, weighted):
    sklearn_callback = pytest.importorskip("sklearn.callback")
    X, y = regression
    sample_weight = np.linspace(0.1, 2.0, len(y)) if weighted else None
    monitor = sklearn_callback.ScoringMonitor(scoring="r2")
    reference = EpochScores(X, y, sample_weight)
    est = GDRegressor(max_epochs=4, tol=None, random_state=0, callbacks=[reference])
    est.set_callbacks(monitor)
    est.fit(X, y, sample_weight=sample_weight)
    rows = monitor.get_logs().data
    epochs = [row["r2"] for row in rows if row["task_name"] == "epoch"]
    assert_allclose(epochs, reference.scores_, rtol=1e-12)
    assert len(epochs) == 4


class OnlyEpochEnd:
    """A plain object with one hook: stop after two epochs."""

    def on_epoch_end(self, estimator, record):
        return record["epoch"] >= 2


class OnlyBatchEnd:
    def __init__(self):
        self.batches = 0

    def on_batch_end(self, estimator, batch_record):
        self.batches += 1


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_an_object_with_some_hooks_is_a_callback(regression, Estimator):
    X, y = regression
    counter = OnlyBatchEnd()
    est = Estimator(batch_size=40, callbacks=[OnlyEpochEnd(), counter]).fit(X, y)
    assert est.stop_reason_ == "callback"
    assert est.n_epochs_ == 2
    assert counter.batches == 2 * 3


def test_an_adapter_listens_to_batches_only_when_its_object_does():
    # The engine trains in its compiled loop unless a callback listens to batches.
    assert type(as_callback(OnlyEpochEnd())).on_batch_end is Callback.on_batch_end
    assert type(as_callback(OnlyBatchEnd())).on_batch_end is not Callback.on_batch_end
    complete = EpochScores()
    assert as_callback(complete) is complete


def test_an_object_without_hooks_is_refused(regression):
    X, y = regression
    est = GDRegressor(callbacks=[object()])
    with pytest.raises(TypeError, match="needs at least one of the hooks"):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_")
