"""Every loss, penalty, optimizer and schedule against an independent reference.

The objective (DESIGN.md, "Precise semantics") is
``mean_i loss_i + alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``, with the
losses summed over output columns (one-vs-rest) and biases unpenalised. The tests
evaluate that objective with numpy code of their own from ``coef_`` / ``intercept_``
(tests/_references.py, never through skfit's losses) and compare skfit's fits with:

- scikit-learn estimators that minimise the same objective up to a change of units
  (``PoissonRegressor``, ``Lasso``, ``ElasticNet``, ``LinearSVC``, ``LinearSVR``,
  ``QuantileRegressor``, and ``HuberRegressor`` at its fitted scale);
- an exact optimum: L-BFGS on that objective and gradient for the smooth losses
  (huber, squared_hinge, modified_huber), a linear programme
  (``scipy.optimize.linprog``) for the piecewise-linear losses with an l1 penalty;
- scikit-learn's per-sample SGD, which only approximates its optimum (skfit must do
  at least as well, up to a small margin).

Units: ``LinearSVC(C=c)`` / ``LinearSVR(C=c)`` minimise
``1/2 |w|^2 + c * sum_i loss_i``, i.e. ``c * n`` times skfit's objective with
``alpha = 1 / (c * n)``.
``QuantileRegressor(quantile=0.5, alpha=a)`` minimises
``mean_i 0.5 * |r_i| + a * |w|_1``, i.e. one half of skfit's absolute_error objective
with ``penalty='l1'`` and ``alpha = 2 * a``. ``PoissonRegressor(alpha=a)``, ``Lasso``,
``ElasticNet``, ``SGDRegressor`` and ``SGDClassifier`` use skfit's units as they are.

Tolerances, and why:

- Smooth, strongly convex objectives (l2 penalty, or a lasso on a well-conditioned
  design) trained by full-batch gradient descent with step ``1 / L`` converge
  linearly: skfit's objective must be within ``SMOOTH_RTOL = 1e-6`` (relative) of the
  exact optimum and its parameters within ``SMOOTH_ATOL = 1e-6``. Achieved: about
  ``1e-9`` or better.
- Non-smooth losses (hinge, absolute_error, epsilon_insensitive) are trained by
  full-batch subgradient descent with a cosine-annealed step, whose last iterates
  approach the optimum without reaching it exactly: skfit's objective must be at most
  ``(1 + NONSMOOTH_RTOL)`` times the reference's, ``NONSMOOTH_RTOL = 1e-4``
  (achieved: about ``1e-6``). Where the reference minimises exactly the same
  objective the comparison is two-sided.
- ``HuberRegressor`` stops at its own L-BFGS tolerance: ``HUBER_ATOL = 1e-5`` on the
  parameters (achieved: about ``3e-7``).
"""

import warnings
from functools import partial

import _datasets
import numpy as np
import pytest
from _fitting import fit_quietly, full_batch
from _references import (
    MARGIN_LOSSES,
    exact_l2_minimum,
    indicator_targets,
    lipschitz,
    objective,
)
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linprog
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    ElasticNet,
    HuberRegressor,
    Lasso,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

from skfit import GDClassifier, GDRegressor
from skfit.callbacks import Callback

SMOOTH_RTOL = 1e-6
SMOOTH_ATOL = 1e-6
NONSMOOTH_RTOL = 1e-4
HUBER_ATOL = 1e-5


# ------------------------------------------------------------------ data
regression_data = partial(_datasets.regression_data, n_samples=120, noise=20.0)
classification_data = partial(_datasets.classification_data, n_samples=150)


# --------------------------------------------------------------- solvers
def exact_l1_lp_minimum(loss, X, y, alpha, epsilon=0.0):
    """The exact minimiser of ``mean_i max(|r_i| - epsilon, 0) + alpha |w|_1``
    (absolute_error is ``epsilon = 0``) as a linear programme solved by HiGHS.

    Variables ``[w+, w-, b+, b-, xi]`` >= 0 with ``xi_i >= |y_i - x_i w - b| - eps``.
    """
    n, p = X.shape
    cost = np.concatenate([np.full(2 * p, alpha), [0.0, 0.0], np.full(n, 1.0 / n)])
    ones = np.ones((n, 1))
    above = np.hstack([-X, X, -ones, ones, -np.eye(n)])  # y - Xw - b - eps <= xi
    below = np.hstack([X, -X, ones, -ones, -np.eye(n)])  # Xw + b - y - eps <= xi
    result = linprog(
        cost,
        A_ub=np.vstack([above, below]),
        b_ub=np.concatenate([epsilon - y, epsilon + y]),
        bounds=(0, None),
        method="highs",
    )
    assert result.status == 0, result.message
    x = result.x
    return x[:p] - x[p : 2 * p], x[2 * p] - x[2 * p + 1]


