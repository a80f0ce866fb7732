"""Warnings that point at the user's line, not into skfit, and that a search
shows once."""

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

#: The frame of the user's line that warned last, and what it was shown.
_shown = {"frame": None, "warnings": set()}


def warn_at_user(message, category):
    """Issue ``warnings.warn(message, category)`` attributed to the innermost
    caller outside skfit, scikit-learn and joblib: the user's line."""
    # stacklevel 2 is this function's caller.
    level = 2
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARIES):
        level += 1
        frame = frame.f_back
    if frame is not None and _shown_already(frame, str(message), category):
        return
    warnings.warn(message, category, stacklevel=level)


def _shown_already(frame, text, category):
    """Whether this run of the user's line (``frame``) was shown this warning.

    Under Python's "default" action a line shows a warning once, until the
    filters change. scikit-learn's searches, learning curves and cross-validation
    set the filters for each fit they run, so every fit would warn again: 20 copies
    of one message in a search's cell. The default action is kept here across
    those fits, for one run of the line: one frame object. The frame is held, not
    its id, which the next call of the same function would often reuse (so that
    call would show nothing); it is let go at the next warning from another frame.
    Other actions ("always", "error", ...) are left to ``warnings``.
    """
    if _action(text, category, frame) != "default":
        return False
    if _shown["frame"] is not frame:
        _shown["frame"], _shown["warnings"] = frame, set()
    warning = (text, category, frame.f_lineno)
    if warning in _shown["warnings"]:
        return True
    _shown["warnings"].add(warning)
    return False


def _action(text, category, frame):
    """The action of the first of ``warnings.filters`` that matches, as
    ``warnings.warn`` finds it for a warning attributed to ``frame``."""
    module = frame.f_globals.get("__name__", "<string>")
    for action, message, kind, module_pattern, lineno in warnings.filters:
        if (
            _matches(message, text)
            and issubclass(category, kind)
            and _matches(module_pattern, module)
            and lineno in (0, frame.f_lineno)
        ):
            return action
    return warnings.defaultaction


def _matches(pattern, value):
    """A filter's message or module field against ``value``, as ``warnings`` reads
    it: None matches anything, a compiled pattern matches at the start, and a plain
    string (as in Python's own default filters) must be equal."""
    if pattern is None:
        return True
    if isinstance(pattern, str):
        return pattern == value
    return pattern.match(value) is not None
