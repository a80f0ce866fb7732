"""skfit: scikit-learn compatible gradient-descent estimators that show training."""

from ._config import config_context, get_config, set_config
from .diagnostics import (
    Diagnosis,
    LearningRateFinder,
    diagnose,
    find_learning_rate,
    suspect_rows,
)
from .history import History, Spike
from .linear_model import GDClassifier, GDRegressor
from .neural_network import MLPClassifier, MLPRegressor
from .spikes import LossSpikeError, LossSpikeWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "Diagnosis",
    "GDClassifier",
    "GDRegressor",
    "History",
    "LearningRateFinder",
    "LossSpikeError",
    "LossSpikeWarning",
    "MLPClassifier",
    "MLPRegressor",
    "Spike",
    "__version__",
    "config_context",
    "diagnose",
    "find_learning_rate",
    "get_config",
    "set_config",
    "suspect_rows",
]
