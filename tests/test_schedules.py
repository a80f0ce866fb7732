"""Learning-rate schedules: multiplier sequences against their formulas, the
spanning schedules' window, the plateau reacting to a stall, and the objects'
scikit-learn parameter handling."""

import math

import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skfit.schedules import (
    Constant,
    Cosine,
    Exponential,
    InvScaling,
    OneCycle,
    Plateau,
    Schedule,
    Step,
    check_schedule,
)


def sequence(schedule, n, n_updates=None, first=0):
    """Multipliers for t = first, ..., first + n - 1, after ``start(n_updates)``."""
    schedule.start(n if n_updates is None else n_updates)
    return [schedule(t) for t in range(first, first + n)]


# ---------------------------------------------------------------- by formula
@pytest.mark.parametrize("power_t", [0.25, 0.5, 1.0])
def test_invscaling_is_one_over_one_plus_t_to_the_power(power_t):
    values = sequence(InvScaling(power_t=power_t), 50)
    assert_allclose(values, [(1 + t) ** -power_t for t in range(50)], rtol=1e-15)
    assert values[0] == 1.0
    assert InvScaling()(15) == pytest.approx(0.5)  # 16 ** -0.25


def test_invscaling_matches_sgd_per_sample_rate():
    # scikit-learn's SGD: eta = eta0 / t ** power_t with its t counting from 1.
    assert_allclose(sequence(InvScaling(), 5), [s**-0.25 for s in range(1, 6)])


