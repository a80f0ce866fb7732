"""Loss-spike detection and the errors and warnings of the spike policies.

Two checks find spikes, and ``spike_threshold`` means the same for both: how many
running spreads above a running baseline a loss must stand.

**Batches.** A batch loss is a *spike* when its logarithm exceeds a running baseline
of the logarithms of recent batch losses by more than ``spike_threshold`` times
their running spread. Working on the log scale makes the rule independent of the
loss's units and of how far training has brought it down: a spike is a jump by a
*factor* that is large against the batch-to-batch noise. The baseline and the spread
are an exponentially weighted mean (memory about :data:`MEAN_MEMORY` batches) and
standard deviation (about :data:`SPREAD_MEMORY` batches), updated in O(1) per batch.
The spread is widened by ``sqrt(largest batch / batch)`` for a smaller batch (the
last one of an epoch), whose mean loss is noisier, and is at least
:data:`MIN_SPREAD`: when the losses hardly vary (full-batch training near its
optimum), a rise by a fraction of a percent is not a spike; at the default threshold
a spike is at least ``exp(6 * MIN_SPREAD)``, 1.35 times the baseline.

A batch's loss here is its data loss, the mean of its rows' losses, without the
penalty (its objective, in ``history_.batch_loss``, adds it): the penalty does not
depend on the batch, and once a model fits its data well the penalty is a floor
under every batch's objective that squeezes their spread, so that a batch holding
one hard row stood out. A batch whose data loss is zero, fitted exactly or of zero
weight, has no size on a log scale: it is neither a spike nor learnt from (see
:data:`LOSS_FLOOR`).

Once the row check (below) has warmed up, a rise that one row makes is that check's
to judge: a batch whose loss stands out is a spike only if the mean loss of its
other rows (without its row of the largest weighted loss) stands out too, raised
by the log share that a batch's largest row usually has, a running mean over the
batches that do not stand out. A rise that the rows share, as a learning rate that
overcorrects makes, keeps that share, so it is judged as before; the baseline and
spread learn from the whole data loss either way, so these spikes are some of
those the whole loss would give. Batches with fewer rows than most (the last of an
epoch), whose largest row has a larger share, are judged whole. An
``MLPClassifier`` (20 hidden units, learning rate 0.01, default l2 penalty) on the
digits, batches of 16 to 64, 20 seeds, had 56 batch spikes in 1,200 epochs judged
with the penalty, none without the penalty (both measured once, by hand), one
judging the data loss (a jump of 372 times, which one row made) and none judging
its other rows too; on classes over log-normal features, two batches of 16 were
lifted 1.8 and 2.2 times by one hard but correct row each, and are no longer
spikes. Where the features have long tails, a learning rate that overcorrects may
also lift the longest row far more than the others: the row check then judges it.

The detector reports nothing during a warm-up of :data:`WARMUP_BATCHES` batches,
whose losses it keeps to start from their median and median absolute deviation, so
that bad batches in the warm-up do not blind it. Afterwards a spike enters the running
statistics clipped to :data:`CLIP_SPREADS` spreads above the baseline, so that spikes
do not inflate the spread and hide the next ones, while a lasting change of level is
still followed. A loss that stands out enters so whether or not its other rows
make it a spike. A non-finite loss or gradient is always a spike.

With the default threshold of 6, shuffled batches of 16 or 32 rows on standardised
regression and classification problems, with sgd and adam, gave no spike in 100
epochs over 10 seeds each (about 380,000 batches); a learning rate multiplied by 100
for one update was caught at the next batch; rows whose targets are scaled by 1e3
are the row check's, which names them whenever they are trained on after its
warm-up.

**Rows.** One bad row lifts the mean loss of a batch of 32 only so much, often less
than the batch-to-batch noise, and the batch's record would name 31 innocent rows
with it. So every row's loss, computed in the forward pass anyway, is checked too:
a row is a *culprit* when its *deviation* (how far its raw output is from its
target, read off its loss: the absolute residual of a regression loss, minus the
margin of a classification loss) exceeds the running median of the deviations of
recent rows by more than ``spike_threshold`` times their running spread, the
distance from that median to their running 98th percentile, and for the
classification losses at least 2.5 units of margin. Deviations, because those of
clean rows spread alike whatever the loss, where their losses do not (the log-loss
of a hard but correct row may be a hundred times the mean row loss); and a spread
that reaches into the tail, because hard rows make that tail heavy. A row is a
culprit too when its features' norm stands out of the training rows' norms by the
same rule (median, and spread to the 98th percentile, at least half the median)
while its deviation is more than 0.15 spreads above the running median: a
row far out in feature space, whose pull on the weights is many rows', that the
model fits worse than most rows. That finds a flipped label on inflated features
near the class boundary, whose loss is ordinary, and keeps finding it while the
model learns to fit it. The deviations' median and percentile follow the
share of each batch's rows above them, so the culprits barely move them, in O(1)
per batch; the norms', which do not change, are computed once per training call
(and averaged over ``partial_fit`` and ``warm_start`` calls by their rows).
The check is quiet during a warm-up of 20 batches and 640 rows, a non-finite
row loss is always a culprit, and a row of sample weight zero, which trains
nothing, never is. A batch holding a culprit is a spike whatever its own
loss: its :class:`~skfit.Spike` names the culprits first, with their losses, and
:func:`skfit.suspect_rows` ranks the rows named over the epochs. The rule is written
once, in :mod:`skfit._training._row_spikes`, for both training loops.

At the default threshold a row with normally distributed deviations would have to
stand 12 standard deviations out, and a classification row 15 units of margin beyond
the median row. In 19,200 epochs of clean data, with linear models and MLPs and
batches of 1 to all rows (``benchmarks/results_row_spikes.md``), no row was flagged
but for two kinds of data. On the digits, the MLP with its defaults gave a clean
digit with rare pixels, seven times the median row's length, a chance below one in
ten million in its first epoch: 2 row spikes in 1,200 epochs. On regression targets
over log-normal features, whose longest rows are 45 to 74 times the median one, the
check names those rows while the weights settle, as the model fits them last: 1,126
row spikes in 1,000 epochs of a linear regression and 318 of an MLP, most in the
first epochs. The longest clean rows of the other data reached 96% of the norms'
cutoff (a digit with rare pixels, standardised) and 42% to 57% of it. Of the batches
holding one of 10 bad rows in 2,000, in the rest of the epoch in which the warm-up
ends, those with a target moved by 10 standard deviations were all named; those with
a flipped label on features inflated 10 to 30 times 91% to 93%, and 95% to 97% of
those whose flipped label a model of the clean data rejects (the rest are rows whose
flip gave them the label that model gives them, 8.5% of them: the model fits them as
it fits clean rows, and their loss cannot tell them apart). Of ten digits given
another label and features inflated 30 times, 97.5% to 97.8%; inflated 10 times, 93%
(linear model) and 86% (MLP): such a digit may be shorter than the norms' cutoff and
fitted no worse than the hardest clean digits. In the next epoch recall falls where
the model has learnt to fit the bad row (to 76% to 86% on the digits), since its
loss is then ordinary. Of the rows the spikes named, all were bad but for 4 of the
4,768 that an MLP named on the digits.
"""

