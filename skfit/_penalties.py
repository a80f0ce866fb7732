"""The weight penalty ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``.

Only weights are penalised, never biases. The smooth (l2) part enters the gradient,
or, for optimizers with decoupled weight decay (AdamW), shrinks the weights from
before each update (``w_t = w_{t-1} + step - rate * l2 * w_{t-1}``, as Loshchilov
and Hutter's algorithm); the l1 part is applied as a proximal step
(soft-thresholding) after each update, so that weights reach exact zeros.
"""

import numpy as np

__all__ = ["Penalty"]


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
    """

    def __init__(
        self, alpha, l1_ratio, decoupled=False, weight_units=1.0, loss_scale=1.0
    ):
        # One strength per weight where the units differ, else floats.
        self.l2 = float(alpha) * (1.0 - float(l1_ratio)) * weight_units**2 / loss_scale
        self.l1 = float(alpha) * float(l1_ratio) * weight_units / loss_scale
        self.decoupled = decoupled

    def value(self, weights):
        """The penalty of the flat array of ``weights``."""
        total = 0.0
        if np.any(self.l2):
            total += 0.5 * float(np.dot(self.l2 * weights, weights))
        if np.any(self.l1):
            total += float(np.sum(self.l1 * np.abs(weights)))
        return total

    def add_gradient(self, weights, weight_grads, scale):
        """Add ``scale`` times the gradient of the smooth part to ``weight_grads``."""
        if np.any(self.l2) and not self.decoupled:
            weight_grads += (self.l2 * scale) * weights

    def before_update(self, weights, learning_rate, scale):
        """Decay the weights by the decoupled l2 part, in place, before the step."""
        if np.any(self.l2) and self.decoupled:
            weights *= 1.0 - learning_rate * scale * self.l2

    def after_update(self, weights, learning_rate, scale):
        """Soft-threshold the weights by the l1 part, in place, after the step."""
        if np.any(self.l1):
            threshold = learning_rate * scale * self.l1
            shrunk = np.abs(weights)
            shrunk -= threshold
            np.maximum(shrunk, 0, out=shrunk)
            np.copysign(shrunk, weights, out=weights)