def nonsmooth(Estimator, **params):
    """Full-batch subgradient descent with a cosine-annealed step."""
    return full_batch(Estimator, 0.3, 2000, schedule="cosine", **params)


def assert_reaches(achieved, reference, rtol, two_sided=False):
    assert achieved <= reference * (1 + rtol), (achieved, reference)
    if two_sided:
        assert achieved >= reference * (1 - rtol), (achieved, reference)


# ----------------------------------------------------------------- huber
def huber_data():
    X, y = regression_data(noise=20.0)
    rng = np.random.RandomState(1)
    outliers = rng.choice(len(y), 10, replace=False)
    y = y.copy()
    y[outliers] += rng.choice([-1, 1], 10) * 5.0
    return X, y


def test_huber_reaches_the_exact_optimum():
    X, y = huber_data()
    Y = y[:, None]
    alpha, epsilon = 0.01, 0.5
    est = fit_quietly(
        full_batch(
            GDRegressor,
            1 / lipschitz(X, alpha=alpha),
            500,
            loss="huber",
            epsilon=epsilon,
            alpha=alpha,
        ),
        X,
        y,
    )
    W, b = exact_l2_minimum("huber", X, Y, alpha, epsilon)
    residual = np.abs(X @ W[0] + b - y)
    assert 5 <= np.sum(residual > epsilon) <= len(y) - 5  # both branches in use
    assert_allclose(est.coef_, W[0], atol=SMOOTH_ATOL)
    assert_allclose(est.intercept_, b, atol=SMOOTH_ATOL)
    args = ("huber", X, Y)
    achieved = objective(*args, est.coef_, est.intercept_, alpha, epsilon=epsilon)
    optimum = objective(*args, W, b, alpha, epsilon=epsilon)
    assert_reaches(achieved, optimum, SMOOTH_RTOL, two_sided=True)


def test_huber_matches_huber_regressor_at_its_fitted_scale():
    """HuberRegressor minimises over (w, b, sigma)
    ``sum_i [sigma + H_eps(r_i / sigma) * sigma] + a |w|^2`` with
    ``H_eps(z) = z^2`` for ``|z| < eps``, else ``2 eps |z| - eps^2``. For the fitted
    ``sigma = scale_``,
    ``H_eps(r / sigma) * sigma = (2 / sigma) * huber_{eps sigma}(r)``
    with skfit's huber, so (w, b) minimise
    ``(2 n / sigma) * [mean_i huber_{eps sigma}(r_i) + (a sigma / n) / 2 |w|^2]``:
    skfit's objective with ``epsilon = eps * scale_`` and ``alpha = a * scale_ / n``.
    The two optima coincide; only HuberRegressor's stopping tolerance separates them.
    """
    X, y = huber_data()
    n = len(y)
    ref = HuberRegressor(epsilon=1.35, alpha=0.5, tol=1e-12, max_iter=10_000)
    ref.fit(X, y)
    epsilon, alpha = 1.35 * ref.scale_, 0.5 * ref.scale_ / n
    residual = np.abs(X @ ref.coef_ + ref.intercept_ - y)
    assert np.sum(residual > epsilon) >= 5  # outliers in the linear branch
    est = fit_quietly(
        full_batch(
            GDRegressor,
            1 / lipschitz(X, alpha=alpha),
            500,
            loss="huber",
            epsilon=epsilon,
            alpha=alpha,
        ),
        X,
        y,
    )
    assert_allclose(est.coef_, ref.coef_, atol=HUBER_ATOL)
    assert_allclose(est.intercept_[0], ref.intercept_, atol=HUBER_ATOL)


# --------------------------------------------------------------- poisson
def poisson_data(n_samples=150, seed=0, log_level=0.5):
    rng = np.random.RandomState(seed)
    X = StandardScaler().fit_transform(rng.randn(n_samples, 5))
    w = np.array([0.4, -0.3, 0.2, 0.0, 0.1])
    return X, rng.poisson(np.exp(X @ w + log_level)).astype(float)


