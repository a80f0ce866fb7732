"""Learning-rate schedules.

The learning rate used for an update is ``learning_rate * schedule(t)``, where ``t``
is the number of updates applied before it (0 for the first). A schedule is therefore
any callable ``t -> multiplier``; a plain function is accepted as it is. Schedule
objects may also implement two hooks that the engine calls:

- ``start(n_updates)``: the number of updates the ``fit`` call spans
  (``max_epochs`` times the batches per epoch), for schedules that span training;
- ``epoch_end(loss)``: the monitored epoch loss, for schedules that react to it.
"""

from sklearn.base import BaseEstimator, clone

__all__ = ["Constant", "Schedule", "check_schedule"]


class Schedule(BaseEstimator):
    """Base class of skfit's schedules: a callable ``t -> rate multiplier``."""

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


_SCHEDULES = {"constant": Constant}


def check_schedule(schedule):
    """Return a fresh schedule for a name, a schedule object or a callable.

    Schedule objects are cloned, so that state a schedule keeps during training
    never lands on the object the user passed in.
    """
    if isinstance(schedule, str):
        return _SCHEDULES[schedule]()
    if isinstance(schedule, BaseEstimator):
        return clone(schedule)
    return schedule
