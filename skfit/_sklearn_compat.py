"""The one place where skfit imports scikit-learn's private helpers.

scikit-learn keeps parameter validation and sample-weight checks private; importing
them here alone means an upstream change is one edit.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
]
