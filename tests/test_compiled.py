"""The compiled batch loop of the linear models against the Python loop.

Every in-scope fit is run twice, once through the compiled kernel and once inside
``config_context(use_numba=False)``, and everything observable is compared: the
parameters, the optimizer's state, the history, the counters, the stop reason and
the spike records. A counting wrapper around the kernel checks that the compiled
loop really trained the first fit (once per epoch) and never the second, and that
fits outside its scope never reach it.
"""

import functools
import os
import subprocess
import sys
import time
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from _datasets import classification_data, regression_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

import skfit
from skfit import (
    GDClassifier,
    GDRegressor,
    LossSpikeWarning,
    MLPClassifier,
    MLPRegressor,
)
from skfit._training import _compiled_batches as _compiled
from skfit.callbacks import Callback
from skfit.optimizers import SGD, Adagrad, Adam, AdamW, Momentum, Nesterov, RMSprop
from skfit.schedules import (
    Cosine,
    Exponential,
    InvScaling,
    OneCycle,
    Plateau,
    Step,
)
from skfit.spikes import SpikeDetector

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::skfit.LossSpikeWarning"),
]

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
PROBLEMS = ["regression", "two_outputs", "binary", "multiclass"]
# Agreement to rounding: the kernel sums in its own order.
TOLERANCES = {
    np.float64: {"rtol": 1e-6, "atol": 1e-10},
    np.float32: {"rtol": 1e-3, "atol": 1e-5},
}
# A few epochs of small batches, with a penalty that matters.
BASE = {
    "max_epochs": 5,
    "tol": None,
    "random_state": 0,
    "batch_size": 16,
    "learning_rate": 0.05,
    "alpha": 1e-3,
}


@functools.cache
def _problem_data(name):
    if name == "regression":
        return regression_data(n_samples=60, noise=1.0, n_features=4)
    if name == "two_outputs":
        return regression_data(n_samples=60, noise=1.0, n_features=4, n_targets=2)
    if name == "binary":
        return classification_data(2, n_samples=60)
    if name == "multiclass":
        return classification_data(3, n_samples=60)
    if name == "counts":
        X, _ = regression_data(n_samples=60, noise=1.0, n_features=4)
        rates = np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1] + 1.0)
        return X, np.random.RandomState(0).poisson(rates).astype(float)
    if name == "sparse_truth":
        # Two informative features of six: an l1 penalty zeroes the others.
        X, y = make_regression(
            60, 6, n_informative=2, noise=1.0, bias=2.0, random_state=3
        )
        return StandardScaler().fit_transform(X), y / y.std()
    raise ValueError(name)


def problem(name):
    """``(Estimator, X, y)`` of a named small problem (fresh copies of the data)."""
    X, y = _problem_data(name)
    Estimator = GDClassifier if name in ("binary", "multiclass") else GDRegressor
    return Estimator, X.copy(), y.copy()


def fit_both(make, fit, calls, in_scope=True):
    """Fit ``make()`` with ``fit`` through the compiled loop, then through the
    Python loop; check which loop trained each, and return both estimators."""
    n_before = len(calls)
    compiled = fit(make())
    n_compiled = compiled.n_epochs_ if in_scope else 0
    assert len(calls) - n_before == n_compiled, "compiled loop used wrongly"
    with skfit.config_context(use_numba=False):
        python = fit(make())
    assert len(calls) - n_before == n_compiled, "Python loop compiled"
    return compiled, python


def assert_same_spikes(spikes, expected, rtol=1e-6):
    assert len(spikes) == len(expected)
    for spike, other in zip(spikes, expected, strict=True):
        assert (spike.epoch, spike.batch, spike.n_samples, spike.n_culprits) == (
            other.epoch,
            other.batch,
            other.n_samples,
            other.n_culprits,
        )
        assert_array_equal(spike.sample_indices, other.sample_indices)
        assert spike.sample_indices.dtype == other.sample_indices.dtype
        assert_array_equal(spike.batch_indices, other.batch_indices)
        assert_allclose(
            [spike.loss, spike.baseline, spike.ratio],
            [other.loss, other.baseline, other.ratio],
            rtol=rtol,
        )
        # The culprits' own losses, in float32.
        assert spike.culprit_losses.dtype == other.culprit_losses.dtype == np.float32
        assert_allclose(
            spike.culprit_losses, other.culprit_losses, rtol=max(rtol, 1e-6)
        )


def assert_same_training(compiled, python):
    """Everything observable of two fits agrees, to the tolerance of their dtype."""
    dtype = python._state.network.dtype
    tolerance = TOLERANCES[dtype.type]
    assert compiled._state.network.dtype == dtype
    assert compiled.stop_reason_ == python.stop_reason_
    assert compiled.converged_ == python.converged_
    assert compiled.best_epoch_ == python.best_epoch_
    assert compiled.n_iter_ == python.n_iter_ == compiled.n_epochs_
    assert compiled.t_ == python.t_
    assert_allclose(compiled.best_loss_, python.best_loss_, rtol=tolerance["rtol"])
    assert compiled.coef_.dtype == python.coef_.dtype == dtype
    assert_allclose(compiled.coef_, python.coef_, **tolerance)
    assert_allclose(compiled.intercept_, python.intercept_, **tolerance)
    for key in ("loss", "val_loss", "val_score", "learning_rate", "grad_norm"):
        assert_allclose(
            compiled.history_[key], python.history_[key], **tolerance, err_msg=key
        )
    for key in ("epoch", "n_spikes"):
        assert_array_equal(compiled.history_[key], python.history_[key])
    assert_allclose(
        compiled.history_.batch_loss,
        python.history_.batch_loss,
        rtol=max(tolerance["rtol"], 1e-6),
        atol=tolerance["atol"],
    )
    state, expected = compiled._state.optimizer_state, python._state.optimizer_state
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        if key == "count":
            assert state[key] == value
        else:
            assert_allclose(state[key][0], value[0], **tolerance, err_msg=key)
    assert_same_spikes(compiled.spikes_, python.spikes_, rtol=tolerance["rtol"])


def check_agreement(kernel_calls, name, fit_kwargs=None, **params):
    Estimator, X, y = problem(name)
    fit_kwargs = fit_kwargs or {}
    compiled, python = fit_both(
        lambda: Estimator(**{**BASE, **params}),
        lambda est: est.fit(X, y, **fit_kwargs),
        kernel_calls,
    )
    assert_same_training(compiled, python)
    return compiled, python


