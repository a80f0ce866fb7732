"""skfit's estimators with their defaults, on real data, untuned.

    python benchmarks/defaults.py                 # everything (run it alone)
    python benchmarks/defaults.py --skip-optimum  # the cross-validated scores only

Two sections, written to ``benchmarks/results_defaults.md``:

1. **Cross-validated scores.** Every estimator with its defaults, in a pipeline that
   standardises the features (``StandardScaler``; a ``ColumnTransformer`` with a
   ``OneHotEncoder`` where there are categorical columns) and leaves the target as it
   is, 5-fold cross-validated on every dataset bundled with scikit-learn and on
   synthetic data whose targets have real-world locations and scales (means from 0
   to 1e4, standard deviations from 1e-2 to 1e4; counts for Poisson). Side by side:
   ``Ridge``, ``LogisticRegression`` and ``PoissonRegressor(alpha=1e-12)`` with their
   defaults, and scikit-learn's ``MLPRegressor`` / ``MLPClassifier`` with theirs. The
   targets of issue 12 are marked: a linear model's R^2 at least Ridge's minus 0.01,
   log-loss within 1% of LogisticRegression's, Poisson deviance within 1% of the
   unpenalised PoissonRegressor's, MLPRegressor's R^2 at least Ridge's minus 0.05 on
   the near-linear synthetic data.
2. **Time to the optimum.** On the large workloads, the default GDRegressor /
   GDClassifier (its penalty, l2 with ``alpha="auto"``, one over the rows' count, in
   the objective) trained with the tolerance off (so on mini-batches alone, without
   the quasi-Newton finish) until its training objective first comes within 1% and
   0.1% of the optimum (evaluated after every epoch, evaluation time excluded),
   against the exact solver on the same objective (closed-form Ridge,
   LogisticRegression with lbfgs) with its defaults; and the default estimator with
   its own stopping rule.
"""

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
# Measure the skfit of this checkout, whatever is installed.
sys.path.insert(1, str(HERE.parent))

import skfit  # noqa: E402

# isort: split
from measure import exact_fit, skfit_trace  # noqa: E402
from objective import (  # noqa: E402
    encode_targets,
    optimum,
    relative_gap,
)
from report import (  # noqa: E402
    DASH,
    blas_table,
    fmt_gap,
    fmt_number,
    fmt_ratio,
    fmt_reached_epoch,
    fmt_time,
    git_description,
    markdown_table,
    numba_description,
)
from workloads import (  # noqa: E402
    BUNDLED,
    bundled_data,
    make_linear_workload,
    training_workload,
)

SEED = 0
N_SPLITS = 5
#: Rows of each synthetic dataset.
SYNTHETIC_ROWS = 2000
#: (mean, standard deviation) of the synthetic regression targets.
TARGET_SCALES = ((0.0, 1e-2), (1e4, 1e-2), (150.0, 75.0), (1e3, 1e2), (1e4, 1e4))
#: Mean counts of the synthetic Poisson targets.
COUNT_MEANS = (0.3, 10.0, 1e3)
#: An unpenalised PoissonRegressor ("alpha about 0"; exactly 0 is allowed too, but a
#: hair of penalty keeps lbfgs well defined on separable count data).
POISSON_ALPHA = 1e-12
#: Targets of issue 12.
R2_MARGIN_LINEAR = 0.01
R2_MARGIN_MLP = 0.05
RELATIVE_MARGIN = 0.01
#: The large workloads of the time-to-optimum section: name -> maker.
LARGE = {
    "regression 200k x 100": lambda: make_linear_workload("regression", 200_000),
    "binary 200k x 100": lambda: make_linear_workload("binary", 200_000),
    "multiclass 100k x 50": lambda: make_linear_workload("multiclass", 100_000),
    "binary 100k x 100 (make_classification defaults)": lambda: training_workload(
        "binary-100k",
        *make_classification(100_000, 100, random_state=SEED),
        "classification",
    ),
}


# ---------------------------------------------------------------- datasets
@dataclass
class Dataset:
    name: str
    X: object  # ndarray, or a DataFrame with categorical columns
    y: np.ndarray
    task: str  # "regression", "counts" or "classification"
    near_linear: bool = False

    @property
    def shape_text(self):
        n_outputs = "" if self.y.ndim == 1 else f", {self.y.shape[1]} outputs"
        return f"{self.X.shape[0]:,} x {self.X.shape[1]}{n_outputs}"


