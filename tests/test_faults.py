"""Faults that outside test suites found (issue 13), each pinned by a test, and a
property over hyperparameters and input kinds: every fit either fits with finite
parameters and predictions or is refused by name, leaving the estimator as it was."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from _fitting import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_validate

from skfit import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skfit import _base as skfit_base
from skfit._models import Network
from skfit.callbacks import Callback, as_callback
from skfit.spikes import LossSpikeError


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


# ------------------------------------------------------------------------ weights
def fitted_bytes(estimator):
    """The estimator's whole state, to check that a refused call changed nothing."""
    return pickle.dumps(estimator)


@pytest.fixture(scope="module")
def fitted_regressor(regression):
    X, y = regression
    return fit_quietly(GDRegressor(max_epochs=3, random_state=0), X, y)


@pytest.fixture(scope="module")
def fitted_classifier(classification):
    X, y = classification
    return fit_quietly(GDClassifier(max_epochs=3, random_state=0), X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("subnormal", ["all", "one"])
def test_subnormal_sample_weights_are_refused(
    fitted_regressor, regression, dtype, subnormal
):
    X, y = regression
    tiny = np.finfo(dtype).tiny
    sample_weight = (
        np.full(len(y), tiny / 1e3) if subnormal == "all" else np.ones(len(y))
    )
    sample_weight[0] = tiny / 1e3
    est = pickle.loads(pickle.dumps(fitted_regressor))
    before = fitted_bytes(est)
    with pytest.raises(ValueError, match="sample_weight holds .* below"):
        est.fit(X.astype(dtype), y, sample_weight=sample_weight)
    assert fitted_bytes(est) == before


def test_sample_weights_beyond_float32_range_are_refused(regression):
    X, y = regression
    with pytest.raises(ValueError, match=r"sample_weight\) sum to .* float32"):
        GDRegressor().fit(X.astype(np.float32), y, sample_weight=np.full(len(y), 1e37))


@pytest.mark.parametrize("early_stopping", [True, False])
def test_a_held_out_share_without_weight_is_refused(regression, early_stopping):
    # One weighted row: the share it is not in has no weight at all.
    X, y = regression
    sample_weight = np.zeros(len(y))
    sample_weight[5] = 1.0
    est = GDRegressor(
        early_stopping=early_stopping, validation_fraction=0.2, random_state=0
    )
    with pytest.raises(
        ValueError, match=r"share \(validation_fraction=0.2\) are all zero"
    ):
        est.fit(X, y, sample_weight=sample_weight)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("weight", [np.nan, np.inf, -1.0, "heavy", None, True])
def test_class_weight_values_are_refused_by_name(
    fitted_classifier, classification, weight
):
    X, y = classification
    est = pickle.loads(pickle.dumps(fitted_classifier))
    before = fitted_bytes(est)
    est.set_params(class_weight={0: weight, 1: 1.0})
    with pytest.raises(ValueError, match="class_weight must map classes to finite"):
        est.fit(X, y)
    est.set_params(class_weight=None)
    assert fitted_bytes(est) == before


@pytest.mark.parametrize(
    ("scale", "match"), [(1e200, "sum to inf"), (1e-160, "holds .* below")]
)
def test_combined_sample_and_class_weights_are_checked(classification, scale, match):
    # Each source is fine alone; their product overflows or is subnormal.
    X, y = classification
    est = GDClassifier(class_weight={0: scale, 1: scale})
    with pytest.raises(ValueError, match="sample_weight times class_weight"):
        est.fit(X, y, sample_weight=np.full(len(y), scale))
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, sample_weight=np.full(len(y), scale))


