"""The training engine: the loop, its batch runners, the update, the penalty,
spike handling, stopping rules and the state that persists between calls."""

from ._loop import train
from ._penalty import Penalty
from ._row_spikes import RowSpikeDetector
from ._state import TrainingConfig, TrainingData, TrainingOutcome, TrainingState

__all__ = [
    "Penalty",
    "RowSpikeDetector",
    "TrainingConfig",
    "TrainingData",
    "TrainingOutcome",
    "TrainingState",
    "train",
]
