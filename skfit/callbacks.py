"""Callbacks: code that runs at fixed points of training.

The engine calls, in this order: ``on_train_begin(estimator)``; for each epoch,
``on_batch_end(estimator, batch_record)`` after each batch (a dict: epoch,
batch, loss, n_samples, and skipped, whether the update was withheld) and then
``on_epoch_end(estimator, record)``; finally ``on_train_end(estimator)``, also when
training fails. ``on_epoch_end`` may return True to stop training, which sets
``stop_reason_ = 'callback'``. Callbacks observe and stop; they do not change
hyperparameters (a learning rate that changes during training is a schedule).

Callbacks are scikit-learn style objects: their settings are ``__init__`` arguments,
so ``clone`` gives every search candidate its own copy and a search can tune them.
Any object that defines some of the hooks works: :func:`as_callback` gives it the
others, as no-ops.
"""

import sys

from sklearn.base import BaseEstimator

__all__ = ["Callback", "EpochLogger", "ProgressBar", "as_callback"]

#: The hooks of the callback protocol, in the order the engine first calls them.
HOOKS = ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")


class Callback(BaseEstimator):
    """Base class with no-op hooks; override the ones you need.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> from skfit.callbacks import Callback
    >>> class StopAtEpoch(Callback):
    ...     def __init__(self, epoch=3):
    ...         self.epoch = epoch
    ...     def on_epoch_end(self, estimator, record):
    ...         return record["epoch"] >= self.epoch
    >>> X, y = make_regression(n_samples=40, n_features=2, random_state=0)
    >>> est = GDRegressor(callbacks=[StopAtEpoch()]).fit(X, y)
    >>> est.stop_reason_, est.n_epochs_
    ('callback', 3)
    """

    def on_train_begin(self, estimator):
        """Called once before the first epoch of a ``fit`` or ``partial_fit``."""

    def on_batch_end(self, estimator, batch_record):
        """Called after each batch with its record (see the module docstring)."""

    def on_epoch_end(self, estimator, record):
        """Called after each epoch with its history record; return True to stop."""

    def on_train_end(self, estimator):
        """Called once when training ends, however it ends."""


def as_callback(obj):
    """``obj`` with all four hooks: itself if it has them, else an adapter in which
    the hooks ``obj`` lacks do nothing.

    The engine calls every hook of every callback; this lets a user's object define
    only the hooks it needs without subclassing :class:`Callback`. The adapter
    defines ``on_batch_end`` only when ``obj`` does, so that an object that does not
    listen to batches keeps training in the compiled loop.

    Parameters
    ----------
    obj : object
        An object with at least one of the hooks ``on_train_begin``,
        ``on_batch_end``, ``on_epoch_end`` and ``on_train_end``.

    Returns
    -------
    Callback or object
        ``obj`` itself when it defines every hook, else an adapter around it.

    Raises
    ------
    TypeError
        When ``obj`` defines none of the hooks.

    Examples
    --------
    >>> from skfit.callbacks import as_callback
    >>> class StopAfterTwo:
    ...     def on_epoch_end(self, estimator, record):
    ...         return record["epoch"] >= 2
    >>> callback = as_callback(StopAfterTwo())
    >>> callback.on_train_begin(None) is None
    True
    >>> callback.on_epoch_end(None, {"epoch": 2})
    True
    """
    defined = [hook for hook in HOOKS if callable(getattr(obj, hook, None))]
    if len(defined) == len(HOOKS):
        return obj
    if not defined:
        raise TypeError(
            f"A callback needs at least one of the hooks {', '.join(HOOKS)}; "
            f"{obj!r} of type {type(obj).__name__} has none."
        )
    if "on_batch_end" in defined:
        return _BatchHookAdapter(obj)
    return _HookAdapter(obj)


class _HookAdapter(Callback):
    """Forwards the hooks that ``callback`` defines; the others do nothing."""

    def __init__(self, callback=None):
        self.callback = callback

    def _forward(self, hook, *args):
        method = getattr(self.callback, hook, None)
        return None if method is None else method(*args)

    def on_train_begin(self, estimator):
        self._forward("on_train_begin", estimator)

    def on_epoch_end(self, estimator, record):
        return self._forward("on_epoch_end", estimator, record)

    def on_train_end(self, estimator):
        self._forward("on_train_end", estimator)


class _BatchHookAdapter(_HookAdapter):
    """:class:`_HookAdapter` for an object that also listens to batches."""

    def on_batch_end(self, estimator, batch_record):
        self.callback.on_batch_end(estimator, batch_record)


