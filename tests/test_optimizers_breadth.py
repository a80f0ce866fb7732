"""Momentum, Nesterov, Adagrad, RMSprop and AdamW: first steps against hand-computed
values and scalar references, behaviour on an ill-conditioned quadratic, state
handling; and every optimizer's documented defaults and name."""

import math

import numpy as np
import pytest
from _references import optimizer_steps, per_coordinate_steps
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from skfit.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    check_optimizer,
)


def scalar_run(optimizer):
    """Scalar gradients 1, 2, -1 at learning rate 0.1: the three steps."""
    gradients = [[np.array([g])] for g in (1.0, 2.0, -1.0)]
    steps, _ = optimizer_steps(optimizer, gradients, [0.1] * 3)
    return [s[0][0] for s in steps]


# ---------------------------------------------------------------- hand-computed
def test_momentum_first_three_steps_by_hand():
    # v = 0.5 v - 0.1 g: -0.1; -0.05 - 0.2 = -0.25; -0.125 + 0.1 = -0.025.
    assert_allclose(scalar_run(Momentum(momentum=0.5)), [-0.1, -0.25, -0.025])


def test_nesterov_first_three_steps_by_hand():
    # Velocities as for momentum; step = 0.5 v - 0.1 g:
    # -0.05 - 0.1 = -0.15; -0.125 - 0.2 = -0.325; -0.0125 + 0.1 = 0.0875.
    assert_allclose(scalar_run(Nesterov(momentum=0.5)), [-0.15, -0.325, 0.0875])


def test_adagrad_first_three_steps_by_hand():
    # G = 3 + sum g^2 = 4, 8, 9; step = -0.1 g / sqrt(G).
    steps = scalar_run(Adagrad(initial_accumulator=3.0))
    expected = [-0.05, -0.2 / math.sqrt(8), 0.1 / 3]
    assert_allclose(steps, expected, rtol=1e-7)  # epsilon = 1e-8 aside


def test_rmsprop_first_three_steps_by_hand():
    # a = 0.5 a + 0.5 g^2 = 0.5, 2.25, 1.625; step = -0.1 g / sqrt(a).
    steps = scalar_run(RMSprop(rho=0.5))
    expected = [-0.1 / math.sqrt(0.5), -0.2 / 1.5, 0.1 / math.sqrt(1.625)]
    assert_allclose(steps, expected, rtol=1e-7)  # epsilon = 1e-8 aside


# ---------------------------------------------------------------- references
def momentum_rule(m):
    def rule(g, lr, v):
        v = m * v - lr * g
        return v, v

    return rule


def nesterov_rule(m):
    def rule(g, lr, v):
        v = m * v - lr * g
        return m * v - lr * g, v

    return rule


def adagrad_rule(eps):
    def rule(g, lr, total):
        total += g * g
        return -lr * g / (math.sqrt(total) + eps), total

    return rule


def rmsprop_rule(rho, eps):
    def rule(g, lr, avg):
        avg = rho * avg + (1 - rho) * g * g
        return -lr * g / (math.sqrt(avg) + eps), avg

    return rule


CASES = [
    (Momentum(), momentum_rule(0.9), 0.0),
    (Momentum(momentum=0.0), lambda g, lr, v: (-lr * g, v), 0.0),
    (Nesterov(), nesterov_rule(0.9), 0.0),
    (Nesterov(momentum=0.3), nesterov_rule(0.3), 0.0),
    (Adagrad(), adagrad_rule(1e-8), 0.0),
    (Adagrad(epsilon=1e-3, initial_accumulator=0.1), adagrad_rule(1e-3), 0.1),
    (RMSprop(), rmsprop_rule(0.9, 1e-8), 0.0),
    (RMSprop(rho=0.99, epsilon=1e-4), rmsprop_rule(0.99, 1e-4), 0.0),
]


@pytest.mark.parametrize(
    "optimizer, rule, initial", CASES, ids=[repr(case[0]) for case in CASES]
)
def test_first_three_steps_match_a_scalar_reference(optimizer, rule, initial):
    steps, state = optimizer_steps(optimizer)
    expected = per_coordinate_steps(rule, initial)
    for t in range(3):
        for step, ref in zip(steps[t], expected[t], strict=True):
            assert step.shape == ref.shape
            assert_allclose(step, ref, rtol=1e-12, atol=1e-15)


def test_adamw_steps_are_adams():
    assert issubclass(AdamW, Adam)
    assert AdamW.update is Adam.update and AdamW.init is Adam.init
    settings = {"beta1": 0.5, "beta2": 0.9, "epsilon": 1e-3}
    adam_steps, _ = optimizer_steps(Adam(**settings))
    adamw_steps, state = optimizer_steps(AdamW(**settings))
    for a, b in zip(adam_steps, adamw_steps, strict=True):
        for x, y in zip(a, b, strict=True):
            assert_array_equal(x, y)
    assert state["count"] == 3


def test_only_adamw_decouples_weight_decay():
    assert AdamW.decoupled_weight_decay is True
    for cls in (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam):
        assert cls.decoupled_weight_decay is False
    assert Optimizer.decoupled_weight_decay is False


