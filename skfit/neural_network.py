"""Multilayer perceptrons trained by backpropagation: MLPRegressor and MLPClassifier.

They run on the same engine as the linear models: an MLP is a :class:`Network` with
hidden layers, whose forward and backward passes the engine calls once per batch.
"""

from numbers import Integral, Real

import numpy as np

from ._docs import (
    CLASSIFICATION_LOSS,
    FITTED_ATTRIBUTES,
    REGRESSION_LOSS,
    training_parameters,
)
from ._estimator_types import GDClassifierBase, GDRegressorBase
from ._models import ACTIVATIONS, Network
from ._sklearn_compat import Interval, StrOptions

__all__ = ["MLPClassifier", "MLPRegressor"]

_PARAMETERS = training_parameters(
    learning_rate=0.001,
    batch_size=200,
    n_iter_no_change=10,
    linear=False,
    schedule="constant",
    tol=1e-4,
)

_NETWORK_PARAMETERS = """
    hidden_layer_sizes : int or array-like of int, default=(100,)
        The width of each hidden layer: positive integers, at least one layer.
    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
        The hidden layers' activation. Weights start uniform in
        ``+-sqrt(f / (fan_in + fan_out))`` (Glorot; ``f = 2`` for logistic, 6 for
        the others, as scikit-learn's MLP), biases at zero.
    dropout : float, default=0.0
        The share of hidden units zeroed at random in each training batch
        ("inverted" dropout; prediction uses every unit). A regulariser against
        overfitting, besides ``alpha`` and ``early_stopping``.
"""

_NETWORK_ATTRIBUTES = """
    coefs_ : list of ndarray
        The weight matrix of each layer, ``coefs_[i]`` of shape
        ``(n_units_in, n_units_out)``, as scikit-learn's MLP names them.
    intercepts_ : list of ndarray
        The bias vector of each layer.
"""

_NETWORK_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}


def _hidden_widths(hidden_layer_sizes):
    """The hidden layers' widths as a list of ints, refusing anything but one
    positive integer or a non-empty sequence of them (no float is truncated)."""
    widths = (
        [hidden_layer_sizes]
        if np.ndim(hidden_layer_sizes) == 0
        else list(np.asarray(hidden_layer_sizes, dtype=object).ravel())
    )
    if np.ndim(hidden_layer_sizes) > 1 or not all(
        isinstance(width, Integral) and not isinstance(width, bool) and width >= 1
        for width in widths
    ):
        raise ValueError(
            "hidden_layer_sizes must be a positive integer or a sequence of positive "
            f"integers, the width of each hidden layer; got {hidden_layer_sizes!r}."
        )
    if not widths:
        raise ValueError(
            "hidden_layer_sizes is empty: an MLP needs at least one hidden layer "
            "(GDRegressor and GDClassifier are the models without one)."
        )
    return [int(width) for width in widths]


class _MultilayerPerceptron:
    """A network with hidden layers, exposed as ``coefs_`` and ``intercepts_``."""

    def _make_network(self, n_features, n_outputs):
        return Network(
            (n_features, *_hidden_widths(self.hidden_layer_sizes), n_outputs),
            activation=self.activation,
            dropout=self.dropout,
        )

    @property
    def coefs_(self):
        coefs = self._fitted_state("coefs_").network.coefs
        return [*coefs[:-1], self._output_layer("coefs_")[0]]

    @property
    def intercepts_(self):
        intercepts = self._fitted_state("intercepts_").network.intercepts
        return [*intercepts[:-1], self._output_layer("intercepts_")[1]]


class MLPRegressor(_MultilayerPerceptron, GDRegressorBase):
    __doc__ = f"""Multilayer perceptron regressor, with its training on record.

    Backpropagation on the same engine as :class:`~skfit.GDRegressor`: mini-batch
    updates by any optimizer, every epoch recorded in ``history_``, stopping on a
    named condition, loss spikes watched.

    Parameters
    ----------
    {_NETWORK_PARAMETERS}
{REGRESSION_LOSS}{_PARAMETERS}
    Attributes
    ----------
    {_NETWORK_ATTRIBUTES}
    {FITTED_ATTRIBUTES}
    See Also
    --------
    MLPClassifier : The classifier counterpart.
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP; the defaults match.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit import MLPRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-2, 2, size=(400, 2))
    >>> y = np.sin(X[:, 0]) * X[:, 1]
    >>> model = MLPRegressor(hidden_layer_sizes=(32,), learning_rate=0.01,
    ...                      random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **GDRegressorBase._parameter_constraints,
        **_NETWORK_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        dropout=0.0,
        loss="squared_error",
        epsilon=0.1,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        optimizer="adam",
        learning_rate=0.001,
        schedule="constant",
        batch_size=200,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.loss = loss
        self.epsilon = epsilon
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
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


class MLPClassifier(_MultilayerPerceptron, GDClassifierBase):
    __doc__ = f"""Multilayer perceptron classifier, with its training on record.

    Backpropagation on the same engine as :class:`~skfit.GDClassifier`: a softmax
    (or logistic) output layer trained with the log-loss, every epoch recorded in
    ``history_``, stopping on a named condition, loss spikes watched. Multilabel
    targets (an indicator matrix) get one independent logistic output per label,
    as in scikit-learn's MLP: ``predict`` returns the indicator matrix and
    ``predict_proba`` each label's probability.

    Parameters
    ----------
    {_NETWORK_PARAMETERS}
{CLASSIFICATION_LOSS}{_PARAMETERS}
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights; "balanced" as in
        :class:`GDClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels; for multilabel targets, the label columns
        ``0, ..., n_labels - 1``.
    {_NETWORK_ATTRIBUTES}
    {FITTED_ATTRIBUTES}
    See Also
    --------
    MLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP; the defaults match.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skfit import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> # 50 epochs, whatever the tolerance (tol=None: no warning at the end).
    >>> model = MLPClassifier(hidden_layer_sizes=(64,), max_epochs=50, tol=None,
    ...                       random_state=0)
    >>> model.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    """

    _parameter_constraints = {
        **GDClassifierBase._parameter_constraints,
        **_NETWORK_CONSTRAINTS,
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        dropout=0.0,
        loss="log_loss",
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        optimizer="adam",
        learning_rate=0.001,
        schedule="constant",
        batch_size=200,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
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
