"""numba, the optional compiler of skfit's hot loops (``pip install skfit[fast]``).

:func:`jit` compiles a function when numba is installed and returns it unchanged
otherwise, so a loop written once runs either way.
"""

try:
    import numba
except ImportError:  # pragma: no cover - exercised by the oldest-versions run
    numba = None

__all__ = ["FASTMATH", "jit", "numba"]

#: Reassociation lets the compiler vectorise sums; the flags that assume no NaN or
#: infinity are left out, as the loops must see non-finite losses.
FASTMATH = {"reassoc", "nsz", "contract", "arcp"}


def jit(function=None, *, fastmath=False):
    """``function`` compiled in nopython mode and cached on disk, or as it is
    without numba. ``fastmath`` takes :data:`FASTMATH` (or False: exact IEEE
    arithmetic, results as in Python)."""
    if function is None:
        return lambda function: jit(function, fastmath=fastmath)
    if numba is None:  # pragma: no cover
        return function
    try:
        return numba.njit(cache=True, nogil=True, fastmath=fastmath)(function)
    except RuntimeError:
        # No writable cache directory (a read-only installation): compile anew in
        # each process rather than fail at import.
        return numba.njit(nogil=True, fastmath=fastmath)(function)
