"""Faults that outside test suites found (issue 13), each pinned by a test, and a
property over hyperparameters and input kinds: every fit either fits with finite
parameters and predictions or is refused by name, leaving the estimator as it was.

The weights, the callback protocol, the input layouts, multilabel targets and
continued fits have their own modules (test_weights, test_callback_protocol,
test_layouts, test_multilabel, test_continuation)."""

import functools
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _fitting import fit_quietly
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate

from skfit import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skfit._models import Network
from skfit.losses import Poisson, SquaredError
from skfit.spikes import LossSpikeError, LossSpikeWarning


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(120, 4, noise=1.0, random_state=0)
    return X, y / y.std()


@pytest.fixture(scope="module")
def classification():
    return make_classification(120, 4, n_informative=3, n_redundant=0, random_state=0)


# ------------------------------------------------------- dropout on float32 data
def test_dropout_masks_float32_activations():
    network = Network((3, 2000, 1), dropout=0.5)
    network.initialize(np.float32, np.random.RandomState(0))
    workspace = network.allocate(4, np.random.RandomState(1))
    network.forward(np.ones((4, 3), dtype=np.float32), workspace)
    mask = workspace.mask[0]
    assert mask.dtype == np.float32
    # Inverted dropout: half the units are zeroed, the rest scaled by 1 / (1 - 0.5).
    assert set(np.unique(mask)) == {0.0, 2.0}
    assert_allclose(np.mean(mask == 0), 0.5, atol=0.02)


@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_dropout_trains_on_float32_data(Estimator, regression, classification):
    X, y = regression if Estimator is MLPRegressor else classification
    X = X.astype(np.float32)
    settings = {"hidden_layer_sizes": (16,), "max_epochs": 5, "random_state": 0}
    dropped = fit_quietly(Estimator(dropout=0.5, **settings), X, y)
    plain = fit_quietly(Estimator(**settings), X, y)
    assert dropped.coefs_[0].dtype == np.float32
    assert np.all(np.isfinite(dropped.coefs_[0]))
    assert not np.allclose(dropped.coefs_[0], plain.coefs_[0])


# ------------------------------------------------ LossSpikeError across processes
def spiking_data():
    """Standardised rows, then a block of rows whose targets are 1e4 times larger."""
    rng = np.random.RandomState(0)
    X = rng.randn(400, 3)
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.randn(400)
    y[360:] *= 1e4
    return X, y


def test_loss_spike_error_survives_pickling():
    X, y = spiking_data()
    est = GDRegressor(batch_size=16, shuffle=False, spike_policy="raise")
    with pytest.raises(LossSpikeError) as caught:
        est.fit(X, y)
    error = pickle.loads(pickle.dumps(caught.value))
    assert type(error) is LossSpikeError
    assert str(error) == str(caught.value)
    for name in ("epoch", "batch", "loss", "baseline", "ratio", "n_samples"):
        assert getattr(error.spike, name) == getattr(caught.value.spike, name)
    assert_array_equal(error.spike.sample_indices, caught.value.spike.sample_indices)


def test_loss_spike_error_reaches_a_parallel_search():
    X, y = spiking_data()
    est = GDRegressor(batch_size=16, shuffle=False, spike_policy="raise")
    with pytest.raises(LossSpikeError, match="Loss spike at epoch"):
        cross_validate(est, X, y, cv=2, n_jobs=2, error_score="raise")


# ------------------------------------------------------------ the float32 range
BEYOND_FLOAT32 = 1e39


def test_targets_beyond_float32_are_refused(regression):
    X, y = regression
    y = y.copy()
    y[3] = BEYOND_FLOAT32
    est = GDRegressor()
    with pytest.raises(
        ValueError, match="y holds values up to 1e.39, beyond .* float32"
    ):
        est.fit(X.astype(np.float32), y)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_targets_near_float32s_limit_train_finitely(Estimator, regression):
    # Each target is within float32's range, their sum is not: the output bias
    # started at a mean summed in float32, inf, and the intercept ended NaN.
    X, y = regression
    y = 2e38 + 2e37 * y  # from 1.6e38 to 2.6e38, and so its predictions
    est = Estimator(max_epochs=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X.astype(np.float32), y)
    assert np.all(np.isfinite(est._state.network.flat))
    assert np.all(np.isfinite(est.predict(X.astype(np.float32))))
    assert est.score(X.astype(np.float32), y) > 0.5


def test_the_mean_target_of_float32_counts_near_the_limit_is_finite():
    Y = np.full((4, 1), 3e38, dtype=np.float32)
    assert_allclose(SquaredError().optimal_constant(Y), [3e38], rtol=1e-7)
    assert_allclose(Poisson().optimal_constant(Y), [np.log(3e38)], rtol=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier, MLPClassifier])
