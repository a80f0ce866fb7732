"""Converged fits against scikit-learn's exact solvers for the same objectives.

The objective is ``sum_i s_i loss_i / sum_i s_i + alpha / 2 * |W|^2`` (DESIGN.md), so
``Ridge(alpha=a * sum(s))`` and ``LogisticRegression(C=1 / (a * sum(s)))`` solve the
same problems. Full-batch gradient descent with a step of ``1 / L`` (``L`` the
gradient's Lipschitz constant, computed here from the data) converges linearly on
these small standardised problems.
"""

from functools import partial

import _datasets
import numpy as np
import pytest
import scipy.sparse as sp
from _fitting import fit_quietly, full_batch
from _references import indicator_targets, lipschitz, objective
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from skfit import GDClassifier, GDRegressor

regression_data = partial(_datasets.regression_data, n_samples=100, noise=5.0)
classification_data = partial(_datasets.classification_data, n_samples=120)


# ------------------------------------------------------------ regression
def test_unpenalised_full_batch_gd_reaches_linear_regression():
    X, y = regression_data()
    est = full_batch(GDRegressor, 1 / lipschitz(X), 500, penalty=None)
    fit_quietly(est, X, y)
    reference = LinearRegression().fit(X, y)
    assert est.coef_.shape == reference.coef_.shape
    assert_allclose(est.coef_, reference.coef_, rtol=1e-3)
    assert_allclose(est.intercept_, [reference.intercept_], rtol=1e-3)
    assert est.stop_reason_ == "max_epochs"


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_l2_full_batch_gd_reaches_ridge(alpha):
    X, y = regression_data(seed=1)
    n = X.shape[0]
    est = full_batch(
        GDRegressor, 1 / lipschitz(X, alpha=alpha), 500, penalty="l2", alpha=alpha
    )
    fit_quietly(est, X, y)
    reference = Ridge(alpha=alpha * n, solver="cholesky").fit(X, y)
    assert_allclose(est.coef_, reference.coef_, rtol=1e-3)
    assert_allclose(est.intercept_, [reference.intercept_], rtol=1e-3)
    # The recorded loss is the objective: at the end it is the optimum's value.
    optimum = np.mean(0.5 * (reference.predict(X) - y) ** 2) + 0.5 * alpha * np.sum(
        reference.coef_**2
    )
    assert_allclose(est.history_["loss"][-1], optimum, rtol=1e-6)


def test_multi_output_matches_linear_regression_per_output():
    X, Y = regression_data(n_targets=3, seed=2)
    Y = Y * np.array([1.0, -2.0, 0.5]) + np.array([0.0, 1.0, -3.0])
    est = full_batch(GDRegressor, 1 / lipschitz(X), 500, penalty=None)
    fit_quietly(est, X, Y)
    reference = LinearRegression().fit(X, Y)
    assert est.coef_.shape == (3, X.shape[1]) == reference.coef_.shape
    assert est.intercept_.shape == (3,)
    assert est.predict(X).shape == Y.shape
    for k in range(3):
        single = LinearRegression().fit(X, Y[:, k])
        assert_allclose(est.coef_[k], single.coef_, rtol=1e-3)
    assert_allclose(est.intercept_, reference.intercept_, rtol=1e-3, atol=1e-6)


# ------------------------------------------------------------ sample weights
def integer_weights(n, seed=0):
    weights = np.random.default_rng(seed).integers(0, 4, size=n)
    weights[:3] = [0, 2, 3]
    return weights


@pytest.mark.parametrize("penalty", [None, "l2"])
def test_integer_sample_weight_equals_repeated_rows(penalty):
    X, y = regression_data(n_samples=40, seed=3)
    sw = integer_weights(40)
    params = {"penalty": penalty, "alpha": 0.05}
    weighted = full_batch(GDRegressor, 0.1, 200, **params)
    fit_quietly(weighted, X, y, sample_weight=sw.astype(float))
    repeated = full_batch(GDRegressor, 0.1, 200, **params)
    fit_quietly(repeated, np.repeat(X, sw, axis=0), np.repeat(y, sw))
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-6, atol=1e-10)
    assert_allclose(
        weighted.history_["loss"], repeated.history_["loss"], rtol=1e-6, atol=1e-10
    )


