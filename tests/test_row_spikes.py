"""The per-row spike check: planted rows are named, clean rows are not.

Rows are planted at known positions (corrupted regression targets; flipped labels on
inflated features), and the batches that hold them are read from the training
loop's order of rows; clean data of several kinds must give no spike at all.
"""

import contextlib
import math
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.special import expit
from scipy.stats import norm
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from test_spikes import ParameterLog

import skfit
from skfit import (
    GDClassifier,
    GDRegressor,
    LossSpikeError,
    LossSpikeWarning,
    MLPClassifier,
    MLPRegressor,
    Spike,
    suspect_rows,
)
from skfit._training import _python_batches
from skfit._training._loop import Training
from skfit._training._row_spikes import (
    _HIGH,
    _MEDIAN,
    _NORM_HIGH,
    _NORM_MAX,
    _NORM_MEDIAN,
    _NORM_ROWS,
    _READY,
    FAR_OUT_SHARE,
    HIGH_SHARE,
    WARMUP_ROWS,
    RowSpikeDetector,
    _sort,
    check_ordinary_rows,
    check_rows,
    norm_cutoff,
)
from skfit._training._spikes import SpikeWatch
from skfit.callbacks import Callback
from skfit.losses import (
    AbsoluteError,
    EpsilonInsensitive,
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    Poisson,
    SquaredError,
    SquaredHinge,
)
from skfit.losses._deviations import least_spread, row_deviation, row_loss_at
from skfit.spikes import WARMUP_BATCHES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N_ROWS = 2000
BATCH = 32
#: Batches of 32 before the per-row check may flag a row.
WARMUP = max(WARMUP_BATCHES, math.ceil(WARMUP_ROWS / BATCH))
BATCHES_PER_EPOCH = math.ceil(N_ROWS / BATCH)


# ------------------------------------------------------------------ data
def regression(seed, n=N_ROWS):
    X, y = make_regression(n, 10, noise=10, random_state=seed)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def classification(seed, n=N_ROWS, class_sep=1.0):
    X, y = make_classification(
        n, 10, n_informative=5, flip_y=0.0, class_sep=class_sep, random_state=seed
    )
    return StandardScaler().fit_transform(X), y


def heavy_tailed(seed, n=N_ROWS, task="classification"):
    """``(X, y, chance)``: classes of a logistic model on standardised log-normal
    features, whose rows' norms have a long tail (clean rows far out in feature
    space) and whose margins are mostly small and a few large, and the chance the
    true model gives each row's label; or ``(X, y)``, targets of a linear model
    with noise on such features (``task="regression"``), as
    ``benchmarks/row_spikes.py`` makes them."""
    rng = np.random.default_rng(seed)
    X = StandardScaler().fit_transform(rng.lognormal(sigma=2.0, size=(n, 10)))
    margins = X @ rng.standard_normal(10)
    if task == "regression":
        return X, margins + rng.standard_normal(n)
    y = (rng.random(n) < expit(margins)).astype(int)
    return X, y, expit(np.where(y == 1, margins, -margins))


def planted(kind, seed, n_bad=10, inflate=30):
    """Data with ``n_bad`` corrupted rows, and their row numbers: regression
    targets moved by 10 standard deviations, or classification rows (of
    ``make_classification``'s default classes, without its random labels) whose
    features are multiplied by ``inflate`` and whose label is flipped."""
    rng = np.random.default_rng(seed)
    bad = np.sort(rng.choice(N_ROWS, n_bad, replace=False))
    if kind == "regression":
        X, y = regression(seed)
        y[bad] += 10 * rng.choice([-1.0, 1.0], n_bad)
    else:
        X, y = make_classification(N_ROWS, 10, flip_y=0.0, random_state=seed)
        X = StandardScaler().fit_transform(X)
        X[bad] *= inflate
        y[bad] = 1 - y[bad]
    return X, y, bad


@contextlib.contextmanager
def recorded_orders():
    """Each epoch's order of rows (None: in order), as the training loop draws it."""
    orders = []
    original = Training.order

    def order(self, rng):
        orders.append(original(self, rng))
        return orders[-1]

    with mock.patch.object(Training, "order", order):
        yield orders


def fit_planted(kind, seed, shuffle, inflate=30, **params):
    X, y, bad = planted(kind, seed, inflate=inflate)
    Estimator = GDRegressor if kind == "regression" else GDClassifier
    est = Estimator(
        max_epochs=2,
        tol=None,
        spike_policy="ignore",
        shuffle=shuffle,
        random_state=seed,
    )
    with recorded_orders() as orders:
        est.set_params(**params).fit(X, y)
    return est, orders, bad


