"""The base classes of skfit's losses (conventions: see :mod:`skfit.losses`)."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metadata_routing import UNUSED

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
    """

    _parameter_constraints: dict = {}
    has_probabilities = False
    multiclass = None
    requires_nonnegative_y = False
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


class FormulaLoss(Loss):
    """A built-in loss: value and gradient come from its compiled formula.

    Subclasses implement :meth:`kernel`, the formula's settings; the formula
    itself is registered for the kernel's type in :mod:`skfit.losses._formulas`,
    and the compiled training loop calls the same formula row by row.
    """

    def kernel(self, dtype):
        """The settings of the loss's formula for raw outputs of ``dtype``."""
        raise NotImplementedError

    def loss(self, y, raw):
        """Per-sample loss, summed over output columns, shape ``(n_samples,)``.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Targets; for classification, indicator columns.
        raw : ndarray of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.loss_gradient(y, raw)[0]

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
        """
        return self.loss_gradient(y, raw)[1]

    def loss_gradient(self, y, raw):
        """Return ``(loss(y, raw), gradient(y, raw))`` from one pass of the formula.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Targets; for classification, indicator columns.
        raw : ndarray of shape (n_samples, n_outputs)
            Raw model outputs.

        Returns
        -------
        losses : ndarray of shape (n_samples,)
        gradient : ndarray of shape (n_samples, n_outputs)
        """
        raw = np.ascontiguousarray(raw)
        if raw.dtype not in (np.float32, np.float64):
            raw = raw.astype(np.float64)
        y = np.ascontiguousarray(np.broadcast_to(y, raw.shape), dtype=raw.dtype)
        losses = np.empty(raw.shape[0], dtype=raw.dtype)
        grad = np.empty_like(raw)
        loss_gradient_rows(self.kernel(raw.dtype), y, raw, losses, grad)
        return losses, grad
