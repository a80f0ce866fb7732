"""Rows of X for compiled loops: dense (a C-ordered 2-D array) or CSR (a tuple
``(data, indices, indptr)``). A compiled loop written once against these functions
is specialised for each kind of X by numba."""

import importlib

from .._numba import on_first_use, overload

__all__ = [
    "PREFETCH_DISTANCE",
    "add_row",
    "n_rows",
    "prefetch_row",
    "row_dot",
    "touch_row",
]

#: Rows ahead whose memory a shuffled epoch asks for before it needs them.
PREFETCH_DISTANCE = 8


@on_first_use
def _define_prefetch():
    """Define :func:`_prefetch`, a numba intrinsic, once numba is imported."""
    global _prefetch
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def _prefetch(typingctx, array, index):
        """Ask the CPU to start loading ``array[index]`` into cache (no wait)."""

        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            array_struct = context.make_array(array_type)(context, builder, args[0])
            pointer = cgutils.get_item_pointer(
                context, builder, array_type, array_struct, [args[1]]
            )
            byte_pointer = ir.IntType(8).as_pointer()
            int32 = ir.IntType(32)
            function = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
                "llvm.prefetch.p0i8",
            )
            # Arguments: a read (0), keep in all cache levels (3), data (1).
            builder.call(
                function,
                [
                    builder.bitcast(pointer, byte_pointer),
                    ir.Constant(int32, 0),
                    ir.Constant(int32, 3),
                    ir.Constant(int32, 1),
                ],
            )
            return context.get_dummy_value()

        return types.void(array, index), codegen


def _is_array(X):
    """Whether the numba type of X is a dense array (not CSR's tuple)."""
    return isinstance(X, importlib.import_module("numba").types.Array)


# Rows of X, dense (a 2-D array) or CSR (a tuple data, indices, indptr): the
# kernel is compiled once for each, through these functions.
def n_rows(X):
    """The number of rows of X."""


def row_dot(X, row, coefficients):
    """The dot product of a row of X with ``coefficients``."""


def add_row(X, row, scale, out):
    """``out += scale * X[row]`` over the row's features."""


def prefetch_row(X, row, line):
    """Request a row's memory, ``line`` values per cache line."""


@overload(n_rows)
def _n_rows_overload(X):
    if _is_array(X):
        return lambda X: X.shape[0]
    return lambda X: X[2].shape[0] - 1


@overload(row_dot)
def _row_dot_overload(X, row, coefficients):
    if _is_array(X):

        def dense(X, row, coefficients):
            x = X[row]
            total = 0.0
            for j in range(x.shape[0]):
                total += x[j] * coefficients[j]
            return total

        return dense

    def csr(X, row, coefficients):
        data, indices, indptr = X
        total = 0.0
        for p in range(indptr[row], indptr[row + 1]):
            total += data[p] * coefficients[indices[p]]
        return total

    return csr


@overload(add_row)
def _add_row_overload(X, row, scale, out):
    if _is_array(X):

        def dense(X, row, scale, out):
            x = X[row]
            for j in range(x.shape[0]):
                out[j] += scale * x[j]

        return dense

    def csr(X, row, scale, out):
        data, indices, indptr = X
        for p in range(indptr[row], indptr[row + 1]):
            out[indices[p]] += scale * data[p]

    return csr


@overload(prefetch_row)
def _prefetch_row_overload(X, row, line):
    if _is_array(X):

        def dense(X, row, line):
            x = X[row]
            for j in range(0, x.shape[0], line):
                _prefetch(x, j)

        return dense

    def csr(X, row, line):
        data, indices, indptr = X
        start = indptr[row]
        if start < data.shape[0]:
            _prefetch(data, start)
            _prefetch(indices, start)

    return csr


def touch_row(X, row, stamp, marks, touched, n_touched):
    """Add the features of a row not yet marked with ``stamp`` to ``touched``
    (from ``n_touched`` on), marking them; return the new count. A dense row has
    every feature: the compiled loop does not track them."""


@overload(touch_row)
def _touch_row_overload(X, row, stamp, marks, touched, n_touched):
    if _is_array(X):
        return lambda X, row, stamp, marks, touched, n_touched: n_touched

    def csr(X, row, stamp, marks, touched, n_touched):
        data, indices, indptr = X
        for p in range(indptr[row], indptr[row + 1]):
            j = indices[p]
            if marks[j] != stamp:
                marks[j] = stamp
                touched[n_touched] = j
                n_touched += 1
        return n_touched

    return csr
