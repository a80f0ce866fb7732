"""The weight penalty ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``.

Only weight matrices are penalised, never biases. The smooth (l2) part enters the
gradient; the l1 part is applied as a proximal step after each update, so that
weights reach exact zeros.
"""

import numpy as np

__all__ = ["Penalty"]


class Penalty:
    """The elastic-net penalty on a list of weight matrices.

    Parameters
    ----------
    alpha : float
        Overall strength; 0 disables the penalty.
    l1_ratio : float
        Share of the l1 term: 0 is l2 (ridge), 1 is l1 (lasso).
    """

    def __init__(self, alpha, l1_ratio):
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.l2 = self.alpha * (1.0 - self.l1_ratio)
        self.l1 = self.alpha * self.l1_ratio

    def value(self, coefs):
        """The penalty of the weights ``coefs``."""
        total = 0.0
        if self.l2:
            total += 0.5 * self.l2 * sum(float(np.vdot(w, w)) for w in coefs)
        if self.l1:
            total += self.l1 * sum(float(np.abs(w).sum()) for w in coefs)
        return total

    def add_gradient(self, coefs, coef_grads, scale):
        """Add ``scale`` times the gradient of the smooth part to ``coef_grads``."""
        if self.l2:
            for w, g in zip(coefs, coef_grads, strict=True):
                g += (self.l2 * scale) * w

    def proximal_step(self, coefs, learning_rate, scale):
        """Soft-threshold the weights by ``learning_rate * scale * l1``, in place."""
        if self.l1:
            threshold = learning_rate * scale * self.l1
            for w in coefs:
                shrunk = np.abs(w)
                shrunk -= threshold
                np.maximum(shrunk, 0, out=shrunk)
                np.copysign(shrunk, w, out=w)
