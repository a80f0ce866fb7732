"""Training on Dask collections larger than memory, one block at a time.

:func:`fit_incremental` feeds the row blocks of a ``dask.array`` or the partitions
of a ``dask.dataframe`` to an estimator's ``partial_fit``, one at a time, so that
memory is bounded by one block whatever the size of the collection, and keeps the
estimator's records as ``fit`` keeps them: one ``history_`` record per pass over
the whole collection.

This module needs the ``dask`` extra (``pip install "skfit[dask]"``); ``import
skfit`` does not import it.
"""

import dataclasses
import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

try:
    import dask
    import dask.array as da
except ImportError as exc:
    raise ImportError('skfit.dask requires dask: pip install "skfit[dask]"') from exc

from ._base import BaseGD
from ._engine import SPIKE_RECORD_CAP
from ._state import TrainingOutcome
from .callbacks import Callback, EpochLogger
from .spikes import LossSpikeError, LossSpikeWarning, _preview

__all__ = ["fit_incremental"]

#: Block stop reasons that end the whole call: the engine already warned.
_FATAL_BLOCK_REASONS = ("diverged", "spike")


def fit_incremental(
    estimator,
    X,
    y,
    *,
    epochs=1,
    classes=None,
    shuffle_blocks=True,
    random_state=None,
):
    """Train a skfit estimator on a Dask collection, one block at a time.

    Each pass over the collection computes one row block at a time (the chunks
    of a dask array along its rows, or the partitions of a dask dataframe) and
    trains on it with ``estimator.partial_fit``, so memory holds one block, never
    the collection. The estimator's records read as if ``fit`` had trained on the
    whole collection: ``history_`` gets one record per pass, whose ``loss`` is
    the weighted mean of every batch loss of the pass; ``history_.batch_loss``
    holds the loss of every batch of every block, in training order (with
    ``batch_size=None`` each block is one batch); ``spikes_`` number their epoch
    by pass, their batch within the pass, and their ``sample_indices`` as rows
    of the whole collection.

    Parameters
    ----------
    estimator : GDRegressor, GDClassifier, MLPRegressor or MLPClassifier
        The estimator, trained in place. An estimator that is already fitted
        continues from its parameters, as ``partial_fit`` does; pass
        ``sklearn.base.clone(estimator)`` to start afresh.
    X : dask.array.Array of shape (n_samples, n_features) or dask.dataframe.DataFrame
        Training data. A dask array is split into blocks along its row chunks
        (its columns are joined into one chunk); a dataframe into its partitions.
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_outputs), or \
dask.dataframe.Series or DataFrame
        Targets, a dask array for an array ``X`` (rechunked to ``X``'s row chunks
        when they differ) and a series or dataframe with ``X``'s partitions for a
        dataframe ``X``.
    epochs : int, default=1
        The number of passes over the whole collection. Each runs in full: no
        tolerance or early stopping applies, as in ``partial_fit``.
    classes : array-like of shape (n_classes,), default=None
        Every class of a classifier's target. None: the classes of a fitted
        classifier, or else ``y``'s distinct values, found by one extra pass
        over ``y``.
    shuffle_blocks : bool, default=True
        Whether each pass visits the blocks in a new random order (the batches
        within a block are shuffled by the estimator's own ``shuffle``).
    random_state : int, RandomState instance or None, default=None
        Draws the block orders.

    Returns
    -------
    estimator : object
        The trained estimator. ``stop_reason_`` is 'max_epochs' after every pass
        ran; 'callback' when one of the estimator's callbacks stopped training
        (they hear ``on_epoch_end`` once per pass, and ``on_batch_end`` for every
        batch with its number within the pass); 'diverged' or 'spike' when a
        block's training stopped so (after divergence the parameters at the start
        of the pass with the lowest loss are restored, once a pass has begun from
        earlier parameters); 'interrupted' after a
        ``KeyboardInterrupt``, which keeps what was trained and is raised again.

    Raises
    ------
    TypeError
        When ``estimator`` is not a skfit estimator or ``X`` and ``y`` are not
        matching dask collections.
    ValueError
        When ``X`` and ``y`` have different numbers of rows or partitions, or
        ``epochs`` is not a positive integer.

    See Also
    --------
    dask_ml.wrappers.Incremental : dask-ml's wrapper, which calls ``partial_fit``
        on each block too but keeps one history record per block.

    Notes
    -----
    A failure inside the call (an exception other than ``KeyboardInterrupt``, for
    instance a :class:`~skfit.LossSpikeError`, whose spike is numbered as above)
    leaves the estimator as it was before it, as a failed ``fit`` does.

    Each block is one ``partial_fit`` call, so what is per call there is per block
    here: the schedules that span a call ('cosine', 'onecycle') run one cycle per
    block, and a block whose loss becomes non-finite stops the call with
    ``stop_reason_ == 'diverged'``. ``verbose=1`` shows one progress bar over the
    blocks of every pass (tqdm, ``pip install "skfit[progress]"``); ``verbose=2``
    prints one line per pass. A dataframe's partition lengths are not known in
    advance: they are counted first, in a pass that holds one partition at a time
    per worker thread.

    With a ``distributed.Client`` active, the blocks are computed on its cluster
    and sent to this process, which trains.

    Examples
    --------
    >>> import dask.array as da
    >>> from skfit import GDRegressor
    >>> from skfit.dask import fit_incremental
    >>> X = da.random.default_rng(0).normal(size=(20_000, 4), chunks=(5_000, 4))
    >>> y = X @ da.from_array([1.0, -2.0, 0.5, 3.0]) + 1.0
    >>> model = GDRegressor(learning_rate=0.05, batch_size=500, random_state=0)
    >>> model = fit_incremental(model, X, y, epochs=3, random_state=0)
    >>> len(model.history_), model.stop_reason_, len(model.history_.batch_loss)
    (3, 'max_epochs', 120)
    >>> round(model.score(X.compute(), y.compute()), 3)
    1.0
    """
    if not isinstance(estimator, BaseGD):
        raise TypeError(
            "fit_incremental trains skfit estimators (GDRegressor, GDClassifier, "
            f"MLPRegressor, MLPClassifier), got {type(estimator).__name__}."
        )
    if not isinstance(epochs, Integral) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
    blocks, lengths = _row_blocks(X, y)
    if is_classifier(estimator) and classes is None:
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            classes = _distinct(y)
    trainer = _BlockTrainer(estimator, blocks, lengths, classes)
    rng = check_random_state(random_state)
    orders = [
        rng.permutation(len(blocks)) if shuffle_blocks else np.arange(len(blocks))
        for _ in range(epochs)
    ]
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            # One warning sums up the spikes of the call: see _BlockTrainer.
            warnings.simplefilter("ignore", LossSpikeWarning)
            summary = trainer.run(orders)
    finally:
        # The blocks' warnings, issued again: a ConvergenceWarning at the caller's
        # line, as fit's, the others where they arose.
        for warning in caught:
            if issubclass(warning.category, ConvergenceWarning):
                warnings.warn(warning.message, stacklevel=2)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
    if summary is not None:
        warnings.warn(summary, LossSpikeWarning, stacklevel=2)
    return estimator


