"""The base class of skfit's losses (conventions: see :mod:`skfit.losses`)."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metadata_routing import UNUSED


class Loss(BaseEstimator):
    """Base class of skfit's losses.

    Subclasses implement :meth:`loss` and :meth:`gradient`; :meth:`loss_gradient`
    computes both at once and is what the training engine calls, so a subclass that
    can share work between the two overrides it.

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
