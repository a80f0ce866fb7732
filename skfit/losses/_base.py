"""The base classes of skfit's losses (conventions: see :mod:`skfit.losses`)."""

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.utils.metadata_routing import UNUSED

from .._numba import read_only
from ._deviations import UnknownLossKernel
from ._formulas import loss_gradient_rows


class Loss(BaseEstimator):
    """Base class of skfit's losses.

    Subclasses implement :meth:`loss` and :meth:`gradient`; :meth:`loss_gradient`
    computes both at once and is what the training engine calls, so a subclass that
    can share work between the two overrides it. skfit's own losses derive from
    :class:`FormulaLoss`, which computes both from one compiled formula.

    Attributes
    ----------
    has_probabilities : bool
        Whether :meth:`predict_proba` gives class probabilities.
    multiclass : {None, "multinomial", "ovr"}
        How a classification loss treats several indicator columns: one joint
        softmax model, or one binary problem per column. None for regression.
    requires_nonnegative_y : bool
        Whether the targets must be non-negative (Poisson).
    homogeneity : {None, 1, 2}
        The power ``p`` with which the loss scales with the units of the target:
        ``loss(s * y, s * raw) == s**p * rescaled(s).loss(y, raw)`` for every
        ``s > 0``. Regressors standardise the target inside ``fit`` for the losses
        that have one (see :meth:`rescaled`); None for the others.
    smooth : bool
        Whether the loss is convex with a continuous gradient in the raw outputs,
        so that a linear model's fit may end with full-batch quasi-Newton steps
        (see the stopping guide). False for user-supplied losses.
    """

    _parameter_constraints: dict = {}
    has_probabilities = False
    smooth = False
    multiclass = None
    requires_nonnegative_y = False
    homogeneity = None
    # predict_proba takes raw outputs, not data to route metadata to.
    __metadata_request__predict_proba = {"raw": UNUSED}

    def loss(self, y, raw):
        """Per-sample loss, summed over output columns.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Targets; for classification, indicator columns (see
            :mod:`skfit.losses`).
        raw : ndarray of shape (n_samples, n_outputs)
            Raw model outputs, before the inverse link.

        Returns
        -------
        ndarray of shape (n_samples,)
            Each sample's loss.
        """
        raise NotImplementedError

    def gradient(self, y, raw):
        """Derivative of the per-sample loss with respect to ``raw``.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Targets; for classification, indicator columns.
        raw : ndarray of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            ``d loss_i / d raw_i`` for each sample ``i``.
        """
        raise NotImplementedError

    def loss_gradient(self, y, raw):
        """Return ``(loss(y, raw), gradient(y, raw))``.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Targets.
        raw : ndarray of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        losses : ndarray of shape (n_samples,)
        gradient : ndarray of shape (n_samples, n_outputs)
        """
        return self.loss(y, raw), self.gradient(y, raw)

    def inverse_link(self, raw):
        """Map raw outputs to predictions (the identity unless overridden)."""
        return raw

    def deviation_kernel(self, dtype):
        """The settings by which the per-row spike check reads this loss's row
        losses as deviations of the raw output from the target (see
        :mod:`skfit.losses._deviations`).

        A loss whose formula skfit does not know has its rows compared on their
        losses as they are.
        """
        return UnknownLossKernel()

    def predict_proba(self, raw):
        """Class probabilities, shape ``(n_samples, n_classes)``.

        One raw column (binary) gives ``[1 - p, p]`` with ``p = inverse_link(raw)``;
        several columns give ``inverse_link(raw)`` with each row divided by its sum,
        and a row summing to 0 becomes uniform (scikit-learn's ``SGDClassifier``
        does the same for modified_huber).
        """
        if not self.has_probabilities:
            raise NotImplementedError(f"{self!r} has no probabilities.")
        proba = np.asarray(self.inverse_link(raw))
        if proba.shape[1] == 1:
            return np.hstack([1 - proba, proba])
        total = proba.sum(axis=1, keepdims=True)
        zero = total[:, 0] == 0
        proba = proba / np.where(total == 0, 1, total)
        proba[zero] = 1.0 / proba.shape[1]
        return proba

    # --------------------------------------------- the best constant model
    # (Kept apart from the numerical kernels above: these run once per fit.)
    def optimal_constant(self, Y, sample_weight=None):
        """The constant raw output that minimises the weighted mean loss.

        Training starts the output biases here, so that the first epoch starts
        from the loss of the best constant model. The base class minimises the
        weighted mean loss over a constant row of raw outputs numerically
        (L-BFGS with :meth:`gradient`), starting from 0 and keeping 0 unless a
        lower loss is found; skfit's losses override it with their closed forms
        or one-dimensional minimisers.

        Parameters
        ----------
        Y : ndarray of shape (n_samples, n_outputs)
            Encoded targets, as :meth:`loss` takes them.
        sample_weight : ndarray of shape (n_samples,), default=None
            Non-negative weights of the rows; None weighs all equally.

        Returns
        -------
        ndarray of shape (n_outputs,)
            The constant, finite, in the dtype of ``Y``.

        Examples
        --------
        >>> import numpy as np
        >>> from skfit.losses import SquaredError
        >>> SquaredError().optimal_constant(np.array([[1.0], [2.0], [6.0]]))
        array([3.])
        """
        Y = np.asarray(Y)
        n_rows, n_outputs = Y.shape
        weights = _row_weights(sample_weight, n_rows)
        raw = np.empty(Y.shape, dtype=Y.dtype)

        def mean_loss_and_gradient(constant):
            raw[...] = constant
            values = np.asarray(self.loss(Y, raw), dtype=float)
            gradient = np.asarray(self.gradient(Y, raw), dtype=float)
            return float(weights @ values), weights @ gradient

        start = np.zeros(n_outputs)
        with np.errstate(all="ignore"):
            found = minimize(
                mean_loss_and_gradient,
                start,
                jac=True,
                method="L-BFGS-B",
                options={"ftol": 1e-13, "gtol": 1e-10},
            )
            best = mean_loss_and_gradient(start)[0]
            if np.all(np.isfinite(found.x)) and found.fun < best:
                start = found.x
        return start.astype(Y.dtype)

    def rescaled(self, scale):
        """The same loss for targets expressed in units of ``scale``.

        Defined for losses with a :attr:`homogeneity`: the loss itself for those
        without settings (squared and absolute error), the width ``epsilon``
        divided by ``scale`` for Huber and epsilon-insensitive.

        Parameters
        ----------
        scale : float
            The unit, ``> 0``.

        Returns
        -------
        Loss
        """
        if self.homogeneity is None:
            raise ValueError(f"{self!r} does not scale with the units of the target.")
        return self