def _row_blocks(X, y):
    """The row blocks of ``(X, y)`` as pairs of dask collections, and their rows."""
    if isinstance(X, da.Array):
        if not isinstance(y, da.Array):
            raise TypeError(
                f"X is a dask array, so y must be one too, got {type(y).__name__}; "
                "convert a dask series with .to_dask_array(lengths=True)."
            )
        if X.ndim != 2 or y.ndim not in (1, 2):
            raise ValueError(
                f"X must be 2-dimensional and y 1- or 2-dimensional, got X of "
                f"shape {X.shape} and y of shape {y.shape}."
            )
        if any(math.isnan(n) for n in X.chunks[0] + y.chunks[0]):
            X, y = X.compute_chunk_sizes(), y.compute_chunk_sizes()
        if X.shape[0] != y.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} rows but y has {y.shape[0]}: they must match."
            )
        X = X.rechunk({1: -1})
        y = y.rechunk({0: X.chunks[0], **({1: -1} if y.ndim == 2 else {})})
        n_blocks = X.numblocks[0]
        blocks = [(X.blocks[i], y.blocks[i]) for i in range(n_blocks)]
        return blocks, np.array(X.chunks[0], dtype=np.int64)
    if _is_dataframe(X):
        if not _is_dataframe(y):
            raise TypeError(
                "X is a dask dataframe, so y must be a dask series or dataframe, "
                f"got {type(y).__name__}."
            )
        if X.npartitions != y.npartitions:
            raise ValueError(
                f"X has {X.npartitions} partitions but y has {y.npartitions}: they "
                "must be split alike (take both from one dataframe)."
            )
        blocks = [(X.partitions[i], y.partitions[i]) for i in range(X.npartitions)]
        (lengths,) = dask.compute(X.map_partitions(len))
        return blocks, np.asarray(lengths, dtype=np.int64)
    raise TypeError(
        "fit_incremental trains on a dask array or dask dataframe, got "
        f"{type(X).__name__}; for data in memory use fit or partial_fit."
    )


