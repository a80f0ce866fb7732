"""warm_start and partial_fit after set_params: changed hyperparameters take
effect, and those that shape the parameters are refused (issue 13, item 4)."""

import copy
import pickle

import numpy as np
import pytest
from _fitting import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal

from skfit import GDClassifier, GDRegressor, MLPRegressor
from skfit.callbacks import Callback
from skfit.optimizers import Adam

ACTIVATIONS = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    return X, y


def mlp_objective(est, X, y, activation):
    """The squared-error objective of a one-hidden-layer MLP, by hand."""
    (W0, W1), (b0, b1) = est.coefs_, est.intercepts_
    raw = ACTIVATIONS[activation](X @ W0 + b0) @ W1 + b1
    penalty = est.alpha / 2 * (np.sum(W0**2) + np.sum(W1**2))
    return 0.5 * np.mean((y - raw[:, 0]) ** 2) + penalty, raw[:, 0]


def mlp(**settings):
    return MLPRegressor(
        hidden_layer_sizes=(6,),
        batch_size=None,
        max_epochs=3,
        tol=None,
        warm_start=True,
        random_state=0,
        **settings,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_changed_activation_takes_effect(data, method):
    X, y = data
    est = fit_quietly(mlp(activation="relu"), X, y)
    # Full batch: the first new epoch records the objective at the current
    # parameters, so it shows which activation training used.
    expected_loss, _ = mlp_objective(est, X, y, "tanh")
    est.set_params(activation="tanh")
    getattr(est, method)(X, y)
    assert_allclose(est.history_["loss"][3], expected_loss, rtol=1e-12)
    _, expected_predictions = mlp_objective(est, X, y, "tanh")
    assert_allclose(est.predict(X), expected_predictions, rtol=1e-12)


def test_a_changed_dropout_takes_effect(data):
    X, y = data
    est = fit_quietly(mlp(dropout=0.5), X, y)
    expected_loss, _ = mlp_objective(est, X, y, "relu")
    # Without dropout the recorded objective is the deterministic one.
    fit_quietly(est.set_params(dropout=0.0), X, y)
    assert_allclose(est.history_["loss"][3], expected_loss, rtol=1e-12)
    # And back: training with dropout again differs from training without.
    with_dropout = fit_quietly(copy.deepcopy(est).set_params(dropout=0.5), X, y)
    without = fit_quietly(copy.deepcopy(est), X, y)
    assert not np.allclose(with_dropout.coefs_[0], without.coefs_[0])


@pytest.mark.parametrize(
    ("schedule", "multiplier"), [(lambda t: 0.25, 0.25), ("constant", 1.0)]
)
def test_a_changed_schedule_is_rebuilt(data, schedule, multiplier):
    X, y = data
    first = lambda t: 0.5  # noqa: E731
    est = fit_quietly(GDRegressor(schedule=first, warm_start=True, tol=None), X, y)
    fit_quietly(est.set_params(schedule=schedule, max_epochs=2), X, y)
    rates = est.history_["learning_rate"]
    assert_array_equal(rates[:-2], 0.5 * est.learning_rate)
    assert_array_equal(rates[-2:], multiplier * est.learning_rate)


def test_an_unchanged_plateau_schedule_keeps_its_state(data):
    X, y = data
    est = GDRegressor(schedule="plateau", warm_start=True, tol=None, max_epochs=40)
    est.set_params(learning_rate=1.0, optimizer="sgd", batch_size=None)
    fit_quietly(est, X, y)
    lowered = est.history_["learning_rate"][-1]
    assert lowered < est.learning_rate  # the plateau lowered the rate...
    fit_quietly(est.set_params(max_epochs=1), X, y)
    assert est.history_["learning_rate"][-1] <= lowered  # ...and it stays lowered


def test_an_optimizer_of_another_kind_starts_afresh(data):
    X, y = data
    settings = {"batch_size": None, "penalty": None, "tol": None, "max_epochs": 4}
    est = fit_quietly(GDRegressor(warm_start=True, **settings), X, y)
    w, b = est.coef_.copy(), est.intercept_.copy()
    est.set_params(optimizer="sgd", max_epochs=1)
    fit_quietly(est, X, y)
    # One plain gradient step on the half mean squared error.
    residual = X @ w + b - y
    assert_allclose(est.coef_, w - est.learning_rate * X.T @ residual / len(y))
    assert_allclose(est.intercept_, b - est.learning_rate * residual.mean())


def test_new_settings_of_the_same_optimizer_keep_its_state(data):
    X, y = data
    est = fit_quietly(GDRegressor(warm_start=True, max_epochs=3, tol=None), X, y)
    moments = est._state.optimizer_state["mu"][0].copy()
    est.set_params(optimizer=Adam(beta1=0.5), max_epochs=1)
    fit_quietly(est, X, y)
    state = est._state
    assert state.optimizer.beta1 == 0.5
    assert state.optimizer_state["count"] == est.t_  # counted on, not restarted
    assert not np.allclose(state.optimizer_state["mu"][0], moments)


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_a_changed_fit_intercept_is_refused(Estimator, data):
    X, y = data
    y = y if Estimator is GDRegressor else (y > 0).astype(int)
    est = fit_quietly(Estimator(warm_start=True, max_epochs=2), X, y)
    before = pickle.dumps(est)
    est.set_params(fit_intercept=False)
    for method in ("fit", "partial_fit"):
        with pytest.raises(
            ValueError, match="fit_intercept changed from True to False"
        ):
            getattr(est, method)(X, y)
    assert pickle.dumps(est.set_params(fit_intercept=True)) == before


class FailAtStart(Callback):
    def on_train_begin(self, estimator):
        raise RuntimeError("callback failed")


def test_a_failed_call_restores_the_previous_settings(data):
    X, y = data
    est = fit_quietly(mlp(activation="relu"), X, y)
    before = pickle.dumps(est)
    est.set_params(
        activation="tanh",
        dropout=0.3,
        optimizer="sgd",
        schedule="invscaling",
        callbacks=[FailAtStart()],
    )
    with pytest.raises(RuntimeError, match="callback failed"):
        est.fit(X, y)
    est.set_params(
        activation="relu",
        dropout=0.0,
        optimizer="adam",
        schedule="constant",
        callbacks=None,
    )
    assert pickle.dumps(est) == before
