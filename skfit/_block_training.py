"""The passes of :func:`skfit.dask.fit_incremental`: one ``partial_fit`` call per
block, and the bookkeeping that turns the calls of a pass into one epoch of the
estimator's records (history, spikes, stop reason, callbacks, progress)."""

import dataclasses
import math

import numpy as np

from ._training import TrainingOutcome
from .callbacks import Callback, EpochLogger
from .spikes import LossSpikeError, _describe_spike

#: Block stop reasons that end the whole call: the engine already warned.
_FATAL_BLOCK_REASONS = ("diverged", "spike")


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


class BlockTrainer:
    """Runs the passes of one :func:`~skfit.dask.fit_incremental` call and keeps its
    records.

    ``blocks`` holds a ``(X, y)`` pair per block, ``lengths`` their rows, and
    ``compute(X, y)`` returns a pair in memory (``dask.compute`` for dask
    collections); ``classes`` goes to every ``partial_fit`` call.
    """

    def __init__(self, estimator, blocks, lengths, classes, compute):
        self.estimator = estimator
        self.blocks = blocks
        self.compute = compute
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
        self.spikes_in_call = 0
        self.worst_spike = None

    def run(self, orders):
        """Train one pass per block order; return the summary of the spikes to
        warn about, or None."""
        estimator = self.estimator
        saved = dict(estimator.__dict__)
        state = saved.get("_state")
        checkpoint = None if state is None else state.checkpoint()
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
            estimator._undo(saved, checkpoint)
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
            f"{worst.epoch}, batch {worst.batch}: {_describe_spike(worst)}. A "
            "learning rate that overcorrects, or bad rows in the data, cause "
            "spikes; spike_policy sets what to do."
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
                X_block, y_block = self.compute(*self.blocks[index])
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
            offset = self.offsets[visited[spike.epoch - epoch]]
            rows = self._rows_in_collection(spike.sample_indices, offset)
            batch_rows = (
                rows
                if spike.batch_indices is spike.sample_indices
                else self._rows_in_collection(spike.batch_indices, offset)
            )
            renumbered.append(
                dataclasses.replace(
                    spike,
                    epoch=epoch,
                    batch=int(batches_before[spike.epoch - epoch]) + spike.batch,
                    sample_indices=rows,
                    batch_indices=batch_rows,
                )
            )
        return renumbered

    def _rows_in_collection(self, rows, offset):
        """Row numbers of a block, ``rows``, as rows of the whole collection."""
        return (np.asarray(rows, dtype=np.int64) + offset).astype(self.index_dtype)


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
