"""Regression losses: squared, absolute, Huber, epsilon-insensitive, Poisson."""

from numbers import Real

import numpy as np

from .._sklearn_compat import Interval
from ._base import FormulaLoss
from ._formulas import (
    AbsoluteErrorKernel,
    EpsilonInsensitiveKernel,
    HuberKernel,
    PoissonKernel,
    SquaredErrorKernel,
)


class SquaredError(FormulaLoss):
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

    def kernel(self, dtype):
        return SquaredErrorKernel()


class AbsoluteError(FormulaLoss):
    """The absolute error ``|raw - y|``; its gradient is ``sign(raw - y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import AbsoluteError
    >>> AbsoluteError().loss(np.array([[1.0]]), np.array([[3.0]]))
    array([2.])
    """

    def kernel(self, dtype):
        return AbsoluteErrorKernel()


class Huber(FormulaLoss):
    """Quadratic near zero, linear beyond ``epsilon``: robust to outliers.

    With ``r = raw - y``: ``0.5 * r**2`` where ``|r| <= epsilon``, else
    ``epsilon * |r| - 0.5 * epsilon**2``; the gradient is ``clip(r, -epsilon,
    epsilon)``. This is the plain Huber function of scikit-learn's ``SGDRegressor``
    (``HuberRegressor`` also fits a scale, which this loss does not).

    Parameters
    ----------
    epsilon : float, default=0.1
        Where the loss turns from quadratic to linear, in the units of ``y``
        (0.1 as in ``SGDRegressor``; scale ``y`` or raise it for large targets).

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import Huber
    >>> Huber(epsilon=1.0).loss(np.zeros((2, 1)), np.array([[0.5], [3.0]]))
    array([0.125, 2.5  ])
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def kernel(self, dtype):
        return HuberKernel(float(self.epsilon))


class EpsilonInsensitive(FormulaLoss):
    """Errors within ``epsilon`` are free: ``max(0, |raw - y| - epsilon)``.

    The loss of linear support vector regression; its gradient is
    ``sign(raw - y)`` outside the ``epsilon`` tube and 0 inside it.

    Parameters
    ----------
    epsilon : float, default=0.1
        Half-width of the tube, in the units of ``y`` (0.1 as in ``SGDRegressor``).

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import EpsilonInsensitive
    >>> raw = np.array([[0.5], [3.0]])
    >>> EpsilonInsensitive(epsilon=1.0).loss(np.zeros((2, 1)), raw)
    array([0., 2.])
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def kernel(self, dtype):
        return EpsilonInsensitiveKernel(float(self.epsilon))


def _exp_cap(dtype):
    """Where ``exp`` is continued by its tangent: ``log(finfo(dtype).max) / 2``
    (354.9 for float64, 44.4 for float32), so that the value and the slope, and
    their squares, stay finite for any raw output."""
    return 0.5 * float(np.log(np.finfo(dtype).max))


class Poisson(FormulaLoss):
    """Half the Poisson deviance with the log link, for counts and rates.

    The raw output is the log of the predicted mean, ``mu = exp(raw)``, and the loss
    ``exp(raw) - y * raw + y * log(y) - y`` is half the deviance: 0 where
    ``mu == y``. Its gradient is ``exp(raw) - y``. The targets must be >= 0.

    Notes
    -----
    Above ``raw = log(finfo(dtype).max) / 2`` (354.9 in float64, 44.4 in float32),
    far beyond any real mean, ``exp`` is continued by its tangent, so the loss stays
    finite, convex and consistent with its gradient when training runs away;
    :meth:`inverse_link` caps predictions at ``exp`` of that value.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import Poisson
    >>> Poisson().loss(np.array([[1.0], [0.0]]), np.array([[0.0], [0.0]]))
    array([0., 1.])
    """

    requires_nonnegative_y = True

    def kernel(self, dtype):
        return PoissonKernel(_exp_cap(dtype))

    def inverse_link(self, raw):
        """The predicted mean ``exp(raw)`` (capped, see Notes)."""
        return np.exp(np.minimum(raw, _exp_cap(raw.dtype)))