@pytest.mark.parametrize("alpha", [0.01, 0.1])
@pytest.mark.parametrize("log_level", [0.5, np.log(300)])
def test_poisson_matches_poisson_regressor(alpha, log_level):
    """PoissonRegressor(alpha=a): mean half deviance + a / 2 |w|^2, skfit's units;
    counts about 1.6 and about 300 (an intercept of 5.7)."""
    X, y = poisson_data(log_level=log_level)
    Y = y[:, None]
    ref = PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    # The Hessian's largest eigenvalue near the optimum bounds the step.
    mu = np.exp(X @ ref.coef_ + ref.intercept_)
    Xt = np.hstack([X, np.ones((len(y), 1))])
    curvature = np.linalg.eigvalsh((Xt * mu[:, None]).T @ Xt / len(y))[-1] + alpha
    est = fit_quietly(
        full_batch(GDRegressor, 0.5 / curvature, 300, loss="poisson", alpha=alpha),
        X,
        y,
    )
    assert_allclose(est.coef_, ref.coef_, atol=SMOOTH_ATOL)
    assert_allclose(est.intercept_[0], ref.intercept_, atol=SMOOTH_ATOL)
    achieved = objective("poisson", X, Y, est.coef_, est.intercept_, alpha)
    reference = objective("poisson", X, Y, ref.coef_, ref.intercept_, alpha)
    assert_reaches(achieved, reference, SMOOTH_RTOL, two_sided=True)
    assert_allclose(est.predict(X), ref.predict(X), rtol=1e-5)


def test_poisson_refuses_negative_targets():
    X, y = poisson_data()
    y[3] = -1.0
    with pytest.raises(ValueError, match="negative"):
        GDRegressor(loss="poisson").fit(X, y)


# ---------------------------------------------------------- squared hinge
@pytest.mark.parametrize("n_classes", [2, 3])
def test_squared_hinge_without_intercept_matches_linear_svc(n_classes):
    """LinearSVC(C=c, fit_intercept=False) solves exactly skfit's problem with
    alpha = 1 / (c n) (per class, one-vs-rest, in both)."""
    X, y = classification_data(n_classes)
    Y = indicator_targets(y)
    C = 1.0
    alpha = 1 / (C * len(y))
    ref = LinearSVC(
        loss="squared_hinge",
        C=C,
        dual=False,
        fit_intercept=False,
        tol=1e-12,
        random_state=0,
    ).fit(X, y)
    est = fit_quietly(
        full_batch(
            GDClassifier,
            1 / lipschitz(X, curvature=2.0, alpha=alpha),
            1000,
            loss="squared_hinge",
            alpha=alpha,
            fit_intercept=False,
        ),
        X,
        y,
    )
    assert_allclose(est.coef_, ref.coef_, atol=SMOOTH_ATOL)
    assert_array_equal(est.intercept_, 0.0)
    achieved = objective("squared_hinge", X, Y, est.coef_, est.intercept_, alpha)
    reference = objective("squared_hinge", X, Y, ref.coef_, 0.0, alpha)
    assert_reaches(achieved, reference, SMOOTH_RTOL, two_sided=True)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_squared_hinge_with_intercept_reaches_the_exact_optimum(n_classes):
    """With an intercept LinearSVC penalises ``(b / intercept_scaling)^2 / 2``, so
    its parameters are only nearly optimal for skfit's problem (one-sided); the
    exact optimum comes from L-BFGS."""
    X, y = classification_data(n_classes)
    Y = indicator_targets(y)
    alpha = 1 / len(y)
    est = fit_quietly(
        full_batch(
            GDClassifier,
            1 / lipschitz(X, curvature=2.0, alpha=alpha),
            1000,
            loss="squared_hinge",
            alpha=alpha,
        ),
        X,
        y,
    )
    W, b = exact_l2_minimum("squared_hinge", X, Y, alpha)
    assert_allclose(est.coef_, W, atol=SMOOTH_ATOL)
    assert_allclose(est.intercept_, b, atol=SMOOTH_ATOL)
    achieved = objective("squared_hinge", X, Y, est.coef_, est.intercept_, alpha)
    assert_reaches(
        achieved, objective("squared_hinge", X, Y, W, b, alpha), SMOOTH_RTOL, True
    )
    ref = LinearSVC(
        loss="squared_hinge",
        C=1.0,
        dual=False,
        intercept_scaling=100,
        tol=1e-12,
        random_state=0,
    ).fit(X, y)
    reference = objective("squared_hinge", X, Y, ref.coef_, ref.intercept_, alpha)
    assert_reaches(achieved, reference, SMOOTH_RTOL)


