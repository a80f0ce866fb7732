"""skfit.onnx: skl2onnx converts every skfit estimator, and onnxruntime reproduces
its predictions, probabilities and decision functions to float32 rounding."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor

skl2onnx = pytest.importorskip(
    "skl2onnx", reason='the onnx extra is not installed: pip install "skfit[onnx]"'
)
ort = pytest.importorskip(
    "onnxruntime", reason='the onnx extra is not installed: pip install "skfit[onnx]"'
)

import skfit.onnx  # noqa: E402, F401  (registers the converters)

ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "gelu"]
REGRESSION_LOSSES = ["squared_error", "absolute_error", "huber", "epsilon_insensitive"]
MARGIN_LOSSES = ["hinge", "squared_hinge"]
PROBABILITY_LOSSES = ["log_loss", "modified_huber"]
#: float32 rounding of values of order one, after a few layers.
RTOL, ATOL = 1e-5, 1e-5
#: The linear models train in full batch here: the conversion is under test, not
#: the training loop, and a full batch trains through numpy rather than compile a
#: float32 variant of the epoch loop for each loss (several seconds each).
FULL_BATCH = {"batch_size": None}


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _session(model, X, **options):
    onx = skl2onnx.to_onnx(model, X[:1], **options)
    return ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _run(model, X, **options):
    session = _session(model, X, **options)
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(
        n_samples=300, n_features=4, n_targets=2, noise=1.0, random_state=0
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    y = (y / y.std(axis=0)).astype(np.float32)
    return X, y


def _classification(n_classes, seed=0):
    X, y = make_classification(
        n_samples=300,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _assert_labels(onnx_labels, estimator, X):
    """The labels agree, but for rows whose decision lies within rounding of a tie."""
    expected = estimator.predict(X)
    decision = estimator.decision_function(X)
    if decision.ndim == 1:
        margin = np.abs(decision)
    else:
        top = np.sort(decision, axis=1)
        margin = top[:, -1] - top[:, -2]
    clear = margin > 1e-4
    assert clear.mean() > 0.95
    assert_array_equal(np.asarray(onnx_labels).ravel()[clear], expected[clear])


# ------------------------------------------------------------------ regressors
@pytest.mark.parametrize("n_targets", [1, 2])
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_gd_regressor_every_loss_and_output(regression, loss, n_targets):
    X, Y = regression
    y = Y[:, 0] if n_targets == 1 else Y
    est = _fit(
        GDRegressor(loss=loss, max_epochs=30, random_state=0, **FULL_BATCH), X, y
    )
    (predictions,) = _run(est, X)
    assert predictions.shape == (len(X), n_targets)
    assert predictions.dtype == np.float32
    assert_allclose(predictions, est.predict(X).reshape(len(X), -1), RTOL, ATOL)


@pytest.mark.parametrize("estimator", [GDRegressor, MLPRegressor])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_poisson_predicts_the_exponential_mean(regression, estimator, n_targets):
    X, _ = regression
    rng = np.random.RandomState(0)
    mean = np.exp(0.5 * X[:, :n_targets] - 0.2 * X[:, 2:3])
    y = rng.poisson(mean).astype(np.float32)
    y = y[:, 0] if n_targets == 1 else y
    batch = FULL_BATCH if estimator is GDRegressor else {}
    est = _fit(estimator(loss="poisson", max_epochs=30, random_state=0, **batch), X, y)
    (predictions,) = _run(est, X)
    expected = est.predict(X).reshape(len(X), -1)
    assert np.all(expected > 0)
    assert_allclose(predictions, expected, RTOL, ATOL)
    # The exponential link, not the raw output: the means differ between rows by
    # factors far from one.
    assert expected.max() / expected.min() > 5


@pytest.mark.parametrize("estimator", [GDRegressor, MLPRegressor])
def test_regressors_predict_in_the_units_of_the_target(regression, estimator):
    # Trained in standardised units of the target, the regressors predict in the
    # user's: far from 0 and 1, so a graph of the standardised network would miss.
    X, Y = regression
    Y = 1000.0 + 5000.0 * Y
    est = _fit(estimator(max_epochs=30, random_state=0), X, Y)
    assert est._state.target_scaling.scale > 1000
    (predictions,) = _run(est, X)
    expected = est.predict(X)
    assert_allclose(predictions, expected, RTOL, ATOL * np.abs(expected).max())


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_regressor_every_activation(regression, activation):
    X, Y = regression
    est = MLPRegressor(
        hidden_layer_sizes=(16, 8),
        activation=activation,
        learning_rate=0.01,
        max_epochs=20,
        random_state=0,
    )
    _fit(est, X, Y)
    (predictions,) = _run(est, X)
    assert predictions.shape == (len(X), 2)
    assert_allclose(predictions, est.predict(X), RTOL, ATOL)


# ----------------------------------------------------------------- classifiers
def _assert_classifier(est, X, probabilities):
    labels, proba = _run(est, X, options={"zipmap": False})
    _assert_labels(labels, est, X)
    assert labels.dtype == np.int64
    if probabilities:
        expected = est.predict_proba(X)
        assert_allclose(proba, expected, RTOL, ATOL)
        assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # decision_function through skl2onnx's raw_scores option: [-d, d] if binary.
    _, scores = _run(est, X, options={"zipmap": False, "raw_scores": True})
    decision = est.decision_function(X)
    if decision.ndim == 1:
        assert_allclose(scores, np.c_[-decision, decision], RTOL, ATOL)
    else:
        assert_allclose(scores, decision, RTOL, ATOL)
    return proba


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss", PROBABILITY_LOSSES + MARGIN_LOSSES)
def test_gd_classifier_every_loss(loss, n_classes):
    X, y = _classification(n_classes)
    est = _fit(
        GDClassifier(loss=loss, max_epochs=30, random_state=0, **FULL_BATCH), X, y
    )
    proba = _assert_classifier(est, X, probabilities=loss in PROBABILITY_LOSSES)
    if loss in MARGIN_LOSSES:
        # Without probabilities the second output holds the scores, as skl2onnx
        # gives them for scikit-learn's SGDClassifier.
        decision = est.decision_function(X)
        expected = np.c_[-decision, decision] if n_classes == 2 else decision
        assert_allclose(proba, expected, RTOL, ATOL)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_classifier_every_activation(activation, n_classes):
    X, y = _classification(n_classes)
    est = MLPClassifier(
        hidden_layer_sizes=(12,),
        activation=activation,
        learning_rate=0.01,
        max_epochs=20,
        random_state=0,
    )
    _assert_classifier(_fit(est, X, y), X, probabilities=True)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss", MARGIN_LOSSES + ["modified_huber"])
def test_mlp_classifier_margin_losses(loss, n_classes):
    X, y = _classification(n_classes)
    est = MLPClassifier(hidden_layer_sizes=(8,), loss=loss, max_epochs=10)
    est.set_params(random_state=0)
    _assert_classifier(_fit(est, X, y), X, probabilities=loss in PROBABILITY_LOSSES)


@pytest.mark.parametrize("loss", PROBABILITY_LOSSES + ["hinge"])
def test_mlp_classifier_multilabel(loss):
    X, Y = make_multilabel_classification(
        n_samples=300, n_features=6, n_classes=4, random_state=0
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    est = MLPClassifier(
        hidden_layer_sizes=(8,), loss=loss, learning_rate=0.01, max_epochs=40
    )
    _fit(est.set_params(random_state=0), X, Y)
    labels, scores = _run(est, X, options={"zipmap": False})
    # The indicator matrix of the labels, as predict gives it, with some of
    # every label on and off.
    expected = est.predict(X)
    assert 0 < expected.mean() < 1
    assert labels.dtype == np.int64
    assert_array_equal(labels, expected)
    # Each label's probability on its own (the rows need not sum to one), or the
    # raw scores for a loss without probabilities.
    if loss in PROBABILITY_LOSSES:
        assert_allclose(scores, est.predict_proba(X), RTOL, ATOL)
    else:
        assert_allclose(scores, est.decision_function(X), RTOL, ATOL)
    _, raw = _run(est, X, options={"zipmap": False, "raw_scores": True})
    assert_allclose(raw, est.decision_function(X), RTOL, ATOL)


def test_modified_huber_rows_without_evidence_are_uniform():
    X, y = _classification(3)
    est = GDClassifier(
        loss="modified_huber", max_epochs=10, random_state=0, **FULL_BATCH
    )
    est = _fit(est, X, y)
    # Biases far below -1 clip every column to 0 on the rows that do not outweigh
    # them: predict_proba makes those rows uniform.
    est.intercept_[:] = -4.0
    expected = est.predict_proba(X)
    uniform = np.all(expected == 1 / 3, axis=1)
    assert 0 < uniform.sum() < len(X)
    _, proba = _run(est, X, options={"zipmap": False})
    assert_allclose(proba, expected, RTOL, ATOL)


def test_binary_log_loss_probabilities_are_the_sigmoid():
    """The issue's report: scikit-learn's linear converters were off by 0.15."""
    X, y = _classification(2)
    est = _fit(GDClassifier(max_epochs=30, random_state=0), X, y)
    _, proba = _run(est, X, options={"zipmap": False})
    decision = est.decision_function(X).astype(np.float64)
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)), rtol=1e-5, atol=1e-6)


def test_string_labels_and_zipmap():
    X, y = _classification(3)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = _fit(GDClassifier(max_epochs=30, random_state=0), X, names)
    labels, proba = _run(est, X)
    _assert_labels(labels, est, X)
    # zipmap (the default): one dict per row, keyed by label.
    assert isinstance(proba, list) and set(proba[0]) == set(names)
    table = np.array([[row[name] for name in est.classes_] for row in proba])
    assert_allclose(table, est.predict_proba(X), RTOL, ATOL)


def test_float_and_bool_labels_are_int64():
    X, y = _classification(2)
    for labels in (y.astype(float), y.astype(bool)):
        est = _fit(GDClassifier(max_epochs=5, random_state=0), X, labels)
        onnx_labels, _ = _run(est, X, options={"zipmap": False})
        assert onnx_labels.dtype == np.int64
        _assert_labels(onnx_labels.astype(labels.dtype), est, X)


def test_no_class_labels_option():
    X, y = _classification(3)
    est = _fit(GDClassifier(max_epochs=30, random_state=0), X, y + 10)
    labels, _ = _run(est, X, options={"zipmap": False, "nocl": True})
    _assert_labels(est.classes_[labels], est, X)


# ------------------------------------------------------------- in pipelines
@pytest.mark.parametrize(
    "estimator",
    [
        GDClassifier(max_epochs=30, random_state=0),
        MLPClassifier(hidden_layer_sizes=(8,), max_epochs=30, random_state=0),
        GDRegressor(max_epochs=30, random_state=0),
        MLPRegressor(hidden_layer_sizes=(8,), max_epochs=30, random_state=0),
    ],
    ids=lambda est: type(est).__name__,
)
def test_pipeline_with_a_skfit_step(estimator):
    X, y = _classification(3, seed=1)
    # Unscaled columns: the scaler's step is in the graph too.
    X = (X * np.array([1, 10, 100, 0.1, 1000], dtype=np.float32)).astype(np.float32)
    model = _fit(make_pipeline(StandardScaler(), estimator), X, y)
    if hasattr(model, "predict_proba"):
        outputs = _run(model, X, options={"zipmap": False})
        _assert_labels(outputs[0], model[-1], model[0].transform(X))
        assert_allclose(outputs[1], model.predict_proba(X), 1e-4, 1e-5)
    else:
        (predictions,) = _run(model, X)
        assert_allclose(predictions.ravel(), model.predict(X), 1e-4, 1e-4)


def test_double_input_gives_a_double_graph():
    X, y = _classification(3)
    X = X.astype(np.float64)
    est = _fit(GDClassifier(max_epochs=30, random_state=0), X, y)
    labels, proba = _run(est, X, options={"zipmap": False})
    assert proba.dtype == np.float64
    assert_array_equal(labels, est.predict(X))
    assert_allclose(proba, est.predict_proba(X), rtol=1e-12, atol=1e-14)


def test_a_loss_object_with_its_own_link_is_refused():
    class CubeLink:
        def loss(self, y, raw):
            return 0.5 * (raw - y) ** 2

        def gradient(self, y, raw):
            return raw - y

        def inverse_link(self, raw):
            return raw**3

    X, y = _classification(2)
    est = _fit(GDRegressor(loss=CubeLink(), max_epochs=5), X, y.astype(float))
    with pytest.raises(TypeError, match="whose link has no ONNX form"):
        skl2onnx.to_onnx(est, X[:1])


def test_fitted_loss_and_activation_are_converted_not_the_parameters():
    X, y = _classification(3)
    est = _fit(MLPClassifier(hidden_layer_sizes=(8,), max_epochs=20), X, y)
    est.set_params(loss="hinge", activation="tanh")
    _, proba = _run(est, X, options={"zipmap": False})
    assert_allclose(proba, est.predict_proba(X), RTOL, ATOL)
