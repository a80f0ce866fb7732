"""What the training engine works on: the state that persists between calls, the
data and the hyperparameters of one call, and the outcome it returns."""

import copy
from dataclasses import dataclass, field

import numpy as np

from ..history import History
from ..spikes import SpikeDetector
from ._row_spikes import RowSpikeDetector
from ._stopping import Divergence

__all__ = ["TrainingConfig", "TrainingData", "TrainingOutcome", "TrainingState"]


#: The state objects a failed call restores whole, from copies.
_UNDONE_WHOLE = (
    "loss",
    "optimizer",
    "schedule",
    "spike_detector",
    "row_detector",
    "random_state",
    "target_scaling",
    "divergence",
)


@dataclass
class TrainingState:
    """What persists between ``fit`` and ``partial_fit`` calls: parameters,
    optimizer and schedule state, counters and records."""

    network: object
    #: The loss the parameters were fitted with: prediction reads its link, so
    #: ``set_params(loss=...)`` without a refit changes no prediction.
    loss: object
    optimizer: object
    optimizer_state: dict
    schedule: object
    spike_detector: SpikeDetector
    #: The per-row check's running statistics, kept over calls as the detector's.
    row_detector: RowSpikeDetector
    #: Draws every shuffle, split and dropout mask, continuing over calls, so that
    #: successive partial_fit calls see different batch orders.
    random_state: object = None
    history: History = field(default_factory=History)
    spikes: list = field(default_factory=list)
    t: int = 0
    #: Multiplies the learning rate; each rollback after a spike halves it.
    rate_factor: float = 1.0
    #: Watches for divergence over every call since initialisation.
    divergence: Divergence = field(default_factory=Divergence)
    #: The standardised units a regression target is trained in (a
    #: :class:`~skfit._target_scaling.TargetScaling`), or None.
    target_scaling: object = None

    @property
    def n_epochs(self):
        return len(self.history)

    def snapshot(self):
        """Copies of the parameters and the optimizer state."""
        return self.network.flat.copy(), copy.deepcopy(self.optimizer_state)

    def restore(self, snapshot):
        params, optimizer_state = snapshot
        np.copyto(self.network.flat, params)
        self.optimizer_state = copy.deepcopy(optimizer_state)

    def checkpoint(self):
        """Everything needed to undo a whole call: see :meth:`rollback`."""
        objects = {name: getattr(self, name) for name in _UNDONE_WHOLE}
        return (
            self.snapshot(),
            copy.deepcopy(objects),
            # The network settings a continued call may change.
            (self.network.activation, self.network.dropout),
            (len(self.history), len(self.spikes), self.t, self.rate_factor),
        )

    def rollback(self, checkpoint):
        snapshot, objects, network_settings, counts = checkpoint
        for name, value in objects.items():
            setattr(self, name, value)
        self.network.activation, self.network.dropout = network_settings
        n_epochs, n_spikes, self.t, self.rate_factor = counts
        self.restore(snapshot)
        self.history.truncate(n_epochs)
        del self.spikes[n_spikes:]


@dataclass
class TrainingData:
    """The data of one call: the training rows and an optional validation share.

    ``X`` is the array passed by the user; ``rows`` (None for all) are the positions
    of the training rows in it, so no copy of ``X`` is made for a split. ``Y`` and
    ``sample_weight`` are indexed like ``X``. ``score(raw, y, sample_weight)`` returns
    the estimator's score from the validation rows' raw outputs.
    """

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray | None = None
    rows: np.ndarray | None = None
    X_val: object = None
    Y_val: np.ndarray | None = None
    sample_weight_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    score: object = None

    @property
    def n_train(self):
        return self.X.shape[0] if self.rows is None else len(self.rows)

    def at_training_rows(self, array):
        """``array`` (indexed like ``X``, or None) at the training rows."""
        if array is None or self.rows is None:
            return array
        return array[self.rows]

    @property
    def train_sample_weight(self):
        """The training rows' sample weights (None: all weigh the same)."""
        return self.at_training_rows(self.sample_weight)


@dataclass
class TrainingConfig:
    """The hyperparameters the loop reads, resolved by the estimator."""

    loss: object
    penalty: object
    learning_rate: float
    batch_size: int | None
    max_epochs: int
    tol: float | None = None
    n_iter_no_change: int = 5
    loss_threshold: float | None = None
    early_stopping: bool = False
    shuffle: bool = True
    spike_policy: str = "warn"
    spike_threshold: float = 6.0
    callbacks: list = field(default_factory=list)
    random_state: object = None
    warn_at_max_epochs: bool = True
    #: Called with the TrainingOutcome when training ends by a stopping rule or an
    #: interrupt, before the callbacks' on_train_end.
    report_outcome: object = None
    #: The objective is trained in units of this much of the user's objective
    #: (see :mod:`skfit._target_scaling`): every loss recorded is multiplied by it.
    loss_scale: float = 1.0
    #: Whether a fit of a convex problem may end with the quasi-Newton finish
    #: (see :mod:`skfit._training._finish`).
    finish: bool = False


@dataclass
class TrainingOutcome:
    """How a call ended: the stopping rule that fired, whether it means the
    optimum is near, and the best epoch kept."""

    stop_reason: str
    best_epoch: int
    best_loss: float
    converged: bool = False
