"""The per-row and per-coordinate formulas are inlined into compiled callers.

Left to LLVM, the calls from the compiled row loops to the formulas stayed calls
(measured 3-5x slower on a row loop). These tests read the compiled code of a
caller for calls to the formulas it uses.
"""

import re

import numba
import numpy as np
import pytest

from skfit._numba import _inlines
from skfit._training._update import apply_update
from skfit.losses import LogLoss
from skfit.losses._formulas import loss_gradient_rows
from skfit.optimizers import Adam

pytestmark = pytest.mark.skipif(
    not _inlines(), reason="numba before 0.60 inlines nothing (skfit._numba)"
)


def called_functions(compiled, *args):
    """The names of the functions that ``compiled``'s code calls, compiled anew
    for ``args`` (code loaded from numba's disk cache shows no intermediate form)."""
    fresh = numba.njit(fastmath=compiled.fastmath)(compiled.py_func)
    fresh(*args)
    llvm = fresh.inspect_llvm(fresh.signatures[0])
    return set(re.findall(r"call [^@\n]*@\"?([\w.$]+)", llvm))


def test_the_loss_formula_is_inlined_into_the_row_loop():
    kernel = LogLoss().kernel(np.float64)
    raw = np.array([[-2.0], [0.5], [3.0]])
    Y = np.array([[0.0], [1.0], [1.0]])
    losses, grad = np.empty(3), np.empty((3, 1))
    args = (kernel, Y, raw, losses, grad)
    loss_gradient_rows(*args)

    # The row loop computed what the formula computes...
    expected = np.logaddexp(0.0, raw[:, 0]) - Y[:, 0] * raw[:, 0]
    np.testing.assert_allclose(losses, expected)
    # ...without calling it.
    names = called_functions(loss_gradient_rows, *args)
    assert names  # the reading finds calls (its Python wrapper's, at least)
    assert not [name for name in names if "_log_loss" in name or "_logistic" in name]


def test_the_optimizer_rule_is_inlined_into_the_update():
    kernel = Adam().kernel()
    params, grad = np.ones(4), np.full(4, 0.5)
    first, second = np.zeros(4), np.zeros(4)
    touched, weights = np.arange(4), np.ones(4)
    args = (kernel, params, grad, first, second, 0.1, 1, 0.0, 0.0, False, touched)
    apply_update(*args, weights)

    # Adam's first step is the learning rate against the gradient's sign.
    np.testing.assert_allclose(params, 0.9, rtol=1e-6)
    names = called_functions(apply_update, *args, weights)
    assert names
    assert not [name for name in names if "_adam" in name or "coordinate" in name]
