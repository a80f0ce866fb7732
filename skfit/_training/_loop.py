"""The one training loop shared by every skfit estimator.

Training runs epochs until a stopping rule fires. An epoch walks the training rows
in batches through a batch runner, compiled for linear models or in Python for the
rest: each batch is a forward pass, the loss and its gradient (with the per-row
spike check on each row's loss), a backward pass, a spike check and an update. The
epoch then becomes a record in the history, held-out rows are scored, and the
stopping rules read the record. A linear model's fit of a convex problem ends with
the quasi-Newton finish (:mod:`skfit._training._finish`): a runner whose epochs
are full-batch L-BFGS steps takes over when the tolerance rule fires, or when half
of the epoch budget is left.
"""

import math
import time

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches
from sklearn.utils.extmath import row_norms

from .._warn import warn_at_user
from ..callbacks import Callback
from ._compiled_batches import compiled_batches
from ._finish import FINISH_SHARE, Finished, QuasiNewtonFinish, finishes
from ._held_out import HeldOutScorer
from ._python_batches import PythonBatches
from ._spikes import POLICIES, SpikeWatch
from ._state import TrainingOutcome
from ._stopping import (
    DIVERGENCE_RATE_DIVISOR,
    GROWTH_WITHIN_EPOCH,
    Overflow,
    stop_rules,
)
from ._update import Update, sparse_penalty_weights

__all__ = ["train"]

#: The rows of the first batches whose mean loss stands for the loss before
#: training, in the max_epochs warning.
START_ROWS = 32


def train(state, data, config, estimator):
    """Train ``state`` on ``data`` and return a :class:`TrainingOutcome`.

    ``estimator`` is handed to the callbacks. A ``KeyboardInterrupt`` keeps
    everything done so far: the partial epoch is recorded, the outcome is
    attached to the exception as ``outcome`` and the interrupt is raised again.
    """
    return Training(state, data, config, estimator).run()


