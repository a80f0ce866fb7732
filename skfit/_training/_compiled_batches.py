"""The compiled batch runner: a linear model's epoch in one compiled call.

The Python runner makes some 25 small numpy calls per batch, about 40 µs: at 256
rows that is twice the cost of reading the rows, at 32 rows twenty times (see
``benchmarks/results.md``). For a linear model on dense C-ordered or CSR rows with a
built-in loss and optimizer, :func:`compiled_batches` returns a runner that trains a
whole epoch in one compiled call, which walks the rows by index (so shuffling copies
no rows) and applies the very formulas the Python runner applies: the loss's row
formula, the penalty and the shared update (:mod:`skfit._training._update`). It
records each batch's objective, data loss (and the same without its largest row,
which the batch check judges too), weight and gradient norm, and runs the
per-row spike check on each batch's row losses (:mod:`skfit._training._row_spikes`),
recording the culprits; the spike watch then replays the detector over the batch
losses and records the spikes with their culprits.

That replay is why only the spike policies that never change the course of
training run compiled: under them, a batch is skipped exactly when its objective or
gradient is not finite, which the kernel decides itself. Everything else goes
through the Python runner: hidden layers, user-supplied losses and optimizers,
and the "skip", "rollback" and "raise" policies. Per-batch callbacks are heard
between kernel calls of one batch each. Results agree with the Python runner to
rounding: the kernel sums in its own order.
"""

import math

import numpy as np
from scipy import sparse

from .._config import get_config
from .._numba import FASTMATH, jit, read_only
from ..losses._base import FormulaLoss
from ..losses._formulas import row_loss_gradient
from ..optimizers import FormulaOptimizer
from ..spikes import _compiled_loss_without_largest_row
from ._penalty import penalty_of_sums, penalty_value
from ._row_spikes import check_ordinary_rows, check_rows, judges_rows
from ._rows import (
    PREFETCH_DISTANCE,
    add_row,
    n_rows,
    prefetch_row,
    row_dot,
    touch_row,
)
from ._update import apply_unpenalised_update, apply_update

__all__ = ["CompiledBatches", "compiled_batches", "is_formula"]


def is_formula(obj, base, methods):
    """Whether ``obj`` is a built-in part whose formula is what it computes: an
    instance of ``base`` that overrides none of ``methods``."""
    return isinstance(obj, base) and all(
        getattr(type(obj), name) is getattr(base, name) for name in methods
    )


def compiled_batches(training):
    """A :class:`CompiledBatches` runner for a training call, or None when the
    call is outside the compiled loop's scope (see the module docstring)."""
    state, data, config = training.state, training.data, training.config
    X = data.X
    if (
        not get_config()["use_numba"]
        or not training.watch.policy.compiled
        or state.network.n_layers != 1
        or not is_formula(state.optimizer, FormulaOptimizer, ("init", "update"))
        or not is_formula(config.loss, FormulaLoss, ("loss", "loss_gradient"))
        # One batch per epoch has no per-batch overhead to save, and its large
        # products run faster through multithreaded BLAS.
        or (config.batch_size or math.inf) >= data.n_train
        or not (
            (isinstance(X, np.ndarray) and X.flags.c_contiguous)
            or (sparse.issparse(X) and X.format == "csr")
        )
    ):
        return None
    return CompiledBatches(training)


