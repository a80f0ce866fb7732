"""Plots of training, in scikit-learn's Display style.

Each display stores its data in ``__init__``, draws in ``plot(ax=None, ...)``, which
returns the display with ``ax_``, ``figure_`` and ``lines_`` (a dict of the
matplotlib artists drawn) set, and computes its data in class methods such as
``from_estimator``. matplotlib is an optional extra, imported only when drawing:
``pip install "skfit[plot]"``.

- :class:`LossCurveDisplay`: training and validation loss per epoch, the spikes and
  the best epoch marked, the learning rate on a second axis.
- :class:`LearningRateFinderDisplay`: the loss against the learning rate of a range
  test (:func:`skfit.find_learning_rate`), its suggestion marked.
- :class:`DiagnosisDisplay`: the learning curve (or loss curves) behind a
  :func:`skfit.diagnose` verdict, the verdict in the title.
"""

import numpy as np

__all__ = ["DiagnosisDisplay", "LearningRateFinderDisplay", "LossCurveDisplay"]

_INSTALL_HINT = 'pip install "skfit[plot]"'


def _check_matplotlib(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{what} needs matplotlib, which is not installed: {_INSTALL_HINT}"
        ) from exc


def _axes(ax, what):
    """``ax``, or the axes of a new pyplot figure."""
    _check_matplotlib(what)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _integer_ticks(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _final_estimator(estimator):
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


class LossCurveDisplay:
    """Training and validation loss per epoch, with spikes, best epoch and rate.

    Prefer :meth:`from_estimator` or :meth:`from_history` to create one.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers, counting from 1.
    loss : ndarray of shape (n_epochs,)
        Training loss per epoch.
    val_loss : ndarray of shape (n_epochs,), default=None
        Validation loss per epoch (NaN where there was none).
    learning_rate : ndarray of shape (n_epochs,), default=None
        Learning rate per epoch.
    spike_epochs : array-like of int, default=None
        Epochs in which a loss spike was seen.
    best_epoch : int, default=None
        The epoch whose parameters were kept.
    estimator_name : str, default=None
        Name used in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    figure_ : matplotlib Figure
        The figure.
    lines_ : dict of str to matplotlib Line2D
        "loss", and when drawn "val_loss", "learning_rate", "spikes" (the markers)
        and "best_epoch" (the vertical line).
    spike_markers_ : matplotlib Line2D or None
        The spike markers, one per spiking epoch, on the training-loss curve.
    best_epoch_line_ : matplotlib Line2D or None
        The vertical line at the best epoch.
    lr_ax_ : matplotlib Axes or None
        The second axis, with the learning rate.

    See Also
    --------
    LearningRateFinderDisplay : The loss against the learning rate.
    DiagnosisDisplay : The learning curve behind a diagnosis.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfit import GDClassifier
    >>> from skfit.plotting import LossCurveDisplay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> est = GDClassifier(early_stopping=True, validation_fraction=0.2, random_state=0)
    >>> model = make_pipeline(StandardScaler(), est).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(model)
    >>> display.lines_["loss"].get_ydata().shape == est.history_["loss"].shape
    True
    >>> display.best_epoch_line_.get_xdata()[0] == est.best_epoch_
    True
    """

    def __init__(
        self,
        *,
        epochs,
        loss,
        val_loss=None,
        learning_rate=None,
        spike_epochs=None,
        best_epoch=None,
        estimator_name=None,
    ):
        self.epochs = np.asarray(epochs)
        self.loss = np.asarray(loss, dtype=float)
        self.val_loss = None if val_loss is None else np.asarray(val_loss, dtype=float)
        self.learning_rate = (
            None if learning_rate is None else np.asarray(learning_rate, dtype=float)
        )
        self.spike_epochs = (
            np.empty(0, dtype=int)
            if spike_epochs is None
            else np.unique(np.asarray(spike_epochs, dtype=int))
        )
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    @classmethod
    def from_history(
        cls, history, *, spikes=None, best_epoch=None, ax=None, name=None, **kwargs
    ):
        """Plot a :class:`~skfit.History`.

        Parameters
        ----------
        history : History
            The record of a fit.
        spikes : list of Spike, default=None
            Spike records to mark besides the epochs the history counts spikes in.
        best_epoch : int, default=None
            The epoch to mark as best.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
        """
        spike_epochs = history["epoch"][history["n_spikes"] > 0].tolist()
        spike_epochs += [spike.epoch for spike in spikes or []]
        display = cls(
            epochs=history["epoch"],
            loss=history["loss"],
            val_loss=history["val_loss"],
            learning_rate=history["learning_rate"],
            spike_epochs=spike_epochs,
            best_epoch=best_epoch,
            estimator_name=name,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the training of a fitted skfit estimator (or pipeline ending in one).

        Parameters
        ----------
        estimator : fitted skfit estimator or Pipeline
            The estimator whose ``history_``, ``spikes_`` and ``best_epoch_`` to plot.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title; None uses the estimator's class name.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
        """
        model = _final_estimator(estimator)
        if not hasattr(type(model), "history_"):
            raise TypeError(
                f"{type(model).__name__} keeps no history_: LossCurveDisplay needs "
                "a skfit estimator."
            )
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model)
        return cls.from_history(
            model.history_,
            spikes=model.spikes_,
            best_epoch=getattr(model, "best_epoch_", None),
            ax=ax,
            name=type(model).__name__ if name is None else name,
            **kwargs,
        )

    def plot(self, ax=None, *, name=None, show_learning_rate=True, log_scale="auto"):
        """Draw the loss curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title; None uses ``estimator_name``.
        show_learning_rate : bool, default=True
            Whether to draw the learning rate on a second y axis.
        log_scale : bool or "auto", default="auto"
            Whether the loss axis is logarithmic; "auto" chooses it when the
            positive losses span more than two orders of magnitude.

        Returns
        -------
        display : LossCurveDisplay
        """
        ax = _axes(ax, "LossCurveDisplay")
        name = self.estimator_name if name is None else name
        self.lines_ = {}
        (self.lines_["loss"],) = ax.plot(
            self.epochs, self.loss, color="C0", label="training loss"
        )
        losses = self.loss[np.isfinite(self.loss)]
        if self.val_loss is not None and np.isfinite(self.val_loss).any():
            (self.lines_["val_loss"],) = ax.plot(
                self.epochs, self.val_loss, color="C1", label="validation loss"
            )
            losses = np.concatenate([losses, self.val_loss[np.isfinite(self.val_loss)]])
        self.spike_markers_ = None
        if self.spike_epochs.size:
            at = np.searchsorted(self.epochs, self.spike_epochs)
            at = np.clip(at, 0, len(self.epochs) - 1)
            (self.spike_markers_,) = ax.plot(
                self.spike_epochs,
                self.loss[at],
                linestyle="none",
                marker="X",
                markersize=9,
                color="C3",
                label=f"epochs with loss spikes ({self.spike_epochs.size})",
            )
            self.lines_["spikes"] = self.spike_markers_
        self.best_epoch_line_ = None
        if self.best_epoch is not None:
            self.best_epoch_line_ = ax.axvline(
                self.best_epoch,
                color="C2",
                linestyle="--",
                linewidth=1.2,
                label=f"best epoch ({self.best_epoch})",
            )
            self.lines_["best_epoch"] = self.best_epoch_line_
        if log_scale == "auto":
            positive = losses[losses > 0]
            log_scale = bool(
                positive.size == losses.size
                and positive.size
                and positive.max() > 100 * positive.min()
            )
        if log_scale:
            ax.set_yscale("log")
        _integer_ticks(ax)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title("Loss per epoch" + (f": {name}" if name else ""))
        handles, labels = ax.get_legend_handles_labels()
        self.lr_ax_ = None
        if show_learning_rate and self.learning_rate is not None:
            self.lr_ax_ = ax.twinx()
            (self.lines_["learning_rate"],) = self.lr_ax_.plot(
                self.epochs,
                self.learning_rate,
                color="0.5",
                linestyle=":",
                label="learning rate",
            )
            rates = self.learning_rate[self.learning_rate > 0]
            if rates.size and rates.max() > 10 * rates.min():
                self.lr_ax_.set_yscale("log")
            elif rates.size and rates.max() < 1.01 * rates.min():
                # A constant rate: a level line halfway up, not a zoomed-in axis.
                self.lr_ax_.set_ylim(0, 2 * rates.max())
            self.lr_ax_.set_ylabel("learning rate", color="0.4")
            self.lr_ax_.tick_params(axis="y", colors="0.4")
            handles.append(self.lines_["learning_rate"])
            labels.append("learning rate")
        ax.legend(handles, labels, loc="best", framealpha=0.9)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class LearningRateFinderDisplay:
    """The loss of a learning-rate range test, against the learning rate.

    Prefer :meth:`from_estimator` or :meth:`from_result` to create one.

    Parameters
    ----------
    learning_rates : ndarray of shape (n_steps,)
        The learning rate of each update.
    losses : ndarray of shape (n_steps,)
        The loss after each update.
    smoothed_losses : ndarray of shape (n_steps,), default=None
        The smoothed losses.
    suggestion : float, default=None
        The suggested learning rate.
    estimator_name : str, default=None
        Name used in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        "loss", and when drawn "smoothed" and "suggestion" (the vertical line).
    suggestion_line_ : matplotlib Line2D or None
        The vertical line at the suggestion.

    See Also
    --------
    skfit.find_learning_rate : Runs the range test.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfit import GDClassifier
    >>> from skfit.plotting import LearningRateFinderDisplay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    >>> display = LearningRateFinderDisplay.from_estimator(model, X, y)
    >>> display.ax_.get_xscale()
    'log'
    """

    def __init__(
        self,
        *,
        learning_rates,
        losses,
        smoothed_losses=None,
        suggestion=None,
        estimator_name=None,
    ):
        self.learning_rates = np.asarray(learning_rates, dtype=float)
        self.losses = np.asarray(losses, dtype=float)
        self.smoothed_losses = (
            None if smoothed_losses is None else np.asarray(smoothed_losses, float)
        )
        self.suggestion = suggestion
        self.estimator_name = estimator_name

    @classmethod
    def from_result(cls, result, *, ax=None, name=None, **kwargs):
        """Plot a :class:`~skfit.LearningRateFinder` result.

        Parameters
        ----------
        result : LearningRateFinder
            The outcome of :func:`skfit.find_learning_rate`.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title; None uses the estimator's.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LearningRateFinderDisplay
        """
        display = cls(
            learning_rates=result.learning_rates,
            losses=result.losses,
            smoothed_losses=result.smoothed_losses,
            suggestion=result.suggestion,
            estimator_name=result.estimator_name if name is None else name,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        start=1e-6,
        end=10.0,
        num=100,
        random_state=None,
        ax=None,
        name=None,
        **kwargs,
    ):
        """Run :func:`skfit.find_learning_rate` and plot its result.

        Parameters
        ----------
        estimator : skfit estimator or Pipeline ending in one
            The estimator to test (left untouched).
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        start, end, num, random_state
            As in :func:`skfit.find_learning_rate`.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LearningRateFinderDisplay
        """
        _check_matplotlib("LearningRateFinderDisplay")
        from ._range_test import find_learning_rate

        result = find_learning_rate(
            estimator, X, y, start=start, end=end, num=num, random_state=random_state
        )
        return cls.from_result(result, ax=ax, name=name, **kwargs)

    def plot(self, ax=None, *, name=None):
        """Draw the range test.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title; None uses ``estimator_name``.

        Returns
        -------
        display : LearningRateFinderDisplay
        """
        ax = _axes(ax, "LearningRateFinderDisplay")
        name = self.estimator_name if name is None else name
        self.lines_ = {}
        (self.lines_["loss"],) = ax.plot(
            self.learning_rates,
            self.losses,
            color="C0",
            alpha=0.35,
            linewidth=1,
            label="batch loss",
        )
        curve = self.losses
        if self.smoothed_losses is not None:
            (self.lines_["smoothed"],) = ax.plot(
                self.learning_rates,
                self.smoothed_losses,
                color="C0",
                linewidth=2,
                label="smoothed loss",
            )
            curve = self.smoothed_losses
        self.suggestion_line_ = None
        if self.suggestion is not None:
            self.suggestion_line_ = ax.axvline(
                self.suggestion,
                color="C3",
                linestyle="--",
                label=f"suggestion: learning_rate={self.suggestion:.3g}",
            )
            self.lines_["suggestion"] = self.suggestion_line_
        ax.set_xscale("log")
        finite = curve[np.isfinite(curve)]
        if finite.size:
            # Show the descent, not the explosion at the end of the test.
            lowest = int(np.argmin(np.where(np.isfinite(curve), curve, np.inf)))
            top = float(
                np.nanmax(np.where(np.isfinite(curve), curve, np.nan)[: lowest + 1])
            )
            bottom = float(finite.min())
            margin = 0.1 * (top - bottom) or 0.1 * abs(top) or 1.0
            ax.set_ylim(bottom - margin, top + 2.5 * margin)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("Learning-rate range test" + (f": {name}" if name else ""))
        ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class DiagnosisDisplay:
    """The learning curve (or loss curves) behind a diagnosis, verdict in the title.

    Prefer :meth:`from_estimator` or :meth:`from_diagnosis` to create one.

    Parameters
    ----------
    diagnosis : Diagnosis
        The outcome of :func:`skfit.diagnose`.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib artist
        From a learning curve: "train" and "validation" (mean scores per training
        size) and "baseline"; from a history: "train" and "validation" (losses per
        epoch), "baseline" and, when the validation loss rose, "rise".

    See Also
    --------
    skfit.diagnose : Makes the diagnosis.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skfit.plotting import DiagnosisDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-3, 3, size=(200, 1))
    >>> y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=200)
    >>> display = DiagnosisDisplay.from_estimator(Ridge(), X, y, cv=3, random_state=0)
    >>> display.ax_.get_title()  # doctest: +ELLIPSIS
    'Ridge: underfitting (gap ...)'
    """

    def __init__(self, diagnosis):
        self.diagnosis = diagnosis

    @classmethod
    def from_diagnosis(cls, diagnosis, *, ax=None, **kwargs):
        """Plot a :class:`~skfit.Diagnosis`.

        Parameters
        ----------
        diagnosis : Diagnosis
            The outcome of :func:`skfit.diagnose`.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : DiagnosisDisplay
        """
        return cls(diagnosis).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X=None, y=None, *, ax=None, **diagnose_params):
        """Diagnose ``estimator`` with :func:`skfit.diagnose` and plot the diagnosis.

        Parameters
        ----------
        estimator : estimator object
            As in :func:`skfit.diagnose`.
        X, y : array-like, default=None
            As in :func:`skfit.diagnose`.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **diagnose_params : dict
            Passed to :func:`skfit.diagnose` (``cv``, ``train_sizes``, ``scoring``,
            ``n_jobs``, ``random_state``).

        Returns
        -------
        display : DiagnosisDisplay
        """
        _check_matplotlib("DiagnosisDisplay")
        from .diagnostics import diagnose

        return cls.from_diagnosis(diagnose(estimator, X, y, **diagnose_params), ax=ax)

    def plot(self, ax=None, *, name=None):
        """Draw the diagnosis.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str, default=None
            Name used in the title; None uses the estimator's.

        Returns
        -------
        display : DiagnosisDisplay
        """
        ax = _axes(ax, "DiagnosisDisplay")
        diagnosis = self.diagnosis
        name = diagnosis.estimator_name if name is None else name
        self.lines_ = {}
        if diagnosis.source == "learning_curve":
            self._plot_learning_curve(ax)
        else:
            self._plot_history(ax)
        ax.set_title(
            (f"{name}: " if name else "") + f"{diagnosis.verdict} "
            f"(gap {diagnosis.gap:.3g})"
        )
        ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _plot_learning_curve(self, ax):
        diagnosis = self.diagnosis
        sizes = diagnosis.train_sizes
        train, validation = diagnosis.train_scores, diagnosis.validation_scores
        baseline, perfect = diagnosis.baseline_score, diagnosis.perfect_score
        # Keep the view on the range from a little below the baseline to perfect: a
        # fold that scores far below the baseline would flatten every curve.
        headroom = perfect - baseline
        means = np.concatenate([train.mean(axis=1), validation.mean(axis=1)])
        low = max(min(baseline, means.min()), baseline - headroom)
        high = max(perfect, means.max())
        margin = 0.05 * (high - low)
        low, high = low - margin, high + margin
        for key, scores, color, label in (
            ("train", train, "C0", "training score"),
            ("validation", validation, "C1", "validation score"),
        ):
            # The band: mean +- one standard deviation of the folds' scores, each
            # clipped to the view.
            clipped = np.clip(scores, low, high)
            mean, std = clipped.mean(axis=1), clipped.std(axis=1)
            ax.fill_between(sizes, mean - std, mean + std, color=color, alpha=0.15)
            (self.lines_[key],) = ax.plot(
                sizes, scores.mean(axis=1), marker="o", color=color, label=label
            )
        self.lines_["baseline"] = ax.axhline(
            baseline, color="0.4", linestyle="--", label="baseline (dummy model)"
        )
        ax.set_ylim(low, high)
        ax.set_xlabel("training rows")
        ax.set_ylabel(f"score ({diagnosis.scoring})")

    def _plot_history(self, ax):
        diagnosis = self.diagnosis
        (self.lines_["train"],) = ax.plot(
            diagnosis.epochs, diagnosis.loss, color="C0", label="training loss"
        )
        (self.lines_["validation"],) = ax.plot(
            diagnosis.epochs, diagnosis.val_loss, color="C1", label="validation loss"
        )
        self.lines_["baseline"] = ax.axhline(
            -diagnosis.baseline_score,
            color="0.4",
            linestyle="--",
            label="baseline loss",
        )
        if diagnosis.rise_epoch is not None:
            self.lines_["rise"] = ax.axvline(
                diagnosis.rise_epoch,
                color="C3",
                linestyle=":",
                label=f"validation loss rises from epoch {diagnosis.rise_epoch}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
