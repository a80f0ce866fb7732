"""Which default training settings reach the optimum of convex problems?

    python benchmarks/settings.py            # every setting, every dataset
    python benchmarks/settings.py --datasets diabetes,digits --settings defaults,plateau

Each candidate setting (public hyperparameters only: optimizer, learning_rate,
schedule, batch_size, tol, n_iter_no_change) trains GDRegressor / GDClassifier with
its own stopping rules on standardised features and the default penalty (l2,
``alpha=1e-4``); after every epoch the exact training objective is evaluated (time
excluded) and compared with the optimum of the exact solver (Ridge, or
LogisticRegression with lbfgs, to a tolerance of 1e-10). Reported per setting: the
stop reason, the epochs run, the gap to the optimum when training stopped, the
epochs and seconds until the objective first came within 1% and 0.1%, and the fit
time. Every setting is written out in full on top of the linear models' defaults
before issue 12 (a constant rate, ``tol=1e-4``), so the labels keep their meaning
whatever the defaults are now. The tables are printed and written to
``benchmarks/results_settings.md``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

from sklearn.base import clone
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
# Measure the skfit of this checkout, whatever is installed.
sys.path.insert(1, str(HERE.parent))

import skfit  # noqa: E402
from skfit.schedules import Plateau  # noqa: E402

# isort: split
from measure import exact_fit, skfit_trace  # noqa: E402
from objective import (  # noqa: E402
    encode_targets,
    optimum,
    relative_gap,
)
from report import (  # noqa: E402
    fmt_gap,
    fmt_reached_epoch,
    fmt_time,
    git_description,
    markdown_table,
)
from workloads import (  # noqa: E402
    bundled_data,
    make_linear_workload,
    training_workload,
)

#: What every setting starts from: the linear models' defaults before issue 12
#: (Adam at 0.01, shuffled batches of 32, a constant rate, tol=1e-4,
#: n_iter_no_change=5). Each setting below states its schedule and tol.
PREVIOUS_DEFAULTS = {"schedule": "constant", "tol": 1e-4}
#: The candidate settings: label -> hyperparameters set on top of that.
SETTINGS = {
    "constant + tol 1e-4 (previous defaults)": {},
    "lr 0.001 + constant + tol 1e-4": {"learning_rate": 0.001},
    "plateau + tol 1e-4": {"schedule": "plateau"},
    "plateau + tol 1e-5 (defaults)": {"schedule": "plateau", "tol": 1e-5},
    "plateau + tol 1e-6": {"schedule": "plateau", "tol": 1e-6},
    "Plateau(0.5 patience 5) + tol 1e-5": {
        "schedule": Plateau(factor=0.5, patience=5),
        "tol": 1e-5,
    },
    "lr 0.1 + plateau + tol 1e-5": {
        "learning_rate": 0.1,
        "schedule": "plateau",
        "tol": 1e-5,
    },
    "batch 256 + plateau + tol 1e-5": {
        "batch_size": 256,
        "schedule": "plateau",
        "tol": 1e-5,
    },
    "batch 8 + plateau + tol 1e-5": {
        "batch_size": 8,
        "schedule": "plateau",
        "tol": 1e-5,
    },
    "cosine + tol 1e-4": {"schedule": "cosine"},
    "cosine + no tol": {"schedule": "cosine", "tol": None},
    "lr 0.1 + cosine + no tol": {
        "learning_rate": 0.1,
        "schedule": "cosine",
        "tol": None,
    },
    "invscaling + tol 1e-4": {"schedule": "invscaling"},
    "sgd + invscaling + tol 1e-4": {"optimizer": "sgd", "schedule": "invscaling"},
    "full batch + lr 0.1 + tol 1e-4": {"batch_size": None, "learning_rate": 0.1},
}
#: The binary workload of issue 12: make_classification's defaults.
BINARY_SHAPE = (100_000, 100)
REGRESSION_ROWS = 200_000


def dataset(name, seed=0):
    """A training workload by name: a bundled dataset or a large synthetic one."""
    if name == "binary-100k":
        X, y = make_classification(*BINARY_SHAPE, random_state=seed)
        return training_workload(name, X, y, "classification")
    if name == "regression-200k":
        big = make_linear_workload("regression", REGRESSION_ROWS, seed)
        return training_workload(name, big.X, big.y, "regression")
    X, y, task = bundled_data(name)
    return training_workload(name, X, y, task)


DATASETS = ("diabetes", "breast_cancer", "digits", "binary-100k", "regression-200k")


def estimator_for(workload, params, max_epochs):
    cls = skfit.GDRegressor if workload.task == "regression" else skfit.GDClassifier
    return cls(random_state=0, max_epochs=max_epochs, **{**PREVIOUS_DEFAULTS, **params})


def measure(workload, label, params, best, Y, args):
    estimator = estimator_for(workload, params, args.max_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trace = skfit_trace(clone(estimator), workload, Y, budget=args.budget)
    fitted = trace.estimator
    final = trace.records[-1][2]
    row = [
        label,
        fitted.stop_reason_,
        str(fitted.n_epochs_),
        fmt_gap(relative_gap(final, best)),
    ]
    for share in (0.01, 0.001):
        row.append(fmt_reached_epoch(trace.within(best, share)))
    row.append(fmt_time(trace.fit_seconds))
    return row


HEADERS = [
    "setting",
    "stop",
    "epochs",
    "gap at stop",
    "to 1%",
    "to 0.1%",
    "fit time",
]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", default=str(HERE / "results_settings.md"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = "python benchmarks/settings.py " + " ".join(sys.argv[1:])
    sections = [
        "# Which settings reach the optimum",
        f"`{command}`, {time.strftime('%Y-%m-%d')}, skfit "
        f"{git_description(HERE.parent)}, {args.threads or 'all'} BLAS thread(s). "
        "Gaps are relative to the optimum of the training objective; times "
        "exclude the evaluation of the objective after every epoch.",
    ]
    with threadpool_limits(limits=args.threads):
        for name in args.datasets.split(","):
            workload = dataset(name)
            Y = encode_targets(workload)
            best = optimum(workload, Y)
            exact, gap = exact_fit(workload, Y, best)
            rows = [
                measure(workload, label, SETTINGS[label], best, Y, args)
                for label in args.settings.split(",")
            ]
            sections.append(
                f"### {name} ({workload.shape_text()}, optimum {best:.6g}; "
                f"{type(exact.estimator).__name__} with its defaults: "
                f"{fmt_time(exact.seconds)}, gap {fmt_gap(gap)})\n\n"
                + markdown_table(HEADERS, rows)
            )
            print(sections[-1], flush=True)
    Path(args.output).write_text("\n\n".join(sections) + "\n")


if __name__ == "__main__":
    main()
