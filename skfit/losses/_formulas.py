"""Every built-in loss's formula, written once as a compiled function of one row.

A formula takes the loss's settings (a small named tuple, its *kernel*), one row of
raw outputs, the row's target and a row to fill with the gradient, and returns the
row's loss summed over the output columns. Both training loops call these: the
compiled epoch loop one row at a time, and the loss objects' ``loss_gradient``
(which the Python loop and users call) through :func:`loss_gradient_rows`.

:func:`row_loss_gradient` calls the formula registered for the kernel's type, so
that a compiled loop specialises on the loss it is given and nothing else.
"""

import math
from collections import namedtuple

from .._numba import FASTMATH, jit, overload

__all__ = [
    "AbsoluteErrorKernel",
    "EpsilonInsensitiveKernel",
    "HingeKernel",
    "HuberKernel",
    "LogLossKernel",
    "ModifiedHuberKernel",
    "MultilabelLogLossKernel",
    "PoissonKernel",
    "SquaredErrorKernel",
    "SquaredHingeKernel",
    "loss_gradient_rows",
    "row_loss_gradient",
]

SquaredErrorKernel = namedtuple("SquaredErrorKernel", [])
AbsoluteErrorKernel = namedtuple("AbsoluteErrorKernel", [])
HuberKernel = namedtuple("HuberKernel", ["epsilon"])
EpsilonInsensitiveKernel = namedtuple("EpsilonInsensitiveKernel", ["epsilon"])
#: ``cap``: above it ``exp`` is continued by its tangent (see ``Poisson``).
PoissonKernel = namedtuple("PoissonKernel", ["cap"])
LogLossKernel = namedtuple("LogLossKernel", [])
MultilabelLogLossKernel = namedtuple("MultilabelLogLossKernel", [])
HingeKernel = namedtuple("HingeKernel", [])
SquaredHingeKernel = namedtuple("SquaredHingeKernel", [])
ModifiedHuberKernel = namedtuple("ModifiedHuberKernel", [])

#: kernel type -> its compiled row formula
_FORMULAS = {}


def _formula(kernel_type):
    """Compile ``function`` and register it as the formula of ``kernel_type``."""

    def register(function):
        compiled = jit(function, fastmath=FASTMATH, inline=True)
        _FORMULAS[kernel_type] = compiled
        return compiled

    return register


@_formula(SquaredErrorKernel)
def _squared_error(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        residual = raw[k] - y[k]
        total += 0.5 * residual * residual
        grad[k] = residual
    return total


@_formula(AbsoluteErrorKernel)
def _absolute_error(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        residual = raw[k] - y[k]
        total += abs(residual)
        grad[k] = (residual > 0) - (residual < 0)
    return total


@_formula(HuberKernel)
def _huber(kernel, raw, y, grad):
    epsilon = kernel.epsilon
    total = 0.0
    for k in range(raw.shape[0]):
        residual = raw[k] - y[k]
        size = abs(residual)
        if size <= epsilon:
            total += 0.5 * residual * residual
            grad[k] = residual
        else:
            total += epsilon * (size - 0.5 * epsilon)
            grad[k] = epsilon if residual > 0 else -epsilon
    return total


@_formula(EpsilonInsensitiveKernel)
def _epsilon_insensitive(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        residual = raw[k] - y[k]
        outside = abs(residual) - kernel.epsilon
        if outside > 0:
            total += outside
            grad[k] = (residual > 0) - (residual < 0)
        else:
            grad[k] = 0.0
    return total


@_formula(PoissonKernel)
def _poisson(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        clipped = min(raw[k], kernel.cap)
        slope = math.exp(clipped)
        mean = slope * (1.0 + (raw[k] - clipped))
        target = y[k]
        # y * log(y) - y, the constant that makes the loss 0 where mean == y.
        offset = target * math.log(target) - target if target > 0 else 0.0
        total += mean - target * raw[k] + offset
        grad[k] = slope - target
    return total


@jit(fastmath=FASTMATH, inline=True)
def _logistic(z, target):
    """The binary log-loss ``log(1 + exp(z)) - target * z`` of one logit and its
    derivative ``sigmoid(z) - target``."""
    # log(1 + exp(z)) and the sigmoid from exp(-|z|), without overflow for any z,
    # and with selects rather than branches that the sign of z mispredicts.
    small = math.exp(-abs(z))
    sigmoid_abs = 1.0 / (1.0 + small)
    derivative = (sigmoid_abs if z >= 0 else small * sigmoid_abs) - target
    return max(z, 0.0) + math.log1p(small) - target * z, derivative


@_formula(LogLossKernel)
def _log_loss(kernel, raw, y, grad):
    n_outputs = raw.shape[0]
    if n_outputs == 1:
        value, grad[0] = _logistic(raw[0], y[0])
        return value
    largest = raw[0]
    for k in range(1, n_outputs):
        largest = max(largest, raw[k])
    total = 0.0
    for k in range(n_outputs):
        grad[k] = math.exp(raw[k] - largest)
        total += grad[k]
    value = math.log(total)
    for k in range(n_outputs):
        value -= y[k] * (raw[k] - largest)
        grad[k] = grad[k] / total - y[k]
    return value


@_formula(MultilabelLogLossKernel)
def _multilabel_log_loss(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        value, grad[k] = _logistic(raw[k], y[k])
        total += value
    return total


@_formula(HingeKernel)
def _hinge(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        sign = 2.0 * y[k] - 1.0
        margin = sign * raw[k]
        total += max(1.0 - margin, 0.0)
        # At the kink z = 1 the slope is -1, as in scikit-learn's SGD.
        grad[k] = -sign if margin <= 1.0 else 0.0
    return total


@_formula(SquaredHingeKernel)
def _squared_hinge(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        sign = 2.0 * y[k] - 1.0
        gap = max(1.0 - sign * raw[k], 0.0)
        total += gap * gap
        grad[k] = -2.0 * gap * sign
    return total


@_formula(ModifiedHuberKernel)
def _modified_huber(kernel, raw, y, grad):
    total = 0.0
    for k in range(raw.shape[0]):
        sign = 2.0 * y[k] - 1.0
        margin = sign * raw[k]
        if margin < -1.0:
            total -= 4.0 * margin
            grad[k] = -4.0 * sign
        else:
            gap = max(1.0 - margin, 0.0)
            total += gap * gap
            grad[k] = -2.0 * gap * sign
    return total


def row_loss_gradient(kernel, raw, y, grad):
    """The loss of one row of raw outputs; its gradient goes into ``grad``.

    It calls the formula registered for ``type(kernel)``; compiled code resolves
    that once, when it is compiled.
    """
    return _FORMULAS[type(kernel)](kernel, raw, y, grad)


@overload(row_loss_gradient)
def _row_loss_gradient_overload(kernel, raw, y, grad):
    formula = _FORMULAS[kernel.instance_class]
    return lambda kernel, raw, y, grad: formula(kernel, raw, y, grad)


@jit(fastmath=FASTMATH)
def loss_gradient_rows(kernel, Y, raw, losses, grad):
    """Fill ``losses[i]`` and ``grad[i]`` with row ``i``'s loss and gradient."""
    for i in range(raw.shape[0]):
        losses[i] = row_loss_gradient(kernel, raw[i], Y[i], grad[i])
