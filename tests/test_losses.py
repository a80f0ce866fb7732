"""Losses: values against hand-written formulas, gradients against finite
differences, numerical stability and the adapter for a user's loss object."""

import math

import numpy as np
import pytest
from _fitting import fit_quietly
from _references import finite_difference_gradient
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_regression

from skfit import GDRegressor
from skfit.losses import LogLoss, Loss, MultilabelLogLoss, SquaredError, check_loss

# isort: split
from _datasets import unit_spread

RNG_SEED = 0


def one_hot(labels, n_classes):
    Y = np.zeros((len(labels), n_classes))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


# ---------------------------------------------------------------- problems
def squared_error_problem(n_outputs):
    rng = np.random.default_rng(RNG_SEED)
    y = rng.normal(size=(7, n_outputs)) * 3
    raw = rng.normal(size=(7, n_outputs)) * 3
    return y, raw


def binary_problem():
    rng = np.random.default_rng(RNG_SEED + 1)
    y = rng.integers(0, 2, size=(9, 1)).astype(float)
    raw = rng.normal(size=(9, 1)) * 4
    return y, raw


def multinomial_problem(n_classes=4):
    rng = np.random.default_rng(RNG_SEED + 2)
    labels = rng.integers(0, n_classes, size=11)
    return one_hot(labels, n_classes), rng.normal(size=(11, n_classes)) * 3


def multilabel_problem(n_labels=4):
    rng = np.random.default_rng(RNG_SEED + 3)
    y = rng.integers(0, 2, size=(10, n_labels)).astype(float)
    return y, rng.normal(size=(10, n_labels)) * 4


PROBLEMS = {
    "squared_error_1": (SquaredError, lambda: squared_error_problem(1)),
    "squared_error_3": (SquaredError, lambda: squared_error_problem(3)),
    "log_loss_binary": (LogLoss, binary_problem),
    "log_loss_multinomial": (LogLoss, multinomial_problem),
    "log_loss_multilabel": (MultilabelLogLoss, multilabel_problem),
}


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_squared_error_is_half_the_squared_residual_summed_over_columns(n_outputs):
    y, raw = squared_error_problem(n_outputs)
    expected = [
        sum(0.5 * (raw[i, j] - y[i, j]) ** 2 for j in range(n_outputs))
        for i in range(len(y))
    ]
    values = SquaredError().loss(y, raw)
    assert values.shape == (len(y),)
    assert_allclose(values, expected, rtol=1e-14)


def test_binary_log_loss_matches_the_logistic_formula():
    y, raw = binary_problem()
    expected = [
        math.log1p(math.exp(z)) - t * z for z, t in zip(raw[:, 0], y[:, 0], strict=True)
    ]
    values = LogLoss().loss(y, raw)
    assert values.shape == (len(y),)
    assert_allclose(values, expected, rtol=1e-13)


def test_binary_log_loss_is_minus_log_of_the_predicted_probability():
    y, raw = binary_problem()
    p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
    expected = -(y[:, 0] * np.log(p) + (1 - y[:, 0]) * np.log(1 - p))
    assert_allclose(LogLoss().loss(y, raw), expected, rtol=1e-12)


def test_multinomial_log_loss_is_minus_log_softmax_of_the_true_class():
    y, raw = multinomial_problem()
    labels = y.argmax(axis=1)
    expected = []
    for row, k in zip(raw, labels, strict=True):
        denominator = sum(math.exp(v) for v in row)
        expected.append(-math.log(math.exp(row[k]) / denominator))
    values = LogLoss().loss(y, raw)
    assert values.shape == (len(y),)
    assert_allclose(values, expected, rtol=1e-13)


@pytest.mark.parametrize("n_classes", [3, 8, 9, 40])
def test_multinomial_loss_gradient_matches_its_definition(n_classes):
    # loss_gradient finds row maxima column by column up to a few classes and
    # with numpy's reduction beyond: both must give the definition's values.
    rng = np.random.default_rng(n_classes)
    raw = rng.normal(scale=5.0, size=(50, n_classes))
    y = np.eye(n_classes)[rng.integers(0, n_classes, 50)]
    probabilities = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    losses, gradient = LogLoss().loss_gradient(y, raw)
    # The reference -log(p) loses digits where p is near 1: hence the atol.
    expected = -np.log((probabilities * y).sum(axis=1))
    assert_allclose(losses, expected, rtol=1e-12, atol=1e-14)
    assert_allclose(gradient, probabilities - y, rtol=1e-12, atol=1e-15)


