"""Loss spikes during training: the watch that finds and records them, and one
object per ``spike_policy`` that decides what training does about them."""

import math

import numpy as np

from .._warn import warn_at_user
from ..history import Spike
from ..spikes import LossSpikeError, LossSpikeWarning, _describe_spike

__all__ = ["POLICIES", "SpikeWatch"]

#: At most this many row numbers are kept per spike record...
SPIKE_INDEX_CAP = 1024
#: ...and at most this many spike records per estimator (all are counted in the
#: history's "n_spikes").
SPIKE_RECORD_CAP = 1000
#: Under spike_policy='skip', more spikes than this in consecutive batches stop
#: training with stop_reason_='spike'.
SKIP_LIMIT = 10
#: Under spike_policy='rollback', more rollbacks than this without an epoch free of
#: spikes in between stop training with stop_reason_='spike'.
ROLLBACK_LIMIT = 5
#: Rows' norms whose 98th percentile is at least this many times their median have
#: a long tail (standardised log-normal features: 14; the digits: 2.1).
LONG_TAIL = 5.0


class SpikePolicy:
    """What training does about a spike; the base class acts as 'ignore'.

    Attributes
    ----------
    compiled : bool
        Whether the policy never changes the course of training beyond skipping
        non-finite batches, so that the compiled runner may train under it and
        the spike checks can be replayed after its epoch.
    """

    compiled = True

    def __init__(self, state):
        self.state = state

    def begin(self):
        """Training starts."""

    def act(self, spike, finite):
        """Do what the policy says about ``spike``; return whether to skip its update.

        A non-finite loss or gradient is never applied, whatever the policy.
        """
        return not finite

    def clean_batch(self):
        """A batch passed the check."""

    def epoch_end(self, n_spikes):
        """An epoch with ``n_spikes`` spikes ended."""

    def stops(self):
        """Whether repeated spikes end training (``stop_reason_ == 'spike'``)."""
        return False

    def summarize(self, watch):
        """Report the spikes of a call, which ``watch`` (a :class:`SpikeWatch`)
        counted."""


class WarnPolicy(SpikePolicy):
    """Train on; one warning per call sums the spikes up."""

    def summarize(self, watch):
        named = (
            f"; {watch.n_named} held rows whose own loss stood out, which "
            "skfit.suspect_rows(estimator) ranks"
            if watch.n_named
            else ""
        )
        worst = watch.worst
        warn_at_user(
            f"{watch.n_spikes} loss spike(s) in this call (spikes_ lists them with "
            f"their rows{named}); the worst at epoch {worst.epoch}, batch "
            f"{worst.batch}: {_describe_spike(worst)}. A learning rate that "
            "overcorrects, or bad rows in the data, cause spikes; spike_policy sets "
            f"what to do.{watch.long_tail_note()}",
            LossSpikeWarning,
        )


class SkipPolicy(SpikePolicy):
    """Skip the spiking batch's update; stop after :data:`SKIP_LIMIT` in a row."""

    compiled = False

    def __init__(self, state):
        super().__init__(state)
        self.consecutive = 0

    def act(self, spike, finite):
        self.consecutive += 1
        return True

    def clean_batch(self):
        self.consecutive = 0

    def stops(self):
        return self.consecutive > SKIP_LIMIT


class RollbackPolicy(SpikePolicy):
    """Return to the parameters after the last epoch free of spikes and halve the
    learning rate; stop after :data:`ROLLBACK_LIMIT` rollbacks without such an epoch."""

    compiled = False

    def __init__(self, state):
        super().__init__(state)
        self.rollbacks = 0
        self.clean_snapshot = None

    def begin(self):
        self.clean_snapshot = self.state.snapshot()

    def act(self, spike, finite):
        self.state.restore(self.clean_snapshot)
        self.state.rate_factor *= 0.5
        self.rollbacks += 1
        return True

    def epoch_end(self, n_spikes):
        if n_spikes == 0:
            self.clean_snapshot = self.state.snapshot()
            self.rollbacks = 0

    def stops(self):
        return self.rollbacks > ROLLBACK_LIMIT


