"""The one place where skfit imports scikit-learn's private helpers.

scikit-learn keeps parameter validation and sample-weight checks private; importing
them here alone means an upstream change is one edit.
"""

from sklearn.base import _fit_context

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
]
