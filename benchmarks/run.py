"""Benchmark skfit against scikit-learn on the same data, in the same process.

    python benchmarks/run.py                       # the full benchmark (run it alone)
    python benchmarks/run.py --scale 0.02 --repeat 1   # a quick check, seconds

Prints markdown tables of times and ratios and writes them to
benchmarks/results.md (``--output``). See benchmarks/README.md for the figures.
"""

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
# Benchmark the skfit of this checkout, whatever is installed.
sys.path.insert(1, str(HERE.parent))

import skfit  # noqa: E402

# isort: split
# The benchmark's own modules, beside this file.
from contenders import (  # noqa: E402
    HIDDEN_LAYER_SIZES,
    as_configured,
    contenders_for,
    fixed_epochs,
    linear_contenders,
    skfit_mlp_class,
)
from measure import (  # noqa: E402
    Fit,
    Reached,
    epoch_cost,
    epochs_search_time_to_target,
    linear_bare_bound,
    median_fit,
    mlp_bare_bound,
    peak_memory,
    skfit_time_to_target,
    skfit_trace,
    warm_up,
)
from objective import encode_targets, model_objective, optimum, relative_gap  # noqa: E402
from report import (  # noqa: E402
    environment_section,
    notes_section,
    scaling_table,
    summary_table,
    workload_section,
)
from workloads import (  # noqa: E402
    SHAPES,
    make_digits_workload,
    make_linear_workload,
    scaled_rows,
    subset,
)

LINEAR_WORKLOADS = tuple(SHAPES)
SECTIONS = (*LINEAR_WORKLOADS, "digits", "scaling")
#: The workloads whose fit time is measured against the number of rows.
SCALING_WORKLOADS = ("regression", "binary")
SCALING_ROWS = (50_000, 100_000, 200_000, 400_000)
#: The default time budget of one convergence run, in seconds, at --scale 1.
FULL_BUDGET = 60.0
#: Epochs of the memory measurement's fit.
MEMORY_EPOCHS = 2


@dataclass
class Settings:
    repeat: int
    epochs: int
    max_epochs: int
    budget: float
    target: float
    seed: int


@dataclass
class Row:
    """Every figure of one contender on one workload."""

    contender: object
    batches: int | None
    epoch: object  # EpochCost, or None for the exact solvers
    per_iteration: float | None  # exact solvers: fit time per solver iteration
    to_target: Reached | None
    fit_seconds: float
    fit_epochs: int | None
    stop: str
    objective: float
    gap: float
    test_score: float
    memory: int
    #: skfit's linear models: the epoch through the Python batch runner
    #: (use_numba=False), beside the compiled one.
    python_epoch: object = None


@dataclass
class WorkloadResult:
    workload: object
    bare_bound: float
    optimum: float
    reference: str
    rows: list


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- one contender
def stop_description(estimator, contender):
    """Why a fit with its own stopping rules ended."""
    if contender.is_skfit:
        reason = estimator.stop_reason_
        return "budget" if reason == "callback" else reason
    if contender.family == "exact":
        if not hasattr(estimator, "n_iter_"):
            return "solved"  # LinearRegression: a direct solve
        n_iter = np.max(estimator.n_iter_)
        return "max_iter" if n_iter >= estimator.max_iter else "converged"
    return "max_iter" if estimator.n_iter_ >= estimator.max_iter else "tol"


def fitted_epochs(estimator):
    n_iter = getattr(estimator, "n_iter_", None)
    return None if n_iter is None else int(np.max(n_iter))


def own_stopping_fit(contender, workload, settings):
    """The contender with its own stopping rules (skfit: capped by the budget)."""
    if not contender.is_skfit:
        return median_fit(
            lambda: as_configured(contender), workload.X, workload.y, settings.repeat
        )
    traces = [
        skfit_trace(
            as_configured(contender),
            workload,
            None,
            budget=settings.budget,
            evaluate=False,
        )
        for _ in range(settings.repeat)
    ]
    seconds = statistics.median(t.fit_seconds for t in traces)
    return Fit(seconds, traces[-1].estimator)