import math
import statistics

import numpy as np

from ._numba import jit

__all__ = ["LossSpikeError", "LossSpikeWarning", "SpikeDetector"]

#: Batches seen before the detector may report a spike.
WARMUP_BATCHES = 20
#: Memories, in batches, of the running baseline and of the running spread.
MEAN_MEMORY = 10
SPREAD_MEMORY = 20
#: The least spread of the log batch loss.
MIN_SPREAD = 0.05
#: A spike enters the statistics as the baseline plus this many spreads.
CLIP_SPREADS = 2.0
#: A loss at most this share of the warm-up's median (zero: a batch fitted exactly,
#: or of zero weight) has no size on a log scale: it is neither a spike nor learnt
#: from, as a few such losses would widen the spread past any later rise.
LOSS_FLOOR = 1e-8


class LossSpikeWarning(UserWarning):
    """Warning issued once per fit under ``spike_policy='warn'``, with a summary."""


class LossSpikeError(RuntimeError):
    """Raised under ``spike_policy='raise'``; ``spike`` holds the Spike record."""

    def __init__(self, spike):
        self.spike = spike
        super().__init__(
            f"Loss spike at epoch {spike.epoch}, batch {spike.batch}: "
            f"{_describe_spike(spike)}."
        )

    def __reduce__(self):
        # Exceptions unpickle as cls(*args), and args holds the message, not the
        # spike: without this, a worker's error could not reach a parallel search.
        return type(self), (self.spike,)