def test_log_loss_at_zero_is_log_of_the_number_of_classes():
    assert_allclose(LogLoss().loss(np.array([[1.0]]), np.zeros((1, 1))), [np.log(2)])
    assert_allclose(
        LogLoss().loss(one_hot([2], 5), np.zeros((1, 5))), [np.log(5)], rtol=1e-14
    )


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", PROBLEMS)
def test_gradient_matches_central_finite_differences(name):
    Loss_, make = PROBLEMS[name]
    loss = Loss_()
    y, raw = make()
    grad = loss.gradient(y, raw)
    assert grad.shape == raw.shape
    assert_allclose(grad, finite_difference_gradient(loss, y, raw), atol=1e-7)


def test_loss_gradient_returns_arrays_the_caller_may_modify():
    # The engine scales the returned gradient in place; that must not touch raw or y.
    for Loss_, make in PROBLEMS.values():
        y, raw = make()
        y0, raw0 = y.copy(), raw.copy()
        _, grad = Loss_().loss_gradient(y, raw)
        grad *= 123.0
        assert_array_equal(raw, raw0)
        assert_array_equal(y, y0)


def test_multilabel_log_loss_is_the_binary_log_loss_of_each_column():
    y, raw = multilabel_problem()
    columns = [LogLoss().loss(y[:, [k]], raw[:, [k]]) for k in range(y.shape[1])]
    assert_allclose(MultilabelLogLoss().loss(y, raw), np.sum(columns, axis=0))
    assert_allclose(MultilabelLogLoss().predict_proba(raw), 1 / (1 + np.exp(-raw)))


def test_squared_error_gradient_is_the_residual():
    y, raw = squared_error_problem(2)
    assert_allclose(SquaredError().gradient(y, raw), raw - y, rtol=1e-15)


@pytest.mark.parametrize("name", PROBLEMS)
def test_float32_stays_float32(name):
    Loss_, make = PROBLEMS[name]
    y, raw = (a.astype(np.float32) for a in make())
    values, grad = Loss_().loss_gradient(y, raw)
    assert values.dtype == np.float32
    assert grad.dtype == np.float32
    assert Loss_().inverse_link(raw).dtype == np.float32


# ---------------------------------------------------------------- stability
FP_ERRORS = {"over": "raise", "invalid": "raise", "divide": "raise"}


@pytest.mark.parametrize("big", [1e4, 1e300])
def test_binary_log_loss_is_stable_for_huge_raw_outputs(big):
    raw = np.array([[big], [big], [-big], [-big]])
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    with np.errstate(**FP_ERRORS):
        values, grad = LogLoss().loss_gradient(y, raw)
        proba = LogLoss().inverse_link(raw)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    # Right class with a huge margin: loss ~ exp(-big) ~ 0. Wrong class: ~ big.
    assert_allclose(values, [0.0, big, big, 0.0], rtol=1e-12, atol=1e-300)
    assert_allclose(grad[:, 0], [0.0, 1.0, -1.0, 0.0], atol=1e-300)
    assert_allclose(proba[:, 0], [1.0, 1.0, 0.0, 0.0], atol=1e-300)


def test_multinomial_log_loss_is_stable_for_huge_raw_outputs():
    raw = np.array([[1e4, -1e4, 0.0]] * 3)
    y = one_hot([0, 1, 2], 3)
    with np.errstate(**FP_ERRORS):
        values, grad = LogLoss().loss_gradient(y, raw)
        proba = LogLoss().inverse_link(raw)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    assert_allclose(values, [0.0, 2e4, 1e4], rtol=1e-12, atol=1e-300)
    expected_proba = np.array([[1.0, 0.0, 0.0]] * 3)
    assert_allclose(proba, expected_proba, atol=1e-300)
    assert_allclose(grad, expected_proba - y, atol=1e-300)


def test_multinomial_log_loss_is_shift_invariant_even_for_huge_shifts():
    y, raw = multinomial_problem()
    with np.errstate(**FP_ERRORS):
        shifted = LogLoss().loss(y, raw + 1e4)
    assert_allclose(shifted, LogLoss().loss(y, raw), rtol=1e-9, atol=1e-9)


def test_squared_error_is_finite_for_large_residuals():
    y = np.array([[1e4], [-1e4]])
    raw = np.array([[-1e4], [1e4]])
    assert_allclose(SquaredError().loss(y, raw), [2e8, 2e8])
    assert_allclose(SquaredError().gradient(y, raw), [[-2e4], [2e4]])