# ------------------------------------------------------------ equivalence
LOSSES = {
    "squared_error": "regression",
    "absolute_error": "two_outputs",
    "huber": "regression",
    "epsilon_insensitive": "regression",
    "poisson": "counts",
    "log_loss": "multiclass",
    "hinge": "binary",
    "squared_hinge": "multiclass",
    "modified_huber": "binary",
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_agrees(kernel_calls, loss):
    # Both loops call each loss's one compiled formula.
    compiled, _ = check_agreement(kernel_calls, LOSSES[loss], loss=loss)
    assert compiled.history_["loss"][-1] < compiled.history_["loss"][0]


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_and_problem_agrees(kernel_calls, optimizer, name):
    compiled, _ = check_agreement(kernel_calls, name, optimizer=optimizer)
    assert compiled.t_ == 5 * 4  # 60 rows in batches of 16, 5 epochs
    assert compiled.history_["loss"][-1] < compiled.history_["loss"][0]


@pytest.mark.parametrize(
    "optimizer",
    [
        SGD(),
        Momentum(momentum=0.5),
        Nesterov(momentum=0.3),
        Adagrad(epsilon=1e-3, initial_accumulator=0.5),
        RMSprop(rho=0.5, epsilon=1e-4),
        Adam(beta1=0.5, beta2=0.9, epsilon=1e-3),
        AdamW(beta1=0.7, beta2=0.99, epsilon=1e-4),
    ],
    ids=repr,
)
def test_optimizer_settings_are_honoured(kernel_calls, optimizer):
    compiled, _ = check_agreement(kernel_calls, "multiclass", optimizer=optimizer)
    if optimizer.get_params():
        # The settings matter: the defaults train elsewhere.
        default = check_agreement(
            kernel_calls, "multiclass", optimizer=type(optimizer)()
        )[0]
        assert not np.allclose(compiled.coef_, default.coef_, rtol=1e-3)


@pytest.mark.parametrize("name", ["sparse_truth", "multiclass"])
@pytest.mark.parametrize(
    "penalty, optimizer",
    [
        (None, "adam"),
        ("l2", "sgd"),
        ("l2", "adam"),
        ("l1", "sgd"),
        ("l1", "adam"),
        ("elasticnet", "momentum"),
        ("l2", "adamw"),
        ("elasticnet", "adamw"),
    ],
)
def test_penalties_agree(kernel_calls, name, penalty, optimizer):
    compiled, python = check_agreement(
        kernel_calls,
        name,
        penalty=penalty,
        optimizer=optimizer,
        alpha=0.2,
        l1_ratio=0.5,
        max_epochs=8,
    )
    if penalty == "l1" and name == "sparse_truth":
        # Soft-thresholding reaches exact zeros, the same ones in both loops.
        zeros = compiled.coef_ == 0
        assert zeros.any() and not zeros.all()
        assert_array_equal(zeros, python.coef_ == 0)


def test_penalty_strength_reaches_the_kernel(kernel_calls):
    weak = check_agreement(kernel_calls, "regression", penalty="l2", alpha=1e-4)[0]
    strong = check_agreement(kernel_calls, "regression", penalty="l2", alpha=1.0)[0]
    assert np.abs(strong.coef_).sum() < 0.8 * np.abs(weak.coef_).sum()
    decayed = check_agreement(
        kernel_calls, "regression", optimizer="adamw", penalty="l2", alpha=1.0
    )[0]
    plain = check_agreement(
        kernel_calls, "regression", optimizer="adamw", penalty=None
    )[0]
    assert np.abs(decayed.coef_).sum() < 0.8 * np.abs(plain.coef_).sum()


def random_weights(n, seed=0):
    weights = np.random.default_rng(seed).uniform(0.1, 3.0, n)
    weights[[0, 13, 14]] = 0.0
    return weights


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize(
    "batch_size, shuffle", [(30, True), (7, False), (16, True), (1, False)]
)
def test_sample_weights_agree(kernel_calls, name, batch_size, shuffle):
    # With one row per batch, unshuffled, rows 0, 13 and 14 are batches of zero
    # weight: their objective is the penalty alone and they move nothing.
    compiled, python = check_agreement(
        kernel_calls,
        name,
        fit_kwargs={"sample_weight": random_weights(60)},
        batch_size=batch_size,
        shuffle=shuffle,
        optimizer="sgd",
        max_epochs=3,
    )
    if batch_size == 1:
        # Row 0 alone: the penalty of the initial zero weights.
        assert compiled.history_.batch_loss[0] == 0.0
        assert python.history_.batch_loss[0] == 0.0
    unweighted = check_agreement(
        kernel_calls,
        name,
        batch_size=batch_size,
        shuffle=shuffle,
        optimizer="sgd",
        max_epochs=3,
    )[0]
    assert not np.allclose(compiled.coef_, unweighted.coef_, rtol=1e-3)


@pytest.mark.parametrize(
    "penalty, optimizer",
    [("l2", "sgd"), ("l1", "sgd"), ("elasticnet", "adam"), ("elasticnet", "adamw")],
)
def test_weighted_batches_scale_the_penalty_alike(kernel_calls, penalty, optimizer):
    # Unequal batch weights give each batch its own share of the penalty (scale),
    # in the gradient, the decoupled decay and the l1 threshold.
    weights = random_weights(60, seed=2)
    weights[:20] *= 4.0
    compiled, _ = check_agreement(
        kernel_calls,
        "sparse_truth",
        fit_kwargs={"sample_weight": weights},
        penalty=penalty,
        optimizer=optimizer,
        alpha=0.2,
        batch_size=10,
        shuffle=False,
    )
    # Equal weights scale nothing: the weighted fit trains elsewhere.
    equal = check_agreement(
        kernel_calls,
        "sparse_truth",
        fit_kwargs={"sample_weight": np.full(60, weights.mean())},
        penalty=penalty,
        optimizer=optimizer,
        alpha=0.2,
        batch_size=10,
        shuffle=False,
    )[0]
    assert not np.allclose(compiled.coef_, equal.coef_, rtol=1e-3)


def test_class_weights_agree(kernel_calls):
    check_agreement(
        kernel_calls,
        "multiclass",
        class_weight={0: 0.2, 1: 1.0, 2: 3.0},
        fit_kwargs={"sample_weight": random_weights(60, seed=1)},
    )
    check_agreement(kernel_calls, "binary", class_weight="balanced")


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_without_intercept_agrees(kernel_calls, name, optimizer):
    compiled, python = check_agreement(
        kernel_calls, name, fit_intercept=False, optimizer=optimizer
    )
    assert_array_equal(compiled.intercept_, 0.0)
    assert_array_equal(python.intercept_, 0.0)


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad"])
def test_float32_agrees(kernel_calls, name, optimizer):
    Estimator, X, y = problem(name)
    X = X.astype(np.float32)
    compiled, python = fit_both(
        lambda: Estimator(**{**BASE, "optimizer": optimizer}),
        lambda est: est.fit(X, y),
        kernel_calls,
    )
    assert kernel_calls[-1].dtype == np.float32
    assert compiled.coef_.dtype == np.float32
    assert_same_training(compiled, python)


@pytest.mark.parametrize("name", ["regression", "multiclass"])
@pytest.mark.parametrize(
    "batch_size, shuffle",
    [(7, False), (16, True), (1, True), (59, False), (59, True), (30, True)],
)
def test_batching_agrees(kernel_calls, name, batch_size, shuffle):
    compiled, _ = check_agreement(
        kernel_calls, name, batch_size=batch_size, shuffle=shuffle, optimizer="adam"
    )
    n_batches = -(-60 // batch_size)
    assert compiled.t_ == 5 * n_batches
    assert len(compiled.history_.batch_loss) == 5 * n_batches


def test_shuffling_changes_the_compiled_result(kernel_calls):
    # The kernel really walks the rows in the order it is given.
    ordered = check_agreement(kernel_calls, "regression", batch_size=7, shuffle=False)
    shuffled = check_agreement(kernel_calls, "regression", batch_size=7, shuffle=True)
    assert not np.allclose(ordered[0].coef_, shuffled[0].coef_, rtol=1e-4)


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("shuffle", [False, True])
def test_early_stopping_on_a_validation_share_agrees(kernel_calls, name, shuffle):
    compiled, _ = check_agreement(
        kernel_calls,
        name,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=2,
        learning_rate=0.3,
        max_epochs=40,
        shuffle=shuffle,
        fit_kwargs={"sample_weight": random_weights(60)},
    )
    assert compiled.stop_reason_ == "early_stopping"
    assert compiled.best_epoch_ < compiled.n_epochs_
    assert np.all(np.isfinite(compiled.history_["val_loss"]))
    # 45 training rows in batches of 16.
    assert compiled.t_ == 3 * compiled.n_epochs_


@pytest.mark.parametrize("name", ["regression", "binary"])
def test_validation_share_without_early_stopping_agrees(kernel_calls, name):
    compiled, _ = check_agreement(
        kernel_calls, name, validation_fraction=0.3, batch_size=5, shuffle=False
    )
    assert np.all(np.isfinite(compiled.history_["val_score"]))


@pytest.mark.parametrize(
    "reason, params",
    [
        (
            "tol",
            {"tol": 1e-3, "max_epochs": 200, "n_iter_no_change": 3, "finish": None},
        ),
        ("loss_threshold", {"loss_threshold": 0.3, "max_epochs": 200}),
    ],
)
def test_stopping_rules_agree(kernel_calls, reason, params):
    compiled, _ = check_agreement(
        kernel_calls, "binary", optimizer="sgd", learning_rate=0.02, **params
    )
    assert compiled.stop_reason_ == reason
    assert compiled.n_epochs_ < 200
    # A threshold reached is convergence; a tol stop at a rate the schedule has
    # not lowered may be a noise floor, and is not.
    lowered = compiled.history_["learning_rate"][-1] < compiled.learning_rate
    assert compiled.converged_ == (reason == "loss_threshold" or bool(lowered))


@pytest.mark.parametrize(
    "schedule",
    [
        "invscaling",
        InvScaling(power_t=0.5),
        Step(step_size=3, gamma=0.5),
        Exponential(gamma=0.9),
        "cosine",
        OneCycle(pct_start=0.4),
        Cosine(min_multiplier=0.1),
        # A loss that never improves by half: the rate halves after every epoch.
        Plateau(factor=0.5, patience=1, threshold=0.5),
    ],
    ids=repr,
)
def test_schedules_agree(kernel_calls, schedule):
    compiled, _ = check_agreement(
        kernel_calls, "multiclass", schedule=schedule, optimizer="momentum"
    )
    # The rate changes over the fit: the kernel applies the per-step rates.
    assert len(np.unique(compiled.history_["learning_rate"])) >= 4


def test_a_plain_function_schedule_agrees(kernel_calls):
    compiled, _ = check_agreement(
        kernel_calls, "regression", schedule=lambda t: 1.0 / (1.0 + t) ** 0.5
    )
    # The record holds the rate of the last update of each epoch (t = 3, 7, ...).
    assert_allclose(
        compiled.history_["learning_rate"], 0.05 / np.sqrt(4.0 * np.arange(1, 6))
    )


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("optimizer", ["adam", "momentum", "adagrad"])
def test_partial_fit_continues_the_same_way(kernel_calls, name, optimizer):
    Estimator, X, y = problem(name)
    classes = {"classes": np.unique(y)} if Estimator is GDClassifier else {}
    params = {**BASE, "optimizer": optimizer, "batch_size": 8}
    chunks = [slice(0, 20), slice(20, 45), slice(45, 60), slice(0, 60)]
    compiled, python = Estimator(**params), Estimator(**params)
    for call, rows in enumerate(chunks, start=1):
        compiled.partial_fit(X[rows], y[rows], **classes)
        assert len(kernel_calls) == call
        with skfit.config_context(use_numba=False):
            python.partial_fit(X[rows], y[rows], **classes)
        assert len(kernel_calls) == call
        assert_same_training(compiled, python)
    assert compiled.t_ == 3 + 4 + 2 + 8
    if optimizer == "adam":
        assert compiled._state.optimizer_state["count"] == compiled.t_


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "nesterov"])
def test_switching_loops_between_calls_continues_the_same_way(kernel_calls, optimizer):
    # The kernel's packed parameters and moments are unpacked into the same
    # state the Python loop reads: any mix of loops trains alike.
    Estimator, X, y = problem("two_outputs")
    params = {**BASE, "optimizer": optimizer, "batch_size": 8}
    mixed, python = Estimator(**params), Estimator(**params)
    for call in range(4):
        with skfit.config_context(use_numba=call % 2 == 0):
            mixed.partial_fit(X, y)
        with skfit.config_context(use_numba=False):
            python.partial_fit(X, y)
    assert len(kernel_calls) == 2
    assert_same_training(mixed, python)


