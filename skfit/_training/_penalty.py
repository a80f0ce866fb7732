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

import numpy as np

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


@jit(fastmath=FASTMATH, inline=True)
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
    weight_units : float or ndarray of shape (n_weights,), default=1.0
        The unit each stored weight is in: the penalty is that of
        ``weight_units * w``, so the strengths per weight become
        ``l2 * weight_units**2`` and ``l1 * weight_units``.
    loss_scale : float, default=1.0
        The unit of the objective: both strengths are divided by it.
        (:mod:`skfit._target_scaling` trains regressors in standardised units.)

    Attributes
    ----------
    blocks : list of (slice, float, float)
        The runs of weights that share a unit, with their l2 and l1 strengths: one
        for a linear model, one per unit for a network whose output layer is in
        the target's units.
    """

    def __init__(
        self, alpha, l1_ratio, decoupled=False, weight_units=1.0, loss_scale=1.0
    ):
        l2 = float(alpha) * (1.0 - float(l1_ratio)) / loss_scale
        l1 = float(alpha) * float(l1_ratio) / loss_scale
        units = np.atleast_1d(np.asarray(weight_units, dtype=float))
        starts = np.r_[0, np.flatnonzero(np.diff(units)) + 1]
        stops = [*starts[1:], None]
        self.blocks = [
            (slice(int(start), stop), l2 * units[start] ** 2, l1 * units[start])
            for start, stop in zip(starts, stops, strict=True)
        ]
        self.decoupled = decoupled

    @property
    def l2(self):
        """The l2 strength of a penalty with one block (a linear model)."""
        return self._uniform(1)

    @property
    def l1(self):
        """The l1 strength of a penalty with one block (a linear model)."""
        return self._uniform(2)

    def _uniform(self, index):
        if len(self.blocks) != 1:
            raise ValueError("The penalty's strengths differ between its blocks.")
        return self.blocks[0][index]

    def gradient_l2(self, l2):
        """The part of the l2 strength ``l2`` that enters the gradient."""
        return 0.0 if self.decoupled else l2

    def decay(self, l2):
        """The part of the l2 strength ``l2`` applied as a decay of the weights."""
        return l2 if self.decoupled else 0.0

    def value(self, weights):
        """The penalty of the flat array of ``weights``."""
        return sum(
            float(penalty_value(l2, l1, weights[block]))
            for block, l2, l1 in self.blocks
            if l2 or l1
        )

    def add_gradient(self, weights, weight_grads, scale, touched=None, factors=None):
        """Add ``scale`` times the gradient of the smooth part to ``weight_grads``;
        with ``touched`` (one block), only to those weights, times their
        ``factors`` (the penalty weights of a sparse update)."""
        for block, l2, _ in self.blocks:
            strength = self.gradient_l2(l2) * scale
            if not strength:
                continue
            if touched is None:
                weight_grads[block] += strength * weights[block]
            else:
                weight_grads[touched] += strength * weights[touched] * factors[touched]
