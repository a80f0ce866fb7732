"""Regression losses: squared, absolute, Huber, epsilon-insensitive, Poisson."""

from numbers import Real

import numpy as np
from scipy.optimize import minimize_scalar

from .._sklearn_compat import Interval
from ._base import FormulaLoss, _row_weights, smallest_share
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

    smooth = True

    def kernel(self, dtype):
        return SquaredErrorKernel()

    # ------------------------------------- best constant, units of the target
    homogeneity = 2

    def optimal_constant(self, Y, sample_weight=None):
        """The weighted mean of each column (see :meth:`Loss.optimal_constant`)."""
        # Summed in float64: float32 targets near float32's limit sum beyond it.
        mean = np.average(Y.astype(float, copy=False), axis=0, weights=sample_weight)
        return mean.astype(Y.dtype)


class _ResidualLoss(FormulaLoss):
    """A loss of the residual ``raw - y`` that grows with its size."""

    # ------------------------------------- best constant, units of the target
    def optimal_constant(self, Y, sample_weight=None):
        """Each column's minimiser of the weighted mean loss (see
        :meth:`Loss.optimal_constant`), by a bounded one-dimensional search.

        The loss grows with the size of the residual, so the minimiser lies
        between the column's smallest and largest target; the function is convex,
        so the search (Brent's, to a billionth of that range) finds it.
        """
        weights = _row_weights(sample_weight, Y.shape[0])
        constant = np.empty(Y.shape[1])
        for k, column in enumerate(Y.T.astype(float)):
            low, high = column.min(), column.max()
            if low == high:
                constant[k] = low
                continue
            targets = column[:, np.newaxis]
            found = minimize_scalar(
                lambda c, targets=targets: (
                    weights @ self.loss(targets, np.full_like(targets, c))
                ),
                bounds=(low, high),
                method="bounded",
                options={"xatol": 1e-9 * (high - low)},
            )
            constant[k] = found.x
        return constant.astype(Y.dtype)


class AbsoluteError(_ResidualLoss):
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

    # ------------------------------------- best constant, units of the target
    homogeneity = 1

    def optimal_constant(self, Y, sample_weight=None):
        """The weighted median of each column (see :meth:`Loss.optimal_constant`);
        where half the weight lies on each side of a gap, its midpoint, as
        ``numpy.median`` takes for an even number of equal weights."""
        weights = _row_weights(sample_weight, Y.shape[0])
        constant = np.empty(Y.shape[1])
        for k, column in enumerate(Y.T):
            order = np.argsort(column, kind="stable")
            values = column[order]
            below = np.cumsum(weights[order])
            # The tolerance absorbs the rounding of the cumulative sums.
            half, slack = 0.5 * below[-1], 1e-12 * below[-1]
            middle = int(np.searchsorted(below, half - slack))
            tie = below[middle] <= half + slack and middle + 1 < len(values)
            constant[k] = (
                0.5 * (values[middle] + values[middle + 1]) if tie else values[middle]
            )
        return constant.astype(Y.dtype)


class Huber(_ResidualLoss):
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

    smooth = True

    _parameter_constraints = {"epsilon": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def kernel(self, dtype):
        return HuberKernel(float(self.epsilon))

    # ------------------------------------- best constant, units of the target
    homogeneity = 2

    def rescaled(self, scale):
        """Huber with ``epsilon / scale``, for targets in units of ``scale``."""
        return type(self)(epsilon=self.epsilon / scale)


class EpsilonInsensitive(_ResidualLoss):
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

    # ------------------------------------- best constant, units of the target
    homogeneity = 1

    def rescaled(self, scale):
        """The tube ``epsilon / scale``, for targets in units of ``scale``."""
        return type(self)(epsilon=self.epsilon / scale)


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

    smooth = True

    requires_nonnegative_y = True

    def kernel(self, dtype):
        return PoissonKernel(_exp_cap(dtype))

    def inverse_link(self, raw):
        """The predicted mean ``exp(raw)`` (capped, see Notes)."""
        return np.exp(np.minimum(raw, _exp_cap(raw.dtype)))

    # ----------------------------------------------------- best constant
    def optimal_constant(self, Y, sample_weight=None):
        """The log of each column's weighted mean (see
        :meth:`Loss.optimal_constant`). A column of zeros, whose optimum is minus
        infinity, gets the mean of a count of 1 in half of its lightest row."""
        # Summed in float64: float32 counts near float32's limit sum beyond it.
        mean = np.average(Y.astype(float, copy=False), axis=0, weights=sample_weight)
        floor = smallest_share(sample_weight, Y.shape[0])
        return np.log(np.where(mean > 0, mean, floor)).astype(Y.dtype)