def test_warm_start_agrees(kernel_calls):
    Estimator, X, y = problem("multiclass")

    def fit_twice(est):
        est.fit(X, y)
        return est.set_params(max_epochs=3, learning_rate=0.01).fit(X, y)

    compiled, python = fit_both(
        lambda: Estimator(**{**BASE, "warm_start": True}), fit_twice, kernel_calls
    )
    assert compiled.n_epochs_ == 8
    assert_same_training(compiled, python)


# ------------------------------------------------------------ scope
class EpochCounter(Callback):
    def on_train_begin(self, estimator):
        self.epochs = 0

    def on_epoch_end(self, estimator, record):
        self.epochs += 1


class BatchCounter(Callback):
    def on_train_begin(self, estimator):
        self.batches = 0

    def on_batch_end(self, estimator, batch_record):
        self.batches += 1


class HalfSquares:
    """A user's loss object: the kernel cannot know what it computes."""

    def loss(self, y, raw):
        return 0.5 * ((raw - y) ** 2).sum(axis=1)

    def gradient(self, y, raw):
        return raw - y


class MyAdam(Adam):
    """A user's optimizer: the kernel cannot know what it does."""

    def update(self, grads, state, learning_rate):
        steps, state = super().update(grads, state, learning_rate)
        return [2.0 * step for step in steps], state


