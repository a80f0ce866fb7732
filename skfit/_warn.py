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

#: The run of a user's line that warned last, and what it was shown.
_shown = {"run": None, "warnings": set()}


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
    those fits, for one run of the line: a frame (with its code, as a frame's id is
    reused once it is gone) while it runs. Other actions ("always", "error", ...)
    are left to ``warnings``.
    """
    if _action(text, category, frame) != "default":
        return False
    run = _shown["run"]
    if run is None or run[0] != id(frame) or run[1] is not frame.f_code:
        _shown["run"], _shown["warnings"] = (id(frame), frame.f_code), set()
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
            (message is None or message.match(text))
            and issubclass(category, kind)
            and (module_pattern is None or module_pattern.match(module))
            and lineno in (0, frame.f_lineno)
        ):
            return action
    return warnings.defaultaction