# ---------------------------------------------------------------- links
def test_binary_inverse_link_is_the_sigmoid():
    _, raw = binary_problem()
    proba = LogLoss().inverse_link(raw)
    assert proba.shape == raw.shape
    expected = [1.0 / (1.0 + math.exp(-z)) for z in raw[:, 0]]
    assert_allclose(proba[:, 0], expected, rtol=1e-14)


def test_multinomial_inverse_link_is_the_softmax():
    _, raw = multinomial_problem()
    proba = LogLoss().inverse_link(raw)
    assert proba.shape == raw.shape
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
    expected = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    assert_allclose(proba, expected, rtol=1e-13)
    assert LogLoss.has_probabilities


def test_squared_error_inverse_link_is_the_identity():
    _, raw = squared_error_problem(2)
    assert_array_equal(SquaredError().inverse_link(raw), raw)
    assert not SquaredError.has_probabilities


# ---------------------------------------------------------------- check_loss
def test_check_loss_names():
    assert type(check_loss("squared_error")) is SquaredError
    assert type(check_loss("log_loss")) is LogLoss
    own = LogLoss()
    assert check_loss(own) is own


class PerElementSquaredError:
    """A user's loss returning a per-element 2-D loss (no Loss base class)."""

    def loss(self, y, raw):
        return 0.5 * (raw - y) ** 2

    def gradient(self, y, raw):
        return raw - y


class PerSampleAbsoluteError:
    """A user's loss returning one value per sample and a flat gradient list."""

    def loss(self, y, raw):
        return np.abs(raw - y).sum(axis=1)

    def gradient(self, y, raw):
        return np.sign(raw - y).ravel().tolist()


class BinaryLogisticObject:
    def loss(self, y, raw):
        return np.logaddexp(0, raw) - y * raw

    def gradient(self, y, raw):
        return 1 / (1 + np.exp(-raw)) - y

    def inverse_link(self, raw):
        return 1 / (1 + np.exp(-raw))


def test_check_loss_sums_a_per_element_user_loss_over_columns():
    loss = check_loss(PerElementSquaredError())
    assert isinstance(loss, Loss)
    y, raw = squared_error_problem(3)
    values = loss.loss(y, raw)
    assert values.shape == (len(y),)
    assert_allclose(values, 0.5 * ((raw - y) ** 2).sum(axis=1), rtol=1e-14)
    values2, grad = loss.loss_gradient(y, raw)
    assert_allclose(values2, values)
    assert_allclose(grad, raw - y)
    assert not loss.has_probabilities
    assert_array_equal(loss.inverse_link(raw), raw)


def test_check_loss_keeps_a_per_sample_user_loss_and_shapes_its_gradient():
    loss = check_loss(PerSampleAbsoluteError())
    y, raw = squared_error_problem(2)
    assert_allclose(loss.loss(y, raw), np.abs(raw - y).sum(axis=1))
    grad = loss.gradient(y, raw)
    assert isinstance(grad, np.ndarray)
    assert grad.shape == raw.shape
    assert grad.dtype == raw.dtype
    assert_array_equal(grad, np.sign(raw - y))


def test_check_loss_user_object_with_inverse_link_has_probabilities():
    loss = check_loss(BinaryLogisticObject())
    assert loss.has_probabilities
    y, raw = binary_problem()
    assert_allclose(loss.inverse_link(raw), LogLoss().inverse_link(raw), rtol=1e-14)
    assert_allclose(loss.loss(y, raw), LogLoss().loss(y, raw), rtol=1e-14)


def test_user_loss_object_trains_like_the_builtin_loss():
    # A loss object is trained in the user's units, as the built-in loss trains
    # a target of unit spread.
    X, y = make_regression(60, 3, noise=1.0, random_state=0)
    X /= X.std(axis=0)
    y = unit_spread(y)
    params = {
        "batch_size": 16,
        "max_epochs": 5,
        "tol": None,
        "random_state": 0,
        "learning_rate": 0.05,
    }
    builtin = fit_quietly(GDRegressor(**params), X, y)
    user = fit_quietly(GDRegressor(loss=PerElementSquaredError(), **params), X, y)
    assert_allclose(user.coef_, builtin.coef_, rtol=1e-12)
    assert_allclose(user.history_["loss"], builtin.history_["loss"], rtol=1e-12)
