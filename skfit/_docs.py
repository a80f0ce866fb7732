"""Docstring sections shared by every estimator, so that each is written once."""

_TRAINING_PARAMETERS = """
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The weight penalty. "l2" is ``l1_ratio=0``, "l1" is ``l1_ratio=1``,
        "elasticnet" uses ``l1_ratio``; None disables it. Biases are not penalised.
{alpha}    l1_ratio : float, default=0.15
        The l1 share of the elastic-net penalty, in [0, 1].
{fit_intercept}    optimizer : str or optimizer object, default="adam"
        The update rule: "sgd", "momentum", "nesterov", "adagrad", "rmsprop",
        "adam" or "adamw" (see :mod:`skfit.optimizers` for each one's formula and
        defaults), or an object with ``init`` and ``update``. Adam is the default
        because its per-coordinate step sizes cope with unscaled features.
        "adamw" applies the l2 part of the penalty as a decoupled weight decay,
        ``w -= rate * alpha * (1 - l1_ratio) * w``.
    learning_rate : float, default={learning_rate}
        The initial step size; the rate of update ``t`` is
        ``learning_rate * schedule(t)``.
    schedule : str, schedule object or callable, default="{schedule}"
        The learning-rate schedule: "constant", "invscaling", "step",
        "exponential", "cosine", "onecycle" or "plateau", or a callable
        ``t -> multiplier`` of the rate, ``t`` counting the updates applied
        before (see :mod:`skfit.schedules`; "cosine" and "onecycle" span
        ``max_epochs`` epochs, "plateau" lowers the rate when the epoch loss, or
        the validation loss, stalls).{schedule_note}
    batch_size : int or None, default={batch_size}
        Samples per gradient update; None for full-batch gradient descent, 1 for
        per-sample updates. Larger than the data means full batch.
    max_epochs : int, default=200
        The most epochs one ``fit`` call runs; reaching it warns with a
        ``ConvergenceWarning``.
    tol : float or None, default={tol}
        Training stops with ``stop_reason_='tol'`` when the epoch loss has not
        improved on the best by more than ``tol`` for ``n_iter_no_change`` epochs
        (absolute, as in scikit-learn). None disables the rule. Regressors whose
        loss scales with the target (all but "poisson" and loss objects) train in
        standardised units of it and judge ``tol`` there: in the units of the
        recorded losses it is ``tol * s**2`` (``tol * s`` for "absolute_error" and
        "epsilon_insensitive"), ``s`` the target's spread, so that one ``tol``
        suits targets of every scale. (An absolute ``tol`` in the target's units
        stops a target of standard deviation 0.01, whose losses are about 1e-4, as
        soon as ``n_iter_no_change`` epochs have passed.)
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without improvement before ``tol`` or ``early_stopping`` stop.
{finish}    loss_threshold : float or None, default=None
        Stop (``stop_reason_='loss_threshold'``) once the epoch loss is at or below it.
    early_stopping : bool, default=False
        Hold out a validation share and stop when its loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, restoring the best parameters.
    validation_fraction : float or None, default=None
        The share held out for validation (stratified for classifiers); every epoch
        then records ``val_loss`` and ``val_score``. With ``early_stopping`` and
        None, 0.1 is held out. Data too small to leave both shares 2 rows (and,
        stratified, a row of each class) is refused.
    spike_policy : {"ignore", "warn", "skip", "rollback", "raise"}, default="warn"
        What a loss spike (see ``spike_threshold``) does: a batch whose loss spiked,
        or that held a culprit row, whose own loss stood out. Every spike is
        recorded in ``spikes_`` and counted in ``history_``; "warn" adds one
        ``LossSpikeWarning``
        per call; "skip" withholds the batch's update; "rollback" restores the
        parameters and optimizer state of the last epoch without spikes and halves
        the learning rate; "raise" raises ``LossSpikeError``. Repeated spikes under
        "skip" or "rollback" stop training with ``stop_reason_='spike'``. A batch with
        a non-finite loss or gradient is never applied, whatever the policy.
    spike_threshold : float, default=6.0
        How many running spreads above a running baseline make a spike, for both checks
        (see :mod:`skfit.spikes`). A batch loss (without the penalty) is a spike when
        its logarithm exceeds the running mean of recent batch log-losses by more than
        this many running standard deviations (exponentially weighted, after a warm-up
        of 20 batches) and, once rows are judged, so does the mean loss of its other
        rows (without its largest, raised by that row's usual log share): a rise that
        one row makes is the row check's. A row is a culprit when its deviation (its
        residual, or minus its margin, read off its loss) exceeds the running median of
        recent rows' deviations by more than this many running spreads (the distance
        from that median to the running 98th percentile, at least 2.5 units of margin
        for classification losses, after a warm-up of 20 batches and 640 rows); or when
        its deviation exceeds that median by more than 0.15 spreads and its features'
        norm exceeds the median norm of the training rows (averaged over ``partial_fit``
        and ``warm_start`` calls by their rows) by more than this many spreads of the
        norms (median to 98th percentile, at least half the median). The default stays
        quiet on the ordinary noise of clean data, batches of 16 rows or more, and the
        hard rows of classification, unless the features have long tails (see
        :mod:`skfit.spikes`).
    shuffle : bool, default=True
        Whether to reshuffle the training rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds shuffling and the validation split; an int makes fits repeatable.
    warm_start : bool, default=False
        Whether ``fit`` continues from the previous parameters and optimizer state.
        Hyperparameters changed since take effect (an ``optimizer`` of another
        kind starts from a fresh state; a changed ``schedule`` starts anew), except
        those that shape the parameters (``hidden_layer_sizes``, ``fit_intercept``):
        changing them is an error.
    callbacks : list of Callback or None, default=None
        Objects called during training (see :mod:`skfit.callbacks`); they are used
        as given and never modified.
    verbose : int, default=0
        0 is silent, 1 shows a progress bar, 2 prints one line per epoch.
"""

