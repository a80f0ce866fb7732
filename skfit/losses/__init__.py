"""Loss functions: value and gradient with respect to the raw model output.

Every loss works on two-dimensional arrays: ``y`` and ``raw`` have shape
``(n_samples, n_outputs)``. ``loss(y, raw)`` returns the per-sample loss summed over
the output columns, shape ``(n_samples,)``; ``gradient(y, raw)`` returns
``d loss / d raw`` with the shape of ``raw``. Classification targets arrive encoded
as indicator columns: one column holding 0/1 for a binary problem, one column per
class (one-hot) for a multiclass problem, one column per label for a multilabel
problem (whose log-loss is :class:`MultilabelLogLoss`, over independent labels).
The margin losses (hinge, squared_hinge, modified_huber) treat each column as its
own binary problem (one-vs-rest) with the margin ``z = s * raw``, ``s = 2 * y - 1``
in {-1, +1}.

Losses are scikit-learn style objects: settings such as ``epsilon`` are ``__init__``
arguments, so ``clone`` copies them and a search can tune ``loss__epsilon``.
A user-supplied loss is any object with the methods ``loss`` and ``gradient``
(and ``inverse_link`` when it has probabilities); :func:`check_loss` adapts it.
"""

import inspect

import numpy as np

from ._base import Loss
from ._classification import (
    Hinge,
    LogLoss,
    ModifiedHuber,
    MultilabelLogLoss,
    SquaredHinge,
)
from ._regression import (
    AbsoluteError,
    EpsilonInsensitive,
    Huber,
    Poisson,
    SquaredError,
)

__all__ = [
    "AbsoluteError",
    "EpsilonInsensitive",
    "Hinge",
    "Huber",
    "LogLoss",
    "Loss",
    "ModifiedHuber",
    "MultilabelLogLoss",
    "Poisson",
    "SquaredError",
    "SquaredHinge",
    "check_loss",
]


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


_LOSSES = {
    "squared_error": SquaredError,
    "absolute_error": AbsoluteError,
    "huber": Huber,
    "epsilon_insensitive": EpsilonInsensitive,
    "poisson": Poisson,
    "log_loss": LogLoss,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "modified_huber": ModifiedHuber,
}
#: The names for regressors and for classifiers.
_REGRESSION_LOSSES = frozenset(
    {"squared_error", "absolute_error", "huber", "epsilon_insensitive", "poisson"}
)
_CLASSIFICATION_LOSSES = frozenset(
    {"log_loss", "hinge", "squared_hinge", "modified_huber"}
)


def check_loss(loss, **options):
    """Return the :class:`Loss` named by ``loss``, or adapt a user's loss object.

    Parameters
    ----------
    loss : str or object
        A name of skfit's losses, a :class:`Loss`, or an object with ``loss`` and
        ``gradient`` methods.
    **options
        Settings for a named loss, such as ``epsilon``; each is passed only to the
        losses that take it (``check_loss("huber", epsilon=1.0)`` is ``Huber(1.0)``,
        ``check_loss("hinge", epsilon=1.0)`` is ``Hinge()``). Ignored for objects.

    Returns
    -------
    Loss

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        When a setting of a skfit loss is out of range.

    Examples
    --------
    >>> from skfit.losses import check_loss
    >>> check_loss("huber", epsilon=1.35)
    Huber(epsilon=1.35)
    """
    if isinstance(loss, str):
        cls = _LOSSES[loss]
        accepted = inspect.signature(cls).parameters
        loss = cls(**{k: v for k, v in options.items() if k in accepted})
    elif not isinstance(loss, Loss):
        return _LossObject(loss)
    loss._validate_params()
    return loss