def test_an_epoch_callback_keeps_the_compiled_loop(kernel_calls):
    counter = EpochCounter()
    Estimator, X, y = problem("regression")
    Estimator(**BASE, callbacks=[counter]).fit(X, y)
    assert len(kernel_calls) == counter.epochs == 5


OUT_OF_SCOPE = {
    "mlp_regressor": (MLPRegressor, "regression", {"hidden_layer_sizes": (3,)}),
    "mlp_classifier": (MLPClassifier, "multiclass", {"hidden_layer_sizes": (3,)}),
    "user_loss": (GDRegressor, "regression", {"loss": HalfSquares}),
    "skip": (GDRegressor, "regression", {"spike_policy": "skip"}),
    "rollback": (GDRegressor, "regression", {"spike_policy": "rollback"}),
    "raise": (GDClassifier, "multiclass", {"spike_policy": "raise"}),
    "user_optimizer": (GDRegressor, "two_outputs", {"optimizer": MyAdam}),
    "full_batch": (GDRegressor, "regression", {"batch_size": None}),
    "one_batch": (GDClassifier, "binary", {"batch_size": 60}),
    "larger_batch": (GDClassifier, "multiclass", {"batch_size": 100}),
    "one_training_batch": (
        GDRegressor,
        "two_outputs",
        {"batch_size": 45, "validation_fraction": 0.25},
    ),
}


@pytest.mark.parametrize("case", sorted(OUT_OF_SCOPE))
def test_out_of_scope_fits_train_in_python(kernel_calls, case):
    Estimator, name, params = OUT_OF_SCOPE[case]
    params = dict(params)
    if case == "user_optimizer":
        params["optimizer"] = MyAdam()
    elif case == "user_loss":
        params["loss"] = HalfSquares()
    _, X, y = problem(name)
    est = Estimator(**{**BASE, **params}).fit(X, y)
    assert kernel_calls == []
    assert est.n_epochs_ == 5


@pytest.mark.parametrize("name", ["regression", "multiclass"])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_an_observing_batch_callback_changes_no_bit(
    kernel_calls, name, shuffle, sparse
):
    # The callbacks hear of each batch between kernel calls of one batch each,
    # whose arithmetic is the epoch kernel's: the same parameters to the bit.
    Estimator, X, y = problem(name)
    if sparse:
        X = sparse_rows(X)
    params = {**BASE, "shuffle": shuffle, "penalty": "elasticnet"}
    plain = Estimator(**params).fit(X, y)
    n_plain = len(kernel_calls)
    counter = BatchCounter()
    observed = Estimator(**params, callbacks=[counter]).fit(X, y)
    assert len(kernel_calls) - n_plain == 5 * 4  # one call per batch
    assert counter.batches == 5 * 4
    assert_array_equal(observed.coef_, plain.coef_)
    assert_array_equal(observed.intercept_, plain.intercept_)
    assert observed.t_ == plain.t_
    assert_allclose(observed.history_["loss"], plain.history_["loss"], rtol=1e-12)


@pytest.mark.parametrize(
    "convert",
    [np.asfortranarray, lambda X: X[:, ::2]],
    ids=["fortran", "strided"],
)
def test_non_c_ordered_dense_X_trains_compiled_to_the_same_bits(kernel_calls, convert):
    # Validation puts X in C order once, so every layout trains in the kernel,
    # to the very parameters of the C-ordered array.
    Estimator, X, y = problem("regression")
    X_converted = convert(X)
    assert not X_converted.flags.c_contiguous
    est = Estimator(**BASE).fit(X_converted, y)
    assert len(kernel_calls) == 5
    same = Estimator(**BASE).fit(np.ascontiguousarray(X_converted), y)
    assert_array_equal(same.coef_, est.coef_)


@pytest.mark.parametrize("sparse_input", [False, True], ids=["dense", "csr"])
def test_read_only_and_writable_data_share_one_compiled_kernel(sparse_input):
    # joblib hands a parallel search's workers read-only memory maps: they must
    # train in the kernel their parent compiled, not compile another variant.
    from skfit._training._compiled_batches import _train_epoch
    from skfit.losses._base import loss_gradient_rows

    Estimator, X, y = problem("binary")
    X = sp.csr_matrix(X) if sparse_input else X
    writable = Estimator(**BASE).fit(X, y)
    n_kernels = len(_train_epoch.dispatcher.signatures)
    n_formulas = len(loss_gradient_rows.dispatcher.signatures)

    def frozen(array):
        array = array.copy()
        array.flags.writeable = False
        return array

    if sparse_input:
        X = sp.csr_matrix((frozen(X.data), frozen(X.indices), frozen(X.indptr)))
    else:
        X = frozen(X)
    read_only = Estimator(**BASE).fit(X, frozen(y))
    assert len(_train_epoch.dispatcher.signatures) == n_kernels
    assert len(loss_gradient_rows.dispatcher.signatures) == n_formulas
    assert_array_equal(read_only.coef_, writable.coef_)