def _is_dataframe(collection):
    """Whether ``collection`` is a dask dataframe or series (pandas may be absent)."""
    try:
        import dask.dataframe as dd
    except ImportError:
        return False
    return isinstance(collection, dd.DataFrame | dd.Series)


def _distinct(y):
    """The distinct values of a dask array or series, computed block by block."""
    if isinstance(y, da.Array):
        return np.unique(da.unique(y).compute())
    return np.unique(np.asarray(y.drop_duplicates().compute()))


class _BatchRelay(Callback):
    """Passes the batches of every block to the user's batch callbacks, numbered
    as batches of the pass rather than of the block."""

    def __init__(self, callbacks=None):
        self.callbacks = callbacks

    def start_pass(self, epoch):
        self._epoch, self._seen = epoch, 0

    def on_batch_end(self, estimator, batch_record):
        record = dict(batch_record, epoch=self._epoch, batch=self._seen)
        self._seen += 1
        for callback in self.callbacks:
            callback.on_batch_end(estimator, record)


class _BlockTrainer:
    """Runs the passes of one :func:`fit_incremental` call and keeps its records."""

    def __init__(self, estimator, blocks, lengths, classes):
        self.estimator = estimator
        self.blocks = blocks
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.index_dtype = np.int32 if lengths.sum() < 2**31 else np.int64
        self.fit_params = {} if classes is None else {"classes": classes}
        self.callbacks = list(estimator.callbacks or [])
        if estimator.verbose >= 2:
            self.callbacks.append(EpochLogger())
        # As in the engine, only callbacks that define on_batch_end hear batches
        # (a relay would keep the linear models off the compiled loop).
        batch_callbacks = [
            callback
            for callback in self.callbacks
            if getattr(type(callback), "on_batch_end", Callback.on_batch_end)
            is not Callback.on_batch_end
        ]
        self.relay = _BatchRelay(batch_callbacks) if batch_callbacks else None
        self.show_progress = estimator.verbose == 1
        self.first_spike = 0
        self.spikes_in_call = 0
        self.worst_spike = None

    def run(self, orders):
        """Train one pass per block order; return the summary of the spikes to
        warn about, or None."""
        estimator = self.estimator
        saved = dict(estimator.__dict__)
        state = saved.get("_state")
        checkpoint = None if state is None else state.checkpoint()
        self.first_spike = 0 if state is None else len(state.spikes)
        best, best_epoch, best_snapshot = math.inf, self._n_epochs(), None
        reason = "max_epochs"
        bar = (
            _progress_bar(len(orders) * len(self.blocks))
            if self.show_progress
            else None
        )
        # partial_fit runs with the relay as its only callback and without progress
        # output of its own: the user's callbacks and the bar follow whole passes.
        params = {"callbacks": estimator.callbacks, "verbose": estimator.verbose}
        estimator.callbacks = None if self.relay is None else [self.relay]
        estimator.verbose = 0
        try:
            for callback in self.callbacks:
                _hook(callback, "on_train_begin", estimator)
            for order in orders:
                start = self._n_epochs()
                # The pass's loss is measured before each update, so the parameters
                # it stands for are those at its start (as fit keeps them).
                snapshot = None if start == 0 else estimator._state.snapshot()
                record, block_reason = self._run_pass(order, start, bar)
                if record["loss"] < best:
                    best, best_epoch = record["loss"], record["epoch"]
                    best_snapshot = snapshot
                if block_reason in _FATAL_BLOCK_REASONS:
                    reason = block_reason
                    break
                stop = [
                    _hook(callback, "on_epoch_end", estimator, record)
                    for callback in self.callbacks
                ]
                if any(stop):
                    reason = "callback"
                    break
        except KeyboardInterrupt:
            estimator._set_outcome(TrainingOutcome("interrupted", best_epoch, best))
            raise
        except Exception:
            # A failed call leaves the estimator as it was, as a failed fit does.
            if checkpoint is not None:
                state.rollback(checkpoint)
            estimator.__dict__.clear()
            estimator.__dict__.update(saved)
            raise
        finally:
            estimator.__dict__.update(params)
            for callback in self.callbacks:
                _hook(callback, "on_train_end", estimator)
            if bar is not None:
                bar.close()
        if reason == "diverged" and best_snapshot is not None:
            estimator._state.restore(best_snapshot)
        estimator._set_outcome(TrainingOutcome(reason, best_epoch, best))
        if self.worst_spike is None or estimator.spike_policy != "warn":
            return None
        worst = self.worst_spike
        return (
            f"{self.spikes_in_call} loss spike(s) in fit_incremental (spikes_ lists "
            f"them with their rows in the whole collection); the worst at epoch "
            f"{worst.epoch}, batch {worst.batch} (rows "
            f"{_preview(worst.sample_indices)}): loss {worst.loss:.6g}, "
            f"{worst.ratio:.3g} times the baseline {worst.baseline:.6g}. A learning "
            "rate that overcorrects, or bad rows in the data, cause spikes; "
            "spike_policy sets what to do."
        )

    def _n_epochs(self):
        return self.estimator.n_epochs_ if "_state" in self.estimator.__dict__ else 0

    def _run_pass(self, order, start, bar):
        """One pass over the blocks in ``order``; returns its merged history record
        and the stop reason of its last block."""
        estimator = self.estimator
        epoch = start + 1
        first_spike = len(estimator.spikes_) if start else 0
        if self.relay is not None:
            self.relay.start_pass(epoch)
        visited, weights = [], []
        y_block = None
        try:
            for index in order:
                X_block, y_block = dask.compute(*self.blocks[index])
                visited.append(index)
                estimator.partial_fit(X_block, y_block, **self.fit_params)
                # Not kept while the next block is computed: one block at a time.
                del X_block
                weights.append(_training_weight(estimator, y_block))
                if bar is not None:
                    loss = estimator.history_[-1]["loss"]
                    bar.set_postfix(epoch=epoch, loss=f"{loss:.4g}")
                    bar.update(1)
                if estimator.stop_reason_ in _FATAL_BLOCK_REASONS:
                    break
        except LossSpikeError as error:
            # The failed block was rolled back: number its spike within the pass.
            spike = self._renumber(error.spike, epoch, visited)
            raise LossSpikeError(spike).with_traceback(error.__traceback__) from None
        finally:
            if self._n_epochs() > start + len(weights):
                # An interrupted block recorded its partial epoch.
                weights.append(_training_weight(estimator, y_block))
            if weights:
                self._merge(epoch, start, visited, weights, first_spike)
        return estimator.history_[-1], estimator.stop_reason_

    def _merge(self, epoch, start, visited, weights, first_spike):
        """Merge the block records of a pass into one and renumber its spikes."""
        estimator = self.estimator
        spikes = estimator.spikes_
        spikes[first_spike:] = self._renumber_all(spikes[first_spike:], epoch, visited)
        for spike in spikes[first_spike:]:
            self.spikes_in_call += 1
            worst = self.worst_spike
            if worst is None or not spike.ratio <= worst.ratio:
                self.worst_spike = spike
        # Spike records are capped per call, as in fit; the history counts them all.
        del spikes[self.first_spike + SPIKE_RECORD_CAP :]
        estimator.history_.merge(start, weights)

    def _renumber(self, spike, epoch, visited):
        """``spike``, recorded in the epoch of one block's partial_fit call,
        numbered within the pass that begins with epoch ``epoch``."""
        return self._renumber_all([spike], epoch, visited)[0]

    def _renumber_all(self, spikes, epoch, visited):
        """:meth:`_renumber` for several spikes of one pass."""
        batch_epochs = self.estimator.history_.batch_epoch
        n_blocks = len(visited)
        # The batches of the pass trained before each of its blocks.
        counts = np.bincount(
            batch_epochs[batch_epochs >= epoch] - epoch, minlength=n_blocks
        )
        batches_before = np.concatenate([[0], np.cumsum(counts)])
        renumbered = []
        for spike in spikes:
            position = spike.epoch - epoch
            rows = np.asarray(spike.sample_indices, dtype=np.int64)
            rows += self.offsets[visited[position]]
            renumbered.append(
                dataclasses.replace(
                    spike,
                    epoch=epoch,
                    batch=int(batches_before[position]) + spike.batch,
                    sample_indices=rows.astype(self.index_dtype),
                )
            )
        return renumbered


def _training_weight(estimator, y_block):
    """The weight a block's record stands for: its rows, or its class weights."""
    weights = estimator._weigh_targets(
        np.asarray(y_block), None, np.float64, incremental=True
    )
    return len(y_block) if weights is None else float(weights.sum())


def _hook(callback, name, *args):
    """Call a hook that the callback may not define (a callback need not subclass
    :class:`~skfit.callbacks.Callback`)."""
    hook = getattr(callback, name, None)
    return None if hook is None else hook(*args)


def _progress_bar(total):
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError(
            "fit_incremental shows a progress bar with verbose=1, which requires "
            'tqdm: pip install "skfit[progress]"'
        ) from exc
    return tqdm(total=total, unit="block")
