"""Ctrl-C at any batch or epoch, over hyperparameters and input kinds: the
estimator keeps what was done, stays consistent and usable (issue 13, item 7);
and the spike-record cap holds per estimator over many calls (item 11)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification, make_regression

from skfit import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skfit._training import _spikes
from skfit.callbacks import Callback


class InterruptAt(Callback):
    """Raises KeyboardInterrupt at the given batch (or epoch end) of a fit."""

    def __init__(self, batch=None, epoch=None):
        self.batch = batch
        self.epoch = epoch

    def on_train_begin(self, estimator):
        self.batches_ = 0

    def on_batch_end(self, estimator, batch_record):
        self.batches_ += 1
        if self.batch is not None and self.batches_ == self.batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, estimator, record):
        if self.epoch is not None and record["epoch"] == self.epoch:
            raise KeyboardInterrupt


ESTIMATORS = [GDRegressor, GDClassifier, MLPRegressor, MLPClassifier]


def data(Estimator, kind, seed):
    if Estimator in (GDRegressor, MLPRegressor):
        X, y = make_regression(60, 4, noise=5.0, bias=100.0, random_state=seed)
    else:
        X, y = make_classification(
            60, 4, n_classes=3, n_informative=3, n_redundant=0, random_state=seed
        )
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "csr":
        X = sp.csr_matrix(X * (np.abs(X) > 0.5))
    return X, y


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    estimator_index=st.integers(0, 3),
    kind=st.sampled_from(["dense", "float32", "csr"]),
    optimizer=st.sampled_from(["sgd", "momentum", "adam", "rmsprop"]),
    batch_size=st.sampled_from([None, 7, 16]),
    spike_policy=st.sampled_from(["warn", "skip", "rollback"]),
    where=st.one_of(
        st.builds(lambda b: {"batch": b}, st.integers(1, 30)),
        st.builds(lambda e: {"epoch": e}, st.integers(1, 4)),
    ),
    incremental=st.booleans(),
    seed=st.integers(0, 3),
)
def test_an_interrupt_anywhere_leaves_a_consistent_usable_estimator(
    estimator_index,
    kind,
    optimizer,
    batch_size,
    spike_policy,
    where,
    incremental,
    seed,
):
    Estimator = ESTIMATORS[estimator_index]
    X, y = data(Estimator, kind, seed)
    params = {
        "optimizer": optimizer,
        "batch_size": batch_size,
        "spike_policy": spike_policy,
        "max_epochs": 4,
        "tol": None,
        "random_state": seed,
        "callbacks": [InterruptAt(**where)],
    }
    if Estimator in (MLPRegressor, MLPClassifier):
        params["hidden_layer_sizes"] = (5,)
    est = Estimator(**params)
    fit_kwargs = {}
    call = est.fit
    if incremental:
        call = est.partial_fit
        if Estimator in (GDClassifier, MLPClassifier):
            fit_kwargs["classes"] = np.unique(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call(X, y, **fit_kwargs)
            interrupted = False
        except KeyboardInterrupt:
            interrupted = True
    if not hasattr(est, "_state"):
        # Interrupted before training began: nothing was fitted.
        assert interrupted
        return
    state = est._state
    assert est.n_epochs_ == len(est.history_) == est.n_iter_
    assert not np.isnan(est.history_["loss"]).any()  # no record of an empty epoch
    if interrupted:
        assert est.stop_reason_ == "interrupted"
        assert est.converged_ is False
    # The optimizer counted exactly the updates applied.
    assert state.optimizer_state["count"] == est.t_
    assert np.all(np.isfinite(state.network.flat))
    predictions = est.predict(X)
    assert np.all(np.isfinite(np.asarray(predictions, dtype=float)))
    # And it trains on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(callbacks=None)
        if Estimator in (GDClassifier, MLPClassifier):
            est.partial_fit(X, y, classes=np.unique(y))
        else:
            est.partial_fit(X, y)
    assert np.all(np.isfinite(state.network.flat))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_spike_record_cap_holds_over_partial_fit_calls(monkeypatch):
    # Every batch of rows whose targets are 1e6 times larger is a spike; the
    # records stop at the cap, over calls, while the history counts them all.
    monkeypatch.setattr(_spikes, "SPIKE_RECORD_CAP", 5)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ [1.0, 2.0, -1.0]
    bad = y * 1e6
    est = GDRegressor(batch_size=8, shuffle=False, spike_policy="ignore")
    for _ in range(3):
        est.partial_fit(X, y)  # the warm-up: 24 clean batches
    for _ in range(4):
        est.partial_fit(X, np.where(np.arange(64) % 16 == 0, bad, y))
    assert est.history_["n_spikes"].sum() > 5
    assert len(est.spikes_) == 5
