"""Bad input and bad hyperparameters are refused with a ValueError that names the
problem, and a refused (or failed) call leaves a fitted estimator as it was."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from _fitting import fit_quietly
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skfit import GDClassifier, GDRegressor
from skfit.callbacks import Callback

ESTIMATORS = [GDRegressor, GDClassifier]


def partial_fit(estimator, X, y, **kwargs):
    if isinstance(estimator, GDClassifier) and not hasattr(estimator, "classes_"):
        kwargs.setdefault("classes", np.unique(y))
    return estimator.partial_fit(X, y, **kwargs)


# ---------------------------------------------------------------- bad data
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("value", "match"), [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_non_finite_X_is_refused(Estimator, iris, value, match, method):
    X, y = iris
    X = X.copy()
    X[7, 2] = value
    est = Estimator()
    with pytest.raises(ValueError, match=match):
        if method == "fit":
            est.fit(X, y)
        else:
            partial_fit(est, X, y)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_non_finite_sparse_X_is_refused(Estimator, iris):
    X, y = iris
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator().fit(sp.csr_matrix(X), y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_non_finite_X_at_predict_is_refused(Estimator, iris):
    X, y = iris
    est = fit_quietly(Estimator(max_epochs=2), X, y)
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.predict(X_bad)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(("value", "match"), [(np.inf, "infinity"), (np.nan, "NaN")])
def test_non_finite_y_is_refused(Estimator, iris, value, match):
    X, y = iris
    y = y.astype(float)
    y[5] = value
    with pytest.raises(ValueError, match=match):
        Estimator().fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_one_dimensional_X_is_refused(Estimator, iris):
    X, y = iris
    with pytest.raises(ValueError, match="2D|2-dimensional|reshape"):
        Estimator().fit(X[:, 0], y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_three_dimensional_X_is_refused(Estimator, iris):
    X, y = iris
    with pytest.raises(ValueError, match="dim 3"):
        Estimator().fit(X[:, :, np.newaxis], y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_one_dimensional_X_at_predict_is_refused(Estimator, iris):
    X, y = iris
    est = fit_quietly(Estimator(max_epochs=2), X, y)
    with pytest.raises(ValueError, match="2D|2-dimensional|reshape"):
        est.predict(X[0])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_inconsistent_lengths_are_refused(Estimator, iris, method):
    X, y = iris
    est = Estimator()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        if method == "fit":
            est.fit(X, y[:-1])
        else:
            partial_fit(est, X[:-3], y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_inconsistent_sample_weight_length_is_refused(Estimator, iris):
    X, y = iris
    with pytest.raises(ValueError, match="sample_weight|shape"):
        Estimator().fit(X, y, sample_weight=np.ones(len(y) - 1))


def test_empty_X_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="0 sample"):
        GDRegressor().fit(X[:0], y[:0])


def test_single_class_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="class"):
        GDClassifier().fit(X[y == 0], y[y == 0])


def test_single_class_with_nonzero_weight_is_refused(iris):
    X, y = iris
    weights = (y == 1).astype(float)
    with pytest.raises(ValueError, match="class"):
        GDClassifier().fit(X, y, sample_weight=weights)


def test_single_class_in_partial_fit_classes_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="class"):
        GDClassifier().partial_fit(X[y == 0], y[y == 0], classes=[0])


def test_continuous_target_for_classifier_is_refused(iris):
    X, _ = iris
    y = np.linspace(0, 1, len(X))
    with pytest.raises(ValueError, match="[Uu]nknown label type|continuous"):
        GDClassifier().fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_negative_sample_weights_are_refused(Estimator, iris, method):
    X, y = iris
    weights = np.ones(len(y))
    weights[10] = -1.0
    est = Estimator()
    with pytest.raises(ValueError, match="[Nn]egative"):
        if method == "fit":
            est.fit(X, y, sample_weight=weights)
        else:
            partial_fit(est, X, y, sample_weight=weights)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_all_zero_sample_weights_are_refused(Estimator, iris, method):
    X, y = iris
    est = Estimator()
    with pytest.raises(ValueError, match="zero"):
        if method == "fit":
            est.fit(X, y, sample_weight=np.zeros(len(y)))
        else:
            partial_fit(est, X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_non_finite_sample_weights_are_refused(Estimator, iris):
    X, y = iris
    weights = np.ones(len(y))
    weights[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator().fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["predict", "score", "partial_fit"])
def test_changed_feature_count_is_refused(Estimator, iris, method):
    X, y = iris
    est = fit_quietly(Estimator(max_epochs=2), X, y)
    X_small = X[:, :3]
    with pytest.raises(ValueError, match="3 features.*expecting 4|features"):
        if method == "predict":
            est.predict(X_small)
        elif method == "score":
            est.score(X_small, y)
        else:
            est.partial_fit(X_small, y)


def test_changed_feature_count_at_decision_function_and_proba(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=2), X, y)
    for method in (est.decision_function, est.predict_proba, est.predict_log_proba):
        with pytest.raises(ValueError, match="features"):
            method(X[:, :2])


def test_changed_feature_count_between_partial_fits_is_refused(iris):
    X, y = iris
    est = GDRegressor()
    est.partial_fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(np.c_[X, X], y)


def test_partial_fit_with_other_classes_is_refused(iris):
    X, y = iris
    est = GDClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_unknown_loss_name_is_refused(iris):
    """A loss name that does not exist is an InvalidParameterError."""
    X, y = iris
    with pytest.raises(InvalidParameterError, match="loss"):
        GDRegressor(loss="no_such_loss").fit(X, y)


# ---------------------------------------------------------------- hyperparameters
BAD_PARAMETERS = [
    ("learning_rate", 0),
    ("learning_rate", -0.1),
    ("batch_size", 0),
    ("batch_size", 2.5),
    ("max_epochs", 0),
    ("penalty", "bogus"),
    ("alpha", -1.0),
    ("l1_ratio", 1.5),
    ("validation_fraction", 1.5),
    ("validation_fraction", 0.0),
    ("tol", -1e-3),
    ("n_iter_no_change", 0),
    ("optimizer", "bogus"),
    ("schedule", "bogus"),
    ("spike_policy", "bogus"),
    ("early_stopping", "yes"),
]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(("name", "value"), BAD_PARAMETERS)
def test_out_of_range_hyperparameters_are_refused(Estimator, iris, name, value):
    X, y = iris
    est = Estimator(**{name: value})
    with pytest.raises(InvalidParameterError, match=name) as info:
        est.fit(X, y)
    assert isinstance(info.value, ValueError)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("name", "value"), [("learning_rate", 0), ("batch_size", 0), ("penalty", "x")]
)
def test_partial_fit_validates_hyperparameters(Estimator, iris, name, value):
    X, y = iris
    with pytest.raises(InvalidParameterError, match=name):
        partial_fit(Estimator(**{name: value}), X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("name", "value"), [("learning_rate", -1.0), ("batch_size", 0)]
)
def test_partial_fit_on_a_fitted_estimator_validates_hyperparameters(
    Estimator, iris, name, value
):
    """scikit-learn's _fit_context skips validation in partial_fit once fitted; the
    contract still promises InvalidParameterError for out-of-range values (a
    negative rate would otherwise silently ascend the loss)."""
    X, y = iris
    est = partial_fit(Estimator(random_state=0), X, y)
    before = snapshot(est, X)
    est.set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=name):
        est.partial_fit(X, y)
    assert_same_state(before, snapshot(est, X))


def test_bad_class_weight_is_refused(iris):
    X, y = iris
    with pytest.raises(InvalidParameterError, match="class_weight"):
        GDClassifier(class_weight="heavy").fit(X, y)


# ---------------------------------------------------------------- not fitted
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_predict_before_fit_raises_not_fitted(Estimator, iris):
    X, y = iris
    est = Estimator()
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(NotFittedError):
        est.score(X, y)
    for attribute in ("coef_", "history_", "n_epochs_", "t_", "loss_curve_"):
        assert not hasattr(est, attribute), attribute


def test_classifier_methods_before_fit_raise_not_fitted(iris):
    X, _ = iris
    est = GDClassifier()
    for method in (est.decision_function, est.predict_proba, est.predict_log_proba):
        with pytest.raises(NotFittedError):
            method(X)


# ---------------------------------------------------------------- nothing half-way
def snapshot(est, X):
    return {
        "coef_": est.coef_.copy(),
        "intercept_": est.intercept_.copy(),
        "history": [dict(record) for record in est.history_],
        "batch_loss": est.history_.batch_loss.copy(),
        "n_features_in_": est.n_features_in_,
        "n_epochs_": est.n_epochs_,
        "t_": est.t_,
        "stop_reason_": est.stop_reason_,
        "classes_": copy.copy(getattr(est, "classes_", None)),
        "prediction": est.predict(X),
    }


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key in before:
        a, b = before[key], after[key]
        if key == "history":
            assert len(a) == len(b)
            for ra, rb in zip(a, b, strict=True):
                assert ra.keys() == rb.keys()
                for k in ra:
                    assert ra[k] == rb[k] or (ra[k] != ra[k] and rb[k] != rb[k]), k
        elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert_array_equal(a, b, err_msg=key)
        else:
            assert a == b, key


def _nan_X(X):
    X = X.copy()
    X[0, 0] = np.nan
    return X


class FailAtEpoch(Callback):
    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, estimator, record):
        if record["epoch"] >= self.epoch:
            raise RuntimeError("callback failed")


REFUSED_CALLS = {
    "fit_nan": lambda est, X, y: est.fit(_nan_X(X), y),
    "warm_fit_nan": lambda est, X, y: est.set_params(warm_start=True).fit(_nan_X(X), y),
    "fit_single_class": lambda est, X, y: est.fit(X[y == 0], y[y == 0]),
    "warm_fit_single_class": lambda est, X, y: est.set_params(warm_start=True).fit(
        X[y == 0], y[y == 0]
    ),
    "warm_fit_wrong_features": lambda est, X, y: est.set_params(warm_start=True).fit(
        X[:, :3], y
    ),
    "warm_fit_new_class": lambda est, X, y: est.set_params(warm_start=True).fit(
        X, np.where(y == 2, 7, y)
    ),
    "fit_zero_weights": lambda est, X, y: est.fit(X, y, sample_weight=np.zeros(len(y))),
    "fit_bad_hyperparameter": lambda est, X, y: est.set_params(learning_rate=0).fit(
        X, y
    ),
    "partial_fit_nan": lambda est, X, y: est.partial_fit(_nan_X(X), y),
    "partial_fit_wrong_features": lambda est, X, y: est.partial_fit(X[:, :3], y),
    "partial_fit_unknown_label": lambda est, X, y: est.partial_fit(
        X, np.where(y == 2, 7, y)
    ),
    "partial_fit_negative_weight": lambda est, X, y: est.partial_fit(
        X, y, sample_weight=-np.ones(len(y))
    ),
}
SINGLE_CLASS_CALLS = {"fit_single_class", "warm_fit_single_class"}


@pytest.mark.parametrize("call", sorted(REFUSED_CALLS))
def test_refused_call_leaves_the_classifier_unchanged(iris, call):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=4, tol=None, random_state=0), X, y)
    before = snapshot(est, X)
    with pytest.raises(ValueError):
        REFUSED_CALLS[call](est, X, y)
    assert_same_state(before, snapshot(est, X))


@pytest.mark.parametrize(
    "call",
    sorted(
        set(REFUSED_CALLS)
        - SINGLE_CLASS_CALLS
        - {"warm_fit_new_class", "partial_fit_unknown_label"}
    ),
)
def test_refused_call_leaves_the_regressor_unchanged(iris, call):
    X, y = iris
    est = fit_quietly(GDRegressor(max_epochs=4, tol=None, random_state=0), X, y)
    before = snapshot(est, X)
    with pytest.raises(ValueError):
        REFUSED_CALLS[call](est, X, y)
    assert_same_state(before, snapshot(est, X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_refused_first_call_leaves_the_estimator_unfitted(Estimator, iris):
    X, y = iris
    est = Estimator()
    with pytest.raises(ValueError):
        partial_fit(est, _nan_X(X), y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    # It then fits normally.
    partial_fit(est, X, y)
    assert est.n_epochs_ == 1


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("warm_start", [False, True])
def test_failed_fit_leaves_the_estimator_as_it_was(Estimator, iris, warm_start):
    """An error raised during training (here by a callback) is not half a fit."""
    X, y = iris
    est = fit_quietly(Estimator(max_epochs=4, tol=None, random_state=0), X, y)
    before = snapshot(est, X)
    est.set_params(warm_start=warm_start, callbacks=[FailAtEpoch(2)])
    with pytest.raises(RuntimeError, match="callback failed"):
        est.fit(X, y)
    assert_same_state(before, snapshot(est, X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_failed_partial_fit_leaves_the_estimator_as_it_was(Estimator, iris):
    X, y = iris
    est = fit_quietly(Estimator(max_epochs=4, tol=None, random_state=0), X, y)
    before = snapshot(est, X)
    est.set_params(callbacks=[FailAtEpoch(1)])
    with pytest.raises(RuntimeError, match="callback failed"):
        est.partial_fit(X, y)
    assert_same_state(before, snapshot(est, X))
    # and training still continues correctly afterwards
    est.set_params(callbacks=None)
    est.partial_fit(X, y)
    assert est.n_epochs_ == 5
    assert_array_equal(est.history_["epoch"], [1, 2, 3, 4, 5])