# ----------------------------------------------------------------- hinge
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_hinge_reaches_linear_svc_objective(n_classes, fit_intercept):
    """LinearSVC(loss='hinge', dual=True, C=c): alpha = 1 / (c n). Without an
    intercept both solve the same problem (two-sided); with one LinearSVC
    penalises the scaled intercept (intercept_scaling=100), so one-sided."""
    X, y = classification_data(n_classes)
    Y = indicator_targets(y)
    C = 1.0
    alpha = 1 / (C * len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LinearSVC(
            loss="hinge",
            C=C,
            dual=True,
            fit_intercept=fit_intercept,
            intercept_scaling=100,
            tol=1e-10,
            max_iter=1_000_000,
            random_state=0,
        ).fit(X, y)
    est = fit_quietly(
        nonsmooth(GDClassifier, loss="hinge", alpha=alpha, fit_intercept=fit_intercept),
        X,
        y,
    )
    achieved = objective("hinge", X, Y, est.coef_, est.intercept_, alpha)
    reference = objective("hinge", X, Y, ref.coef_, ref.intercept_, alpha)
    assert_reaches(achieved, reference, NONSMOOTH_RTOL, two_sided=not fit_intercept)


# --------------------------------------------------- epsilon-insensitive
def test_epsilon_insensitive_without_intercept_matches_linear_svr():
    """LinearSVR(C=c, fit_intercept=False): 1/2 |w|^2 + c sum eps-insensitive,
    skfit's problem with alpha = 1 / (c n) and no intercept."""
    X, y = regression_data()
    Y = y[:, None]
    C, epsilon = 1.0, 0.1
    alpha = 1 / (C * len(y))
    ref = LinearSVR(
        loss="epsilon_insensitive",
        epsilon=epsilon,
        C=C,
        fit_intercept=False,
        dual=True,
        tol=1e-10,
        max_iter=1_000_000,
        random_state=0,
    ).fit(X, y)
    est = fit_quietly(
        nonsmooth(
            GDRegressor,
            loss="epsilon_insensitive",
            epsilon=epsilon,
            alpha=alpha,
            fit_intercept=False,
        ),
        X,
        y,
    )
    args = ("epsilon_insensitive", X, Y)
    achieved = objective(*args, est.coef_, est.intercept_, alpha, epsilon=epsilon)
    reference = objective(*args, ref.coef_, 0.0, alpha, epsilon=epsilon)
    assert_reaches(achieved, reference, NONSMOOTH_RTOL, two_sided=True)


def test_epsilon_insensitive_beats_sgd_regressor():
    """SGDRegressor(penalty='l2', alpha=a) has skfit's units but only approximates
    its optimum: skfit's full-batch fit must be no worse (up to NONSMOOTH_RTOL)."""
    X, y = regression_data()
    Y = y[:, None]
    epsilon, alpha = 0.1, 1 / len(y)
    ref = SGDRegressor(
        loss="epsilon_insensitive",
        epsilon=epsilon,
        alpha=alpha,
        penalty="l2",
        max_iter=1000,
        tol=None,
        learning_rate="invscaling",
        random_state=0,
    ).fit(X, y)
    est = fit_quietly(
        nonsmooth(
            GDRegressor, loss="epsilon_insensitive", epsilon=epsilon, alpha=alpha
        ),
        X,
        y,
    )
    args = ("epsilon_insensitive", X, Y)
    achieved = objective(*args, est.coef_, est.intercept_, alpha, epsilon=epsilon)
    reference = objective(*args, ref.coef_, ref.intercept_, alpha, epsilon=epsilon)
    assert_reaches(achieved, reference, NONSMOOTH_RTOL)


@pytest.mark.parametrize(
    "loss, epsilon", [("epsilon_insensitive", 0.1), ("absolute_error", 0.0)]
)
def test_piecewise_linear_loss_with_l1_reaches_the_lp_optimum(loss, epsilon):
    """With penalty='l1' the problem is a linear programme: its exact optimum
    (with an unpenalised intercept) comes from HiGHS."""
    X, y = regression_data()
    Y = y[:, None]
    alpha = 0.01
    est = fit_quietly(
        nonsmooth(GDRegressor, loss=loss, epsilon=epsilon, penalty="l1", alpha=alpha),
        X,
        y,
    )
    w, b = exact_l1_lp_minimum(loss, X, y, alpha, epsilon)
    achieved = objective(loss, X, Y, est.coef_, est.intercept_, alpha, 1.0, epsilon)
    optimum = objective(loss, X, Y, w, b, alpha, 1.0, epsilon)
    assert_reaches(achieved, optimum, NONSMOOTH_RTOL, two_sided=True)


def test_absolute_error_matches_quantile_regressor():
    """QuantileRegressor(quantile=0.5, alpha=a) minimises
    mean 0.5 |r| + a |w|_1 = 0.5 * (mean |r| + 2a |w|_1): skfit's absolute_error
    objective with penalty='l1' and alpha = 2a, halved."""
    X, y = regression_data()
    Y = y[:, None]
    a = 0.01
    ref = QuantileRegressor(quantile=0.5, alpha=a, solver="highs").fit(X, y)
    residual = y - X @ ref.coef_ - ref.intercept_
    own = np.mean(0.5 * np.abs(residual)) + a * np.abs(ref.coef_).sum()
    reference = objective("absolute_error", X, Y, ref.coef_, ref.intercept_, 2 * a, 1)
    assert_allclose(2 * own, reference, rtol=1e-12)  # the factor, checked
    est = fit_quietly(
        nonsmooth(GDRegressor, loss="absolute_error", penalty="l1", alpha=2 * a),
        X,
        y,
    )
    achieved = objective("absolute_error", X, Y, est.coef_, est.intercept_, 2 * a, 1)
    assert_reaches(achieved, reference, NONSMOOTH_RTOL, two_sided=True)


# ------------------------------------------------------ unscaled targets
def unscaled(y):
    """A target of location 300 and spread 80: intercepts in the hundreds."""
    return 300.0 + 80.0 * y


@pytest.mark.parametrize("loss, epsilon", [("squared_error", None), ("huber", 40.0)])
def test_smooth_losses_reach_the_exact_optimum_of_an_unscaled_target(loss, epsilon):
    """Ridge's closed form (alpha * n in its units) for the squared error, L-BFGS
    on this module's objective for Huber: full-batch descent at 1 / L gets there,
    as it does for a unit-scale target."""
    X, y = regression_data()
    y = unscaled(y)
    Y = y[:, None]
    alpha = 0.01
    est = fit_quietly(
        full_batch(
            GDRegressor,
            1 / lipschitz(X, alpha=alpha),
            500,
            loss=loss,
            epsilon=epsilon or 0.1,
            alpha=alpha,
        ),
        X,
        y,
    )
    if loss == "squared_error":
        ridge = Ridge(alpha=alpha * len(y), solver="cholesky").fit(X, y)
        W, b = ridge.coef_[None, :], ridge.intercept_
    else:
        W, b = exact_l2_minimum(loss, X, Y, alpha, epsilon)
    assert_allclose(est.coef_, W[0], rtol=SMOOTH_ATOL)
    assert_allclose(est.intercept_, np.atleast_1d(b), rtol=SMOOTH_ATOL)
    achieved = objective(loss, X, Y, est.coef_, est.intercept_, alpha, epsilon=epsilon)
    optimum = objective(loss, X, Y, W, b, alpha, epsilon=epsilon)
    assert_reaches(achieved, optimum, SMOOTH_RTOL, two_sided=True)


@pytest.mark.parametrize(
    "loss, epsilon", [("absolute_error", 0.0), ("epsilon_insensitive", 8.0)]
)
def test_piecewise_linear_losses_reach_the_lp_optimum_of_an_unscaled_target(
    loss, epsilon
):
    X, y = regression_data()
    y = unscaled(y)
    alpha = 0.5
    est = fit_quietly(
        nonsmooth(GDRegressor, loss=loss, epsilon=epsilon, penalty="l1", alpha=alpha),
        X,
        y,
    )
    w, b = exact_l1_lp_minimum(loss, X, y, alpha, epsilon)
    Y = y[:, None]
    achieved = objective(loss, X, Y, est.coef_, est.intercept_, alpha, 1.0, epsilon)
    optimum = objective(loss, X, Y, w, b, alpha, 1.0, epsilon)
    assert_reaches(achieved, optimum, NONSMOOTH_RTOL, two_sided=True)


#: The defaults (shuffled mini-batches, Adam, the plateau schedule, tol) on a
#: well-conditioned problem come within this of the exact optimum (about 1e-4 to
#: 3e-3 measured over seeds).
DEFAULTS_RTOL = 1e-2


@pytest.mark.parametrize(
    "loss", ["squared_error", "huber", "absolute_error", "epsilon_insensitive"]
)
def test_defaults_reach_the_optimum_of_an_unscaled_target(loss):
    """Untuned: the loss alone is chosen (the piecewise-linear ones without a
    penalty, for the linear programme's reference)."""
    X, y = _datasets.regression_data(n_samples=1000, noise=20.0)
    y = unscaled(y)
    Y = y[:, None]
    epsilon = {"huber": 40.0, "epsilon_insensitive": 8.0}.get(loss)
    params = {"loss": loss, "epsilon": epsilon or 0.1, "random_state": 0}
    if loss in ("squared_error", "huber"):
        alpha = 1e-4  # the default
        W, b = exact_l2_minimum(loss, X, Y, alpha, epsilon)
    else:
        alpha = 0.0
        params["penalty"] = None
        W, b = exact_l1_lp_minimum(loss, X, y, alpha, epsilon or 0.0)
    est = fit_quietly(GDRegressor(**params), X, y)
    assert est.stop_reason_ == "tol"
    achieved = objective(loss, X, Y, est.coef_, est.intercept_, alpha, epsilon=epsilon)
    optimum = objective(loss, X, Y, W, b, alpha, epsilon=epsilon)
    assert_reaches(achieved, optimum, DEFAULTS_RTOL)


def test_poisson_defaults_reach_poisson_regressor_on_large_counts():
    X, y = poisson_data(n_samples=1000, log_level=np.log(300))
    Y = y[:, None]
    alpha = 1e-4
    ref = PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    est = fit_quietly(GDRegressor(loss="poisson", random_state=0), X, y)
    achieved = objective("poisson", X, Y, est.coef_, est.intercept_, alpha)
    reference = objective("poisson", X, Y, ref.coef_, ref.intercept_, alpha)
    assert_reaches(achieved, reference, DEFAULTS_RTOL)


# -------------------------------------------------------- modified huber
@pytest.mark.parametrize("n_classes", [2, 3])
def test_modified_huber_reaches_the_exact_optimum_and_beats_sgd(n_classes):
    """modified_huber is smooth with a 2-Lipschitz derivative: L-BFGS gives the
    exact optimum; SGDClassifier (same units, l2 alpha) only approximates it."""
    X, y = classification_data(n_classes)
    Y = indicator_targets(y)
    alpha = 0.01
    est = fit_quietly(
        full_batch(
            GDClassifier,
            1 / lipschitz(X, curvature=2.0, alpha=alpha),
            1000,
            loss="modified_huber",
            alpha=alpha,
        ),
        X,
        y,
    )
    W, b = exact_l2_minimum("modified_huber", X, Y, alpha)
    assert_allclose(est.coef_, W, atol=SMOOTH_ATOL)
    assert_allclose(est.intercept_, b, atol=SMOOTH_ATOL)
    achieved = objective("modified_huber", X, Y, est.coef_, est.intercept_, alpha)
    optimum = objective("modified_huber", X, Y, W, b, alpha)
    assert_reaches(achieved, optimum, SMOOTH_RTOL, two_sided=True)
    ref = SGDClassifier(
        loss="modified_huber",
        alpha=alpha,
        penalty="l2",
        max_iter=1000,
        tol=None,
        random_state=0,
    ).fit(X, y)
    reference = objective("modified_huber", X, Y, ref.coef_, ref.intercept_, alpha)
    assert_reaches(achieved, reference, SMOOTH_RTOL)


def test_modified_huber_multiclass_probabilities():
    X, y = classification_data(3, n_samples=200)
    est = fit_quietly(
        full_batch(GDClassifier, 0.1, 200, loss="modified_huber", alpha=0.01), X, y
    )
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), 3)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # scikit-learn's SGDClassifier rule: clip((raw + 1) / 2, 0, 1), rows normalised.
    clipped = np.clip((est.decision_function(X) + 1) / 2, 0, 1)
    assert np.all(clipped.sum(axis=1) > 0)
    assert_allclose(proba, clipped / clipped.sum(axis=1, keepdims=True), rtol=1e-12)
    predicted = est.predict(X)
    column = np.searchsorted(est.classes_, predicted)
    # The predicted class always has the largest probability (clipping is monotone)...
    assert_array_equal(proba[np.arange(len(y)), column], proba.max(axis=1))
    # ...and where that largest probability is unique, argmax and predict agree.
    top_two = np.sort(proba, axis=1)[:, -2:]
    unique = top_two[:, 1] > top_two[:, 0]
    assert unique.mean() > 0.5
    assert_array_equal(est.classes_[proba.argmax(axis=1)][unique], predicted[unique])
    assert_allclose(np.exp(est.predict_log_proba(X)), proba, rtol=1e-12)


