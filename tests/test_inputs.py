"""Input handling: sparse and dense data, dtypes, sample and class weights, pandas,
labels and output shapes, partial_fit and warm_start continuation."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _fitting import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.utils.class_weight import compute_class_weight

from skfit import GDClassifier, GDRegressor


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, class_sep=2.0, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def regression():
    return make_regression(n_samples=200, n_features=6, noise=1.0, random_state=0)


def sparsify(X, seed=0):
    """X with about half its entries zeroed, dense and CSR."""
    mask = np.random.RandomState(seed).rand(*X.shape) < 0.5
    dense = np.where(mask, 0.0, X)
    return dense, sp.csr_matrix(dense)


# ---------------------------------------------------------------- sparse
@pytest.mark.parametrize("batch_size", [None, 16])
def test_dense_and_csr_give_the_same_regressor(regression, batch_size):
    X, y = regression
    dense, csr = sparsify(X)
    # A sparse mini-batch moves only its features' weights: the dense update for
    # plain SGD without a penalty; a full batch is the dense update for any.
    params = {
        "batch_size": batch_size,
        "max_epochs": 15,
        "tol": None,
        "random_state": 0,
        **({} if batch_size is None else {"optimizer": "sgd", "penalty": None}),
    }
    a = fit_quietly(GDRegressor(**params), dense, y)
    b = fit_quietly(GDRegressor(**params), csr, y)
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-9)
    assert_allclose(a.predict(dense), b.predict(csr), rtol=1e-6, atol=1e-9)
    assert_allclose(a.predict(csr), a.predict(dense), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_dense_and_csr_give_the_same_classifier(iris, batch_size):
    X, y = iris
    dense, csr = sparsify(X)
    # A sparse mini-batch moves only its features' weights: the dense update for
    # plain SGD without a penalty; a full batch is the dense update for any.
    params = {
        "batch_size": batch_size,
        "max_epochs": 15,
        "tol": None,
        "random_state": 0,
        **({} if batch_size is None else {"optimizer": "sgd", "penalty": None}),
    }
    a = fit_quietly(GDClassifier(**params), dense, y)
    b = fit_quietly(GDClassifier(**params), csr, y)
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(a.predict_proba(dense), b.predict_proba(csr), rtol=1e-6)
    assert_array_equal(a.predict(dense), b.predict(csr))


def test_csr_input_is_not_modified(iris):
    X, y = iris
    _, csr = sparsify(X)
    before = csr.copy()
    fit_quietly(GDClassifier(max_epochs=3, random_state=0), csr, y)
    assert (csr != before).nnz == 0


def test_dense_input_is_not_modified(regression):
    X, y = regression
    X_before, y_before = X.copy(), y.copy()
    weights = np.linspace(0.5, 2, len(y))
    w_before = weights.copy()
    fit_quietly(GDRegressor(max_epochs=3, random_state=0), X, y, sample_weight=weights)
    assert_array_equal(X, X_before)
    assert_array_equal(y, y_before)
    assert_array_equal(weights, w_before)


# ---------------------------------------------------------------- float32
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_float32_regressor_stays_float32(regression, container):
    X, y = regression
    X32 = container(X.astype(np.float32))
    est = fit_quietly(GDRegressor(max_epochs=5, random_state=0), X32, y)
    assert est.coef_.dtype == np.float32
    assert est.intercept_.dtype == np.float32
    assert est.predict(X32).dtype == np.float32
    # float64 input to a float32 model: the model keeps its dtype.
    assert est.predict(X).dtype == np.float32
    assert np.all(np.isfinite(est.history_["loss"]))


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_float32_classifier_stays_float32(iris, container):
    X, y = iris
    X32 = container(X.astype(np.float32))
    est = fit_quietly(GDClassifier(max_epochs=5, random_state=0), X32, y)
    assert est.coef_.dtype == np.float32
    assert est.intercept_.dtype == np.float32
    assert est.decision_function(X32).dtype == np.float32
    assert est.predict_proba(X32).dtype == np.float32
    assert_allclose(est.predict_proba(X32).sum(axis=1), 1.0, rtol=1e-5)


def test_float32_binary_classifier_stays_float32(binary):
    X, y = binary
    X32 = X.astype(np.float32)
    est = fit_quietly(GDClassifier(max_epochs=5, random_state=0), X32, y)
    assert est.coef_.dtype == np.float32
    assert est.decision_function(X32).dtype == np.float32
    assert est.predict_proba(X32).dtype == np.float32


def test_float32_model_stays_float32_when_continued_on_float64(regression):
    X, y = regression
    est = fit_quietly(
        GDRegressor(max_epochs=3, random_state=0), X.astype(np.float32), y
    )
    est.partial_fit(X, y)
    assert est.coef_.dtype == np.float32
    fit_quietly(est.set_params(warm_start=True), X, y)
    assert est.coef_.dtype == np.float32
    assert est.n_epochs_ == 3 + 1 + 3


# ---------------------------------------------------------------- sample_weight
@pytest.mark.parametrize(
    ("Estimator", "data"), [(GDRegressor, "regression"), (GDClassifier, "iris")]
)
def test_zero_weights_equal_dropping_rows_full_batch(Estimator, data, request):
    X, y = request.getfixturevalue(data)
    rng = np.random.RandomState(0)
    keep = rng.rand(len(y)) < 0.7
    weights = keep.astype(float)
    params = {"batch_size": None, "max_epochs": 30, "tol": None, "random_state": 0}
    a = fit_quietly(Estimator(**params), X, y, sample_weight=weights)
    b = fit_quietly(Estimator(**params), X[keep], y[keep])
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_integer_weights_equal_repeated_rows_full_batch(regression, optimizer):
    X, y = regression
    weights = np.random.RandomState(1).randint(0, 4, size=len(y))
    params = {
        "batch_size": None,
        "optimizer": optimizer,
        "max_epochs": 20,
        "tol": None,
        "random_state": 0,
    }
    a = fit_quietly(GDRegressor(**params), X, y, sample_weight=weights)
    b = fit_quietly(
        GDRegressor(**params), np.repeat(X, weights, 0), np.repeat(y, weights)
    )
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)


def test_sample_weight_changes_the_fit(regression):
    X, y = regression
    params = {"batch_size": None, "max_epochs": 10, "tol": None, "random_state": 0}
    weights = np.linspace(0.1, 3.0, len(y))
    a = fit_quietly(GDRegressor(**params), X, y, sample_weight=weights)
    b = fit_quietly(GDRegressor(**params), X, y)
    assert not np.allclose(a.coef_, b.coef_)


def test_uniform_weights_change_nothing(iris):
    # At a given alpha only the weights' ratios matter ("auto" reads their total).
    X, y = iris
    params = {
        "alpha": 1e-3,
        "batch_size": 16,
        "max_epochs": 10,
        "tol": None,
        "random_state": 0,
    }
    a = fit_quietly(GDClassifier(**params), X, y, sample_weight=np.full(len(y), 3.0))
    b = fit_quietly(GDClassifier(**params), X, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-9, atol=1e-12)
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)


# ---------------------------------------------------------------- class_weight
@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(
        n_samples=200,
        n_features=5,
        n_informative=2,
        weights=[0.8, 0.2],
        class_sep=0.5,
        flip_y=0.05,
        random_state=0,
    )
    return X, y


def test_balanced_class_weight_equals_the_explicit_dict(imbalanced):
    X, y = imbalanced
    classes = np.unique(y)
    weights = compute_class_weight("balanced", classes=classes, y=y)
    explicit = dict(zip(classes.tolist(), weights.tolist(), strict=True))
    params = {"batch_size": 16, "max_epochs": 10, "tol": None, "random_state": 0}
    a = fit_quietly(GDClassifier(class_weight="balanced", **params), X, y)
    b = fit_quietly(GDClassifier(class_weight=explicit, **params), X, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-12)
    c = fit_quietly(GDClassifier(**params), X, y)
    assert not np.allclose(a.coef_, c.coef_)


def test_balanced_class_weight_multiclass(iris):
    X, y = iris
    keep = np.r_[0:50, 50:70, 100:150]  # unbalance iris
    X, y = X[keep], y[keep]
    classes = np.unique(y)
    weights = compute_class_weight("balanced", classes=classes, y=y)
    explicit = dict(zip(classes.tolist(), weights.tolist(), strict=True))
    params = {"batch_size": None, "max_epochs": 10, "tol": None, "random_state": 0}
    a = fit_quietly(GDClassifier(class_weight="balanced", **params), X, y)
    b = fit_quietly(GDClassifier(class_weight=explicit, **params), X, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-12)


def test_class_weight_equals_sample_weight_full_batch(imbalanced):
    X, y = imbalanced
    params = {"batch_size": None, "max_epochs": 20, "tol": None, "random_state": 0}
    a = fit_quietly(GDClassifier(class_weight={0: 1.0, 1: 4.0}, **params), X, y)
    b = fit_quietly(
        GDClassifier(**params), X, y, sample_weight=np.where(y == 1, 4.0, 1.0)
    )
    assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_class_weight_shifts_predictions_toward_the_heavy_class(imbalanced):
    X, y = imbalanced
    params = {"max_epochs": 40, "random_state": 0}
    plain = fit_quietly(GDClassifier(**params), X, y)
    heavy = fit_quietly(GDClassifier(class_weight={0: 1.0, 1: 10.0}, **params), X, y)
    assert (heavy.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()
    light = fit_quietly(GDClassifier(class_weight={0: 10.0, 1: 1.0}, **params), X, y)
    assert (light.predict(X) == 1).sum() < (plain.predict(X) == 1).sum()


# ---------------------------------------------------------------- pandas
def test_dataframe_sets_feature_names_in(iris):
    X, y = iris
    columns = ["sepal_l", "sepal_w", "petal_l", "petal_w"]
    frame = pd.DataFrame(X, columns=columns)
    est = fit_quietly(GDClassifier(max_epochs=3, random_state=0), frame, y)
    assert_array_equal(est.feature_names_in_, columns)
    assert est.n_features_in_ == 4
    # Same names: no warning, same predictions as the array.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_frame = est.predict(frame)
    with pytest.warns(UserWarning, match="feature names"):
        by_array = est.predict(X)
    assert_array_equal(by_frame, by_array)


def test_dataframe_with_other_column_names_is_flagged(iris):
    """scikit-learn >= 1.2 refuses other column names with a ValueError that names
    the feature names (earlier versions warned)."""
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = fit_quietly(GDRegressor(max_epochs=3, random_state=0), frame, y)
    other = pd.DataFrame(X, columns=["a", "b", "c", "z"])
    with pytest.raises(ValueError, match="feature names"):
        est.predict(other)
    reordered = frame[["d", "c", "b", "a"]]
    with pytest.raises(ValueError, match="feature names"):
        est.predict(reordered)


def test_array_fit_has_no_feature_names(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=3, random_state=0), X, y)
    assert not hasattr(est, "feature_names_in_")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(frame)


def test_pandas_target_and_weights(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=list("abcd"))
    weights = np.linspace(0.5, 2.0, len(y))
    est = fit_quietly(
        GDClassifier(max_epochs=3, random_state=0),
        frame,
        pd.Series(y),
        sample_weight=pd.Series(weights),
    )
    # They train as the arrays they hold.
    arrays = fit_quietly(
        GDClassifier(max_epochs=3, random_state=0), X, y, sample_weight=weights
    )
    assert_array_equal(est.coef_, arrays.coef_)
    assert_array_equal(est.predict(frame), arrays.predict(X))


# ---------------------------------------------------------------- labels
def test_string_class_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    labels = names[y]
    est = fit_quietly(GDClassifier(max_epochs=30, random_state=0), X, labels)
    assert_array_equal(est.classes_, names)
    predicted = est.predict(X)
    assert predicted.dtype.kind in "UO"
    assert set(predicted) <= set(names)
    assert np.mean(predicted == labels) > 0.85
    proba = est.predict_proba(X)
    assert proba.shape == (150, 3)
    # Columns follow classes_: the most probable column names the prediction...
    assert_array_equal(est.classes_[proba.argmax(axis=1)], predicted)
    # ...and each class's rows have their highest mean probability in its column.
    for j, name in enumerate(names):
        assert proba[labels == name].mean(axis=0).argmax() == j


def test_string_labels_are_sorted_and_binary_columns_follow_classes(binary):
    X, y = binary
    labels = np.where(y == 1, "apple", "zebra")  # class 1 sorts first
    est = fit_quietly(GDClassifier(max_epochs=30, random_state=0), X, labels)
    assert_array_equal(est.classes_, ["apple", "zebra"])
    proba = est.predict_proba(X)
    predicted = est.predict(X)
    assert_array_equal(np.where(proba[:, 1] > 0.5, "zebra", "apple"), predicted)
    assert_array_equal(
        np.where(est.decision_function(X) > 0, "zebra", "apple"), predicted
    )
    assert np.mean(predicted == labels) > 0.8
    assert proba[labels == "zebra", 1].mean() > proba[labels == "apple", 1].mean()


def test_non_contiguous_integer_labels(iris):
    X, y = iris
    labels = np.array([-5, 3, 10])[y]
    est = fit_quietly(GDClassifier(max_epochs=30, random_state=0), X, labels)
    assert_array_equal(est.classes_, [-5, 3, 10])
    assert np.mean(est.predict(X) == labels) > 0.85


# ---------------------------------------------------------------- shapes
def test_binary_coef_shape(binary):
    X, y = binary
    est = fit_quietly(GDClassifier(max_epochs=5, random_state=0), X, y)
    assert est.coef_.shape == (1, X.shape[1])
    assert est.intercept_.shape == (1,)
    assert est.decision_function(X).shape == (len(y),)
    assert est.predict_proba(X).shape == (len(y), 2)
    assert est.predict_log_proba(X).shape == (len(y), 2)
    # The decision function is the linear model.
    assert_allclose(
        est.decision_function(X), X @ est.coef_[0] + est.intercept_[0], rtol=1e-10
    )


def test_multiclass_coef_shape(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=5, random_state=0), X, y)
    assert est.coef_.shape == (3, 4)
    assert est.intercept_.shape == (3,)
    assert est.decision_function(X).shape == (150, 3)
    assert_allclose(
        est.decision_function(X), X @ est.coef_.T + est.intercept_, rtol=1e-10
    )
    assert_allclose(np.exp(est.predict_log_proba(X)), est.predict_proba(X), rtol=1e-10)


def test_single_output_regressor_shapes(regression):
    X, y = regression
    est = fit_quietly(GDRegressor(max_epochs=5, random_state=0), X, y)
    assert est.coef_.shape == (X.shape[1],)
    assert est.intercept_.shape == (1,)
    assert est.predict(X).shape == (len(y),)
    assert_allclose(est.predict(X), X @ est.coef_ + est.intercept_, rtol=1e-10)


def test_multi_output_regressor():
    X, Y = make_regression(
        n_samples=150, n_features=4, n_targets=3, noise=0.5, random_state=0
    )
    est = fit_quietly(GDRegressor(learning_rate=0.1, random_state=0), X, Y)
    assert est.coef_.shape == (3, 4)
    assert est.intercept_.shape == (3,)
    prediction = est.predict(X)
    assert prediction.shape == (150, 3)
    assert_allclose(prediction, X @ est.coef_.T + est.intercept_, rtol=1e-10)
    assert est.score(X, Y) > 0.99
    # One joint fit with one history (its optimum is Ridge's on each column:
    # test_compiled_references.py).
    assert est.history_["loss"].shape == (est.n_epochs_,)


# ---------------------------------------------------------------- partial_fit
def test_classifier_partial_fit_requires_classes_first(iris):
    X, y = iris
    est = GDClassifier()
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y)
    assert not hasattr(est, "classes_")
    est.partial_fit(X, y, classes=[0, 1, 2])
    assert_array_equal(est.classes_, [0, 1, 2])


def test_classifier_partial_fit_rejects_unknown_labels(iris):
    X, y = iris
    est = GDClassifier(random_state=0)
    est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"2"):
        est.partial_fit(X, y)
    assert est.n_epochs_ == 1


def test_classifier_partial_fit_with_fewer_classes_in_a_batch(iris):
    X, y = iris
    est = GDClassifier(random_state=0)
    est.partial_fit(X[:60], y[:60], classes=[0, 1, 2])  # classes 0 and 1 only
    est.partial_fit(X[100:], y[100:])  # class 2 only
    assert est.coef_.shape == (3, 4)
    assert est.n_epochs_ == 2


def test_partial_fit_refuses_balanced_class_weight(iris):
    X, y = iris
    with pytest.raises(ValueError, match="balanced"):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_each_partial_fit_call_is_one_epoch(Estimator, iris):
    X, y = iris
    est = Estimator(batch_size=16, random_state=0)
    extra = {"classes": np.unique(y)} if Estimator is GDClassifier else {}
    per_epoch = math.ceil(150 / 16)
    for call in range(1, 5):
        est.partial_fit(X, y, **extra)
        assert est.n_epochs_ == est.n_iter_ == len(est.history_) == call
        assert_array_equal(est.history_["epoch"], np.arange(1, call + 1))
        assert est.t_ == call * per_epoch
        assert len(est.history_.batch_loss) == call * per_epoch
    # Training progresses over the calls.
    losses = est.history_["loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("n_rows", [50, 37, 16, 1])
def test_t_counts_updates_per_partial_fit(iris, n_rows):
    X, y = iris
    est = GDRegressor(batch_size=16, random_state=0)
    est.partial_fit(X[:n_rows], y[:n_rows])
    est.partial_fit(X[:n_rows], y[:n_rows])
    assert est.t_ == 2 * math.ceil(n_rows / 16)


def test_partial_fit_has_no_validation_or_stopping(iris):
    X, y = iris
    est = GDClassifier(
        early_stopping=True,
        validation_fraction=0.3,
        loss_threshold=1e9,
        tol=1e9,
        batch_size=10,
        random_state=0,
    )
    est.partial_fit(X, y, classes=[0, 1, 2])
    assert np.isnan(est.history_["val_loss"][0])
    # All 150 rows trained: 15 batches of 10.
    assert est.t_ == 15
    est.partial_fit(X, y)
    assert est.n_epochs_ == 2


def test_partial_fit_continues_a_fit(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=4, tol=None, random_state=0), X, y)
    t = est.t_
    est.partial_fit(X, y)
    assert est.n_epochs_ == 5
    assert_array_equal(est.history_["epoch"], [1, 2, 3, 4, 5])
    assert est.t_ == t + math.ceil(150 / 32)


@pytest.mark.parametrize("batch_size", [None, 1, 7, 32, 1000])
def test_fit_t_counts_ceil_n_over_batch_size_per_epoch(iris, batch_size):
    X, y = iris
    est = fit_quietly(
        GDClassifier(batch_size=batch_size, max_epochs=3, tol=None, random_state=0),
        X,
        y,
    )
    per_epoch = 1 if batch_size is None else math.ceil(150 / batch_size)
    assert est.t_ == 3 * per_epoch


# ---------------------------------------------------------------- warm_start
@pytest.mark.parametrize(
    ("Estimator", "data"), [(GDRegressor, "regression"), (GDClassifier, "iris")]
)
def test_warm_start_continues_exactly(Estimator, data, request):
    """Full batch, no shuffling: 5 + 5 warm-started epochs are the 10 epochs of
    one fit (same parameters, optimizer state and loss)."""
    X, y = request.getfixturevalue(data)
    params = {"batch_size": None, "shuffle": False, "tol": None, "random_state": 0}
    est = fit_quietly(Estimator(max_epochs=5, **params), X, y)
    first = est.history_["loss"].copy()
    est.set_params(warm_start=True)
    fit_quietly(est, X, y)
    assert est.n_epochs_ == est.n_iter_ == len(est.history_) == 10
    assert_array_equal(est.history_["epoch"], np.arange(1, 11))
    assert_array_equal(est.history_["loss"][:5], first)
    assert est.t_ == 10

    whole = fit_quietly(Estimator(max_epochs=10, **params), X, y)
    assert_allclose(est.history_["loss"], whole.history_["loss"], rtol=1e-10)
    assert_allclose(est.coef_, whole.coef_, rtol=1e-10, atol=1e-14)
    assert_allclose(est.intercept_, whole.intercept_, rtol=1e-10, atol=1e-14)


def test_warm_start_mini_batch_continues_from_where_it_was(regression):
    X, y = regression
    y = (y - y.mean()) / y.std()
    params = {"tol": None, "learning_rate": 0.1, "shuffle": False, "random_state": 0}
    est = fit_quietly(GDRegressor(max_epochs=30, **params), X, y)
    coef, intercept = est.coef_.copy(), est.intercept_.copy()
    est.set_params(warm_start=True, max_epochs=3)
    fit_quietly(est, X, y)
    assert est.n_epochs_ == 33
    # The continued fit's first batch (rows 0-31, unshuffled) is scored before its
    # update, at the parameters the first fit ended with.
    residual = X[:32] @ coef + intercept - y[:32]
    expected = 0.5 * np.mean(residual**2) + 0.5 * est.alpha_ * coef @ coef
    assert_allclose(est.history_.batch_loss[30 * 7], expected, rtol=1e-6)
    # The optimizer's moments continue too: 30 + 3 epochs are one fit of 33.
    whole = fit_quietly(GDRegressor(max_epochs=33, **params), X, y)
    assert_allclose(est.coef_, whole.coef_, rtol=1e-12)
    assert_allclose(est.history_["loss"], whole.history_["loss"], rtol=1e-12)


def test_warm_start_with_a_changed_feature_count_is_refused(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=3, warm_start=True), X, y)
    with pytest.raises(ValueError, match="features"):
        est.fit(X[:, :3], y)
    assert est.n_features_in_ == 4
    assert est.n_epochs_ == 3


def test_warm_start_with_a_new_class_is_refused(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=3, warm_start=True), X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="class|label"):
        est.fit(X, y)
    assert_array_equal(est.classes_, [0, 1])
    assert est.coef_.shape == (1, 4)
    assert est.n_epochs_ == 3


def test_warm_start_with_fewer_classes_is_refused(iris):
    """DESIGN: with warm_start, 'a changed set of classes ... is a clear error'
    (scikit-learn's MLPClassifier refuses it too); partial_fit, a stream, allows a
    batch to lack classes."""
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=3, warm_start=True), X, y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="class"):
        est.fit(X[y < 2], y[y < 2])
    assert_array_equal(est.coef_, coef)
    assert est.n_epochs_ == 3


def test_warm_start_with_other_output_count_is_refused(regression):
    X, y = regression
    est = fit_quietly(GDRegressor(max_epochs=3, warm_start=True), X, y)
    with pytest.raises(ValueError, match="output"):
        est.fit(X, np.c_[y, y])
    assert est.coef_.shape == (X.shape[1],)


def test_fit_without_warm_start_starts_afresh(iris):
    X, y = iris
    params = {"max_epochs": 5, "tol": None, "random_state": 0}
    est = fit_quietly(GDClassifier(**params), X, y)
    coef, history = est.coef_.copy(), est.history_["loss"].copy()
    fit_quietly(est, X, y)
    assert est.n_epochs_ == 5
    assert est.t_ == 5 * math.ceil(150 / 32)
    assert_array_equal(est.history_["epoch"], np.arange(1, 6))
    assert_array_equal(est.history_["loss"], history)
    assert_array_equal(est.coef_, coef)
    # A new feature count or class set is fine when starting afresh.
    fit_quietly(est, X[y < 2, :3], y[y < 2])
    assert est.n_features_in_ == 3
    assert est.coef_.shape == (1, 3)
    assert_array_equal(est.classes_, [0, 1])


def test_warm_start_false_after_partial_fit_starts_afresh(regression):
    X, y = regression
    est = GDRegressor(random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    fit_quietly(est.set_params(max_epochs=2, tol=None), X, y)
    assert est.n_epochs_ == 2


def test_successive_partial_fit_calls_shuffle_differently_and_repeatably():
    X, y = make_regression(200, 5, noise=1.0, random_state=0)

    def batch_losses(seed):
        # A negligible step keeps the parameters still, so each epoch's batch
        # losses depend only on which rows each batch holds.
        est = GDRegressor(
            optimizer="sgd", learning_rate=1e-300, batch_size=10, random_state=seed
        )
        for _ in range(3):
            est.partial_fit(X, y)
        return est.history_.batch_loss.reshape(3, 20)

    losses = batch_losses(0)
    np.testing.assert_array_equal(losses, batch_losses(0))
    # Each call draws a new order from the generator the first call seeded.
    assert not np.array_equal(losses[0], losses[1])
    assert not np.array_equal(losses[1], losses[2])
    assert_allclose(losses[0].sum(), losses[1].sum(), rtol=1e-5)