class CompiledBatches:
    """Trains the batches of one epoch of a linear model in one compiled call.

    The kernel works on ``(n_outputs, n_features + 1)`` matrices, one row per
    output holding its weights then its bias, so that each output's dot product
    with a row of X reads contiguous memory. The parameters and the optimizer's
    state are packed into that layout before the call and unpacked after it.
    """

    def __init__(self, training):
        self.training = training
        state, data, config = training.state, training.data, training.config
        self.state = state
        network = state.network
        self.n_features, self.n_outputs = network.layer_sizes
        dtype = network.dtype
        X = data.X
        # The data goes in read-only and Y C-ordered, whatever the user's arrays
        # are, so that one compiled variant of the kernel serves them all.
        self.rows = (
            read_only(X)
            if isinstance(X, np.ndarray)
            else tuple(read_only(part) for part in (X.data, X.indices, X.indptr))
        )
        self.Y = read_only(np.ascontiguousarray(data.Y))
        self.sample_weight = read_only(
            np.empty(0, dtype=dtype)
            if data.sample_weight is None
            else np.ascontiguousarray(data.sample_weight, dtype=dtype)
        )
        self.loss_kernel = config.loss.kernel(dtype)
        self.penalty = config.penalty
        # Every row of an epoch may be a culprit: its position and loss go here.
        self.culprit_positions = np.empty(data.n_train, dtype=np.intp)
        self.culprit_losses = np.empty(data.n_train)
        # Each batch's data loss, and the same without its largest row, which the
        # batch check judges (see SpikeDetector.check).
        self.data_losses = np.empty(len(training.batches))
        self.losses_without_largest = np.empty(len(training.batches))

    def run_epoch(self, epoch, order, losses, weights, norms):
        """Train one epoch's batches in ``order``, then replay the spike checks on
        the recorded batch losses; returns as the Python runner's ``run_epoch``."""
        training = self.training
        if training.batch_callbacks:
            return self.run_batch_by_batch(epoch, order, losses, weights, norms)
        rate = training.rate_at(self.state.t)
        done = n_spikes = 0
        try:
            # The rate of each update the epoch may apply, in turn.
            rates = training.rates_from(self.state.t, len(training.batches))
            done, n_steps, n_culprits, interrupted = self.run(
                order,
                rates,
                losses,
                weights,
                norms,
                self.data_losses,
                self.losses_without_largest,
            )
            # Back to the user's units from those training runs in.
            losses[:done] *= training.config.loss_scale
            self.data_losses[:done] *= training.config.loss_scale
            self.losses_without_largest[:done] *= training.config.loss_scale
            if n_steps:
                rate = rates[n_steps - 1]
            n_spikes = training.watch.replay(
                epoch,
                order,
                losses[:done],
                self.data_losses[:done],
                self.losses_without_largest[:done],
                norms[:done],
                training.batch_sizes[:done],
                (
                    self.culprit_positions[:n_culprits],
                    self.culprit_losses[:n_culprits],
                ),
            )
        except KeyboardInterrupt:
            # The updates applied are kept and the epoch is recorded, as in the
            # Python runner (a late interrupt may leave its spikes unrecorded).
            interrupted = True
        return done, rate, n_spikes, interrupted

    def run_batch_by_batch(self, epoch, order, losses, weights, norms):
        """As :meth:`run_epoch`, with one kernel call per batch, so that the
        per-batch callbacks hear of each batch. The kernel's arithmetic does not
        depend on how many batches a call trains, so the parameters are those of
        a fit without the callbacks, to the bit."""
        training, state = self.training, self.state
        positions = np.arange(training.data.n_train) if order is None else order
        rate = training.rate_at(state.t)
        done = n_spikes = 0
        try:
            for b, batch in enumerate(training.batches):
                rates = training.rates_from(state.t, 1)
                _, n_steps, n_culprits, interrupted = self.run(
                    positions[batch],
                    rates,
                    losses[b : b + 1],
                    weights[b : b + 1],
                    norms[b : b + 1],
                    self.data_losses[b : b + 1],
                    self.losses_without_largest[b : b + 1],
                )
                if interrupted:
                    return done, rate, n_spikes, True
                losses[b] *= training.config.loss_scale
                self.data_losses[b] *= training.config.loss_scale
                self.losses_without_largest[b] *= training.config.loss_scale
                if n_steps:
                    rate = rates[0]
                # The call's positions count from the batch's first row.
                n_spikes += training.watch.replay(
                    epoch,
                    order,
                    losses[b : b + 1],
                    self.data_losses[b : b + 1],
                    self.losses_without_largest[b : b + 1],
                    norms[b : b + 1],
                    training.batch_sizes[b : b + 1],
                    (
                        self.culprit_positions[:n_culprits] + batch.start,
                        self.culprit_losses[:n_culprits],
                    ),
                    first_batch=b,
                )
                done = b + 1
                batch_record = {
                    "epoch": epoch,
                    "batch": b,
                    "loss": float(losses[b]),
                    "n_samples": int(training.batch_sizes[b]),
                    "skipped": not n_steps,
                }
                for callback in training.batch_callbacks:
                    callback.on_batch_end(training.estimator, batch_record)
        except KeyboardInterrupt:
            return done, rate, n_spikes, True
        return done, rate, n_spikes, False

    def run(
        self, order, rates, losses, weights, norms, data_losses, losses_without_largest
    ):
        """Train the epoch's batches and advance the update counters; return
        ``(batches done, updates applied, culprits found, whether interrupted)``.

        ``order`` holds the row numbers in the epoch's order (None: 0..n-1),
        ``rates`` the learning rate of each possible update in turn; ``losses``,
        ``weights``, ``norms``, ``data_losses`` and ``losses_without_largest``
        receive each batch's objective, weight, gradient norm, data loss and data
        loss without its largest row (NaN while the row check warms up).
        """
        training = self.training
        # The kernel counts the batches done, the updates applied and the culprit
        # rows found in here.
        progress = np.zeros(3, dtype=np.int64)
        state, network = self.state, self.state.network
        optimizer, optimizer_state = state.optimizer, state.optimizer_state
        packed = self._pack(network.flat)
        states = [
            self._pack(optimizer_state[name][0]) for name in optimizer.state_names
        ]
        while len(states) < 2:
            states.append(np.empty((0, 0), dtype=packed.dtype))
        count = optimizer_state["count"]
        penalty = self.penalty
        interrupted = False
        try:
            _train_epoch(
                self.rows,
                self.Y,
                self.sample_weight,
                np.empty(0, dtype=np.intp) if order is None else order,
                training.batch_size,
                training.mean_weight,
                self.loss_kernel,
                network.fit_intercept,
                packed,
                optimizer.kernel(),
                states[0],
                states[1],
                count,
                penalty.gradient_l2(penalty.l2),
                penalty.decay(penalty.l2),
                penalty.l1,
                np.empty(0)
                if training.penalty_weights is None
                else training.penalty_weights,
                rates,
                losses,
                weights,
                norms,
                data_losses,
                losses_without_largest,
                progress,
                training.row_norms,
                state.row_detector.stats,
                state.row_detector.recent,
                state.row_detector.threshold,
                self.culprit_positions,
                self.culprit_losses,
            )
        except KeyboardInterrupt:
            # A KeyboardInterrupt surfaces only once the compiled call returns (or
            # before it starts): progress says what was done, and that is kept.
            interrupted = True
        self._unpack(packed, network.flat)
        for name, packed_state in zip(optimizer.state_names, states, strict=False):
            self._unpack(packed_state, optimizer_state[name][0])
        n_steps = int(progress[1])
        optimizer_state["count"] = count + n_steps
        state.t += n_steps
        return int(progress[0]), n_steps, int(progress[2]), interrupted

    def _pack(self, flat):
        d, k = self.n_features, self.n_outputs
        packed = np.empty((k, d + 1), dtype=flat.dtype)
        packed[:, :d] = flat[: d * k].reshape(d, k).T
        packed[:, d] = flat[d * k :]
        return packed

    def _unpack(self, packed, flat):
        d, k = self.n_features, self.n_outputs
        flat[: d * k].reshape(d, k)[...] = packed[:, :d].T
        flat[d * k :] = packed[:, d]