# ---------------------------------------------------- one-vs-rest margins
class RecordParameters(Callback):
    """Keeps (coef_, intercept_) when training begins and after every epoch."""

    def __init__(self):
        self.params = []

    def on_train_begin(self, estimator):
        self.params.append((estimator.coef_.copy(), estimator.intercept_.copy()))

    def on_epoch_end(self, estimator, record):
        self.params.append((estimator.coef_.copy(), estimator.intercept_.copy()))


@pytest.mark.parametrize("loss", MARGIN_LOSSES)
def test_multiclass_margin_loss_is_one_joint_one_vs_rest_fit(loss):
    X, y = classification_data(3)
    Y = indicator_targets(y)
    alpha = 0.01

    # Hinge: cosine-annealed subgradient steps; the smooth ones: step 1 / L.
    if loss == "hinge":
        settings = {"learning_rate": 0.3, "schedule": "cosine"}
    else:
        settings = {"learning_rate": 1 / lipschitz(X, curvature=2.0, alpha=alpha)}
    epochs = 400

    def make():
        return full_batch(
            GDClassifier, max_epochs=epochs, loss=loss, alpha=alpha, **settings
        )

    joint = fit_quietly(make(), X, y)
    assert len(joint.history_) == epochs
    # The rows are the fits of each class against the rest (same start, same steps).
    for k, label in enumerate(joint.classes_):
        single = fit_quietly(make(), X, (y == label).astype(int))
        assert_allclose(joint.coef_[k], single.coef_[0], rtol=1e-9, atol=1e-12)
        assert_allclose(joint.intercept_[k], single.intercept_[0], atol=1e-12)
    # The objective of the joint fit is the sum over the columns of each column's
    # binary objective: one more epoch records it at the current parameters (the
    # recorded loss is taken before the epoch's update).
    per_column = sum(
        objective(loss, X, Y[:, [k]], joint.coef_[k], joint.intercept_[k], alpha)
        for k in range(3)
    )
    joint.set_params(warm_start=True, max_epochs=1)
    fit_quietly(joint, X, y)
    assert_allclose(joint.history_["loss"][-1], per_column, rtol=1e-10)


