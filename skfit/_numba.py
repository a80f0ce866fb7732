"""numba, the compiler of skfit's formulas and of the linear models' epoch loop.

:func:`jit` compiles in nopython mode with an on-disk cache, so that a process pays
for compiling a function once per kind of data, and later processes not at all.
"""

import numba

__all__ = ["FASTMATH", "jit"]

#: Reassociation lets the compiler vectorise sums; the flags that assume no NaN or
#: infinity are left out, as the loops must see non-finite losses.
FASTMATH = {"reassoc", "nsz", "contract", "arcp"}


def jit(function=None, *, fastmath=False):
    """``function`` compiled in nopython mode and cached on disk. ``fastmath``
    takes :data:`FASTMATH` (or False: exact IEEE arithmetic)."""
    if function is None:
        return lambda function: jit(function, fastmath=fastmath)
    try:
        return numba.njit(cache=True, nogil=True, fastmath=fastmath)(function)
    except RuntimeError:
        # No writable cache directory (a read-only installation): compile anew in
        # each process rather than fail at import.
        return numba.njit(nogil=True, fastmath=fastmath)(function)
