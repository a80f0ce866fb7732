"""The regression and margin losses: values against hand-written formulas and
scikit-learn, gradients against central finite differences, numerical stability,
probabilities, and check_loss with its options."""

import math
import warnings

import numpy as np
import pytest
from _references import finite_difference_gradient, loss_terms
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import mean_poisson_deviance
from sklearn.utils._param_validation import InvalidParameterError

from skfit.losses import (
    _CLASSIFICATION_LOSSES,
    _LOSSES,
    _REGRESSION_LOSSES,
    AbsoluteError,
    EpsilonInsensitive,
    Hinge,
    Huber,
    LogLoss,
    Loss,
    ModifiedHuber,
    Poisson,
    SquaredError,
    SquaredHinge,
    check_loss,
)

RNG = np.random.default_rng(42)


def away_from(values, kinks, margin=0.05):
    """Nudge entries of ``values`` lying within ``margin`` of a kink."""
    values = values.copy()
    for kink in kinks:
        close = np.abs(values - kink) < margin
        values[close] = kink + np.where(values[close] >= kink, margin, -margin) * 2
    return values


# Per-element reference formulas, written from the definitions, one scalar at a time.
def huber(r, eps):
    return 0.5 * r * r if abs(r) <= eps else eps * abs(r) - 0.5 * eps * eps


def modified_huber(z):
    return max(0.0, 1.0 - z) ** 2 if z >= -1 else -4.0 * z


REGRESSION = {
    "absolute_error": (AbsoluteError(), lambda y, f: abs(f - y), [0.0]),
    "huber": (Huber(epsilon=0.7), lambda y, f: huber(f - y, 0.7), [-0.7, 0.7]),
    "epsilon_insensitive": (
        EpsilonInsensitive(epsilon=0.5),
        lambda y, f: max(0.0, abs(f - y) - 0.5),
        [-0.5, 0.5],
    ),
}
MARGIN = {
    "hinge": (Hinge(), lambda z: max(0.0, 1.0 - z), [1.0]),
    "squared_hinge": (SquaredHinge(), lambda z: max(0.0, 1.0 - z) ** 2, [1.0]),
    "modified_huber": (ModifiedHuber(), modified_huber, [-1.0, 1.0]),
}


def regression_problem(kinks, n_outputs=3):
    y = RNG.normal(size=(20, n_outputs)) * 2
    residual = away_from(RNG.normal(size=(20, n_outputs)) * 2, kinks)
    return y, y + residual


def margin_problem(kinks, n_outputs):
    y = RNG.integers(0, 2, size=(25, n_outputs)).astype(float)
    z = away_from(RNG.normal(size=(25, n_outputs)) * 2.5, kinks)
    return y, z * (2 * y - 1)


def poisson_problem():
    y = RNG.poisson(3.0, size=(15, 2)).astype(float)
    return y, RNG.normal(size=(15, 2))


def problem(name):
    if name in REGRESSION:
        return regression_problem(REGRESSION[name][2])
    if name in MARGIN:
        return margin_problem(MARGIN[name][2], 3)
    return poisson_problem()


NEW_LOSSES = [*REGRESSION, "poisson", *MARGIN]


def elementwise(formula, *arrays):
    """The scalar ``formula`` applied entry by entry, summed over the columns."""
    return np.vectorize(formula, otypes=[float])(*arrays).sum(axis=1)


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_loss_matches_its_formula_summed_over_columns(name):
    loss, formula, kinks = REGRESSION[name]
    y, raw = regression_problem(kinks)
    expected = elementwise(formula, y, raw)
    assert loss.loss(y, raw).shape == (len(y),)
    assert_allclose(loss.loss(y, raw), expected, rtol=1e-13)


@pytest.mark.parametrize("name", MARGIN)
@pytest.mark.parametrize("n_outputs", [1, 4])
def test_margin_loss_is_one_vs_rest_on_plus_minus_one_targets(name, n_outputs):
    loss, formula, kinks = MARGIN[name]
    y, raw = margin_problem(kinks, n_outputs)
    expected = elementwise(lambda t, f: formula((2 * t - 1) * f), y, raw)
    assert_allclose(loss.loss(y, raw), expected, rtol=1e-13)


