"""Properties over generated data: finiteness, repeatability and monotone descent."""

import math

import numpy as np
import pytest
from _fitting import fit_quietly, full_batch
from _references import lipschitz
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skfit import GDClassifier, GDRegressor

# Only the expected warnings are silenced (spike warnings here, convergence warnings
# by fit_quietly): pytest's configuration still turns RuntimeWarnings raised in skfit
# (overflow, invalid values) into errors.
pytestmark = pytest.mark.filterwarnings("ignore::skfit.LossSpikeWarning")

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STOP_REASONS = {
    "max_epochs",
    "tol",
    "loss_threshold",
    "early_stopping",
    "diverged",
    "spike",
    "callback",
}


@st.composite
def datasets(draw, scale=1e3, min_rows=2, max_rows=16, classifier=False):
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 3))
    elements = st.floats(-scale, scale, allow_nan=False, allow_infinity=False)
    X = draw(arrays(np.float64, (n, d), elements=elements))
    if classifier:
        n_classes = draw(st.integers(2, min(3, n)))
        y = draw(arrays(np.int64, n, elements=st.integers(0, n_classes - 1)))
        # Every class present, so the classes are those drawn.
        y[:n_classes] = np.arange(n_classes)
    else:
        y = draw(arrays(np.float64, n, elements=elements))
    return X, y


# ------------------------------------------------------------ finiteness
hyperparameters = st.fixed_dictionaries(
    {
        "optimizer": st.sampled_from(["sgd", "adam"]),
        "learning_rate": st.floats(1e-4, 10.0),
        "batch_size": st.one_of(st.none(), st.integers(1, 8)),
        "penalty": st.sampled_from([None, "l2", "l1", "elasticnet"]),
        "alpha": st.floats(0.0, 1.0),
        "fit_intercept": st.booleans(),
        "max_epochs": st.integers(1, 12),
        "random_state": st.integers(0, 2**16),
    }
)


def assert_all_finite_parameters(est):
    assert np.all(np.isfinite(est.coef_))
    assert np.all(np.isfinite(est.intercept_))
    assert est.stop_reason_ in STOP_REASONS
    assert len(est.history_) == est.n_epochs_ >= 1


@SETTINGS
@given(data=datasets(), params=hyperparameters)
def test_regressor_parameters_and_predictions_stay_finite(data, params):
    X, y = data
    est = fit_quietly(GDRegressor(**params), X, y)
    event(f"stop_reason={est.stop_reason_}")
    assert_all_finite_parameters(est)
    assert np.all(np.isfinite(est.predict(X)))
    if est.stop_reason_ == "diverged":
        # The restored parameters are the best seen, whose loss was finite.
        assert math.isfinite(est.best_loss_)


@SETTINGS
@given(data=datasets(classifier=True), params=hyperparameters)
def test_classifier_parameters_and_probabilities_stay_finite(data, params):
    X, y = data
    est = fit_quietly(GDClassifier(**params), X, y)
    event(f"stop_reason={est.stop_reason_}")
    assert_all_finite_parameters(est)
    proba = est.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(np.isfinite(est.decision_function(X)))
    assert set(est.predict(X)) <= set(est.classes_)


# ------------------------------------------------------------ repeatability
repeat_parameters = st.fixed_dictionaries(
    {
        "optimizer": st.sampled_from(["sgd", "adam"]),
        "learning_rate": st.floats(1e-3, 0.5),
        "batch_size": st.integers(1, 6),
        "penalty": st.sampled_from([None, "l2", "elasticnet"]),
        "validation_fraction": st.sampled_from([None, 0.3]),
        "max_epochs": st.integers(1, 8),
        "random_state": st.integers(0, 2**31 - 1),
        "shuffle": st.just(True),
    }
)


def assert_identical_fits(a, b):
    keys = [key for key in a.history_.keys() if key != "duration"]  # noqa: SIM118
    assert len(keys) >= 6
    for key in keys:
        np.testing.assert_array_equal(a.history_[key], b.history_[key], key)
    np.testing.assert_array_equal(a.history_.batch_loss, b.history_.batch_loss)
    assert np.array_equal(a.coef_, b.coef_)
    assert np.array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_
    assert a.stop_reason_ == b.stop_reason_


@SETTINGS
@given(
    data=datasets(scale=10.0, min_rows=10, max_rows=30),
    params=repeat_parameters,
)
def test_same_random_state_gives_identical_regressor_fits(data, params):
    X, y = data
    a = fit_quietly(GDRegressor(**params), X, y)
    b = fit_quietly(GDRegressor(**params), X.copy(), y.copy())
    assert_identical_fits(a, b)