# ----------------------------------------------------------- l1, elasticnet
def sparse_regression_data():
    X, y = make_regression(
        200,
        10,
        n_informative=4,
        noise=10.0,
        bias=2.0,
        shuffle=False,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y / y.std()


@pytest.mark.parametrize(
    "penalty, alpha, l1_ratio",
    [("l1", 0.05, 1.0), ("l1", 0.02, 1.0), ("elasticnet", 0.05, 0.5)],
)
def test_l1_and_elasticnet_match_lasso_and_elastic_net(penalty, alpha, l1_ratio):
    """Lasso(alpha=a): 1/(2n) |y - Xw - b|^2 + a |w|_1; ElasticNet adds
    a (1 - r) / 2 |w|^2: both skfit's squared_error objective in skfit's units.
    Full-batch sgd with step 1 / L and the proximal l1 step is ISTA: the features
    the reference zeroes must be exactly zero in skfit's coef_."""
    X, y = sparse_regression_data()
    Y = y[:, None]
    if penalty == "l1":
        ref = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000)
    else:
        ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100_000)
    ref.fit(X, y)
    zero = ref.coef_ == 0
    assert zero.sum() >= 5  # the six irrelevant features, or most of them
    est = fit_quietly(
        full_batch(
            GDRegressor,
            1 / lipschitz(X, alpha=alpha * (1 - l1_ratio)),
            300,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
        ),
        X,
        y,
    )
    assert_array_equal(est.coef_[zero], 0.0)
    assert np.all(est.coef_[~zero] != 0)
    assert_allclose(est.coef_, ref.coef_, atol=SMOOTH_ATOL)
    assert_allclose(est.intercept_[0], ref.intercept_, atol=SMOOTH_ATOL)
    args = ("squared_error", X, Y)
    achieved = objective(*args, est.coef_, est.intercept_, alpha, l1_ratio)
    reference = objective(*args, ref.coef_, ref.intercept_, alpha, l1_ratio)
    assert_reaches(achieved, reference, SMOOTH_RTOL, two_sided=True)


