"""What a user gets without tuning (DESIGN.md, "Defaults").

- Output biases start at the optimal constant model of the loss, checked against
  scikit-learn's DummyRegressor / DummyClassifier and against a brute-force search;
  so the first epoch starts from the baseline loss.
- Regressors train in standardised units of the target, and everything they show is
  in the user's units: the recorded losses (recomputed here from ``coef_`` /
  ``intercept_`` with this module's own objective), ``val_loss``, ``best_loss_``,
  spikes, and the fitted parameters; a target in other units trains the same.
- Continuing (``warm_start``, ``partial_fit``) keeps the parameters and their units.
"""

import warnings

import numpy as np
import pytest
from _fitting import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logit
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skfit import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skfit.callbacks import Callback
from skfit.losses import (
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

# isort: split
from _datasets import classification_data, regression_data
from _references import indicator_targets, loss_terms, objective
from test_breadth_references import RecordParameters

REGRESSION_LOSSES = {
    "squared_error": SquaredError(),
    "absolute_error": AbsoluteError(),
    "huber": Huber(epsilon=30.0),
    "epsilon_insensitive": EpsilonInsensitive(epsilon=30.0),
    "poisson": Poisson(),
}
MARGIN_LOSSES = {
    "hinge": Hinge(),
    "squared_hinge": SquaredHinge(),
    "modified_huber": ModifiedHuber(),
}


def unscaled_regression(n_samples=200, n_targets=1, seed=0):
    """Standardised features; a target of location 300 and spread 80."""
    X, y = regression_data(
        n_samples=n_samples, noise=20.0, n_targets=n_targets, seed=seed
    )
    return X, 300.0 + 80.0 * y


def counts(n_samples=200, level=300.0, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_samples, 4))
    rate = level * np.exp(X @ np.array([0.3, -0.2, 0.1, 0.0]))
    return X, rng.poisson(rate).astype(float)


def weights(n, seed=1):
    return np.random.RandomState(seed).uniform(0.0, 2.0, n)


def constant_loss(name, Y, constant, sample_weight, epsilon=None):
    """This module's weighted mean loss of a constant raw output."""
    raw = np.broadcast_to(constant, Y.shape)
    values = loss_terms(name, Y, raw, epsilon)[0].sum(axis=1)
    return np.average(values, weights=sample_weight)


def epsilon_of(loss):
    return getattr(loss, "epsilon", None)


def brute_force_minimum(name, column, sample_weight, epsilon=None):
    """The least weighted mean loss over constants: a fine grid, plus every
    breakpoint of the loss (the targets, shifted by the widths), where a
    piecewise-linear loss has its minimum."""
    if name in MARGIN_LOSSES:
        candidates = np.r_[np.linspace(-3, 3, 6001), -1.0, 1.0]
    else:
        targets = np.unique(column)
        width = epsilon or 0.0
        grid = np.linspace(targets.min(), targets.max(), 20_001)
        candidates = np.r_[grid, targets, targets - width, targets + width]
    return min(
        constant_loss(name, column, c, sample_weight, epsilon) for c in candidates
    )


def assert_no_constant_does_better(found, best):
    """``found`` is the brute-force minimum: above it by no more than the
    one-dimensional search's tolerance (a billionth of the targets' range), below
    it by no more than the grid's resolution."""
    assert found <= best * (1 + 1e-9)
    assert found >= best * (1 - 1e-6)


# ------------------------------------------------ the optimal constant
def test_squared_error_constant_is_dummy_regressors_weighted_mean():
    _, y = unscaled_regression(n_targets=2)
    sw = weights(len(y))
    dummy = DummyRegressor().fit(y, y, sample_weight=sw).predict(y[:1])[0]
    assert_allclose(SquaredError().optimal_constant(y, sw), dummy, rtol=1e-12)


