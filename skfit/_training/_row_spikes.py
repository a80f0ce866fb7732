"""The per-row spike check: the rows whose own loss stands far out of the rest.

Both batch runners compute every row's loss in the forward pass, and both hand a
batch's row losses to the same compiled function, :func:`check_rows` (the Python
runner through :meth:`RowSpikeDetector.check`): one rule, compiled once, with no
second pass over the data. It reads the losses of the batch, which are in cache,
in a loop of a few comparisons a row; a row's norm is read only for the rare row
whose loss could make it a culprit. The compiled runner first tries
:func:`check_ordinary_rows`, inlined, which settles a batch without a possible
culprit for less than the cost of a call to :func:`check_rows`: nearly every
batch, unless the data hold a row far out in feature space, when a batch with a
row the model fits worse than most takes the complete check.
:mod:`skfit.spikes` states the rule for users and what it was measured to do.

The rule
--------
Two statistics of a row stand out of the rest by one rule: exceeding the median
of the rows by more than ``spike_threshold`` times their spread, the distance from
that median to their 98th percentile.

- Its *deviation*: how far its raw output is from its target, in the units of the
  raw output (the absolute residual of a regression loss, minus the margin of a
  classification loss; see :mod:`skfit.losses._deviations`), read off its loss,
  against the running median and 98th percentile of recent rows (below). The
  spread is at least the loss's least spread.
- Its *norm*: the length of its feature vector, which scales the row's pull on
  the weights (a linear model's gradient of a row is its loss's derivative times
  its features). The spread is at least half the median norm, so that rows of
  (nearly) equal norms, such as one-hot rows, do not make every longer row stand
  out. A row's norm does not change as training goes, so the norms' median and
  98th percentile are not tracked but computed exactly, once per training call
  over its training rows (:func:`sklearn.utils.extmath.row_norms`), and averaged
  with those of earlier calls (``partial_fit``, ``warm_start``) by their rows.

A row is a *culprit* when its deviation stands out, or when its norm stands out
and its deviation exceeds the running median by more than 0.15 spreads
(:data:`FAR_OUT_SHARE`): a row far out in feature space that the model fits worse
than most rows. That second case finds the bad rows whose loss is ordinary but
whose pull is not: a flipped label on inflated features near the class boundary
has a small margin, and ten times the features of its neighbours; and the model
learns to fit such a row within a few visits, so a cutoff as high as the 98th
percentile missed some of them from their second visit. A clean row far out, which
the data's rare values make (a rare pixel of ``load_digits``, standardised), is
fitted as well as most and is not flagged. A non-finite row loss is always a
culprit. A row of sample weight zero never is: it does not move the model, so a
batch holding one is no reason to skip or roll back the others (its loss still
counts in the running statistics).

The deviations' median and 98th percentile are tracked by stochastic
approximation: after each batch of ``m`` rows, each moves by ``min(0.02 * m,
0.5)`` spreads times the share of the batch's rows above it less its target share
(1/2 and 1/50). Rows count only by whether they lie above, so the culprits
themselves barely move the statistics, and an update costs O(1) per batch: the
cutoff, the median and the percentile are turned into losses once per batch, and
a row costs a few comparisons. The gain is small enough that a batch corrects at
most half of a quantile's error, so the statistics do not swing with the rows of
one batch. The check is quiet during a warm-up of :data:`WARMUP_BATCHES` batches
and :data:`WARMUP_ROWS` rows; the median and the 98th percentile of the last
:data:`RECENT_ROWS` row losses of the warm-up start the running ones.
"""

import math

import numpy as np

from .._numba import jit
from ..losses._deviations import least_spread, row_deviation, row_loss_at
from ..spikes import WARMUP_BATCHES

__all__ = [
    "RowSpikeDetector",
    "check_ordinary_rows",
    "check_rows",
    "judges_rows",
    "norm_cutoff",
]

#: Rows seen (besides WARMUP_BATCHES batches) before a row may be flagged.
WARMUP_ROWS = 640
#: The last row losses of the warm-up, whose quantiles start the running ones.
RECENT_ROWS = 256
#: The share of rows above the high quantile (the 98th percentile).
HIGH_SHARE = 0.02
#: The statistics move by this many spreads per row of a batch...
ROW_GAIN = 0.02
#: ...and by at most this many spreads per batch (times the share's error).
MAX_GAIN = 0.5
#: A row far out in feature space is a culprit when its deviation exceeds the
#: running median by this many spreads: when the model fits it worse than most
#: rows (six in ten, for normally distributed residuals; at least 0.375 units
#: of margin, at the least spread of margins).
FAR_OUT_SHARE = 0.15
#: The least spread of the norms, as a share of their median.
LEAST_NORM_SPREAD = 0.5
#: The sample weights of unweighted data, for check_rows.
_NO_WEIGHTS = np.empty(0)

