"""Classification losses: log-loss, and the one-vs-rest margin losses."""

import numpy as np
from scipy.special import expit, logit, softmax

from ._base import FormulaLoss, smallest_share
from ._formulas import (
    HingeKernel,
    LogLossKernel,
    ModifiedHuberKernel,
    MultilabelLogLossKernel,
    SquaredHingeKernel,
)


class LogLoss(FormulaLoss):
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

    smooth = True

    has_probabilities = True
    multiclass = "multinomial"

    def kernel(self, dtype):
        return LogLossKernel()

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


class MultilabelLogLoss(FormulaLoss):
    """The binary log-loss of each column, summed: independent logistic outputs.

    For multilabel targets, an indicator matrix with one 0/1 column per label: the
    per-sample loss is ``sum_k log(1 + exp(raw_k)) - y_k * raw_k``, the loss of one
    logistic model per label (scikit-learn's MLP uses the same for multilabel
    targets). With a single column it equals :class:`LogLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import MultilabelLogLoss
    >>> y, raw = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]])
    >>> MultilabelLogLoss().loss(y, raw).round(4)
    array([1.3863])
    >>> MultilabelLogLoss().predict_proba(np.array([[0.0, 2.0]])).round(4)
    array([[0.5   , 0.8808]])
    """

    smooth = True

    has_probabilities = True
    multiclass = "ovr"

    def kernel(self, dtype):
        return MultilabelLogLossKernel()

    def inverse_link(self, raw):
        """The probability of each label, the sigmoid of its column."""
        return expit(raw)

    def predict_proba(self, raw):
        """The probability of each label, ``(n_samples, n_labels)``; the rows do not
        sum to one, as the labels are independent."""
        return expit(raw)


class _MarginLoss(FormulaLoss):
    """A one-vs-rest loss of the margin ``z = s * raw``, ``s = 2 * y - 1``."""

    multiclass = "ovr"

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

    def kernel(self, dtype):
        return HingeKernel()

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

    smooth = True

    def kernel(self, dtype):
        return SquaredHingeKernel()


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

    smooth = True

    has_probabilities = True

    def kernel(self, dtype):
        return ModifiedHuberKernel()

    def inverse_link(self, raw):
        """Per-column probabilities ``clip((raw + 1) / 2, 0, 1)``."""
        return np.clip((raw + 1) / 2, 0, 1)