_FIT_INTERCEPT = """    fit_intercept : bool, default=True
        Whether to learn a bias.
"""

#: The fitted attributes that every estimator has.
FITTED_ATTRIBUTES = """
    history_ : History
        One record per epoch since the parameters were initialised. Its losses
        (and ``loss_curve_``, ``best_loss_``, the spikes' losses) are the
        documented objective in the target's units, also where a regressor
        trains in standardised units of the target.
    loss_curve_ : list of float
        The training loss per epoch.
    n_epochs_ : int
        Epochs run since initialisation, ``len(history_)``.
    n_iter_ : int
        The same as ``n_epochs_``, under scikit-learn's name.
    t_ : int
        Updates applied since initialisation: the optimizer's steps, and for the
        linear models the quasi-Newton steps of the finish (one per epoch), which
        the optimizer's own step count (Adam's bias correction, say) leaves out.
    stop_reason_ : str
        The stopping rule that ended the last call: 'max_epochs', 'tol',
        'loss_threshold', 'early_stopping', 'diverged', 'spike', 'callback' or
        'interrupted'.
    converged_ : bool
        Whether the rule that stopped the last call means the optimum is near:
        'loss_threshold' and 'early_stopping' always; 'tol' when it stopped the
        quasi-Newton finish (see ``finish``), in full-batch training, or once the
        schedule had lowered the rate (at a constant rate, mini-batch updates
        hover above the optimum, where the tolerance may fire).
    best_epoch_ : int
        The epoch with the lowest monitored loss in the last call (the validation
        loss under early stopping, else the training loss); its parameters are
        restored after early stopping and divergence.
    best_loss_ : float
        The monitored loss at ``best_epoch_``.
    alpha_ : float
        The penalty strength of the last call: ``alpha``, or with "auto" one over
        the total sample weight of the rows it trained on (1e-4 in
        ``partial_fit``).
    spikes_ : list of Spike
        Batches whose loss spiked or that held culprit rows, with the rows they
        name (the culprits first, see :func:`skfit.suspect_rows`).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
"""


#: Why the linear models' schedule and tol defaults are what they are.
_LINEAR_SCHEDULE_NOTE = """
        The linear models' default, "plateau" with ``tol=1e-5``, reaches the
        optimum where a constant rate stalls: Adam's steps stay about
        ``learning_rate`` in size, so at a constant 0.01 training hovers at a
        noise floor (25% above the optimal objective of a 200,000 x 100
        regression, 5% above that of a 100,000 x 100 classification, measured by
        ``benchmarks/settings.py``), while "plateau" divides the rate by 10 each
        time the epoch loss stalls and came within 0.1% after 17 and 12 epochs."""