def holding(orders, bad):
    """``(epoch, batch)`` of every batch whose rows include a planted one."""
    held = set()
    for epoch, order in enumerate(orders, 1):
        positions = np.arange(N_ROWS) if order is None else order
        held |= {(epoch, p // BATCH) for p in np.flatnonzero(np.isin(positions, bad))}
    return held


def holding_after_warm_up(orders, bad):
    """The batches of :func:`holding` after the per-row check's warm-up."""
    return {
        (epoch, batch)
        for epoch, batch in holding(orders, bad)
        if (epoch - 1) * BATCHES_PER_EPOCH + batch >= WARMUP
    }


def contradicting(kind, seed, bad):
    """The planted rows whose corrupted target a model of the clean data rejects:
    every moved regression target, and the flipped labels that a logistic
    regression fitted on the clean rows does not give their clean features."""
    if kind == "regression":
        return bad
    X, y = make_classification(N_ROWS, 10, flip_y=0.0, random_state=seed)
    X = StandardScaler().fit_transform(X)
    clean = LogisticRegression().fit(X, y)
    return bad[(2 * y[bad] - 1) * clean.decision_function(X[bad]) > 0]


# ------------------------------------------------------------------ planted rows
@pytest.mark.parametrize(
    "kind, inflate",
    [("regression", None), ("classification", 10), ("classification", 30)],
    ids=["regression", "classification-x10", "classification-x30"],
)
def test_planted_rows_are_named_from_the_first_epoch_after_the_warm_up(kind, inflate):
    # A flipped row near the class boundary has a loss within the range of clean
    # rows' own; its inflated features are what name it (the norm check). A row
    # whose flip gives it the label a model of the clean data gives it is fitted
    # like a clean row, and no rule on losses can name it: recall is counted over
    # the batches holding a row that the clean model contradicts (about 91% of
    # the flipped rows; benchmarks/results_row_spikes.md).
    hits = held = hits_all = held_all = named = planted_named = 0
    for seed in range(3):
        for shuffle in (True, False):
            est, orders, bad = fit_planted(kind, seed, shuffle, inflate=inflate)
            spiked = {(s.epoch, s.batch) for s in est.spikes_}
            contradicted = holding_after_warm_up(orders, contradicting(kind, seed, bad))
            hits += len(contradicted & spiked)
            held += len(contradicted)
            hits_all += len(holding_after_warm_up(orders, bad) & spiked)
            held_all += len(holding_after_warm_up(orders, bad))
            for spike in est.spikes_:
                named += spike.sample_indices.size
                planted_named += np.isin(spike.sample_indices, bad).sum()
    # Recall per batch holding a planted row, over the rest of the first epoch and
    # the whole second one; precision over every row a spike names.
    assert held > 80
    assert hits / held >= 0.95
    assert hits_all / held_all >= 0.88
    assert planted_named / named >= 0.9


def test_a_culprit_record_keeps_its_batch_and_losses():
    est, orders, bad = fit_planted("classification", 0, shuffle=True)
    named = [s for s in est.spikes_ if s.n_culprits]
    assert named
    X, y, _ = planted("classification", 0)
    for spike in named:
        assert spike.n_culprits == spike.sample_indices.size
        assert spike.culprit_losses.dtype == np.float32
        assert spike.culprit_losses.shape == spike.sample_indices.shape
        assert np.isin(spike.sample_indices, spike.batch_indices).all()
        # The batch's rows are those the epoch's order put there.
        order = orders[spike.epoch - 1]
        batch = order[spike.batch * BATCH : (spike.batch + 1) * BATCH]
        np.testing.assert_array_equal(spike.batch_indices, batch)
        assert spike.n_samples == batch.size


def test_culprit_losses_are_the_rows_own_losses():
    # Rows in order and a loss that the fitted model reproduces: one batch, checked
    # against the log-loss of its rows computed from the parameters before it.
    X, y, bad = planted("classification", 1)

    class Parameters(Callback):
        def on_train_begin(self, estimator):
            self.before = {}

        def on_batch_end(self, estimator, record):
            network = estimator._state.network
            self.before[record["epoch"], record["batch"] + 1] = [
                p.copy() for p in network.params
            ]

    log = Parameters()
    est = GDClassifier(
        max_epochs=1, tol=None, shuffle=False, spike_policy="ignore", callbacks=[log]
    ).fit(X, y)
    spike = next(s for s in est.spikes_ if s.n_culprits)
    coef, intercept = log.before[spike.epoch, spike.batch]
    raw = X[spike.sample_indices] @ coef + intercept
    expected = LogLoss().loss(y[spike.sample_indices, None].astype(float), raw)
    np.testing.assert_allclose(spike.culprit_losses, expected, rtol=1e-5)


# ------------------------------------------------------------------ clean data
def clean_spikes(Estimator, X, y, seeds, batch_sizes, **params):
    n = 0
    for seed in seeds:
        for batch_size in batch_sizes:
            est = Estimator(
                batch_size=batch_size,
                tol=None,
                spike_policy="ignore",
                random_state=seed,
                **params,
            ).fit(X, y)
            n += len(est.spikes_)
    return n


@pytest.mark.parametrize(
    "Estimator, data",
    [
        (GDRegressor, lambda seed: regression(seed, n=1000)),
        (GDClassifier, lambda seed: classification(seed, n=1000, class_sep=0.5)),
        (GDClassifier, lambda seed: classification(seed, n=1000, class_sep=2.0)),
        (GDClassifier, lambda seed: heavy_tailed(seed, n=1000)[:2]),
    ],
    ids=["regression", "overlapping-classes", "separated-classes", "heavy-tailed"],
)
def test_no_spike_on_clean_linear_fits(Estimator, data):
    # 4 seeds x 3 batch sizes x 25 epochs: 300 epochs, 13,000 batches.
    n = sum(
        clean_spikes(Estimator, *data(seed), [seed], [16, 32, 64], max_epochs=25)
        for seed in range(4)
    )
    assert n == 0


@pytest.mark.parametrize(
    "Estimator, data",
    [
        (MLPRegressor, lambda: regression(0, n=600)),
        (MLPClassifier, lambda: classification(0, n=600, class_sep=0.5)),
    ],
    ids=["regression", "overlapping-classes"],
)
def test_no_spike_on_clean_mlp_fits(Estimator, data):
    X, y = data()
    n = clean_spikes(
        Estimator,
        X,
        y,
        range(2),
        [16, 64],
        hidden_layer_sizes=(20,),
        learning_rate=0.01,
        max_epochs=15,
    )
    assert n == 0


@pytest.mark.parametrize(
    "load", [load_breast_cancer, load_digits], ids=["breast_cancer", "digits"]
)
def test_no_spike_on_hard_but_correct_rows_of_real_data(load):
    # Well-separated classes with a few hard rows: a sharp model gives those a
    # log-loss far above the mean row loss, and they must not be flagged.
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = GDClassifier(
        batch_size=16, max_epochs=40, tol=None, spike_policy="ignore", random_state=0
    ).fit(X, y)
    losses = est._state.loss.loss(
        np.eye(est.classes_.size)[np.searchsorted(est.classes_, y)]
        if est.classes_.size > 2
        else y[:, None].astype(float),
        est.decision_function(X).reshape(len(y), -1),
    )
    assert losses.max() > 30 * losses.mean()  # heavy-tailed row losses
    assert est.spikes_ == []


def test_no_spike_on_a_label_the_true_model_finds_unlikely():
    # One row's label has 0.7% chance under the true model. It is a correct row,
    # harder than the rest by about 6 logits, which half a unit of margin as the
    # least spread flagged in 13 of 20 epochs.
    X, y, chance = heavy_tailed(5)
    assert np.sort(chance)[:2] == pytest.approx([0.0073, 0.053], abs=1e-3)
    est = GDClassifier(
        batch_size=16, max_epochs=20, tol=None, spike_policy="ignore", random_state=5
    ).fit(X, y)
    assert est.spikes_ == []


def test_no_spike_on_a_label_an_mlp_grows_surer_of_than_the_true_model():
    # One row's label has a chance of 1 in 30,000 under the true model (-10.4
    # logits). The MLP comes to give it a margin of -9.0, its median row +0.3: a
    # least spread of 1.5 units of margin (9 units from the median row to a
    # culprit) flagged it in 7 of 20 epochs.
    X, y, chance = heavy_tailed(17)
    assert chance.min() == pytest.approx(expit(-10.4), rel=0.05)
    est = MLPClassifier(
        batch_size=64, max_epochs=20, tol=None, spike_policy="ignore", random_state=17
    ).fit(X, y)
    assert est.spikes_ == []


def judged_whole():
    """The Python runner's batch check judging each batch's loss as a whole, as
    it did before it left the rise one row makes to the per-row check."""
    return mock.patch.object(
        _python_batches,
        "_loss_without_largest_row",
        lambda loss_sum, weight, largest, largest_weight: loss_sum / weight,
    )


@pytest.mark.parametrize("seed", [5, 7])
def test_one_hard_row_does_not_make_its_batch_a_spike(seed):
    # An MLP on log-normal classes, batches of 16: one hard but correct row,
    # below the row check's cutoff, lifted its batch's loss 1.8 and 2.2 times,
    # which the batch check judged a spike when it judged batches as a whole.
    X, y, _ = heavy_tailed(seed)

    def fit():
        return MLPClassifier(
            hidden_layer_sizes=(20,),
            learning_rate=0.01,
            batch_size=16,
            max_epochs=20,
            tol=None,
            spike_policy="ignore",
            random_state=seed,
        ).fit(X, y)

    assert fit().spikes_ == []
    with judged_whole():
        whole = fit().spikes_
    assert [s.n_culprits for s in whole] == [0]
    assert 1.5 < whole[0].ratio < 2.5


@pytest.mark.parametrize("seed, batch_size", [(4, 16), (15, 32), (16, 32)])
def test_both_runners_leave_a_rise_that_one_row_makes_to_the_row_check(
    seed, batch_size
):
    # A linear model on log-normal features: a long row, which the model fits
    # last, lifts its batch 4 to 13 times, while the batch's other rows do not
    # rise. Judged as a whole, that batch was a spike.
    X, y = heavy_tailed(seed, task="regression")

    def fit(use_numba):
        with skfit.config_context(use_numba=use_numba):
            return GDRegressor(
                batch_size=batch_size,
                max_epochs=20,
                tol=None,
                spike_policy="ignore",
                random_state=seed,
            ).fit(X, y)

    compiled, python = fit(True), fit(False)
    assert [(s.epoch, s.batch, s.n_culprits) for s in compiled.spikes_] == [
        (s.epoch, s.batch, s.n_culprits) for s in python.spikes_
    ]
    # Neither runner makes a batch spike of it (the row check may name the row).
    assert not [s for s in compiled.spikes_ if not s.n_culprits]
    with judged_whole():
        whole = fit(False)
    assert [s.ratio > 4 for s in whole.spikes_ if not s.n_culprits] == [True]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_both_runners_judge_the_same_loss_without_the_largest_row(shuffle, weighted):
    # What each runner hands the batch check, batch by batch: NaN until the row
    # check has warmed up (640 rows, 40 batches of 16), then the mean loss of the
    # other rows, found among the rows by their weighted loss.
    X, y = heavy_tailed(3, n=1000, task="regression")
    rng = np.random.default_rng(3)
    sample_weight = None
    if weighted:
        sample_weight = rng.choice([0.0, 0.5, 1.0, 4.0], size=y.size)
    handed = {}
    for use_numba in (True, False):
        record = handed[use_numba] = []

        def check(self, *args, _check=SpikeWatch.check, _record=record):
            _record.append(args[4])  # one batch, in the Python runner
            return _check(self, *args)

        def replay(self, *args, _replay=SpikeWatch.replay, _record=record, **kwargs):
            _record.extend(args[4])  # an epoch's batches, in the compiled runner
            return _replay(self, *args, **kwargs)

        with (
            skfit.config_context(use_numba=use_numba),
            mock.patch.object(SpikeWatch, "check", check),
            mock.patch.object(SpikeWatch, "replay", replay),
        ):
            GDRegressor(
                batch_size=16,
                max_epochs=3,
                tol=None,
                shuffle=shuffle,
                spike_policy="ignore",
                random_state=0,
            ).fit(X, y, sample_weight=sample_weight)
    compiled, python = np.array(handed[True]), np.array(handed[False])
    assert compiled.shape == python.shape == (3 * 63,)
    assert np.isnan(python[:40]).all() and not np.isnan(python[40:]).any()
    np.testing.assert_allclose(compiled, python, rtol=1e-9)


@pytest.mark.parametrize("batch_size", [1, None])
def test_no_spike_with_batches_of_one_row_or_all_rows(batch_size):
    X, y = classification(0, n=400, class_sep=0.5)
    n = clean_spikes(GDClassifier, X, y, range(2), [batch_size], max_epochs=30)
    X, y = regression(0, n=400)
    n += clean_spikes(GDRegressor, X, y, range(2), [batch_size], max_epochs=30)
    assert n == 0


# ------------------------------------------------------------------ runners agree
@pytest.mark.parametrize("kind", ["regression", "classification"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_compiled_and_python_runners_flag_the_same_rows(kind, shuffle):
    X, y, _ = planted(kind, 2)
    Estimator = GDRegressor if kind == "regression" else GDClassifier
    make = lambda: Estimator(  # noqa: E731
        max_epochs=3, tol=None, shuffle=shuffle, spike_policy="warn", random_state=0
    )
    with pytest.warns(LossSpikeWarning, match="suspect_rows"):
        compiled = make().fit(X, y)
    with skfit.config_context(use_numba=False), pytest.warns(LossSpikeWarning):
        python = make().fit(X, y)
    assert sum(s.n_culprits for s in compiled.spikes_) > 10
    assert len(compiled.spikes_) == len(python.spikes_)
    for a, b in zip(compiled.spikes_, python.spikes_, strict=True):
        assert (a.epoch, a.batch, a.n_culprits) == (b.epoch, b.batch, b.n_culprits)
        np.testing.assert_array_equal(a.sample_indices, b.sample_indices)
        np.testing.assert_array_equal(a.batch_indices, b.batch_indices)
        np.testing.assert_allclose(a.culprit_losses, b.culprit_losses, rtol=1e-5)
    np.testing.assert_allclose(
        compiled._state.row_detector.stats[:2],
        python._state.row_detector.stats[:2],
        rtol=1e-7,
    )


@pytest.mark.parametrize("use_numba", [True, False], ids=["compiled", "python"])
def test_the_norm_check_names_rows_in_both_runners(use_numba):
    # Flipped rows on features inflated 10 times: without their norms' statistics
    # (no norm stands out of norms not learnt) fewer of them are named.
    def planted_named():
        named = 0
        for seed in range(3):
            X, y, bad = planted("classification", seed, inflate=10)
            with skfit.config_context(use_numba=use_numba):
                est = GDClassifier(
                    max_epochs=2, tol=None, spike_policy="ignore", random_state=0
                ).fit(X, y)
            named += sum(
                np.isin(s.sample_indices[: s.n_culprits], bad).sum()
                for s in est.spikes_
            )
        return named

    with_norms = planted_named()
    with mock.patch.object(RowSpikeDetector, "learn_norms", lambda self, norms: None):
        without_norms = planted_named()
    assert with_norms > 1.2 * without_norms


# ------------------------------------------------------------------ policies
def one_row_data():
    """Clean classification data with one inflated, flipped row in batch 40 of
    each epoch (rows in order): its batch's loss stays below the batch check's
    threshold, so only the per-row check can find it."""
    X, y = classification(3)
    X[40 * BATCH + 5] *= 30
    y[40 * BATCH + 5] = 1 - y[40 * BATCH + 5]
    return X, y


def test_the_row_alone_makes_the_batch_a_spike():
    X, y = one_row_data()
    est = GDClassifier(
        max_epochs=2, tol=None, shuffle=False, spike_policy="ignore", random_state=0
    ).fit(X, y)
    assert [(s.epoch, s.batch) for s in est.spikes_] == [(1, 40), (2, 40)]
    for spike in est.spikes_:
        np.testing.assert_array_equal(spike.sample_indices, [40 * BATCH + 5])
        # The batch as a whole is no spike: it rose far less than the threshold.
        assert spike.ratio < 3


@pytest.mark.parametrize("use_numba", [True, False], ids=["compiled", "python"])
def test_a_row_of_weight_zero_is_never_a_culprit(use_numba):
    # The user's fix for a bad row may be to weigh it zero: it then trains
    # nothing, and a batch holding it must not count as a spike (under "skip",
    # the other rows of its batch would be lost).
    X, y = one_row_data()
    bad = 40 * BATCH + 5
    weights = np.ones(len(y))
    make = lambda: GDClassifier(  # noqa: E731
        max_epochs=2, tol=None, shuffle=False, spike_policy="skip", random_state=0
    )
    with skfit.config_context(use_numba=use_numba):
        weighted = make().fit(X, y, sample_weight=weights)
        weights[bad] = 0.0
        excluded = make().fit(X, y, sample_weight=weights)
    assert [s.sample_indices.tolist() for s in weighted.spikes_] == [[bad], [bad]]
    assert excluded.spikes_ == []
    assert excluded.t_ == 2 * BATCHES_PER_EPOCH


def test_skip_withholds_the_update_of_a_row_flagged_batch():
    X, y = one_row_data()
    log = ParameterLog()
    est = GDClassifier(
        max_epochs=2,
        tol=None,
        shuffle=False,
        spike_policy="skip",
        callbacks=[log],
        random_state=0,
    ).fit(X, y)
    skipped = [i for i, (r, _) in enumerate(log.log) if r and r["skipped"]]
    assert [log.log[i][0]["batch"] for i in skipped] == [40, 40]
    for i in skipped:
        for before, after in zip(log.log[i - 1][1], log.log[i][1], strict=True):
            np.testing.assert_array_equal(before, after)
    assert est.t_ == 2 * BATCHES_PER_EPOCH - 2


def test_rollback_acts_on_a_row_flagged_batch():
    X, y = one_row_data()
    est = GDClassifier(
        max_epochs=1, tol=None, shuffle=False, spike_policy="rollback", random_state=0
    ).fit(X, y)
    assert est.spikes_[0].n_culprits == 1
    assert est.history_["learning_rate"][-1] == pytest.approx(0.005)


def test_raise_names_the_culprit_and_its_loss():
    X, y = one_row_data()
    est = GDClassifier(
        max_epochs=1, tol=None, shuffle=False, spike_policy="raise", random_state=0
    )
    with pytest.raises(LossSpikeError, match=r"rows \[1285\] whose own loss") as info:
        est.fit(X, y)
    spike = info.value.spike
    assert spike.n_culprits == 1 and spike.sample_indices.tolist() == [1285]
    assert f"{spike.culprit_losses[0]:.4g}" in str(info.value)


def test_the_row_statistics_carry_over_partial_fit_calls():
    # Each call is too short for a warm-up of its own: the row found in the third
    # call is found because the statistics of the first two carried over.
    X, y = classification(4, n=600)
    est = GDClassifier(batch_size=BATCH, spike_policy="ignore", random_state=0)
    est.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert est.spikes_ == []
    # The row the model is surest of gets its features inflated and its label
    # flipped.
    row = np.argmax((2 * y - 1) * est.decision_function(X))
    X_bad, y_bad = X.copy(), y.copy()
    X_bad[row] *= 30
    y_bad[row] = 1 - y_bad[row]
    est.partial_fit(X_bad, y_bad)
    assert [s.sample_indices.tolist() for s in est.spikes_] == [[row]]


def test_a_refused_call_leaves_the_row_statistics_as_they_were():
    X, y = one_row_data()
    est = GDClassifier(max_epochs=1, tol=None, shuffle=False, random_state=0)
    est.set_params(spike_policy="ignore").fit(X[:1200], y[:1200])
    stats = est._state.row_detector.stats.copy()
    est.set_params(spike_policy="raise", warm_start=True)
    with pytest.raises(LossSpikeError):
        est.fit(X, y)
    np.testing.assert_array_equal(est._state.row_detector.stats, stats)


# ------------------------------------------------------------------ the rule
def test_quiet_during_the_warm_up_except_for_non_finite_rows():
    detector = RowSpikeDetector(threshold=6.0)
    kernel = SquaredError().deviation_kernel(np.float64)
    positions, losses = np.empty(4, dtype=np.intp), np.empty(4)
    huge = np.array([1.0, 1e6, np.inf, np.nan])
    n = detector.check(kernel, huge, 100, positions, losses, np.ones(104))
    assert not detector.ready
    assert positions[:n].tolist() == [102, 103]
    assert losses[0] == np.inf and np.isnan(losses[1])


def test_running_statistics_track_the_median_and_98th_percentile():
    # Half squared errors of standard normal residuals: the deviation is |r|, whose
    # median and 98th percentile are the normal's 75th and 99th percentiles.
    detector = RowSpikeDetector(threshold=6.0)
    kernel = SquaredError().deviation_kernel(np.float64)
    rng = np.random.default_rng(0)
    positions, losses = np.empty(32, dtype=np.intp), np.empty(32)
    medians, highs = [], []
    for _ in range(4000):
        row_losses = 0.5 * rng.standard_normal(32) ** 2
        detector.check(kernel, row_losses, 0, positions, losses, np.ones(32))
        medians.append(detector.stats[0])
        highs.append(detector.stats[1])
    assert np.mean(medians[1000:]) == pytest.approx(norm.ppf(0.75), rel=0.03)
    assert np.mean(highs[1000:]) == pytest.approx(
        norm.ppf(1 - HIGH_SHARE / 2), rel=0.03
    )


def test_norm_statistics_are_the_quantiles_of_the_rows_trained_on():
    # One call: np.quantile's; calls of 1000 and 3000 rows: averaged by rows.
    detector = RowSpikeDetector(threshold=6.0)
    rng = np.random.default_rng(2)
    first, second = rng.gamma(2.0, size=1000), 5 + rng.gamma(2.0, size=3000)
    detector.learn_norms(first)
    np.testing.assert_allclose(
        detector.stats[2:4], np.quantile(first, [0.5, 1 - HIGH_SHARE])
    )
    detector.learn_norms(second)
    np.testing.assert_allclose(
        detector.stats[2:4],
        0.25 * np.quantile(first, [0.5, 1 - HIGH_SHARE])
        + 0.75 * np.quantile(second, [0.5, 1 - HIGH_SHARE]),
    )


def test_fit_and_partial_fit_learn_the_norms_of_the_rows_they_train_on():
    X, y = classification(0, n=1000)
    X[::2] *= 3
    quantiles = lambda rows: np.quantile(  # noqa: E731
        np.linalg.norm(rows, axis=1), [0.5, 1 - HIGH_SHARE]
    )
    est = GDClassifier(max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(est._state.row_detector.stats[2:4], quantiles(X))
    est = GDClassifier(max_epochs=1, random_state=0).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(est._state.row_detector.stats[2:4], quantiles(X))
    # A validation split: the training rows' norms alone.
    calls = []
    run = Training.run

    def recording_run(self):
        calls.append(self.data.rows)
        return run(self)

    with mock.patch.object(Training, "run", recording_run):
        est = GDClassifier(
            max_epochs=1, early_stopping=True, validation_fraction=0.5, random_state=0
        ).fit(X, y)
    [rows] = calls
    assert len(rows) < len(X)
    np.testing.assert_allclose(est._state.row_detector.stats[2:4], quantiles(X[rows]))
    est = GDClassifier(random_state=0).partial_fit(X[:250], y[:250], classes=[0, 1])
    est.partial_fit(X[250:], y[250:])
    np.testing.assert_allclose(
        est._state.row_detector.stats[2:4],
        0.25 * quantiles(X[:250]) + 0.75 * quantiles(X[250:]),
    )


def warmed_up_detector(norms_of_rows, also, seed=3):
    """A detector warmed up on half squared errors of standard normal residuals,
    of rows whose norms ``norms_of_rows(rng, size)`` draws, in data that also
    holds rows of the norms ``also``."""
    detector = RowSpikeDetector(threshold=6.0)
    kernel = SquaredError().deviation_kernel(np.float64)
    rng = np.random.default_rng(seed)
    detector.learn_norms(np.concatenate([norms_of_rows(rng, 6400), also]))
    positions, losses = np.empty(32, dtype=np.intp), np.empty(32)
    for _ in range(200):
        row_losses = 0.5 * rng.standard_normal(32) ** 2
        detector.check(kernel, row_losses, 0, positions, losses, norms_of_rows(rng, 32))
    assert detector.ready
    return detector, kernel


@pytest.mark.parametrize(
    "residual, norm, flagged",
    [
        (3.0, 60.0, True),  # far out, and fitted worse than 98% of rows
        (1.6, 60.0, True),  # far out, and fitted worse than 89% of rows
        (1.1, 60.0, True),  # far out, and fitted worse than 73% of rows
        (0.95, 60.0, True),  # far out, and fitted worse than 66% of rows
        (0.8, 60.0, False),  # far out, fitted a little worse than the median row
        (3.0, 4.0, False),  # fitted worse than most, but of an ordinary norm
        (3.0, 9.0, False),  # long, but within the norms' spread
    ],
)
def test_a_row_far_out_is_flagged_when_fitted_worse_than_most(residual, norm, flagged):
    detector, kernel = warmed_up_detector(
        lambda rng, size: np.sqrt(rng.chisquare(10, size=size)), [norm]
    )
    # The norms' cutoff: their median is about 3.1 and their 98th percentile 4.6
    # (the 98th percentile of |r| is about 2.33).
    assert 9.0 < norm_cutoff(detector.stats[2], detector.stats[3], 6.0) < 60.0
    row_losses, norms = np.full(32, 0.5 * 0.5**2), np.full(32, 3.0)
    row_losses[5], norms[5] = 0.5 * residual**2, norm
    positions, losses = np.empty(32, dtype=np.intp), np.empty(32)
    n = detector.check(kernel, row_losses, 0, positions, losses, norms)
    assert positions[:n].tolist() == ([5] if flagged else [])


def test_rows_of_equal_norms_do_not_make_a_longer_row_stand_out():
    # One-hot rows all have the same norm: the norms' spread is at least half
    # their median, so a row twice as long is within it, and one ten times as
    # long is not.
    detector, kernel = warmed_up_detector(
        lambda rng, size: np.full(size, 2.0), [4.0, 20.0]
    )
    row_losses, norms = np.full(32, 0.5 * 0.5**2), np.full(32, 2.0)
    row_losses[5] = 0.5 * 3.0**2
    positions, losses = np.empty(32, dtype=np.intp), np.empty(32)
    for long_norm, n_flagged in [(4.0, 0), (20.0, 1)]:
        norms[5] = long_norm
        assert detector.check(kernel, row_losses, 0, positions, losses, norms) == (
            n_flagged
        )


def test_a_few_extreme_rows_barely_move_the_statistics():
    kernel = SquaredError().deviation_kernel(np.float64)
    rng = np.random.default_rng(1)
    batches = [0.5 * rng.standard_normal(32) ** 2 for _ in range(300)]
    positions, losses = np.empty(32, dtype=np.intp), np.empty(32)
    clean, dirty = RowSpikeDetector(6.0), RowSpikeDetector(6.0)
    flagged = 0
    for i, batch in enumerate(batches):
        clean.check(kernel, batch, 0, positions, losses, np.ones(32))
        if i % 10 == 0:
            batch = batch.copy()
            batch[3] = 1e12
        flagged += dirty.check(kernel, batch, 0, positions, losses, np.ones(32))
    assert flagged == len(range(WARMUP_BATCHES, 300, 10))  # all after the warm-up
    np.testing.assert_allclose(dirty.stats[:2], clean.stats[:2], rtol=0.1)


KERNELS = {
    "squared_error": SquaredError(),
    "absolute_error": AbsoluteError(),
    "huber": Huber(epsilon=0.5),
    "epsilon_insensitive": EpsilonInsensitive(epsilon=0.5),
    "poisson": Poisson(),
    "log_loss": LogLoss(),
    "hinge": Hinge(),
    "squared_hinge": SquaredHinge(),
    "modified_huber": ModifiedHuber(),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
@settings(max_examples=40, deadline=None)
@given(loss=st.floats(1e-6, 1e6))
def test_loss_at_inverts_the_deviation(name, loss):
    kernel = KERNELS[name].deviation_kernel(np.float64)
    deviation = row_deviation(kernel, loss)
    assert row_loss_at(kernel, deviation) == pytest.approx(loss, rel=1e-9, abs=1e-12)
    assert row_deviation(kernel, 2 * loss) > deviation


@settings(max_examples=60, deadline=None)
@given(raw=st.floats(-15, 15), target=st.floats(-5, 5), positive=st.booleans())
def test_deviations_are_residuals_and_margins(raw, target, positive):
    # The deviation of a regression row is its absolute residual (up to a constant
    # factor), that of a log-loss row minus its margin.
    raw_, y_ = np.array([[raw]]), np.array([[target]])
    squared = SquaredError().deviation_kernel(np.float64)
    d = row_deviation(squared, float(SquaredError().loss(y_, raw_)[0]))
    assert d == pytest.approx(abs(raw - target), rel=1e-9, abs=1e-9)
    huber = Huber(epsilon=0.5)
    d = row_deviation(
        huber.deviation_kernel(np.float64), float(huber.loss(y_, raw_)[0])
    )
    assert d == pytest.approx(abs(raw - target), rel=1e-9, abs=1e-6)
    label = np.array([[1.0 if positive else 0.0]])
    margin = raw if positive else -raw
    log_loss = float(LogLoss().loss(label, raw_)[0])
    d = row_deviation(LogLoss().deviation_kernel(np.float64), log_loss)
    assert d == pytest.approx(-margin, rel=1e-6, abs=1e-6)


# A magnitude and a margin: each kernel compiles the checks anew, seconds apiece.
@pytest.mark.parametrize("name", ["squared_error", "log_loss"])
@settings(max_examples=150, deadline=None)
@given(
    threshold=st.sampled_from([0.0, 0.25, 1.0, 6.0, 20.0]),
    median=st.floats(-10.0, 10.0),
    gap=st.floats(0.0, 10.0),
    norm_median=st.floats(0.1, 10.0),
    norm_gap=st.floats(0.0, 10.0),
    longest=st.sampled_from([1.0, 5.0, 50.0, 500.0]),
    rows=st.lists(
        st.tuples(
            st.one_of(st.floats(0.0, 100.0), st.sampled_from([math.inf, math.nan])),
            st.floats(0.0, 1.0),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_the_checks_flag_the_rows_the_rule_names(
    name, threshold, median, gap, norm_median, norm_gap, longest, rows
):
    # check_rows flags the rows the rule names (skfit.spikes): a loss beyond the
    # cutoff, or a row far out fitted worse than most. The compiled runner settles
    # most batches with check_ordinary_rows and sends the rest to check_rows: a
    # batch it settles must hold no culprit, and both must learn from it alike.
    kernel = KERNELS[name].deviation_kernel(np.float64)
    if name == "squared_error":
        median = abs(median)  # deviations that are sizes
    stats = RowSpikeDetector(threshold).stats
    stats[[_MEDIAN, _HIGH, _READY]] = median, median + gap, 1.0
    stats[[_NORM_MEDIAN, _NORM_HIGH, _NORM_ROWS]] = (
        norm_median,
        norm_median + norm_gap,
        1000.0,
    )
    stats[_NORM_MAX] = longest * norm_median
    losses = np.array([loss for loss, _ in rows])
    # The rows' norms, up to the longest of the data.
    norms = np.array([share for _, share in rows]) * stats[_NORM_MAX]
    settled_stats, checked_stats = stats.copy(), stats.copy()
    settled = check_ordinary_rows(kernel, settled_stats, threshold, losses)
    positions, culprit_losses = np.empty(len(rows), dtype=np.intp), np.empty(len(rows))
    n_culprits = check_rows(
        kernel,
        checked_stats,
        np.zeros(8),
        threshold,
        losses,
        norms,
        np.empty(0),
        np.empty(0, dtype=np.intp),
        0,
        positions,
        culprit_losses,
    )
    spread = max(gap, least_spread(kernel, median))
    culprit_loss = row_loss_at(kernel, median + threshold * spread)
    far_loss = row_loss_at(kernel, median + FAR_OUT_SHARE * spread)
    far_out = norm_cutoff(norm_median, norm_median + norm_gap, threshold)
    named = [
        i
        for i, (loss, length) in enumerate(zip(losses, norms, strict=True))
        if not loss < culprit_loss or (loss > far_loss and length > far_out)
    ]
    assert positions[:n_culprits].tolist() == named
    if settled:
        assert not named
        np.testing.assert_array_equal(settled_stats, checked_stats)
    else:  # left to check_rows, untouched
        np.testing.assert_array_equal(settled_stats, stats)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), max_size=300))
def test_the_warm_up_sorts_as_numpy_does(values):
    values = np.array(values, dtype=float)
    expected = np.sort(values)
    _sort(values)
    np.testing.assert_array_equal(values, expected)


def test_least_spreads():
    # Margins get 2.5 units; sizes half their median.
    assert least_spread(LogLoss().deviation_kernel(np.float64), -3.0) == 2.5
    assert least_spread(SquaredError().deviation_kernel(np.float64), 3.0) == 1.5


def test_spike_records_made_without_rows_name_their_batch():
    spike = Spike(1, 2, 3.0, 1.0, 3.0, np.arange(4), n_samples=4)
    assert spike.batch_indices is spike.sample_indices
    assert spike.culprit_losses.shape == (0,) and spike.n_culprits == 0


# ------------------------------------------------------------------ suspect_rows
def hand_count(spikes):
    counts = {}
    for spike in spikes:
        for row, loss in zip(
            spike.sample_indices[: spike.n_culprits],
            spike.culprit_losses,
            strict=True,
        ):
            entry = counts.setdefault(int(row), [0, spike.epoch, 0, -np.inf, 0.0])
            entry[0] += 1
            entry[2] = spike.epoch
            entry[3] = max(entry[3], float(loss))
            entry[4] = float(loss)
    return counts


def test_suspect_rows_against_a_hand_count():
    X, y, bad = planted("classification", 5)
    est = GDClassifier(
        max_epochs=4, tol=None, spike_policy="ignore", random_state=0
    ).fit(X, y)
    table = suspect_rows(est)
    expected = hand_count(est.spikes_)
    assert sorted(table.index) == sorted(expected)
    for row, (n, first, last, largest, latest) in expected.items():
        assert table.loc[row, "n_flagged"] == n
        assert (table.loc[row, "first_epoch"], table.loc[row, "last_epoch"]) == (
            first,
            last,
        )
        assert table.loc[row, "max_loss"] == pytest.approx(largest)
        assert table.loc[row, "last_loss"] == pytest.approx(latest)
    order = list(zip(-table["n_flagged"], -table["max_loss"], table.index, strict=True))
    assert order == sorted(order)
    # The suspects are planted rows.
    assert len(table) >= 5 and set(table.index) <= set(bad)


def test_suspect_rows_without_pandas(monkeypatch):
    X, y, _ = planted("regression", 6)
    est = GDRegressor(max_epochs=2, tol=None, spike_policy="ignore").fit(X, y)
    frame = suspect_rows(est)
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    table = suspect_rows(est.spikes_)
    assert isinstance(table, np.ndarray)
    np.testing.assert_array_equal(table["row"], frame.index)
    for name in ("n_flagged", "first_epoch", "last_epoch", "max_loss", "last_loss"):
        np.testing.assert_array_equal(table[name], frame[name])


def test_suspect_rows_of_a_clean_fit_and_of_other_objects():
    X, y = regression(0, n=300)
    est = GDRegressor(max_epochs=3, tol=None).fit(X, y)
    assert len(suspect_rows(est)) == 0
    assert list(suspect_rows(est).columns) == [
        "n_flagged",
        "first_epoch",
        "last_epoch",
        "max_loss",
        "last_loss",
    ]
    with pytest.raises(TypeError, match="keeps no spikes_"):
        suspect_rows(LogisticRegression())


# ------------------------------------------------------------------ the display
def test_loss_curve_display_rings_the_epochs_whose_spikes_named_rows():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skfit.plotting import LossCurveDisplay

    X, y = one_row_data()
    est = GDClassifier(
        max_epochs=4, tol=None, shuffle=False, spike_policy="ignore", random_state=0
    ).fit(X, y)
    # The spike of epoch 4 made a spike of its batch as a whole, without culprits.
    row_level = est._state.spikes[-1]
    assert row_level.epoch == 4 and row_level.n_culprits
    est._state.spikes[-1] = Spike(4, 40, 9.0, 1.0, 9.0, np.arange(BATCH), BATCH)
    display = LossCurveDisplay.from_estimator(est)
    try:
        rings = display.row_spike_markers_
        assert display.lines_["row_spikes"] is rings
        np.testing.assert_array_equal(rings.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(
            rings.get_ydata(), est.history_["loss"][[0, 1, 2]]
        )
        np.testing.assert_array_equal(display.spike_markers_.get_xdata(), [1, 2, 3, 4])
        assert rings.get_marker() != display.spike_markers_.get_marker()
        labels = display.ax_.get_legend_handles_labels()[1]
        assert "epochs with rows flagged (3)" in labels
        clean = GDClassifier(max_epochs=2, tol=None).fit(*classification(0, n=300))
        assert LossCurveDisplay.from_estimator(clean).row_spike_markers_ is None
    finally:
        plt.close("all")


def test_warning_counts_the_spikes_that_named_rows():
    X, y = one_row_data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GDClassifier(max_epochs=2, tol=None, shuffle=False, random_state=0).fit(X, y)
    (warning,) = [w for w in caught if issubclass(w.category, LossSpikeWarning)]
    assert "2 loss spike(s)" in str(warning.message)
    assert "2 held rows whose own loss stood out" in str(warning.message)


def spike_warning(caught):
    (warning,) = [w for w in caught if issubclass(w.category, LossSpikeWarning)]
    return str(warning.message)


def named_rows(estimator):
    return np.unique(
        np.concatenate([s.sample_indices for s in estimator.spikes_ if s.n_culprits])
    )


@pytest.mark.parametrize("to_X", [np.asarray, sparse.csr_matrix])
def test_warning_says_when_the_rows_named_lie_in_the_long_tail_of_norms(to_X):
    # Clean targets on log-normal features, with the defaults: the rows named are
    # far out in feature space, fitted last while the weights settle.
    X, y = heavy_tailed(3, task="regression")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = GDRegressor(random_state=3).fit(to_X(X), y)
    norms = np.linalg.norm(X, axis=1)
    median, high = np.quantile(norms, [0.5, 1.0 - HIGH_SHARE])
    named = named_rows(est)
    n_long = np.count_nonzero(norms[named] > high)
    assert 2 * n_long > named.size
    message = spike_warning(caught)
    assert f"{n_long} of the {named.size} distinct rows named are among " in message
    assert f"98th percentile is {high / median:.3g} times their median" in message
    assert "may be named while the weights settle" in message


def test_warning_says_nothing_of_norms_without_a_long_tail():
    # Flipped labels on features inflated 30 times: the rows named are the
    # longest, but the data's norms have no long tail.
    X, y, bad = planted("classification", 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = GDClassifier(max_epochs=3, tol=None, random_state=0).fit(X, y)
    assert set(named_rows(est)) <= set(bad)
    message = spike_warning(caught)
    assert "suspect_rows" in message and "long tail" not in message


@pytest.mark.parametrize(
    "tail, named_long, has_note",
    [(5.0, 10, True), (5.0, 6, True), (5.0, 5, False), (4.9, 10, False)],
)
def test_long_tail_note_needs_a_long_tail_and_most_rows_named_in_it(
    tail, named_long, has_note
):
    # Norms of median 1 and 98th percentile ``tail``, the longest ten twice that:
    # ten rows are named, ``named_long`` of them among the longest.
    norms = np.r_[np.full(900, 1.0), np.full(90, tail), np.full(10, 2.0 * tail)]
    assert np.quantile(norms, [0.5, 1.0 - HIGH_SHARE]).tolist() == [1.0, tail]
    detector = RowSpikeDetector(6.0)
    detector.learn_norms(norms)
    watch = SpikeWatch(
        mock.Mock(row_detector=detector), mock.Mock(), [slice(0, 1000)], norms
    )
    watch.named_rows[990 : 990 + named_long] = True
    watch.named_rows[: 10 - named_long] = True
    note = watch.long_tail_note()
    assert bool(note) is has_note
    if has_note:
        assert f" {named_long} of the 10 distinct rows named" in note
        assert f"98th percentile is {tail:.3g} times their median" in note


# ------------------------------------------------------------------ units and hooks
def test_culprit_losses_are_in_the_units_of_the_targets():
    # Regression trains on standardised targets: the same fit on targets a
    # thousand times larger names the same culprits, their squared errors a
    # million times larger.
    X, y, _ = planted("regression", 7)
    fits = [
        GDRegressor(max_epochs=2, tol=None, spike_policy="ignore", random_state=0).fit(
            X, scale * y + 5 * scale
        )
        for scale in (1.0, 1000.0)
    ]
    small, large = (fit.spikes_ for fit in fits)
    assert sum(s.n_culprits for s in small) > 10
    assert [s.sample_indices.tolist() for s in small] == [
        s.sample_indices.tolist() for s in large
    ]
    for a, b in zip(small, large, strict=True):
        np.testing.assert_allclose(b.culprit_losses, 1e6 * a.culprit_losses, rtol=1e-4)


def test_a_per_batch_callback_sees_the_same_culprits():
    # With a callback that hears of every batch, the compiled loop runs one batch
    # per call: the culprits' positions count from each batch's first row.
    class Batches(Callback):
        def on_batch_end(self, estimator, record):
            pass

    X, y, _ = planted("classification", 8)
    make = lambda **params: GDClassifier(  # noqa: E731
        max_epochs=2, tol=None, spike_policy="ignore", random_state=0, **params
    )
    plain, heard = make().fit(X, y), make(callbacks=[Batches()]).fit(X, y)
    assert any(s.n_culprits for s in plain.spikes_)
    assert len(plain.spikes_) == len(heard.spikes_)
    for a, b in zip(plain.spikes_, heard.spikes_, strict=True):
        assert (a.epoch, a.batch, a.n_culprits) == (b.epoch, b.batch, b.n_culprits)
        np.testing.assert_array_equal(a.sample_indices, b.sample_indices)
        np.testing.assert_array_equal(a.culprit_losses, b.culprit_losses)
