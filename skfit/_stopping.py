"""The stopping rules that watch epoch losses: patience (tol, early stopping) and
divergence."""

import math

#: An epoch loss above this multiple of the best epoch loss of the fit (and above
#: the loss of its first epoch) counts towards divergence...
DIVERGENCE_FACTOR = 10.0
#: ...and this many such epochs in a row are divergence.
DIVERGENCE_PATIENCE = 3
#: How much smaller a learning rate the divergence warning suggests.
DIVERGENCE_RATE_DIVISOR = 10.0


class Patience:
    """Counts the epochs in a row without an improvement of more than ``tol``.

    An improvement is ``value < best - tol``, absolute, as in scikit-learn.
    """

    def __init__(self, tol):
        self.tol = tol
        self.best = math.inf
        self.count = 0

    def update(self, value):
        self.count = self.count + 1 if not value < self.best - self.tol else 0
        self.best = min(self.best, value)
        return self.count


class Divergence:
    """Divergence: a non-finite epoch loss, or DIVERGENCE_PATIENCE epochs in a row
    above both DIVERGENCE_FACTOR times the best epoch loss and the first one."""

    def __init__(self):
        self.first = None
        self.best = math.inf
        self.above = 0

    def update(self, loss):
        if not math.isfinite(loss):
            return True
        self.first = loss if self.first is None else self.first
        self.best = min(self.best, loss)
        exploded = loss > max(DIVERGENCE_FACTOR * self.best, self.first)
        self.above = self.above + 1 if exploded else 0
        return self.above >= DIVERGENCE_PATIENCE
