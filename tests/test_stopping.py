"""Stopping rules, the training record (history_) and callbacks.

Each ``stop_reason_`` is produced on purpose and checked against the precise
semantics of DESIGN.md: which epoch it fires at, ``converged_``, the restored
parameters, and the warnings it gives.
"""

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from _fitting import fit_quietly
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_diabetes, make_classification, make_regression
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier, GDRegressor, History, MLPRegressor
from skfit.callbacks import Callback

# isort: split
from _datasets import unit_spread

HISTORY_KEYS = (
    "epoch",
    "loss",
    "val_loss",
    "val_score",
    "learning_rate",
    "grad_norm",
    "duration",
)


@pytest.fixture(scope="module")
def noisy_classification():
    """A noisy problem on which the validation loss soon stops improving."""
    return make_classification(
        n_samples=200, n_features=20, n_informative=3, flip_y=0.2, random_state=0
    )


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    return X, y


class StopAtEpoch(Callback):
    def __init__(self, epoch=3):
        self.epoch = epoch

    def on_epoch_end(self, estimator, record):
        return record["epoch"] >= self.epoch


class InterruptAtEpoch(Callback):
    def __init__(self, epoch=3):
        self.epoch = epoch

    def on_epoch_end(self, estimator, record):
        if record["epoch"] == self.epoch:
            raise KeyboardInterrupt


class InterruptAtBatch(Callback):
    def __init__(self, epoch=2, batch=1):
        self.epoch = epoch
        self.batch = batch

    def on_batch_end(self, estimator, batch_record):
        if (batch_record["epoch"], batch_record["batch"]) == (self.epoch, self.batch):
            raise KeyboardInterrupt


class Recorder(Callback):
    """Records every hook call; its log is not a parameter."""

    def __init__(self):
        self.log = []

    def on_train_begin(self, estimator):
        self.log.append(("begin",))

    def on_batch_end(self, estimator, batch_record):
        self.log.append(("batch", batch_record["epoch"], batch_record["batch"]))
        self.log.append(("batch_record", dict(batch_record)))

    def on_epoch_end(self, estimator, record):
        self.log.append(("epoch", record["epoch"]))
        self.log.append(("epoch_record", dict(record)))

    def on_train_end(self, estimator):
        self.log.append(("end",))


