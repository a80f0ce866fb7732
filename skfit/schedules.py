"""Learning-rate schedules.

The learning rate used for an update is ``learning_rate * schedule(t)``, where ``t``
is the number of updates applied before it (0 for the first). A schedule is therefore
any callable ``t -> multiplier``; a plain function is accepted as it is. Schedule
objects may also implement two hooks that the engine calls:

- ``start(n_updates)``: the number of updates the ``fit`` call spans
  (``max_epochs`` times the batches per epoch), for schedules that span training;
- ``epoch_end(loss)``: the monitored epoch loss, for schedules that react to it.

Schedules are scikit-learn style objects: their settings are ``__init__``
arguments (``clone`` copies them, a search can tune ``schedule__gamma``); what they
learn during training lives in private attributes set by ``start``.

:class:`InvScaling`, :class:`Step` and :class:`Exponential` are functions of ``t``
alone, so they continue across ``partial_fit`` calls and warm-started fits.
:class:`Cosine` and :class:`OneCycle` span the updates of each call, counted from
the first ``t`` seen after ``start``: a warm-started fit runs a new cycle (a warm
restart). :class:`Plateau` keeps its state across calls, as the optimizer does.
"""

import math
from numbers import Integral, Real

from sklearn.base import BaseEstimator, clone

from ._sklearn_compat import Interval, StrOptions

__all__ = [
    "Constant",
    "Cosine",
    "Exponential",
    "InvScaling",
    "OneCycle",
    "Plateau",
    "Schedule",
    "Step",
    "check_schedule",
]

_POSITIVE = Interval(Real, 0, None, closed="neither")
_FRACTION = Interval(Real, 0, 1, closed="neither")


class Schedule(BaseEstimator):
    """Base class of skfit's schedules: a callable ``t -> rate multiplier``.

    Attributes
    ----------
    spans_training : bool
        Whether the schedule shapes the rate over all the updates of a ``fit``
        call (:class:`Cosine`, :class:`OneCycle`), so that the call should run
        them: the quasi-Newton finish of the linear models then waits for the
        tolerance rule rather than taking over the last half of ``max_epochs``.
    """

    _parameter_constraints: dict = {}
    spans_training = False

    def __call__(self, t):
        raise NotImplementedError

    def start(self, n_updates):
        """Called once per ``fit`` with the number of updates it spans."""

    def epoch_end(self, loss):
        """Called after every epoch with the monitored epoch loss."""


class Constant(Schedule):
    """The initial learning rate throughout: the multiplier is always 1.

    Examples
    --------
    >>> from skfit.schedules import Constant
    >>> Constant()(1000)
    1.0
    """

    def __call__(self, t):
        return 1.0


class InvScaling(Schedule):
    """Inverse scaling: the multiplier is ``1 / (1 + t) ** power_t``.

    scikit-learn's ``SGDRegressor`` uses ``eta0 / t ** power_t`` with its ``t``
    starting at 1 and counting samples; here ``t`` starts at 0 and counts updates,
    so the two agree for per-sample updates (``batch_size=1``) and, with mini-batches,
    the rate decays per batch rather than per sample.

    Parameters
    ----------
    power_t : float, default=0.25
        Exponent of the decay (``SGDRegressor``'s default; its MLP uses 0.5).

    Examples
    --------
    >>> from skfit.schedules import InvScaling
    >>> InvScaling(power_t=0.5)(3)
    0.5
    """

    _parameter_constraints = {"power_t": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, power_t=0.25):
        self.power_t = power_t

    def __call__(self, t):
        return float((1.0 + t) ** -self.power_t)


