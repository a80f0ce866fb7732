"""Warnings that point at the user's line, not into skfit."""

import sys
import warnings
from pathlib import Path

import joblib
import sklearn

__all__ = ["warn_at_user"]

#: Frames in these packages are passed over: skfit's own, and those of the
#: scikit-learn and joblib machinery (fit contexts, pipelines, searches) that
#: called skfit on the user's behalf.
_LIBRARIES = tuple(
    str(Path(module.__file__).resolve().parent)
    for module in (sys.modules[__package__], sklearn, joblib)
)


def warn_at_user(message, category):
    """Issue ``warnings.warn(message, category)`` attributed to the innermost
    caller outside skfit, scikit-learn and joblib: the user's line."""
    # stacklevel 2 is this function's caller.
    level = 2
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARIES):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)