def test_margin_losses_at_hand_picked_margins():
    y = np.ones((6, 1))
    z = np.array([[2.0], [1.0], [0.5], [-1.0], [-1.5], [-3.0]])
    assert_allclose(Hinge().loss(y, z), [0, 0, 0.5, 2, 2.5, 4])
    assert_allclose(SquaredHinge().loss(y, z), [0, 0, 0.25, 4, 6.25, 16])
    assert_allclose(ModifiedHuber().loss(y, z), [0, 0, 0.25, 4, 6, 12])
    # The same margins seen from the negative class.
    assert_allclose(Hinge().loss(1 - y, -z), Hinge().loss(y, z))


def test_huber_and_epsilon_insensitive_at_hand_picked_residuals():
    y = np.zeros((5, 1))
    r = np.array([[0.0], [0.5], [1.0], [-3.0], [4.0]])
    assert_allclose(Huber(epsilon=1.0).loss(y, r), [0, 0.125, 0.5, 2.5, 3.5])
    assert_allclose(Huber(epsilon=1.0).gradient(y, r)[:, 0], [0, 0.5, 1, -1, 1])
    assert_allclose(EpsilonInsensitive(epsilon=1.0).loss(y, r), [0, 0, 0, 2, 3])
    assert_allclose(AbsoluteError().loss(y, r), [0, 0.5, 1, 3, 4])
    assert_allclose(AbsoluteError().gradient(y, r)[:, 0], [0, 1, 1, -1, 1])


def test_sgd_fast_reference_values_and_derivatives():
    sgd_fast = pytest.importorskip("sklearn.linear_model._sgd_fast")
    references = [
        (Hinge(), sgd_fast.Hinge(1.0), True),
        (SquaredHinge(), sgd_fast.SquaredHinge(1.0), True),
        (ModifiedHuber(), sgd_fast.ModifiedHuber(), True),
        (EpsilonInsensitive(0.3), sgd_fast.EpsilonInsensitive(0.3), False),
    ]
    for ours, theirs, margin in references:
        y, raw = margin_problem([-1, 1], 1) if margin else regression_problem([])
        y, raw = y[:, :1], raw[:, :1]
        target = 2 * y - 1 if margin else y
        values = elementwise(theirs.py_loss, raw, target)
        slopes = np.vectorize(theirs.py_dloss, otypes=[float])(raw, target)
        assert_allclose(ours.loss(y, raw), values, rtol=1e-12)
        assert_allclose(ours.gradient(y, raw), slopes, rtol=1e-12)


def test_poisson_is_half_the_deviance_and_zero_at_the_optimum():
    y, raw = poisson_problem()
    values = Poisson().loss(y, raw)
    mu = np.exp(raw)
    expected = elementwise(
        lambda t, r: math.exp(r) - t * r + (t * math.log(t) if t > 0 else 0.0) - t,
        y,
        raw,
    )
    assert_allclose(values, expected, rtol=1e-12)
    # sklearn's mean Poisson deviance is twice the mean of our per-column loss.
    for j in range(2):
        column = Poisson().loss(y[:, [j]], raw[:, [j]])
        assert_allclose(
            2 * column.mean(), mean_poisson_deviance(y[:, j], mu[:, j]), rtol=1e-12
        )
    positive = np.array([[0.5], [2.0], [7.0]])
    assert_allclose(Poisson().loss(positive, np.log(positive)), 0.0, atol=1e-14)
    assert_allclose(Poisson().gradient(positive, np.log(positive)), 0.0, atol=1e-14)
    # y = 0: the loss is exp(raw), falling to 0 as raw goes to -inf.
    zero = np.zeros((2, 1))
    assert_allclose(
        Poisson().loss(zero, np.array([[0.0], [-50.0]])), [1, math.exp(-50)]
    )
    assert_allclose(Poisson().inverse_link(raw), mu)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", NEW_LOSSES)
def test_gradient_matches_central_finite_differences(name):
    loss = REGRESSION[name][0] if name in REGRESSION else _LOSSES[name]()
    y, raw = problem(name)
    expected = finite_difference_gradient(loss, y, raw)
    assert_allclose(loss.gradient(y, raw), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NEW_LOSSES)
def test_loss_gradient_returns_arrays_the_caller_may_modify(name):
    # The engine scales the returned gradient in place; that must change neither
    # the inputs nor the values returned with it.
    loss = _LOSSES[name]()
    y, raw = problem(name)
    y0, raw0 = y.copy(), raw.copy()
    values, grad = loss.loss_gradient(y, raw)
    expected = values.copy()
    grad += 1.0
    assert_array_equal(values, expected)
    assert_array_equal(raw, raw0)
    assert_array_equal(y, y0)