@SETTINGS
@given(
    data=datasets(scale=10.0, min_rows=12, max_rows=30, classifier=True),
    params=repeat_parameters,
)
def test_same_random_state_gives_identical_classifier_fits(data, params):
    X, y = data
    params = {**params, "validation_fraction": None}
    a = fit_quietly(GDClassifier(**params), X, y)
    b = fit_quietly(GDClassifier(**params), X.copy(), y.copy())
    assert_identical_fits(a, b)


# ------------------------------------------------------------ monotone descent
descent_parameters = st.fixed_dictionaries(
    {
        "penalty": st.sampled_from([None, "l2", "l1", "elasticnet"]),
        "alpha": st.floats(0.0, 0.5),
        "fit_intercept": st.booleans(),
        "step_fraction": st.floats(0.01, 0.99),
        "weighted": st.booleans(),
    }
)


def check_monotone_descent(Estimator, X, y, curvature, params, weight_seed):
    params = dict(params)
    step_fraction = params.pop("step_fraction")
    weighted = params.pop("weighted")
    sw = (
        np.random.default_rng(weight_seed).uniform(0.1, 2.0, size=len(y))
        if weighted
        else np.ones(len(y))
    )
    # With the l1 part handled by a proximal step, full-batch (proximal) gradient
    # descent with a step below 1 / L never increases the objective.
    alpha = params["alpha"] if params["penalty"] is not None else 0.0
    rate = step_fraction / lipschitz(X, sw, curvature, alpha)
    if not rate > 0:  # an all-zero X with no intercept leaves nothing to learn
        return
    est = full_batch(Estimator, rate, 30, **params)
    fit_quietly(est, X, y, sample_weight=sw if weighted else None)
    losses = est.history_["loss"]
    assert len(losses) == 30
    assert np.all(np.isfinite(losses))
    # Slack for rounding: 1e-12 relative to the scale of the objective.
    slack = 1e-12 * losses[0]
    increases = np.diff(losses)
    assert np.all(increases <= slack), (losses, increases.max())


@SETTINGS
@given(
    data=datasets(min_rows=3),
    params=descent_parameters,
    seed=st.integers(0, 1000),
)
def test_full_batch_gd_never_increases_the_regression_objective(data, params, seed):
    X, y = data
    check_monotone_descent(GDRegressor, X, y, 1.0, params, seed)


@SETTINGS
@given(
    data=datasets(scale=30.0, min_rows=4, classifier=True),
    params=descent_parameters,
    seed=st.integers(0, 1000),
)
def test_full_batch_gd_never_increases_the_log_loss_objective(data, params, seed):
    X, y = data
    # The log-loss Hessian is at most 1/4 (sigmoid) or 1/2 (softmax) of x x'.
    curvature = 0.25 if len(np.unique(y)) == 2 else 0.5
    check_monotone_descent(GDClassifier, X, y, curvature, params, seed)


# ------------------------------------------------------------ divergence
@SETTINGS
@given(
    data=datasets(scale=100.0, min_rows=3),
    overshoot=st.floats(1.5, 20.0),
    classifier=st.booleans(),
)
def test_divergence_restores_the_best_finite_parameters(data, overshoot, classifier):
    X, y = data
    if classifier:
        y = (y > np.median(y)).astype(int)
        if len(np.unique(y)) < 2:
            y[0] = 1 - y[0]
    Estimator, curvature = (GDClassifier, 0.25) if classifier else (GDRegressor, 1.0)
    L = lipschitz(X, np.ones(len(y)), curvature, 0.0)
    if not L > 0:
        return
    # A full-batch step well above 2 / L: gradient descent overshoots and explodes.
    rate = min(overshoot * 2 / L, 1e6)
    est = full_batch(Estimator, rate, 60, penalty=None)
    fit_quietly(est, X, y)
    event(f"stop_reason={est.stop_reason_}")
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    losses = est.history_["loss"]
    if est.stop_reason_ == "diverged":
        assert math.isfinite(est.best_loss_)
        assert est.best_loss_ == np.nanmin(losses)
        # In full batch the epoch loss is the objective of the parameters at the
        # epoch's start, so the restored parameters have exactly the best loss.
        raw = np.asarray(est.decision_function(X) if classifier else est.predict(X))
        if classifier:
            restored = np.mean(np.logaddexp(0, raw) - y * raw)
        else:
            restored = np.mean(0.5 * (raw - y) ** 2)
        np.testing.assert_allclose(restored, est.best_loss_, rtol=1e-9, atol=1e-300)
    else:
        assert est.stop_reason_ == "max_epochs"
        # Not judged divergent: never 3 epochs in a row above both 10 times the
        # best epoch loss so far and the first epoch loss (the documented rule).
        running_best = np.minimum.accumulate(losses)
        above = losses > np.maximum(10 * running_best, losses[0])
        assert not np.any(above[:-2] & above[1:-1] & above[2:])
