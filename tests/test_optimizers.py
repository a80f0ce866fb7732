"""Optimizers: the first steps of SGD and Adam against hand-derived values, and
their use inside an estimator."""

import math

import numpy as np
import pytest
from _fitting import fit_quietly, full_batch
from _references import GRADIENTS, optimizer_steps, per_coordinate_steps
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_regression

# isort: split
from _datasets import unit_spread

from skfit import GDRegressor
from skfit.optimizers import SGD, Adam


# ------------------------------------------------------------ SGD
def test_sgd_first_three_steps():
    steps, _ = optimizer_steps(SGD())
    expected = per_coordinate_steps(lambda g, lr, memory: (-lr * g, memory), None)
    for t in range(3):
        for step, reference in zip(steps[t], expected[t], strict=True):
            assert step.shape == reference.shape
            assert_allclose(step, reference, rtol=1e-15, atol=0)


# ------------------------------------------------------------ Adam
def adam_rule(beta1, beta2, epsilon):
    """Kingma & Ba's Adam for one scalar coordinate, memory ``(m, v, t)``, with
    the bias-corrected effective rate ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)``
    and the step ``m / (sqrt(v) + eps)``."""

    def rule(g, lr, memory):
        m, v, t = memory
        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        effective = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        return -effective * m / (math.sqrt(v) + epsilon), (m, v, t)

    return rule


@pytest.mark.parametrize(
    "beta1, beta2, epsilon",
    [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3), (0.0, 0.99, 1e-8)],
)
def test_adam_first_three_steps(beta1, beta2, epsilon):
    optimizer = Adam(beta1=beta1, beta2=beta2, epsilon=epsilon)
    steps, state = optimizer_steps(optimizer)
    expected = per_coordinate_steps(adam_rule(beta1, beta2, epsilon), (0.0, 0.0, 0))
    for t in range(3):
        for step, reference in zip(steps[t], expected[t], strict=True):
            assert step.shape == reference.shape
            assert_allclose(step, reference, rtol=1e-12, atol=1e-15)
    assert state["count"] == 3


def test_adam_first_step_is_about_minus_lr_times_the_sign():
    # With bias correction m = (1 - b1) g and sqrt(v) = sqrt(1 - b2) |g|, so the
    # first step is -lr * g / (|g| + eps / sqrt(1 - b2)): about -lr * sign(g).
    optimizer = Adam()
    state = optimizer.init([np.zeros(3)])
    g = np.array([4.0, -0.01, 0.0])
    steps, _ = optimizer.update([g.copy()], state, 0.01)
    expected = [-0.01 * x / (abs(x) + 1e-8 / math.sqrt(1 - 0.999)) for x in g]
    assert_allclose(steps[0], expected, rtol=1e-12, atol=1e-300)
    assert_allclose(steps[0], [-0.01, 0.01, 0.0], rtol=1e-4)


def test_adam_state_is_a_dict_and_init_is_fresh():
    optimizer = Adam()
    params = [np.zeros_like(g) for g in GRADIENTS[0]]
    state = optimizer.init(params)
    assert isinstance(state, dict)
    _, state = optimizer.update(GRADIENTS[0], state, 0.1)
    # A new init does not share arrays with a used state.
    fresh = optimizer.init(params)
    steps_fresh, _ = optimizer.update(GRADIENTS[0], fresh, 0.1)
    steps_first = optimizer_steps(Adam(), GRADIENTS[:1], [0.1])[0][0]
    for a, b in zip(steps_fresh, steps_first, strict=True):
        assert_allclose(a, b, rtol=1e-15)


