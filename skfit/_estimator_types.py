"""The regression and classification types of skfit's estimators.

:class:`GDRegressorBase` and :class:`GDClassifierBase` add target encoding, the
prediction methods and ``partial_fit`` to :class:`~skfit._base.BaseGD`; the concrete
estimators only choose the network's shape.
"""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import label_binarize
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._base import BaseGD
from ._data_checks import check_class_weight, in_dtype, usable_weights
from ._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    compute_class_weight,
)
from .losses import (
    _CLASSIFICATION_LOSSES,
    _REGRESSION_LOSSES,
    MultilabelLogLoss,
    check_loss,
)


class GDRegressorBase(RegressorMixin, BaseGD):
    """Regression face: numeric targets, one or several outputs."""

    _parameter_constraints = {
        **BaseGD._parameter_constraints,
        "loss": [
            StrOptions(set(_REGRESSION_LOSSES)),
            HasMethods(["loss", "gradient"]),
        ],
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    def _loss_object(self):
        return check_loss(self.loss, epsilon=self.epsilon)

    def _encode_targets(self, y, dtype, *, reset, incremental, classes):
        Y = in_dtype(np.asarray(y), dtype, "y")
        if getattr(self._loss_object(), "requires_nonnegative_y", False) and np.any(
            Y < 0
        ):
            raise ValueError(
                f"loss={self.loss!r} needs non-negative targets, but y has "
                f"{int(np.sum(Y < 0))} negative values."
            )
        return Y.reshape(-1, 1) if Y.ndim == 1 else Y

    def _predictions_from_raw(self, raw):
        predictions = self._fitted_loss().inverse_link(raw)
        return predictions[:, 0] if predictions.shape[1] == 1 else predictions

    def _score_raw(self, raw, y, sample_weight):
        return r2_score(y, self._predictions_from_raw(raw), sample_weight=sample_weight)

    def predict(self, X):
        """Predict targets for ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions; one column per output of a multi-output fit.
        """
        return self._predictions_from_raw(self._raw(X))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current parameters.

        No validation share, tolerance or early stopping applies; the first call
        initialises the parameters.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class GDClassifierBase(ClassifierMixin, BaseGD):
    """Classification face: label encoding, class weights, probabilities."""

    _parameter_constraints = {
        **BaseGD._parameter_constraints,
        "loss": [
            StrOptions(set(_CLASSIFICATION_LOSSES)),
            HasMethods(["loss", "gradient"]),
        ],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }
    #: Whether the estimator was fitted on multilabel targets (set by the fit).
    _multilabel = False

    def _encode_targets(self, y, dtype, *, reset, incremental, classes):
        check_classification_targets(y)
        target_type = type_of_target(y)
        multilabel = target_type == "multilabel-indicator"
        if not (target_type in ("binary", "multiclass") or multilabel):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets, "
                f"got {target_type!r}."
            )
        if multilabel and not get_tags(self).classifier_tags.multi_label:
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets, "
                "got a multilabel indicator matrix; MLPClassifier fits those."
            )
        if not reset and multilabel != self._multilabel:
            raise ValueError(
                f"y is {target_type!r}, but {type(self).__name__} was fitted on "
                f"{'multilabel' if self._multilabel else 'single-label'} targets; "
                "fit without warm_start to start afresh."
            )
        # The classes of a multilabel target are its label columns, as scikit-learn
        # names them.
        in_y = np.arange(y.shape[1]) if multilabel else np.unique(y)
        if reset:
            if classes is None and incremental:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: "
                    "the list of every class that y may contain (for multilabel "
                    "targets, the label columns 0, 1, ...)."
                )
            found = in_y if classes is None else np.unique(classes)
            if found.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, "
                    f"but the data contains only one class: {found[0]!r}."
                )
            if multilabel and not np.array_equal(found, in_y):
                raise ValueError(
                    f"The classes of multilabel targets are their label columns, "
                    f"{in_y}, but classes={found}."
                )
            self.classes_ = found
            self._multilabel = multilabel
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes)} differs from the classes of the first "
                f"call, {self.classes_}."
            )
        elif not incremental and not np.array_equal(in_y, self.classes_):
            raise ValueError(
                f"A warm-started fit needs the classes {self.classes_} it was fitted "
                f"with, but y holds {in_y}; fit with warm_start=False to start "
                "afresh."
            )
        unknown = np.setdiff1d(in_y, self.classes_)
        if unknown.size or (multilabel and y.shape[1] != self.classes_.shape[0]):
            raise ValueError(
                f"y contains labels {in_y if multilabel else unknown} that are not "
                f"the classes {self.classes_} the estimator was fitted with."
            )
        if multilabel:
            return y.astype(dtype)
        return label_binarize(y, classes=self.classes_).astype(dtype)

    def _loss_object(self):
        loss = super()._loss_object()
        # Multilabel targets need one logistic output per label, not a softmax.
        if self._multilabel and loss.multiclass == "multinomial":
            return MultilabelLogLoss()
        return loss

    def _weigh_targets(self, y, sample_weight, dtype, incremental):
        if self.class_weight is None:
            weights = super()._weigh_targets(y, sample_weight, dtype, incremental)
        else:
            weights = self._class_weights(y, sample_weight, dtype, incremental)
        if (
            weights is not None
            and not incremental
            and not self._multilabel
            and np.unique(y[weights > 0]).shape[0] < 2
        ):
            raise ValueError(
                "Only one class has a non-zero sample weight; a classifier needs "
                "samples of at least 2 classes to train."
            )
        return weights

    def _class_weights(self, y, sample_weight, dtype, incremental):
        """The weight of each sample's class, times its sample weight if any."""
        if self.class_weight == "balanced" and incremental:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the "
                "class frequencies of one batch are not those of the data. Pass "
                "a dict computed with sklearn.utils.compute_class_weight instead."
            )
        if self._multilabel:
            raise ValueError(
                "class_weight is not supported for multilabel targets: a sample "
                "belongs to several classes. Weigh the samples with sample_weight."
            )
        if isinstance(self.class_weight, dict):
            check_class_weight(self.class_weight)
        per_class = compute_class_weight(
            self.class_weight, classes=self.classes_, y=y, sample_weight=sample_weight
        )
        weights = per_class[np.searchsorted(self.classes_, y)]
        if sample_weight is None:
            return usable_weights(weights, dtype, "class_weight")
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            # usable_weights names an overflowing or underflowing product. A class
            # whose rows all weigh 0 is balanced by an infinite weight: its rows
            # still weigh 0.
            weights = np.where(sample_weight > 0, weights * sample_weight, 0.0)
        return usable_weights(weights, dtype, "sample_weight times class_weight")

    def _stratify(self, y):
        # A multilabel share is drawn at random, as scikit-learn's MLP draws it.
        return None if self._multilabel else y

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current parameters.

        No validation share, tolerance or early stopping applies; the first call
        initialises the parameters and must name every class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or (MLPClassifier) a multilabel indicator matrix.
        classes : array-like of shape (n_classes,), default=None
            Every class ``y`` may contain over all calls; required on the first.
            For multilabel targets, the label columns ``0, ..., n_labels - 1``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _labels_from_raw(self, raw):
        if self._multilabel:
            # The indicator matrix: a label is on where its probability is
            # above 0.5, that is where its raw output is positive.
            return (raw > 0).astype(int)
        if raw.shape[1] == 1:
            return self.classes_[(raw[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(raw, axis=1)]

    def _score_raw(self, raw, y, sample_weight):
        return accuracy_score(
            y, self._labels_from_raw(raw), sample_weight=sample_weight
        )

    def decision_function(self, X):
        """Raw scores: the logit of the positive class, or one column per class
        (per label, for multilabel targets).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        raw = self._raw(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def predict(self, X):
        """Predict class labels for ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            The labels; for multilabel targets, the indicator matrix of the labels
            whose probability is above 0.5.
        """
        return self._labels_from_raw(self._raw(X))

    def _has_probabilities(self):
        return self._fitted_loss().has_probabilities

    @available_if(_has_probabilities)
    def predict_proba(self, X):
        """Class probabilities, one column per class in ``classes_`` order.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            For multilabel targets, the probability of each label on its own.
        """
        loss, raw = self._fitted_loss(), self._raw(X)
        if self._multilabel:
            return loss.inverse_link(raw)
        return loss.predict_proba(raw)

    @available_if(_has_probabilities)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