def _describe_spike(spike):
    """What made ``spike`` a spike, in words: its rows (the culprits first, with
    their own losses) and its batch loss against the baseline."""
    if spike.n_culprits:
        rows = (
            f"rows {_preview(spike.sample_indices)} whose own loss stands out: "
            f"{_preview(spike.culprit_losses, spec='.4g')}"
        )
    else:
        rows = f"rows {_preview(spike.sample_indices)}"
    if not math.isfinite(spike.loss):
        batch = f"a non-finite batch loss ({spike.loss})"
    elif not math.isfinite(spike.baseline):
        batch = f"batch loss {spike.loss:.6g}, before any baseline"
    else:
        # A batch made a spike by its rows alone may sit below its baseline.
        batch = (
            f"batch loss {spike.loss:.6g}, {spike.ratio:.3g} times the baseline "
            f"{spike.baseline:.6g}"
        )
    return f"{rows}; {batch}"


def _preview(values, count=8, spec="d"):
    shown = ", ".join(f"{value:{spec}}" for value in values[:count].tolist())
    return f"[{shown}, ...]" if len(values) > count else f"[{shown}]"


class SpikeDetector:
    """Running baseline of batch losses that flags spikes.

    Parameters
    ----------
    threshold : float
        A batch whose log-loss exceeds the running mean of recent log-losses by more
        than ``threshold`` running standard deviations is a spike (if, when its
        loss without its largest row is given, that stands out too: see
        :meth:`check`).

    Attributes
    ----------
    count : int
        The batch losses learnt from.
    mean, variance : float
        The running mean and variance of the log batch losses.
    largest_share : float
        The running mean of the log share of a batch's largest row, ``log(loss)
        - log(loss_without_largest)``, over whole batches that did not stand out;
        NaN before the first.
    largest_batch : int
        The most rows a batch has had.

    Examples
    --------
    >>> from skfit.spikes import SpikeDetector
    >>> detector = SpikeDetector(threshold=6.0)
    >>> [detector.check(1.0 + 0.1 * (i % 3), 32) for i in range(30)][-1]
    False
    >>> detector.check(50.0, 32), round(detector.previous_baseline, 2)
    (True, 1.11)
    """

    def __init__(self, threshold):
        self.threshold = threshold
        self.count = 0
        self.mean = 0.0
        self.variance = 0.0
        self.largest_share = math.nan
        self.floor = 0.0
        self.largest_batch = 0
        self.warmup = []
        self.previous_mean = math.nan

    @property
    def baseline(self):
        """The running (geometric) mean of recent batch losses; NaN before the first."""
        return math.exp(self.mean) if self.count else math.nan

    @property
    def previous_baseline(self):
        """The baseline the last checked loss was compared with."""
        return math.exp(self.previous_mean)

    def check(self, loss, n_samples, loss_without_largest=math.nan):
        """Whether the loss of a batch of ``n_samples`` rows is a spike; learn from it.

        This runs once per batch, so it does the least work: the baseline a loss
        was compared with is kept as :attr:`previous_baseline`, for the record of a
        spike.

        Parameters
        ----------
        loss : float
            The batch's loss. A non-finite loss is a spike.
        n_samples : int
            The batch's rows.
        loss_without_largest : float, default=NaN
            The batch's mean row loss without its row of the largest (weighted)
            loss, once another check judges rows: then a batch of the most rows
            whose loss stands out is a spike only if this loss, raised by
            :attr:`largest_share`, stands out too, since the rise that one row
            makes is that check's to judge. NaN: the batch is judged whole. The
            baseline and spread learn from ``loss`` either way.

        Returns
        -------
        is_spike : bool
        """
        mean = self.previous_mean = self.mean if self.count else math.nan
        if not math.isfinite(loss):
            return True
        if loss <= self.floor:
            return False
        if n_samples > self.largest_batch:
            self.largest_batch = n_samples
        if self.count < WARMUP_BATCHES:
            self._start(loss)
            return False
        self.count += 1
        is_spike, self.mean, self.variance, self.largest_share = _settled_check(
            loss,
            loss_without_largest,
            n_samples,
            self.largest_batch,
            mean,
            self.variance,
            self.largest_share,
            self.threshold,
        )
        return is_spike

    def check_run(self, losses, n_samples, losses_without_largest=None):
        """:meth:`check` for a run of batches in order, compiled when numba is
        installed: the engine's compiled loop checks an epoch's losses at its end.

        Parameters
        ----------
        losses : ndarray of shape (n_batches,)
            The batch losses, in the order the batches were trained.
        n_samples : sequence of int
            The rows of each batch.
        losses_without_largest : ndarray of shape (n_batches,), default=None
            Each batch's mean row loss without its row of the largest loss, as
            for :meth:`check`; None: every batch is judged whole.

        Returns
        -------
        spikes : ndarray of bool
            Whether each batch is a spike.
        baselines : ndarray of float
            The baseline each batch's loss was compared with.

        Examples
        --------
        >>> import numpy as np
        >>> from skfit.spikes import SpikeDetector
        >>> losses = np.r_[1.0 + 0.1 * (np.arange(30) % 3), 50.0]
        >>> detector = SpikeDetector(threshold=6.0)
        >>> spikes, baselines = detector.check_run(losses, [32] * 31)
        >>> np.flatnonzero(spikes), round(float(baselines[-1]), 2)
        (array([30]), 1.11)
        """
        n_batches = len(losses)
        if losses_without_largest is None:
            losses_without_largest = np.full(n_batches, np.nan)
        spikes = np.zeros(n_batches, dtype=bool)
        means = np.empty(n_batches)
        start = 0
        # The warm-up keeps its losses in a list for their median: it stays Python.
        while start < n_batches and self.count < WARMUP_BATCHES:
            spikes[start] = self.check(
                float(losses[start]),
                n_samples[start],
                float(losses_without_largest[start]),
            )
            means[start] = self.previous_mean
            start += 1
        if start < n_batches:
            statistics = _scan(
                np.asarray(losses[start:], dtype=float),
                np.asarray(losses_without_largest[start:], dtype=float),
                np.asarray(n_samples[start:], dtype=np.int64),
                self.threshold,
                self.floor,
                self.mean,
                self.variance,
                self.largest_share,
                self.largest_batch,
                spikes[start:],
                means[start:],
            )
            self.mean, self.variance, self.largest_share = statistics[:3]
            self.largest_batch, counted = statistics[3:]
            self.count += counted
            self.previous_mean = float(means[-1])
        return spikes, np.exp(means)

    def _start(self, loss):
        self.count += 1
        self.warmup.append(loss)
        self.floor = max(LOSS_FLOOR * statistics.median(self.warmup), 1e-300)
        logs = [math.log(max(value, self.floor)) for value in self.warmup]
        self.mean = statistics.median(logs)
        # 1.4826 times the median absolute deviation estimates a normal spread.
        deviation = statistics.median(abs(value - self.mean) for value in logs)
        self.variance = (1.4826 * deviation) ** 2
        if self.count == WARMUP_BATCHES:
            self.warmup = []


