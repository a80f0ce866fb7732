"""The scikit-learn face shared by every skfit estimator.

:class:`BaseGD` validates hyperparameters and data, builds the training state and
data for the engine, runs it, and turns its outcome into fitted attributes. The
regression and classification faces are in :mod:`skfit._estimator_types`.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._tags import get_tags
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._data_checks import (
    check_share_weights,
    check_split_sizes,
    in_dtype,
    usable_weights,
)
from ._history_repr import HistoryReprMixin
from ._sklearn_compat import (
    CallbackSupportMixin,
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ._target_scaling import TargetScaling
from ._training import (
    Penalty,
    RowSpikeDetector,
    TrainingConfig,
    TrainingData,
    TrainingState,
    train,
)
from .callbacks import EpochLogger, ProgressBar, SklearnCallbackBridge, as_callback
from .losses import check_loss
from .optimizers import _OPTIMIZERS, check_optimizer
from .schedules import _SCHEDULES, check_schedule
from .spikes import SpikeDetector

#: The share held out for validation when early_stopping is on and
#: validation_fraction is None.
DEFAULT_VALIDATION_FRACTION = 0.1

_L1_RATIOS = {"l2": 0.0, "l1": 1.0}
#: The attributes _set_outcome sets from the engine's report.
_OUTCOME_ATTRIBUTES = ("stop_reason_", "converged_", "best_epoch_", "best_loss_")
#: The strength of alpha="auto" in partial_fit: scikit-learn's SGD default.
INCREMENTAL_ALPHA = 1e-4


def _same_settings(fresh, current):
    """Whether ``fresh``, built from a hyperparameter, is the plug-in object
    ``current`` was built from: of the same class with the same parameters, or,
    for objects without ``get_params``, the same object."""
    if not hasattr(fresh, "get_params"):
        return fresh is current
    return type(fresh) is type(current) and (
        fresh.get_params(deep=False) == current.get_params(deep=False)
    )


class BaseGD(HistoryReprMixin, CallbackSupportMixin, BaseEstimator):
    """Base class of skfit's estimators; not for direct use."""

    _parameter_constraints = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), HasMethods(["init", "update"])],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "schedule": [StrOptions(set(_SCHEDULES)), callable],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "loss_threshold": [Interval(Real, None, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "spike_policy": [StrOptions({"ignore", "warn", "skip", "rollback", "raise"})],
        "spike_threshold": [Interval(Real, 0, None, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------ fitted state
    def __sklearn_is_fitted__(self):
        return hasattr(self, "_state")

    def _fitted_state(self, name):
        try:
            return self.__dict__["_state"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r} before it is fitted"
            ) from None

    @property
    def history_(self):
        """:class:`~skfit.History`: one record per epoch since initialisation."""
        return self._fitted_state("history_").history

    @property
    def spikes_(self):
        """list of :class:`~skfit.Spike`: the loss spikes seen since initialisation."""
        return self._fitted_state("spikes_").spikes

    @property
    def t_(self):
        """int: gradient updates applied since initialisation."""
        return self._fitted_state("t_").t

    @property
    def n_epochs_(self):
        """int: epochs run since initialisation, ``len(history_)``."""
        return self._fitted_state("n_epochs_").n_epochs

    @property
    def n_iter_(self):
        """int: the scikit-learn name of :attr:`n_epochs_`."""
        return self._fitted_state("n_iter_").n_epochs

    @property
    def loss_curve_(self):
        """list of float: the training loss per epoch (scikit-learn's MLP name)."""
        return self.history_["loss"].tolist()

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)`` for up to ``max_epochs`` epochs.

        Without ``warm_start`` the parameters start afresh; with it, training
        continues from the current parameters and optimizer state and the new
        epochs are appended to ``history_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; CSR matrices are used without densifying.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; None weighs all equally. At a
            numeric ``alpha`` only their ratios matter (``alpha="auto"`` is one
            over their total, as scikit-learn's ``C`` and Ridge's ``alpha``
            weigh them); weights that X's dtype cannot hold (subnormal
            positive weights, a total beyond its range) are refused, as is a
            validation share whose weights are all zero.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        user_weight = sample_weight  # for scikit-learn's callbacks, as given
        saved = dict(self.__dict__)
        state = self.__dict__.get("_state")
        if incremental and state is not None:
            # scikit-learn's fit context validates partial_fit's hyperparameters
            # only on the first call; set_params may have changed them since.
            self._validate_params()
        continuing = state is not None and (incremental or self.warm_start)
        checkpoint = state.checkpoint() if continuing else None
        try:
            X, y, Y, sample_weight = self._validate_training_data(
                X,
                y,
                sample_weight,
                continuing=continuing,
                incremental=incremental,
                classes=classes,
            )
            if continuing:
                self._continue_state(state, Y)
            else:
                rng = check_random_state(self.random_state)
                state = self._new_state(X.shape[1], Y.shape[1], X.dtype, rng)
            rng = state.random_state
            state.loss = self._loss_object()
            self._state = state
            data = self._training_data(X, y, Y, sample_weight, rng, incremental)
            self._set_target_units(state, data, initialising=not continuing)
            self.alpha_ = self._penalty_strength(data, incremental)
            config = self._training_config(rng, incremental, state)
            config.callbacks += SklearnCallbackBridge.for_estimator(
                self, X, y, user_weight, config
            )
            # The previous call's outcome is gone until the engine reports this
            # one's (through config.report_outcome), so no callback reads it.
            for name in _OUTCOME_ATTRIBUTES:
                self.__dict__.pop(name, None)
            train(state, data, config, self)
        except KeyboardInterrupt as interrupt:
            outcome = getattr(interrupt, "outcome", None)
            if outcome is None:  # interrupted before training began
                self._undo(saved, None)
            raise
        except BaseException:
            # Nothing is fitted half-way: a refused or failed call (whatever a
            # callback raised, SystemExit included) leaves the estimator as it was.
            self._undo(saved, checkpoint)
            raise
        return self

    def _undo(self, saved, checkpoint):
        """Return to the attributes ``saved`` and, unless ``checkpoint`` is None,
        their training state to that checkpoint (see TrainingState.rollback)."""
        if checkpoint is not None:
            saved["_state"].rollback(checkpoint)
        self.__dict__.clear()
        self.__dict__.update(saved)

    def _set_outcome(self, outcome):
        self.stop_reason_ = outcome.stop_reason
        self.converged_ = outcome.converged
        self.best_epoch_ = outcome.best_epoch
        self.best_loss_ = outcome.best_loss

    def _validate_training_data(
        self, X, y, sample_weight, *, continuing, incremental, classes
    ):
        is_regressor = get_tags(self).estimator_type == "regressor"
        X, y = validate_data(
            self,
            X,
            y,
            reset=not continuing,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            # One memory layout (a C-ordered X is not copied), so that the same
            # values train to the same bits whatever layout they came in.
            order="C",
            # Classifiers check the kind of their targets when encoding them.
            multi_output=True,
            y_numeric=is_regressor,
        )
        if not is_regressor:
            # As in scikit-learn's MLP: an indicator matrix is used dense, and a
            # column vector is one column of labels (with a DataConversionWarning).
            if sp.issparse(y):
                y = y.toarray()
            elif y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
        if sp.issparse(X) and not X.has_sorted_indices:
            X = X.sorted_indices()
        if continuing:
            # Keep the dtype of the parameters that training continues from.
            X = in_dtype(X, self._state.network.dtype, "X")
        Y = self._encode_targets(
            y, X.dtype, reset=not continuing, incremental=incremental, classes=classes
        )
        if sample_weight is not None:
            # Checked in float64, so that what X's dtype cannot hold is named below
            # rather than cast silently to zero or infinity.
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        weights = self._weigh_targets(y, sample_weight, X.dtype, incremental)
        return X, y, Y, weights

    def _weigh_targets(self, y, sample_weight, dtype, incremental):
        """Sample weights combined with any per-target weights (class_weight), in
        ``dtype``; ``sample_weight`` is float64."""
        if sample_weight is None:
            return None
        return usable_weights(sample_weight, dtype, "sample_weight")

    def _new_state(self, n_features, n_outputs, dtype, rng):
        network = self._make_network(n_features, n_outputs)
        network.initialize(dtype, rng)
        optimizer = check_optimizer(self.optimizer)
        return TrainingState(
            network=network,
            loss=self._loss_object(),
            optimizer=optimizer,
            optimizer_state=optimizer.init([network.flat]),
            schedule=check_schedule(self.schedule),
            spike_detector=SpikeDetector(self.spike_threshold),
            row_detector=RowSpikeDetector(self.spike_threshold),
            random_state=rng,
        )

    def _continue_state(self, state, Y):
        """Check that training can continue from ``state`` and give it the
        hyperparameters changed since it was built.

        What shapes the parameters (the layers' sizes, the output bias) must not
        change. The rest takes its new value: the activation and dropout; an
        optimizer of another kind, with a fresh state (the old one belongs to another
        update rule), or the same kind with new settings, keeping its state; a
        changed schedule, rebuilt from the new parameter.
        """
        network = state.network
        n_outputs = network.layer_sizes[-1]
        if Y.shape[1] != n_outputs:
            raise ValueError(
                f"y has {Y.shape[1]} output columns, but {type(self).__name__} was "
                f"fitted with {n_outputs}; fit without warm_start to start afresh."
            )
        expected = self._make_network(network.layer_sizes[0], n_outputs)
        if expected.layer_sizes != network.layer_sizes:
            raise ValueError(
                f"The architecture changed from {network.layer_sizes} to "
                f"{expected.layer_sizes}; fit without warm_start to start afresh."
            )
        if expected.fit_intercept != network.fit_intercept:
            raise ValueError(
                f"fit_intercept changed from {network.fit_intercept} to "
                f"{expected.fit_intercept}, which changes the parameters to train; "
                "fit without warm_start to start afresh."
            )
        network.activation = expected.activation
        network.dropout = expected.dropout
        optimizer = check_optimizer(self.optimizer)
        if not _same_settings(optimizer, state.optimizer):
            if type(optimizer) is not type(state.optimizer):
                state.optimizer_state = optimizer.init([network.flat])
            state.optimizer = optimizer
        schedule = check_schedule(self.schedule)
        if not _same_settings(schedule, state.schedule):
            state.schedule = schedule

    def _training_data(self, X, y, Y, sample_weight, rng, incremental):
        data = TrainingData(X=X, Y=Y, sample_weight=sample_weight)
        fraction = self.validation_fraction
        if self.early_stopping and fraction is None:
            fraction = DEFAULT_VALIDATION_FRACTION
        if incremental or fraction is None:
            return data
        stratify = self._stratify(y)
        check_split_sizes(X.shape[0], fraction, stratify)
        train_rows, val_rows = train_test_split(
            np.arange(X.shape[0]),
            test_size=fraction,
            random_state=rng,
            stratify=stratify,
        )
        check_share_weights(sample_weight, train_rows, val_rows, fraction)
        data.rows = np.sort(train_rows)
        data.X_val = X[val_rows]
        data.Y_val = Y[val_rows]
        data.y_val = y[val_rows]
        if sample_weight is not None:
            data.sample_weight_val = sample_weight[val_rows]
        data.score = self._score_raw
        return data

    def _stratify(self, y):
        return None

    def _set_target_units(self, state, data, *, initialising):
        """Start the output biases at the loss's optimal constant, and train a loss
        that scales with the target in standardised units of it.

        On initialisation the units are set from the training rows (see
        :mod:`skfit._target_scaling`), or, for the other losses, the output biases
        start at ``loss.optimal_constant``; continuing calls keep the units (a loss
        changed since to one without units gets the parameters converted back).
        ``data`` then holds the targets in those units.
        """
        network, loss = state.network, state.loss
        if initialising:
            Y = data.at_training_rows(data.Y)
            weights = data.train_sample_weight
            state.target_scaling = TargetScaling.for_targets(
                loss, Y, weights, network.fit_intercept
            )
            # Standardised targets' optimal constant is 0, where biases start.
            if state.target_scaling is None and network.fit_intercept:
                network.intercepts[-1][...] = loss.optimal_constant(Y, weights)
        elif state.target_scaling is not None and loss.homogeneity is None:
            state.target_scaling.fold_into(network)
            state.target_scaling = None
        scaling = state.target_scaling
        if scaling is None:
            return
        data.Y = scaling.standardize(data.Y)
        if data.Y_val is not None:
            data.Y_val = scaling.standardize(data.Y_val)
            score = data.score
            data.score = lambda raw, y, weights: score(scaling.to_user(raw), y, weights)

    def _loss_object(self):
        return check_loss(self.loss)

    def _fitted_loss(self):
        """The loss object of the last fit (its link maps raw outputs to
        predictions); the ``loss`` parameter's before the first fit."""
        state = self.__dict__.get("_state")
        return self._loss_object() if state is None else state.loss

    def _penalty_strength(self, data, incremental):
        """``alpha``; "auto" is one over the training rows' total weight, the
        strength of scikit-learn's ``Ridge()`` and ``LogisticRegression()``. A
        ``partial_fit`` call sees a block of data whose share of the whole is
        unknown: there "auto" is :data:`INCREMENTAL_ALPHA`, the same for every
        block, rather than one over the block's weight."""
        if self.alpha != "auto":
            return float(self.alpha)
        if incremental:
            return INCREMENTAL_ALPHA
        weights = data.train_sample_weight
        if weights is None:
            return 1.0 / data.n_train
        return 1.0 / float(weights.sum())

    def _training_config(self, rng, incremental, state):
        penalty = self.penalty
        l1_ratio = _L1_RATIOS.get(penalty, self.l1_ratio)
        decoupled = getattr(state.optimizer, "decoupled_weight_decay", False)
        scaling, loss = state.target_scaling, state.loss
        loss_scale, weight_units = 1.0, 1.0
        if scaling is not None:
            loss_scale = scaling.loss_scale(loss)
            weight_units = scaling.weight_units(state.network)
            loss = loss.rescaled(scaling.scale)
        # tol is judged in the units training runs in (standardised targets).
        tol = None if incremental or self.tol is None else self.tol * loss_scale
        callbacks = [as_callback(callback) for callback in self.callbacks or []]
        if self.verbose == 1:
            callbacks.append(ProgressBar())
        elif self.verbose >= 2:
            callbacks.append(EpochLogger())
        return TrainingConfig(
            loss=loss,
            penalty=Penalty(
                0.0 if penalty is None else self.alpha_,
                l1_ratio,
                decoupled=decoupled,
                weight_units=weight_units,
                loss_scale=loss_scale,
            ),
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            max_epochs=1 if incremental else self.max_epochs,
            tol=tol,
            n_iter_no_change=self.n_iter_no_change,
            loss_threshold=None if incremental else self.loss_threshold,
            early_stopping=self.early_stopping and not incremental,
            shuffle=self.shuffle,
            spike_policy=self.spike_policy,
            spike_threshold=self.spike_threshold,
            callbacks=callbacks,
            random_state=rng,
            # tol=None asks for a fixed number of epochs: reaching it is no failure.
            warn_at_max_epochs=not incremental and self.tol is not None,
            report_outcome=self._set_outcome,
            loss_scale=loss_scale,
            finish=self._finishes(),
        )

    def _finishes(self):
        """Whether a fit may end with quasi-Newton steps (see ``finish``)."""
        return False

    # ------------------------------------------------------------ prediction
    def _raw(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=[np.float64, np.float32]
        )
        network, scaling = self._state.network, self._state.target_scaling
        raw = network.predict_raw(in_dtype(X, network.dtype, "X"))
        return raw if scaling is None else scaling.to_user(raw)

    def _output_layer(self, name):
        """The output layer's weights and biases, in the user's units."""
        state = self._fitted_state(name)
        coef, intercept = state.network.coefs[-1], state.network.intercepts[-1]
        scaling = state.target_scaling
        if scaling is None:
            return coef, intercept
        return scaling.output_coef(coef), scaling.output_intercept(intercept)

    def _score_raw(self, raw, y, sample_weight):
        """The estimator's ``score`` computed from raw outputs."""
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