# ---------------------------------------------------------------- max_epochs
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_max_epochs_warns_and_reports(Estimator, iris):
    X, y = iris
    # A patience longer than the budget: the tolerance cannot stop training.
    est = Estimator(max_epochs=4, n_iter_no_change=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs") as record:
        est.fit(X, y)
    # The warning points at the line that called fit, this file, not into skfit.
    assert record[0].filename == __file__
    assert est.stop_reason_ == "max_epochs"
    assert est.converged_ is False
    assert est.n_epochs_ == 4
    assert_array_equal(est.history_["epoch"], [1, 2, 3, 4])


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_a_fixed_number_of_epochs_does_not_warn(Estimator, iris):
    # tol=None asks for exactly max_epochs epochs, as scikit-learn's SGD reads it.
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = Estimator(max_epochs=4, tol=None, random_state=0).fit(X, y)
    assert est.stop_reason_ == "max_epochs"
    assert est.converged_ is False


def test_a_search_warns_at_the_users_line(iris):
    X, y = iris
    search = GridSearchCV(
        GDClassifier(max_epochs=2, n_iter_no_change=10), {"alpha": [1e-4, 1e-3]}, cv=2
    )
    with pytest.warns(ConvergenceWarning) as record:
        search.fit(X, y)
    assert {w.filename for w in record} == {__file__}


@pytest.mark.parametrize("action, n_shown", [("default", 1), ("always", 5)])
def test_a_search_shows_a_warning_once_unless_asked_for_every_one(
    iris, action, n_shown
):
    # scikit-learn sets the warning filters for each fit of a search, which resets
    # Python's once-per-line registry: the line of the search still shows one copy
    # under the default action, and one per fit (4 and the refit) under "always".
    X, y = iris
    search = GridSearchCV(
        GDClassifier(max_epochs=2, n_iter_no_change=10), {"alpha": [1e-4, 1e-3]}, cv=2
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter(action)
        search.fit(X, y)
    shown = [w for w in record if w.category is ConvergenceWarning]
    assert len({str(w.message) for w in shown}) == 1
    assert len(shown) == n_shown


def test_each_call_of_a_function_that_runs_a_search_warns_once(iris):
    # One warning per run of the user's line: a new call of the same function is
    # a new run of it.
    X, y = iris

    def run_search():
        GridSearchCV(
            GDClassifier(max_epochs=2, n_iter_no_change=10),
            {"alpha": [1e-4, 1e-3]},
            cv=2,
        ).fit(X, y)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")
        for _ in range(4):
            run_search()
    shown = [w for w in record if w.category is ConvergenceWarning]
    assert len(shown) == 4


def test_plain_string_filters_are_read_as_warnings_reads_them():
    # Python's own default filters hold plain strings, not patterns, in their
    # module field; warnings compares those for equality.
    from skfit._warn import warn_at_user

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filters.insert(0, ("ignore", None, UserWarning, "elsewhere", 0))
        warn_at_user("shown", UserWarning)
        warnings.filters.insert(0, ("ignore", None, UserWarning, __name__, 0))
        warn_at_user("ignored here", UserWarning)
    assert [str(w.message) for w in record] == ["shown"]


# ---------------------------------------------------------------- tol
@pytest.mark.parametrize("n_iter_no_change", [1, 3])
def test_tol_stops_after_n_iter_no_change_epochs(iris, n_iter_no_change):
    X, y = iris
    # With a huge tolerance no epoch after the first counts as an improvement.
    est = GDClassifier(
        tol=1e6,
        n_iter_no_change=n_iter_no_change,
        max_epochs=50,
        batch_size=None,
        schedule="constant",
        finish=None,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.stop_reason_ == "tol"
    # Full batch: no sampling noise hides progress, so a tol stop counts.
    assert est.converged_ is True
    assert est.n_epochs_ == n_iter_no_change + 1


@pytest.mark.parametrize(
    "schedule, converged", [("constant", False), ("plateau", True)]
)
def test_a_tol_stop_on_mini_batches_converges_once_the_rate_was_lowered(
    schedule, converged
):
    # At a constant rate, mini-batch updates hover at a noise floor above the
    # optimum, where the tolerance fires: that is no convergence.
    X, y = make_regression(2000, 10, noise=10.0, random_state=0)
    est = GDRegressor(
        schedule=schedule,
        tol=1e-3,
        n_iter_no_change=5,
        max_epochs=300,
        finish=None,
        random_state=0,
    ).fit(X, y)
    assert est.stop_reason_ == "tol"
    assert est.converged_ is converged
    if converged:
        assert est.history_["learning_rate"][-1] < est.learning_rate


def test_tol_none_disables_the_tolerance_rule(regression):
    # A rate of 1e-300 leaves the parameters, and so the full-batch loss, where they
    # start: no epoch improves, so any tolerance, even 0, stops after
    # n_iter_no_change + 1 epochs, and tol=None trains them all.
    X, y = regression
    params = {
        "optimizer": "sgd",
        "learning_rate": 1e-300,
        "batch_size": None,
        "n_iter_no_change": 2,
        "max_epochs": 12,
        "finish": None,
        "random_state": 0,
    }
    assert GDRegressor(tol=0.0, **params).fit(X, y).n_epochs_ == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GDRegressor(tol=None, **params).fit(X, y)
    assert est.stop_reason_ == "max_epochs"
    assert est.n_epochs_ == 12


def test_tol_counts_improvements_against_the_best_loss(regression):
    """An improvement is ``loss < best_loss - tol``: check it on the record (of a
    target of unit spread, whose standardised units, where tol is judged, are
    its own)."""
    X, y = regression
    y = unit_spread(y)
    tol, patience = 1e-3, 3
    est = GDRegressor(
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=None,
        tol=tol,
        n_iter_no_change=patience,
        max_epochs=300,
        finish=None,
        random_state=0,
    ).fit(X, y)
    assert est.stop_reason_ == "tol"
    losses = est.history_["loss"]
    best, count, stop = math.inf, 0, None
    for i, loss in enumerate(losses):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count >= patience:
            stop = i + 1
            break
    assert stop == est.n_epochs_


# ---------------------------------------------------------------- loss_threshold
def test_loss_threshold_stops_at_the_first_epoch_at_or_below_it(regression):
    X, y = regression
    params = {"tol": None, "max_epochs": 40, "random_state": 0, "learning_rate": 0.05}
    reference = fit_quietly(GDRegressor(**params), X, y)
    losses = reference.history_["loss"]
    threshold = float(np.median(losses))
    first = int(np.argmax(losses <= threshold)) + 1

    est = GDRegressor(loss_threshold=threshold, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.stop_reason_ == "loss_threshold"
    assert est.converged_ is True
    assert est.n_epochs_ == first
    assert est.history_["loss"][-1] <= threshold
    assert np.all(est.history_["loss"][:-1] > threshold)


def test_loss_threshold_equal_to_a_loss_fires(regression):
    """'at or below': a threshold equal to an epoch loss stops at that epoch."""
    X, y = regression
    params = {"tol": None, "max_epochs": 10, "random_state": 0, "learning_rate": 0.05}
    reference = fit_quietly(GDRegressor(**params), X, y)
    threshold = float(reference.history_["loss"][4])
    assert np.all(reference.history_["loss"][:4] > threshold)
    est = GDRegressor(loss_threshold=threshold, **params).fit(X, y)
    assert est.stop_reason_ == "loss_threshold"
    assert est.n_epochs_ == 5


# ---------------------------------------------------------------- early_stopping
EARLY = {
    "early_stopping": True,
    "tol": None,
    "learning_rate": 0.05,
    "batch_size": 16,
    "alpha": 0.0,
    "max_epochs": 100,
    "random_state": 0,
}


def test_early_stopping_records_validation_and_holds_out_a_share(
    noisy_classification,
):
    X, y = noisy_classification
    est = GDClassifier(**EARLY).fit(X, y)
    assert est.stop_reason_ == "early_stopping"
    assert est.converged_ is True
    assert est.n_epochs_ < 100
    val_loss, val_score = est.history_["val_loss"], est.history_["val_score"]
    assert len(val_loss) == len(val_score) == est.n_epochs_
    assert np.all(np.isfinite(val_loss))
    # validation_fraction=None with early stopping holds out 0.1 of 200 rows: the
    # score is an accuracy over 20 rows, and 180 training rows in batches of 16
    # are 12 batches per epoch (13 for 200).
    assert_allclose(val_score * 20, np.round(val_score * 20), atol=1e-9)
    assert len(est.history_.batch_loss) == 12 * est.n_epochs_
    assert est.t_ == 12 * est.n_epochs_


def test_validation_fraction_without_early_stopping_records_every_epoch(iris):
    X, y = iris
    est = GDClassifier(
        validation_fraction=0.2, max_epochs=6, tol=None, batch_size=10, random_state=0
    )
    est.fit(X, y)
    assert est.stop_reason_ == "max_epochs"
    assert np.all(np.isfinite(est.history_["val_loss"]))
    assert np.all(np.isfinite(est.history_["val_score"]))
    # 30 of 150 rows held out: 120 training rows, 12 batches of 10 per epoch.
    assert est.t_ == 6 * 12
    assert len(est.history_.batch_loss) == 6 * 12


def test_validation_keys_are_nan_without_validation(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=5, tol=None, random_state=0), X, y)
    assert np.all(np.isnan(est.history_["val_loss"]))
    assert np.all(np.isnan(est.history_["val_score"]))


def test_early_stopping_keeps_the_parameters_of_the_best_epoch(noisy_classification):
    X, y = noisy_classification
    est = GDClassifier(**EARLY).fit(X, y)
    assert est.stop_reason_ == "early_stopping"
    val_loss = est.history_["val_loss"]
    assert est.best_epoch_ == int(np.argmin(val_loss)) + 1
    assert est.best_epoch_ < est.n_epochs_  # otherwise the test shows nothing
    assert est.best_loss_ == pytest.approx(val_loss.min())
    # The validation loss did not improve for n_iter_no_change epochs.
    assert est.n_epochs_ - est.best_epoch_ == est.n_iter_no_change

    # A fit that simply ends at best_epoch_ (same split, same shuffles).
    params = {**EARLY, "max_epochs": est.best_epoch_}
    refit = fit_quietly(GDClassifier(**params), X, y)
    assert refit.n_epochs_ == est.best_epoch_
    assert_array_equal(refit.history_["loss"], est.history_["loss"][: est.best_epoch_])
    assert_allclose(est.coef_, refit.coef_, rtol=1e-12, atol=0)
    assert_allclose(est.intercept_, refit.intercept_, rtol=1e-12, atol=0)
    assert_allclose(est.predict_proba(X), refit.predict_proba(X), rtol=1e-12)
    assert_array_equal(est.predict(X), refit.predict(X))


def test_early_stopping_regressor(regression):
    X, y = regression
    X = X + np.random.RandomState(1).normal(scale=3.0, size=X.shape)
    est = GDRegressor(
        early_stopping=True,
        tol=None,
        learning_rate=0.2,
        batch_size=8,
        max_epochs=200,
        random_state=0,
    ).fit(X, y)
    assert est.stop_reason_ == "early_stopping"
    assert est.best_epoch_ == int(np.argmin(est.history_["val_loss"])) + 1
    refit = fit_quietly(
        GDRegressor(**{**est.get_params(), "max_epochs": est.best_epoch_}), X, y
    )
    assert_allclose(est.predict(X), refit.predict(X), rtol=1e-12)


# ---------------------------------------------------------------- divergence
def _diverging_regression():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    return X * 100.0, y  # unscaled features


def _numbers(text):
    return [float(m) for m in re.findall(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?", text)]


@pytest.mark.parametrize("batch_size", [None, 32])
def test_divergence_stops_warns_and_keeps_finite_parameters(batch_size):
    X, y = _diverging_regression()
    learning_rate = 1.0
    est = GDRegressor(
        optimizer="sgd",
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_epochs=50,
        random_state=0,
        spike_policy="ignore",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert est.stop_reason_ == "diverged"
    assert est.converged_ is False
    assert est.n_epochs_ < 50
    assert np.all(np.isfinite(est.coef_))
    assert np.all(np.isfinite(est.intercept_))
    assert np.all(np.isfinite(est.predict(X)))

    messages = [
        str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
    ]
    assert len(messages) == 1, messages
    message = messages[0]
    assert "learning_rate" in message or "learning rate" in message
    assert f"{learning_rate:g}" in message
    # A smaller learning rate to try, as a number.
    assert any(0 < value < learning_rate for value in _numbers(message)), message
    assert "scal" in message.lower()  # the advice to scale the features


def test_divergence_restores_the_best_parameters():
    """Full batch: each epoch's recorded loss is the exact objective of the
    parameters at the start of that epoch, so the kept parameters can be checked
    against best_loss_ ("the epoch whose parameters are kept")."""
    X, y = _diverging_regression()
    est = fit_quietly(
        GDRegressor(
            optimizer="sgd",
            learning_rate=1e-2,
            batch_size=None,
            max_epochs=50,
            spike_policy="ignore",
        ),
        X,
        y,
    )
    assert est.stop_reason_ == "diverged"
    losses = est.history_["loss"]
    assert est.best_loss_ == pytest.approx(losses.min())
    assert est.best_epoch_ == int(np.argmin(losses)) + 1
    residual = est.predict(X) - y
    objective = 0.5 * np.mean(residual**2) + 0.5 * est.alpha_ * np.sum(est.coef_**2)
    assert np.isfinite(objective)
    # The objective at the kept parameters is the best loss seen, not the loss
    # after one more diverging step.
    assert objective == pytest.approx(est.best_loss_, rel=1e-5)


def test_divergence_emits_no_runtime_warning():
    """pyproject.toml turns RuntimeWarnings raised in skfit into errors: a diverging
    fit must stop with 'diverged', not with a numpy overflow warning."""
    X, y = _diverging_regression()
    est = GDRegressor(
        optimizer="sgd",
        learning_rate=1.0,
        batch_size=32,
        max_epochs=50,
        random_state=0,
        spike_policy="ignore",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    runtime = [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, RuntimeWarning)
    ]
    assert runtime == []
    assert est.stop_reason_ == "diverged"


# ---------------------------------------------------------------- callback stop
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_callback_stops_training(Estimator, iris):
    X, y = iris
    est = Estimator(callbacks=[StopAtEpoch(3)], tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.stop_reason_ == "callback"
    assert est.converged_ is False
    assert est.n_epochs_ == 3
    assert len(est.history_) == 3


def test_callback_stop_reported_before_loss_threshold(iris):
    """When both fire in one epoch, 'callback' comes first in the documented
    order; a threshold that fires earlier stops training first."""
    X, y = iris
    est = GDClassifier(
        callbacks=[StopAtEpoch(3)], loss_threshold=1e6, tol=None, random_state=0
    ).fit(X, y)
    # loss_threshold fires at epoch 1 already; the callback only at 3.
    assert est.stop_reason_ == "loss_threshold"
    assert est.n_epochs_ == 1
    est = GDClassifier(
        callbacks=[StopAtEpoch(1)], loss_threshold=1e6, tol=None, random_state=0
    ).fit(X, y)
    assert est.stop_reason_ == "callback"
    assert est.converged_ is False


# ---------------------------------------------------------------- history_
def test_history_keys_and_columns(iris):
    X, y = iris
    est = fit_quietly(
        GDClassifier(max_epochs=7, tol=None, batch_size=16, random_state=0), X, y
    )
    history = est.history_
    assert isinstance(history, History)
    assert set(HISTORY_KEYS) <= set(history.keys())
    for key in HISTORY_KEYS:
        column = history[key]
        assert isinstance(column, np.ndarray)
        assert column.shape == (est.n_epochs_,)
    assert history["loss"].dtype.kind == "f"
    assert_array_equal(history["epoch"], np.arange(1, 8))
    assert np.all(np.isfinite(history["loss"]))
    assert np.all(history["learning_rate"] == pytest.approx(est.learning_rate))
    assert np.all(history["grad_norm"] > 0)
    assert len(history) == est.n_epochs_ == est.n_iter_ == 7


def test_loss_curve_is_the_list_of_epoch_losses(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=5, random_state=0), X, y)
    assert isinstance(est.loss_curve_, list)
    assert all(isinstance(v, float) for v in est.loss_curve_)
    assert est.loss_curve_ == list(est.history_["loss"])


@pytest.mark.parametrize(("batch_size", "per_epoch"), [(None, 1), (16, 10), (1, 150)])
def test_batch_loss_has_one_entry_per_batch(iris, batch_size, per_epoch):
    X, y = iris
    est = fit_quietly(
        GDClassifier(max_epochs=3, tol=None, batch_size=batch_size, random_state=0),
        X,
        y,
    )
    batch_loss = est.history_.batch_loss
    assert batch_loss.shape == (3 * per_epoch,)
    assert np.all(np.isfinite(batch_loss))
    assert est.t_ == 3 * per_epoch


def test_epoch_loss_is_the_weighted_mean_of_batch_losses(iris):
    """150 rows in batches of 40: 40, 40, 40, 30 rows; the epoch loss weighs them."""
    X, y = iris
    est = fit_quietly(
        GDClassifier(max_epochs=3, tol=None, batch_size=40, random_state=0), X, y
    )
    sizes = np.array([40, 40, 40, 30])
    batch_loss = est.history_.batch_loss.reshape(3, 4).astype(float)
    expected = batch_loss @ sizes / sizes.sum()
    assert_allclose(est.history_["loss"], expected, rtol=1e-6)


def test_full_batch_first_loss_is_the_objective_at_the_start(regression):
    """The recorded loss is the objective before the update: at the start, zero
    weights and the mean target, half the mean squared error of DummyRegressor."""
    X, y = regression
    est = fit_quietly(
        GDRegressor(batch_size=None, max_epochs=2, tol=None, random_state=0), X, y
    )
    dummy = DummyRegressor().fit(X, y).predict(X)
    baseline = 0.5 * mean_squared_error(y, dummy)
    assert est.history_["loss"][0] == pytest.approx(baseline, rel=1e-12)


def test_to_frame(iris):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=6, tol=None, random_state=0), X, y)
    frame = est.history_.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == est.n_epochs_
    columns = set(frame.columns) | {frame.index.name}
    assert set(HISTORY_KEYS) <= columns
    assert_allclose(frame["loss"].to_numpy(), est.history_["loss"])


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_same_random_state_gives_identical_runs(Estimator, iris):
    X, y = iris
    params = {
        "batch_size": 8,
        "max_epochs": 15,
        "validation_fraction": 0.2,
        "random_state": 42,
        "shuffle": True,
    }
    a = fit_quietly(Estimator(**params), X, y)
    b = fit_quietly(Estimator(**params), X, y)
    assert a.n_epochs_ == b.n_epochs_
    for key in HISTORY_KEYS:
        if key == "duration":
            continue
        assert_array_equal(a.history_[key], b.history_[key], err_msg=key)
    assert_array_equal(a.history_.batch_loss, b.history_.batch_loss)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_
    assert a.stop_reason_ == b.stop_reason_

    # The seed matters: another seed shuffles differently.
    c = fit_quietly(Estimator(**{**params, "random_state": 7}), X, y)
    assert not np.array_equal(a.history_.batch_loss, c.history_.batch_loss)


# ---------------------------------------------------------------- callbacks
def test_callback_hook_order_and_counts(iris):
    X, y = iris
    recorder = Recorder()
    est = GDClassifier(
        max_epochs=4, tol=None, batch_size=50, random_state=0, callbacks=[recorder]
    )
    est.fit(X, y)
    events = [e for e in recorder.log if e[0] in ("begin", "batch", "epoch", "end")]
    expected = [("begin",)]
    for epoch in range(1, 5):
        expected += [("batch", epoch, b) for b in range(3)]
        expected.append(("epoch", epoch))
    expected.append(("end",))
    assert events == expected

    epoch_records = [e[1] for e in recorder.log if e[0] == "epoch_record"]
    for record, stored in zip(epoch_records, est.history_, strict=True):
        assert record["epoch"] == stored["epoch"]
        assert record["loss"] == stored["loss"]
    batch_records = [e[1] for e in recorder.log if e[0] == "batch_record"]
    assert [r["n_samples"] for r in batch_records] == [50, 50, 50] * 4
    assert not any(r["skipped"] for r in batch_records)
    assert_allclose(
        np.array([r["loss"] for r in batch_records], dtype=np.float32),
        est.history_.batch_loss,
    )


def test_callbacks_hear_partial_fit(iris):
    X, y = iris
    recorder = Recorder()
    est = GDClassifier(batch_size=75, callbacks=[recorder], random_state=0)
    est.partial_fit(X, y, classes=np.unique(y))
    events = [e for e in recorder.log if e[0] in ("begin", "batch", "epoch", "end")]
    assert events == [("begin",), ("batch", 1, 0), ("batch", 1, 1), ("epoch", 1)] + [
        ("end",)
    ]


def test_on_train_end_runs_when_training_stops_early(iris):
    X, y = iris
    recorder = Recorder()
    GDClassifier(callbacks=[StopAtEpoch(2), recorder], random_state=0).fit(X, y)
    names = [e[0] for e in recorder.log]
    assert names.count("begin") == 1
    assert names.count("end") == 1
    assert names[-1] == "end"
    assert names.count("epoch") == 2


def test_verbose_2_prints_one_line_per_epoch(iris, capsys):
    X, y = iris
    est = fit_quietly(GDClassifier(max_epochs=5, tol=None, verbose=2), X, y)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == est.n_epochs_ == 5
    for epoch, line in enumerate(lines, start=1):
        assert str(epoch) in line
        assert "loss" in line


def test_verbose_0_prints_nothing(iris, capsys):
    X, y = iris
    fit_quietly(GDClassifier(max_epochs=3, tol=None, verbose=0), X, y)
    captured = capsys.readouterr()
    assert captured.out == ""


# ---------------------------------------------------------------- interrupts
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_keyboard_interrupt_keeps_the_training_so_far(Estimator, iris):
    X, y = iris
    est = Estimator(
        callbacks=[InterruptAtEpoch(3)], tol=None, batch_size=50, random_state=0
    )
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert est.stop_reason_ == "interrupted"
    assert est.converged_ is False
    assert len(est.history_) == est.n_epochs_ == est.n_iter_ == 3
    assert_array_equal(est.history_["epoch"], [1, 2, 3])
    assert est.t_ == 3 * 3
    assert np.all(np.isfinite(est.coef_))
    prediction = est.predict(X)
    assert prediction.shape == (150,)
    # The parameters are those after epoch 3: the same as a fit of 3 epochs.
    reference = fit_quietly(
        Estimator(max_epochs=3, tol=None, batch_size=50, random_state=0), X, y
    )
    assert_array_equal(est.coef_, reference.coef_)
    assert_array_equal(est.history_["loss"], reference.history_["loss"])


def test_keyboard_interrupt_mid_epoch_records_the_partial_epoch(iris):
    X, y = iris
    est = GDClassifier(
        callbacks=[InterruptAtBatch(epoch=2, batch=1)],
        tol=None,
        batch_size=30,
        random_state=0,
    )
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert est.stop_reason_ == "interrupted"
    assert est.n_epochs_ == len(est.history_) == 2
    # Epoch 1 has 5 batches; epoch 2 was interrupted after its second update.
    assert est.t_ == 5 + 2
    assert len(est.history_.batch_loss) == 5 + 2
    assert np.isfinite(est.history_["loss"][1])
    assert est.predict(X).shape == (150,)


def test_estimator_is_usable_after_an_interrupt(iris):
    X, y = iris
    est = GDClassifier(callbacks=[InterruptAtEpoch(2)], tol=None, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    # Training can continue from the kept state...
    est.set_params(callbacks=None)
    est.partial_fit(X, y)
    assert est.n_epochs_ == 3
    assert_array_equal(est.history_["epoch"], [1, 2, 3])
    # ...and a plain fit starts afresh.
    fit_quietly(est.set_params(max_epochs=4), X, y)
    assert est.n_epochs_ == 4
    assert est.stop_reason_ == "max_epochs"


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_features_that_overflow_every_gradient_stop_at_once(Estimator):
    # Every gradient norm overflows, so no update can be applied: training stops
    # after the first epoch and says to scale the features, instead of running
    # to max_epochs advising a larger learning rate.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3)) * 1e300
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="Scale the features") as record:
        est = Estimator(max_epochs=50, random_state=0).fit(X, y)
    assert not any("max_epochs" in str(w.message) for w in record)
    assert est.stop_reason_ == "diverged"
    assert est.converged_ is False
    assert est.n_epochs_ == 1
    assert est.t_ == 0
    assert est.history_["n_nonfinite"][0] == est.history_["n_batches"][0] == 4
    assert np.all(np.isfinite(est.predict(X / 1e300)))


def exploding_regression():
    X, y = load_diabetes(return_X_y=True)
    return X * 1000, y  # unscaled features: plain SGD at 1e-3 explodes


def test_divergence_is_judged_in_every_partial_fit_call():
    # The loss used to grow from 7e78 to 1e302 over four calls, each reporting
    # max_epochs without a warning.
    X, y = exploding_regression()
    est = GDRegressor(optimizer="sgd", learning_rate=1e-3, batch_size=16)
    for _ in range(4):
        with pytest.warns(ConvergenceWarning, match="diverged"):
            est.partial_fit(X, y)
        assert est.stop_reason_ == "diverged"
        assert np.all(np.isfinite(est.coef_))
        # The parameters the call started from are restored: the best seen.
        assert_allclose(est.coef_, 0.0)
        assert_allclose(est.predict(X), np.mean(y))


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_one_exploding_epoch_is_divergence(Estimator):
    X, y = exploding_regression()
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est = Estimator(
            optimizer="sgd",
            learning_rate=1e6,
            batch_size=16,
            max_epochs=1,
            random_state=0,
        ).fit(X, y)
    assert est.stop_reason_ == "diverged"
    assert np.all(np.isfinite(est.predict(X)))


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_a_loss_that_exploded_within_one_epoch_is_named_at_max_epochs(Estimator):
    # Adam's steps are bounded by the rate: at 1e6 the loss explodes after the
    # first batch, but stays finite. The warning used to advise raising the
    # learning rate, as the first epoch was the only one to compare with.
    X, y = load_diabetes(return_X_y=True)
    est = Estimator(learning_rate=1e6, max_epochs=1, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum number") as record:
        est.fit(X, y)
    message = str(record[0].message)
    first_batch = est.history_.batch_loss[0]
    assert est.history_["loss"][0] > 1e6 * first_batch
    assert f"the loss grew from {first_batch:.6g} to " in message
    assert (
        "learning_rate=1e+06 is likely too large: try learning_rate=100000" in message
    )


def test_one_lucky_first_row_does_not_blame_the_rate():
    # With batches of one row, the first batch's loss is one row's: here 0.0089,
    # where the epochs' losses fall from 2022 to 1632. The loss before training is
    # read from the first 32 rows, so the warning does not say the loss grew.
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = GDRegressor(batch_size=1, max_epochs=2, learning_rate=1e-3, random_state=12)
    with pytest.warns(ConvergenceWarning, match="Maximum number") as record:
        est.fit(X, y)
    assert est.history_.batch_loss[0] < 1e-3 * est.history_["loss"][-1]
    assert est.history_["loss"][-1] < est.history_["loss"][0]
    assert "grew" not in str(record[0].message)


@pytest.mark.parametrize("Estimator", [GDRegressor, MLPRegressor])
def test_a_first_epoch_that_barely_trained_does_not_blame_the_rate(Estimator):
    # A first epoch whose mean lies above its first batch's loss (batch noise
    # at a small rate) is no growth to blame on the learning rate.
    X, y = load_diabetes(return_X_y=True)
    est = Estimator(max_epochs=1, random_state=1)
    with pytest.warns(ConvergenceWarning, match="Maximum number") as record:
        est.fit(X, y)
    assert est.history_["loss"][0] > est.history_.batch_loss[0]
    assert "raise max_epochs or learning_rate" in str(record[0].message)


def test_a_schedule_that_returns_nan_is_refused_by_name():
    X, y = load_diabetes(return_X_y=True)
    est = GDRegressor(schedule=lambda t: float("nan"), max_epochs=2)
    with pytest.raises(ValueError, match="schedule .* returned nan for update 0"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)