# ------------------------------------------------------------ CSR rows
def sparse_rows(X, seed=0):
    """``X`` with about half its entries zeroed, one row empty, as CSR."""
    X = X * (np.random.default_rng(seed).random(X.shape) < 0.5)
    X[7] = 0.0
    return sp.csr_matrix(X)


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize(
    "optimizer, batch_size, shuffle",
    [("sgd", 7, False), ("adam", 16, True), ("momentum", 1, True)],
)
def test_csr_rows_agree(kernel_calls, name, optimizer, batch_size, shuffle):
    Estimator, X, y = problem(name)
    X_csr = sparse_rows(X)
    params = {
        **BASE,
        "optimizer": optimizer,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "penalty": "elasticnet",
    }
    compiled, python = fit_both(
        lambda: Estimator(**params), lambda est: est.fit(X_csr, y), kernel_calls
    )
    assert isinstance(kernel_calls[-1], tuple)  # (data, indices, indptr)
    assert_same_training(compiled, python)


@pytest.mark.parametrize("name", PROBLEMS)
def test_sparse_updates_without_penalty_are_the_dense_ones_for_sgd(name):
    # A feature absent from a batch has no gradient there: skipping its weight
    # changes nothing for plain SGD without a penalty.
    Estimator, X, y = problem(name)
    X_csr = sparse_rows(X)
    params = {**BASE, "optimizer": "sgd", "batch_size": 7, "penalty": None}
    sparse_fit = Estimator(**params).fit(X_csr, y)
    dense_fit = Estimator(**params).fit(X_csr.toarray(), y)
    assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(sparse_fit.intercept_, dense_fit.intercept_, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_sparse_mini_batches_reach_the_penalised_optimum(kernel_calls, optimizer):
    # A sparse batch moves only the weights of its features; their penalty is
    # scaled by 1 / P(a batch holds the feature), so that training still reaches
    # Ridge's solution of the same objective.
    rng = np.random.default_rng(0)
    n, d = 400, 30
    X = sp.random(n, d, density=0.08, format="csr", random_state=1) * 3.0
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    alpha = 0.05
    ridge = Ridge(alpha=alpha * n, solver="cholesky").fit(X.toarray(), y)
    est = GDRegressor(
        optimizer=optimizer,
        learning_rate=0.05 if optimizer == "sgd" else 0.01,
        schedule="invscaling",
        batch_size=20,
        alpha=alpha,
        max_epochs=600,
        tol=None,
        random_state=0,
    ).fit(X, y)
    assert len(kernel_calls) == 600
    assert_allclose(est.coef_, ridge.coef_, atol=2e-2)


@pytest.mark.parametrize("name", ["regression", "multiclass"])
def test_csr_with_weights_and_a_validation_share_agrees(kernel_calls, name):
    Estimator, X, y = problem(name)
    X_csr = sparse_rows(X, seed=1)
    compiled, python = fit_both(
        lambda: Estimator(**{**BASE, "validation_fraction": 0.25}),
        lambda est: est.fit(X_csr, y, sample_weight=random_weights(60)),
        kernel_calls,
    )
    assert_same_training(compiled, python)


def test_float32_csr_agrees(kernel_calls):
    Estimator, X, y = problem("binary")
    X_csr = sparse_rows(X).astype(np.float32)
    compiled, python = fit_both(
        lambda: Estimator(**BASE), lambda est: est.fit(X_csr, y), kernel_calls
    )
    assert kernel_calls[-1][0].dtype == np.float32
    assert_same_training(compiled, python)


def test_non_canonical_csr_agrees(kernel_calls):
    # Unsorted column indices, a duplicated entry and a stored zero: the kernel
    # reads each stored entry as the Python loop's sparse products do.
    Estimator, X, y = problem("two_outputs")
    X_csr = sparse_rows(X, seed=2)
    coo = X_csr.tocoo()
    order = np.random.default_rng(0).permutation(coo.nnz)
    rows = np.r_[coo.row[order], 3, 3, 10]
    cols = np.r_[coo.col[order], 1, 1, 2]
    values = np.r_[coo.data[order], 0.25, 0.5, 0.0]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=60))]
    by_row = np.argsort(rows, kind="stable")
    messy = sp.csr_matrix((values[by_row], cols[by_row], indptr), shape=X_csr.shape)
    assert not messy.has_canonical_format
    compiled, python = fit_both(
        lambda: Estimator(**BASE), lambda est: est.fit(messy, y), kernel_calls
    )
    assert_same_training(compiled, python)
    dense = Estimator(**BASE).fit(messy.toarray(), y)
    assert_allclose(compiled.coef_, dense.coef_, rtol=1e-6, atol=1e-10)


def test_csr_partial_fit_continues_the_same_way(kernel_calls):
    Estimator, X, y = problem("multiclass")
    X_csr = sparse_rows(X)
    params = {**BASE, "batch_size": 8, "optimizer": "rmsprop"}
    compiled, python = Estimator(**params), Estimator(**params)
    for call, rows in enumerate([slice(0, 30), slice(30, 60), slice(0, 60)], 1):
        compiled.partial_fit(X_csr[rows], y[rows], classes=[0, 1, 2])
        with skfit.config_context(use_numba=False):
            python.partial_fit(X_csr[rows], y[rows], classes=[0, 1, 2])
        assert len(kernel_calls) == call
        assert_same_training(compiled, python)


def test_use_numba_false_trains_in_python(kernel_calls):
    Estimator, X, y = problem("binary")
    with skfit.config_context(use_numba=False):
        Estimator(**BASE).fit(X, y)
    assert kernel_calls == []
    skfit.set_config(use_numba=False)
    try:
        Estimator(**BASE).fit(X, y)
    finally:
        skfit.set_config(use_numba=True)
    assert kernel_calls == []
    Estimator(**BASE).fit(X, y)
    assert len(kernel_calls) == 5


def test_the_compiled_loop_is_the_default():
    assert skfit.get_config()["use_numba"] is True


# ------------------------------------------------------------ spikes
def spiky_regression(bad=(5, 150, 333)):
    X, y = regression_data(n_samples=400, noise=5.0, n_features=6)
    y[list(bad)] *= 1e3
    return X, y


