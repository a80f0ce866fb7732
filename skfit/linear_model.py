"""Linear models trained by gradient descent: GDRegressor and GDClassifier."""

from ._base import GDClassifierBase, GDRegressorBase
from ._models import Network

__all__ = ["GDClassifier", "GDRegressor"]

_SHARED_PARAMETERS_DOC = """
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The weight penalty. "l2" is ``l1_ratio=0``, "l1" is ``l1_ratio=1``,
        "elasticnet" uses ``l1_ratio``; None disables it. Biases are not penalised.
    alpha : float, default=1e-4
        Penalty strength: the objective adds
        ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``.
    l1_ratio : float, default=0.15
        The l1 share of the elastic-net penalty, in [0, 1].
    fit_intercept : bool, default=True
        Whether to learn a bias.
    optimizer : {"sgd", "adam"} or optimizer object, default="adam"
        The update rule (see :mod:`skfit.optimizers`). Adam is the default
        because its per-coordinate step sizes cope with unscaled features.
    learning_rate : float, default=0.01
        The initial step size; the rate of update ``t`` is
        ``learning_rate * schedule(t)``.
    schedule : "constant" or callable, default="constant"
        The learning-rate schedule: a callable ``t -> multiplier`` of the rate,
        ``t`` counting the updates applied before (see :mod:`skfit.schedules`).
    batch_size : int or None, default=32
        Samples per gradient update; None for full-batch gradient descent, 1 for
        per-sample updates. Larger than the data means full batch.
    max_epochs : int, default=200
        The most epochs one ``fit`` call runs; reaching it warns with a
        ``ConvergenceWarning``.
    tol : float or None, default=1e-4
        Training stops with ``stop_reason_='tol'`` when the epoch loss has not
        improved on the best by more than ``tol`` for ``n_iter_no_change`` epochs
        (absolute, as in scikit-learn). None disables the rule.
    n_iter_no_change : int, default=5
        Epochs without improvement before ``tol`` or ``early_stopping`` stop.
    loss_threshold : float or None, default=None
        Stop (``stop_reason_='loss_threshold'``) once the epoch loss is at or below it.
    early_stopping : bool, default=False
        Hold out a validation share and stop when its loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, restoring the best parameters.
    validation_fraction : float or None, default=None
        The share held out for validation (stratified for classifiers); every epoch
        then records ``val_loss`` and ``val_score``. With ``early_stopping`` and
        None, 0.1 is held out.
    spike_policy : {"ignore", "warn", "skip", "rollback", "raise"}, default="warn"
        What a loss spike (see ``spike_threshold``) does. Every spike is recorded in
        ``spikes_`` and counted in ``history_``; "warn" adds one ``LossSpikeWarning``
        per call; "skip" withholds the batch's update; "rollback" restores the
        parameters and optimizer state of the last epoch without spikes and halves
        the learning rate; "raise" raises ``LossSpikeError``. Repeated spikes under
        "skip" or "rollback" stop training with ``stop_reason_='spike'``. A batch with
        a non-finite loss or gradient is never applied, whatever the policy.
    spike_threshold : float, default=6.0
        A batch loss is a spike when its logarithm exceeds the running mean of
        recent batch log-losses by more than this many running standard deviations
        (exponentially weighted, after a warm-up of 20 batches; see
        :mod:`skfit.spikes`). The default stays quiet on the ordinary noise of
        batches of 16 rows or more.
    shuffle : bool, default=True
        Whether to reshuffle the training rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds shuffling and the validation split; an int makes fits repeatable.
    warm_start : bool, default=False
        Whether ``fit`` continues from the previous parameters and optimizer state.
    callbacks : list of Callback or None, default=None
        Objects called during training (see :mod:`skfit.callbacks`); they are used
        as given and never modified.
    verbose : int, default=0
        0 is silent, 1 shows a progress bar, 2 prints one line per epoch.
"""

_FITTED_ATTRIBUTES_DOC = """
    history_ : History
        One record per epoch since the parameters were initialised.
    loss_curve_ : list of float
        The training loss per epoch.
    n_epochs_ : int
        Epochs run since initialisation, ``len(history_)``.
    n_iter_ : int
        The same as ``n_epochs_``, under scikit-learn's name.
    t_ : int
        Gradient updates applied since initialisation.
    stop_reason_ : str
        The stopping rule that ended the last call: 'max_epochs', 'tol',
        'loss_threshold', 'early_stopping', 'diverged', 'spike', 'callback' or
        'interrupted'.
    converged_ : bool
        Whether the last call stopped by 'tol', 'loss_threshold' or 'early_stopping'.
    best_epoch_ : int
        The epoch with the lowest monitored loss in the last call (the validation
        loss under early stopping, else the training loss); its parameters are
        restored after early stopping and divergence.
    best_loss_ : float
        The monitored loss at ``best_epoch_``.
    spikes_ : list of Spike
        Batches whose loss spiked, with the rows they held.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
"""


class _LinearModel:
    """A network with no hidden layer, exposed as ``coef_`` and ``intercept_``."""

    def _make_network(self, n_features, n_outputs):
        return Network((n_features, n_outputs), fit_intercept=self.fit_intercept)

    @property
    def coef_(self):
        weights = self._fitted_state("coef_").network.coefs[0]
        if weights.shape[1] == 1 and not hasattr(self, "classes_"):
            return weights[:, 0]
        return weights.T

    @property
    def intercept_(self):
        return self._fitted_state("intercept_").network.intercepts[0]


class GDRegressor(_LinearModel, GDRegressorBase):
    __doc__ = f"""Linear regression trained by gradient descent, training on record.

    Full batch, mini-batch or per-sample updates (by ``batch_size``) on dense or
    CSR sparse data, one or several outputs. Every fit records its loss per epoch
    in ``history_``, reports why it stopped in ``stop_reason_``, and never leaves
    non-finite parameters when it diverges.

    Parameters
    ----------
    loss : "squared_error" or loss object, default="squared_error"
        The loss: half the squared error, or an object with ``loss(y, raw)`` and
        ``gradient(y, raw)`` (see :mod:`skfit.losses`).
    {_SHARED_PARAMETERS_DOC}
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        The weights.
    intercept_ : ndarray of shape (n_outputs,)
        The biases.
    {_FITTED_ATTRIBUTES_DOC}
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
    >>> est = GDRegressor(learning_rate=0.1, random_state=0).fit(X, y)
    >>> est.stop_reason_
    'tol'
    >>> round(est.score(X, y), 3)
    1.0
    """

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="adam",
        learning_rate=0.01,
        schedule="constant",
        batch_size=32,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=5,
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
    loss : "log_loss" or loss object, default="log_loss"
        The loss: the logistic / multinomial log-loss, or an object with
        ``loss(y, raw)`` and ``gradient(y, raw)`` taking indicator-encoded targets
        (see :mod:`skfit.losses`).
    {_SHARED_PARAMETERS_DOC}
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights; "balanced" uses
        ``n_samples / (n_classes * np.bincount(y))``. Not available in ``partial_fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights: one row for a binary problem, one per class otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The biases.
    {_FITTED_ATTRIBUTES_DOC}
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
    """

    def __init__(
        self,
        loss="log_loss",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="adam",
        learning_rate=0.01,
        schedule="constant",
        batch_size=32,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=5,
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
