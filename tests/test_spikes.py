"""Loss spikes: detection against injected faults, and every policy's contract."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from skfit import (
    GDClassifier,
    GDRegressor,
    LossSpikeError,
    LossSpikeWarning,
    MLPClassifier,
    config_context,
)
from skfit._training._compiled_batches import _loss_without_largest
from skfit._training._spikes import ROLLBACK_LIMIT, SKIP_LIMIT
from skfit.callbacks import Callback
from skfit.history import Spike
from skfit.spikes import SpikeDetector, _describe_spike, _loss_without_largest_row


def standard_regression(seed, n_samples=1000):
    X, y = make_regression(n_samples, 10, noise=10, random_state=seed)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def with_bad_rows(y, rows, factor=1e3):
    y = y.copy()
    y[rows] *= factor
    return y


class ParameterLog(Callback):
    """Copies of the parameters after every batch, with the batch records."""

    def on_train_begin(self, estimator):
        self.log = [(None, [p.copy() for p in estimator._state.network.params])]

    def on_batch_end(self, estimator, batch_record):
        params = [p.copy() for p in estimator._state.network.params]
        self.log.append((batch_record, params))


def test_injected_bad_rows_are_found_in_spike_records():
    X, y = standard_regression(0)
    bad = np.array([5, 77, 300, 512, 901])
    est = GDRegressor(random_state=0, spike_policy="skip", max_epochs=20, tol=None)
    est.fit(X, with_bad_rows(y, bad))
    found = np.unique(np.concatenate([s.sample_indices for s in est.spikes_]))
    assert np.isin(bad, found).mean() >= 0.8
    # Every spike holds at least one bad row: the detector points at the culprits.
    assert all(np.isin(s.sample_indices, bad).any() for s in est.spikes_)
    assert est.history_["n_spikes"].sum() == len(est.spikes_)


def test_sample_indices_are_rows_of_the_X_passed_with_a_validation_share():
    X, y = standard_regression(1)
    bad = np.array([10, 400, 800])
    est = GDRegressor(
        random_state=0,
        spike_policy="skip",
        validation_fraction=0.2,
        max_epochs=20,
        tol=None,
    ).fit(X, with_bad_rows(y, bad))
    # Positions within the training share would not point at the bad rows; row
    # numbers of the X passed do, for every spike.
    assert est.spikes_
    assert all(np.isin(s.sample_indices, bad).any() for s in est.spikes_)


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
@pytest.mark.parametrize("batch_size", [16, 32])
def test_no_false_spikes_on_a_well_scaled_convex_problem(Estimator, batch_size):
    n_spikes = 0
    for seed in range(20):
        if Estimator is GDRegressor:
            X, y = standard_regression(seed, n_samples=300)
        else:
            X, y = make_classification(300, 10, random_state=seed)
            X = StandardScaler().fit_transform(X)
        est = Estimator(
            optimizer="sgd",
            learning_rate=0.01,
            batch_size=batch_size,
            max_epochs=100,
            tol=None,
            spike_policy="ignore",
            random_state=seed,
        ).fit(X, y)
        n_spikes += len(est.spikes_)
    assert n_spikes == 0


@pytest.mark.parametrize("seed", [12, 16])
def test_the_penalty_does_not_make_a_hard_row_a_batch_spike(seed):
    # An MLP that fits the digits brings its data loss below the l2 penalty's
    # value; judged with the penalty, whose floor squeezed the batch-to-batch
    # spread, a batch holding one hard row was a spike (two in each of these fits).
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier(
        hidden_layer_sizes=(20,),
        learning_rate=0.01,
        batch_size=32,
        max_epochs=20,
        tol=None,
        spike_policy="ignore",
        random_state=seed,
    ).fit(StandardScaler().fit_transform(X), y)
    penalty = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_)
    assert penalty > est.history_["loss"][-1] / 2
    assert est.spikes_ == []


def test_a_spike_records_the_batch_loss_without_the_penalty():
    X, y = standard_regression(0, n_samples=400)
    y[[150, 333]] *= 1e3
    fits = {}
    for use_numba in (False, True):
        for penalty in (None, "l2"):
            with config_context(use_numba=use_numba):
                fits[use_numba, penalty] = GDRegressor(
                    batch_size=16,
                    shuffle=False,
                    max_epochs=2,
                    tol=None,
                    spike_policy="ignore",
                    penalty=penalty,
                    alpha=10.0,
                ).fit(X, y)
    for (use_numba, penalty), est in fits.items():
        spikes = est.spikes_
        assert {(s.epoch, s.batch) for s in spikes} >= {(1, 333 // 16), (2, 9)}
        objectives = est.history_.batch_loss
        # The baselines the batch check had, had it judged the objectives.
        on_objectives = SpikeDetector(6.0).check_run(objectives, [16] * 50)[1]
        for spike in spikes:
            at = (spike.epoch - 1) * 25 + spike.batch
            assert spike.ratio == pytest.approx(spike.loss / spike.baseline)
            if penalty is None:
                assert spike.loss == pytest.approx(objectives[at], rel=1e-6)
                assert spike.baseline == pytest.approx(on_objectives[at], rel=1e-5)
            else:
                # Judging the objectives, the baselines were 0.4% to 1.2% higher.
                assert spike.loss < objectives[at]
                assert spike.baseline < (1 - 1e-3) * on_objectives[at]
        # Both runners judge the same losses.
        other = fits[not use_numba, penalty].spikes_
        assert [(s.epoch, s.batch) for s in spikes] == [
            (s.epoch, s.batch) for s in other
        ]
        np.testing.assert_allclose(
            [(s.loss, s.baseline) for s in spikes],
            [(s.loss, s.baseline) for s in other],
            rtol=1e-6,
        )


def test_a_batch_of_zero_loss_is_neither_a_spike_nor_learnt_from():
    # A batch fitted exactly (or of zero weight) has no size on a log scale: taken
    # at the floor, each such loss widened the spread by some 18 log units.
    losses = np.exp(0.1 * np.random.default_rng(0).standard_normal(60))
    with_zeros = np.insert(losses, [5, 25, 30, 30, 45], 0.0)
    plain, zeros = SpikeDetector(threshold=6.0), SpikeDetector(threshold=6.0)
    for loss in losses:
        plain.check(loss, 32)
    assert not any(zeros.check(loss, 32) for loss in with_zeros)
    for name in ("count", "mean", "variance"):
        assert getattr(zeros, name) == getattr(plain, name)
    assert zeros.check(3.0 * plain.baseline, 32)


def test_the_batch_check_stays_sharp_on_a_hinge_loss_that_reaches_zero():
    # Separable classes: most late batches have a hinge loss of zero; judged at
    # the floor, they widened the batch check's spread to about 6 log units.
    X, y = make_classification(
        2000, 10, n_informative=5, flip_y=0, class_sep=3.0, random_state=0
    )
    est = GDClassifier(
        loss="hinge", max_epochs=20, tol=None, spike_policy="ignore", random_state=0
    ).fit(StandardScaler().fit_transform(X), y)
    assert math.sqrt(est._state.spike_detector.variance) < 2.0


def test_a_learning_rate_jump_at_a_known_update_is_a_spike_there():
    X, y = standard_regression(2, n_samples=640)
    jump = 150  # the update whose rate is multiplied by 100

    def schedule(t):
        return 100.0 if t == jump else 1.0

    est = GDRegressor(
        optimizer="sgd",
        learning_rate=0.05,
        schedule=schedule,
        max_epochs=10,
        tol=None,
        spike_policy="ignore",
        random_state=0,
    ).fit(X, y)
    batches_per_epoch = 20
    positions = [(s.epoch - 1) * batches_per_epoch + s.batch for s in est.spikes_]
    # The overshooting update is applied after batch `jump`; the loss of the next
    # batch, computed before its own update, is the spike.
    assert positions[0] == jump + 1
    assert est.spikes_[0].ratio > 3


def test_skip_leaves_the_parameters_exactly_as_before_the_bad_batch():
    X, y = standard_regression(3, n_samples=320)
    log = ParameterLog()
    est = GDRegressor(
        spike_policy="skip",
        callbacks=[log],
        max_epochs=5,
        tol=None,
        random_state=0,
    ).fit(X, with_bad_rows(y, [7, 200]))
    skipped = [
        i for i, (record, _) in enumerate(log.log) if record and record["skipped"]
    ]
    assert skipped, "the bad rows were not caught"
    for i in skipped:
        before, after = log.log[i - 1][1], log.log[i][1]
        for p_before, p_after in zip(before, after, strict=True):
            np.testing.assert_array_equal(p_before, p_after)
    assert est.t_ == sum(1 for r, _ in log.log[1:] if not r["skipped"])


def test_rollback_restores_the_last_clean_epoch_and_halves_the_rate():
    X, y = standard_regression(4, n_samples=320)
    log = ParameterLog()

    class EpochParameters(Callback):
        def __init__(self):
            self.params = {}

        def on_epoch_end(self, estimator, record):
            network = estimator._state.network
            self.params[record["epoch"]] = [p.copy() for p in network.params]

    epochs = EpochParameters()
    y_bad = y.copy()
    est = GDRegressor(
        optimizer="sgd",
        learning_rate=0.01,
        spike_policy="rollback",
        callbacks=[log, epochs],
        max_epochs=6,
        tol=None,
        shuffle=False,
        random_state=0,
    )
    # Clean training first; then one bad row in a warm-started fit.
    est.set_params(max_epochs=3).fit(X, y)
    y_bad[100] *= 1e3
    est.set_params(warm_start=True, max_epochs=1).fit(X, y_bad)
    first = next(i for i, (r, _) in enumerate(log.log) if r and r["skipped"])
    np.testing.assert_array_equal(log.log[first][1][0], epochs.params[3][0])
    np.testing.assert_array_equal(log.log[first][1][1], epochs.params[3][1])
    assert est.history_["learning_rate"][-1] == pytest.approx(0.005)


def test_raise_gives_the_spike_record_and_keeps_the_estimator():
    X, y = standard_regression(5, n_samples=320)
    est = GDRegressor(max_epochs=3, tol=None, random_state=0).fit(X, y)
    coef = est.coef_.copy()
    est.set_params(spike_policy="raise", warm_start=True)
    with pytest.raises(LossSpikeError) as info:
        est.fit(X, with_bad_rows(y, [42]))
    assert 42 in info.value.spike.sample_indices
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.n_epochs_ == 3


@pytest.mark.parametrize(
    "policy, limit", [("skip", SKIP_LIMIT), ("rollback", ROLLBACK_LIMIT)]
)
def test_repeated_spikes_stop_training(policy, limit):
    X, y = standard_regression(6, n_samples=320)
    # Every batch holds a bad row; the detector warmed up on clean rows first.
    bad = np.arange(0, 320, 8)
    est = GDRegressor(
        spike_policy=policy, max_epochs=50, tol=None, shuffle=False, random_state=0
    )
    est.fit(X[:200], y[:200])
    est.set_params(warm_start=True).fit(X, with_bad_rows(y, bad))
    assert est.stop_reason_ == "spike"
    # Ten batches of 32 an epoch, every one a spike: training stops at the end of
    # the epoch in which the spikes (skip) or rollbacks in a row pass the limit.
    assert_array_equal(est.history_["n_spikes"][50:], 10)
    assert est.n_epochs_ == 50 + math.ceil((limit + 1) / 10)
    assert np.all(np.isfinite(est.coef_))


def test_warn_issues_one_summary_per_fit():
    X, y = standard_regression(7, n_samples=640)
    est = GDRegressor(spike_policy="warn", max_epochs=5, tol=None, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, with_bad_rows(y, [3, 300, 600]))
    spike_warnings = [w for w in caught if issubclass(w.category, LossSpikeWarning)]
    assert len(spike_warnings) == 1
    assert str(len(est.spikes_)) in str(spike_warnings[0].message)


def test_a_non_finite_batch_is_never_applied_whatever_the_policy():
    class Explodes:
        """Squared error that is infinite on rows whose target is exactly 99."""

        def loss(self, y, raw):
            return np.where(y[:, 0] == 99, np.inf, 0.5 * ((raw - y) ** 2).sum(axis=1))

        def gradient(self, y, raw):
            return raw - y

    X, y = standard_regression(8, n_samples=64)
    y[10] = 99
    log = ParameterLog()
    est = GDRegressor(
        loss=Explodes(),
        spike_policy="ignore",
        batch_size=8,
        shuffle=False,
        callbacks=[log],
        max_epochs=2,
        tol=None,
    ).fit(X, y)
    skipped = [i for i, (r, _) in enumerate(log.log) if r and r["skipped"]]
    assert [log.log[i][0]["batch"] for i in skipped] == [1, 1]
    for i in skipped:
        np.testing.assert_array_equal(log.log[i - 1][1][0], log.log[i][1][0])
    assert est.spikes_[0].ratio == np.inf
    assert np.all(np.isfinite(est.coef_))


def test_detector_is_constant_time_and_follows_a_lasting_change_of_level():
    detector = SpikeDetector(threshold=6.0)
    rng = np.random.default_rng(0)
    flags = [detector.check(1.0 + 0.05 * rng.standard_normal(), 32) for _ in range(200)]
    assert not any(flags)
    # A new, higher level is reported at first and then becomes the baseline.
    flags = [detector.check(5.0 + 0.05 * rng.standard_normal(), 32) for _ in range(500)]
    assert flags[0] and not any(flags[-100:])


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(
        st.one_of(
            st.floats(1e-3, 1e3),
            st.floats(1e3, 1e9),  # spikes
            st.sampled_from([0.0, np.inf, np.nan]),
        ),
        min_size=1,
        max_size=80,
    ),
    sizes=st.lists(st.integers(1, 64), min_size=80, max_size=80),
    # Each batch's loss without its largest row, as a share of its loss (above
    # one when a heavy row of ordinary loss is the largest), or NaN: not judged.
    shares=st.lists(
        st.one_of(st.floats(0.0, 1.5), st.just(np.nan)), min_size=80, max_size=80
    ),
    split=st.integers(0, 80),
)
def test_check_run_is_check_batch_after_batch(losses, sizes, shares, split):
    # The engine's compiled loop checks an epoch's losses at its end with
    # check_run, in one or several runs; the Python loop calls check per batch.
    sizes = sizes[: len(losses)]
    rests = [a * b for a, b in zip(losses, shares[: len(losses)], strict=True)]
    one_by_one = SpikeDetector(threshold=6.0)
    expected = [
        (one_by_one.check(loss, n, rest), one_by_one.previous_baseline)
        for loss, n, rest in zip(losses, sizes, rests, strict=True)
    ]
    in_runs = SpikeDetector(threshold=6.0)
    spikes, baselines = [], []
    for part in (slice(0, split), slice(split, None)):
        if losses[part]:
            run_spikes, run_baselines = in_runs.check_run(
                np.array(losses[part]), sizes[part], np.array(rests[part])
            )
            spikes += run_spikes.tolist()
            baselines += run_baselines.tolist()
    assert spikes == [spike for spike, _ in expected]
    np.testing.assert_allclose(baselines, [b for _, b in expected], rtol=1e-12)
    names = ("count", "mean", "variance", "largest_share", "largest_batch")
    for name in (*names, "previous_mean"):
        np.testing.assert_allclose(
            getattr(in_runs, name), getattr(one_by_one, name), rtol=1e-12
        )


def test_a_rise_that_one_row_makes_is_not_a_batch_spike():
    rng = np.random.default_rng(0)
    losses = 1.0 + 0.05 * rng.standard_normal(60)
    losses[[30, 45]] = 20.0
    whole, rest = SpikeDetector(threshold=6.0), SpikeDetector(threshold=6.0)
    # At loss 20, the batch's other rows stand out too (batch 30: a rise they
    # share) or not (batch 45: one row of loss 609 in 32 lifted the mean).
    rests = losses.copy()
    rests[45] = (32 * 20.0 - 609.0) / 31
    flags = [whole.check(loss, 32) for loss in losses]
    assert np.flatnonzero(flags).tolist() == [30, 45]
    flags = [rest.check(loss, 32, r) for loss, r in zip(losses, rests, strict=True)]
    assert np.flatnonzero(flags).tolist() == [30]
    # Both learn from the whole loss alike, clipped where it stood out.
    for name in ("count", "mean", "variance", "previous_mean"):
        assert getattr(rest, name) == getattr(whole, name)
    assert rest.baseline == pytest.approx(1.0, rel=0.05)


def test_the_other_rows_are_judged_with_the_largest_rows_usual_share():
    # The largest row usually holds 80% of a batch's loss: a rise that the rows
    # share is a spike, as is the batch's; one the largest row makes, whose other
    # rows keep their loss, is not. Unlike the earlier running mean from zero,
    # the share is known from the first batch after the warm-up: a rise of 1.4
    # times just after it (log 0.34 against a cutoff of 0.3) is found.
    rng = np.random.default_rng(0)
    losses = 1.0 + 0.005 * rng.standard_normal(60)
    others = 0.2 * losses
    losses[[22, 30, 45]] = [1.4, 3.0, 3.0]
    others[[22, 30]] = [0.28, 0.6]
    detector = SpikeDetector(threshold=6.0)
    flags = [detector.check(a, 32, b) for a, b in zip(losses, others, strict=True)]
    assert np.flatnonzero(flags).tolist() == [22, 30]
    assert detector.largest_share == pytest.approx(math.log(5.0))


def test_batches_are_judged_whole_without_the_others_loss_or_most_rows():
    # The same rise of one row is a spike when the batch's other rows are not
    # judged (NaN: the row check still warms up) or when the batch has fewer
    # rows than most, whose largest row has a larger share than theirs.
    losses = np.ones(40)
    others = 0.9 * losses
    losses[[25, 30, 35]] = 20.0
    others[[25, 30, 35]] = [np.nan, 0.9, 0.9]
    sizes = [32] * 40
    sizes[35] = 4
    detector = SpikeDetector(threshold=6.0)
    flags = [
        detector.check(a, n, b) for a, n, b in zip(losses, sizes, others, strict=True)
    ]
    assert np.flatnonzero(flags).tolist() == [25, 35]
    assert detector.largest_share == pytest.approx(math.log(1 / 0.9))


def test_loss_without_largest_row_is_the_mean_of_the_others():
    rng = np.random.default_rng(0)
    for m in (2, 3, 16, 33):
        losses = rng.lognormal(sigma=2.0, size=m)
        weights = rng.uniform(0.0, 3.0, size=m)
        contributions = weights * losses
        largest = np.argmax(contributions)
        others = np.delete(np.arange(m), largest)
        expected = np.average(losses[others], weights=weights[others])
        assert _loss_without_largest_row(
            contributions.sum(), weights.sum(), contributions[largest], weights[largest]
        ) == pytest.approx(expected, rel=1e-12)
    # A batch of one row, or whose other rows weigh nothing: its mean loss.
    assert _loss_without_largest_row(6.0, 2.0, 6.0, 2.0) == 3.0
    assert _loss_without_largest_row(0.0, 0.0, 0.0, 0.0) == 0.0


@pytest.mark.parametrize("weighted", [False, True])
def test_the_compiled_runner_finds_the_largest_row_of_a_batch(weighted):
    # The kernel finds the largest row among the batch's row losses, by their
    # row numbers in the epoch's order when the rows have weights.
    rng = np.random.default_rng(1)
    order = rng.permutation(100)
    sample_weight = rng.uniform(0.0, 3.0, 100) if weighted else np.empty(0)
    start, m = 40, 16
    losses = rng.lognormal(sigma=2.0, size=m)
    weights = sample_weight[order[start : start + m]] if weighted else np.ones(m)
    largest = int(np.argmax(weights * losses))
    others = np.delete(np.arange(m), largest)
    expected = np.average(losses[others], weights=weights[others])
    found = _loss_without_largest(
        losses,
        losses.max(),
        float(weights @ losses),
        float(weights.sum()),
        sample_weight,
        order,
        start,
    )
    assert found == pytest.approx(expected, rel=1e-12)


def test_a_spike_is_described_by_what_made_it():
    rows_alone = Spike(
        epoch=2,
        batch=3,
        loss=2.3,
        baseline=2.4,
        ratio=2.3 / 2.4,
        sample_indices=np.array([17]),
        n_samples=32,
        batch_indices=np.arange(0, 32),
        culprit_losses=np.array([41.5], dtype=np.float32),
        n_culprits=1,
    )
    assert _describe_spike(rows_alone) == (
        "rows [17] whose own loss stands out: [41.5]; "
        "batch loss 2.3, 0.958 times the baseline 2.4"
    )
    non_finite = Spike(
        epoch=1,
        batch=0,
        loss=math.inf,
        baseline=math.nan,
        ratio=math.inf,
        sample_indices=np.arange(3),
        n_samples=3,
    )
    assert _describe_spike(non_finite) == (
        "rows [0, 1, 2]; a non-finite batch loss (inf)"
    )
    error = LossSpikeError(non_finite)
    assert str(error) == (
        "Loss spike at epoch 1, batch 0: rows [0, 1, 2]; a non-finite batch loss (inf)."
    )