def _settled_check(
    loss, without_largest, n_samples, largest_batch, mean, variance, share, threshold
):
    """:meth:`SpikeDetector.check` after the warm-up, on plain numbers: returns
    ``(is_spike, mean, variance, largest_share)`` with the running statistics
    updated."""
    log_loss = math.log(loss)
    spread_variance = variance
    if n_samples < largest_batch:
        spread_variance *= largest_batch / n_samples
    spread = math.sqrt(spread_variance)
    if spread < MIN_SPREAD:
        spread = MIN_SPREAD
    cutoff = mean + threshold * spread
    # The largest row's share is learnt, and the others judged, in whole batches
    # alone: the fewer a batch's rows, the larger its largest row's share.
    whole = n_samples == largest_batch and not math.isnan(without_largest)
    is_spike = False
    if log_loss > cutoff:
        is_spike = True
        if whole and not math.isnan(share):
            # A rise the batch's rows share lifts them as much as the batch, but
            # for its largest row's usual share; one that row alone makes is the
            # row check's to judge.
            is_spike = (
                without_largest > 0.0 and math.log(without_largest) + share > cutoff
            )
        log_loss = mean + CLIP_SPREADS * spread
    elif whole and without_largest > 0.0:
        sample = log_loss - math.log(without_largest)
        share = sample if math.isnan(share) else share + (sample - share) / MEAN_MEMORY
    difference = log_loss - mean
    weight = 1.0 / SPREAD_MEMORY
    return (
        is_spike,
        mean + difference / MEAN_MEMORY,
        (1.0 - weight) * (variance + weight * difference * difference),
        share,
    )


