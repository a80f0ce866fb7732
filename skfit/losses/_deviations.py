"""How far a row's raw output is from its target, read off the row's loss.

The per-row spike check compares rows on this *deviation* rather than on the loss
itself, because the deviations of clean rows spread alike for every loss: a
squared error grows with the square of the residual and a log-loss with its
logarithm for rows on the right side of the margin, so the losses of clean rows
have very different tails, while their residuals and margins do not. Each loss
kernel registers three compiled functions of its settings:

- ``row_deviation(kernel, loss)``: the deviation of a row of that loss (the
  absolute residual of the regression losses, up to a constant factor; minus the
  margin of the classification losses);
- ``row_loss_at(kernel, deviation)``: its inverse, so that a threshold on the
  deviation is turned into one on the loss once per batch and each row costs a
  comparison;
- ``least_spread(kernel, median)``: the least spread of the deviations that the
  check uses, so that it cannot collapse where the deviations hardly vary (the
  first epochs of a classifier, whose margins start at zero, or targets fitted
  exactly): 2.5 units of margin for the classification losses
  (:data:`LEAST_MARGIN_SPREAD`), and half the median deviation for the
  regression losses, whose deviations are sizes.

A user-supplied loss, whose formula skfit does not know, is compared as it is
(:class:`UnknownLossKernel`).
"""

import math
from collections import namedtuple

from .._numba import jit, overload
from ._formulas import (
    AbsoluteErrorKernel,
    EpsilonInsensitiveKernel,
    HingeKernel,
    HuberKernel,
    LogLossKernel,
    ModifiedHuberKernel,
    MultilabelLogLossKernel,
    PoissonKernel,
    SquaredErrorKernel,
    SquaredHingeKernel,
)

__all__ = [
    "UnknownLossKernel",
    "least_spread",
    "row_deviation",
    "row_loss_at",
]

#: The kernel of a loss whose formula skfit does not know: its rows are compared
#: on their losses.
UnknownLossKernel = namedtuple("UnknownLossKernel", [])

#: The least loss the logistic deviation reads, so that a loss that underflows to
#: zero has a finite deviation (minus 690.8, a margin no row reaches otherwise).
_LEAST_LOG_LOSS = 1e-300

#: The least spread of margins, in units of margin (logits for the log-loss). Six
#: of them put a culprit at least 15 beyond the median row: a label that the model
#: gives odds e^15 (about 3 million) times smaller. Rows whose labels a calibrated
#: model gives one chance in a few hundred, or in tens of thousands, are rare in
#: most data, but not where heavy tails in the features make most margins small
#: and a few large (measured in ``benchmarks/row_spikes.py``): half a unit flagged
#: the first, 1.5 units the second, as an MLP grew surer of the row than the true
#: model. Bad rows need no such margin to be found when their features are
#: inflated: the far-out rule (:mod:`skfit._training._row_spikes`) names them.
LEAST_MARGIN_SPREAD = 2.5

#: kernel type -> (deviation, loss_at, least_spread), compiled
_DEVIATIONS = {}


def _register(kernel_types, deviation, loss_at, spread):
    compiled = tuple(jit(function) for function in (deviation, loss_at, spread))
    for kernel_type in kernel_types:
        _DEVIATIONS[kernel_type] = compiled


# ------------------------------------------------------------ the deviations
def _root_deviation(kernel, loss):
    # Half a squared residual (squared error), half a deviance (Poisson, whose
    # deviance residual this is) or a squared hinge: the root undoes the square.
    return math.sqrt(2.0 * max(loss, 0.0))


def _root_loss_at(kernel, deviation):
    return 0.5 * max(deviation, 0.0) ** 2


def _linear_deviation(kernel, loss):
    return loss


def _linear_loss_at(kernel, deviation):
    return deviation


def _tube_deviation(kernel, loss):
    # Outside the tube the loss is the residual less epsilon.
    return loss + kernel.epsilon


def _tube_loss_at(kernel, deviation):
    return deviation - kernel.epsilon


def _huber_deviation(kernel, loss):
    epsilon = kernel.epsilon
    if loss <= 0.5 * epsilon * epsilon or epsilon == 0.0:
        return math.sqrt(2.0 * max(loss, 0.0))
    return loss / epsilon + 0.5 * epsilon


def _huber_loss_at(kernel, deviation):
    epsilon = kernel.epsilon
    deviation = max(deviation, 0.0)
    if deviation <= epsilon:
        return 0.5 * deviation * deviation
    return epsilon * (deviation - 0.5 * epsilon)


def _logistic_deviation(kernel, loss):
    # A log-loss log(1 + exp(-z)) has the margin z = -log(exp(loss) - 1), written
    # so that neither a small nor a large loss loses precision or overflows.
    loss = max(loss, _LEAST_LOG_LOSS)
    return loss + math.log(-math.expm1(-loss))


def _logistic_loss_at(kernel, deviation):
    return max(deviation, 0.0) + math.log1p(math.exp(-abs(deviation)))


def _magnitude_spread(kernel, median):
    return 0.5 * abs(median)


def _margin_spread(kernel, median):
    return LEAST_MARGIN_SPREAD


_register(
    (SquaredErrorKernel, PoissonKernel),
    _root_deviation,
    _root_loss_at,
    _magnitude_spread,
)
_register(
    (AbsoluteErrorKernel, UnknownLossKernel),
    _linear_deviation,
    _linear_loss_at,
    _magnitude_spread,
)
_register(
    (EpsilonInsensitiveKernel,), _tube_deviation, _tube_loss_at, _magnitude_spread
)
_register((HuberKernel,), _huber_deviation, _huber_loss_at, _magnitude_spread)
# Independent logistic outputs sum their log-losses: a row whose sum stands out
# has at least one margin far on the wrong side.
_register(
    (LogLossKernel, MultilabelLogLossKernel),
    _logistic_deviation,
    _logistic_loss_at,
    _margin_spread,
)
# A hinge is one less the margin where it is positive; a modified Huber loss too,
# beyond a margin of -1, where rows that stand out lie.
_register(
    (HingeKernel, ModifiedHuberKernel),
    _linear_deviation,
    _linear_loss_at,
    _margin_spread,
)
_register((SquaredHingeKernel,), _root_deviation, _root_loss_at, _margin_spread)


# ------------------------------------------------------------ dispatch
def row_deviation(kernel, loss):
    """The deviation of a row whose loss is ``loss`` (see the module docstring)."""
    return _DEVIATIONS[type(kernel)][0](kernel, loss)


def row_loss_at(kernel, deviation):
    """The loss of a row whose deviation is ``deviation``: the inverse of
    :func:`row_deviation`."""
    return _DEVIATIONS[type(kernel)][1](kernel, deviation)


def least_spread(kernel, median):
    """The least spread of deviations whose median is ``median``."""
    return _DEVIATIONS[type(kernel)][2](kernel, median)


@overload(row_deviation)
def _row_deviation_overload(kernel, loss):
    deviation = _DEVIATIONS[kernel.instance_class][0]
    return lambda kernel, loss: deviation(kernel, loss)


@overload(row_loss_at)
def _row_loss_at_overload(kernel, deviation):
    loss_at = _DEVIATIONS[kernel.instance_class][1]
    return lambda kernel, deviation: loss_at(kernel, deviation)


@overload(least_spread)
def _least_spread_overload(kernel, median):
    spread = _DEVIATIONS[kernel.instance_class][2]
    return lambda kernel, median: spread(kernel, median)