@pytest.mark.parametrize("name", NEW_LOSSES)
def test_float32_stays_float32(name):
    y, raw = (a.astype(np.float32) for a in problem(name))
    values, grad = _LOSSES[name]().loss_gradient(y, raw)
    assert values.dtype == np.float32
    assert grad.dtype == np.float32


# ---------------------------------------------------------------- stability
@pytest.mark.parametrize("name", NEW_LOSSES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_and_silent_at_raw_outputs_of_plus_minus_1e4(name, dtype):
    loss = _LOSSES[name]()
    raw = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4], [-1e4, -1e4]], dtype=dtype)
    y = np.array([[1, 0], [1, 0], [0, 1], [5, 0]], dtype=dtype)
    if name in MARGIN:
        y = np.minimum(y, 1)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        values, grad = loss.loss_gradient(y, raw)
        link = loss.inverse_link(raw)
    for array in (values, grad, link):
        assert np.all(np.isfinite(array))
    assert values.dtype == grad.dtype == dtype


def test_margin_losses_at_huge_margins_are_exact():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    raw = np.array([[1e4], [1e4], [-1e4], [-1e4]])  # right, wrong, wrong, right
    assert_allclose(Hinge().loss(y, raw), [0, 1e4 + 1, 1e4 + 1, 0])
    assert_allclose(SquaredHinge().loss(y, raw), [0, (1e4 + 1) ** 2, (1e4 + 1) ** 2, 0])
    assert_allclose(ModifiedHuber().loss(y, raw), [0, 4e4, 4e4, 0])
    assert_allclose(ModifiedHuber().gradient(y, raw)[:, 0], [0, 4, -4, 0])
    assert_allclose(Hinge().gradient(y, raw)[:, 0], [0, 1, -1, 0])


def test_subgradients_at_the_kinks_follow_scikit_learn():
    ones = np.ones((1, 1))
    assert Hinge().gradient(ones, ones)[0, 0] == -1.0  # z = 1: still pushing
    assert AbsoluteError().gradient(ones, ones)[0, 0] == 0.0
    assert EpsilonInsensitive(0.5).gradient(ones, ones * 1.5)[0, 0] == 0.0
    assert ModifiedHuber().gradient(ones, -ones)[0, 0] == -4.0


def test_poisson_continues_exp_by_its_tangent_far_out():
    cap = 0.5 * np.log(np.finfo(np.float64).max)
    y = np.array([[3.0], [3.0]])
    raw = np.array([[cap + 10.0], [1e4]])
    values, grad = Poisson().loss_gradient(y, raw)
    slope = math.exp(cap)
    assert_allclose(grad[:, 0], slope - 3.0)
    assert_allclose(
        values, slope * (1 + raw[:, 0] - cap) - 3 * raw[:, 0] + 3 * (math.log(3) - 1)
    )
    # Consistent with its gradient there, and increasing.
    assert_allclose(finite_difference_gradient(Poisson(), y, raw, h=1.0), grad)
    assert_allclose(Poisson().inverse_link(raw), slope)


# ---------------------------------------------------------------- probabilities
def test_modified_huber_probabilities_match_sgd_classifier():
    X, y = load_iris(return_X_y=True)
    for labels in (y, (y == 2).astype(int)):
        clf = SGDClassifier(loss="modified_huber", max_iter=5, tol=None, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, labels)
        raw = clf.decision_function(X)
        raw = raw.reshape(len(X), -1)
        proba = ModifiedHuber().predict_proba(raw)
        assert_allclose(proba, clf.predict_proba(X), rtol=1e-12)


def test_modified_huber_rows_of_zeros_become_uniform():
    raw = np.array([[-2.0, -1.0, -5.0], [1.0, -1.0, 0.0], [3.0, 3.0, -3.0]])
    proba = ModifiedHuber().predict_proba(raw)
    assert_allclose(proba, [[1 / 3] * 3, [2 / 3, 0, 1 / 3], [0.5, 0.5, 0]])
    assert_allclose(ModifiedHuber().inverse_link(raw[:, :1]), [[0], [1], [1]])
    assert_allclose(ModifiedHuber().predict_proba(np.array([[0.5]])), [[0.25, 0.75]])


