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

import html
import math
import multiprocessing
import sys
import threading
import time

from sklearn.base import BaseEstimator

from ._history_repr import loss_curve_svg

__all__ = ["Callback", "EpochLogger", "LiveLossPlot", "ProgressBar", "as_callback"]

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


#: Stop reasons after which the progress bar ends full: training ended by a rule
#: that was asked for. After 'diverged', 'spike' or 'interrupted' (or an error) the
#: bar ends where training stopped, red in a notebook.
_FULL_BAR_REASONS = (
    "max_epochs",
    "tol",
    "loss_threshold",
    "early_stopping",
    "callback",
)


class ProgressBar(Callback):
    """A tqdm progress bar over epochs, showing the loss (``verbose=1`` uses it).

    ``tqdm.auto`` picks a notebook widget inside Jupyter (with ipywidgets installed:
    ``pip install "skfit[notebook]"``) and a text bar elsewhere. The bar counts up
    to ``max_epochs`` and shows the latest loss (and validation loss). When training
    ends by a stopping rule (``tol``, ``early_stopping``, ``loss_threshold``, a
    callback or ``max_epochs``) the bar ends full at the epochs run, green in a
    notebook; after divergence, spikes, an interrupt or an error it ends where
    training stopped, red in a notebook. Its text ends with ``stop_reason_``.

    Only the main thread of the main process shows a bar: the workers of a search
    with ``n_jobs`` (joblib's processes or threads) would otherwise write theirs
    over each other. The bar is closed when training ends, also when it fails, and
    is not kept on the callback afterwards, so the estimator stays picklable.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> from skfit.callbacks import ProgressBar
    >>> X, y = make_regression(n_samples=40, n_features=2, random_state=0)
    >>> # tol=None: exactly three epochs, which is no reason for a warning.
    >>> est = GDRegressor(max_epochs=3, tol=None, callbacks=[ProgressBar()]).fit(X, y)
    """

    def on_train_begin(self, estimator):
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError(
                'ProgressBar requires tqdm: pip install "skfit[progress]"'
            ) from exc
        if _in_worker():
            return
        self._bar = tqdm(
            total=estimator.max_epochs, unit="epoch", desc=type(estimator).__name__
        )

    def on_epoch_end(self, estimator, record):
        bar = self.__dict__.get("_bar")
        if bar is None:
            return
        postfix = {"loss": f"{record['loss']:.4g}"}
        if record["val_loss"] == record["val_loss"]:
            postfix["val_loss"] = f"{record['val_loss']:.4g}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)

    def on_train_end(self, estimator):
        bar = self.__dict__.pop("_bar", None)
        if bar is None:
            return
        # Set only when training ended by a stopping rule or an interrupt.
        reason = getattr(estimator, "stop_reason_", None)
        if reason is not None:
            postfix = f"{bar.postfix}, " if bar.postfix else ""
            bar.set_postfix_str(f"{postfix}stop_reason={reason}", refresh=False)
            if reason in _FULL_BAR_REASONS:
                _fill(bar)
        bar.close()


class LiveLossPlot(Callback):
    """Redraw one loss-curve figure after every epoch, in a Jupyter notebook.

    The figure shows the training and validation loss per epoch, the epochs with
    loss spikes (red crosses) and, once training ends, the best epoch and
    ``stop_reason_``. It is an inline SVG, drawn without matplotlib, that replaces
    itself in place through an IPython display handle: no flicker and no stack of
    figures. Outside a notebook (a script, a terminal, the workers of a search
    with ``n_jobs``) the callback does nothing.

    Parameters
    ----------
    interval : float, default=0.5
        The least time in seconds between two redraws; an epoch that ends sooner
        after the last redraw is drawn with a later one (the last epoch always
        is). 0 redraws after every epoch.
    width : int, default=560
        Width of the figure in pixels.
    height : int, default=280
        Height of the figure in pixels.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> from skfit.callbacks import LiveLossPlot
    >>> X, y = make_regression(n_samples=40, n_features=2, random_state=0)
    >>> est = GDRegressor(max_epochs=3, tol=None, callbacks=[LiveLossPlot()])
    >>> est.fit(X, y).n_epochs_  # outside a notebook: no figure
    3
    """

    def __init__(self, interval=0.5, width=560, height=280):
        self.interval = interval
        self.width = width
        self.height = height

    def on_train_begin(self, estimator):
        display = _notebook_display()
        if display is None:
            return
        from IPython.display import HTML

        self._handle = display(
            HTML(f"<p>{type(estimator).__name__}: training</p>"), display_id=True
        )
        self._drawn = -math.inf

    def on_epoch_end(self, estimator, record):
        if "_handle" not in self.__dict__:
            return
        now = time.monotonic()
        if now - self._drawn >= self.interval:
            self._draw(estimator, f"epoch {record['epoch']}")
            self._drawn = now

    def on_train_end(self, estimator):
        if "_handle" not in self.__dict__:
            return
        reason = getattr(estimator, "stop_reason_", None)
        if len(estimator.history_):
            self._draw(
                estimator,
                f"stop_reason_={reason!r}" if reason else "training failed",
                getattr(estimator, "best_epoch_", None),
            )
        # Nothing of IPython's stays on the callback, so the estimator pickles.
        for name in ("_handle", "_drawn"):
            del self.__dict__[name]

    def _draw(self, estimator, status, best_epoch=None):
        history = estimator.history_
        last = history[-1]
        caption = f"{type(estimator).__name__}: {status}, loss {last['loss']:.4g}"
        if last["val_loss"] == last["val_loss"]:
            caption += f", val_loss {last['val_loss']:.4g}"
        svg = loss_curve_svg(history, self.width, self.height, best_epoch=best_epoch)
        from IPython.display import HTML

        self._handle.update(HTML(f"<div>{html.escape(caption)}</div>{svg}"))


def _notebook_display():
    """IPython's ``display`` when this runs in a Jupyter kernel's main thread of
    the main process, else None."""
    ipython = sys.modules.get("IPython")
    if ipython is None or _in_worker():
        return None
    if getattr(ipython.get_ipython(), "kernel", None) is None:
        return None
    from IPython.display import display

    return display


def _in_worker():
    """Whether this runs in a child process or outside the main thread, as the
    workers of joblib (loky, multiprocessing, threading), dask and
    multiprocessing do."""
    return (
        multiprocessing.parent_process() is not None
        or threading.current_thread() is not threading.main_thread()
    )


def _fill(bar):
    """Make ``bar`` full at its current count, so that it closes as complete."""
    bar.total = bar.n
    # tqdm.notebook draws an ipywidgets progress bar (the container's second to
    # last child, as tqdm's own colour property reads it) whose maximum tqdm sets
    # only when it creates it.
    container = getattr(bar, "container", None)
    if container is not None:
        container.children[-2].max = bar.n


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