def synthetic_features(rng, n_rows):
    """Eight correlated numeric columns on very different scales, and a
    five-level categorical column: the kind of table a pipeline meets."""
    mixing = rng.standard_normal((8, 8)) / np.sqrt(8) + np.eye(8)
    numeric = rng.standard_normal((n_rows, 8)) @ mixing
    scales = 10.0 ** rng.uniform(-2, 3, 8)
    offsets = rng.uniform(-1, 1, 8) * 10.0 ** rng.uniform(0, 4, 8)
    frame = pd.DataFrame(
        numeric * scales + offsets, columns=[f"x{i}" for i in range(8)]
    )
    frame["group"] = pd.Categorical(rng.choice(list("abcde"), n_rows))
    return frame, numeric


def linear_signal(rng, numeric, groups, r2=0.8):
    """A standardised target: a linear signal with group effects and noise."""
    signal = numeric @ rng.uniform(-1, 1, numeric.shape[1])
    signal += pd.Series(groups).cat.codes.to_numpy() * 0.3
    signal = (signal - signal.mean()) / signal.std()
    noise = rng.standard_normal(len(signal)) * np.sqrt((1 - r2) / r2)
    z = signal + noise
    return (z - z.mean()) / z.std()


def synthetic_regression(mean, std, seed=SEED):
    rng = np.random.default_rng(seed)
    frame, numeric = synthetic_features(rng, SYNTHETIC_ROWS)
    z = linear_signal(rng, numeric, frame["group"])
    name = f"synthetic, target mean {mean:g}, sd {std:g}"
    return Dataset(name, frame, mean + std * z, "regression", near_linear=True)


def synthetic_counts(mean, seed=SEED):
    rng = np.random.default_rng(seed)
    frame, numeric = synthetic_features(rng, SYNTHETIC_ROWS)
    z = linear_signal(rng, numeric, frame["group"], r2=1.0)
    # A log-linear rate whose mean over the rows is about ``mean``.
    rate = mean * np.exp(0.5 * z - 0.125)
    return Dataset(
        f"synthetic counts, mean {mean:g}", frame, rng.poisson(rate), "counts"
    )


def datasets():
    for name in BUNDLED:
        X, y, task = bundled_data(name)
        yield Dataset(name, X, y, task)
    for mean, std in TARGET_SCALES:
        yield synthetic_regression(mean, std)
    for mean in COUNT_MEANS:
        yield synthetic_counts(mean)


