"""Loss functions: value and gradient with respect to the raw model output.

Every loss works on two-dimensional arrays: ``y`` and ``raw`` have shape
``(n_samples, n_outputs)``. ``loss(y, raw)`` returns the per-sample loss summed over
the output columns, shape ``(n_samples,)``; ``gradient(y, raw)`` returns
``d loss / d raw`` with the shape of ``raw``. Classification targets arrive encoded
as indicator columns: one column holding 0/1 for a binary problem, one column per
class (one-hot) for a multiclass problem.

A user-supplied loss is any object with the methods ``loss`` and ``gradient``
(and ``inverse_link`` when it has probabilities); :func:`check_loss` adapts it.
"""

import numpy as np
from scipy.special import expit, logsumexp, softmax

__all__ = ["LogLoss", "Loss", "SquaredError", "check_loss"]


class Loss:
    """Base class of skfit's losses.

    Subclasses implement :meth:`loss` and :meth:`gradient`; :meth:`loss_gradient`
    computes both at once and is what the training engine calls, so a subclass that
    can share work between the two overrides it.

    Attributes
    ----------
    has_probabilities : bool
        Whether :meth:`inverse_link` maps raw outputs to class probabilities.
    """

    has_probabilities = False

    def loss(self, y, raw):
        """Per-sample loss, summed over output columns, shape ``(n_samples,)``."""
        raise NotImplementedError

    def gradient(self, y, raw):
        """Derivative of the per-sample loss with respect to ``raw``."""
        raise NotImplementedError

    def loss_gradient(self, y, raw):
        """Return ``(loss(y, raw), gradient(y, raw))``."""
        return self.loss(y, raw), self.gradient(y, raw)

    def inverse_link(self, raw):
        """Map raw outputs to predictions (the identity unless overridden)."""
        return raw

    def __repr__(self):
        return f"{type(self).__name__}()"


class SquaredError(Loss):
    """Half the squared error, ``0.5 * (raw - y) ** 2``.

    The factor one half makes the gradient the plain residual ``raw - y`` and
    matches scikit-learn's ``SGDRegressor`` and ``Ridge`` conventions.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import SquaredError
    >>> SquaredError().loss(np.array([[1.0]]), np.array([[3.0]]))
    array([2.])
    """

    def loss(self, y, raw):
        residual = raw - y
        return 0.5 * np.einsum("ij,ij->i", residual, residual)

    def gradient(self, y, raw):
        return raw - y

    def loss_gradient(self, y, raw):
        residual = raw - y
        return 0.5 * np.einsum("ij,ij->i", residual, residual), residual


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
    """

    has_probabilities = True

    def loss(self, y, raw):
        if raw.shape[1] == 1:
            return (np.logaddexp(0.0, raw) - y * raw)[:, 0]
        return logsumexp(raw, axis=1) - np.einsum("ij,ij->i", y, raw)

    def gradient(self, y, raw):
        return self.inverse_link(raw) - y

    def inverse_link(self, raw):
        """Probabilities: the sigmoid of one column, or the softmax of several."""
        if raw.shape[1] == 1:
            return expit(raw)
        return softmax(raw, axis=1)


class _LossObject(Loss):
    """Adapter that gives a user's loss object the interface of :class:`Loss`."""

    def __init__(self, obj):
        self.obj = obj
        self.has_probabilities = hasattr(obj, "inverse_link")

    def loss(self, y, raw):
        values = np.asarray(self.obj.loss(y, raw))
        # A per-element loss is summed over the columns, as skfit's own losses are.
        return values.sum(axis=1) if values.ndim == 2 else values

    def gradient(self, y, raw):
        return np.asarray(self.obj.gradient(y, raw), dtype=raw.dtype).reshape(raw.shape)

    def inverse_link(self, raw):
        if self.has_probabilities:
            return np.asarray(self.obj.inverse_link(raw))
        return raw

    def __repr__(self):
        return repr(self.obj)


_LOSSES = {"squared_error": SquaredError, "log_loss": LogLoss}


def check_loss(loss):
    """Return the :class:`Loss` named by ``loss``, or adapt a user's loss object.

    Parameters
    ----------
    loss : str or object
        A name of skfit's losses, a :class:`Loss`, or an object with ``loss`` and
        ``gradient`` methods.

    Returns
    -------
    Loss
    """
    if isinstance(loss, str):
        return _LOSSES[loss]()
    if isinstance(loss, Loss):
        return loss
    return _LossObject(loss)