def memory_fit_estimator(contender):
    if contender.has_epochs:
        return fixed_epochs(contender, MEMORY_EPOCHS)
    return as_configured(contender)


def measure_contender(contender, workload, Y, settings):
    """Everything but the time to the target, which needs the reference first."""
    log(f"{workload.name}: {contender.label}")
    warm_up(contender, workload)
    cost = python_cost = None
    if contender.has_epochs:
        cost = epoch_cost(contender, workload, settings.epochs, settings.repeat)
    if contender.family == "skfit":
        with skfit.config_context(use_numba=False):
            python_cost = epoch_cost(
                contender, workload, settings.epochs, settings.repeat
            )
    fit = own_stopping_fit(contender, workload, settings)
    estimator = fit.estimator
    epochs = fitted_epochs(estimator)
    value = model_objective(estimator, workload, Y)
    per_iteration = None
    if not contender.has_epochs and epochs:
        per_iteration = fit.seconds / epochs
    memory = peak_memory(memory_fit_estimator(contender), workload.X, workload.y)
    return Row(
        contender=contender,
        batches=contender.batches_per_epoch(workload.n_rows),
        epoch=cost,
        per_iteration=per_iteration,
        to_target=None,
        fit_seconds=fit.seconds,
        fit_epochs=epochs,
        stop=stop_description(estimator, contender),
        objective=value,
        gap=np.nan,
        test_score=float(estimator.score(workload.X_test, workload.y_test)),
        memory=memory,
        python_epoch=python_cost,
    )


def time_to_target(row, workload, Y, target_value, settings):
    contender = row.contender
    if not contender.has_epochs:
        if row.objective <= target_value:
            return Reached(row.fit_seconds, row.fit_epochs, row.objective)
        return Reached(None, None, row.objective)
    search = (
        skfit_time_to_target if contender.is_skfit else epochs_search_time_to_target
    )
    return search(
        contender,
        workload,
        Y,
        target_value,
        settings.max_epochs,
        settings.budget,
        settings.repeat,
    )


# ---------------------------------------------------------------- one workload
def bare_bound(workload, settings):
    if workload.model == "mlp":
        n_outputs = encode_targets(workload).shape[1]
        sizes = (workload.n_features, *HIDDEN_LAYER_SIZES, n_outputs)
        return mlp_bare_bound(workload.X, sizes, settings.repeat)
    return linear_bare_bound(workload.X, workload.n_outputs, settings.repeat)


def reference_objective(workload, Y, rows):
    """The objective the target is relative to, and what it is."""
    if workload.model == "linear":
        return optimum(workload, Y), "exact solver, tolerance 1e-10"
    best = min(rows, key=lambda r: r.objective)
    return (
        best.objective,
        f"the lowest final objective of the contenders, {best.contender.label}'s; "
        "non-convex: no exact optimum",
    )


def run_workload(workload, settings):
    log(f"{workload.name}: {workload.shape_text()}")
    Y = encode_targets(workload)
    # The machine's speed drifts (a shared host): the bound is sampled before
    # and after each contender's measurements, and its median is the one reported,
    # so that a slow or fast moment does not set every ratio of the workload.
    bounds = [bare_bound(workload, settings)]
    rows = []
    for contender in contenders_for(workload):
        rows.append(measure_contender(contender, workload, Y, settings))
        bounds.append(bare_bound(workload, settings))
    bound = statistics.median(bounds)
    best, reference = reference_objective(workload, Y, rows)
    target_value = best + settings.target * abs(best)
    for row in rows:
        log(f"{workload.name}: {row.contender.label}: time to target")
        row.gap = relative_gap(row.objective, best)
        row.to_target = time_to_target(row, workload, Y, target_value, settings)
    return WorkloadResult(workload, bound, best, reference, rows)


def mlp_available():
    return hasattr(skfit, "MLPClassifier")


def make_workloads(sections, scale, seed):
    for name in LINEAR_WORKLOADS:
        if name in sections:
            rows = scaled_rows(SHAPES[name][0], scale)
            yield make_linear_workload(name, rows, seed)
    if "digits" in sections and mlp_available():
        yield make_digits_workload("classification", seed)
        regression = make_digits_workload("regression", seed)
        if skfit_mlp_class(regression) is not None:
            yield regression