def test_sample_weight_matches_weighted_ridge():
    X, y = regression_data(n_samples=60, seed=4)
    sw = np.random.default_rng(4).uniform(0.1, 3.0, size=60)
    alpha = 0.05
    est = full_batch(
        GDRegressor, 1 / lipschitz(X, sw, alpha=alpha), 500, penalty="l2", alpha=alpha
    )
    fit_quietly(est, X, y, sample_weight=sw)
    # Weighted mean loss: Ridge's alpha corresponds to alpha * sum(sample_weight).
    reference = Ridge(alpha=alpha * sw.sum(), solver="cholesky").fit(
        X, y, sample_weight=sw
    )
    assert_allclose(est.coef_, reference.coef_, rtol=1e-3)
    assert_allclose(est.intercept_, [reference.intercept_], rtol=1e-3)


def test_scaling_all_sample_weights_changes_nothing():
    # At a given alpha only the weights' ratios matter.
    X, y = regression_data(n_samples=40, seed=5)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, size=40)
    fit = full_batch(GDRegressor, 0.1, 50).set_params(alpha=1e-3)
    a = fit_quietly(clone(fit), X, y, sample_weight=sw)
    b = fit_quietly(clone(fit), X, y, sample_weight=7 * sw)
    assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)


def test_auto_alpha_is_one_over_the_total_weight():
    """alpha='auto' is Ridge()'s strength: 1 / sum(s), which scaling every weight
    by 7 divides by 7, as it multiplies Ridge's data term by 7."""
    X, y = regression_data(n_samples=40, seed=5)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, size=40)
    fit = full_batch(GDRegressor, 0.1, 50)
    assert fit.alpha == "auto"
    a = fit_quietly(clone(fit), X, y, sample_weight=sw)
    b = fit_quietly(clone(fit), X, y, sample_weight=7 * sw)
    assert a.alpha_ == pytest.approx(1 / sw.sum(), rel=1e-12)
    assert b.alpha_ == pytest.approx(a.alpha_ / 7, rel=1e-12)
    given = fit_quietly(clone(fit).set_params(alpha=b.alpha_), X, y, sample_weight=sw)
    assert_allclose(b.coef_, given.coef_, rtol=1e-10)
    assert fit_quietly(clone(fit), X, y).alpha_ == 1 / 40


# ------------------------------------------------------------ classification
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [1e-2, 1e-3])
def test_l2_log_loss_reaches_logistic_regression_objective(n_classes, alpha):
    X, y = classification_data(n_classes, seed=n_classes)
    n = X.shape[0]
    # The log-loss Hessian is at most 1/4 (binary) or 1/2 (softmax) times X'X / n.
    curvature = 0.25 if n_classes == 2 else 0.5
    est = full_batch(
        GDClassifier,
        1 / lipschitz(X, curvature=curvature, alpha=alpha),
        600,
        penalty="l2",
        alpha=alpha,
    )
    fit_quietly(est, X, y)
    reference = LogisticRegression(C=1 / (alpha * n), tol=1e-12, max_iter=10_000)
    reference.fit(X, y)
    assert est.coef_.shape == reference.coef_.shape
    assert_array_equal(est.classes_, reference.classes_)
    Y = indicator_targets(y)
    ours = objective("log_loss", X, Y, est.coef_, est.intercept_, alpha)
    exact = objective("log_loss", X, Y, reference.coef_, reference.intercept_, alpha)
    assert abs(ours - exact) <= 5e-3 * exact
    assert ours >= exact * (1 - 1e-6)  # the exact solver's optimum is not beaten
    # The recorded training loss is the same objective (at the last epoch's start).
    assert_allclose(est.history_["loss"][-1], ours, rtol=1e-3)
    # The weights are unique (penalised); the softmax intercepts only up to a shift.
    assert_allclose(est.coef_, reference.coef_, atol=1e-4)
    assert_allclose(est.predict_proba(X), reference.predict_proba(X), atol=1e-4)