# ----------------------------------------------------------------- adamw
BETA1, BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8  # skfit's documented Adam defaults


def adamw_run(optimizer, alpha, learning_rate=0.1, epochs=4):
    # A target trained in its own units, so the steps apply to coef_ as it is.
    X, y = regression_data(n_samples=60, n_features=3)
    y = _datasets.unit_spread(y)
    recorder = RecordParameters()
    est = GDRegressor(
        optimizer=optimizer,
        alpha=alpha,
        batch_size=None,
        learning_rate=learning_rate,
        max_epochs=epochs,
        tol=None,
        shuffle=False,
        spike_policy="ignore",
        callbacks=[recorder],
    )
    fit_quietly(est, X, y)
    return X, y, est, recorder.params


def data_gradient(X, y, coef, intercept):
    """Gradient of the mean half squared error (no penalty), weights then bias."""
    r = X @ coef + intercept[0] - y
    return np.concatenate([X.T @ r / len(y), [r.mean()]])


def test_adamw_step_is_adams_step_minus_rate_alpha_w():
    """AdamW (Loshchilov and Hutter 2019, Algorithm 2; also PyTorch's AdamW and
    optax.adamw): from parameters w_{t-1},
    ``w_t = w_{t-1} + adam_step(g_t) - rate * alpha * w_{t-1}``, with ``g_t`` the
    data gradient alone; biases are not decayed. Each full-batch epoch is one step,
    checked from the parameters skfit actually had before it."""
    learning_rate, alpha = 0.1, 0.5
    X, y, est, params = adamw_run("adamw", alpha, learning_rate)
    assert len(params) == 5 and est.t_ == 4
    m = np.zeros(4)
    v = np.zeros(4)
    for t in range(1, 5):
        coef, intercept = params[t - 1]
        g = data_gradient(X, y, coef, intercept)
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g * g
        rate = learning_rate * np.sqrt(1 - BETA2**t) / (1 - BETA1**t)
        step = -rate * m / (np.sqrt(v) + ADAM_EPSILON)
        expected_coef = coef + step[:3] - learning_rate * alpha * coef
        expected_intercept = intercept + step[3]
        assert_allclose(
            params[t][0],
            expected_coef,
            rtol=1e-10,
            atol=1e-12,
            err_msg=f"weights after step {t}",
        )
        # The bias starts optimal: its gradient is rounding noise, which Adam's
        # normalised step turns into moves of about rate * noise / epsilon.
        assert_allclose(params[t][1], expected_intercept, rtol=1e-10, atol=1e-10)


