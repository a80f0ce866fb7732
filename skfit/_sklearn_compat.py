"""The one place where skfit imports scikit-learn's private helpers, and where it
bridges the versions of scikit-learn it supports.

scikit-learn keeps parameter validation and sample-weight checks private; importing
them here alone means an upstream change is one edit.
"""

import inspect

from sklearn.base import _fit_context
from sklearn.utils import class_weight as _class_weight

try:  # scikit-learn >= 1.9: the experimental callback protocol
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn

    class CallbackSupportMixin:
        """Stand-in: without sklearn.callback there is nothing to support."""


from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "CallbackSupportMixin",
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "compute_class_weight",
]

#: scikit-learn 1.7 and later count "balanced" classes by their sample weights.
_WEIGHS_CLASSES = (
    "sample_weight" in inspect.signature(_class_weight.compute_class_weight).parameters
)


def compute_class_weight(class_weight, *, classes, y, sample_weight=None):
    """scikit-learn's ``compute_class_weight``, whose "balanced" counts the classes
    by ``sample_weight`` where scikit-learn does (1.7 and later), so that a
    weighted balanced fit weighs its classes as scikit-learn's estimators do."""
    weighted = {"sample_weight": sample_weight} if _WEIGHS_CLASSES else {}
    return _class_weight.compute_class_weight(
        class_weight, classes=classes, y=y, **weighted
    )