def _loss_without_largest_row(loss_sum, weight, largest, largest_weight):
    """The mean row loss of a batch without its row of the largest (weighted)
    loss, ``(loss_sum - largest) / (weight - largest_weight)``, which must stand
    out too for the batch to be a spike (see :meth:`SpikeDetector.check`); the
    batch's mean row loss when no other row has weight.

    Parameters
    ----------
    loss_sum : float
        The batch's sum of (weighted) row losses.
    weight : float
        The batch's sum of row weights (its number of rows, unweighted).
    largest : float
        The largest (weighted) row loss of the batch.
    largest_weight : float
        The weight of that row.

    Examples
    --------
    >>> from skfit.spikes import _loss_without_largest_row
    >>> _loss_without_largest_row(1.0 + 2.0 + 30.0, 3.0, 30.0, 1.0)
    1.5
    >>> _loss_without_largest_row(30.0, 1.0, 30.0, 1.0)  # a batch of one row
    30.0
    """
    rest = weight - largest_weight
    if rest > 0.0:
        # Rounding may leave the others' sum a hair below zero when one row
        # dwarfs them.
        return max(loss_sum - largest, 0.0) / rest
    return loss_sum / weight if weight > 0.0 else 0.0


# The compiled runner's copy, called once per batch.
_compiled_loss_without_largest_row = jit(_loss_without_largest_row)


# check() calls the Python function (a compiled call per batch costs more than it
# saves); _scan runs a compiled copy of the same source.
_compiled_settled_check = jit(_settled_check)


@jit
def _scan(
    losses,
    without_largest,
    n_samples,
    threshold,
    floor,
    mean,
    variance,
    share,
    largest,
    spikes,
    means,
):
    """check() after the warm-up over a run of batches; fills ``spikes`` and
    ``means`` (the log baselines compared with) and returns the new statistics
    and the number of losses counted."""
    counted = 0
    for i in range(losses.shape[0]):
        means[i] = mean
        loss = losses[i]
        if not math.isfinite(loss):
            spikes[i] = True
            continue
        if loss <= floor:
            continue
        if n_samples[i] > largest:
            largest = n_samples[i]
        counted += 1
        spikes[i], mean, variance, share = _compiled_settled_check(
            loss,
            without_largest[i],
            n_samples[i],
            largest,
            mean,
            variance,
            share,
            threshold,
        )
    return mean, variance, share, largest, counted