class RaisePolicy(SpikePolicy):
    """Raise :class:`~skfit.LossSpikeError`, which undoes the whole call."""

    compiled = False

    def act(self, spike, finite):
        raise LossSpikeError(spike)


POLICIES = {
    "ignore": SpikePolicy,
    "warn": WarnPolicy,
    "skip": SkipPolicy,
    "rollback": RollbackPolicy,
    "raise": RaisePolicy,
}


class SpikeWatch:
    """Checks batch losses with the state's detector, records spikes with their
    rows and the culprits the per-row check found, and applies the policy.

    A batch is a spike when its loss is one for the batch detector or when it holds
    a culprit row (see :mod:`skfit._training._row_spikes`). The batch detector
    judges a batch's data loss, the mean of its rows' losses, rather than its
    objective: the penalty does not depend on the batch, and once the data loss
    has fallen below it, it would be a floor under every batch's objective that
    squeezes their ordinary spread, so that the batch of one hard row stood out.
    Once the per-row check judges rows, a batch's loss is a spike only if the loss
    of its other rows stands out too (see :meth:`SpikeDetector.check`): the rise
    one row makes is that check's to judge.

    Parameters
    ----------
    state : TrainingState
        Holds the detector and the list of spike records.
    policy : SpikePolicy
        What to do about a spike.
    batches : list of slice
        The batches' positions in an epoch's order of rows.
    row_norms : ndarray of shape (n_rows,)
        The norm of the features of each row of the X passed in: its length sets
        the dtype of row numbers, and the norms tell whether the rows named lie in
        the long tail of the norms.
    loss_scale : float, default=1.0
        Turns the row losses training computes into the user's units (see
        ``TrainingConfig.loss_scale``), for the culprits' records.
    """

    def __init__(self, state, policy, batches, row_norms, loss_scale=1.0):
        self.state = state
        self.policy = policy
        self.batches = batches
        self.row_norms = row_norms
        self.loss_scale = loss_scale
        self.batch_starts = np.array([rows.start for rows in batches])
        # int32 row numbers halve the size of spike records wherever they fit.
        self.index_dtype = np.int32 if len(row_norms) < 2**31 else np.int64
        self.n_spikes = 0
        self.n_named = 0
        # Which rows were named, by row number, for the warning's long-tail note.
        self.named_rows = np.zeros(len(row_norms), dtype=bool)
        self.worst = None

    def check(
        self,
        epoch,
        batch,
        objective,
        data_loss,
        loss_without_largest,
        grad_norm,
        order,
        m,
        culprits,
    ):
        """Check one batch, of the objective, data loss and data loss without its
        largest row (NaN while the per-row check warms up) given, whose culprits
        are ``(positions, losses)``; return ``(is_spike, skip its update)``."""
        detector = self.state.spike_detector
        loss = data_loss if math.isfinite(objective) else objective
        finite_grad = math.isfinite(grad_norm)
        # A non-finite gradient is a spike whatever the loss: checked as infinite.
        batch_spike = detector.check(
            loss if finite_grad else math.inf, m, loss_without_largest
        )
        if not (batch_spike or len(culprits[0])):
            self.policy.clean_batch()
            return False, False
        skip = self.found(
            epoch,
            batch,
            loss,
            order,
            m,
            finite_grad and math.isfinite(loss),
            detector.previous_baseline,
            culprits,
        )
        return True, skip

    def replay(
        self,
        epoch,
        order,
        objectives,
        data_losses,
        losses_without_largest,
        grad_norms,
        sizes,
        culprits,
        first_batch=0,
    ):
        """Check recorded batches at once, as :meth:`check` does batch by batch
        (the first is the epoch's batch ``first_batch``), with the culprits
        ``(positions in the epoch, losses)`` the per-row check found in them, in order;
        record the spikes and return how many there were."""
        losses = np.where(np.isfinite(objectives), data_losses, objectives)
        finite_grads = np.isfinite(grad_norms)
        spikes, baselines = self.state.spike_detector.check_run(
            np.where(finite_grads, losses, np.inf), sizes, losses_without_largest
        )
        positions, culprit_losses = culprits
        # The batch of each culprit, counted from first_batch.
        culprit_batches = (
            np.searchsorted(self.batch_starts, positions, "right") - 1 - first_batch
        )
        spikes[culprit_batches] = True
        bounds = np.searchsorted(culprit_batches, np.arange(len(losses) + 1))
        for b in np.flatnonzero(spikes).tolist():
            loss = float(losses[b])
            batch_culprits = slice(bounds[b], bounds[b + 1])
            self.found(
                epoch,
                first_batch + b,
                loss,
                order,
                int(sizes[b]),
                bool(finite_grads[b]) and math.isfinite(loss),
                float(baselines[b]),
                (positions[batch_culprits], culprit_losses[batch_culprits]),
            )
        return int(spikes.sum())

    def found(self, epoch, batch, loss, order, m, finite, baseline, culprits):
        """Record a spike of the batch loss ``loss``, compared with ``baseline``,
        with its culprits ``(positions in the epoch, losses)``, and apply the
        policy; return whether to skip the update."""
        rows = self.batches[batch]
        positions, culprit_losses = culprits
        # Without an order the batches walk X in order, so positions are row numbers.
        batch_rows = np.arange(rows.start, rows.stop) if order is None else order[rows]
        batch_indices = np.asarray(batch_rows[:SPIKE_INDEX_CAP], dtype=self.index_dtype)
        sample_indices = batch_indices
        if len(positions):
            culprit_rows = positions if order is None else order[positions]
            sample_indices = np.asarray(
                culprit_rows[:SPIKE_INDEX_CAP], dtype=self.index_dtype
            )
        spike = Spike(
            epoch=epoch,
            batch=batch,
            loss=float(loss),
            baseline=float(baseline),
            ratio=float(loss / baseline if finite and baseline else math.inf),
            sample_indices=sample_indices,
            n_samples=m,
            batch_indices=batch_indices,
            culprit_losses=np.asarray(
                culprit_losses[:SPIKE_INDEX_CAP] * self.loss_scale, dtype=np.float32
            ),
            n_culprits=len(positions),
        )
        self.n_spikes += 1
        if spike.n_culprits:
            self.n_named += 1
            self.named_rows[sample_indices] = True
        if len(self.state.spikes) < SPIKE_RECORD_CAP:
            self.state.spikes.append(spike)
        if self.worst is None or not spike.ratio <= self.worst.ratio:
            self.worst = spike
        return self.policy.act(spike, finite)

    def summarize(self):
        """The policy's report of this call's spikes, if there were any."""
        if self.worst is not None:
            self.policy.summarize(self)

    def long_tail_note(self):
        """A sentence on the rows named when most of them lie in the long tail of
        the rows' norms, beyond their 98th percentile; empty otherwise.

        On features with long tails the rows far out in feature space are fitted
        last, and clean ones may be named while the weights settle, as bad ones
        are: the warning says which rows the user has to tell apart.
        """
        median, high = self.state.row_detector.norm_quantiles
        # Written so that a median or percentile that is not a number fails it.
        if not high >= LONG_TAIL * median > 0.0:
            return ""
        n_named = int(np.count_nonzero(self.named_rows))
        n_long = int(np.count_nonzero(self.named_rows & (self.row_norms > high)))
        if 2 * n_long <= n_named:
            return ""
        return (
            f" {n_long} of the {n_named} distinct rows named are among the 2% "
            "farthest out in feature space, in data whose rows' norms have a long "
            f"tail (their 98th percentile is {high / median:.3g} times their "
            "median): such a row pulls the weights hardest and is fitted last, so "
            "clean ones may be named while the weights settle (less often as "
            "training goes on), as well as bad ones: check the rows "
            "skfit.suspect_rows(estimator) ranks."
        )