def fit_recording_warnings(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    est.caught_ = [
        str(w.message) for w in caught if issubclass(w.category, LossSpikeWarning)
    ]
    return est


@pytest.mark.parametrize("policy", ["warn", "ignore"])
@pytest.mark.parametrize("validation_fraction", [None, 0.2])
def test_spike_records_and_warnings_agree(kernel_calls, policy, validation_fraction):
    bad = (5, 150, 333)
    X, y = spiky_regression(bad)
    compiled, python = fit_both(
        lambda: GDRegressor(
            max_epochs=4,
            tol=None,
            random_state=0,
            batch_size=16,
            spike_policy=policy,
            validation_fraction=validation_fraction,
        ),
        lambda est: fit_recording_warnings(est, X, y),
        kernel_calls,
    )
    assert_same_training(compiled, python)
    assert len(compiled.spikes_) >= 3
    assert compiled.history_["n_spikes"].sum() == len(compiled.spikes_)
    # The records point at the bad rows, by their row numbers in X: each batch
    # holds one, and once the per-row check has warmed up, the bad rows alone are
    # named, as the culprits.
    assert all(np.isin(s.batch_indices, bad).any() for s in compiled.spikes_)
    assert all(s.n_samples == len(s.batch_indices) for s in compiled.spikes_)
    named = [s for s in compiled.spikes_ if s.n_culprits]
    assert named
    assert all(np.isin(s.sample_indices, bad).all() for s in named)
    assert all(s.ratio > 100 for s in compiled.spikes_)
    if policy == "warn":
        assert len(compiled.caught_) == 1
        assert compiled.caught_ == python.caught_
        assert f"{len(compiled.spikes_)} loss spike(s)" in compiled.caught_[0]
    else:
        assert compiled.caught_ == python.caught_ == []


# ------------------------------------------------------------ culprit rows
CULPRITS = [7, 130, 260, 333]


def data_with_culprits(name):
    """400 rows, enough for the per-row check to warm up within a fit: targets
    moved by 20 standard deviations, or features inflated 30 times with another
    class."""
    if name == "regression":
        X, y = regression_data(n_samples=400, noise=1.0, n_features=6)
        y[CULPRITS] += 20 * y.std()
    else:
        X, y = classification_data(3, n_samples=400, n_features=6)
        X[CULPRITS] *= 30
        y[CULPRITS] = (y[CULPRITS] + 1) % 3
    return X, y


@pytest.mark.parametrize("name", ["regression", "multiclass"])
@pytest.mark.parametrize(
    "variant", ["shuffled", "in_order", "float32", "csr", "weights", "validation"]
)
def test_culprit_rows_agree(kernel_calls, name, variant):
    # The kernel flags rows in its row loop and the spike watch replays them; the
    # Python runner checks each batch's rows: the same culprits, losses and
    # statistics, under every way of feeding the rows.
    X, y = data_with_culprits(name)
    Estimator = GDRegressor if name == "regression" else GDClassifier
    params = {**BASE, "batch_size": 16, "max_epochs": 4, "spike_policy": "ignore"}
    fit_kwargs = {}
    if variant == "in_order":
        params["shuffle"] = False
    elif variant == "float32":
        X = X.astype(np.float32)
    elif variant == "csr":
        X = sp.csr_matrix(X)
    elif variant == "weights":
        fit_kwargs["sample_weight"] = random_weights(400)
    elif variant == "validation":
        params["validation_fraction"] = 0.2
    compiled, python = fit_both(
        lambda: Estimator(**params),
        lambda est: est.fit(X, y, **fit_kwargs),
        kernel_calls,
    )
    assert_same_training(compiled, python)
    named = [s for s in compiled.spikes_ if s.n_culprits]
    assert named
    assert np.isin(np.concatenate([s.sample_indices for s in named]), CULPRITS).all()
    rtol = TOLERANCES[compiled._state.network.dtype.type]["rtol"]
    assert_allclose(
        compiled._state.row_detector.stats,
        python._state.row_detector.stats,
        rtol=rtol,
    )


def test_culprit_rows_agree_over_partial_fit_calls(kernel_calls):
    # Each call is shorter than the per-row warm-up: the statistics the kernel
    # updates in place carry over to the next call as the Python runner's do.
    X, y = data_with_culprits("multiclass")
    classes = {"classes": np.unique(y)}
    params = {**BASE, "batch_size": 16, "spike_policy": "ignore"}
    compiled, python = GDClassifier(**params), GDClassifier(**params)
    for rows in (slice(0, 250), slice(250, 400), slice(0, 400), slice(0, 400)):
        compiled.partial_fit(X[rows], y[rows], **classes)
        with skfit.config_context(use_numba=False):
            python.partial_fit(X[rows], y[rows], **classes)
        assert_same_training(compiled, python)
    assert any(s.n_culprits for s in compiled.spikes_)


# ------------------------------------------------------------ divergence
@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_divergence_restores_the_same_best_epoch(kernel_calls, optimizer):
    # A rate that grows by a fifth each update: training improves, then explodes.
    Estimator, X, y = problem("regression")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled, python = fit_both(
            lambda: Estimator(
                **{
                    **BASE,
                    "optimizer": optimizer,
                    "learning_rate": 0.02,
                    "schedule": Exponential(gamma=1.2),
                    "batch_size": 30,
                    "max_epochs": 100,
                }
            ),
            lambda est: est.fit(X, y),
            kernel_calls,
        )
    divergence_warnings = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ConvergenceWarning) and "diverged" in str(w.message)
    ]
    # One per loop, suggesting the same smaller rate.
    assert len(divergence_warnings) == 2
    assert divergence_warnings[0] == divergence_warnings[1]
    assert compiled.stop_reason_ == python.stop_reason_ == "diverged"
    assert 1 < compiled.best_epoch_ < compiled.n_epochs_
    assert np.all(np.isfinite(compiled.coef_))
    assert np.all(np.isfinite(compiled.intercept_))
    assert_same_training(compiled, python)
    # The restored parameters are the best epoch's: refit to that epoch.
    best = Estimator(
        **{
            **BASE,
            "optimizer": optimizer,
            "learning_rate": 0.02,
            "schedule": Exponential(gamma=1.2),
            "batch_size": 30,
            "max_epochs": compiled.best_epoch_ - 1,
        }
    ).fit(X, y)
    assert_allclose(compiled.coef_, best.coef_, rtol=1e-6, atol=1e-10)


