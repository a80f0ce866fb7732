"""The stopping rules: each reads an epoch's record and says whether it fires.

:func:`stop_rules` lists them in the order of precedence that ``stop_reason_``
reports when several fire in one epoch: diverged, spike, callback,
loss_threshold, early_stopping, tol. (An interrupt ends training before any rule
is asked; reaching ``max_epochs`` is what is left when none fires.)
"""

import math

import numpy as np

__all__ = ["DIVERGENCE_RATE_DIVISOR", "Divergence", "stop_rules"]

#: An epoch loss above this multiple of the best epoch loss of the fit (and above
#: the loss of its first epoch) counts towards divergence...
DIVERGENCE_FACTOR = 10.0
#: ...and this many such epochs in a row are divergence.
DIVERGENCE_PATIENCE = 3
#: Losses and a parameter norm both grown this many times (within an epoch, or
#: since the first epoch) mean divergence.
GROWTH_WITHIN_EPOCH = 1e3
#: How much smaller a learning rate the divergence warning suggests.
DIVERGENCE_RATE_DIVISOR = 10.0


class Divergence:
    """The divergence watch of a model. Training diverged when:

    - an epoch loss or a parameter is not finite;
    - both the batch losses and the norm of the parameters grew
      :data:`GROWTH_WITHIN_EPOCH` times: within an epoch (medians of its last and
      first quarter of batches), or since the model's first epoch, over every
      ``partial_fit`` call and warm start (bad rows, or blocks that differ, raise
      the losses too, but not the parameters so);
    - in one call, :data:`DIVERGENCE_PATIENCE` epochs in a row stay above both
      :data:`DIVERGENCE_FACTOR` times the call's best epoch loss and its first.
    """

    def __init__(self):
        #: The first epoch loss and the parameters' norm before it, since
        #: initialisation.
        self.start_loss = None
        self.start_norm = None
        self.norm = 0.0
        self.begin_call()

    def begin_call(self):
        self.first = None
        self.best = math.inf
        self.above = 0

    def begin(self, parameters):
        """A training call starts from ``parameters``."""
        self.begin_call()
        self.norm = float(np.linalg.norm(parameters))
        if self.start_norm is None:
            self.start_norm = self.norm

    def update(self, loss, batch_losses, parameters):
        """Learn from an epoch; return whether training diverged."""
        if not (math.isfinite(loss) and np.isfinite(parameters).all()):
            return True
        norm, previous = float(np.linalg.norm(parameters)), self.norm
        self.norm = norm
        if _growth(batch_losses) > GROWTH_WITHIN_EPOCH and norm > (
            GROWTH_WITHIN_EPOCH * max(previous, 1.0)
        ):
            return True
        if self.start_loss is None:
            self.start_loss = loss
        elif loss > GROWTH_WITHIN_EPOCH * self.start_loss and norm > (
            GROWTH_WITHIN_EPOCH * max(self.start_norm, 1.0)
        ):
            return True
        self.first = loss if self.first is None else self.first
        self.best = min(self.best, loss)
        exploded = loss > max(DIVERGENCE_FACTOR * self.best, self.first)
        self.above = self.above + 1 if exploded else 0
        return self.above >= DIVERGENCE_PATIENCE


def _growth(batch_losses):
    """How many times the median of the last quarter of an epoch's batch losses
    exceeds that of its first quarter (1 for fewer than 4 batches)."""
    quarter = len(batch_losses) // 4
    if quarter == 0:
        return 1.0
    early = float(np.median(batch_losses[:quarter]))
    late = float(np.median(batch_losses[-quarter:]))
    if not math.isfinite(late):
        return math.inf
    return late / early if early > 0 else 1.0


class DivergenceRule:
    """Asks the model's divergence watch about each epoch."""

    reason = "diverged"

    def __init__(self, state):
        self.state = state

    def __call__(self, record):
        state = self.state
        return state.divergence.update(
            record["loss"], state.history.epoch_batch_losses(-1), state.network.flat
        )


class Overflow:
    """No batch of the epoch could be applied: every loss or gradient overflowed
    (features far too large), so more epochs cannot help. Reported as
    'diverged'."""

    reason = "diverged"

    @staticmethod
    def fired(record):
        return record["n_nonfinite"] == record["n_batches"]

    def __call__(self, record):
        return self.fired(record)


class Patience:
    """Fires after ``patience`` epochs in a row without an improvement of the
    record's ``key`` by more than ``tol``: ``value < best - tol``, absolute, as in
    scikit-learn."""

    def __init__(self, reason, key, tol, patience):
        self.reason = reason
        self.key = key
        self.tol = tol
        self.patience = patience
        self.best = math.inf
        self.count = 0

    def __call__(self, record):
        value = record[self.key]
        self.count = self.count + 1 if not value < self.best - self.tol else 0
        self.best = min(self.best, value)
        return self.count >= self.patience


class LossThreshold:
    """The training loss is at or below ``threshold``."""

    reason = "loss_threshold"

    def __init__(self, threshold):
        self.threshold = threshold

    def __call__(self, record):
        return record["loss"] <= self.threshold


class SpikeLimit:
    """The spike policy says repeated spikes end training."""

    reason = "spike"

    def __init__(self, policy):
        self.policy = policy

    def __call__(self, record):
        return self.policy.stops()


class CallbackStop:
    """A callback's ``on_epoch_end`` returned True. Every callback hears of every
    epoch, whatever the others return."""

    reason = "callback"

    def __init__(self, callbacks, estimator):
        self.callbacks = callbacks
        self.estimator = estimator

    def __call__(self, record):
        stop = False
        for callback in self.callbacks:
            stop |= bool(callback.on_epoch_end(self.estimator, record))
        return stop


def stop_rules(config, state, policy, estimator, monitor_validation):
    """The rules that apply to a training call, in order of precedence."""
    rules = [
        DivergenceRule(state),
        Overflow(),
        SpikeLimit(policy),
        CallbackStop(config.callbacks, estimator),
    ]
    if config.loss_threshold is not None:
        rules.append(LossThreshold(config.loss_threshold))
    if monitor_validation:
        rules.append(
            Patience(
                "early_stopping", "val_loss", config.tol or 0.0, config.n_iter_no_change
            )
        )
    if config.tol is not None:
        rules.append(Patience("tol", "loss", config.tol, config.n_iter_no_change))
    return rules
