"""The per-row spike check: the rows whose own loss stands far out of the rest.

Both batch runners compute every row's loss in the forward pass, and both hand it
to the same compiled functions there: :func:`begin_rows` fixes a batch's cutoffs,
:func:`tally_row` reads each row's loss (on plain numbers, kept in registers by the
compiled row loop), :func:`note_row` records the rare row it singles out, and
:func:`end_rows` updates the running statistics; the Python runner calls them
through :meth:`RowSpikeDetector.check`. One rule, compiled once, with no second
pass over the data. :mod:`skfit.spikes` states the rule for users and what it was
measured to do.

The rule
--------
A row's loss is read as its *deviation*: how far its raw output is from its
target, in the units of the raw output (the absolute residual of a regression
loss, minus the margin of a classification loss; see
:mod:`skfit.losses._deviations`). A row is a *culprit* when its deviation exceeds
the running median of the deviations of recent rows by more than
``spike_threshold`` times their running spread, the distance from that median to
their running 98th percentile (at least the loss's least spread). A non-finite
row loss is always a culprit.

The median and the 98th percentile are tracked by stochastic approximation: after
each batch of ``m`` rows, each moves by ``min(0.02 * m, 0.5)`` spreads times the
share of the batch's rows above it less its target share (1/2 and 1/50). Rows
count only by whether they lie above, so the culprits themselves barely move the
statistics, and an update costs O(1) per batch: the cutoff, the median and the
percentile are turned into losses once per batch, and a row costs three
comparisons. The gain is small enough that a batch corrects at most half of a
quantile's error, so the statistics do not swing with the rows of one batch. The
check is quiet during a warm-up of :data:`WARMUP_BATCHES` batches and
:data:`WARMUP_ROWS` rows; the median and the 98th percentile of the last
:data:`RECENT_ROWS` row losses of the warm-up start the running ones.
"""

import math

import numpy as np

from .._numba import jit
from ..losses._deviations import least_spread, row_deviation, row_loss_at
from ..spikes import WARMUP_BATCHES

__all__ = ["RowSpikeDetector", "begin_rows", "end_rows", "note_row", "tally_row"]

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

# The state array: the running deviations, and the warm-up's counters.
_MEDIAN, _HIGH, _READY, _BATCHES, _ROWS, _STORED = range(6)
_N_STATS = 6


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
    stats : ndarray of shape (6,)
        The running median and high quantile of the deviations, and the
        warm-up's counters.
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
    >>> for batch in range(30):
    ...     row_losses = 0.5 * rng.standard_normal(32) ** 2
    ...     n = detector.check(kernel, row_losses, 0, positions, losses)
    >>> row_losses[7] = 0.5 * 20.0**2  # a residual of 20 standard deviations
    >>> n = detector.check(kernel, row_losses, 0, positions, losses)
    >>> positions[:n], losses[:n]
    (array([7]), array([200.]))
    """

    def __init__(self, threshold):
        self.threshold = threshold
        self.stats = np.zeros(_N_STATS)
        self.recent = np.zeros(RECENT_ROWS)

    @property
    def ready(self):
        """Whether the warm-up is over, so that rows may be flagged."""
        return bool(self.stats[_READY])

    def check(self, kernel, losses, start, positions, culprit_losses):
        """Check a batch's row losses and learn from them.

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

        Returns
        -------
        n_culprits : int
            How many rows were flagged: ``positions[:n_culprits]``.
        """
        return _check_rows(
            kernel,
            self.stats,
            self.recent,
            self.threshold,
            losses,
            start,
            positions,
            culprit_losses,
        )


@jit
def begin_rows(kernel, stats, threshold):
    """The batch's cutoffs, in loss units: ``(the least loss :func:`note_row`
    sees, a culprit's least loss, the median's, the high quantile's)``."""
    if stats[_READY] == 0.0:
        # The warm-up keeps every row's loss and flags only non-finite ones.
        return -math.inf, math.inf, math.inf, math.inf
    median = stats[_MEDIAN]
    spread = max(stats[_HIGH] - median, least_spread(kernel, median))
    culprit = row_loss_at(kernel, median + threshold * spread)
    return (
        culprit,
        culprit,
        row_loss_at(kernel, median),
        row_loss_at(kernel, stats[_HIGH]),
    )


@jit(inline=True)
def tally_row(cutoffs, tallies, loss):
    """Tally one row's loss into the batch's ``(rows above the median, rows above
    the high quantile)``; return them and whether :func:`note_row` must see the
    row (a culprit, or a row of the warm-up).

    It works on plain numbers, which the compiled row loop keeps in registers; a
    non-finite loss is never below a cutoff.
    """
    above_median, above_high = tallies
    return (
        (above_median + (loss > cutoffs[2]), above_high + (loss > cutoffs[3])),
        not loss < cutoffs[0],
    )


@jit(inline=True)
def note_row(stats, recent, cutoffs, loss, position, positions, losses, n_culprits):
    """Keep a warm-up row's loss among the recent ones, and record a culprit's
    position and loss at index ``n_culprits`` of ``positions`` and ``losses``;
    return the new count of culprits."""
    if stats[_READY] == 0.0 and math.isfinite(loss):
        recent[int(stats[_STORED]) % recent.shape[0]] = loss
        stats[_STORED] += 1.0
    if loss < cutoffs[1]:
        return n_culprits
    positions[n_culprits] = position
    losses[n_culprits] = loss
    return n_culprits + 1


@jit
def end_rows(kernel, stats, recent, m, tallies):
    """Update the running statistics from the tallies of a batch of ``m`` rows."""
    if m == 0:
        return
    if stats[_READY] == 0.0:
        stats[_BATCHES] += 1.0
        stats[_ROWS] += m
        if (
            stats[_BATCHES] >= WARMUP_BATCHES
            and stats[_ROWS] >= WARMUP_ROWS
            and stats[_STORED] > 0.0
        ):
            kept = np.sort(recent[: int(min(stats[_STORED], recent.shape[0]))])
            stats[_MEDIAN] = row_deviation(kernel, _quantile(kept, 0.5))
            stats[_HIGH] = row_deviation(kernel, _quantile(kept, 1.0 - HIGH_SHARE))
            stats[_READY] = 1.0
        return
    median = stats[_MEDIAN]
    spread = max(stats[_HIGH] - median, least_spread(kernel, median))
    step = min(ROW_GAIN * m, MAX_GAIN) * spread
    if not math.isfinite(step):
        return
    above_median, above_high = tallies
    median += step * (above_median / m - 0.5)
    high = stats[_HIGH] + step * (above_high / m - HIGH_SHARE)
    stats[_MEDIAN] = median
    stats[_HIGH] = max(high, median)


@jit
def _quantile(ordered, q):
    """The ``q`` quantile of sorted values, interpolated as ``np.quantile`` does."""
    place = q * (ordered.shape[0] - 1)
    below = int(math.floor(place))
    above = min(below + 1, ordered.shape[0] - 1)
    return ordered[below] + (place - below) * (ordered[above] - ordered[below])


@jit
def _check_rows(kernel, stats, recent, threshold, losses, start, positions, out):
    """One batch of the per-row check, as the compiled runner's row loop does it."""
    cutoffs = begin_rows(kernel, stats, threshold)
    tallies = (0, 0)
    n_culprits = 0
    for i in range(losses.shape[0]):
        tallies, noted = tally_row(cutoffs, tallies, losses[i])
        if noted:
            n_culprits = note_row(
                stats, recent, cutoffs, losses[i], start + i, positions, out, n_culprits
            )
    end_rows(kernel, stats, recent, losses.shape[0], tallies)
    return n_culprits
