"""Measurements: wall-clock times, peak memory, the bare-metal bound, and the time
to reach a target objective.

Times are ``time.perf_counter`` wall-clock seconds of whole ``fit`` calls (input
validation included), medians of repeated runs after a garbage collection.
"""

import gc
import statistics
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone

from skfit.callbacks import Callback

# isort: split
from contenders import fixed_epochs
from objective import exact_solver, model_objective, relative_gap

#: Repeats of the cheap bare-bound measurement, at least.
BARE_BOUND_REPEATS = 7
#: The most epochs :func:`epoch_cost` lengthens its longer fit to.
MAX_TIMED_EPOCHS = 64


@dataclass
class Fit:
    """One timed fit: its wall-clock seconds and the fitted estimator."""

    seconds: float
    estimator: object


def quiet_fit(estimator, X, y, **fit_params):
    """``estimator.fit`` with convergence and spike warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, **fit_params)


def timed_fit(estimator, X, y):
    gc.collect()
    start = time.perf_counter()
    quiet_fit(estimator, X, y)
    return Fit(time.perf_counter() - start, estimator)


def exact_fit(workload, Y, best):
    """The exact solver with its defaults, timed, and its gap to the optimum."""
    fit = timed_fit(exact_solver(workload), workload.X, workload.y)
    return fit, relative_gap(model_objective(fit.estimator, workload, Y), best)


def median_fit(make_estimator, X, y, repeat):
    """Fit ``repeat`` fresh estimators; the median time and the last estimator."""
    fits = [timed_fit(make_estimator(), X, y) for _ in range(repeat)]
    return Fit(statistics.median(f.seconds for f in fits), fits[-1].estimator)


# ---------------------------------------------------------------- epoch cost
@dataclass
class EpochCost:
    """The marginal time of one epoch, and the fixed cost of a fit around it."""

    epoch: float
    setup: float
    n_epochs: int  # epochs of the longer fit the epoch was measured with


def epoch_cost(contender, workload, n_epochs, repeat):
    """``(T(K) - T(1)) / (K - 1)``: one epoch's marginal time, K >= ``n_epochs``.

    Subtracting a one-epoch fit removes what every fit pays once (input
    validation, allocation), the same way for both libraries; ``setup`` is that
    remainder, ``T(1) - epoch``. K doubles (up to :data:`MAX_TIMED_EPOCHS`) until
    the K-epoch fit takes at least twice the one-epoch fit, so that on small data
    the difference is not lost in the noise of the fixed costs.
    """

    def fit_time(k):
        def make():
            return fixed_epochs(contender, k)

        return median_fit(make, workload.X, workload.y, repeat).seconds

    one = fit_time(1)
    many = fit_time(n_epochs)
    while many < 2 * one and n_epochs < MAX_TIMED_EPOCHS:
        n_epochs = min(2 * n_epochs, MAX_TIMED_EPOCHS)
        many = fit_time(n_epochs)
    epoch = (many - one) / (n_epochs - 1)
    return EpochCost(epoch=epoch, setup=one - epoch, n_epochs=n_epochs)


# ---------------------------------------------------------------- memory
def peak_memory(estimator, X, y):
    """Peak bytes allocated during ``fit`` beyond what existed before (the input).

    tracemalloc sees Python objects and numpy's buffers (numpy reports its
    allocations to it); BLAS work buffers allocated inside OpenBLAS are not seen.
    """
    gc.collect()
    tracemalloc.start()
    try:
        quiet_fit(estimator, X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- bare bound
def median_seconds(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def linear_bare_bound(X, n_outputs, repeat):
    """One pass of ``X @ w`` plus ``X.T @ g`` with numpy/scipy on the same data.

    The least an epoch of gradient descent on a linear model can cost: the data
    is touched twice, once for the outputs and once for the gradient.
    """
    rng = np.random.default_rng(0)
    w = rng.standard_normal((X.shape[1], n_outputs)).astype(X.dtype)
    g = rng.standard_normal((X.shape[0], n_outputs)).astype(X.dtype)

    def one_pass():
        X @ w
        X.T @ g

    one_pass()  # warm up the BLAS threads
    return median_seconds(one_pass, max(repeat, BARE_BOUND_REPEATS))


def mlp_bare_bound(X, layer_sizes, repeat):
    """The matrix products of one full-batch forward and backward pass of an MLP."""
    rng = np.random.default_rng(0)
    n = X.shape[0]
    coefs = [
        rng.standard_normal((a, b)).astype(X.dtype)
        for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    ]
    deltas = [rng.standard_normal((n, b)).astype(X.dtype) for b in layer_sizes[1:]]

    def one_pass():
        inputs = [X]
        for W in coefs:
            inputs.append(inputs[-1] @ W)
        for layer in range(len(coefs) - 1, -1, -1):
            inputs[layer].T @ deltas[layer]
            if layer:
                deltas[layer] @ coefs[layer].T

    one_pass()
    return median_seconds(one_pass, max(repeat, BARE_BOUND_REPEATS))


# ---------------------------------------------------------------- to a target
@dataclass
class Reached:
    """When a run came within the target: seconds and epochs, None if it did not."""

    seconds: float | None
    epochs: int | None
    objective: float  # the objective at that point, or the last one seen
    last_epoch: int | None = None  # when not reached: the last epoch run


class ObjectiveTrace(Callback):
    """A skfit callback: the training objective after every epoch, with the time.

    ``evaluate(estimator)`` computes the objective; the time it takes is
    excluded from the times recorded. Training stops (``stop_reason_ ==
    'callback'``) once the objective is at or below ``target``, or once the
    training time exceeds ``budget`` seconds. Call :meth:`start` just before
    ``fit``: times count from there.
    """

    def __init__(self, evaluate=None, target=None, budget=None):
        self.evaluate = evaluate
        self.target = target
        self.budget = budget

    def start(self):
        self.records_ = []  # (epoch, seconds, objective)
        self.excluded_ = 0.0
        self.start_ = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start_ - self.excluded_

    def on_epoch_end(self, estimator, record):
        seconds = self.elapsed()
        begin = time.perf_counter()
        value = np.nan if self.evaluate is None else self.evaluate(estimator)
        self.excluded_ += time.perf_counter() - begin
        self.records_.append((record["epoch"], seconds, value))
        reached = self.target is not None and value <= self.target
        return reached or (self.budget is not None and seconds > self.budget)


@dataclass
class Trace:
    records: list = field(default_factory=list)  # (epoch, seconds, objective)
    fit_seconds: float = 0.0
    estimator: object = None

    def within(self, best, share):
        """When the objective first came within ``share`` of the optimum ``best``."""
        return self.reached(best + share * abs(best))

    def reached(self, target):
        for epoch, seconds, value in self.records:
            if value <= target:
                return Reached(seconds, epoch, value)
        if not self.records:
            return Reached(None, None, np.nan)
        epoch, _, value = self.records[-1]
        return Reached(None, None, value, epoch)


def skfit_trace(estimator, workload, Y, target=None, budget=None, evaluate=True):
    """Fit a skfit estimator with an :class:`ObjectiveTrace` appended."""

    def objective(fitted):
        return model_objective(fitted, workload, Y)

    trace = ObjectiveTrace(objective if evaluate else None, target, budget)
    callbacks = list(estimator.get_params()["callbacks"] or []) + [trace]
    estimator.set_params(callbacks=callbacks)
    gc.collect()
    trace.start()
    quiet_fit(estimator, workload.X, workload.y)
    fit_seconds = trace.elapsed()
    return Trace(trace.records_, fit_seconds, estimator)


def skfit_time_to_target(contender, workload, Y, target, max_epochs, budget, repeat):
    """Median time for skfit to come within the target (tol off, max_epochs cap)."""
    results = []
    for _ in range(repeat):
        estimator = clone(contender.estimator).set_params(
            max_epochs=max_epochs, tol=None
        )
        trace = skfit_trace(estimator, workload, Y, target, budget)
        results.append(trace.reached(target))
        if results[-1].seconds is None:
            break  # not reached: repeating will not change that
    return median_reached(results)


def median_reached(results):
    if any(r.seconds is None for r in results):
        return next(r for r in results if r.seconds is None)
    seconds = statistics.median(r.seconds for r in results)
    return Reached(seconds, results[0].epochs, results[0].objective)


def partial_fit_epochs_to_target(contender, workload, Y, target, max_epochs, budget):
    """The first epoch at which ``partial_fit`` epochs reach the target.

    Returns a :class:`Reached` without seconds: ``epochs`` is None when the
    target was not reached within ``max_epochs`` or the budget.

    scikit-learn's ``partial_fit`` runs one epoch and keeps the learning-rate
    schedule's counter, so its trajectory follows ``fit``'s closely.
    """
    estimator = clone(contender.estimator)
    extra = {"classes": workload.classes} if workload.task == "classification" else {}
    spent = 0.0
    value = np.nan
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.partial_fit(workload.X, workload.y, **extra)
        spent += time.perf_counter() - start
        value = model_objective(estimator, workload, Y)
        if value <= target:
            return Reached(None, epoch, value)
        if spent > budget:
            break
    return Reached(None, None, value, epoch)


def warm_up(contender, workload, n_rows=2000):
    """An untimed fit on a few rows: imports, lazy set-up and BLAS threads start."""
    X, y = workload.X[:n_rows], workload.y[:n_rows]
    if workload.task == "classification" and len(np.unique(y)) < 2:
        X, y = workload.X, workload.y
    if contender.has_epochs:
        estimator = fixed_epochs(contender, 1)
    else:
        estimator = clone(contender.estimator)
    quiet_fit(estimator, X, y)


def fixed_epoch_fit(contender, workload, Y, n_epochs):
    fit = timed_fit(fixed_epochs(contender, n_epochs), workload.X, workload.y)
    return fit, model_objective(fit.estimator, workload, Y)


def epochs_search_time_to_target(
    contender, workload, Y, target, max_epochs, budget, repeat
):
    """Time of the shortest ``fit(max_iter=k)`` found to reach the target.

    ``k`` starts at the epoch the ``partial_fit`` trajectory reached the target
    and grows by a quarter until a timed ``fit`` with ``k`` epochs (no tolerance)
    reaches it; that fit is timed ``repeat`` times.
    """
    trajectory = partial_fit_epochs_to_target(
        contender, workload, Y, target, max_epochs, budget
    )
    if trajectory.epochs is None:
        return trajectory
    epochs = tried = trajectory.epochs
    while epochs <= max_epochs:
        fit, value = fixed_epoch_fit(contender, workload, Y, epochs)
        if value <= target:
            times = [fit.seconds] + [
                fixed_epoch_fit(contender, workload, Y, epochs)[0].seconds
                for _ in range(repeat - 1)
            ]
            return Reached(statistics.median(times), epochs, value)
        if fit.seconds > budget:
            break
        tried, epochs = epochs, epochs + max(1, epochs // 4)
    return Reached(None, None, value, tried)