# ---------------------------------------------------------------- scaling
@dataclass
class ScalingRow:
    workload: str
    label: str
    rows: list
    seconds: list

    @property
    def slope(self):
        """Seconds per 100,000 rows, from a least-squares line."""
        return np.polyfit(self.rows, self.seconds, 1)[0] * 1e5

    @property
    def r2(self):
        fitted = np.polyval(np.polyfit(self.rows, self.seconds, 1), self.rows)
        residual = np.sum((np.asarray(self.seconds) - fitted) ** 2)
        total = np.sum((np.asarray(self.seconds) - np.mean(self.seconds)) ** 2)
        return 1.0 - residual / total if total > 0 else np.nan


def scaling_fit_time(contender, workload, settings):
    def make():
        if contender.has_epochs:
            return fixed_epochs(contender, settings.epochs)
        return clone(contender.estimator)

    return median_fit(make, workload.X, workload.y, settings.repeat).seconds


def run_scaling(row_counts, settings):
    results = []
    for name in SCALING_WORKLOADS:
        full = make_linear_workload(name, max(row_counts), settings.seed)
        times = {}
        for n in row_counts:
            log(f"scaling: {name}, {n:,} rows")
            part = subset(full, n)
            for contender in linear_contenders(part):
                warm_up(contender, part)
                times.setdefault(contender.label, []).append(
                    scaling_fit_time(contender, part, settings)
                )
        results += [
            ScalingRow(name, label, list(row_counts), seconds)
            for label, seconds in times.items()
        ]
    return results


# ---------------------------------------------------------------- command line
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark skfit against scikit-learn on the same data.",
        epilog="Quick check: python benchmarks/run.py --scale 0.02 --repeat 1",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every row count by this (0.05: a twentieth); default 1",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of: {', '.join(SECTIONS)}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per time (median)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS/OpenMP threads for every contender (default: all)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=4,
        help="epochs of the fixed-epoch fits that time an epoch (at least 2)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=200,
        help="most epochs a run towards the target objective may take",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help=f"seconds one training run may take (default {FULL_BUDGET:g} x scale, "
        "at least 1)",
    )
    parser.add_argument(
        "--target",
        type=float,
        default=0.01,
        help="relative distance to the optimum that counts as reached (0.01: 1%%)",
    )
    parser.add_argument(
        "--scaling-rows",
        default=",".join(str(n) for n in SCALING_ROWS),
        help="row counts of the scaling section, before --scale",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    parser.add_argument(
        "--output",
        type=Path,
        default=HERE / "results.md",
        help="markdown file to write (default benchmarks/results.md)",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.budget is None:
        args.budget = max(FULL_BUDGET * args.scale, 1.0)
    return args


def settings_from(args):
    return Settings(
        repeat=args.repeat,
        epochs=args.epochs,
        max_epochs=args.max_epochs,
        budget=args.budget,
        target=args.target,
        seed=args.seed,
    )


def run(args):
    settings = settings_from(args)
    parts = [environment_section(args, skfit)]
    results = []
    for workload in make_workloads(args.sections, args.scale, args.seed):
        results.append(run_workload(workload, settings))
    if results:
        parts.append(summary_table(results, settings.target))
        parts += [workload_section(r, settings) for r in results]
    if "digits" in args.sections and not mlp_available():
        log("digits: skipped, skfit has no MLPClassifier yet")
        parts.append("## digits\n\nSkipped: skfit has no MLPClassifier yet.")
    if "scaling" in args.sections:
        rows = [scaled_rows(int(n), args.scale) for n in args.scaling_rows.split(",")]
        parts.append(scaling_table(run_scaling(rows, settings), settings.epochs))
    parts.append(notes_section(settings))
    return "\n\n".join(parts) + "\n"


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        markdown = run(args)
    markdown += f"\nTotal benchmark time: {time.perf_counter() - start:.0f} s.\n"
    print(markdown)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown, encoding="utf-8")
    log(f"written to {args.output}")


if __name__ == "__main__":
    main()