def test_adamw_gradient_excludes_the_l2_term():
    """history_['grad_norm'] of a full-batch epoch is the norm of the gradient used
    at its start: under adamw the data gradient alone, under adam the data gradient
    plus alpha * w (so the check can tell them apart)."""
    alpha = 0.5
    for optimizer, l2_in_gradient in (("adamw", False), ("adam", True)):
        X, y, est, params = adamw_run(optimizer, alpha)
        for t in range(4):
            coef, intercept = params[t]
            g = data_gradient(X, y, coef, intercept)
            if l2_in_gradient:
                g[:3] += alpha * coef
            assert_allclose(
                est.history_["grad_norm"][t],
                np.linalg.norm(g),
                rtol=1e-10,
                err_msg=optimizer,
            )
        moved = np.linalg.norm(params[-1][0])
        assert moved > 0.1  # the weights are far from zero: the l2 term is not small


# ----------------------------------------- every optimizer, every schedule
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
SCHEDULES = [
    "constant",
    "invscaling",
    "step",
    "exponential",
    "cosine",
    "onecycle",
    "plateau",
]


@pytest.fixture(scope="module")
def smoke_problems():
    Xr, yr = regression_data(n_samples=300, noise=10.0, seed=1)
    Xc, yc = make_classification(
        300,
        4,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=1,
    )
    Xc = StandardScaler().fit_transform(Xc)
    problems = {
        "regressor": (GDRegressor, train_test_split(Xr, yr, random_state=0)),
        "classifier": (
            GDClassifier,
            train_test_split(Xc, yc, stratify=yc, random_state=0),
        ),
    }
    defaults = {}
    for kind, (Estimator, (X_train, X_test, y_train, y_test)) in problems.items():
        est = fit_quietly(Estimator(random_state=0), X_train, y_train)
        defaults[kind] = est.score(X_test, y_test)
    return problems, defaults


# Held-out R^2 / accuracy: at least this, and at most this far below the default's.
# Every setting keeps the defaults (batch_size=32, max_epochs=200, tol=1e-4) except
# adagrad's learning rate: its steps shrink like 1 / sqrt(summed squared gradients),
# so the default 0.01 (chosen for adam) stalls below tol early (held-out R^2 0.965).
SMOKE_RATES = {("optimizer", "adagrad"): 0.1}
SMOKE_FLOOR = {"regressor": 0.95, "classifier": 0.85}
SMOKE_MARGIN = {"regressor": 0.02, "classifier": 0.05}


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
@pytest.mark.parametrize(
    "setting",
    [("optimizer", name) for name in OPTIMIZERS]
    + [("schedule", name) for name in SCHEDULES],
    ids=lambda s: f"{s[0]}={s[1]}",
)
def test_every_optimizer_and_schedule_trains_as_well_as_the_default(
    smoke_problems, kind, setting
):
    problems, defaults = smoke_problems
    Estimator, (X_train, X_test, y_train, y_test) = problems[kind]
    assert defaults[kind] >= SMOKE_FLOOR[kind]
    params = {setting[0]: setting[1], "learning_rate": SMOKE_RATES.get(setting, 0.01)}
    est = fit_quietly(Estimator(random_state=0, **params), X_train, y_train)
    assert np.all(np.isfinite(est.coef_))
    assert est.stop_reason_ in ("tol", "max_epochs")
    score = est.score(X_test, y_test)
    assert score >= SMOKE_FLOOR[kind], score
    assert score >= defaults[kind] - SMOKE_MARGIN[kind], (score, defaults[kind])