@jit(inline=True)
def _loss_without_largest(
    row_losses, largest, loss_sum, weight, sample_weight, order, start
):
    """The batch's data loss without its row of the largest (weighted) loss: of
    the ``largest`` row loss, when the rows weigh alike; else found from the
    batch's row losses, which are in cache."""
    if sample_weight.shape[0] == 0:
        return _compiled_loss_without_largest_row(loss_sum, weight, largest, 1.0)
    largest_contribution = largest_weight = 0.0
    for i in range(row_losses.shape[0]):
        position = start + i
        row_weight = sample_weight[order[position] if order.shape[0] else position]
        contribution = row_weight * row_losses[i]
        if contribution > largest_contribution:
            largest_contribution = contribution
            largest_weight = row_weight
    return _compiled_loss_without_largest_row(
        loss_sum, weight, largest_contribution, largest_weight
    )


@jit(fastmath=FASTMATH)
def _train_epoch(
    X,
    Y,
    sample_weight,
    order,
    batch_size,
    mean_weight,
    loss,
    fit_intercept,
    params,
    optimizer,
    first,
    second,
    count,
    l2,
    decay,
    l1,
    penalty_weights,
    rates,
    losses,
    weights,
    norms,
    data_losses,
    losses_without_largest,
    progress,
    row_norms,
    row_stats,
    row_recent,
    threshold,
    culprit_positions,
    culprit_losses,
):
    """Walk the rows in batches, updating ``params`` in place (see CompiledBatches).

    With ``penalty_weights`` (CSR rows), a batch updates only the weights of the
    features it contains, their penalty scaled by those weights, and the penalty's
    value is kept as a running sum over the weights that change.

    The lines marked ``# row check`` are the per-row spike check
    (:mod:`skfit._training._row_spikes`), and the batch's loss without its
    largest row, which the batch check judges only once rows are judged;
    ``benchmarks/overhead.py`` times the kernel without them.
    """
    n_train = order.shape[0] if order.shape[0] else n_rows(X)
    n_outputs, n_columns = params.shape
    n_features = n_columns - 1
    weighted = sample_weight.shape[0] > 0
    stateful = first.shape[0] > 0
    sparse = penalty_weights.shape[0] > 0
    grad = np.zeros_like(params)
    raw = np.empty(n_outputs)
    raw_grad = np.empty(n_outputs)
    row_losses = np.empty(batch_size)  # row check
    no_state = np.empty(0, dtype=params.dtype)
    # The features a sparse batch contains, each marked with the batch's number.
    touched = np.empty(n_features if sparse else 0, dtype=np.intp)
    marks = np.full(n_features if sparse else 0, -1, dtype=np.intp)
    # A sparse epoch keeps the sums of the weights' squares and absolute values
    # up to date through the updates, rather than summing every weight per batch.
    squares = 0.0
    absolutes = 0.0
    for k in range(n_outputs):
        for j in range(n_features):
            w = params[k, j]
            squares += w * w
            absolutes += abs(w)
    # A shuffled epoch reads rows in random order: each row's first cache line
    # would stall for a trip to memory, so rows are requested ahead of use.
    line = max(64 // params.itemsize, 1)
    steps = 0
    n_culprits = 0  # row check
    for batch, start in enumerate(range(0, n_train, batch_size)):
        stop = min(start + batch_size, n_train)
        m = stop - start
        n_touched = 0
        loss_sum = 0.0
        weight = 0.0
        largest = 0.0  # row check
        for position in range(start, stop):
            if order.shape[0]:
                row = order[position]
                if position + PREFETCH_DISTANCE < n_train:
                    prefetch_row(X, order[position + PREFETCH_DISTANCE], line)
            else:
                row = position
            for k in range(n_outputs):
                coefficients = params[k]
                raw[k] = row_dot(X, row, coefficients) + coefficients[n_features]
            row_loss = row_loss_gradient(loss, raw, Y[row], raw_grad)
            row_losses[position - start] = row_loss  # row check
            largest = max(largest, row_loss)  # row check
            row_weight = sample_weight[row] if weighted else 1.0
            loss_sum += row_weight * row_loss
            weight += row_weight
            share = row_weight / (m * mean_weight)
            for k in range(n_outputs):
                g = raw_grad[k] * share
                output_grad = grad[k]
                add_row(X, row, g, output_grad)
                output_grad[n_features] += g
            if sparse:
                n_touched = touch_row(X, row, batch, marks, touched, n_touched)
        # The batch check leaves a rise that one row makes to the row check once
        # that judges rows, from before this batch on.
        rows_judged = judges_rows(row_stats)  # row check
        if not check_ordinary_rows(loss, row_stats, threshold, row_losses[:m]):
            n_culprits += check_rows(
                loss,
                row_stats,
                row_recent,
                threshold,
                row_losses[:m],
                row_norms,
                sample_weight,
                order,
                start,
                culprit_positions[n_culprits:],
                culprit_losses[n_culprits:],
            )  # row check
        progress[2] = n_culprits  # row check
        if weighted:
            data_loss = loss_sum / weight if weight > 0 else 0.0
        else:
            data_loss = loss_sum / m
        # The batch's share of the objective's weight, as in the Python runner.
        scale = weight / (m * mean_weight)
        objective = data_loss
        norm = 0.0
        for k in range(n_outputs):
            coefficients = params[k]
            output_grad = grad[k]
            if sparse:
                for position in range(n_touched):
                    j = touched[position]
                    g = (
                        output_grad[j]
                        + l2 * scale * penalty_weights[j] * coefficients[j]
                    )
                    output_grad[j] = g
                    norm += g * g
            else:
                objective += penalty_value(l2 + decay, l1, coefficients[:n_features])
                for j in range(n_features):
                    g = output_grad[j] + l2 * scale * coefficients[j]
                    output_grad[j] = g
                    norm += g * g
            if not fit_intercept:
                output_grad[n_features] = 0.0
            norm += output_grad[n_features] ** 2
        if sparse:
            objective += penalty_of_sums(l2 + decay, l1, squares, absolutes)
        norm = math.sqrt(norm)
        losses[batch] = objective
        data_losses[batch] = data_loss
        losses_without_largest[batch] = (
            _loss_without_largest(
                row_losses[:m], largest, loss_sum, weight, sample_weight, order, start
            )
            if rows_judged
            else math.nan
        )  # row check
        weights[batch] = weight
        norms[batch] = norm
        progress[0] = batch + 1
        if math.isfinite(objective) and math.isfinite(norm):
            rate = rates[steps]
            steps += 1
            active = touched[:n_touched]
            for k in range(n_outputs):
                coefficients = params[k]
                # The weights, penalised; then the bias, not.
                d_squares, d_absolutes = apply_update(
                    optimizer,
                    coefficients[:n_features],
                    grad[k, :n_features],
                    first[k, :n_features] if stateful else no_state,
                    second[k, :n_features] if second.shape[0] else no_state,
                    rate,
                    count + steps,
                    decay * scale,
                    l1 * scale,
                    sparse,
                    active,
                    penalty_weights,
                )
                squares += d_squares
                absolutes += d_absolutes
                if fit_intercept:
                    apply_unpenalised_update(
                        optimizer,
                        coefficients[n_features:],
                        grad[k, n_features:],
                        first[k, n_features:] if stateful else no_state,
                        second[k, n_features:] if second.shape[0] else no_state,
                        rate,
                        count + steps,
                    )
            progress[1] = steps
        else:
            # The update consumes the gradient; a skipped batch leaves it to clear.
            for k in range(n_outputs):
                if sparse:
                    for position in range(n_touched):
                        grad[k, touched[position]] = 0.0
                else:
                    grad[k, :n_features] = 0.0
        for k in range(n_outputs):
            grad[k, n_features] = 0.0