@pytest.mark.parametrize("n_samples", [101, 100])
def test_absolute_error_constant_is_dummy_regressors_median(n_samples):
    """Odd and even counts: for an even count numpy's midpoint of the middle two."""
    _, y = unscaled_regression(n_samples)
    dummy = DummyRegressor(strategy="median").fit(y, y).predict(y[:1])[0]
    constant = AbsoluteError().optimal_constant(y[:, None])
    assert_allclose(constant, [dummy], rtol=1e-12)


@pytest.mark.parametrize("name", ["absolute_error", "huber", "epsilon_insensitive"])
def test_residual_loss_constants_are_the_weighted_minimisers(name):
    loss = REGRESSION_LOSSES[name]
    _, y = unscaled_regression(n_targets=2)
    sw = weights(len(y))
    constant = loss.optimal_constant(y, sw)
    for k in range(2):
        column = y[:, [k]]
        found = constant_loss(name, column, constant[k], sw, epsilon_of(loss))
        best = brute_force_minimum(name, column, sw, epsilon_of(loss))
        assert_no_constant_does_better(found, best)


def test_poisson_constant_is_the_log_of_dummy_regressors_mean():
    _, y = counts()
    sw = weights(len(y))
    dummy = DummyRegressor().fit(y, y, sample_weight=sw).predict(y[:1])[0]
    constant = Poisson().optimal_constant(y[:, None], sw)
    assert_allclose(constant, [np.log(dummy)], rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_loss_constant_is_dummy_classifiers_log_prior(n_classes):
    X, y = classification_data(n_classes, n_samples=150)
    sw = weights(len(y))
    prior = DummyClassifier().fit(X, y, sample_weight=sw).class_prior_
    constant = LogLoss().optimal_constant(indicator_targets(y), sw)
    expected = logit(prior[1:]) if n_classes == 2 else np.log(prior)
    assert_allclose(constant, expected, rtol=1e-12)


@pytest.mark.parametrize("name", list(MARGIN_LOSSES))
def test_margin_loss_constants_are_the_weighted_minimisers(name):
    X, y = classification_data(3, n_samples=150)
    Y = indicator_targets(y)
    sw = weights(len(y))
    constant = MARGIN_LOSSES[name].optimal_constant(Y, sw)
    for k in range(3):
        column = Y[:, [k]]
        found = constant_loss(name, column, constant[k], sw)
        assert_no_constant_does_better(found, brute_force_minimum(name, column, sw))


class PlainSquaredError:
    """A user's loss object: skfit knows nothing of its constant."""

    def loss(self, y, raw):
        return 0.5 * (raw - y) ** 2

    def gradient(self, y, raw):
        return raw - y


def test_a_loss_objects_constant_is_found_numerically():
    _, y = unscaled_regression(n_targets=2)
    sw = weights(len(y))
    adapted = check_loss(PlainSquaredError())
    assert_allclose(
        adapted.optimal_constant(y, sw), np.average(y, axis=0, weights=sw), rtol=1e-8
    )


def test_an_unbounded_optimum_gets_half_a_sample():
    """All positives, or every count 0: the optimum is infinite; the constant is
    that of half a row of the missing outcome, finite."""
    assert_allclose(LogLoss().optimal_constant(np.ones((10, 1))), [logit(0.95)])
    assert_allclose(Poisson().optimal_constant(np.zeros((10, 1))), [np.log(0.05)])
    shares = np.exp(LogLoss().optimal_constant(np.eye(3)[[0, 0, 1, 1]]))
    assert_allclose(shares, [0.5, 0.5, 0.125])


def test_rescaled_losses_are_the_losses_of_targets_in_other_units():
    """loss(s * y, s * raw) == s**p * rescaled(s).loss(y, raw)."""
    rng = np.random.RandomState(0)
    y, raw = rng.standard_normal((2, 50, 1)) * 40
    for loss in (*REGRESSION_LOSSES.values(),):
        if loss.homogeneity is None:
            with pytest.raises(ValueError, match="does not scale"):
                loss.rescaled(2.0)
            continue
        scale = 8.0
        assert_allclose(
            loss.loss(y, raw),
            scale**loss.homogeneity * loss.rescaled(scale).loss(y / scale, raw / scale),
            rtol=1e-12,
        )
    assert Loss.homogeneity is None


# ------------------------------------------ the first epoch: the baseline
def full_batch(Estimator, **params):
    settings = {
        "batch_size": None,
        "max_epochs": 2,
        "tol": None,
        "shuffle": False,
        "random_state": 0,
    }
    return Estimator(**{**settings, **params})


@pytest.mark.parametrize("name", list(REGRESSION_LOSSES))
def test_regression_starts_from_the_baseline_loss(name):
    """Full batch: the first recorded loss is the objective at the start, zero
    weights and the loss of the best constant, computed here by brute force."""
    loss = REGRESSION_LOSSES[name]
    X, y = counts() if name == "poisson" else unscaled_regression()
    sw = weights(len(y))
    est = fit_quietly(
        full_batch(GDRegressor, loss=name, epsilon=epsilon_of(loss) or 0.1),
        X,
        y,
        sample_weight=sw,
    )
    if name == "poisson":
        mean = DummyRegressor().fit(X, y, sample_weight=sw).predict(X[:1])[0]
        baseline = constant_loss(name, y[:, None], np.log(mean), sw)
    elif name == "squared_error":
        mean = DummyRegressor().fit(X, y, sample_weight=sw).predict(X[:1])[0]
        baseline = constant_loss(name, y[:, None], mean, sw)
    else:
        baseline = brute_force_minimum(name, y[:, None], sw, epsilon_of(loss))
    assert_no_constant_does_better(est.history_["loss"][0], baseline)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classification_starts_from_the_prior(n_classes):
    X, y = classification_data(n_classes, n_samples=150)
    sw = weights(len(y))
    est = fit_quietly(full_batch(GDClassifier), X, y, sample_weight=sw)
    prior = DummyClassifier().fit(X, y, sample_weight=sw).predict_proba(X)
    baseline = log_loss(y, prior, sample_weight=sw)
    assert est.history_["loss"][0] == pytest.approx(baseline, rel=1e-12)


@pytest.mark.parametrize("name", list(MARGIN_LOSSES))
def test_margin_losses_start_from_their_best_constant(name):
    X, y = classification_data(3, n_samples=150)
    Y = indicator_targets(y)
    est = fit_quietly(full_batch(GDClassifier, loss=name), X, y)
    baseline = sum(brute_force_minimum(name, Y[:, [k]], None) for k in range(3))
    assert_no_constant_does_better(est.history_["loss"][0], baseline)


def test_mlp_output_biases_start_at_the_optimal_constant():
    """A rate of 1e-300 leaves the start in place: the output biases are the
    mean target (in the user's units) and the class log-priors."""
    X, y = unscaled_regression()
    frozen = {"optimizer": "sgd", "learning_rate": 1e-300, "max_epochs": 1}
    est = fit_quietly(MLPRegressor((8,), random_state=0, **frozen), X, y)
    assert_allclose(est.intercepts_[-1], [y.mean()], rtol=1e-12)
    X, y = classification_data(3, n_samples=150)
    est = fit_quietly(MLPClassifier((8,), random_state=0, **frozen), X, y)
    prior = DummyClassifier().fit(X, y).class_prior_
    assert_allclose(est.intercepts_[-1], np.log(prior), rtol=1e-12)


def test_no_intercept_means_no_start_at_a_constant():
    X, y = unscaled_regression()
    est = fit_quietly(full_batch(GDRegressor, fit_intercept=False), X, y)
    assert est.history_["loss"][0] == pytest.approx(0.5 * np.mean(y**2), rel=1e-12)
    assert_array_equal(est.intercept_, [0.0])


# ------------------------------------------------------ the user's units
def held_out_rows(n, fraction, random_state):
    """The validation rows of a linear model's fit: skfit splits with
    train_test_split and its random state, from which a linear model draws nothing
    before (an MLP draws its initial weights first)."""
    rng = np.random.RandomState(random_state)
    train, val = train_test_split(np.arange(n), test_size=fraction, random_state=rng)
    return np.sort(train), val


def l1_share(params):
    return {"l1": 1.0, "elasticnet": params.get("l1_ratio")}.get(
        params.get("penalty", "l2"), 0.0
    )


LINEAR_CASES = {
    "squared_error l2": {"loss": "squared_error"},
    "huber elasticnet": {
        "loss": "huber",
        "epsilon": 30.0,
        "penalty": "elasticnet",
        "alpha": 0.05,
        "l1_ratio": 0.5,
    },
    "absolute_error elasticnet": {
        "loss": "absolute_error",
        "penalty": "elasticnet",
        "alpha": 0.05,
        "l1_ratio": 0.5,
    },
    "epsilon_insensitive l1": {
        "loss": "epsilon_insensitive",
        "epsilon": 30.0,
        "penalty": "l1",
        "alpha": 0.05,
    },
    "squared_error no intercept": {"loss": "squared_error", "fit_intercept": False},
}


@pytest.mark.parametrize("case", list(LINEAR_CASES))
def test_linear_losses_are_recorded_in_the_users_units(case):
    """Full batch: the loss of epoch e is the objective at the parameters it began
    with, val_loss that of the validation rows at the parameters it ended with;
    both recomputed here from coef_ and intercept_, in the user's units."""
    params = {"alpha": 1e-3, **LINEAR_CASES[case]}
    X, y = unscaled_regression(n_targets=2)
    recorder = RecordParameters()
    est = fit_quietly(
        full_batch(
            GDRegressor,
            max_epochs=6,
            validation_fraction=0.25,
            optimizer="adam",
            learning_rate=0.1,
            callbacks=[recorder],
            **params,
        ),
        X,
        y,
    )
    train, val = held_out_rows(len(y), 0.25, random_state=0)
    loss, alpha, epsilon = params["loss"], params["alpha"], params.get("epsilon")

    def documented(rows, coef, intercept):
        return objective(
            loss, X[rows], y[rows], coef, intercept, alpha, l1_share(params), epsilon
        )

    start, *ends = recorder.params
    for epoch, (coef, intercept) in enumerate([start, *ends[:-1]]):
        value = documented(train, coef, intercept)
        assert est.history_["loss"][epoch] == pytest.approx(value, rel=1e-10)
    for epoch, (coef, intercept) in enumerate(ends):
        value = documented(val, coef, intercept)
        assert est.history_["val_loss"][epoch] == pytest.approx(value, rel=1e-10)
    assert est.best_loss_ == est.history_["loss"].min()
    assert est.loss_curve_ == est.history_["loss"].tolist()


class RecordNetwork(Callback):
    """coefs_ and intercepts_ when training begins and after every epoch."""

    def __init__(self):
        self.params = []

    def record(self, estimator):
        coefs = [W.copy() for W in estimator.coefs_]
        self.params.append((coefs, [b.copy() for b in estimator.intercepts_]))

    on_train_begin = record

    def on_epoch_end(self, estimator, record):
        self.record(estimator)


def network_objective(X, Y, coefs, intercepts, alpha, l1_ratio):
    """The documented squared-error objective of a relu network, with every
    layer's weights penalised."""
    activation = X
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        activation = np.maximum(activation @ W + b, 0.0)
    raw = activation @ coefs[-1] + intercepts[-1]
    penalty = sum(
        l1_ratio * np.abs(W).sum() + 0.5 * (1 - l1_ratio) * np.sum(W * W) for W in coefs
    )
    return np.mean(0.5 * np.sum((raw - Y) ** 2, axis=1)) + alpha * penalty


def test_mlp_losses_are_recorded_in_the_users_units():
    """Only the output layer is in the target's units: the penalty of the hidden
    layers is rescaled apart from the output layer's, and the recorded loss is
    still the documented objective of coefs_ and intercepts_."""
    X, y = unscaled_regression(n_targets=2)
    recorder = RecordNetwork()
    est = fit_quietly(
        MLPRegressor(
            (6,),
            penalty="elasticnet",
            alpha=0.05,
            l1_ratio=0.5,
            batch_size=None,
            max_epochs=5,
            tol=None,
            learning_rate=0.05,
            random_state=0,
            callbacks=[recorder],
        ),
        X,
        y,
    )
    for epoch, (coefs, intercepts) in enumerate(recorder.params[:-1]):
        value = network_objective(X, y, coefs, intercepts, 0.05, 0.5)
        assert est.history_["loss"][epoch] == pytest.approx(value, rel=1e-10)
    assert_allclose(est.predict(X), network_raw(X, *recorder.params[-1]), rtol=1e-12)


def network_raw(X, coefs, intercepts):
    activation = X
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        activation = np.maximum(activation @ W + b, 0.0)
    return activation @ coefs[-1] + intercepts[-1]


def test_spikes_and_batch_losses_are_in_the_users_units():
    """A spike's loss is its batch's recorded loss; the first batch starts from the
    baseline of its own rows (the mean target of all rows, zero weights)."""
    X, y = unscaled_regression(400)
    y[[5, 150, 333]] *= 1e3
    est = fit_quietly(
        GDRegressor(batch_size=16, shuffle=False, max_epochs=3, tol=None), X, y
    )
    assert len(est.spikes_) >= 3
    n_batches = 25
    batch_loss = est.history_.batch_loss
    for spike in est.spikes_:
        index = (spike.epoch - 1) * n_batches + spike.batch
        assert spike.loss == pytest.approx(batch_loss[index], rel=1e-6)
        assert spike.ratio == pytest.approx(spike.loss / spike.baseline, rel=1e-12)
    first = 0.5 * np.mean((y[:16] - y.mean()) ** 2)
    assert batch_loss[0] == pytest.approx(first, rel=1e-6)


# --------------------------------------------- targets in other units
EQUIVARIANT = {
    # loss and penalty that scale alike: (params, power of the loss)
    "squared_error": ({"loss": "squared_error"}, 2),
    "huber": ({"loss": "huber", "epsilon": 0.5}, 2),
    "absolute_error": ({"loss": "absolute_error", "penalty": "l1"}, 1),
}


@pytest.mark.parametrize("name", list(EQUIVARIANT))
@pytest.mark.parametrize("scale, shift", [(1e3, -5e3), (1e-3, 7.0)])
def test_a_target_in_other_units_trains_the_same(name, scale, shift):
    """y -> scale * y + shift with the defaults (shuffled mini-batches, the plateau
    schedule, tol): the same epochs and stop, losses times scale**p, weights
    times scale. (Huber's epsilon and the penalty are set to scale alike.)"""
    params, power = EQUIVARIANT[name]
    X, y = regression_data(n_samples=300, noise=20.0)
    a = fit_quietly(GDRegressor(random_state=0, **params), X, y)
    if "epsilon" in params:
        params = {**params, "epsilon": params["epsilon"] * scale}
    b = fit_quietly(GDRegressor(random_state=0, **params), X, scale * y + shift)
    assert (b.n_epochs_, b.stop_reason_) == (a.n_epochs_, a.stop_reason_)
    # The moved target is rounded (to 1e-16 of the shift, 7e-13 of the spread of
    # 1e-3 * y + 7), and the rounding grows over the updates: about 1e-6 at the end.
    assert_allclose(b.history_["loss"], a.history_["loss"] * scale**power, rtol=1e-5)
    assert_allclose(b.coef_, a.coef_ * scale, rtol=1e-5)
    assert_allclose(b.intercept_, a.intercept_ * scale + shift, rtol=1e-5)


def test_a_target_whose_squared_spread_is_below_the_floats_trains_in_its_units():
    # A spread of 1e-157 squares below the smallest normal float: no unit to train
    # squared errors in, where the loss was not a number (found by the hypothesis
    # search of test_properties).
    X, y = regression_data(n_samples=50, noise=1.0)
    est = fit_quietly(
        GDRegressor(fit_intercept=False, max_epochs=3, random_state=0), X, 1e-157 * y
    )
    assert np.all(np.isfinite(est.history_["loss"]))
    assert np.all(np.isfinite(est.coef_)) and est.stop_reason_ != "diverged"


# ------------------------------------------------------------- continuing
def test_warm_start_continues_exactly_in_the_same_units():
    X, y = unscaled_regression()
    whole = fit_quietly(GDRegressor(max_epochs=6, tol=None, random_state=0), X, y)
    split = GDRegressor(max_epochs=3, tol=None, random_state=0, warm_start=True)
    fit_quietly(split, X, y)
    fit_quietly(split, X, y)
    assert_array_equal(split.history_["loss"], whole.history_["loss"])
    assert_array_equal(split.coef_, whole.coef_)
    assert_array_equal(split.intercept_, whole.intercept_)


def test_continuing_calls_keep_the_parameters_and_their_units():
    """Neither warm_start nor partial_fit starts the biases afresh: on a target
    moved by 1e4 a rate of 1e-300 leaves coef_ and intercept_ as they were, and the
    losses recorded are the objective of the moved target in the user's units."""
    X, y = unscaled_regression()
    frozen = {"optimizer": "sgd", "learning_rate": 1e-300, "finish": None}
    for est, call in [
        (GDRegressor(warm_start=True, random_state=0), "fit"),
        (GDRegressor(random_state=0), "partial_fit"),
    ]:
        getattr(est, call)(X, y)
        coef, intercept = est.coef_.copy(), est.intercept_.copy()
        est.set_params(**frozen, batch_size=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            getattr(est, call)(X, y + 1e4)
        assert_array_equal(est.coef_, coef)
        assert_array_equal(est.intercept_, intercept)
        moved = objective(
            "squared_error", X, y[:, None] + 1e4, coef, intercept, est.alpha_
        )
        assert est.history_["loss"][-1] == pytest.approx(moved, rel=1e-10)


def test_a_loss_without_units_continues_from_the_users_parameters():
    """warm_start from squared error to poisson: the parameters are converted to
    the user's units once, and a rate of 1e-300 then leaves them there."""
    X, y = counts()
    est = fit_quietly(GDRegressor(random_state=0, warm_start=True), X, y)
    coef, intercept = est.coef_.copy(), est.intercept_.copy()
    est.set_params(loss="poisson", optimizer="sgd", learning_rate=1e-300, finish=None)
    fit_quietly(est, X, y)
    assert_allclose(est.coef_, coef, rtol=1e-12)
    assert_allclose(est.intercept_, intercept, rtol=1e-12)


# ------------------------------------------- the defaults, untuned
def test_mlp_regressor_fits_an_unscaled_target_with_its_defaults():
    """With identity units an MLP is a linear model: unpenalised, its fit is least
    squares; with its defaults (relu) it comes close to Ridge on a linear target."""
    X, y = unscaled_regression(1000)
    least_squares = LinearRegression().fit(X, y).score(X, y)
    linear = fit_quietly(
        MLPRegressor((16,), activation="identity", penalty=None, random_state=0),
        X,
        y,
    )
    assert linear.score(X, y) == pytest.approx(least_squares, abs=1e-4)
    default = fit_quietly(MLPRegressor(random_state=0), X, y)
    assert default.score(X, y) >= Ridge().fit(X, y).score(X, y) - 0.01