def test_weighted_log_loss_reaches_weighted_logistic_regression():
    X, y = classification_data(3, seed=9)
    sw = np.random.default_rng(9).uniform(0.2, 3.0, size=len(y))
    alpha = 1e-2
    est = full_batch(
        GDClassifier,
        1 / lipschitz(X, sw, curvature=0.5, alpha=alpha),
        600,
        penalty="l2",
        alpha=alpha,
    )
    fit_quietly(est, X, y, sample_weight=sw)
    reference = LogisticRegression(C=1 / (alpha * sw.sum()), tol=1e-12, max_iter=10_000)
    reference.fit(X, y, sample_weight=sw)
    assert_allclose(est.coef_, reference.coef_, atol=1e-4)
    assert_allclose(est.predict_proba(X), reference.predict_proba(X), atol=1e-4)


# ------------------------------------------------------------ dtypes and sparse
def test_float32_full_batch_gd_reaches_ridge_to_float32_precision():
    X, y = regression_data(seed=6)
    alpha = 0.01
    est = full_batch(
        GDRegressor, 1 / lipschitz(X, alpha=alpha), 300, penalty="l2", alpha=alpha
    )
    fit_quietly(est, X.astype(np.float32), y.astype(np.float32))
    assert est.coef_.dtype == np.float32
    assert est.intercept_.dtype == np.float32
    assert est.predict(X.astype(np.float32)).dtype == np.float32
    # The optimum to within float32 rounding (eps 1.2e-7) of coefficients near 1.
    reference = Ridge(alpha=alpha * len(y), solver="cholesky").fit(X, y)
    assert_allclose(est.coef_, reference.coef_, rtol=1e-6)
    # The intercept is near 0.01: float32 rounds it on the coefficients' scale.
    assert_allclose(est.intercept_, [reference.intercept_], rtol=1e-6, atol=1e-7)


def test_float32_classifier_reaches_logistic_regression():
    X, y = classification_data(3)
    alpha = 1e-2
    est = full_batch(
        GDClassifier,
        1 / lipschitz(X, curvature=0.5, alpha=alpha),
        600,
        penalty="l2",
        alpha=alpha,
    )
    fit_quietly(est, X.astype(np.float32), y)
    assert est.coef_.dtype == np.float32
    proba = est.predict_proba(X.astype(np.float32))
    assert proba.dtype == np.float32
    reference = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    reference.fit(X, y)
    assert_allclose(est.coef_, reference.coef_, atol=1e-4)
    assert_allclose(proba, reference.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("batch_size", [None, 8])
def test_csr_input_gives_the_same_regressor_as_dense(batch_size):
    # A full batch updates CSR rows as dense ones; a sparse mini-batch moves only
    # its features' weights, which is the dense update for plain SGD without a
    # penalty (their gradient is zero elsewhere).
    X, y = regression_data(n_samples=50, seed=7)
    X[np.abs(X) < 0.7] = 0.0
    params = {
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "batch_size": batch_size,
        "penalty": "l2" if batch_size is None else None,
        "max_epochs": 20,
        "tol": None,
        "random_state": 0,
    }
    sw = np.random.default_rng(7).uniform(0.5, 2.0, size=50)
    dense = fit_quietly(GDRegressor(**params), X, y, sample_weight=sw)
    sparse = fit_quietly(GDRegressor(**params), sp.csr_matrix(X), y, sample_weight=sw)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)
    assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-6)
    assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-10)


@pytest.mark.parametrize(
    "params",
    [{"batch_size": None}, {"batch_size": 16, "optimizer": "sgd", "penalty": None}],
)
def test_csr_input_gives_the_same_classifier_as_dense(params):
    X, y = classification_data(3, seed=8)
    X[np.abs(X) < 0.5] = 0.0
    params = {**params, "max_epochs": 10, "tol": None, "random_state": 0}
    dense = fit_quietly(GDClassifier(**params), X, y)
    sparse = fit_quietly(GDClassifier(**params), sp.csr_matrix(X), y)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-10
    )