# The state array: the running deviations, the norms' statistics and the rows
# they were computed over, and the warm-up's counters.
(
    _MEDIAN,
    _HIGH,
    _NORM_MEDIAN,
    _NORM_HIGH,
    _NORM_ROWS,
    _NORM_MAX,
    _READY,
    _BATCHES,
    _ROWS,
    _STORED,
) = range(10)
_N_STATS = 10


class RowSpikeDetector:
    """Running median and spread of row deviations that flag the culprit rows.

    The state of the per-row check (see the module docstring), kept between
    ``fit`` and ``partial_fit`` calls as :class:`~skfit.spikes.SpikeDetector` is.
    Its arrays are what the compiled batch runner reads and updates in place.

    Parameters
    ----------
    threshold : float
        A row is flagged when its deviation exceeds the running median by more
        than ``threshold`` running spreads.

    Attributes
    ----------
    stats : ndarray of shape (10,)
        The running median and high quantile of the deviations; the median, high
        quantile and largest of the norms, and how many rows they were read
        from; and the warm-up's counters.
    recent : ndarray of shape (RECENT_ROWS,)
        The latest row losses of the warm-up.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.losses import SquaredError
    >>> from skfit._training._row_spikes import RowSpikeDetector
    >>> detector = RowSpikeDetector(threshold=6.0)
    >>> kernel = SquaredError().deviation_kernel(np.float64)
    >>> rng = np.random.default_rng(0)
    >>> positions, losses = np.empty(32, dtype=np.intp), np.empty(32)
    >>> norms = np.sqrt(rng.chisquare(10, size=1000))  # rows of 10 standard features
    >>> norms[9] = 50.0  # a row far out
    >>> detector.learn_norms(norms)
    >>> for batch in range(30):
    ...     row_losses = 0.5 * rng.standard_normal(32) ** 2
    ...     n = detector.check(kernel, row_losses, 0, positions, losses, norms)
    >>> row_losses[7] = 0.5 * 20.0**2  # a residual of 20 standard deviations
    >>> row_losses[9] = 4.5  # a residual of 3, of the row far out
    >>> n = detector.check(kernel, row_losses, 0, positions, losses, norms)
    >>> positions[:n], losses[:n]
    (array([7, 9]), array([200. ,   4.5]))
    """

    def __init__(self, threshold):
        self.threshold = threshold
        self.stats = np.zeros(_N_STATS)
        self.recent = np.zeros(RECENT_ROWS)

    @property
    def ready(self):
        """Whether the warm-up is over, so that rows may be flagged."""
        return judges_rows(self.stats)

    @property
    def norm_quantiles(self):
        """The median and 98th percentile of the training rows' norms learnt so
        far, averaged over training calls by their rows (see :meth:`learn_norms`);
        zeros before any."""
        return float(self.stats[_NORM_MEDIAN]), float(self.stats[_NORM_HIGH])

    def learn_norms(self, norms):
        """Fold the norms of a training call's rows into the norms' statistics.

        Parameters
        ----------
        norms : ndarray of shape (n_rows,)
            The norm of each training row's features.
        """
        if not norms.size:
            return
        # A norm that overflowed counts as the largest number, so that quantiles
        # and their averages over calls stay numbers.
        norms = np.minimum(norms, np.finfo(np.float64).max)
        median, high = np.quantile(norms, [0.5, 1.0 - HIGH_SHARE])
        seen = self.stats[_NORM_ROWS]
        share = norms.size / (seen + norms.size)
        for at, value in ((_NORM_MEDIAN, median), (_NORM_HIGH, high)):
            self.stats[at] += share * (value - self.stats[at])
        self.stats[_NORM_ROWS] = seen + norms.size
        self.stats[_NORM_MAX] = max(self.stats[_NORM_MAX], norms.max())

    def check(
        self,
        kernel,
        losses,
        start,
        positions,
        culprit_losses,
        norms,
        order=None,
        sample_weight=None,
    ):
        """Check a batch's row losses, and learn from them.

        Parameters
        ----------
        kernel : namedtuple
            The loss's :meth:`~skfit.losses.Loss.deviation_kernel`.
        losses : ndarray of shape (n_rows,)
            The loss of each row of the batch.
        start : int
            The position in the epoch of the batch's first row.
        positions, culprit_losses : ndarray of shape (>= n_rows,)
            Receive the positions in the epoch and the losses of the culprits.
        norms : ndarray of shape (n_samples,)
            The norm of the features of each row of the data, indexed by row
            number; the training rows' norms are those passed to
            :meth:`learn_norms` (the check relies on knowing their largest).
        order : ndarray of shape (n_positions,), default=None
            The row numbers in the epoch's order; None for rows in order. The
            batch's ``i``-th row is ``order[start + i]``.
        sample_weight : ndarray of shape (n_samples,), default=None
            The weight of each row of the data, by row number; None for equal
            weights. A row of weight zero is never flagged.

        Returns
        -------
        n_culprits : int
            How many rows were flagged: ``positions[:n_culprits]``.
        """
        return check_rows(
            kernel,
            self.stats,
            self.recent,
            self.threshold,
            losses,
            norms,
            _NO_WEIGHTS if sample_weight is None else sample_weight,
            np.empty(0, dtype=np.intp) if order is None else order,
            start,
            positions,
            culprit_losses,
        )