# ---------------------------------------------------------------- estimators
def preprocessor(X):
    """StandardScaler, or a ColumnTransformer when X has categorical columns."""
    if isinstance(X, pd.DataFrame):
        categorical = list(X.select_dtypes("category").columns)
        numeric = [c for c in X.columns if c not in categorical]
        return ColumnTransformer(
            [
                ("categories", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("numbers", StandardScaler(), numeric),
            ],
            sparse_threshold=0,
        )
    return StandardScaler()


def contenders(task):
    """label -> (unfitted estimator, column group) for a task."""
    if task == "regression":
        return {
            "Ridge": (Ridge(), "reference"),
            "GDRegressor": (skfit.GDRegressor(random_state=SEED), "linear"),
            "sklearn MLPRegressor": (SklearnMLPRegressor(random_state=SEED), "mlp"),
            "MLPRegressor": (skfit.MLPRegressor(random_state=SEED), "mlp"),
        }
    if task == "counts":
        return {
            "PoissonRegressor": (
                PoissonRegressor(alpha=POISSON_ALPHA, max_iter=1000),
                "reference",
            ),
            "GDRegressor(poisson)": (
                skfit.GDRegressor(loss="poisson", random_state=SEED),
                "linear",
            ),
        }
    return {
        "LogisticRegression": (LogisticRegression(), "reference"),
        "GDClassifier": (skfit.GDClassifier(random_state=SEED), "linear"),
        "sklearn MLPClassifier": (SklearnMLPClassifier(random_state=SEED), "mlp"),
        "MLPClassifier": (skfit.MLPClassifier(random_state=SEED), "mlp"),
    }


SCORING = {
    "regression": "r2",
    "counts": "neg_mean_poisson_deviance",
    "classification": "neg_log_loss",
}


def cross_validated(estimator, dataset):
    """Mean test score (a loss where the scorer is negated) and mean fit time."""
    pipeline = make_pipeline(preprocessor(dataset.X), clone(estimator))
    if dataset.task == "classification":
        cv = StratifiedKFold(N_SPLITS, shuffle=True, random_state=SEED)
    else:
        cv = KFold(N_SPLITS, shuffle=True, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cross_validate(
            pipeline, dataset.X, dataset.y, cv=cv, scoring=SCORING[dataset.task]
        )
    score = float(np.mean(result["test_score"]))
    if dataset.task != "regression":
        score = -score
    return score, float(np.mean(result["fit_time"]))


# ---------------------------------------------------------------- section 1
def mark(ok):
    return "✓" if ok else "✗"


def fmt_difference(value):
    return f"{value:+.4f}" if abs(value) < 10 else f"{value:+.3g}"


def regression_row(dataset, scores):
    ridge, linear = scores["Ridge"][0], scores["GDRegressor"][0]
    theirs, ours = scores["sklearn MLPRegressor"][0], scores["MLPRegressor"][0]
    mlp_target = DASH
    if dataset.near_linear:
        mlp_target = mark(ours >= ridge - R2_MARGIN_MLP and ours > theirs)
    return [
        dataset.name,
        dataset.shape_text,
        fmt_number(ridge),
        fmt_number(linear),
        f"{fmt_difference(linear - ridge)} {mark(linear >= ridge - R2_MARGIN_LINEAR)}",
        fmt_number(theirs),
        fmt_number(ours),
        f"{fmt_difference(ours - ridge)} {mlp_target}",
        fit_times(scores, "GDRegressor", "Ridge"),
    ]


def against_reference(dataset, scores, reference, linear):
    """The cells of a loss (lower is better) against the reference's."""
    ratio = scores[linear][0] / scores[reference][0]
    return [
        dataset.name,
        dataset.shape_text,
        fmt_number(scores[reference][0]),
        fmt_number(scores[linear][0]),
        f"{ratio:.4f} {mark(ratio <= 1 + RELATIVE_MARGIN)}",
    ]


def fit_times(scores, linear, reference):
    return f"{fmt_time(scores[linear][1])} / {fmt_time(scores[reference][1])}"


def classification_row(dataset, scores):
    pair = ("LogisticRegression", "GDClassifier")
    return [
        *against_reference(dataset, scores, *pair),
        fmt_number(scores["sklearn MLPClassifier"][0]),
        fmt_number(scores["MLPClassifier"][0]),
        fit_times(scores, *reversed(pair)),
    ]


def counts_row(dataset, scores):
    pair = ("PoissonRegressor", "GDRegressor(poisson)")
    return [
        *against_reference(dataset, scores, *pair),
        fit_times(scores, *reversed(pair)),
    ]


TABLES = {
    "regression": (
        "Regression: cross-validated R² (higher is better)",
        [
            "dataset",
            "size",
            "Ridge",
            "GDRegressor",
            "Δ (target ≥ −0.01)",
            "sklearn MLPRegressor",
            "MLPRegressor",
            "Δ vs Ridge (target ≥ −0.05, beat sklearn's)",
            "fit time (GD / Ridge)",
        ],
        regression_row,
    ),
    "classification": (
        "Classification: cross-validated log-loss (lower is better)",
        [
            "dataset",
            "size",
            "LogisticRegression",
            "GDClassifier",
            "÷ (target ≤ 1.01)",
            "sklearn MLPClassifier",
            "MLPClassifier",
            "fit time (GD / LogisticRegression)",
        ],
        classification_row,
    ),
    "counts": (
        "Counts: cross-validated mean Poisson deviance (lower is better)",
        [
            "dataset",
            "size",
            "PoissonRegressor(alpha≈0)",
            "GDRegressor(loss='poisson')",
            "÷ (target ≤ 1.01)",
            "fit time (GD / PoissonRegressor)",
        ],
        counts_row,
    ),
}


def scores_section():
    rows = {task: [] for task in TABLES}
    for dataset in datasets():
        scores = {
            label: cross_validated(estimator, dataset)
            for label, (estimator, _) in contenders(dataset.task).items()
        }
        row = TABLES[dataset.task][2](dataset, scores)
        print(" | ".join(row), flush=True)
        rows[dataset.task].append(row)
    parts = ["## Cross-validated scores with the defaults"]
    for task, (title, headers, _) in TABLES.items():
        align = "ll" + "r" * (len(headers) - 2)
        parts += [f"### {title}", markdown_table(headers, rows[task], align)]
    return "\n\n".join(parts)


# ---------------------------------------------------------------- section 2
def default_estimator(workload, **params):
    cls = skfit.GDRegressor if workload.task == "regression" else skfit.GDClassifier
    return cls(random_state=SEED, **params)


def optimum_row(label, workload, max_epochs, budget):
    # The objective of every contender includes skfit's default penalty:
    # alpha="auto", one over the rows' count.
    workload.alpha = 1.0 / len(workload.y)
    Y = encode_targets(workload)
    best = optimum(workload, Y)
    exact, exact_gap = exact_fit(workload, Y, best)
    # An untimed fit on a few rows first: the compiled loop's first call compiles.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default_estimator(workload, max_epochs=1).fit(
            workload.X[:2000], workload.y[:2000]
        )
    towards = default_estimator(workload, tol=None, max_epochs=max_epochs)
    trace = skfit_trace(towards, workload, Y, target=best * 1.001, budget=budget)
    one, tenth = (trace.within(best, share) for share in (0.01, 0.001))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = skfit_trace(default_estimator(workload), workload, Y, budget=budget)
    own_gap = relative_gap(own.records[-1][2], best)
    seconds = exact.seconds
    return [
        label,
        f"{type(exact.estimator).__name__}: {fmt_time(seconds)} ({fmt_gap(exact_gap)})",
        fmt_reached_epoch(one),
        fmt_ratio(one.seconds, seconds),
        fmt_reached_epoch(tenth),
        fmt_ratio(tenth.seconds, seconds),
        f"{own.estimator.stop_reason_} after {own.estimator.n_epochs_} epochs, "
        f"{fmt_time(own.fit_seconds)}: {fmt_gap(own_gap)}",
    ]


def optimum_section(max_epochs, budget):
    headers = [
        "workload",
        "exact solver, defaults: time (gap)",
        "defaults to 1%",
        "÷ exact",
        "to 0.1%",
        "÷ exact",
        "defaults with their own stopping: gap at the stop",
    ]
    rows = []
    for label, make in LARGE.items():
        rows.append(optimum_row(label, make(), max_epochs, budget))
        print(" | ".join(rows[-1]), flush=True)
    defaults = skfit.GDClassifier().get_params()
    setting = ", ".join(
        f"{name}={defaults[name]!r}"
        for name in ("optimizer", "learning_rate", "schedule", "batch_size", "tol")
    )
    text = (
        "## Time to the optimum on large workloads\n\n"
        f"The default estimator ({setting}; l2 with alpha='auto', one over the "
        "rows' count, in the objective), the tolerance off (mini-batches alone, "
        f"without the finish), at most {max_epochs} epochs: the training time "
        "until the objective first came within 1% and 0.1% of the optimum, "
        "against the exact solver with its defaults on the same "
        "objective (its own gap to the optimum in brackets). The last column: "
        "the defaults as they are, with their own stopping rule."
    )
    return text + "\n\n" + markdown_table(headers, rows, "ll" + "r" * 5)


# ---------------------------------------------------------------- report
def header(args):
    path = Path(skfit.__file__).resolve().parent
    rows = [
        ["command", "`python benchmarks/defaults.py " + " ".join(sys.argv[1:]) + "`"],
        ["date", time.strftime("%Y-%m-%d %H:%M:%S %Z")],
        ["skfit", f"{skfit.__version__} ({git_description(path)})"],
        ["numba", numba_description()],
        ["threads", "all" if args.threads is None else str(args.threads)],
        ["cross-validation", f"{N_SPLITS}-fold, shuffled, random_state={SEED}"],
    ]
    return "\n\n".join(
        [
            "# skfit's defaults on real data",
            markdown_table(["", ""], rows, "ll"),
            "BLAS and OpenMP seen by threadpoolctl:",
            blas_table(),
        ]
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scores", action="store_true")
    parser.add_argument("--skip-optimum", action="store_true")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", default=str(HERE / "results_defaults.md"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with threadpool_limits(limits=args.threads):
        # Inside the limits, so that the BLAS table shows the threads used.
        sections = [header(args)]
        if not args.skip_scores:
            sections.append(scores_section())
        if not args.skip_optimum:
            sections.append(optimum_section(args.max_epochs, args.budget))
    text = "\n\n".join(sections) + "\n"
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
