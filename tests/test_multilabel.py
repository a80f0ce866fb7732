"""MLPClassifier on multilabel indicator targets: independent logistic outputs, as
scikit-learn's MLP fits them (issue 13, item 10)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, hamming_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier, MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        600, n_features=10, n_classes=5, random_state=0
    )
    return StandardScaler().fit_transform(X), Y


def hand_objective(est, X, Y, sample_weight):
    """The weighted mean over samples of the binary log-loss summed over labels,
    plus the l2 penalty, from the network's parameters by hand."""
    (W0, W1), (b0, b1) = est.coefs_, est.intercepts_
    p = expit(np.maximum(X @ W0 + b0, 0) @ W1 + b1)
    per_sample = -(Y * np.log(p) + (1 - Y) * np.log(1 - p)).sum(axis=1)
    penalty = est.alpha / 2 * (np.sum(W0**2) + np.sum(W1**2))
    return np.average(per_sample, weights=sample_weight) + penalty


def test_multilabel_fits_as_well_as_scikit_learn(multilabel):
    X, Y = multilabel
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
    ours, theirs = [], []
    for seed in range(3):
        settings = {"hidden_layer_sizes": (32,), "random_state": seed}
        est = MLPClassifier(**settings).fit(X_train, Y_train)
        reference = SklearnMLPClassifier(**settings).fit(X_train, Y_train)
        assert_array_equal(est.classes_, reference.classes_)
        prediction = est.predict(X_test)
        assert prediction.shape == Y_test.shape
        assert prediction.dtype == reference.predict(X_test).dtype
        ours.append(hamming_loss(Y_test, prediction))
        theirs.append(hamming_loss(Y_test, reference.predict(X_test)))
    # Both far better than predicting every label off, and within 0.02 of each other.
    assert np.mean(ours) < 0.7 * Y_test.mean()
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.02


def test_the_recorded_loss_is_the_summed_binary_log_loss(multilabel):
    X, Y = multilabel
    sample_weight = np.random.RandomState(0).uniform(0.5, 2.0, len(Y))
    est = MLPClassifier(
        hidden_layer_sizes=(8,),
        batch_size=None,
        max_epochs=1,
        tol=None,
        alpha=1e-2,
        warm_start=True,
        random_state=0,
    ).fit(X, Y, sample_weight=sample_weight)
    # Full batch: the next epoch records the objective at the current parameters.
    expected = hand_objective(est, X, Y, sample_weight)
    est.fit(X, Y, sample_weight=sample_weight)
    assert_allclose(est.history_["loss"][1], expected, rtol=1e-10)


def test_probabilities_are_per_label(multilabel):
    X, Y = multilabel
    est = MLPClassifier(hidden_layer_sizes=(16,), max_epochs=20, random_state=0)
    est.fit(X, Y)
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape
    assert_allclose(proba, expit(est.decision_function(X)))
    assert not np.allclose(proba.sum(axis=1), 1)  # labels are independent
    assert_array_equal(est.predict(X), (proba > 0.5).astype(int))
    assert_allclose(est.predict_log_proba(X), np.log(proba))
    assert est.score(X, Y) == accuracy_score(Y, est.predict(X))


def test_margin_losses_fit_multilabel_targets_one_vs_rest(multilabel):
    X, Y = multilabel
    est = MLPClassifier(loss="modified_huber", hidden_layer_sizes=(16,), max_epochs=20)
    est.fit(X, Y)
    raw = est.decision_function(X)
    assert_allclose(est.predict_proba(X), np.clip((raw + 1) / 2, 0, 1))
    assert_array_equal(est.predict(X), (raw > 0).astype(int))


def test_partial_fit_on_multilabel_targets(multilabel):
    X, Y = multilabel
    est = MLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, Y)
    with pytest.raises(ValueError, match="label columns"):
        est.partial_fit(X, Y, classes=[0, 1, 2])
    est.partial_fit(X[:300], Y[:300], classes=np.arange(5))
    for _ in range(3):
        est.partial_fit(X[300:], Y[300:])
    assert_array_equal(est.classes_, np.arange(5))
    assert est.n_epochs_ == 4
    assert est.predict(X).shape == Y.shape
    with pytest.raises(ValueError, match="fitted on multilabel targets"):
        est.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="not the classes"):
        est.partial_fit(X, Y[:, :4])


def test_the_held_out_share_of_multilabel_targets_is_not_stratified(multilabel):
    X, Y = multilabel
    est = MLPClassifier(
        hidden_layer_sizes=(16,), early_stopping=True, max_epochs=15, random_state=0
    ).fit(X, Y)
    val_score = est.history_["val_score"]
    assert np.all((val_score >= 0) & (val_score <= 1))
    assert len(est.history_) <= 15


def test_a_single_label_fit_refuses_multilabel_targets_in_a_warm_start(multilabel):
    X, Y = multilabel
    est = MLPClassifier(hidden_layer_sizes=(4,), max_epochs=2, warm_start=True)
    est.fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="fitted on single-label targets"):
        est.fit(X, Y)


def test_class_weight_is_refused_for_multilabel_targets(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="class_weight is not supported for multil"):
        MLPClassifier(class_weight="balanced").fit(X, Y)


def test_gd_classifier_refuses_multilabel_targets_by_name(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="multilabel indicator matrix; MLPClassifier"):
        GDClassifier().fit(X, Y)


def test_a_sparse_indicator_matrix_fits_as_the_dense_one(multilabel):
    sparse = pytest.importorskip("scipy.sparse")
    X, Y = multilabel
    settings = {"hidden_layer_sizes": (8,), "max_epochs": 3, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = MLPClassifier(**settings).fit(X, Y)
        from_sparse = MLPClassifier(**settings).fit(X, sparse.csr_matrix(Y))
    assert_array_equal(from_sparse.coefs_[0], dense.coefs_[0])
