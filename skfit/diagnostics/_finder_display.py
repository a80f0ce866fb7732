"""LearningRateFinderDisplay: the loss of a learning-rate range test."""

import numpy as np

from ._plot_utils import _axes, _check_matplotlib
from ._range_test import find_learning_rate


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
