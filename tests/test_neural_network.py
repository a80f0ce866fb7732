"""MLPRegressor and MLPClassifier: against scikit-learn's MLP, dropout, overfitting."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from skfit import MLPClassifier, MLPRegressor
from skfit._models import Network


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(1000, 20, noise=5, random_state=0)
    return train_test_split(X, (y - y.mean()) / y.std(), random_state=0)


def same_training(optimizer, learning_rate):
    """Settings shared by both libraries: no penalty, plain updates, fixed epochs."""
    ours = {
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "penalty": None,
        "batch_size": 64,
        "max_epochs": 40,
        "tol": None,
    }
    theirs = {
        "solver": optimizer,
        "learning_rate_init": learning_rate,
        "alpha": 0.0,
        "batch_size": 64,
        "max_iter": 40,
        "tol": 0.0,
        "n_iter_no_change": 10**6,
        "momentum": 0.0,
        "nesterovs_momentum": False,
    }
    return ours, theirs


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("optimizer, learning_rate", [("adam", 1e-3), ("sgd", 0.1)])
def test_classifier_matches_scikit_learn_on_digits(digits, optimizer, learning_rate):
    X_train, X_test, y_train, y_test = digits
    ours, theirs = same_training(optimizer, learning_rate)
    ours = MLPClassifier((64,), random_state=0, **ours).fit(X_train, y_train)
    theirs = SklearnMLPClassifier(
        hidden_layer_sizes=(64,), random_state=0, **theirs
    ).fit(X_train, y_train)
    # The margins: final training log-loss within 25% (different random starts),
    # test accuracy within 2 points.
    assert ours.loss_curve_[-1] == pytest.approx(theirs.loss_curve_[-1], rel=0.25)
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.02


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("optimizer, learning_rate", [("adam", 1e-3), ("sgd", 0.01)])
def test_regressor_matches_scikit_learn(regression, optimizer, learning_rate):
    X_train, X_test, y_train, y_test = regression
    ours, theirs = same_training(optimizer, learning_rate)
    ours = MLPRegressor((32,), random_state=0, **ours).fit(X_train, y_train)
    theirs = SklearnMLPRegressor(
        hidden_layer_sizes=(32,), random_state=0, **theirs
    ).fit(X_train, y_train)
    # Half squared error in both; the margin allows for different random starts.
    assert ours.loss_curve_[-1] <= 1.5 * theirs.loss_curve_[-1]
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.03


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_classifier_reaches_97_percent_on_digits(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier(
        (64,), learning_rate=0.003, max_epochs=50, random_state=0
    ).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.97


def test_the_engine_reproduces_scikit_learn_with_the_same_start(regression):
    """With scikit-learn's starting weights and the same shuffling, training is the
    same computation: the loss curves agree to rounding."""
    X_train, _, y_train, _ = regression
    theirs = SklearnMLPRegressor(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.01,
        alpha=0.0,
        batch_size=50,
        max_iter=1,
        shuffle=False,
        momentum=0.0,
        random_state=0,
    )
    theirs.partial_fit(X_train, y_train)
    start = SklearnMLPRegressor(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=1e-300,
        alpha=0.0,
        batch_size=50,
        max_iter=1,
        shuffle=False,
        momentum=0.0,
        random_state=0,
    ).partial_fit(X_train, y_train)
    ours = MLPRegressor(
        (16,),
        optimizer="sgd",
        learning_rate=0.01,
        penalty=None,
        batch_size=50,
        shuffle=False,
        random_state=0,
    )
    # Creates the network; a target of 0 makes its output units the user's.
    ours.partial_fit(X_train[:1], [0.0])
    network = ours._state.network
    for mine, initial in zip(network.params, _params(start), strict=True):
        mine[...] = initial
    ours._state.history.truncate(0)
    ours.partial_fit(X_train, y_train)
    for mine, reference in zip(network.params, _params(theirs), strict=True):
        assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)
    assert ours.loss_curve_[-1] == pytest.approx(theirs.loss_curve_[-1], rel=1e-10)


def _params(sklearn_mlp):
    params = []
    for coef, intercept in zip(
        sklearn_mlp.coefs_, sklearn_mlp.intercepts_, strict=True
    ):
        params += [coef, intercept]
    return params


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "gelu"])
def test_dropout_backward_matches_finite_differences(activation):
    rng = np.random.RandomState(0)
    network = Network((4, 6, 5, 2), activation=activation, dropout=0.3)
    network.initialize(np.float64, rng)
    # Non-zero biases keep pre-activations off relu's kink at 0 (a row whose units
    # are all dropped would otherwise sit exactly on it).
    for intercept in network.intercepts:
        intercept[...] = rng.uniform(0.05, 0.1, intercept.shape)
    X, G = rng.randn(7, 4), rng.randn(7, 2)

    def objective():
        # A fresh training workspace from the same seed draws the same masks.
        workspace = network.allocate(7, np.random.RandomState(1))
        return float(np.sum(G * network.forward(X, workspace))), workspace

    value, workspace = objective()
    grads = network.backward(X, G, workspace)
    assert 0 < np.mean(workspace.mask[0] == 0) < 1  # some units dropped, not all
    eps = 1e-6
    for param, grad in zip(network.params, grads, strict=True):
        numeric = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            plus = objective()[0]
            param[index] = saved - eps
            minus = objective()[0]
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dropout_trains_differently_and_predicts_deterministically(digits):
    X_train, X_test, y_train, _ = digits
    settings = {"hidden_layer_sizes": (32,), "max_epochs": 5, "random_state": 0}
    plain = MLPClassifier(**settings).fit(X_train, y_train)
    zero = MLPClassifier(dropout=0.0, **settings).fit(X_train, y_train)
    dropped = MLPClassifier(dropout=0.5, **settings).fit(X_train, y_train)
    assert_array_equal(plain.coefs_[0], zero.coefs_[0])
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])
    # Prediction uses every unit, with no randomness.
    assert_array_equal(dropped.predict_proba(X_test), dropped.predict_proba(X_test))
    # Dropout's noise raises the training loss it records.
    assert dropped.loss_curve_[-1] > plain.loss_curve_[-1]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_memorising_a_noisy_sample_shows_in_history_and_early_stopping_catches_it():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (120, 5))
    y = X[:, 0] + 0.5 * rng.randn(120)
    settings = {
        "hidden_layer_sizes": (100, 100),
        "learning_rate": 0.003,
        "penalty": None,
        "batch_size": 16,
        "validation_fraction": 0.3,
        "random_state": 0,
    }
    free = MLPRegressor(max_epochs=100, tol=None, **settings).fit(X, y)
    val_loss, loss = free.history_["val_loss"], free.history_["loss"]
    turn = int(np.argmin(val_loss))
    # After the turn, validation loss rises well above its minimum while the
    # training loss keeps falling: memorisation.
    assert val_loss[-1] > 1.5 * val_loss[turn]
    assert loss[-1] < 0.2 * loss[turn]

    stopped = MLPRegressor(
        max_epochs=100, early_stopping=True, n_iter_no_change=10, **settings
    ).fit(X, y)
    assert stopped.stop_reason_ == "early_stopping"
    assert stopped.best_epoch_ == turn + 1
    assert stopped.n_epochs_ <= turn + 1 + 10 + 1
    # The parameters of the best epoch are kept: they are those of a replay that
    # ends there.
    kept = stopped.predict(X)
    replay = MLPRegressor(max_epochs=stopped.best_epoch_, tol=None, **settings)
    assert_allclose(kept, replay.fit(X, y).predict(X), rtol=1e-10)


def test_network_attributes_float32_and_multi_output():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    Y = np.column_stack([X[:, 0], X[:, 1] * X[:, 2]]).astype(np.float32)
    model = MLPRegressor((8, 3), max_epochs=3, tol=None, random_state=0).fit(X, Y)
    assert [c.shape for c in model.coefs_] == [(4, 8), (8, 3), (3, 2)]
    assert [b.shape for b in model.intercepts_] == [(8,), (3,), (2,)]
    assert all(c.dtype == np.float32 for c in model.coefs_)
    assert model.predict(X).shape == (60, 2)
    assert model.predict(X).dtype == np.float32


def test_warm_start_refuses_a_changed_architecture():
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), rng.randn(40)
    model = MLPRegressor((5,), max_epochs=2, tol=None, warm_start=True).fit(X, y)
    model.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match="architecture"):
        model.fit(X, y)
    assert model.coefs_[0].shape == (3, 5)


def test_invalid_hidden_layer_sizes_is_a_clear_error():
    X, y = np.random.RandomState(0).randn(20, 2), np.arange(20.0)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPRegressor(hidden_layer_sizes=(4, 0)).fit(X, y)
