"""Training records: :class:`History` (one record per epoch) and :class:`Spike`."""

from dataclasses import dataclass, field

import numpy as np

from ._history_repr import history_html, text_table

__all__ = ["History", "Spike"]

#: Epochs in the text repr (the last ones).
_REPR_EPOCHS = 5

#: The per-epoch keys of every record, in column order.
EPOCH_KEYS = (
    "epoch",
    "loss",
    "val_loss",
    "val_score",
    "learning_rate",
    "grad_norm",
    "duration",
    "n_spikes",
    "n_batches",
    "n_nonfinite",
)
#: The integer keys.
_COUNTS = ("epoch", "n_spikes", "n_batches", "n_nonfinite")
#: The counts of an epoch's events: a merged record adds those of its records.
_EVENT_COUNTS = tuple(key for key in _COUNTS if key != "epoch")


@dataclass(frozen=True)
class Spike:
    """A batch whose loss jumped far above the recent batch losses, or that held
    rows whose own loss stood far above the recent rows' (the culprits).

    Attributes
    ----------
    epoch : int
        The epoch (counting from 1) the batch belongs to.
    batch : int
        The position of the batch in its epoch, counting from 0.
    loss : float
        The batch's data loss, the mean of its rows' losses (weighted, in the
        user's units), which the batch check judges; the batch's objective, in
        ``History.batch_loss``, adds the penalty. When the objective is not
        finite, it is the objective.
    baseline : float
        The running baseline of recent batch losses it was compared with (NaN
        when the detector had no baseline yet, as for a non-finite first loss).
    ratio : float
        ``loss / baseline``: below the batch check's threshold when only culprit
        rows made the batch a spike.
    sample_indices : ndarray of int
        Row numbers, in the ``X`` passed to ``fit`` or ``partial_fit``: the culprits
        when the per-row check identified some (``n_culprits > 0``), else the
        batch's rows. At most a capped number are kept.
    n_samples : int
        The number of samples in the batch.
    batch_indices : ndarray of int
        Row numbers of the batch's rows (capped as ``sample_indices``); the same
        array as ``sample_indices`` when no culprit was identified.
    culprit_losses : ndarray of float32
        Each culprit's own loss, in the order of ``sample_indices``; empty when no
        culprit was identified.
    n_culprits : int
        The number of culprits in the batch (all counted, some perhaps not kept).
    """

    epoch: int
    batch: int
    loss: float
    baseline: float
    ratio: float
    sample_indices: np.ndarray = field(repr=False)
    n_samples: int = 0
    batch_indices: np.ndarray = field(default=None, repr=False)
    culprit_losses: np.ndarray = field(default=None, repr=False)
    n_culprits: int = 0

    def __post_init__(self):
        # A record made without the per-row check's evidence names the batch.
        if self.batch_indices is None:
            object.__setattr__(self, "batch_indices", self.sample_indices)
        if self.culprit_losses is None:
            object.__setattr__(self, "culprit_losses", np.empty(0, dtype=np.float32))