class Step(Schedule):
    """Step decay: the multiplier is ``gamma ** (t // step_size)``.

    The rate drops by ``gamma`` every ``step_size`` updates (not epochs: an epoch
    is ``ceil(n_samples / batch_size)`` updates).

    Parameters
    ----------
    step_size : int, default=1000
        Updates between drops.
    gamma : float, default=0.1
        Factor of each drop.

    Examples
    --------
    >>> from skfit.schedules import Step
    >>> [Step(step_size=2, gamma=0.5)(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _parameter_constraints = {
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [_POSITIVE],
    }

    def __init__(self, step_size=1000, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma

    def __call__(self, t):
        return _power(self.gamma, t // self.step_size)


class Exponential(Schedule):
    """Exponential decay per update: the multiplier is ``gamma ** t``.

    Parameters
    ----------
    gamma : float, default=0.999
        Factor per update; the rate halves every ``log(0.5) / log(gamma)`` updates
        (693 for the default). A ``gamma`` above 1 grows the rate, as a
        learning-rate range test does.

    Examples
    --------
    >>> from skfit.schedules import Exponential
    >>> Exponential(gamma=0.5)(3)
    0.125
    """

    _parameter_constraints = {"gamma": [_POSITIVE]}

    def __init__(self, gamma=0.999):
        self.gamma = gamma

    def __call__(self, t):
        return _power(self.gamma, t)


def _power(base, exponent):
    """``base ** exponent`` as a float, inf where it overflows (a growing rate)."""
    try:
        return float(base**exponent)
    except OverflowError:
        return math.inf


def _cosine(begin, end, progress):
    """From ``begin`` (progress 0) to ``end`` (progress 1) along half a cosine."""
    return end + (begin - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


class _SpanningSchedule(Schedule):
    """A schedule over the ``n_updates`` of a call: ``progress(t)`` is the share of
    them done, ``(t - t0) / n_updates`` capped at 1, ``t0`` the first ``t`` seen."""

    spans_training = True

    def start(self, n_updates):
        self._n_updates = max(int(n_updates), 1)
        self._t0 = None

    def progress(self, t):
        if not hasattr(self, "_n_updates"):
            raise RuntimeError(
                f"{type(self).__name__} spans the updates of a fit: call "
                "start(n_updates) before asking for a multiplier."
            )
        if self._t0 is None:
            self._t0 = t
        return min(max(t - self._t0, 0) / self._n_updates, 1.0)


class Cosine(_SpanningSchedule):
    """Cosine annealing over the fit, from 1 down to ``min_multiplier``.

    With ``p = s / n_updates`` the share of the fit's updates done (``s`` updates
    since it began), the multiplier is
    ``min_multiplier + (1 - min_multiplier) * (1 + cos(pi * p)) / 2``: 1 for the
    first update, ``min_multiplier`` once all ``n_updates`` are done (Loshchilov
    and Hutter, 2017, without restarts).

    Parameters
    ----------
    min_multiplier : float, default=0.0
        The multiplier at the end of training, in [0, 1].

    Examples
    --------
    >>> from skfit.schedules import Cosine
    >>> schedule = Cosine()
    >>> schedule.start(4)
    >>> [round(schedule(t), 3) for t in range(5)]
    [1.0, 0.854, 0.5, 0.146, 0.0]
    """

    _parameter_constraints = {
        "min_multiplier": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, min_multiplier=0.0):
        self.min_multiplier = min_multiplier

    def __call__(self, t):
        return _cosine(1.0, self.min_multiplier, self.progress(t))


class OneCycle(_SpanningSchedule):
    """The one-cycle policy: warm up to ``learning_rate``, then anneal far below it.

    ``learning_rate`` is the peak. The multiplier rises from ``1 / div_factor``
    to 1 over the first ``pct_start`` of the fit's updates, then falls to
    ``1 / (div_factor * final_div_factor)``, both phases along half a cosine (Smith,
    2018; the defaults and shape of PyTorch's ``OneCycleLR``). With ``p`` the share
    of updates done: for ``p <= pct_start`` the multiplier is
    ``cos_path(1 / div_factor, 1, p / pct_start)``, after it
    ``cos_path(1, 1 / (div_factor * final_div_factor), (p - pct_start) / (1 -
    pct_start))``, where ``cos_path(a, b, q) = b + (a - b) * (1 + cos(pi * q)) / 2``.

    Parameters
    ----------
    pct_start : float, default=0.3
        Share of the updates spent warming up, in (0, 1).
    div_factor : float, default=25.0
        The first multiplier is ``1 / div_factor``.
    final_div_factor : float, default=1e4
        The last multiplier is ``1 / (div_factor * final_div_factor)``.

    Examples
    --------
    >>> from skfit.schedules import OneCycle
    >>> schedule = OneCycle(pct_start=0.5, div_factor=10.0, final_div_factor=1.0)
    >>> schedule.start(4)
    >>> [round(schedule(t), 3) for t in range(5)]
    [0.1, 0.55, 1.0, 0.55, 0.1]
    """

    _parameter_constraints = {
        "pct_start": [_FRACTION],
        "div_factor": [_POSITIVE],
        "final_div_factor": [_POSITIVE],
    }

    def __init__(self, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def __call__(self, t):
        p, warm = self.progress(t), self.pct_start
        initial = 1.0 / self.div_factor
        if p <= warm:
            return _cosine(initial, 1.0, p / warm)
        final = initial / self.final_div_factor
        return _cosine(1.0, final, (p - warm) / (1.0 - warm))


class Plateau(Schedule):
    """Lower the rate when the epoch loss stops improving.

    After every epoch, ``epoch_end(loss)`` compares the loss with the best seen: an
    improvement is ``loss < best * (1 - threshold)`` (``threshold_mode="rel"``, for
    positive losses) or ``loss < best - threshold`` (``"abs"``). After ``patience``
    epochs in a row without one, the multiplier is multiplied by ``factor`` (not
    below ``min_multiplier``) and the count starts again. Under ``early_stopping``
    the engine passes the validation loss.

    The state (best loss, stalled epochs, multiplier) starts with the first fit and
    continues over ``partial_fit`` calls and warm-started fits.

    Parameters
    ----------
    factor : float, default=0.1
        Factor of each reduction, in (0, 1).
    patience : int, default=3
        Epochs without improvement before a reduction. It is below the estimators'
        ``n_iter_no_change`` (5 for the linear models, 10 for the MLPs), so that the
        rate is lowered before the ``tol`` rule stops training; keep it so.
    threshold : float, default=1e-4
        The least improvement that counts, relative or absolute.
    threshold_mode : {"rel", "abs"}, default="rel"
        Whether ``threshold`` is relative to the best loss or absolute.
    min_multiplier : float, default=0.0
        The multiplier never goes below this.

    Examples
    --------
    >>> from skfit.schedules import Plateau
    >>> schedule = Plateau(factor=0.5, patience=2)
    >>> schedule.start(100)
    >>> for loss in [3.0, 2.0, 2.0, 2.0]:
    ...     schedule.epoch_end(loss)
    >>> schedule(40)
    0.5
    """

    _parameter_constraints = {
        "factor": [_FRACTION],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "threshold": [Interval(Real, 0, None, closed="left")],
        "threshold_mode": [StrOptions({"rel", "abs"})],
        "min_multiplier": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        factor=0.1,
        patience=3,
        threshold=1e-4,
        threshold_mode="rel",
        min_multiplier=0.0,
    ):
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.min_multiplier = min_multiplier

    def start(self, n_updates):
        if not hasattr(self, "_multiplier"):  # the first fit; later calls continue
            self._multiplier = 1.0
            self._best = math.inf
            self._stalled = 0

    def __call__(self, t):
        return getattr(self, "_multiplier", 1.0)

    def epoch_end(self, loss):
        self.start(n_updates=None)
        if self.threshold_mode == "rel":
            improved = loss < self._best * (1.0 - self.threshold)
        else:
            improved = loss < self._best - self.threshold
        if improved:
            self._best, self._stalled = loss, 0
            return
        self._stalled += 1
        if self._stalled >= self.patience:
            self._multiplier = max(self._multiplier * self.factor, self.min_multiplier)
            self._stalled = 0


_SCHEDULES = {
    "constant": Constant,
    "invscaling": InvScaling,
    "step": Step,
    "exponential": Exponential,
    "cosine": Cosine,
    "onecycle": OneCycle,
    "plateau": Plateau,
}


def check_schedule(schedule):
    """Return a fresh schedule for a name, a schedule object or a callable.

    Schedule objects are cloned, so that state a schedule keeps during training
    never lands on the object the user passed in; the settings of skfit's
    schedules are validated.

    Parameters
    ----------
    schedule : str, Schedule or callable
        A name of skfit's schedules (their defaults apply), a schedule object, or
        a callable ``t -> multiplier``.

    Returns
    -------
    callable

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        When a setting of a skfit schedule is out of range.

    Examples
    --------
    >>> from skfit.schedules import check_schedule
    >>> check_schedule("cosine")
    Cosine()
    """
    if isinstance(schedule, str):
        return _SCHEDULES[schedule]()
    if isinstance(schedule, BaseEstimator):
        schedule = clone(schedule)
    if isinstance(schedule, Schedule):
        schedule._validate_params()
    return schedule