class FormulaLoss(Loss):
    """A built-in loss: value and gradient come from its compiled formula.

    Subclasses implement :meth:`kernel`, the formula's settings; the formula
    itself is registered for the kernel's type in :mod:`skfit.losses._formulas`,
    and the compiled training loop calls the same formula row by row.
    """

    def kernel(self, dtype):
        """The settings of the loss's formula for raw outputs of ``dtype``."""
        raise NotImplementedError

    def deviation_kernel(self, dtype):
        """The formula's settings: a built-in loss's deviation is registered for
        its kernel."""
        return self.kernel(dtype)

    def loss(self, y, raw):
        return self.loss_gradient(y, raw)[0]

    def gradient(self, y, raw):
        return self.loss_gradient(y, raw)[1]

    def loss_gradient(self, y, raw):
        # Both from one pass of the formula (the documentation is Loss's).
        raw = np.ascontiguousarray(raw)
        if raw.dtype not in (np.float32, np.float64):
            raw = raw.astype(np.float64)
        y = np.ascontiguousarray(np.broadcast_to(y, raw.shape), dtype=raw.dtype)
        losses = np.empty(raw.shape[0], dtype=raw.dtype)
        grad = np.empty_like(raw)
        loss_gradient_rows(self.kernel(raw.dtype), read_only(y), raw, losses, grad)
        return losses, grad


def _row_weights(sample_weight, n_rows):
    """Weights of the rows that sum to 1 (float64), for weighted means."""
    if sample_weight is None:
        return np.full(n_rows, 1.0 / n_rows)
    weights = np.asarray(sample_weight, dtype=float)
    return weights / weights.sum()


def smallest_share(sample_weight, n_rows):
    """Half the weight share of the lightest row that counts: the share given to an
    outcome never seen, so that a constant whose optimum is infinite (a class or
    every count absent) stays finite, as if half a row had seen it."""
    if sample_weight is None:
        return 0.5 / n_rows
    weights = np.asarray(sample_weight, dtype=float)
    return 0.5 * weights[weights > 0].min() / weights.sum()