# ---------------------------------------------------------------- quadratic
CURVATURE = np.array([1.0, 100.0])  # A = diag(1, 100): condition number 100
START = np.array([2.0, -0.5])


def steps_to_reach(optimizer, learning_rate, tolerance=1e-4, max_steps=500):
    """Updates until ``f(x) = 0.5 x^T A x`` falls below ``tolerance * f(x0)``."""
    x = START.copy()
    state = optimizer.init([x])
    f0 = 0.5 * CURVATURE @ START**2
    for k in range(1, max_steps + 1):
        steps, state = optimizer.update([CURVATURE * x], state, learning_rate)
        x += steps[0]
        if 0.5 * CURVATURE @ x**2 < tolerance * f0:
            return k
    return math.inf


OPTIMIZER_RATES = {
    "sgd": 0.01,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.3,
    "rmsprop": 0.03,
    "adam": 0.1,
    "adamw": 0.1,
}


@pytest.mark.parametrize("name", OPTIMIZER_RATES)
def test_every_optimizer_minimises_an_ill_conditioned_quadratic(name):
    assert steps_to_reach(check_optimizer(name), OPTIMIZER_RATES[name]) < 500


@pytest.mark.parametrize("learning_rate", [0.005, 0.01])
def test_momentum_methods_need_fewer_steps_than_sgd(learning_rate):
    sgd = steps_to_reach(SGD(), learning_rate, max_steps=2000)
    momentum = steps_to_reach(Momentum(), learning_rate, max_steps=2000)
    nesterov = steps_to_reach(Nesterov(), learning_rate, max_steps=2000)
    assert momentum < sgd / 3
    assert nesterov < sgd / 3


# ---------------------------------------------------------------- state
@pytest.mark.parametrize("name", OPTIMIZER_RATES)
def test_float32_parameters_get_float32_state_and_steps(name):
    optimizer = check_optimizer(name)
    params = [np.zeros((2, 3), dtype=np.float32), np.zeros(3, dtype=np.float32)]
    state = optimizer.init(params)
    grads = [np.ones_like(p) for p in params]
    for _ in range(2):
        steps, state = optimizer.update(grads, state, 0.1)
    assert all(s.dtype == np.float32 for s in steps)
    assert [s.shape for s in steps] == [p.shape for p in params]


@pytest.mark.parametrize("name", OPTIMIZER_RATES)
def test_steps_do_not_alias_the_state(name):
    optimizer = check_optimizer(name)
    grads = [np.array([1.0, -2.0])]
    state = optimizer.init([np.zeros(2)])
    steps, state = optimizer.update(grads, state, 0.1)
    steps[0] += 100.0  # changing a step must not change the state
    following, _ = optimizer.update(grads, state, 0.1)
    _, untouched = optimizer.update(grads, optimizer.init([np.zeros(2)]), 0.1)
    expected, _ = optimizer.update(grads, untouched, 0.1)
    assert_array_equal(following[0], expected[0])


# ---------------------------------------------------------------- parameters
DEFAULTS = {
    SGD: {},
    Momentum: {"momentum": 0.9},
    Nesterov: {"momentum": 0.9},
    Adagrad: {"epsilon": 1e-8, "initial_accumulator": 0.0},
    RMSprop: {"rho": 0.9, "epsilon": 1e-8},
    Adam: {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    AdamW: {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


@pytest.mark.parametrize("cls", DEFAULTS, ids=lambda c: c.__name__)
def test_documented_defaults_are_the_searchable_parameters(cls):
    # get_params lists what optimizer__<name> can search, with the defaults the
    # docstrings document.
    assert cls().get_params() == DEFAULTS[cls]


def test_check_optimizer_names_and_objects():
    expected = {
        "sgd": SGD,
        "momentum": Momentum,
        "nesterov": Nesterov,
        "adagrad": Adagrad,
        "rmsprop": RMSprop,
        "adam": Adam,
        "adamw": AdamW,
    }
    for name, cls in expected.items():
        optimizer = check_optimizer(name)
        assert type(optimizer) is cls
        assert optimizer.get_params() == cls().get_params()
    mine = RMSprop(rho=0.5)
    checked = check_optimizer(mine)
    assert checked is not mine and checked.rho == 0.5


@pytest.mark.parametrize(
    "optimizer, name",
    [
        (Momentum(momentum=1.0), "momentum"),
        (Nesterov(momentum=-0.1), "momentum"),
        (Adagrad(epsilon=0.0), "epsilon"),
        (Adagrad(initial_accumulator=-1.0), "initial_accumulator"),
        (RMSprop(rho=1.5), "rho"),
        (AdamW(beta1=1.0), "beta1"),
        (Adam(beta2=-0.5), "beta2"),
    ],
    ids=repr,
)
def test_check_optimizer_refuses_out_of_range_settings(optimizer, name):
    with pytest.raises(InvalidParameterError, match=name):
        check_optimizer(optimizer)
