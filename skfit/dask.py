"""Training on Dask collections larger than memory, one block at a time.

:func:`fit_incremental` feeds the row blocks of a ``dask.array`` or the partitions
of a ``dask.dataframe`` to an estimator's ``partial_fit``, one at a time, so that
memory is bounded by one block whatever the size of the collection, and keeps the
estimator's records as ``fit`` keeps them: one ``history_`` record per pass over
the whole collection.

This module needs the ``dask`` extra (``pip install "skfit[dask]"``); ``import
skfit`` does not import it.
"""

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
from ._block_training import BlockTrainer
from .spikes import LossSpikeWarning

__all__ = ["fit_incremental"]


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
    block, the linear models' quasi-Newton ``finish`` does not run, ``alpha="auto"``
    is partial_fit's 1e-4 in every block (``fit``'s would be one over the
    collection's rows: pass ``alpha=1 / n_samples`` for its objective), and a block
    whose loss becomes non-finite stops the call with
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
    trainer = BlockTrainer(estimator, blocks, lengths, classes, dask.compute)
    rng = check_random_state(random_state)
    orders = [
        rng.permutation(len(blocks)) if shuffle_blocks else np.arange(len(blocks))
        for _ in range(epochs)
    ]
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            # One warning sums up the spikes of the call: see BlockTrainer.
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
