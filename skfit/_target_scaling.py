"""Regressors train in standardised units of the target, and exactly so.

A target of any location and scale (an intercept of 152, a standard deviation of
1e4 or of 1e-2) is hard for gradient descent: the parameters must travel far, and
the step sizes that suit one scale do not suit another. For the losses that scale
with the units of the target (``Loss.homogeneity`` is ``p``: squared error and
Huber ``p = 2``, absolute and epsilon-insensitive error ``p = 1``) the problem in
the user's units is the same problem in standardised units, exactly:

with ``y = mu + s * z`` (``mu`` per output column, one scale ``s`` for all), the
output layer's weights ``W = s * V`` and biases ``b = mu + s * c`` (hidden layers
unchanged), the residuals are ``s`` times the standardised ones, so the mean loss
is ``s**p`` times the mean loss of ``z`` under ``loss.rescaled(s)`` (Huber's and
the tube's ``epsilon / s``). The penalty of the user's weights is that of the
stored weights ``V`` with each weight's strength multiplied by its unit (``s`` for
the output layer, 1 for the hidden ones; squared for the l2 part). Dividing the whole
objective by ``s**p`` gives the objective that is trained; its minimisers are the
user's, mapped by the formulas above, and its values are the user's over ``s**p``:
the engine multiplies every loss it records by ``loss_scale = s**p``. One scale
for all outputs keeps the columns' shares of the objective as the user's objective
weighs them.

The network keeps the standardised parameters; the estimator shows them in the
user's units (``coef_``, ``intercepts_``, predictions), so training continues over
``partial_fit`` calls and warm starts without converting back and forth. ``mu`` and
``s`` are set from the training rows of the call that initialises the parameters:
``mu`` is the optimal constant of the loss (so the standardised optimal constant
is 0, where the output biases start), ``s`` the root mean square over columns of
a robust spread of each column: 1.4826 times the weighted median absolute
deviation from the weighted median (the standard deviation for normal data), or the
weighted standard deviation where more than half the targets are equal, or 1 for a
constant target; without an intercept to absorb a location, the deviations are
from 0. A robust spread keeps the bulk of the targets at unit scale when a few rows
are far out: with three targets in 400 multiplied by 1,000, the standard deviation
would shrink the others to a thousandth of a unit. Poisson (a log link), the
classifiers' losses and user-supplied losses are trained as they are.
"""

from dataclasses import dataclass

import numpy as np

from .losses import AbsoluteError

__all__ = ["TargetScaling"]

#: The median absolute deviation of a normal variable is its standard deviation
#: over this (1 / Phi^-1(3/4)).
NORMAL_MAD = 1.482602218505602


@dataclass
class TargetScaling:
    """Standardised units of a regression target: ``y = offset + scale * z``.

    Attributes
    ----------
    offset : ndarray of shape (n_outputs,)
        ``mu``, the target's location per output column (0 without an intercept).
    scale : float
        ``s``, one unit for every output column.
    """

    offset: np.ndarray
    scale: float

    @classmethod
    def for_targets(cls, loss, Y, sample_weight, fit_intercept):
        """The units to train ``loss`` on targets ``Y`` in, or None when the loss
        does not scale with the target (``loss.homogeneity is None``)."""
        if loss.homogeneity is None:
            return None
        if fit_intercept:
            offset = loss.optimal_constant(Y, sample_weight).astype(float)
        else:
            offset = np.zeros(Y.shape[1])
        spread = _robust_spread(Y.astype(float), sample_weight, fit_intercept)
        scale = float(np.sqrt(np.mean(spread**2)))
        # The losses are rescaled by the scale squared (squared error, Huber):
        # a scale whose square would overflow or lose its precision (below the
        # smallest normal number) is no unit to train in.
        with np.errstate(over="ignore", under="ignore"):
            if not np.finfo(float).tiny <= scale**2 <= np.finfo(float).max:
                scale = 1.0
        return cls(offset=offset, scale=scale)

    def loss_scale(self, loss):
        """``s**p``: one unit of the trained objective in the user's units."""
        return self.scale**loss.homogeneity

    def standardize(self, Y):
        """``(Y - mu) / s``, in the dtype of ``Y``."""
        return ((Y - self.offset) / self.scale).astype(Y.dtype)

    def to_user(self, raw):
        """Raw outputs in the user's units, ``mu + s * raw``, in the dtype of raw."""
        return (raw * self.scale + self.offset).astype(raw.dtype)

    def output_coef(self, coef):
        """The output layer's weights in the user's units."""
        return coef * coef.dtype.type(self.scale)

    def output_intercept(self, intercept):
        """The output layer's biases in the user's units."""
        return self.to_user(intercept)

    def weight_units(self, network):
        """The unit of each stored weight (``network.flat[:n_weights]``): ``s``
        for the output layer's, 1 for the hidden layers'; a float for a linear
        model."""
        if network.n_layers == 1:
            return self.scale
        units = np.ones(network.n_weights)
        units[network.n_weights - network.coefs[-1].size :] = self.scale
        return units

    def fold_into(self, network):
        """Convert ``network``'s output layer to the user's units, in place: for
        training on with a loss that does not scale with the target."""
        network.coefs[-1] *= self.scale
        if network.fit_intercept:
            network.intercepts[-1][...] = self.to_user(network.intercepts[-1])


def _robust_spread(Y, sample_weight, centred):
    """Each column's spread: NORMAL_MAD times the weighted median absolute
    deviation (from the weighted median, or from 0 when not ``centred``), or the
    weighted standard deviation (root mean square) where that is 0."""
    median = AbsoluteError().optimal_constant
    centre = median(Y, sample_weight) if centred else np.zeros(Y.shape[1])
    spread = NORMAL_MAD * median(np.abs(Y - centre), sample_weight)
    mean = np.average(Y, axis=0, weights=sample_weight) if centred else 0.0
    deviation = np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=sample_weight))
    return np.where(spread > 0, spread, deviation)
