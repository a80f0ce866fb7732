"""The scikit-learn face shared by every skfit estimator.

:class:`BaseGD` validates hyperparameters and data, builds the training state and
data for the engine, runs it, and turns its outcome into fitted attributes. The
regression and classification faces are in :mod:`skfit._estimator_types`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._tags import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from ._engine import train
from ._penalties import Penalty
from ._sklearn_compat import (
    CallbackSupportMixin,
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ._state import TrainingConfig, TrainingData, TrainingState
from .callbacks import EpochLogger, ProgressBar, SklearnCallbackBridge
from .losses import check_loss
from .optimizers import _OPTIMIZERS, check_optimizer
from .schedules import _SCHEDULES, check_schedule
from .spikes import SpikeDetector

#: The share held out for validation when early_stopping is on and
#: validation_fraction is None.
DEFAULT_VALIDATION_FRACTION = 0.1

_L1_RATIOS = {"l2": 0.0, "l1": 1.0}
_CONVERGED_REASONS = ("tol", "loss_threshold", "early_stopping")


class BaseGD(CallbackSupportMixin, BaseEstimator):
    """Base class of skfit's estimators; not for direct use."""

    _parameter_constraints = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
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
            Non-negative weights of the samples; None weighs all equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
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
                self._check_continuation(state, Y)
            else:
                rng = check_random_state(self.random_state)
                state = self._new_state(X.shape[1], Y.shape[1], X.dtype, rng)
            rng = state.random_state
            state.loss = self._loss_object()
            self._state = state
            data = self._training_data(X, y, Y, sample_weight, rng, incremental)
            config = self._training_config(rng, incremental, state)
            config.callbacks += SklearnCallbackBridge.for_estimator(self, X, y, config)
            outcome = train(state, data, config, self)
        except KeyboardInterrupt as interrupt:
            outcome = getattr(interrupt, "outcome", None)
            if outcome is None:  # interrupted before training began
                self._undo(saved, None)
            else:
                self._set_outcome(outcome)
            raise
        except Exception:
            # Nothing is fitted half-way: a refused or failed call leaves the
            # estimator as it was.
            self._undo(saved, checkpoint)
            raise
        self._set_outcome(outcome)
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
        self.converged_ = outcome.stop_reason in _CONVERGED_REASONS
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
            multi_output=is_regressor,
            y_numeric=is_regressor,
        )
        if continuing:
            # Keep the dtype of the parameters that training continues from.
            X = X.astype(self._state.network.dtype, copy=False)
        Y = self._encode_targets(
            y, X.dtype, reset=not continuing, incremental=incremental, classes=classes
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        sample_weight = self._weigh_targets(y, sample_weight, X.dtype, incremental)
        if sample_weight is not None and not sample_weight.sum() > 0:
            raise ValueError("The sample weights sum to zero: there is nothing to fit.")
        return X, y, Y, sample_weight

    def _weigh_targets(self, y, sample_weight, dtype, incremental):
        """Sample weights combined with any per-target weights (class_weight)."""
        return sample_weight

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
            random_state=rng,
        )

    def _check_continuation(self, state, Y):
        n_outputs = state.network.layer_sizes[-1]
        if Y.shape[1] != n_outputs:
            raise ValueError(
                f"y has {Y.shape[1]} output columns, but {type(self).__name__} was "
                f"fitted with {n_outputs}; fit without warm_start to start afresh."
            )
        expected = self._make_network(state.network.layer_sizes[0], n_outputs)
        if expected.layer_sizes != state.network.layer_sizes:
            raise ValueError(
                f"The architecture changed from {state.network.layer_sizes} to "
                f"{expected.layer_sizes}; fit without warm_start to start afresh."
            )

    def _training_data(self, X, y, Y, sample_weight, rng, incremental):
        data = TrainingData(X=X, Y=Y, sample_weight=sample_weight)
        fraction = self.validation_fraction
        if self.early_stopping and fraction is None:
            fraction = DEFAULT_VALIDATION_FRACTION
        if incremental or fraction is None:
            return data
        train_rows, val_rows = train_test_split(
            np.arange(X.shape[0]),
            test_size=fraction,
            random_state=rng,
            stratify=self._stratify(y),
        )
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

    def _loss_object(self):
        return check_loss(self.loss)

    def _fitted_loss(self):
        """The loss object of the last fit (its link maps raw outputs to
        predictions); the ``loss`` parameter's before the first fit."""
        state = self.__dict__.get("_state")
        return self._loss_object() if state is None else state.loss

    def _training_config(self, rng, incremental, state):
        penalty = self.penalty
        l1_ratio = _L1_RATIOS.get(penalty, self.l1_ratio)
        decoupled = getattr(state.optimizer, "decoupled_weight_decay", False)
        callbacks = list(self.callbacks or [])
        if self.verbose == 1:
            callbacks.append(ProgressBar())
        elif self.verbose >= 2:
            callbacks.append(EpochLogger())
        return TrainingConfig(
            loss=state.loss,
            penalty=Penalty(
                0.0 if penalty is None else self.alpha, l1_ratio, decoupled=decoupled
            ),
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            max_epochs=1 if incremental else self.max_epochs,
            tol=None if incremental else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            loss_threshold=None if incremental else self.loss_threshold,
            early_stopping=self.early_stopping and not incremental,
            shuffle=self.shuffle,
            spike_policy=self.spike_policy,
            spike_threshold=self.spike_threshold,
            callbacks=callbacks,
            random_state=rng,
            warn_at_max_epochs=not incremental,
        )

    # ------------------------------------------------------------ prediction
    def _raw(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=[np.float64, np.float32]
        )
        network = self._state.network
        return network.predict_raw(X.astype(network.dtype, copy=False))

    def _score_raw(self, raw, y, sample_weight):
        """The estimator's ``score`` computed from raw outputs."""
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
