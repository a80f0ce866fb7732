"""l1 and elastic-net penalties reach scikit-learn's Lasso and ElasticNet optimum,
objective and zero set, under every optimizer (the proximal step shrinks by each
coordinate's effective step size, and momentum learns the step taken)."""

import numpy as np
import pytest
from _fitting import fit_quietly, full_batch
from _references import objective
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet, Lasso
from sklearn.preprocessing import StandardScaler

from skfit import GDRegressor

#: A learning rate each optimizer converges with on this problem in full batch.
RATES = {
    "sgd": 0.1,
    "momentum": 0.02,
    "nesterov": 0.02,
    "adagrad": 0.5,
    "rmsprop": 0.01,
    "adam": 0.01,
    "adamw": 0.01,
}


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def squared_error_objective(X, y, coef, intercept, alpha, l1_ratio):
    return objective("squared_error", X, y[:, None], coef, intercept, alpha, l1_ratio)


def fit_full_batch(X, y, optimizer, **params):
    """Full batch until the loss improves by less than 1e-12 in 200 epochs."""
    est = full_batch(
        GDRegressor,
        RATES[optimizer],
        5000,
        optimizer=optimizer,
        tol=1e-12,
        n_iter_no_change=200,
        **params,
    )
    return fit_quietly(est, X, y)


@pytest.mark.parametrize("optimizer", sorted(RATES))
def test_l1_reaches_lassos_objective_and_zero_set(diabetes, optimizer):
    X, y = diabetes
    alpha = 0.05
    lasso = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    assert 0 < np.sum(lasso.coef_ == 0) < X.shape[1]  # some, not all, are zero
    est = fit_full_batch(X, y, optimizer, penalty="l1", alpha=alpha)
    assert est.converged_
    ours = squared_error_objective(X, y, est.coef_, est.intercept_, alpha, 1.0)
    reference = squared_error_objective(X, y, lasso.coef_, lasso.intercept_, alpha, 1.0)
    assert ours <= reference * 1.005
    np.testing.assert_array_equal(
        np.flatnonzero(est.coef_ == 0), np.flatnonzero(lasso.coef_ == 0)
    )


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_elasticnet_reaches_elasticnets_objective_and_zero_set(diabetes, optimizer):
    X, y = diabetes
    alpha, l1_ratio = 0.08, 0.5
    reference_model = ElasticNet(
        alpha=alpha, l1_ratio=l1_ratio, tol=1e-12, max_iter=100_000
    ).fit(X, y)
    est = fit_full_batch(
        X, y, optimizer, penalty="elasticnet", alpha=alpha, l1_ratio=l1_ratio
    )
    ours = squared_error_objective(X, y, est.coef_, est.intercept_, alpha, l1_ratio)
    reference = squared_error_objective(
        X, y, reference_model.coef_, reference_model.intercept_, alpha, l1_ratio
    )
    assert ours <= reference * 1.005
    np.testing.assert_array_equal(
        np.flatnonzero(est.coef_ == 0), np.flatnonzero(reference_model.coef_ == 0)
    )
