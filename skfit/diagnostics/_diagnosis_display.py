"""DiagnosisDisplay: the learning curve behind a diagnosis."""

import numpy as np

from ._diagnosis import diagnose
from ._plot_utils import _axes, _check_matplotlib


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