@jit(inline=True)
def judges_rows(stats):
    """Whether the warm-up of the check of this state is over, so that rows may
    be flagged."""
    return stats[_READY] != 0.0


@jit
def check_rows(
    kernel,
    stats,
    recent,
    threshold,
    losses,
    norms,
    sample_weight,
    order,
    start,
    positions,
    out,
):
    """Check the row losses of a batch, and learn from them.

    Parameters
    ----------
    kernel : namedtuple
        The loss's :meth:`~skfit.losses.Loss.deviation_kernel`.
    stats, recent : ndarray
        A :class:`RowSpikeDetector`'s state, updated in place.
    threshold : float
        How many spreads above the median make a deviation or a norm stand out.
    losses : ndarray of shape (n_rows,)
        The loss of each row of the batch.
    norms : ndarray of shape (n_samples,)
        The norm of the features of each row of the data, by row number.
    sample_weight : ndarray of shape (n_samples,)
        The weight of each row of the data, by row number; empty for equal
        weights. A row of weight zero is never a culprit.
    order : ndarray of shape (n_positions,)
        The row numbers in the epoch's order; empty for rows in order.
    start : int
        The position in the epoch of the batch's first row, ``order[start]``.
    positions, out : ndarray of shape (>= n_rows,)
        Receive the positions in the epoch and the losses of the culprits.

    Returns
    -------
    n_culprits : int
        How many culprits were recorded.
    """
    m = losses.shape[0]
    if m == 0:
        return 0
    if not judges_rows(stats):
        return _warm_up(kernel, stats, recent, losses, start, positions, out)
    culprit_loss, median_loss, high_loss, far_loss, ordinary, far_out, spread = (
        _cutoffs(kernel, stats, threshold)
    )
    above_median, above_high, rare = _tally(losses, median_loss, high_loss, ordinary)
    n_culprits = 0
    if rare:
        for i in range(m):
            loss = losses[i]
            if loss < ordinary:
                continue
            position = start + i
            row = order[position] if order.shape[0] else position
            if sample_weight.shape[0] and sample_weight[row] == 0.0:
                continue
            if not loss < culprit_loss or (loss > far_loss and norms[row] > far_out):
                positions[n_culprits] = position
                out[n_culprits] = loss
                n_culprits += 1
    _follow(stats, spread, m, above_median, above_high)
    return n_culprits


@jit(inline=True)
def check_ordinary_rows(kernel, stats, threshold, losses):
    """Learn from a batch in which no row may be a culprit, as :func:`check_rows`
    does, in a loop without branches.

    The compiled runner calls it first, inlined, because a call to
    :func:`check_rows` costs more than checking an ordinary batch of 32 rows.

    Parameters
    ----------
    kernel, stats, threshold, losses
        As for :func:`check_rows`.

    Returns
    -------
    settled : bool
        True when the batch was checked and learnt from; False, with nothing
        changed, when it needs :func:`check_rows`: during the warm-up, or when a
        row may be a culprit.
    """
    m = losses.shape[0]
    if m == 0:
        return True
    if not judges_rows(stats):
        return False
    culprit_loss, median_loss, high_loss, far_loss, ordinary, far_out, spread = (
        _cutoffs(kernel, stats, threshold)
    )
    above_median, above_high, rare = _tally(losses, median_loss, high_loss, ordinary)
    if rare:
        return False
    _follow(stats, spread, m, above_median, above_high)
    return True