# ------------------------------------------------------------ non-finite batches
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("policy", ["warn", "ignore"])
def test_a_non_finite_batch_is_skipped_alike(kernel_calls, optimizer, policy):
    # A row of 1e200 overflows the squared error (and its gradient's norm): the
    # batch that holds it, rows 14..20, is never applied.
    Estimator, X, y = problem("regression")
    X[20, 1] = 1e200
    kept = np.r_[0:14, 21:60]
    # The target's units are set from all rows, so that training without the
    # batch (below) is training in the same units, the batch's targets keep the
    # median of |y| (the unit without an intercept): three below it, one at it,
    # three above.
    middle = np.median(np.abs(y[kept]))
    y[14:21] = [0.0, 0.0, 0.0, middle, 10 * middle, 10 * middle, 10 * middle]
    params = {
        **BASE,
        "optimizer": optimizer,
        "batch_size": 7,
        "shuffle": False,
        "fit_intercept": False,
    }
    compiled, python = fit_both(
        lambda: Estimator(**params, spike_policy=policy),
        lambda est: fit_recording_warnings(est, X, y),
        kernel_calls,
    )
    assert_same_training(compiled, python)
    n_batches = 9  # 60 rows in batches of 7
    assert compiled.t_ == 5 * (n_batches - 1)
    assert [(s.epoch, s.batch) for s in compiled.spikes_] == [
        (epoch, 2) for epoch in range(1, 6)
    ]
    for spike in compiled.spikes_:
        assert spike.ratio == np.inf
        # The row whose loss overflowed is named, in its batch.
        assert_array_equal(spike.sample_indices, [20])
        assert spike.culprit_losses.tolist() == [np.inf]
        assert_array_equal(spike.batch_indices, np.arange(14, 21))
    assert np.all(np.isfinite(compiled.coef_))
    assert np.all(np.isfinite(compiled.history_["loss"]))
    assert len(compiled.caught_) == (policy == "warn")
    # Skipping the batch is training without it: the other rows move alike.
    with skfit.config_context(use_numba=False):
        without = Estimator(**params)
        # Batches of 7 over the kept rows are the same batches as before.
        without.fit(X[kept], y[kept])
    assert_allclose(compiled.coef_, without.coef_, rtol=1e-6, atol=1e-10)


# ------------------------------------------------------------ interrupts
@pytest.mark.parametrize("where", ["kernel", "replay"])
def test_an_interrupt_keeps_the_compiled_epoch(monkeypatch, where):
    # Ctrl-C surfaces when the compiled call returns, or later in the epoch's
    # bookkeeping: either way the epoch's updates and its record are kept.
    Estimator, X, y = problem("regression")
    expected = Estimator(**{**BASE, "max_epochs": 2}).fit(X, y)
    kernel, check_run = _compiled._train_epoch, SpikeDetector.check_run
    epochs = []

    def interrupted_on_the_second_epoch(function):
        def wrapper(*args):
            result = function(*args)
            epochs.append(function)
            if epochs.count(function) == 2:
                raise KeyboardInterrupt
            return result

        return wrapper

    if where == "kernel":
        monkeypatch.setattr(
            _compiled, "_train_epoch", interrupted_on_the_second_epoch(kernel)
        )
    else:
        monkeypatch.setattr(
            SpikeDetector, "check_run", interrupted_on_the_second_epoch(check_run)
        )
    est = Estimator(**BASE)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert est.stop_reason_ == "interrupted"
    assert est.n_epochs_ == 2
    assert est.t_ == expected.t_
    assert len(est.history_.batch_loss) == len(expected.history_.batch_loss)
    assert_allclose(est.coef_, expected.coef_, rtol=1e-12)
    assert_allclose(est.history_["loss"], expected.history_["loss"], rtol=1e-12)


# ------------------------------------------------------------ configuration
def test_jit_compiles_without_a_writable_cache(monkeypatch):
    # numba refuses cache=True where no cache directory is writable (a read-only
    # installation); skfit then compiles without a cache instead of failing.
    from skfit import _numba

    njit = numba.njit

    def no_cache_location(*args, cache=False, **kwargs):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return njit(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache_location)

    def add(a, b):
        return a + b

    compiled = _numba.jit(add)
    assert compiled(2, 3) == 5
    assert compiled.py_func is add


SUMMING = """from skfit._numba import jit


@jit
def total(values):
    result = 0.0
    for value in values:
        result += value
    return result
"""

#: Another process: it sums with summing.total and prints the sum and how many
#: functions it compiled.
OTHER_PROCESS = """import sys, numpy
sys.path.insert(0, {folder!r})
from numba.core import event
from skfit import _numba
_numba.TURN_TIMEOUT = {timeout}
compiled = []
class Count(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"])
    def on_end(self, ev): pass
event.register("numba:compile", Count())
import summing
print(summing.total(numpy.arange(4.0)), len(compiled))
"""


def waits_for_its_turn(pid):
    """Whether process ``pid`` holds a turn's lock file open (Linux's /proc)."""
    folder = f"/proc/{pid}/fd"
    try:
        targets = [os.readlink(os.path.join(folder, fd)) for fd in os.listdir(folder)]
    except OSError:  # it ended, or closed a file meanwhile
        return False
    return any(".skfit-turn-" in target for target in targets)