def _format_record(record):
    parts = [f"epoch {record['epoch']:>4d}", f"loss {record['loss']:.6g}"]
    if record["val_loss"] == record["val_loss"]:  # not NaN
        parts.append(f"val_loss {record['val_loss']:.6g}")
        parts.append(f"val_score {record['val_score']:.4f}")
    parts.append(f"lr {record['learning_rate']:.3g}")
    parts.append(f"{record['duration'] * 1000:.1f} ms")
    return " | ".join(parts)


class EpochLogger(Callback):
    """Print one line per epoch to standard output (what ``verbose=2`` uses).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> from skfit.callbacks import EpochLogger
    >>> X, y = make_regression(n_samples=40, n_features=2, random_state=0)
    >>> est = GDRegressor(max_epochs=2, tol=None, callbacks=[EpochLogger()])
    >>> est.fit(X, y)  # doctest: +ELLIPSIS
    epoch    1 | loss ... | lr 0.01 | ... ms
    epoch    2 | loss ... | lr 0.01 | ... ms
    GDRegressor(...)
    """

    def on_epoch_end(self, estimator, record):
        print(_format_record(record), file=sys.stdout, flush=True)


class ProgressBar(Callback):
    """A tqdm progress bar over epochs, showing the loss (``verbose=1`` uses it).

    ``tqdm.auto`` picks a notebook widget inside Jupyter and a text bar elsewhere.
    The bar is closed when training ends, also when it fails, and is not kept on
    the callback afterwards, so the estimator stays picklable.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> from skfit.callbacks import ProgressBar
    >>> X, y = make_regression(n_samples=40, n_features=2, random_state=0)
    >>> est = GDRegressor(max_epochs=3, callbacks=[ProgressBar()]).fit(X, y)
    """

    def on_train_begin(self, estimator):
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError(
                'ProgressBar requires tqdm: pip install "skfit[progress]"'
            ) from exc
        self._bar = tqdm(total=estimator.max_epochs, unit="epoch")

    def on_epoch_end(self, estimator, record):
        postfix = {"loss": f"{record['loss']:.4g}"}
        if record["val_loss"] == record["val_loss"]:
            postfix["val_loss"] = f"{record['val_loss']:.4g}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def on_train_end(self, estimator):
        bar = self.__dict__.pop("_bar", None)
        if bar is not None:
            bar.close()


class SklearnCallbackBridge(Callback):
    """Reports each epoch to scikit-learn's callbacks (``sklearn.callback``).

    scikit-learn 1.9 added an experimental protocol: an estimator's ``fit`` is a
    task, with subtasks whose begin and end its callbacks hear about. Each skfit
    epoch is one subtask, so ``sklearn.callback.ProgressBar`` and
    ``ScoringMonitor`` follow skfit estimators, also inside ``GridSearchCV``.
    """

    def __init__(self, context=None, X=None, y=None, sample_weight=None):
        self.context = context
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    @classmethod
    def for_estimator(cls, estimator, X, y, sample_weight, config):
        """The bridge for a ``fit`` call, as a list: empty when nobody listens."""
        listening = hasattr(estimator, "_skl_callbacks") or hasattr(
            estimator, "_parent_callback_ctx"
        )
        if not listening or not hasattr(estimator, "_init_callback_context"):
            return []
        context = estimator._init_callback_context(max_subtasks=config.max_epochs)
        return [cls(context, X, y, sample_weight)]

    def _task_data(self, estimator):
        # metadata is what scikit-learn's callbacks pass on to a scorer (as
        # ScoringMonitor does): the fit's sample weights, as scikit-learn's own
        # estimators pass them, and nothing else.
        metadata = (
            None
            if self.sample_weight is None
            else {"sample_weight": self.sample_weight}
        )
        return {"estimator": estimator, "X": self.X, "y": self.y, "metadata": metadata}

    def on_train_begin(self, estimator):
        self.context.call_on_fit_task_begin(**self._task_data(estimator))

    def on_epoch_end(self, estimator, record):
        epoch = self.context.subcontext(task_name="epoch")
        epoch.call_on_fit_task_begin(**self._task_data(estimator))
        # The estimator is scored as it stands at the end of the epoch.
        return epoch.call_on_fit_task_end(
            **self._task_data(estimator), reconstruction_attributes={}
        )

    def on_train_end(self, estimator):
        self.context.call_on_fit_task_end(
            **self._task_data(estimator), reconstruction_attributes={}
        )