@jit(inline=True)
def _cutoffs(kernel, stats, threshold):
    """``(a culprit's least loss, the median's loss, the high quantile's loss,
    the least loss of a culprit far out, the least loss of a row that may be a
    culprit, the least norm far out, the spread of the deviations)``.

    Without a row far out in the data, a culprit's loss is above the culprits'
    cutoff (and the far-out culprits' least loss is infinite); otherwise, it may
    be just above the far-out culprits' least loss.
    """
    median = stats[_MEDIAN]
    spread = max(stats[_HIGH] - median, least_spread(kernel, median))
    culprit_loss = row_loss_at(kernel, median + threshold * spread)
    high_loss = row_loss_at(kernel, stats[_HIGH])
    # No norm stands out of norms not learnt (see learn_norms).
    far_out = (
        norm_cutoff(stats[_NORM_MEDIAN], stats[_NORM_HIGH], threshold)
        if stats[_NORM_ROWS]
        else math.inf
    )
    # Without a row far out, no row needs the far-out culprits' cutoff: the
    # conversion it would cost is a third of an ordinary batch's check.
    far_loss = (
        row_loss_at(kernel, median + FAR_OUT_SHARE * spread)
        if stats[_NORM_MAX] > far_out
        else math.inf
    )
    ordinary = min(far_loss, culprit_loss)
    return (
        culprit_loss,
        row_loss_at(kernel, median),
        high_loss,
        far_loss,
        ordinary,
        far_out,
        spread,
    )


@jit(inline=True)
def norm_cutoff(median, high, threshold):
    """The least norm that stands out of norms of this median and 98th percentile:
    ``threshold`` spreads above the median, a spread being at least
    ``LEAST_NORM_SPREAD`` medians."""
    return median + threshold * max(high - median, LEAST_NORM_SPREAD * median)


@jit(inline=True)
def _tally(losses, median_loss, high_loss, ordinary):
    """``(rows above the median's loss, above the high quantile's, and not below
    ``ordinary``, a loss that is not a number included)``, in a loop without
    branches that the compiler turns into vector instructions."""
    above_median = above_high = rare = 0
    for i in range(losses.shape[0]):
        loss = losses[i]
        above_median += loss > median_loss
        above_high += loss > high_loss
        rare += not loss < ordinary
    return above_median, above_high, rare


@jit(inline=True)
def _follow(stats, spread, m, above_median, above_high):
    """Move the running median and high quantile of the deviations by the tallies
    of a batch of ``m`` rows."""
    step = min(ROW_GAIN * m, MAX_GAIN) * spread
    if math.isfinite(step):
        median = stats[_MEDIAN] + step * (above_median / m - 0.5)
        high = stats[_HIGH] + step * (above_high / m - HIGH_SHARE)
        stats[_MEDIAN] = median
        stats[_HIGH] = max(high, median)


@jit
def _warm_up(kernel, stats, recent, losses, start, positions, out):
    """A batch of the warm-up: keep its finite row losses among the recent ones
    and flag only the others; once the warm-up is over, start the running
    statistics from the quantiles of the recent losses."""
    n_culprits = 0
    for i in range(losses.shape[0]):
        loss = losses[i]
        if math.isfinite(loss):
            recent[int(stats[_STORED]) % recent.shape[0]] = loss
            stats[_STORED] += 1.0
        else:
            positions[n_culprits] = start + i
            out[n_culprits] = loss
            n_culprits += 1
    stats[_BATCHES] += 1.0
    stats[_ROWS] += losses.shape[0]
    if (
        stats[_BATCHES] >= WARMUP_BATCHES
        and stats[_ROWS] >= WARMUP_ROWS
        and stats[_STORED] > 0.0
    ):
        kept = recent[: int(min(stats[_STORED], recent.shape[0]))]
        _sort(kept)
        stats[_MEDIAN] = row_deviation(kernel, _quantile(kept, 0.5))
        stats[_HIGH] = row_deviation(kernel, _quantile(kept, 1.0 - HIGH_SHARE))
        stats[_READY] = 1.0
    return n_culprits


@jit
def _sort(values):
    """Sort ``values`` in place, by insertion: done once per fit on at most
    RECENT_ROWS values, where compiling ``np.sort`` took 2 of the first fit's
    seconds."""
    for i in range(1, values.shape[0]):
        value = values[i]
        j = i - 1
        while j >= 0 and values[j] > value:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = value


@jit
def _quantile(ordered, q):
    """The ``q`` quantile of sorted values, interpolated as ``np.quantile`` does."""
    place = q * (ordered.shape[0] - 1)
    below = int(math.floor(place))
    above = min(below + 1, ordered.shape[0] - 1)
    return ordered[below] + (place - below) * (ordered[above] - ordered[below])