class Training:
    """One training call: its batch plan, runner, spike watch and stopping rules."""

    def __init__(self, state, data, config, estimator):
        self.state = state
        self.data = data
        self.config = config
        self.estimator = estimator
        # This call's records start here: a warm start continues the history.
        self.first_record = len(state.history)
        n = data.n_train
        self.batch_size = n if config.batch_size is None else min(config.batch_size, n)
        self.batches = list(gen_batches(n, self.batch_size))
        self.batch_sizes = np.array([b.stop - b.start for b in self.batches])
        # The per-row spike check compares the rows' norms: they are read once.
        with np.errstate(over="ignore"):
            self.row_norms = row_norms(data.X).astype(np.float64, copy=False)
        # One batch over all rows needs no shuffling: its gradient is a sum.
        self.shuffle = config.shuffle and len(self.batches) > 1
        sw = data.train_sample_weight
        self.mean_weight = 1.0 if sw is None else float(sw.mean())
        # Only the callbacks that define on_batch_end hear of every batch: a no-op
        # hook would still cost a record and a call per batch.
        self.batch_callbacks = [
            callback
            for callback in config.callbacks
            if getattr(type(callback), "on_batch_end", Callback.on_batch_end)
            is not Callback.on_batch_end
        ]
        policy = POLICIES[config.spike_policy](state)
        self.watch = SpikeWatch(
            state, policy, self.batches, self.row_norms, config.loss_scale
        )
        #: On CSR rows a linear model's update moves only the weights of the
        #: features in the batch, their penalty scaled by these (one per feature).
        self.penalty_weights = self.sparse_penalty_weights()
        self.update = Update(
            state,
            config.penalty,
            None
            if self.penalty_weights is None
            else np.repeat(self.penalty_weights, state.network.layer_sizes[-1]),
        )
        self.runner = compiled_batches(self) or PythonBatches(self)
        self.held_out = (
            None
            if data.X_val is None
            else HeldOutScorer(data, config.loss, config.penalty, config.loss_scale)
        )
        #: Whether the call ends with the quasi-Newton finish (see
        #: :mod:`skfit._training._finish`), and whether it has begun.
        self.finishes = finishes(self)
        self.finishing = False

    def sparse_penalty_weights(self):
        """Per feature, the penalty's multiplier in a sparse update (see
        :func:`~skfit._training._update.sparse_penalty_weights`), or None for a
        dense or hidden-layer model, or one batch per epoch."""
        X = self.data.X
        # A full batch holds every feature: each weight moves, as in dense updates,
        # which also spare it the search for the batch's features.
        if (
            not sparse.issparse(X)
            or self.state.network.n_layers != 1
            or len(self.batches) == 1
        ):
            return None
        rows = self.data.rows
        out = np.empty(X.shape[1])
        sparse_penalty_weights(
            X.indptr,
            X.indices,
            np.empty(0, dtype=np.intp) if rows is None else rows.astype(np.intp),
            self.batch_size,
            out,
        )
        return out

    def rate_at(self, t):
        """The learning rate of update ``t`` (counting from 0)."""
        return float(self.rates_from(t, 1)[0])

    def rates_from(self, t, count):
        """The learning rates of updates ``t`` to ``t + count - 1``."""
        multipliers = np.fromiter(
            map(self.state.schedule, range(t, t + count)), dtype=float, count=count
        )
        bad = ~(np.isfinite(multipliers) & (multipliers >= 0))
        if bad.any():
            step = t + int(np.argmax(bad))
            raise ValueError(
                f"The schedule {self.state.schedule!r} returned "
                f"{float(multipliers[bad][0])!r} for update {step}; a learning-rate "
                "multiplier must be a finite number >= 0."
            )
        return (self.config.learning_rate * self.state.rate_factor) * multipliers

    # ------------------------------------------------------------------ epochs
    def run(self):
        config, state = self.config, self.state
        schedule_start = getattr(state.schedule, "start", None)
        if schedule_start is not None:
            schedule_start(config.max_epochs * len(self.batches))
        state.spike_detector.threshold = config.spike_threshold
        state.row_detector.threshold = config.spike_threshold
        state.row_detector.learn_norms(self.data.at_training_rows(self.row_norms))
        monitor_validation = config.early_stopping and self.held_out is not None
        # The monitored loss is the validation loss under early stopping, computed
        # with the parameters at the end of an epoch; otherwise the training loss,
        # computed (in full batch exactly) with the parameters at its start.
        best = math.inf
        best_epoch = state.n_epochs
        best_snapshot = state.snapshot()
        rules = stop_rules(
            config, state, self.watch.policy, self.estimator, monitor_validation
        )
        # A schedule that spans max_epochs (cosine, onecycle) anneals over all of
        # them: the finish then waits for the tolerance rule.
        spans = getattr(state.schedule, "spans_training", False)
        finish_epochs = 0 if spans else int(FINISH_SHARE * config.max_epochs)
        self.watch.policy.begin()
        state.divergence.begin(state.network.flat)
        reason = "max_epochs"
        outcome = None
        for callback in config.callbacks:
            callback.on_train_begin(self.estimator)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                # Overflow is expected when training diverges; the engine detects
                # non-finite losses and gradients itself and never applies them.
                for epoch in range(config.max_epochs):
                    reserved = epoch >= config.max_epochs - finish_epochs
                    if self.finishes and not self.finishing and reserved:
                        # Mini-batch training has not stalled, but the finish
                        # needs these epochs to reach the optimum.
                        self.begin_finish(rules)
                    epoch_start = None if monitor_validation else state.snapshot()
                    record, interrupted = self.run_epoch(state.n_epochs + 1)
                    if record is not None:
                        monitored = record["val_loss" if monitor_validation else "loss"]
                        if monitored < best:
                            best, best_epoch = monitored, record["epoch"]
                            best_snapshot = epoch_start or state.snapshot()
                    if interrupted:
                        reason = "interrupted"
                        break
                    epoch_end = getattr(state.schedule, "epoch_end", None)
                    if epoch_end is not None:
                        epoch_end(monitored)
                    fired = [rule.reason for rule in rules if rule(record)]
                    if fired == ["tol"] and self.finishes and not self.finishing:
                        # Mini-batch training has stalled: the finish takes over.
                        self.begin_finish(rules)
                    elif fired:
                        reason = fired[0]
                        break
            if reason in ("diverged", "early_stopping"):
                state.restore(best_snapshot)
            outcome = TrainingOutcome(reason, best_epoch, best, self.converged(reason))
        except KeyboardInterrupt as interrupt:
            outcome = TrainingOutcome("interrupted", best_epoch, best)
            interrupt.outcome = outcome
            raise
        finally:
            # The estimator learns the outcome before the callbacks hear that
            # training ended, so that on_train_end can read stop_reason_.
            if outcome is not None and config.report_outcome is not None:
                config.report_outcome(outcome)
            self.end_callbacks(outcome)
        self.watch.summarize()
        self.warn(reason)
        if reason == "interrupted":
            interrupt = KeyboardInterrupt()
            interrupt.outcome = outcome
            raise interrupt
        return outcome

    def begin_finish(self, rules):
        """Hand the remaining epochs to the quasi-Newton finish, whose own rule
        replaces the tolerance rule of mini-batch training."""
        self.runner = QuasiNewtonFinish(self)
        self.finishing = True
        rules[:] = [
            Finished(self.runner) if rule.reason == "tol" else rule for rule in rules
        ]

    def converged(self, reason):
        """Whether stopping by ``reason`` means the optimum is near.

        Reaching ``loss_threshold`` (the level asked for) and early stopping (the
        best generalising epoch) do by definition. The tolerance does when it
        stops the quasi-Newton finish, whose steps use the curvature, and when no
        sampling noise can hide progress: in full-batch training, or once the
        schedule has lowered the rate. At a constant rate, mini-batch updates
        hover around the optimum, and a loss that stopped improving may be that
        noise floor, above the optimum.
        """
        if reason in ("loss_threshold", "early_stopping"):
            return True
        if reason != "tol":
            return False
        if self.finishing:
            return True
        annealed = self.state.schedule(max(self.state.t - 1, 0)) < 1.0
        return len(self.batches) == 1 or annealed

    def end_callbacks(self, outcome):
        """Tell the callbacks that training ended. An interrupt from one of them
        comes after the training it ends, so it carries the outcome: the fit is
        kept, and the interrupt raised on."""
        try:
            for callback in self.config.callbacks:
                callback.on_train_end(self.estimator)
        except KeyboardInterrupt as interrupt:
            interrupt.outcome = outcome
            raise

    def warn(self, reason):
        """The warning a stop by ``reason`` calls for, if any."""
        rate = self.config.learning_rate * self.state.rate_factor
        history = self.state.history
        if reason == "diverged" and history and Overflow.fired(history[-1]):
            warn_at_user(
                "No update could be applied: the loss or the gradient of every "
                "batch overflowed, so the features (or the targets) are far too "
                "large for floating point. Scale the features, for example with "
                "StandardScaler, before training.",
                ConvergenceWarning,
            )
        elif reason == "diverged":
            warn_at_user(
                f"Training diverged (the loss became non-finite or exploded) with "
                f"learning_rate={rate:g}, which is likely too large: try "
                f"learning_rate={rate / DIVERGENCE_RATE_DIVISOR:g}, and scale the "
                "features (for example with StandardScaler). The best parameters "
                "seen were restored.",
                ConvergenceWarning,
            )
        elif reason == "max_epochs" and self.config.warn_at_max_epochs:
            losses = history["loss"][self.first_record :]
            # The loss grew over the call's epochs, or exploded within the
            # first: at a huge rate Adam's bounded steps raise it a billionfold
            # after a batch or two, a rise the first epoch's mean holds and its
            # first batches (before the updates took hold) do not. Those span
            # START_ROWS rows, as one small batch's loss is noisy; a thousandfold
            # is beyond their noise.
            first_batches = history.epoch_batch_losses(self.first_record)
            start = float(np.mean(first_batches[: -(-START_ROWS // self.batch_size)]))
            if not losses[-1] > GROWTH_WITHIN_EPOCH * start:
                start = losses[0]
            if losses[-1] > start:
                advice = (
                    f"the loss grew from {start:.6g} to {losses[-1]:.6g}, so "
                    f"learning_rate={rate:g} is likely too large: try "
                    f"learning_rate={rate / DIVERGENCE_RATE_DIVISOR:g}, and scale "
                    "the features"
                )
            elif self.finishing:
                advice = (
                    "the quasi-Newton finish was still gaining: raise max_epochs, "
                    "and standardise the features (StandardScaler), on which it "
                    "needs fewer steps"
                )
            else:
                advice = "raise max_epochs or learning_rate, or loosen tol"
            warn_at_user(
                f"Maximum number of epochs ({self.config.max_epochs}) reached and the "
                f"optimization has not converged yet; {advice}.",
                ConvergenceWarning,
            )

    def order(self, rng):
        """Row numbers of the training rows in this epoch's order (None: 0..n-1)."""
        rows = self.data.rows
        if not self.shuffle:
            return rows
        permutation = rng.permutation(self.data.n_train)
        return permutation if rows is None else rows[permutation]

    def run_epoch(self, epoch):
        """Train one epoch; return its history record (None when interrupted
        before its first batch finished) and whether it was interrupted."""
        # The finish's one batch takes every row, in any order.
        order = None if self.finishing else self.order(self.config.random_state)
        n_batches = len(self.batches)
        losses = np.empty(n_batches)
        weights = np.empty(n_batches)
        norms = np.empty(n_batches)
        start_time = time.perf_counter()
        done, rate, n_spikes, interrupted = self.runner.run_epoch(
            epoch, order, losses, weights, norms
        )
        if done == 0:
            return None, interrupted
        if not interrupted:
            self.watch.policy.epoch_end(n_spikes)
        record = self.epoch_record(
            epoch,
            losses[:done],
            weights[:done],
            norms[:done],
            rate,
            time.perf_counter() - start_time,
            n_spikes,
        )
        # The history keeps batch losses in float32: a long per-sample run stays small.
        with np.errstate(over="ignore"):
            compact = losses[:done].astype(np.float32)
        self.state.history.append(record, compact)
        return record, interrupted

    def epoch_record(self, epoch, losses, weights, norms, rate, duration, n_spikes):
        finite = np.isfinite(losses)
        applied = finite & np.isfinite(norms)
        total_weight = weights[finite].sum()
        loss = (
            float(weights[finite] @ losses[finite] / total_weight)
            if total_weight > 0
            else math.nan
        )
        val_loss = val_score = math.nan
        if self.held_out is not None:
            val_loss, val_score = self.held_out(self.state.network)
        return {
            "epoch": epoch,
            "loss": loss,
            "val_loss": val_loss,
            "val_score": val_score,
            "learning_rate": float(rate),
            "grad_norm": float(norms[finite].mean()) if finite.any() else math.nan,
            "duration": duration,
            "n_spikes": n_spikes,
            "n_batches": len(losses),
            # Batches whose loss or gradient was not finite: never applied.
            "n_nonfinite": int(len(losses) - applied.sum()),
        }