def test_X_beyond_float32_is_refused_by_a_float32_model(
    Estimator, regression, classification, sparse
):
    X, y = regression if Estimator is GDRegressor else classification
    est = fit_quietly(Estimator(max_epochs=2, random_state=0), X.astype(np.float32), y)
    before = pickle.dumps(est)
    X_large = X.copy()
    X_large[7, 1] = -BEYOND_FLOAT32
    if sparse:
        X_large = sp.csr_matrix(X_large)
    with pytest.raises(
        ValueError, match="X holds values up to 1e.39, beyond .* float32"
    ):
        est.predict(X_large)
    with pytest.raises(ValueError, match="X holds values up to 1e.39"):
        est.partial_fit(X_large, y)
    assert pickle.dumps(est) == before
    # Values within the range are cast as before.
    assert est.predict(X).dtype == (np.float32 if Estimator is GDRegressor else y.dtype)


# ------------------------------------------------------------------ hyperparameters
@pytest.mark.parametrize(
    "sizes", [(3.7,), (np.inf,), ("4",), (4, 0), (-2,), (), [], np.array([4.0]), [[4]]]
)
@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_bad_hidden_layer_sizes_are_refused_by_name(
    Estimator, regression, classification, sizes
):
    X, y = regression if Estimator is MLPRegressor else classification
    est = Estimator(hidden_layer_sizes=sizes, max_epochs=1)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("sizes", [3, np.int64(3), (3,), [3, 2], np.array([3, 2])])
def test_integer_hidden_layer_sizes_set_the_widths(regression, sizes):
    X, y = regression
    est = fit_quietly(MLPRegressor(hidden_layer_sizes=sizes, max_epochs=1), X, y)
    widths = [coef.shape[1] for coef in est.coefs_[:-1]]
    assert widths == list(np.atleast_1d(sizes))


@pytest.mark.parametrize(
    ("Estimator", "n_samples", "settings", "match"),
    [
        # 0.1 of 3 rows holds out 1: too few for a validation R^2.
        (GDRegressor, 3, {"early_stopping": True}, "2 training and 1 validation"),
        # Half of 3 rows leaves 1 to train on.
        (GDRegressor, 3, {"validation_fraction": 0.5}, "1 training and 2 valid"),
        # A stratified share of 3 classes needs 3 rows.
        (GDClassifier, 12, {"early_stopping": True}, r"at least 3 \(one of each"),
        # Every class needs two rows to be in both shares.
        (GDClassifier, 7, {"validation_fraction": 0.5}, "class 2 has 1"),
    ],
)
def test_too_small_a_validation_split_is_refused(Estimator, n_samples, settings, match):
    rng = np.random.RandomState(0)
    X = rng.randn(n_samples, 2)
    y = rng.randn(n_samples) if Estimator is GDRegressor else np.arange(n_samples) % 3
    if n_samples == 7:
        y = np.array([0, 0, 0, 1, 1, 1, 2])
    est = Estimator(**settings)
    with pytest.raises(ValueError, match=f"validation_fraction=.*{match}"):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_")


# ------------------------------------------------- property: fit or refuse by name
# What a call may get wrong, besides its hyperparameters; each is refused by name.
DATA_FAULTS = [
    "nan_in_X",
    "inf_in_y",
    "zero_weights",
    "subnormal_weights",
    "one_class",
    "multilabel",
    "few_rows",
]
# Words that name a problem: the hyperparameters and the data's parts.
PROBLEM_NAMES = [
    *GDRegressor().get_params(),
    *MLPClassifier().get_params(),
    "X",
    "y",
    "weights",
    "class",
    "NaN",
    "infinity",
]


def faulty_data(Estimator, kind, fault, n_samples, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, 3)
    classifier = Estimator in (GDClassifier, MLPClassifier)
    if classifier:
        y = np.arange(n_samples) % 3
    else:
        y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.randn(n_samples)
    sample_weight = rng.uniform(0.5, 2.0, n_samples)
    if fault == "nan_in_X":
        X[rng.randint(n_samples), 1] = np.nan
    elif fault == "inf_in_y" and not classifier:
        y[rng.randint(n_samples)] = np.inf
    elif fault == "zero_weights":
        sample_weight[:] = 0.0
    elif fault == "subnormal_weights":
        sample_weight[rng.randint(n_samples)] = 1e-320
    elif fault == "one_class" and classifier:
        y[:] = 1
    elif fault == "multilabel" and classifier:
        y = np.column_stack([y == 0, y == 1, y != 1]).astype(int)
    elif fault == "few_rows":
        X, y, sample_weight = X[:3], y[:3], sample_weight[:3]
    if kind == "csr":
        X = sp.csr_matrix(X)
    elif kind == "float32":
        X = X.astype(np.float32)
    elif kind == "DataFrame":
        X = pytest.importorskip("pandas").DataFrame(X, columns=["a", "b", "c"])
    return X, y, sample_weight


