"""suspect_rows: the training rows that loss spikes named, most often named first."""

import numpy as np

from ._pipeline import fitted_model

__all__ = ["suspect_rows"]

#: The columns of :func:`suspect_rows`.
_COLUMNS = np.dtype(
    [
        ("row", np.int64),
        ("n_flagged", np.int64),
        ("first_epoch", np.int64),
        ("last_epoch", np.int64),
        ("max_loss", np.float64),
        ("last_loss", np.float64),
    ]
)


def suspect_rows(estimator):
    """The rows whose own loss stood out in training, most often flagged first.

    Every spike in ``spikes_`` that the per-row check explained names its culprit
    rows and their losses (see :class:`~skfit.Spike`). This gathers them per row:
    a row flagged in many epochs is a likely error in the data (a corrupted
    target, a flipped label, a value in the wrong unit), where a row flagged once
    may only have met an unlucky update. Spikes of a batch as a whole, with no
    culprit, name no suspect; their rows are in the spikes' ``sample_indices``.

    Parameters
    ----------
    estimator : fitted skfit estimator, Pipeline ending in one, or list of Spike
        Whose ``spikes_`` to read, or the spike records themselves.

    Returns
    -------
    suspects : pandas.DataFrame or structured ndarray
        One entry per flagged row, sorted by ``n_flagged`` (descending), then
        ``max_loss`` (descending), then ``row``. A pandas DataFrame indexed by
        ``row`` when pandas is installed, else a structured numpy array with a
        ``row`` field. The fields:

        - ``row``: the row number in the ``X`` passed to ``fit`` or
          ``partial_fit`` (in the ``X`` of the call the spike happened in);
        - ``n_flagged``: the number of spikes that named it as a culprit;
        - ``first_epoch``, ``last_epoch``: the epochs it was first and last
          named in;
        - ``max_loss``, ``last_loss``: its largest loss when named, and its loss
          when last named.

    Notes
    -----
    An estimator keeps at most 1,000 spike records (``history_["n_spikes"]``
    counts them all) and at most 1,024 culprits per record, so in a very long
    run the counts cover the records kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_regression
    >>> from skfit import GDRegressor, suspect_rows
    >>> X, y = make_regression(2000, 5, noise=1.0, random_state=0)
    >>> y = (y - y.mean()) / y.std()
    >>> y[[10, 500]] += 30  # two corrupted targets
    >>> est = GDRegressor(max_epochs=5, tol=None, spike_policy="ignore",
    ...                   random_state=0).fit(X, y)
    >>> table = suspect_rows(est)
    >>> table[["n_flagged", "first_epoch"]]  # doctest: +NORMALIZE_WHITESPACE
         n_flagged  first_epoch
    row
    500          5            1
    10           5            1
    """
    spikes = (
        estimator
        if isinstance(estimator, list)
        else fitted_model(estimator, "spikes_", "suspect_rows").spikes_
    )
    named = [spike for spike in spikes if spike.n_culprits]
    table = np.zeros(0, dtype=_COLUMNS)
    if named:
        counts = [len(spike.culprit_losses) for spike in named]
        rows = np.concatenate(
            [spike.sample_indices[:n] for spike, n in zip(named, counts, strict=True)]
        ).astype(np.int64)
        epochs = np.repeat([spike.epoch for spike in named], counts)
        losses = np.concatenate([spike.culprit_losses for spike in named]).astype(
            np.float64
        )
        suspects, which = np.unique(rows, return_inverse=True)
        # Spike records come in training order: the last one of a row is its latest.
        last = np.zeros(len(suspects), dtype=np.intp)
        np.maximum.at(last, which, np.arange(len(rows)))
        max_loss = np.full(len(suspects), -np.inf)
        np.maximum.at(max_loss, which, losses)
        first_epoch = np.full(len(suspects), np.iinfo(np.int64).max)
        np.minimum.at(first_epoch, which, epochs)
        table = np.zeros(len(suspects), dtype=_COLUMNS)
        table["row"] = suspects
        table["n_flagged"] = np.bincount(which)
        table["first_epoch"] = first_epoch
        table["last_epoch"] = epochs[last]
        table["max_loss"] = max_loss
        table["last_loss"] = losses[last]
        table = table[
            np.lexsort((table["row"], -table["max_loss"], -table["n_flagged"]))
        ]
    try:
        import pandas as pd
    except ImportError:
        return table
    return pd.DataFrame(table).set_index("row")
