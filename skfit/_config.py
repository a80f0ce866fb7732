"""Global settings: :func:`get_config`, :func:`set_config`, :func:`config_context`."""

from contextlib import contextmanager

import numpy as np

__all__ = ["config_context", "get_config", "set_config"]

_config = {"use_numba": True}


def get_config():
    """The current settings, as a new dict.

    Returns
    -------
    config : dict
        ``{"use_numba": bool}``; see :func:`set_config`.

    Examples
    --------
    >>> import skfit
    >>> skfit.get_config()["use_numba"]
    True
    """
    return dict(_config)


def set_config(use_numba=None):
    """Change skfit's global settings.

    Parameters
    ----------
    use_numba : bool, default=None
        Whether linear models train through the compiled epoch loop when the fit
        is within its scope (see the user guide's performance section); False
        sends every fit through the Python batch loop, a debugging switch. None
        leaves it unchanged. Both loops apply the same compiled formulas and agree
        to rounding.

    Notes
    -----
    The settings belong to the process, not to a thread, and are not passed on to
    joblib's worker processes (``n_jobs`` in scikit-learn's model selection), which
    start from the defaults.

    Examples
    --------
    >>> import skfit
    >>> skfit.set_config(use_numba=False)
    >>> skfit.get_config()["use_numba"]
    False
    >>> skfit.set_config(use_numba=True)
    """
    if use_numba is not None:
        if not isinstance(use_numba, (bool, np.bool_)):
            raise TypeError(f"use_numba must be a bool, got {use_numba!r}.")
        _config["use_numba"] = bool(use_numba)


@contextmanager
def config_context(**settings):
    """Change settings inside a ``with`` block, restoring them on the way out.

    Parameters
    ----------
    **settings
        Keyword arguments of :func:`set_config`.

    Examples
    --------
    >>> import skfit
    >>> with skfit.config_context(use_numba=False):
    ...     skfit.get_config()["use_numba"]
    False
    >>> skfit.get_config()["use_numba"]
    True
    """
    previous = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        set_config(**previous)
