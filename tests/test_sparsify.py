"""sparsify / densify: coef_ shown as a sparse matrix of the non-zero weights."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError

from skfit import GDClassifier, GDRegressor


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_sparsify_shows_the_zeros_of_an_l1_fit_and_changes_nothing_else(Estimator):
    if Estimator is GDRegressor:
        X, y = make_regression(200, 20, n_informative=3, random_state=0)
        alpha = 1.0
    else:
        X, y = make_classification(200, 20, n_informative=3, random_state=0)
        alpha = 0.05
    est = Estimator(
        penalty="l1",
        alpha=alpha,
        batch_size=None,
        optimizer="sgd",
        learning_rate=0.01,
        tol=None,
        max_epochs=300,
    ).fit(X, y)
    dense = np.atleast_2d(est.coef_).copy()
    predictions = est.predict(X)
    assert 0 < np.count_nonzero(dense) < dense.size
    est.sparsify()
    assert sp.issparse(est.coef_)
    assert est.coef_.nnz == np.count_nonzero(dense)
    np.testing.assert_array_equal(est.coef_.toarray(), dense)
    np.testing.assert_array_equal(est.predict(X), predictions)
    est.densify()
    assert isinstance(est.coef_, np.ndarray)
    # A fresh fit shows coef_ dense again.
    est.sparsify().fit(X, y)
    assert isinstance(est.coef_, np.ndarray)


def test_sparsify_needs_a_fitted_estimator():
    with pytest.raises(NotFittedError):
        GDRegressor().sparsify()
