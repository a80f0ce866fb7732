"""The learning-rate range test behind :func:`skfit.find_learning_rate`.

A clone of the estimator trains from fresh parameters while its learning rate grows
exponentially, by the same factor at every update, from ``start`` to ``end`` over
``num`` updates (one per batch). The loss of each batch is recorded; the test stops
early once the smoothed loss diverges. The suggestion is read off the smoothed curve
(see :func:`find_learning_rate`).
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from .._base import BaseGD
from ..callbacks import Callback
from ..spikes import LossSpikeWarning

__all__ = ["LearningRateFinder", "find_learning_rate"]

#: The test stops once the running (exponentially weighted) batch loss exceeds this
#: multiple of its lowest value so far, or a batch loss is not finite...
DIVERGENCE_FACTOR = 4.0
#: ...the running loss weighing the previous value by this factor.
RUNNING_LOSS_DECAY = 0.9
#: The suggestion is where the smoothed loss has made this share of its fall from
#: its starting level to its minimum.
DESCENT_SHARE = 0.5
#: A fall of the smoothed loss smaller than this many times its noise (the standard
#: deviation of the batch losses around it, over the square root of the window) is
#: too small to read a suggestion from.
MIN_FALL_IN_NOISE = 4.0


@dataclass(frozen=True, repr=False)
class LearningRateFinder:
    """The outcome of a learning-rate range test (see :func:`find_learning_rate`).

    Attributes
    ----------
    learning_rates : ndarray of shape (n_steps,)
        The learning rate of each update, growing exponentially.
    losses : ndarray of shape (n_steps,)
        ``losses[i]`` is the loss of the batch that followed the update made at
        ``learning_rates[i]``: the loss that rate led to.
    smoothed_losses : ndarray of shape (n_steps,)
        ``losses`` smoothed by a centred moving average (no lag).
    suggestion : float
        The suggested ``learning_rate``.
    suggestion_index : int
        The position of ``suggestion`` in ``learning_rates``.
    stop_reason : {"diverged", "completed"}
        Whether the test stopped because the loss diverged, or ran all ``num`` updates.
    estimator_name : str
        The name of the estimator tested.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestion: float
    suggestion_index: int
    stop_reason: str
    estimator_name: str = field(default="")

    def plot(self, ax=None, **kwargs):
        """Draw the loss against the learning rate, the suggestion marked.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **kwargs : dict
            Passed to :meth:`skfit.plotting.LearningRateFinderDisplay.plot`.

        Returns
        -------
        display : skfit.plotting.LearningRateFinderDisplay
        """
        # The one call up into the display layer, made when a plot is asked for.
        from ._finder_display import LearningRateFinderDisplay

        return LearningRateFinderDisplay.from_result(self, ax=ax, **kwargs)

    def __repr__(self):
        return (
            f"LearningRateFinder(suggestion={self.suggestion:.3g}, "
            f"steps={len(self.learning_rates)}, stop_reason={self.stop_reason!r})"
        )


class _ExponentialRamp:
    """The schedule of the test: multiplier ``(end / start) ** (t / (num - 1))``."""

    def __init__(self, ratio, num):
        self.ratio = ratio
        self.num = num

    def __call__(self, t):
        return self.ratio ** (min(t, self.num - 1) / (self.num - 1))


class _BatchLossRecorder(Callback):
    """Records batch losses and stops training once the test is over."""

    def __init__(self, n_losses=101):
        self.n_losses = n_losses

    def on_train_begin(self, estimator):
        self.losses_ = []
        self.diverged_ = False
        self._running = 0.0
        self._lowest = math.inf

    def _over(self):
        return self.diverged_ or len(self.losses_) >= self.n_losses

    def on_batch_end(self, estimator, batch_record):
        if self._over():
            return
        loss = float(batch_record["loss"])
        self.losses_.append(loss)
        if not math.isfinite(loss):
            self.diverged_ = True
            return
        n = len(self.losses_)
        self._running = (
            RUNNING_LOSS_DECAY * self._running + (1 - RUNNING_LOSS_DECAY) * loss
        )
        running = self._running / (1 - RUNNING_LOSS_DECAY**n)
        self._lowest = min(self._lowest, running)
        if running > DIVERGENCE_FACTOR * self._lowest:
            self.diverged_ = True

    def on_epoch_end(self, estimator, record):
        return self._over()