class History:
    """The per-epoch record of a training run.

    Index it by a key to get a column (``history["loss"]`` is a float ndarray of
    the training loss per epoch) or by an integer to get one epoch's record as a
    dict. Keys: ``"epoch"`` (counting from 1), ``"loss"``, ``"val_loss"``,
    ``"val_score"`` (NaN without a validation share), ``"learning_rate"``,
    ``"grad_norm"`` (mean over the epoch's batches of the gradient's Euclidean
    norm), ``"duration"`` (seconds), ``"n_spikes"``, ``"n_batches"`` (batches
    run) and ``"n_nonfinite"`` (batches whose loss or gradient was not finite, so
    never applied).

    Attributes
    ----------
    batch_loss : ndarray of float32
        The objective of every batch, in training order.
    batch_epoch : ndarray of int
        The epoch each entry of ``batch_loss`` belongs to.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor
    >>> X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    >>> history = GDRegressor(max_epochs=5, tol=None).fit(X, y).history_
    >>> len(history), history["epoch"]
    (5, array([1, 2, 3, 4, 5]))
    """

    def __init__(self):
        self._records = []
        self._batch_losses = []

    def append(self, record, batch_losses):
        """Add one epoch's record and the float32 array of its batch losses."""
        self._records.append(record)
        self._batch_losses.append(batch_losses)

    def truncate(self, n_epochs):
        """Forget every epoch after the first ``n_epochs``."""
        del self._records[n_epochs:]
        del self._batch_losses[n_epochs:]

    def merge(self, start, weights):
        """Replace the records from position ``start`` on by one epoch record.

        For training that feeds one epoch through several calls, such as
        :func:`skfit.dask.fit_incremental` (one ``partial_fit`` call per block of
        a larger collection): the merged record is numbered as the first of the
        records it replaces and reads as if one call had trained on all of them.

        Parameters
        ----------
        start : int
            Position of the first record to merge; every later one is merged too.
        weights : array-like of shape (len(self) - start,)
            The training weight behind each merged record (its rows, or its summed
            sample weights): the merged ``loss`` is their weighted mean, so it is
            still the weighted mean of the batch objectives.

        Examples
        --------
        >>> import numpy as np
        >>> from skfit import History
        >>> history = History()
        >>> for epoch, loss in [(1, 4.0), (2, 1.0), (3, 2.0)]:
        ...     history.append(
        ...         {"epoch": epoch, "loss": loss, "val_loss": np.nan,
        ...          "val_score": np.nan, "learning_rate": 0.1, "grad_norm": 1.0,
        ...          "duration": 0.5, "n_spikes": 0, "n_batches": 1,
        ...          "n_nonfinite": 0},
        ...         np.array([loss], dtype=np.float32))
        >>> history.merge(1, weights=[1, 3])
        >>> len(history), history["epoch"], history["loss"], history.batch_loss
        (2, array([1, 2]), array([4.  , 1.75]), array([4., 1., 2.], dtype=float32))
        >>> history["n_batches"]
        array([1, 2])
        """
        records = self._records[start:]
        if not records:
            return
        weights = np.asarray(weights, dtype=float)
        losses = np.array([record["loss"] for record in records])
        finite = np.isfinite(losses)
        total_weight = weights[finite].sum()
        batches = np.array([len(batch) for batch in self._batch_losses[start:]])
        grad_norms = np.array([record["grad_norm"] for record in records])
        measured = np.isfinite(grad_norms) & (batches > 0)
        # The last record holds the parameters and learning rate the epoch ends with.
        merged = dict(records[-1])
        merged.update(
            epoch=records[0]["epoch"],
            loss=float(weights[finite] @ losses[finite]) / total_weight
            if total_weight > 0
            else np.nan,
            # The engine's grad_norm is a mean over batches: weigh by batches.
            grad_norm=float(np.average(grad_norms[measured], weights=batches[measured]))
            if measured.any()
            else np.nan,
            duration=float(sum(record["duration"] for record in records)),
            **{
                key: sum(int(record[key]) for record in records)
                for key in _EVENT_COUNTS
            },
        )
        batch_losses = np.concatenate(self._batch_losses[start:])
        self.truncate(start)
        self.append(merged, batch_losses)

    def __len__(self):
        return len(self._records)

    def __iter__(self):
        return iter(self._records)

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in EPOCH_KEYS:
                raise KeyError(f"{key!r} is not a History key; keys are {EPOCH_KEYS}")
            dtype = int if key in _COUNTS else float
            return np.array([record[key] for record in self._records], dtype=dtype)
        return self._records[key]

    def keys(self):
        """The per-epoch keys, in column order."""
        return EPOCH_KEYS

    def epoch_batch_losses(self, index):
        """The float32 batch losses of the epoch at ``index`` (as in a list)."""
        return self._batch_losses[index]

    @property
    def batch_loss(self):
        if not self._batch_losses:
            return np.empty(0, dtype=np.float32)
        return np.concatenate(self._batch_losses)

    @property
    def batch_epoch(self):
        return np.repeat(self["epoch"], [len(b) for b in self._batch_losses])

    def to_frame(self):
        """The history as a pandas DataFrame, one row per epoch.

        Raises
        ------
        ImportError
            When pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a dev dependency
            raise ImportError(
                "History.to_frame requires pandas: pip install pandas"
            ) from exc
        return pd.DataFrame({key: self[key] for key in EPOCH_KEYS}).set_index("epoch")

    def __repr__(self):
        if len(self) <= _REPR_EPOCHS:
            title = f"History of {len(self)} epochs"
        else:
            title = f"History of {len(self)} epochs, the last {_REPR_EPOCHS} shown"
        if not self._records:
            return title
        return f"{title}\n{text_table(self, last=_REPR_EPOCHS)}"

    def _repr_html_(self):
        """The notebook view: the last epochs beside a small loss curve."""
        return history_html(self)
