"""Same values, same bits: the input's memory layout changes no fitted parameter
(issue 13, item 12)."""

import numpy as np
import pytest
import scipy.sparse as sp
from _datasets import classification_data, regression_data
from numpy.testing import assert_array_equal
from sklearn.datasets import make_regression

from skfit import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skfit import _base as skfit_base
from skfit.callbacks import Callback

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def problem(Estimator):
    """Standardised rows and targets for a regressor or a binary classifier."""
    if Estimator in (GDRegressor, MLPRegressor):
        return regression_data(n_samples=120, noise=1.0, n_features=4)
    return classification_data(2, n_samples=120)


def layouts(X):
    """The same values as a C-ordered array, a Fortran-ordered one, a strided view
    and a DataFrame."""
    pd = pytest.importorskip("pandas")
    wide = np.zeros((2 * X.shape[0], 2 * X.shape[1]))
    wide[::2, ::2] = X
    return {
        "C": np.ascontiguousarray(X),
        "F": np.asfortranarray(X),
        "strided": wide[::2, ::2],
        "DataFrame": pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]),
    }


def fitted_values(est):
    history = est.history_.to_frame().drop(columns="duration")
    return est._state.network.flat, history


@pytest.mark.parametrize(
    "Estimator", [GDRegressor, GDClassifier, MLPRegressor, MLPClassifier]
)
@pytest.mark.parametrize(
    "settings", [{"batch_size": 16}, {"batch_size": None, "validation_fraction": 0.2}]
)
def test_the_input_layout_changes_no_bit(Estimator, settings):
    X, y = problem(Estimator)
    fitted = {}
    for name, X_layout in layouts(X).items():
        est = Estimator(max_epochs=5, random_state=0, **settings)
        if Estimator in (MLPRegressor, MLPClassifier):
            est.set_params(hidden_layer_sizes=(8,))
        fitted[name] = fitted_values(est.fit(X_layout, y))
    flat, history = fitted["C"]
    for name, (other_flat, other_history) in fitted.items():
        assert_array_equal(other_flat, flat, err_msg=name)
        assert other_history.equals(history), name


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_a_csr_matrix_with_unsorted_indices_trains_as_a_sorted_one(Estimator):
    X, y = make_regression(300, 40, random_state=0)
    X[np.abs(X) < 0.3] = 0
    ordered = sp.csr_matrix(X)
    # The same matrix with the entries of each row stored in reverse order.
    starts, stops = ordered.indptr[:-1], ordered.indptr[1:]
    reverse = np.concatenate(
        [
            np.arange(start, stop)[::-1]
            for start, stop in zip(starts, stops, strict=True)
        ]
    )
    shuffled = sp.csr_matrix(
        (ordered.data[reverse], ordered.indices[reverse], ordered.indptr), shape=X.shape
    )
    assert not shuffled.has_sorted_indices
    indices_before = shuffled.indices.copy()
    fits = [
        Estimator(max_epochs=5, random_state=0).fit(X_sparse, y)
        for X_sparse in (ordered, shuffled)
    ]
    assert_array_equal(fits[1]._state.network.flat, fits[0]._state.network.flat)
    assert_array_equal(shuffled.indices, indices_before)  # X is not modified


def test_a_c_ordered_X_is_trained_on_without_a_copy(monkeypatch):
    X, y = problem(GDRegressor)
    X = np.ascontiguousarray(X)
    seen = []
    original_train = skfit_base.train

    def train(state, data, config, estimator):
        seen.append(data.X)
        return original_train(state, data, config, estimator)

    monkeypatch.setattr(skfit_base, "train", train)
    GDRegressor(max_epochs=2).fit(X, y)
    assert seen[0] is X


class BatchObserver(Callback):
    """Counts the batches it hears of, and changes nothing."""

    def on_train_begin(self, estimator):
        self.n_batches = 0

    def on_batch_end(self, estimator, batch_record):
        self.n_batches += 1


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_an_observing_batch_callback_changes_no_bit_of_the_defaults(Estimator):
    # The defaults end in the quasi-Newton finish, whose steps the per-batch
    # callbacks hear of too: the same bits with and without one, in any layout.
    X, y = problem(Estimator)
    plain = Estimator(random_state=0).fit(X, y)
    assert np.isnan(plain.history_["learning_rate"]).any()  # the finish ran
    flat, history = fitted_values(plain)
    for name, X_layout in layouts(X).items():
        observer = BatchObserver()
        observed = Estimator(random_state=0, callbacks=[observer]).fit(X_layout, y)
        assert observer.n_batches == plain.history_["n_batches"].sum()
        other_flat, other_history = fitted_values(observed)
        assert_array_equal(other_flat, flat, err_msg=name)
        assert other_history.equals(history), name