def _centred_average(values, half_width):
    """Mean over ``values[i - half_width : i + half_width + 1]``, cut at the ends."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    positions = np.arange(len(values))
    low = np.maximum(positions - half_width, 0)
    high = np.minimum(positions + half_width + 1, len(values))
    return (sums[high] - sums[low]) / (high - low)


def _split_pipeline(estimator):
    """The steps before the final estimator (or None) and the final estimator."""
    steps = getattr(estimator, "steps", None)
    if steps is None:
        return None, estimator
    head = estimator[:-1] if len(steps) > 1 else None
    return head, steps[-1][1]


def find_learning_rate(
    estimator, X, y, *, start=1e-6, end=10.0, num=100, random_state=None
):
    """Run a learning-rate range test and suggest a ``learning_rate``.

    A clone of ``estimator`` trains from fresh parameters, with its own optimizer
    and batch size, while the learning rate grows exponentially from ``start`` to
    ``end`` over ``num`` updates, one per batch. The loss of every batch is
    recorded. The test stops early once the running batch loss (exponentially
    weighted, decay 0.9) exceeds 4 times its lowest value, or a loss is not finite.
    The estimator passed in is left untouched.

    The suggestion rule: smooth the losses with a centred moving average over
    ``2 * max(2, num // 20) + 1`` updates (11 for ``num=100``); take its starting
    level (the mean raw loss of the first tenth of the test) and its minimum; the
    suggestion is the first learning rate at which the smoothed loss has fallen
    halfway from the starting level to the minimum. That is the middle of the
    descent, where the loss falls fastest on the usual S-shaped curve: a robust
    reading of "the steepest descent", whose derivative batch noise makes
    unreliable. It lies below the rate of the minimum, where training starts to
    become unstable.

    Parameters
    ----------
    estimator : skfit estimator or Pipeline ending in one
        The estimator to test. In a pipeline, the steps before the last are fitted
        on ``(X, y)`` and the test runs on the transformed data.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data (standardised features make the test meaningful).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    start : float, default=1e-6
        The learning rate of the first update.
    end : float, default=10.0
        The learning rate of the last update.
    num : int, default=100
        The number of updates (batches); at least 10.
    random_state : int, RandomState instance or None, default=None
        Seeds the clone's shuffling; None keeps the estimator's ``random_state``.

    Returns
    -------
    result : LearningRateFinder
        With ``learning_rates``, ``losses``, ``smoothed_losses``, ``suggestion`` and
        ``plot(ax=None)``.

    Warns
    -----
    UserWarning
        When the smoothed loss hardly fell during the test (by less than 4 times
        its noise: the standard deviation of the batch losses around it over the
        square root of the window) or the test diverged within 10 updates: the
        suggestion is then unreliable; widening ``start``/``end`` or raising ``num``
        helps.

    See Also
    --------
    skfit.plotting.LearningRateFinderDisplay : Plots the result.
    skfit.diagnose : Diagnoses over- and underfitting.

    Notes
    -----
    The range test is Leslie Smith's (2017). The suggestion is for the estimator's
    optimizer and batch size; a schedule set on the estimator is replaced during
    the test.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfit import GDClassifier, find_learning_rate
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> result = find_learning_rate(GDClassifier(random_state=0), X, y)
    >>> len(result.learning_rates), len(result.losses)
    (100, 100)
    >>> 1e-3 < result.suggestion < 1.0
    True
    >>> model = GDClassifier(learning_rate=result.suggestion, random_state=0)
    >>> model.fit(X, y).stop_reason_
    'tol'
    """
    if not 0 < start < end:
        raise ValueError(f"Need 0 < start < end, got start={start!r}, end={end!r}.")
    if num < 10:
        raise ValueError(f"num must be at least 10, got {num!r}.")
    num = int(num)
    head, final = _split_pipeline(estimator)
    if not isinstance(final, BaseGD):
        raise TypeError(
            "find_learning_rate needs a skfit estimator (or a Pipeline ending in "
            f"one), got {type(final).__name__}."
        )
    if head is not None:
        X = clone(head).fit_transform(X, y)
    model = clone(final)
    recorder = _BatchLossRecorder(n_losses=num + 1)
    n_samples = len(y)
    n_batches = math.ceil(n_samples / min(model.batch_size or n_samples, n_samples))
    params = {
        "learning_rate": start,
        "schedule": _ExponentialRamp(end / start, num),
        "max_epochs": math.ceil((num + 1) / n_batches),
        "tol": None,
        "loss_threshold": None,
        "early_stopping": False,
        "validation_fraction": None,
        "spike_policy": "ignore",
        "warm_start": False,
        "callbacks": [recorder],
        "verbose": 0,
    }
    if random_state is not None:
        params["random_state"] = random_state
    model.set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", LossSpikeWarning)
        model.fit(X, y)

    # The loss of batch k follows the k updates made at the rates of steps 0..k-1.
    recorded = np.asarray(recorder.losses_, dtype=float)
    losses = recorded[1:]
    rates = start * (end / start) ** (np.arange(len(losses)) / (num - 1))
    finite = np.isfinite(losses)
    if not finite.all():
        cut = int(np.argmin(finite))
        losses, rates = losses[:cut], rates[:cut]
    stop_reason = "diverged" if recorder.diverged_ else "completed"
    if len(losses) < 10:
        warnings.warn(
            f"The loss diverged within {len(losses)} updates of the range test: "
            f"start={start:g} is already too large; lower it.",
            UserWarning,
            stacklevel=2,
        )
        if len(losses) == 0:
            return LearningRateFinder(
                rates, losses, losses, start, 0, stop_reason, type(final).__name__
            )
    half_width = max(2, num // 20)
    smoothed = _centred_average(losses, half_width)
    index = _suggestion_index(losses, smoothed, half_width)
    return LearningRateFinder(
        learning_rates=rates,
        losses=losses,
        smoothed_losses=smoothed,
        suggestion=float(rates[index]),
        suggestion_index=index,
        stop_reason=stop_reason,
        estimator_name=type(final).__name__,
    )


def _suggestion_index(losses, smoothed, half_width):
    """Where the smoothed loss has made DESCENT_SHARE of its fall to its minimum."""
    skip = min(half_width, len(losses) - 1)
    lowest = skip + int(np.argmin(smoothed[skip:]))
    starting_level = float(np.mean(losses[: max(3, len(losses) // 10)]))
    fall = starting_level - smoothed[lowest]
    # The noise before the minimum, not that of the divergence after it.
    before = slice(0, max(lowest + 1, 2 * half_width + 1))
    noise = np.std((losses - smoothed)[before]) / np.sqrt(2 * half_width + 1)
    if not fall > MIN_FALL_IN_NOISE * noise:
        warnings.warn(
            f"The smoothed loss fell by only {fall:.3g} during the range test, "
            f"less than {MIN_FALL_IN_NOISE:g} times its noise ({noise:.3g}): it hardly "
            "fell, so the suggestion is unreliable. Widen start and end, or raise num.",
            UserWarning,
            stacklevel=3,
        )
    level = starting_level - DESCENT_SHARE * fall
    return int(np.argmax(smoothed[: lowest + 1] <= level))