# ------------------------------------------------------------ inside an estimator
def small_regression():
    """Standardised features and a target that is trained in its own units."""
    X, y = make_regression(30, 3, noise=1.0, random_state=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, unit_spread(y)


def reference_gradient(X, y, w, b, alpha):
    """Full-batch gradient of mean(0.5 * (Xw + b - y)^2) + alpha / 2 * |w|^2."""
    r = X @ w + b - y
    return X.T @ r / len(y) + alpha * w, np.array([r.mean()])


def reference_objective(X, y, w, b, alpha):
    return float(np.mean(0.5 * (X @ w + b - y) ** 2) + 0.5 * alpha * w @ w)


def test_fitting_does_not_change_the_optimizer_passed():
    X, y = small_regression()
    adam = Adam(beta1=0.5)
    before = dict(vars(adam))
    est = fit_quietly(GDRegressor(optimizer=adam, max_epochs=5, random_state=0), X, y)
    assert est.optimizer is adam
    assert adam.get_params() == {"beta1": 0.5, "beta2": 0.999, "epsilon": 1e-8}
    assert vars(adam) == before
    # A second fit from the same object starts afresh and gives the same result.
    again = fit_quietly(clone(est), X, y)
    assert_array_equal(again.coef_, est.coef_)


def test_estimator_with_adam_beta1_follows_hand_derived_adam_steps():
    X, y = small_regression()
    # Uncentred features give the bias a real gradient once the weights move; at
    # the start it is optimal and its gradient rounding noise (see below).
    X = X + 0.5
    rate, beta1, beta2, eps = 0.1, 0.5, 0.999, 1e-8
    est = fit_quietly(
        full_batch(GDRegressor, rate, 3, optimizer=Adam(beta1=beta1), penalty=None),
        X,
        y,
    )
    # The bias starts at the optimal constant, the mean target.
    w, b = np.zeros(3), np.array([y.mean()])
    m = [np.zeros(3), np.zeros(1)]
    v = [np.zeros(3), np.zeros(1)]
    losses = []
    for t in (1, 2, 3):
        losses.append(reference_objective(X, y, w, b, 0.0))
        grads = reference_gradient(X, y, w, b, 0.0)
        effective = rate * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        for i, g in enumerate(grads):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
        w = w - effective * m[0] / (np.sqrt(v[0]) + eps)
        b = b - effective * m[1] / (np.sqrt(v[1]) + eps)
    assert_allclose(est.coef_, w, rtol=1e-10)
    # At the start the bias is optimal: its gradient is rounding noise, which
    # Adam's normalised step turns into moves of about rate * noise / epsilon.
    assert_allclose(est.intercept_, b, rtol=1e-10, atol=1e-10)
    # (The precision of the recorded loss is tested on its own below.)
    assert_allclose(est.history_["loss"], losses, rtol=1e-6)
    assert est.t_ == 3
    # beta1 matters: the default Adam takes different steps.
    default = fit_quietly(full_batch(GDRegressor, rate, 3, optimizer="adam"), X, y)
    assert not np.allclose(default.coef_, est.coef_)


def test_estimator_with_sgd_follows_hand_derived_gradient_steps():
    X, y = small_regression()
    rate, alpha = 0.3, 0.05
    est = fit_quietly(
        full_batch(GDRegressor, rate, 3, optimizer=SGD(), penalty="l2", alpha=alpha),
        X,
        y,
    )
    w, b = np.zeros(3), np.array([y.mean()])
    losses = []
    for _ in range(3):
        losses.append(reference_objective(X, y, w, b, alpha))
        grad_w, grad_b = reference_gradient(X, y, w, b, alpha)
        w, b = w - rate * grad_w, b - rate * grad_b
    assert_allclose(est.coef_, w, rtol=1e-10)
    assert_allclose(est.intercept_, b, rtol=1e-10)
    assert_allclose(est.history_["loss"], losses, rtol=1e-6)
    named = fit_quietly(
        full_batch(GDRegressor, rate, 3, optimizer="sgd", penalty="l2", alpha=alpha),
        X,
        y,
    )
    assert_array_equal(named.coef_, est.coef_)


@pytest.mark.parametrize("batch_size", [None, 7])
def test_recorded_loss_of_a_float64_fit_has_float64_precision(batch_size):
    # The parameters start at the optimal constant (the mean target, zero
    # weights) and a learning rate of 1e-300 leaves them there to within 1e-290,
    # so every batch objective is mean(0.5 * (y_batch - mean(y)) ** 2), and the
    # epoch loss (their weighted mean over the batches) is 0.5 * var(y). The
    # recorded objective of a float64 fit should carry float64 precision, not
    # float32's (about 6e-8), which is coarser than tol for losses above about 1e3.
    X, y = small_regression()
    y = 1000.0 * y + 1000.0
    est = fit_quietly(
        full_batch(GDRegressor, 1e-300, 1, batch_size=batch_size),
        X,
        y,
    )
    assert_allclose(est.history_["loss"][0], 0.5 * np.var(y), rtol=1e-12)