def compile_while_another_process_asks(folder, timeout):
    """Compile summing.total here, and while this process holds the turn, start
    another process that needs the same; return it, and whether it was seen
    waiting for its turn before this compilation ended."""
    from numba.core import event

    (folder / "summing.py").write_text(SUMMING)
    sys.path.insert(0, str(folder))
    try:
        import summing
    finally:
        sys.path.remove(str(folder))
    seen = []

    class StartTheOtherAndWait(event.Listener):
        # Runs inside this process's compilation, while it holds the turn.
        def on_start(self, ev):
            if ev.data["dispatcher"].py_func is not summing.total.py_func:
                return
            script = OTHER_PROCESS.format(folder=str(folder), timeout=timeout)
            other = subprocess.Popen(
                [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
            )
            seen.append(other)
            for _ in range(1200):
                if waits_for_its_turn(other.pid) or other.poll() is not None:
                    break
                time.sleep(0.1)
            seen.append(waits_for_its_turn(other.pid))
            if timeout < 60:
                # Hold the turn past the other process's patience.
                other.wait(timeout=300)

        def on_end(self, ev):
            pass

    listener = StartTheOtherAndWait()
    event.register("numba:compile", listener)
    try:
        assert summing.total(np.arange(3.0)) == 3.0
    finally:
        event.unregister("numba:compile", listener)
        del sys.modules["summing"]
    return seen


@pytest.mark.skipif(
    not os.path.isdir(f"/proc/{os.getpid()}/fd"), reason="reads /proc/<pid>/fd"
)
@pytest.mark.parametrize(
    "timeout, compiled_there",
    [(300, "0"), (0.5, "1")],
    ids=["waits_then_loads", "compiles_once_its_patience_ends"],
)
def test_processes_needing_one_compilation_take_turns(
    tmp_path, timeout, compiled_there
):
    # A parallel search's workers start together on an empty cache: while one
    # compiles a function for some argument types, another that needs the same
    # waits, then loads the result from the cache instead of compiling it too.
    # The one holding the turn may be stopped (in a debugger, say): the others
    # wait TURN_TIMEOUT seconds, then compile for themselves.
    other, waited = compile_while_another_process_asks(tmp_path, timeout)
    output, _ = other.communicate(timeout=300)
    assert other.returncode == 0
    assert waited, "the other process compiled without waiting for its turn"
    assert output.split() == ["6.0", compiled_there]


#: A process that sums with summing.total, its compiled functions stamped with a
#: given digest of skfit's sources; it prints how many functions it compiled.
STAMPED_PROCESS = """import sys, numpy
sys.path.insert(0, {folder!r})
from numba.core import event
from skfit import _numba
_numba._package_digest = lambda: {digest!r}
compiled = []
class Count(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"])
    def on_end(self, ev): pass
event.register("numba:compile", Count())
import summing
assert summing.total(numpy.arange(4.0)) == 6.0
print(len(compiled))
"""


def test_a_cache_serves_only_code_compiled_from_the_present_sources(tmp_path):
    # The epoch loop's cache holds the formulas it calls from other modules, and
    # numba checks only the loop's own file: a change to skfit's sources must
    # compile afresh rather than load the old formulas.
    (tmp_path / "summing.py").write_text(SUMMING)

    def compiled_in_a_process(digest):
        script = STAMPED_PROCESS.format(folder=str(tmp_path), digest=digest)
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    assert [compiled_in_a_process(digest) for digest in "aab"] == [1, 0, 1]


def test_the_sources_digest_follows_the_sources_and_nothing_else(tmp_path):
    from skfit._numba import sources_digest

    (tmp_path / "sub").mkdir()
    (tmp_path / "__pycache__").mkdir()
    files = {
        "a.py": "x = 1\n",
        "sub/b.py": "y = 2\n",
        "notes.txt": "",
        "__pycache__/c.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    digest = sources_digest(tmp_path)
    (tmp_path / "notes.txt").write_text("changed")
    (tmp_path / "__pycache__" / "c.py").write_text("changed")
    assert sources_digest(tmp_path) == digest
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    changed = sources_digest(tmp_path)
    assert changed != digest
    (tmp_path / "sub" / "b.py").rename(tmp_path / "b.py")
    assert sources_digest(tmp_path) not in (digest, changed)


def test_set_config_takes_a_numpy_bool():
    with skfit.config_context(use_numba=np.False_):
        assert skfit.get_config()["use_numba"] is False
    assert skfit.get_config()["use_numba"] is True


def test_set_config_refuses_a_non_bool():
    for value in ("yes", 1, 0.0):
        with pytest.raises(TypeError, match="use_numba must be a bool"):
            skfit.set_config(use_numba=value)
        assert skfit.get_config()["use_numba"] is True
    with pytest.raises(TypeError), skfit.config_context(use_numba="no"):
        pass
    assert skfit.get_config()["use_numba"] is True


def test_config_context_restores_the_setting_even_when_the_block_raises():
    with (
        pytest.raises(ValueError, match="inside"),
        skfit.config_context(use_numba=False),
    ):
        assert skfit.get_config()["use_numba"] is False
        raise ValueError("inside")
    assert skfit.get_config()["use_numba"] is True
    skfit.set_config(use_numba=False)
    try:
        with skfit.config_context(use_numba=True):
            assert skfit.get_config()["use_numba"] is True
            with skfit.config_context(use_numba=False):
                assert skfit.get_config()["use_numba"] is False
            assert skfit.get_config()["use_numba"] is True
        assert skfit.get_config()["use_numba"] is False
        with skfit.config_context():
            assert skfit.get_config()["use_numba"] is False
    finally:
        skfit.set_config(use_numba=True)
    # get_config returns a copy: changing it changes nothing.
    skfit.get_config()["use_numba"] = False
    assert skfit.get_config()["use_numba"] is True


# ------------------------------------------------------------ property
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    n_samples=st.integers(5, 60),
    n_features=st.integers(1, 6),
    batch_fraction=st.one_of(st.none(), st.floats(0.0, 1.0)),
    shuffle=st.booleans(),
    n_classes=st.sampled_from([0, 2, 3, 5]),  # 0: regression
    weighted=st.booleans(),
    optimizer=st.sampled_from(OPTIMIZERS),
    seed=st.integers(0, 2**16),
)
def test_loops_agree_on_random_problems(
    kernel_calls,
    n_samples,
    n_features,
    batch_fraction,
    shuffle,
    n_classes,
    weighted,
    optimizer,
    seed,
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    sample_weight = rng.uniform(0.0, 3.0, n_samples) if weighted else None
    if n_classes:
        y = np.arange(n_samples) % n_classes
        Estimator = GDClassifier
    else:
        y = X @ rng.normal(size=n_features) + rng.normal(size=n_samples)
        Estimator = GDRegressor
    batch_size = (
        None if batch_fraction is None else 1 + int(batch_fraction * (n_samples - 1))
    )
    params = {
        "max_epochs": 3,
        "tol": None,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "optimizer": optimizer,
        "learning_rate": 0.05,
        "random_state": seed,
        "spike_policy": "ignore",
    }
    # One batch per epoch trains through BLAS in the Python loop.
    in_scope = batch_size is not None and batch_size < n_samples
    compiled, python = fit_both(
        lambda: Estimator(**params),
        lambda est: est.fit(X, y, sample_weight=sample_weight),
        kernel_calls,
        in_scope,
    )
    assert_allclose(compiled.coef_, python.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(compiled.intercept_, python.intercept_, rtol=1e-6, atol=1e-10)
    assert_allclose(compiled.history_.batch_loss, python.history_.batch_loss, rtol=1e-5)
    assert compiled.t_ == python.t_


def test_import_skfit_does_not_import_numba():
    # numba takes most of a cold import; it is imported by the first compiled call.
    code = (
        "import sys, skfit, skfit.plotting, skfit.losses, skfit.optimizers\n"
        "assert 'numba' not in sys.modules, 'numba imported'\n"
        "from sklearn.datasets import load_iris\n"
        "X, y = load_iris(return_X_y=True)\n"
        "skfit.GDClassifier(max_epochs=1, tol=None).fit(X, y)\n"
        "assert 'numba' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
