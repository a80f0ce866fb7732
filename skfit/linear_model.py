"""Linear models trained by gradient descent: GDRegressor and GDClassifier."""

import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._docs import (
    CLASSIFICATION_LOSS,
    FITTED_ATTRIBUTES,
    REGRESSION_LOSS,
    training_parameters,
)
from ._estimator_types import GDClassifierBase, GDRegressorBase
from ._models import Network

__all__ = ["GDClassifier", "GDRegressor"]

_PARAMETERS = training_parameters(
    learning_rate=0.01,
    batch_size=32,
    n_iter_no_change=5,
    schedule="plateau",
    tol=1e-5,
    linear=True,
)

_LINEAR_CONSTRAINTS = {
    "fit_intercept": ["boolean"],
    "finish": [StrOptions({"lbfgs"}), None],
}


class _LinearModel:
    """A network with no hidden layer, exposed as ``coef_`` and ``intercept_``."""

    def _make_network(self, n_features, n_outputs):
        return Network((n_features, n_outputs), fit_intercept=self.fit_intercept)

    def _finishes(self):
        return self.finish is not None

    @property
    def coef_(self):
        weights = self._output_layer("coef_")[0]
        if weights.shape[1] == 1 and not hasattr(self, "classes_"):
            coef = weights[:, 0]
        else:
            coef = weights.T
        return sp.csr_matrix(coef) if self.__dict__.get("_sparse_coef") else coef

    def sparsify(self):
        """Show ``coef_`` as a scipy.sparse CSR matrix of its non-zero weights.

        After an l1 or elastic-net fit many weights are exactly zero; the sparse
        form states which without listing them. The model keeps its dense
        parameters, so prediction and further training are unchanged; a fit that
        starts afresh, or :meth:`densify`, shows ``coef_`` dense again.

        Returns
        -------
        self : object
            The estimator.
        """
        check_is_fitted(self)
        self._sparse_coef = True
        return self

    def densify(self):
        """Show ``coef_`` as a dense array again (undoes :meth:`sparsify`).

        Returns
        -------
        self : object
            The estimator.
        """
        check_is_fitted(self)
        self.__dict__.pop("_sparse_coef", None)
        return self

    def _new_state(self, *args):
        self.__dict__.pop("_sparse_coef", None)
        return super()._new_state(*args)

    @property
    def intercept_(self):
        return self._output_layer("intercept_")[1]


class GDRegressor(_LinearModel, GDRegressorBase):
    __doc__ = f"""Linear regression trained by gradient descent, training on record.

    Full batch, mini-batch or per-sample updates (by ``batch_size``) on dense or
    CSR sparse data, one or several outputs. Every fit records its loss per epoch
    in ``history_``, reports why it stopped in ``stop_reason_``, and never leaves
    non-finite parameters when it diverges.

    Parameters
    ----------
{REGRESSION_LOSS}{_PARAMETERS}
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        The weights.
    intercept_ : ndarray of shape (n_outputs,)
        The biases.
    {FITTED_ATTRIBUTES}
    See Also
    --------
    GDClassifier : The classifier counterpart.
    sklearn.linear_model.SGDRegressor : scikit-learn's per-sample SGD regressor.

    Notes
    -----
    The objective is the sample-weighted mean loss plus the penalty, so
    ``Ridge(alpha=a)`` on ``n`` rows corresponds to ``alpha = a / n``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> y = y + 500  # a target far from 0: training starts from its mean
    >>> est = GDRegressor(random_state=0).fit(X, y)
    >>> est.stop_reason_, round(float(est.intercept_[0]), 1), round(est.score(X, y), 3)
    ('tol', 500.0, 1.0)
    """

    _parameter_constraints = {
        **GDRegressorBase._parameter_constraints,
        **_LINEAR_CONSTRAINTS,
    }

    def __init__(
        self,
        loss="squared_error",
        epsilon=0.1,
        *,
        penalty="l2",
        alpha="auto",
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="adam",
        learning_rate=0.01,
        schedule="plateau",
        batch_size=32,
        max_epochs=200,
        tol=1e-5,
        n_iter_no_change=5,
        finish="lbfgs",
        loss_threshold=None,
        early_stopping=False,
        validation_fraction=None,
        spike_policy="warn",
        spike_threshold=6.0,
        shuffle=True,
        random_state=None,
        warm_start=False,
        callbacks=None,
        verbose=0,
    ):
        self.loss = loss
        self.epsilon = epsilon
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.finish = finish
        self.loss_threshold = loss_threshold
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.spike_policy = spike_policy
        self.spike_threshold = spike_threshold
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.verbose = verbose


class GDClassifier(_LinearModel, GDClassifierBase):
    __doc__ = f"""Linear classifier trained by gradient descent, training on record.

    Binary and multiclass: the log-loss is multinomial (softmax) over all classes.
    Dense or CSR sparse data, sample and class weights. Every fit records its loss
    per epoch in ``history_`` and reports why it stopped in ``stop_reason_``.

    Parameters
    ----------
{CLASSIFICATION_LOSS}{_PARAMETERS}
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights; "balanced" uses
        ``n_samples / (n_classes * np.bincount(y))``, with the classes counted by
        their sample weights where scikit-learn does so too (1.7 and later), as
        ``LogisticRegression`` then does. Not available in ``partial_fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights: one row for a binary problem, one per class otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The biases.
    {FITTED_ATTRIBUTES}
    See Also
    --------
    GDRegressor : The regression counterpart.
    sklearn.linear_model.LogisticRegression : The exact solver for the same objective.

    Notes
    -----
    ``LogisticRegression(C=c)`` on ``n`` rows minimises the same objective as
    ``alpha = 1 / (c * n)`` with ``penalty="l2"``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfit import GDClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), GDClassifier(random_state=0)).fit(X, y)
    >>> model[-1].coef_.shape
    (3, 4)
    >>> round(model.score(X, y), 2)
    0.97

    The fit ends in the quasi-Newton finish, at the optimum of the objective of
    ``LogisticRegression()``: ``alpha="auto"`` is one over the 150 rows.

    >>> clf = model[-1]
    >>> clf.stop_reason_, clf.converged_, round(clf.alpha_ * 150, 6)
    ('tol', True, 1.0)
    >>> import numpy as np
    >>> int(np.isnan(clf.history_["learning_rate"]).sum()) > 0  # finish epochs
    True
    """

    _parameter_constraints = {
        **GDClassifierBase._parameter_constraints,
        **_LINEAR_CONSTRAINTS,
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        penalty="l2",
        alpha="auto",
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="adam",
        learning_rate=0.01,
        schedule="plateau",
        batch_size=32,
        max_epochs=200,
        tol=1e-5,
        n_iter_no_change=5,
        finish="lbfgs",
        loss_threshold=None,
        early_stopping=False,
        validation_fraction=None,
        spike_policy="warn",
        spike_threshold=6.0,
        shuffle=True,
        random_state=None,
        warm_start=False,
        callbacks=None,
        verbose=0,
        class_weight=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.finish = finish
        self.loss_threshold = loss_threshold
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.spike_policy = spike_policy
        self.spike_threshold = spike_threshold
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.verbose = verbose
        self.class_weight = class_weight
