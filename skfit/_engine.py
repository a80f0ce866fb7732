"""The one training loop shared by every skfit estimator.

An epoch walks the training rows in batches. For each batch the engine runs the
model's forward pass, the loss and its gradient, the backward pass and the
penalty, checks the batch, and applies the optimizer's step. After each epoch it
records the history, asks the callbacks, and decides whether a stopping rule fired.
"""

import math
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches

from ._compiled import compiled_batches
from ._state import TrainingOutcome
from ._stopping import DIVERGENCE_RATE_DIVISOR, Divergence, Patience
from .callbacks import Callback
from .history import Spike
from .spikes import LossSpikeError, LossSpikeWarning

__all__ = ["train"]

#: At most this many row numbers are kept per spike record...
SPIKE_INDEX_CAP = 1024
#: ...and at most this many spike records per fit (all are counted in the history).
SPIKE_RECORD_CAP = 1000
#: Under spike_policy='skip', more spikes than this in consecutive batches stop
#: training with stop_reason_='spike'.
SKIP_LIMIT = 10
#: Under spike_policy='rollback', more rollbacks than this without an epoch free of
#: spikes in between stop training with stop_reason_='spike'.
ROLLBACK_LIMIT = 5


def train(state, data, config, estimator):
    """Train ``state`` on ``data`` and return a :class:`TrainingOutcome`.

    ``estimator`` is handed to the callbacks. A ``KeyboardInterrupt`` keeps
    everything done so far: the partial epoch is recorded, the outcome is
    attached to the exception as ``outcome`` and the interrupt is raised again.
    """
    return _Loop(state, data, config, estimator).run()