_LINEAR_ALPHA = """    alpha : float or "auto", default="auto"
        Penalty strength: the objective adds
        ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)``. "auto" is
        one over the training rows' total sample weight (``1 / n_samples``
        unweighted), which makes the default objective that of scikit-learn's
        ``Ridge()`` and ``LogisticRegression()`` (whose penalty does not shrink
        with the rows' count either), so the defaults generalise as theirs do;
        ``alpha_`` holds the strength used. The weights' total then matters, not
        only their ratios, as in those estimators. ``partial_fit``, which sees
        one block of the data at a time, takes 1e-4 for "auto" (scikit-learn's
        ``SGDClassifier`` default), the same for every block.
"""

_NETWORK_ALPHA = """    alpha : float or "auto", default=1e-4
        Penalty strength: the objective adds
        ``alpha * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * |W|_2^2)`` over the
        weights of every layer. "auto" is one over the training rows' total
        sample weight (1e-4 in ``partial_fit``); ``alpha_`` holds the strength
        used.
"""

_FINISH = """    finish : {"lbfgs"} or None, default="lbfgs"
        How training ends on a convex problem with a smooth objective (a loss
        with a continuous gradient: "squared_error", "huber", "poisson",
        "log_loss", "squared_hinge", "modified_huber"; no l1 part; more rows than
        features): once the tolerance rule fires, or when half of ``max_epochs``
        is left (unless the schedule spans them: "cosine", "onecycle"), each
        further epoch is one L-BFGS step on the full batch, until a full step
        gains, and its model predicts, less than 1e-7 of the objective
        (``stop_reason_='tol'``, ``converged_`` True). ``tol`` judges when
        mini-batch training stalls; the finish stops by this rule. Mini-batch
        updates reach the neighbourhood of the optimum fast but stall short of
        it; the finish reaches it to within 0.01%, in 3 to 60 epochs on
        scikit-learn's bundled datasets with standardised features (unscaled, 7
        to 700). None trains with ``optimizer`` alone to the end. Not with
        ``tol=None``, ``early_stopping`` or user-defined loss classes.
"""


def training_parameters(
    *, learning_rate, batch_size, n_iter_no_change, schedule, tol, linear
):
    """The numpydoc entries of the shared hyperparameters, with these defaults."""
    values = {
        "{learning_rate}": str(learning_rate),
        "{batch_size}": str(batch_size),
        "{n_iter_no_change}": str(n_iter_no_change),
        "{schedule}": schedule,
        "{schedule_note}": _LINEAR_SCHEDULE_NOTE if linear else "",
        "{tol}": str(tol),
        "{fit_intercept}": _FIT_INTERCEPT if linear else "",
        "{finish}": _FINISH if linear else "",
        "{alpha}": _LINEAR_ALPHA if linear else _NETWORK_ALPHA,
    }
    # str.format would trip over the braces of the option sets in the text.
    text = _TRAINING_PARAMETERS
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


REGRESSION_LOSS = """    loss : str or loss object, default="squared_error"
        The loss (see :mod:`skfit.losses`): "squared_error" (half the squared
        error), "absolute_error", "huber", "epsilon_insensitive" (of support vector
        regression) or "poisson" (half the Poisson deviance with a log link, for
        ``y >= 0``); or an object with ``loss(y, raw)`` and ``gradient(y, raw)``.
    epsilon : float, default=0.1
        The width of the "huber" and "epsilon_insensitive" losses (ignored by the
        others), as in scikit-learn's ``SGDRegressor``."""

CLASSIFICATION_LOSS = """    loss : str or loss object, default="log_loss"
        The loss (see :mod:`skfit.losses`): "log_loss", multinomial (softmax) over
        all classes; or the margin losses "hinge", "squared_hinge" and
        "modified_huber", one-vs-rest with one output column per class, in one
        joint fit. ``predict_proba`` exists for "log_loss" and "modified_huber". A
        loss object takes indicator-encoded targets."""