def test_log_loss_predict_proba():
    raw = np.array([[40.0], [0.0], [-2.0]])
    proba = LogLoss().predict_proba(raw)
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-raw[:, 0])))
    assert_allclose(proba.sum(axis=1), 1.0)
    # The small probability of the negative class is not rounded to 1 - 1 = 0.
    assert_allclose(proba[0, 0], math.exp(-40), rtol=1e-12)
    raw = RNG.normal(size=(4, 3))
    expected = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    assert_allclose(LogLoss().predict_proba(raw), expected, rtol=1e-13)


def test_probability_flags_and_multiclass_kinds():
    assert LogLoss.has_probabilities and ModifiedHuber.has_probabilities
    for cls in (Hinge, SquaredHinge, AbsoluteError, Huber, Poisson):
        assert not cls.has_probabilities
        with pytest.raises(NotImplementedError, match="no probabilities"):
            cls().predict_proba(np.zeros((2, 1)))
    assert LogLoss.multiclass == "multinomial"
    assert {_LOSSES[n].multiclass for n in MARGIN} == {"ovr"}
    assert {_LOSSES[n].multiclass for n in _REGRESSION_LOSSES} == {None}
    assert Poisson.requires_nonnegative_y
    assert not any(_LOSSES[n].requires_nonnegative_y for n in _LOSSES if n != "poisson")


# ---------------------------------------------------------------- check_loss
def test_every_name_is_registered_once_for_regression_or_classification():
    expected = {
        "squared_error": SquaredError,
        "absolute_error": AbsoluteError,
        "huber": Huber,
        "epsilon_insensitive": EpsilonInsensitive,
        "poisson": Poisson,
        "log_loss": LogLoss,
        "hinge": Hinge,
        "squared_hinge": SquaredHinge,
        "modified_huber": ModifiedHuber,
    }
    for name, cls in expected.items():
        assert type(check_loss(name)) is cls
    assert set(_LOSSES) == set(expected)
    assert set(expected) == _REGRESSION_LOSSES | _CLASSIFICATION_LOSSES
    assert not _REGRESSION_LOSSES & _CLASSIFICATION_LOSSES


def test_check_loss_passes_epsilon_only_to_losses_that_take_it():
    assert check_loss("huber", epsilon=2.0).epsilon == 2.0
    assert check_loss("epsilon_insensitive", epsilon=0.0).epsilon == 0.0
    assert type(check_loss("hinge", epsilon=2.0)) is Hinge
    assert type(check_loss("squared_error", epsilon=2.0)) is SquaredError
    assert Huber().epsilon == EpsilonInsensitive().epsilon == 0.1
    own = Huber(epsilon=3.0)
    assert check_loss(own, epsilon=1.0) is own


def test_check_loss_refuses_a_negative_epsilon():
    with pytest.raises(InvalidParameterError, match="epsilon"):
        check_loss("huber", epsilon=-1.0)
    with pytest.raises(InvalidParameterError, match="epsilon"):
        check_loss(EpsilonInsensitive(epsilon=-0.5))


@pytest.mark.parametrize("name", sorted(_LOSSES))
def test_clone_and_get_params(name):
    loss = check_loss(name)
    assert isinstance(loss, Loss)
    copy = clone(loss)
    assert type(copy) is type(loss)
    assert copy.get_params() == loss.get_params()
    expected = {"epsilon": 0.1} if name in ("huber", "epsilon_insensitive") else {}
    assert loss.get_params() == expected
    assert "set_predict_proba_request" not in dir(loss)


@pytest.mark.parametrize(
    "name, Loss_", [("huber", Huber), ("epsilon_insensitive", EpsilonInsensitive)]
)
def test_epsilon_set_after_construction_sets_the_width(name, Loss_):
    # A search sets loss__epsilon on a loss it has already used: the formula must
    # read the new width, not one captured before.
    loss = Loss_(epsilon=0.5)
    y, raw = np.zeros((3, 1)), np.array([[0.25], [1.0], [-3.0]])
    assert_allclose(loss.loss(y, raw), loss_terms(name, y, raw, 0.5)[0][:, 0])
    loss.set_params(epsilon=1.5)
    assert_allclose(loss.loss(y, raw), loss_terms(name, y, raw, 1.5)[0][:, 0])
    assert repr(loss) == f"{Loss_.__name__}(epsilon=1.5)"