class _Loop:
    def __init__(self, state, data, config, estimator):
        self.state = state
        self.data = data
        self.config = config
        self.estimator = estimator
        n = data.n_train
        batch_size = n if config.batch_size is None else min(config.batch_size, n)
        self.batch_size = batch_size
        self.batches = list(gen_batches(n, batch_size))
        self.batch_sizes = np.array([b.stop - b.start for b in self.batches])
        # Only the callbacks that define on_batch_end hear of every batch: a no-op
        # hook would still cost a record and a call per batch.
        self.batch_callbacks = [
            callback
            for callback in config.callbacks
            if getattr(type(callback), "on_batch_end", Callback.on_batch_end)
            is not Callback.on_batch_end
        ]
        self.compiled = compiled_batches(state, data, config, self.batch_callbacks)
        # One batch over all rows needs no shuffling: its gradient is a sum.
        self.shuffle = config.shuffle and len(self.batches) > 1
        if self.compiled is None:
            self.workspace = state.network.allocate(batch_size, config.random_state)
        # The compiled loop reads rows by index; the Python loop gathers them.
        gathers = self.compiled is None and (self.shuffle or data.rows is not None)
        self.row_buffer = (
            np.empty((batch_size, data.X.shape[1]), dtype=state.network.dtype)
            if gathers and isinstance(data.X, np.ndarray)
            else None
        )
        sw = data.sample_weight
        self.mean_weight = (
            1.0
            if sw is None
            else float(sw.mean() if data.rows is None else sw[data.rows].mean())
        )
        # int32 row numbers halve the size of spike records wherever they fit.
        self.index_dtype = np.int32 if data.X.shape[0] < 2**31 else np.int64
        self.spikes_in_call = 0
        self.worst_spike = None
        self.consecutive_skips = 0
        self.rollbacks = 0
        self.clean_snapshot = None

    # ------------------------------------------------------------------ epochs
    def run(self):
        config, state = self.config, self.state
        schedule_start = getattr(state.schedule, "start", None)
        if schedule_start is not None:
            schedule_start(config.max_epochs * len(self.batches))
        state.spike_detector.threshold = config.spike_threshold
        monitor_validation = config.early_stopping and self.data.X_val is not None
        # The monitored loss is the validation loss under early stopping, computed
        # with the parameters at the end of an epoch; otherwise the training loss,
        # computed (in full batch exactly) with the parameters at its start.
        best = math.inf
        best_epoch = state.n_epochs
        best_snapshot = state.snapshot()
        if config.spike_policy == "rollback":
            self.clean_snapshot = best_snapshot
        tol_rule = Patience(config.tol)
        early_stopping_rule = Patience(config.tol or 0.0)
        divergence = Divergence()
        reason = "max_epochs"
        for callback in config.callbacks:
            callback.on_train_begin(self.estimator)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                # Overflow is expected when training diverges; the engine detects
                # non-finite losses and gradients itself and never applies them.
                for _ in range(config.max_epochs):
                    epoch_start = None if monitor_validation else state.snapshot()
                    record, interrupted = self.run_epoch(state.n_epochs + 1)
                    loss = record["loss"]
                    monitored = record["val_loss"] if monitor_validation else loss
                    if monitored < best:
                        best, best_epoch = monitored, record["epoch"]
                        best_snapshot = epoch_start or state.snapshot()
                    if interrupted:
                        reason = "interrupted"
                        break
                    callback_stop = False
                    for callback in config.callbacks:
                        callback_stop |= bool(
                            callback.on_epoch_end(self.estimator, record)
                        )
                    epoch_end = getattr(state.schedule, "epoch_end", None)
                    if epoch_end is not None:
                        epoch_end(monitored)
                    reason = self.stop_reason(
                        loss,
                        divergence.update(loss),
                        callback_stop,
                        monitor_validation
                        and early_stopping_rule.update(monitored)
                        >= config.n_iter_no_change,
                        config.tol is not None
                        and tol_rule.update(loss) >= config.n_iter_no_change,
                    )
                    if reason is not None:
                        break
                else:
                    reason = "max_epochs"
        except KeyboardInterrupt as interrupt:
            interrupt.outcome = TrainingOutcome("interrupted", best_epoch, best)
            raise
        finally:
            for callback in config.callbacks:
                callback.on_train_end(self.estimator)

        if reason in ("diverged", "early_stopping"):
            state.restore(best_snapshot)
        if config.spike_policy == "warn" and self.worst_spike is not None:
            self.warn_spikes()
        if reason == "diverged":
            self.warn_divergence()
        elif reason == "max_epochs" and config.warn_at_max_epochs:
            warnings.warn(
                f"Maximum number of epochs ({config.max_epochs}) reached and the "
                "optimization has not converged yet; raise max_epochs or "
                "learning_rate, or loosen tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        outcome = TrainingOutcome(reason, best_epoch, best)
        if reason == "interrupted":
            interrupt = KeyboardInterrupt()
            interrupt.outcome = outcome
            raise interrupt
        return outcome

    def stop_reason(self, loss, diverged, callback_stop, early_stop, tol_stop):
        """The rule that ends training after an epoch, by priority, or None."""
        if diverged:
            return "diverged"
        if self.consecutive_skips > SKIP_LIMIT or self.rollbacks > ROLLBACK_LIMIT:
            return "spike"
        if callback_stop:
            return "callback"
        threshold = self.config.loss_threshold
        if threshold is not None and loss <= threshold:
            return "loss_threshold"
        if early_stop:
            return "early_stopping"
        if tol_stop:
            return "tol"
        return None

    def warn_divergence(self):
        rate = self.config.learning_rate * self.state.rate_factor
        suggestion = rate / DIVERGENCE_RATE_DIVISOR
        warnings.warn(
            f"Training diverged (the loss became non-finite or exploded) with "
            f"learning_rate={rate:g}, which is likely too large: try "
            f"learning_rate={suggestion:g}, and scale the features (for example "
            "with StandardScaler). The best parameters seen were restored.",
            ConvergenceWarning,
            stacklevel=4,
        )

    def warn_spikes(self):
        worst = self.worst_spike
        warnings.warn(
            f"{self.spikes_in_call} loss spike(s) in this call (spikes_ lists them "
            f"with their rows); the worst at epoch {worst.epoch}, batch "
            f"{worst.batch}: loss {worst.loss:.6g}, {worst.ratio:.3g} times the "
            f"baseline {worst.baseline:.6g}. A learning rate that overcorrects, or "
            "bad rows in the data, cause spikes; spike_policy sets what to do.",
            LossSpikeWarning,
            stacklevel=4,
        )

    def order(self, rng):
        """Row numbers of the training rows in this epoch's order (None: 0..n-1)."""
        rows = self.data.rows
        if not self.shuffle:
            return rows
        permutation = rng.permutation(self.data.n_train)
        return permutation if rows is None else rows[permutation]

    # ------------------------------------------------------------------ batches
    def run_epoch(self, epoch):
        """Train one epoch; return its history record and whether it was interrupted."""
        order = self.order(self.config.random_state)
        n_batches = len(self.batches)
        batch_losses = np.empty(n_batches)
        batch_weights = np.empty(n_batches)
        grad_norms = np.empty(n_batches)
        start_time = time.perf_counter()
        run_batches = (
            self.run_python_batches if self.compiled is None else self.run_compiled
        )
        done, rate, n_spikes, interrupted = run_batches(
            epoch, order, batch_losses, batch_weights, grad_norms
        )
        if not interrupted and n_spikes == 0 and self.config.spike_policy == "rollback":
            self.clean_snapshot = self.state.snapshot()
            self.rollbacks = 0
        record = self.epoch_record(
            epoch,
            batch_losses[:done],
            batch_weights[:done],
            grad_norms[:done],
            rate,
            time.perf_counter() - start_time,
            n_spikes,
        )
        # The history keeps batch losses in float32: a long per-sample run stays small.
        with np.errstate(over="ignore"):
            compact = batch_losses[:done].astype(np.float32)
        self.state.history.append(record, compact)
        return record, interrupted

    def current_rate(self, step):
        state = self.state
        return self.config.learning_rate * state.rate_factor * state.schedule(step)

    def run_python_batches(self, epoch, order, batch_losses, batch_weights, grad_norms):
        """Train the batches in Python; return (batches done, last learning rate,
        spikes, whether interrupted), filling the per-batch arrays."""
        state, data, config = self.state, self.data, self.config
        network, loss_fn, penalty = state.network, config.loss, config.penalty
        params = [network.flat]
        weights = network.flat[: network.n_weights]
        flat_grad = self.workspace.flat_grad
        weight_grads = flat_grad[: network.n_weights]
        X, Y, sw = data.X, data.Y, data.sample_weight
        callbacks = self.batch_callbacks
        rate = self.current_rate(state.t)
        n_spikes = done = 0
        try:
            for b, batch in enumerate(self.batches):
                rows = batch if order is None else order[batch]
                Xb = self.take_rows(X, rows)
                raw = network.forward(Xb, self.workspace)
                losses, grad_raw = loss_fn.loss_gradient(Y[rows], raw)
                m = raw.shape[0]
                if sw is None:
                    weight = float(m)
                    data_loss = float(losses.sum()) / m
                    grad_raw *= 1.0 / m
                else:
                    swb = sw[rows]
                    weight = float(swb.sum())
                    data_loss = float(swb @ losses) / weight if weight > 0 else 0.0
                    grad_raw *= (swb / (m * self.mean_weight))[:, np.newaxis]
                # The batch's share of the objective's weight; 1 for equal weights.
                scale = weight / (m * self.mean_weight)
                objective = (data_loss + penalty.value(weights)) * config.loss_scale
                network.backward(Xb, grad_raw, self.workspace)
                penalty.add_gradient(weights, weight_grads, scale)
                grad_norm = math.sqrt(float(np.dot(flat_grad, flat_grad)))
                is_spike, skipped = self.check_batch(
                    epoch, b, objective, grad_norm, order, m
                )
                n_spikes += is_spike
                if not skipped:
                    rate = self.current_rate(state.t)
                    steps, state.optimizer_state = state.optimizer.update(
                        [flat_grad], state.optimizer_state, rate
                    )
                    penalty.before_update(weights, rate, scale)
                    for param, step in zip(params, steps, strict=True):
                        param += step
                    penalty.after_update(weights, rate, scale)
                    state.t += 1
                batch_losses[b] = objective
                batch_weights[b] = weight
                grad_norms[b] = grad_norm
                done = b + 1
                if callbacks:
                    batch_record = {
                        "epoch": epoch,
                        "batch": b,
                        "loss": objective,
                        "n_samples": m,
                        "skipped": skipped,
                    }
                    for callback in callbacks:
                        callback.on_batch_end(self.estimator, batch_record)
        except KeyboardInterrupt:
            return done, rate, n_spikes, True
        return done, rate, n_spikes, False

    def run_compiled(self, epoch, order, batch_losses, batch_weights, grad_norms):
        """Train the batches in one compiled call, then replay the spike checks on
        the recorded batch losses; returns as :meth:`run_python_batches`."""
        state = self.state
        rate = self.current_rate(state.t)
        done = n_spikes = 0
        try:
            # The rate of each update the epoch may apply, in turn.
            n_batches = len(self.batches)
            multipliers = map(state.schedule, range(state.t, state.t + n_batches))
            rates = (self.config.learning_rate * state.rate_factor) * np.fromiter(
                multipliers, dtype=float, count=n_batches
            )
            done, n_steps, interrupted = self.compiled.run(
                order,
                self.batch_size,
                self.mean_weight,
                rates,
                batch_losses,
                batch_weights,
                grad_norms,
            )
            batch_losses[:done] *= self.config.loss_scale
            if n_steps:
                rate = rates[n_steps - 1]
            n_spikes = self.replay_spike_checks(
                epoch, order, batch_losses[:done], grad_norms[:done]
            )
        except KeyboardInterrupt:
            # The updates applied are kept and the epoch is recorded, as in the
            # Python loop (a late interrupt may leave its spikes unrecorded).
            interrupted = True
        return done, rate, n_spikes, interrupted

    def replay_spike_checks(self, epoch, order, losses, grad_norms):
        """Check an epoch's recorded batch losses for spikes, as check_batch does
        batch by batch; record them and return how many there were."""
        sizes = self.batch_sizes[: len(losses)]
        finite_grads = np.isfinite(grad_norms)
        # As in check_batch, a non-finite gradient is checked as an infinite loss.
        spikes, baselines = self.state.spike_detector.check_run(
            np.where(finite_grads, losses, np.inf), sizes
        )
        for b in np.flatnonzero(spikes).tolist():
            objective = float(losses[b])
            finite = bool(finite_grads[b]) and math.isfinite(objective)
            self.handle_spike(
                epoch, b, objective, order, int(sizes[b]), finite, float(baselines[b])
            )
        return int(spikes.sum())

    def check_batch(self, epoch, batch, objective, grad_norm, order, m):
        """Check a batch for a spike and apply the policy; return (is_spike, skip)."""
        detector = self.state.spike_detector
        finite_grad = math.isfinite(grad_norm)
        # A non-finite gradient is a spike whatever the loss: checked as infinite.
        if not detector.check(objective if finite_grad else math.inf, m):
            self.consecutive_skips = 0
            return False, False
        finite = finite_grad and math.isfinite(objective)
        skip = self.handle_spike(
            epoch, batch, objective, order, m, finite, detector.previous_baseline
        )
        return True, skip

    def take_rows(self, X, rows):
        if isinstance(rows, slice):
            return X[rows]
        if self.row_buffer is not None:
            return np.take(X, rows, axis=0, out=self.row_buffer[: len(rows)])
        return X[rows]

    def handle_spike(self, epoch, batch, objective, order, m, finite, baseline):
        """Record a spike, compared with ``baseline``, and apply the policy; return
        whether to skip the update."""
        rows = self.batches[batch]
        if order is not None:
            rows = order[rows]
        ratio = objective / baseline if finite and baseline else math.inf
        # A slice only occurs when the batches walk X in order, so its positions are
        # the row numbers in X.
        indices = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
        spike = Spike(
            epoch=epoch,
            batch=batch,
            loss=float(objective),
            baseline=float(baseline),
            ratio=float(ratio),
            sample_indices=np.asarray(
                indices[:SPIKE_INDEX_CAP], dtype=self.index_dtype
            ),
            n_samples=m,
        )
        self.spikes_in_call += 1
        if self.spikes_in_call <= SPIKE_RECORD_CAP:
            self.state.spikes.append(spike)
        if self.worst_spike is None or not spike.ratio <= self.worst_spike.ratio:
            self.worst_spike = spike
        policy = self.config.spike_policy
        if policy == "raise":
            raise LossSpikeError(spike)
        if policy == "skip":
            self.consecutive_skips += 1
            return True
        if policy == "rollback":
            self.state.restore(self.clean_snapshot)
            self.state.rate_factor *= 0.5
            self.rollbacks += 1
            return True
        return not finite

    def epoch_record(
        self, epoch, losses, weights, grad_norms, rate, duration, n_spikes
    ):
        finite = np.isfinite(losses)
        total_weight = weights[finite].sum()
        loss = (
            float(weights[finite] @ losses[finite]) / total_weight
            if total_weight > 0
            else math.nan
        )
        val_loss = val_score = math.nan
        if self.data.X_val is not None:
            val_loss, val_score = self.validate()
        return {
            "epoch": epoch,
            "loss": loss,
            "val_loss": val_loss,
            "val_score": val_score,
            "learning_rate": float(rate),
            "grad_norm": float(grad_norms[finite].mean()) if finite.any() else math.nan,
            "duration": duration,
            "n_spikes": n_spikes,
        }

    def validate(self):
        """The objective and the score of the end-of-epoch parameters on validation."""
        data, network = self.data, self.state.network
        raw = network.predict_raw(data.X_val)
        losses = self.config.loss.loss(data.Y_val, raw)
        data_loss = float(np.average(losses, weights=data.sample_weight_val))
        loss = data_loss + self.config.penalty.value(network.flat[: network.n_weights])
        loss *= self.config.loss_scale
        return loss, float(data.score(raw, data.y_val, data.sample_weight_val))