# ---------------------------------------------------------------------- callbacks
class EpochScores(Callback):
    """Records the weighted R^2 on the training data at the end of each epoch."""

    def __init__(self, X=None, y=None, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def on_train_begin(self, estimator):
        self.scores_ = []

    def on_epoch_end(self, estimator, record):
        predictions = estimator.predict(self.X)
        self.scores_.append(
            r2_score(self.y, predictions, sample_weight=self.sample_weight)
        )


@pytest.mark.parametrize("weighted", [False, True])
def test_scikit_learn_scoring_monitor_scores_every_epoch(regression, weighted):
    sklearn_callback = pytest.importorskip("sklearn.callback")
    X, y = regression
    sample_weight = np.linspace(0.1, 2.0, len(y)) if weighted else None
    monitor = sklearn_callback.ScoringMonitor(scoring="r2")
    reference = EpochScores(X, y, sample_weight)
    est = GDRegressor(max_epochs=4, tol=None, random_state=0, callbacks=[reference])
    est.set_callbacks(monitor)
    est.fit(X, y, sample_weight=sample_weight)
    rows = monitor.get_logs().data
    epochs = [row["r2"] for row in rows if row["task_name"] == "epoch"]
    assert_allclose(epochs, reference.scores_, rtol=1e-12)
    assert len(epochs) == 4


class OnlyEpochEnd:
    """A plain object with one hook: stop after two epochs."""

    def on_epoch_end(self, estimator, record):
        return record["epoch"] >= 2


class OnlyBatchEnd:
    def __init__(self):
        self.batches = 0

    def on_batch_end(self, estimator, batch_record):
        self.batches += 1


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_an_object_with_some_hooks_is_a_callback(regression, Estimator):
    X, y = regression
    counter = OnlyBatchEnd()
    est = Estimator(batch_size=40, callbacks=[OnlyEpochEnd(), counter]).fit(X, y)
    assert est.stop_reason_ == "callback"
    assert est.n_epochs_ == 2
    assert counter.batches == 2 * 3


def test_an_adapter_listens_to_batches_only_when_its_object_does():
    # The engine trains in its compiled loop unless a callback listens to batches.
    assert type(as_callback(OnlyEpochEnd())).on_batch_end is Callback.on_batch_end
    assert type(as_callback(OnlyBatchEnd())).on_batch_end is not Callback.on_batch_end
    complete = EpochScores()
    assert as_callback(complete) is complete


def test_an_object_without_hooks_is_refused(regression):
    X, y = regression
    est = GDRegressor(callbacks=[object()])
    with pytest.raises(TypeError, match="needs at least one of the hooks"):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_")


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


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier, MLPClassifier])
def test_X_beyond_float32_is_refused_by_a_float32_model(
    Estimator, regression, classification, sparse
):
    X, y = regression if Estimator is GDRegressor else classification
    est = fit_quietly(Estimator(max_epochs=2, random_state=0), X.astype(np.float32), y)
    before = fitted_bytes(est)
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
    assert fitted_bytes(est) == before
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


# ------------------------------------------------------------------ input layouts
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
def test_the_input_layout_changes_no_bit(
    Estimator, regression, classification, settings
):
    X, y = regression if Estimator in (GDRegressor, MLPRegressor) else classification
    fitted = {}
    for name, X_layout in layouts(X).items():
        est = Estimator(max_epochs=5, random_state=0, **settings)
        if Estimator in (MLPRegressor, MLPClassifier):
            est.set_params(hidden_layer_sizes=(8,))
        fitted[name] = fitted_values(fit_quietly(est, X_layout, y))
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
        fit_quietly(Estimator(max_epochs=5, random_state=0), X_sparse, y)
        for X_sparse in (ordered, shuffled)
    ]
    assert_array_equal(fits[1]._state.network.flat, fits[0]._state.network.flat)
    assert_array_equal(shuffled.indices, indices_before)  # X is not modified


def test_a_c_ordered_X_is_trained_on_without_a_copy(regression, monkeypatch):
    X, y = regression
    X = np.ascontiguousarray(X)
    seen = []
    original_train = skfit_base.train

    def train(state, data, config, estimator):
        seen.append(data.X)
        return original_train(state, data, config, estimator)

    monkeypatch.setattr(skfit_base, "train", train)
    fit_quietly(GDRegressor(max_epochs=2), X, y)
    assert seen[0] is X