# Out-of-range hyperparameters, one of which a call may carry.
BAD_PARAMETERS = [
    ("learning_rate", -1.0),
    ("batch_size", 0),
    ("validation_fraction", 1.5),
    ("spike_threshold", 0.0),
    ("optimizer", "newton"),
]
BAD_MLP_PARAMETERS = [
    ("hidden_layer_sizes", 3.7),
    ("hidden_layer_sizes", (0,)),
    ("hidden_layer_sizes", ()),
    ("hidden_layer_sizes", ("4",)),
    ("hidden_layer_sizes", (2.5,)),
    ("dropout", 1.0),
]
BAD_CLASSIFIER_PARAMETERS = [("class_weight", {0: np.nan, 1: 1.0})]


@st.composite
def calls(draw, Estimator):
    """Hyperparameters (at most one out of range), an input kind and at most one
    data fault."""
    mlp = Estimator in (MLPRegressor, MLPClassifier)
    classifier = Estimator in (GDClassifier, MLPClassifier)
    params = {
        "optimizer": draw(st.sampled_from(["sgd", "momentum", "adam", "adagrad"])),
        "learning_rate": draw(st.sampled_from([1e-3, 0.05, 0.5, 50.0])),
        "schedule": draw(st.sampled_from(["constant", "invscaling", "cosine"])),
        "batch_size": draw(st.sampled_from([None, 1, 7, 32])),
        "penalty": draw(st.sampled_from(["l2", "l1", "elasticnet", None])),
        "max_epochs": draw(st.integers(1, 3)),
        "tol": draw(st.sampled_from([None, 1e-4])),
        "early_stopping": draw(st.booleans()),
        "validation_fraction": draw(st.sampled_from([None, 0.2, 0.5])),
        "spike_policy": draw(st.sampled_from(["ignore", "warn", "skip", "rollback"])),
        "warm_start": draw(st.booleans()),
        "random_state": 0,
    }
    if mlp:
        params["hidden_layer_sizes"] = draw(st.sampled_from([(3,), (4, 2), 3]))
        params["activation"] = draw(st.sampled_from(["relu", "tanh", "gelu"]))
        params["dropout"] = draw(st.sampled_from([0.0, 0.3]))
    else:
        params["fit_intercept"] = draw(st.booleans())
    if classifier:
        params["class_weight"] = draw(
            st.sampled_from([None, "balanced", {0: 1.0, 1: 2.0, 2: 0.5}])
        )
    bad = BAD_PARAMETERS + (BAD_MLP_PARAMETERS if mlp else [])
    bad += BAD_CLASSIFIER_PARAMETERS if classifier else []
    # A quarter of the calls carry a bad hyperparameter, a third a data fault.
    if draw(st.integers(0, 3)) == 0:
        params.update([draw(st.sampled_from(bad))])
    kind = draw(st.sampled_from(["dense", "csr", "DataFrame", "float32"]))
    fault = draw(st.sampled_from(DATA_FAULTS)) if draw(st.integers(0, 2)) == 0 else None
    weighted = draw(st.booleans())
    n_samples = draw(st.integers(8, 40))
    method = draw(st.sampled_from(["fit", "partial_fit"]))
    return params, kind, fault, weighted, n_samples, method


@functools.cache
def fitted_start(Estimator):
    """An estimator fitted on clean data, pickled: the start of every drawn call."""
    X, y, _ = faulty_data(Estimator, "dense", None, 30, 1)
    est = Estimator(max_epochs=2, random_state=0)
    if Estimator in (MLPRegressor, MLPClassifier):
        est.set_params(hidden_layer_sizes=(3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pickle.dumps(est.fit(X, y))


@pytest.mark.parametrize(
    "Estimator", [GDRegressor, GDClassifier, MLPRegressor, MLPClassifier]
)
@pytest.mark.filterwarnings("ignore:X has feature names:UserWarning")
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_every_fit_fits_finitely_or_is_refused_by_name(Estimator, data):
    params, kind, fault, weighted, n_samples, method = data.draw(calls(Estimator))
    X, y, sample_weight = faulty_data(Estimator, kind, fault, n_samples, seed=0)
    est = pickle.loads(fitted_start(Estimator))
    est.set_params(**params)
    before = pickle.dumps(est)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", LossSpikeWarning)
            getattr(est, method)(
                X, y, sample_weight=sample_weight if weighted else None
            )
    except (ValueError, TypeError) as error:
        message = str(error)
        event(f"refused: {message[:60]}")
        assert any(name in message for name in PROBLEM_NAMES), message
        # Nothing is fitted half-way: a refused call leaves the estimator as it was.
        assert pickle.dumps(est) == before
        return
    event(f"fitted: {est.stop_reason_}")
    parameters = est._state.network.flat
    # Training continues in the dtype of the parameters it started from.
    continued = params["warm_start"] or method == "partial_fit"
    fresh_dtype = np.float32 if kind == "float32" else np.float64
    assert parameters.dtype == (np.float64 if continued else fresh_dtype)
    assert np.all(np.isfinite(parameters))
    assert np.all(np.isfinite(est.predict(X)))
    assert est.n_epochs_ == est.n_iter_ == len(est.history_)
