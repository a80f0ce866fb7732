"""Diagnostics of training, on top of the estimators: over- and underfitting
(:func:`diagnose`), the learning-rate range test (:func:`find_learning_rate`), the
rows that loss spikes named (:func:`suspect_rows`), and their plots (the displays
of :mod:`skfit.plotting`)."""

from ._diagnosis import Diagnosis, diagnose
from ._range_test import LearningRateFinder, find_learning_rate
from ._suspects import suspect_rows

__all__ = [
    "Diagnosis",
    "LearningRateFinder",
    "diagnose",
    "find_learning_rate",
    "suspect_rows",
]
