"""LossCurveDisplay: training and validation loss per epoch."""

import numpy as np

from .._history_repr import wants_log_scale
from ._pipeline import fitted_model
from ._plot_utils import _axes, _integer_ticks


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
    row_spike_epochs : array-like of int, default=None
        Epochs in which a spike named culprit rows, whose own loss stood out
        (see :func:`skfit.suspect_rows`).
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
        "loss", and when drawn "val_loss", "learning_rate", "spikes" (the markers),
        "row_spikes" (the rings) and "best_epoch" (the vertical line).
    spike_markers_ : matplotlib Line2D or None
        The spike markers, one per spiking epoch, on the training-loss curve.
    row_spike_markers_ : matplotlib Line2D or None
        Rings around the spike markers of the epochs in which spikes named
        culprit rows.
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
        row_spike_epochs=None,
        best_epoch=None,
        estimator_name=None,
    ):
        self.epochs = np.asarray(epochs)
        self.loss = np.asarray(loss, dtype=float)
        self.val_loss = None if val_loss is None else np.asarray(val_loss, dtype=float)
        self.learning_rate = (
            None if learning_rate is None else np.asarray(learning_rate, dtype=float)
        )
        self.spike_epochs = _epochs(spike_epochs)
        self.row_spike_epochs = _epochs(row_spike_epochs)
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
            Spike records to mark besides the epochs the history counts spikes in;
            those that name culprit rows are marked as such.
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
        spikes = spikes or []
        spike_epochs = history["epoch"][history["n_spikes"] > 0].tolist()
        spike_epochs += [spike.epoch for spike in spikes]
        display = cls(
            epochs=history["epoch"],
            loss=history["loss"],
            val_loss=history["val_loss"],
            learning_rate=history["learning_rate"],
            spike_epochs=spike_epochs,
            row_spike_epochs=[spike.epoch for spike in spikes if spike.n_culprits],
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
        model = fitted_model(estimator, "history_", "LossCurveDisplay")
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
            (self.spike_markers_,) = ax.plot(
                self.spike_epochs,
                self._loss_at(self.spike_epochs),
                linestyle="none",
                marker="X",
                markersize=9,
                color="C3",
                label=f"epochs with loss spikes ({self.spike_epochs.size})",
            )
            self.lines_["spikes"] = self.spike_markers_
        self.row_spike_markers_ = None
        if self.row_spike_epochs.size:
            (self.row_spike_markers_,) = ax.plot(
                self.row_spike_epochs,
                self._loss_at(self.row_spike_epochs),
                linestyle="none",
                marker="o",
                markersize=15,
                markerfacecolor="none",
                markeredgewidth=1.6,
                color="C4",
                label=f"epochs with rows flagged ({self.row_spike_epochs.size})",
            )
            self.lines_["row_spikes"] = self.row_spike_markers_
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
            log_scale = wants_log_scale(losses)
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

    def _loss_at(self, epochs):
        """The training loss of each of ``epochs`` (the nearest epoch drawn)."""
        at = np.clip(np.searchsorted(self.epochs, epochs), 0, len(self.epochs) - 1)
        return self.loss[at]


def _epochs(epochs):
    """Distinct epoch numbers, sorted."""
    if epochs is None:
        return np.empty(0, dtype=int)
    return np.unique(np.asarray(epochs, dtype=int))