def test_step_drops_by_gamma_every_step_size_updates():
    values = sequence(Step(step_size=3, gamma=0.5), 10)
    assert values == [0.5 ** (t // 3) for t in range(10)]
    assert values[:4] == [1.0, 1.0, 1.0, 0.5]
    assert Step()(999) == 1.0
    assert Step()(1000) == pytest.approx(0.1)
    assert Step()(2500) == pytest.approx(0.01)


def test_exponential_is_gamma_to_the_t():
    assert_allclose(sequence(Exponential(gamma=0.9), 20), [0.9**t for t in range(20)])
    assert Exponential()(693) == pytest.approx(0.5, rel=1e-3)
    # A growing rate that overflows is inf, not an OverflowError.
    assert Exponential(gamma=2.0)(5000) == math.inf


def test_constant_is_one():
    assert sequence(Constant(), 5) == [1.0] * 5


@pytest.mark.parametrize("min_multiplier", [0.0, 0.1])
def test_cosine_anneals_from_one_to_the_minimum_over_the_fit(min_multiplier):
    n = 40
    values = sequence(Cosine(min_multiplier=min_multiplier), n + 5, n_updates=n)
    expected = [
        min_multiplier
        + (1 - min_multiplier) * 0.5 * (1 + math.cos(math.pi * min(t / n, 1.0)))
        for t in range(n + 5)
    ]
    assert_allclose(values, expected, rtol=1e-14, atol=1e-15)
    assert values[0] == 1.0
    assert values[n // 2] == pytest.approx((1 + min_multiplier) / 2)
    assert values[n:] == [pytest.approx(min_multiplier)] * 5
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_spanning_schedules_count_from_the_first_update_they_see():
    # A warm-started fit continues t; the new cycle starts where it resumes.
    fresh = sequence(Cosine(), 10)
    resumed = sequence(Cosine(), 10, first=500)
    assert resumed == fresh
    schedule = OneCycle()
    first = sequence(schedule, 20)
    assert sequence(schedule, 20, first=20) == first  # start() begins a new span


def test_onecycle_follows_its_formula():
    schedule = OneCycle(pct_start=0.25, div_factor=20.0, final_div_factor=100.0)
    n = 80
    values = sequence(schedule, n + 1, n_updates=n)

    def cos_path(a, b, q):
        return b + (a - b) * 0.5 * (1 + math.cos(math.pi * q))

    expected = []
    for t in range(n + 1):
        p = t / n
        if p <= 0.25:
            expected.append(cos_path(1 / 20, 1.0, p / 0.25))
        else:
            expected.append(cos_path(1.0, 1 / 2000, (p - 0.25) / 0.75))
    assert_allclose(values, expected, rtol=1e-13)
    assert values[0] == pytest.approx(1 / 20)
    assert max(values) == values[20] == pytest.approx(1.0)
    assert values[-1] == pytest.approx(1 / 2000)


def test_onecycle_defaults_peak_at_the_learning_rate():
    values = sequence(OneCycle(), 1001, n_updates=1000)
    assert values[0] == pytest.approx(1 / 25)
    assert max(values) == pytest.approx(1.0)
    assert values.index(max(values)) == 300
    assert values[-1] == min(values) == pytest.approx(1 / 25e4)


@pytest.mark.parametrize("schedule", [Cosine(), OneCycle()], ids=repr)
def test_spanning_schedules_need_start(schedule):
    with pytest.raises(RuntimeError, match="start"):
        schedule(0)


# ---------------------------------------------------------------- plateau
def feed(schedule, losses):
    multipliers = []
    for loss in losses:
        schedule.epoch_end(loss)
        multipliers.append(schedule(0))
    return multipliers


def test_plateau_lowers_the_rate_after_patience_stalled_epochs():
    schedule = Plateau(factor=0.5, patience=3)
    schedule.start(1000)
    assert schedule(0) == 1.0
    losses = [5.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    assert feed(schedule, losses) == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    # An improvement resets the count.
    assert feed(schedule, [2.0, 2.5, 2.5, 1.0, 1.5]) == [0.25] * 5


def test_plateau_keeps_the_rate_while_the_loss_improves():
    schedule = Plateau(patience=1)
    schedule.start(10)
    assert feed(schedule, [10.0 / (1 + k) for k in range(30)]) == [1.0] * 30


def test_plateau_threshold_modes():
    relative = Plateau(patience=1, threshold=0.1)  # needs 10 % better
    relative.start(10)
    assert feed(relative, [100.0, 95.0, 80.0]) == [1.0, 0.1, 0.1]
    absolute = Plateau(patience=1, threshold=1.0, threshold_mode="abs")
    absolute.start(10)
    assert feed(absolute, [100.0, 99.5, 98.0]) == [1.0, 0.1, 0.1]
    assert feed(absolute, [96.5]) == [0.1]


def test_plateau_floor_nan_and_default_patience():
    schedule = Plateau(factor=0.1, patience=1, min_multiplier=0.005)
    schedule.start(10)
    values = feed(schedule, [1.0, math.nan, 1.0, 2.0, 1.0])
    assert values == pytest.approx([1.0, 0.1, 0.01, 0.005, 0.005])
    default = Plateau()
    default.start(10)
    # The first epoch sets the best; three stalled ones lower the rate.
    assert feed(default, [1.0] * 4)[-2:] == [1.0, pytest.approx(0.1)]


def test_plateau_state_continues_over_calls_and_clone_resets_it():
    schedule = Plateau(factor=0.5, patience=1)
    schedule.start(10)
    feed(schedule, [1.0, 1.0])
    assert schedule(0) == 0.5
    schedule.start(10)  # a further partial_fit or warm-started fit
    assert schedule(0) == 0.5
    assert feed(schedule, [1.0]) == [0.25]  # the best loss was kept too
    fresh = clone(schedule)
    fresh.start(10)
    assert fresh(0) == 1.0
    assert not any(k.startswith("_") for k in fresh.get_params())


# ---------------------------------------------------------------- parameters
DEFAULTS = {
    Constant: {},
    InvScaling: {"power_t": 0.25},
    Step: {"step_size": 1000, "gamma": 0.1},
    Exponential: {"gamma": 0.999},
    Cosine: {"min_multiplier": 0.0},
    OneCycle: {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
    Plateau: {
        "factor": 0.1,
        "patience": 3,
        "threshold": 1e-4,
        "threshold_mode": "rel",
        "min_multiplier": 0.0,
    },
}
NAMES = {
    "constant": Constant,
    "invscaling": InvScaling,
    "step": Step,
    "exponential": Exponential,
    "cosine": Cosine,
    "onecycle": OneCycle,
    "plateau": Plateau,
}


@pytest.mark.parametrize("name", NAMES)
def test_names_defaults_and_clone(name):
    schedule = check_schedule(name)
    cls = NAMES[name]
    assert type(schedule) is cls and isinstance(schedule, Schedule)
    assert schedule.get_params() == DEFAULTS[cls]
    schedule.start(100)
    schedule(0)
    schedule.epoch_end(1.0)
    copy = clone(schedule)
    assert type(copy) is cls
    assert copy.get_params() == schedule.get_params()
    assert not [k for k in vars(copy) if k.startswith("_")]


def test_check_schedule_clones_objects_and_keeps_callables():
    mine = Cosine(min_multiplier=0.2)
    checked = check_schedule(mine)
    assert checked is not mine and checked.min_multiplier == 0.2
    checked.start(10)
    checked(0)
    assert not hasattr(mine, "_n_updates")

    def halving(t):
        return 0.5**t

    assert check_schedule(halving) is halving


@pytest.mark.parametrize(
    "schedule, name",
    [
        (Step(step_size=0), "step_size"),
        (Exponential(gamma=0.0), "gamma"),
        (InvScaling(power_t=-1.0), "power_t"),
        (Cosine(min_multiplier=1.5), "min_multiplier"),
        (OneCycle(pct_start=1.0), "pct_start"),
        (Plateau(factor=1.0), "factor"),
        (Plateau(threshold_mode="relative"), "threshold_mode"),
    ],
    ids=repr,
)
def test_check_schedule_refuses_out_of_range_settings(schedule, name):
    with pytest.raises(InvalidParameterError, match=name):
        check_schedule(schedule)
