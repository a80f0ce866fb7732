"""The weight penalty ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``.

Only weights are penalised, never biases. The smooth (l2) part enters the gradient,
or, for optimizers with decoupled weight decay (AdamW), shrinks the weights from
before each update (``w_t = w_{t-1} + step - rate * l2 * w_{t-1}``, as Loshchilov
and Hutter's algorithm). The l1 part is a proximal step after each update:
soft-thresholding by the step size the optimizer applied to that coordinate
(see :mod:`skfit._optimizer_formulas`), so that weights reach exact zeros and the
l1 optimum is the same under every optimizer.

The formulas are compiled functions that the compiled epoch loop calls too.
"""

import math

from .._numba import FASTMATH, jit

__all__ = ["Penalty", "penalty_of_sums", "penalty_value", "soft_threshold"]


@jit(fastmath=FASTMATH)
def penalty_of_sums(l2, l1, squares, absolutes):
    """The penalty of weights whose squares sum to ``squares`` and whose absolute
    values sum to ``absolutes``: ``0.5 * l2 * squares + l1 * absolutes``."""
    return 0.5 * l2 * squares + l1 * absolutes


@jit(fastmath=FASTMATH)
def penalty_value(l2, l1, weights):
    """The penalty of a flat array of weights."""
    squares = 0.0
    absolutes = 0.0
    for w in weights:
        squares += w * w
        absolutes += abs(w)
    return penalty_of_sums(l2, l1, squares, absolutes)


@jit(fastmath=FASTMATH)
def soft_threshold(w, threshold):
    """Soft-thresholding, ``sign(w) * max(|w| - threshold, 0)``."""
    shrunk = max(abs(w) - threshold, 0.0)
    return math.copysign(shrunk, w) if shrunk > 0 else 0.0


class Penalty:
    """The elastic-net penalty on the weights, held as one flat array.

    Parameters
    ----------
    alpha : float
        Overall strength; 0 disables the penalty.
    l1_ratio : float
        Share of the l1 term: 0 is l2 (ridge), 1 is l1 (lasso).
    decoupled : bool, default=False
        Apply the l2 part as a decay of the weights at each update
        (``w -= rate * l2 * w``, with the weights from before the update) instead
        of through the gradient.
    """

    def __init__(self, alpha, l1_ratio, decoupled=False):
        self.l2 = float(alpha) * (1.0 - float(l1_ratio))
        self.l1 = float(alpha) * float(l1_ratio)
        self.decoupled = decoupled

    @property
    def gradient_l2(self):
        """The l2 strength that enters the gradient (0 under decoupled decay)."""
        return 0.0 if self.decoupled else self.l2

    @property
    def decay(self):
        """The l2 strength applied as a decay of the weights at each update."""
        return self.l2 if self.decoupled else 0.0

    def value(self, weights):
        """The penalty of the flat array of ``weights``."""
        if not (self.l2 or self.l1):
            return 0.0
        return float(penalty_value(self.l2, self.l1, weights))

    def add_gradient(self, weights, weight_grads, scale, touched=None, factors=None):
        """Add ``scale`` times the gradient of the smooth part to ``weight_grads``;
        with ``touched``, only to those weights, times their ``factors`` (the
        penalty weights of a sparse update)."""
        if not self.gradient_l2:
            return
        if touched is None:
            weight_grads += (self.gradient_l2 * scale) * weights
        else:
            weight_grads[touched] += (
                (self.gradient_l2 * scale) * weights[touched] * factors[touched]
            )
