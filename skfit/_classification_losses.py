"""Classification losses: log-loss, and the one-vs-rest margin losses."""

import numpy as np
from scipy.special import expit, logit, logsumexp, softmax

from ._loss_base import Loss, smallest_share


class LogLoss(Loss):
    """Cross-entropy of the predicted class probabilities.

    With one output column it is the binary log-loss of the logistic model,
    ``log(1 + exp(raw)) - y * raw`` with ``y`` in {0, 1}. With one column per class it
    is the multinomial log-loss of the softmax model,
    ``logsumexp(raw) - sum(y * raw)`` with ``y`` one-hot. Both are computed without
    overflow for raw outputs of any size.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import LogLoss
    >>> LogLoss().loss(np.array([[1.0]]), np.array([[0.0]])).round(4)
    array([0.6931])
    >>> LogLoss().predict_proba(np.array([[0.0]]))
    array([[0.5, 0.5]])
    """

    has_probabilities = True
    multiclass = "multinomial"

    def loss(self, y, raw):
        if raw.shape[1] == 1:
            return (np.logaddexp(0.0, raw) - y * raw)[:, 0]
        return logsumexp(raw, axis=1) - np.einsum("ij,ij->i", y, raw)

    def gradient(self, y, raw):
        return self.inverse_link(raw) - y

    def loss_gradient(self, y, raw):
        if raw.shape[1] == 1:
            # logaddexp and expit beat sharing one exponential here (measured).
            return self.loss(y, raw), self.gradient(y, raw)
        # One exponential pass serves the loss and the softmax: with
        # shifted = raw - max, loss = log(sum(exp(shifted))) - sum(y * shifted).
        shifted = raw - _row_max(raw)[:, np.newaxis]
        exponentials = np.exp(shifted)
        # Row sums as a product with ones: numpy's reduction along a short last
        # axis costs some fifteen times more (measured, 100,000 x 5).
        totals = exponentials @ np.ones(raw.shape[1], dtype=raw.dtype)
        losses = np.log(totals) - np.einsum("ij,ij->i", y, shifted)
        exponentials /= totals[:, np.newaxis]
        exponentials -= y
        return losses, exponentials

    def inverse_link(self, raw):
        """Probabilities: the sigmoid of one column, or the softmax of several."""
        if raw.shape[1] == 1:
            return expit(raw)
        return softmax(raw, axis=1)

    def predict_proba(self, raw):
        """``[sigmoid(-raw), sigmoid(raw)]`` for one column, else the softmax."""
        if raw.shape[1] == 1:
            return np.hstack([expit(-raw), expit(raw)])
        return softmax(raw, axis=1)

    # ----------------------------------------------------- best constant
    def optimal_constant(self, Y, sample_weight=None):
        """The class log-priors (see :meth:`Loss.optimal_constant`): the logit of
        the weighted share of positives for one column, the log of each class's
        weighted share for several (the softmax of which is the shares). A class
        without weight, whose optimum is infinite, gets the share of half of the
        lightest row."""
        shares = np.average(Y, axis=0, weights=sample_weight).astype(float)
        floor = smallest_share(sample_weight, Y.shape[0])
        shares = np.clip(shares, floor, 1 - floor)
        constant = logit(shares) if Y.shape[1] == 1 else np.log(shares)
        return constant.astype(Y.dtype)


#: Up to this many columns, a pass per column finds row maxima faster than numpy's
#: reduction along the last axis (about ten times at 100,000 x 5; slower from
#: some tens of columns on).
_FEW_COLUMNS = 8


def _row_max(raw):
    """The largest value of each row of a 2-D array."""
    if raw.shape[1] > _FEW_COLUMNS:
        return raw.max(axis=1)
    largest = raw[:, 0].copy()
    for k in range(1, raw.shape[1]):
        np.maximum(largest, raw[:, k], out=largest)
    return largest


class _MarginLoss(Loss):
    """A one-vs-rest loss of the margin ``z = s * raw``, ``s = 2 * y - 1``:
    subclasses give ``_terms(z)``, the per-element loss and ``d loss / d z``."""

    multiclass = "ovr"

    def loss(self, y, raw):
        return self._terms((2 * y - 1) * raw)[0].sum(axis=1)

    def gradient(self, y, raw):
        return self.loss_gradient(y, raw)[1]

    def loss_gradient(self, y, raw):
        sign = 2 * y - 1
        values, slope = self._terms(sign * raw)
        slope *= sign
        return values.sum(axis=1), slope

    # ----------------------------------------------------- best constant
    def optimal_constant(self, Y, sample_weight=None):
        """Each column's minimiser of the weighted mean loss (see
        :meth:`Loss.optimal_constant`): on ``[-1, 1]`` the squared hinge and
        modified Huber are ``p * (1 - c)**2 + (1 - p) * (1 + c)**2`` for a share
        ``p`` of positives, least at ``c = 2 * p - 1``."""
        positives = np.average(Y, axis=0, weights=sample_weight)
        return (2 * positives - 1).astype(Y.dtype)


class Hinge(_MarginLoss):
    """The hinge loss of linear support vector machines, ``max(0, 1 - z)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import Hinge
    >>> Hinge().loss(np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]]))
    array([0.5, 1.5])
    """

    def _terms(self, z):
        # At the kink z = 1 the slope is -1, as in scikit-learn's SGD.
        return np.maximum(1 - z, 0), np.where(z <= 1, -1, 0).astype(z.dtype)

    def optimal_constant(self, Y, sample_weight=None):
        """Each column's minimiser of the weighted mean hinge loss (see
        :meth:`Loss.optimal_constant`): on ``[-1, 1]`` the loss is linear,
        ``p * (1 - c) + (1 - p) * (1 + c)`` for a share ``p`` of positives, so the
        margin of the majority, ``sign(2 * p - 1)`` (0 for a tie, where every
        ``c`` in ``[-1, 1]`` is optimal)."""
        return np.sign(super().optimal_constant(Y, sample_weight))


class SquaredHinge(_MarginLoss):
    """The squared hinge ``max(0, 1 - z) ** 2``, smooth at the margin.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import SquaredHinge
    >>> SquaredHinge().loss(np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]]))
    array([0.25, 2.25])
    """

    def _terms(self, z):
        gap = np.maximum(1 - z, 0)
        return gap * gap, -2 * gap


class ModifiedHuber(_MarginLoss):
    """scikit-learn's modified Huber loss: ``max(0, 1 - z) ** 2`` for ``z >= -1``,
    else ``-4 * z``; robust to outliers and with probability estimates.

    The probability of a column is ``clip((raw + 1) / 2, 0, 1)``; with several
    columns :meth:`predict_proba` divides each row by its sum, and a row of zeros
    becomes uniform, as in scikit-learn's ``SGDClassifier``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import ModifiedHuber
    >>> ModifiedHuber().loss(np.array([[1.0], [1.0]]), np.array([[0.5], [-3.0]]))
    array([ 0.25, 12.  ])
    >>> ModifiedHuber().predict_proba(np.array([[0.5]]))
    array([[0.25, 0.75]])
    """

    has_probabilities = True

    def _terms(self, z):
        # The gap is capped at 2, its value at z = -1, so no branch overflows.
        gap = np.clip(1 - z, 0, 2)
        linear = z < -1
        return np.where(linear, -4 * z, gap * gap), np.where(linear, -4, -2 * gap)

    def inverse_link(self, raw):
        """Per-column probabilities ``clip((raw + 1) / 2, 0, 1)``."""
        return np.clip((raw + 1) / 2, 0, 1)
