"""skfit's MLPClassifier against scikit-learn's, float64 and float32, in one process.

    python benchmarks/mlp.py                 # run it alone on the machine
    python benchmarks/mlp.py --repeat 1      # a quicker look

Same data, architecture, optimizer (Adam at 1e-3), batch size (200) and L2 penalty
(skfit's ``alpha`` is scikit-learn's divided by the number of rows, DESIGN.md's
units). Run i of ``--repeat`` starts both from ``random_state=i``. Figures, each the
median of the runs (the accuracy: their mean):

* epoch: the marginal time of one epoch, ``(T(k epochs) - T(1 epoch)) / (k - 1)``,
  tolerance off, whole ``fit`` calls timed;
* to target: training time until the test accuracy first reaches ``--target``
  (one ``partial_fit`` epoch at a time; evaluation excluded from the time);
* accuracy: test accuracy after ``--epochs-to-score`` epochs.

Prints a markdown table and writes it to ``benchmarks/results_mlp.md``.
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skfit import MLPClassifier

HERE = Path(__file__).resolve().parent
HIDDEN = (100,)
BATCH = 200
ALPHA = 1e-4  # scikit-learn's units


def workloads(seed):
    """(name, X_train, X_test, y_train, y_test, target accuracy)."""
    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X / 16, y, test_size=0.2, random_state=seed, stratify=y)
    X, y = make_classification(
        120_000, 50, n_informative=30, n_classes=5, random_state=seed
    )
    X = StandardScaler().fit_transform(X)
    five = train_test_split(X, y, test_size=20_000, random_state=seed, stratify=y)
    return [
        ("digits (1,437 x 64)", *digits, 0.97),
        ("5-class (100,000 x 50)", *five, 0.9),
    ]


def make(library, n_rows, max_epochs, seed):
    if library == "skfit":
        return MLPClassifier(
            HIDDEN,
            alpha=ALPHA / n_rows,
            batch_size=BATCH,
            max_epochs=max_epochs,
            tol=None,
            spike_policy="ignore",
            random_state=seed,
        )
    return SklearnMLPClassifier(
        HIDDEN,
        alpha=ALPHA,
        batch_size=BATCH,
        max_iter=max_epochs,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=seed,
    )


def fit_time(library, X, y, epochs, seed):
    model = make(library, X.shape[0], epochs, seed)
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, model


def epoch_time(library, X, y, epochs, seed):
    one, _ = fit_time(library, X, y, 1, seed)
    many, model = fit_time(library, X, y, epochs, seed)
    return (many - one) / (epochs - 1), model


def time_to_target(library, X, y, X_test, y_test, target, max_epochs, seed):
    model = make(library, X.shape[0], max_epochs, seed)
    classes = np.unique(y)
    spent = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        model.partial_fit(X, y, classes=classes)
        spent += time.perf_counter() - start
        if model.score(X_test, y_test) >= target:
            return spent, epoch
    return float("nan"), None


def median_reached(epochs):
    """The median epoch count of the runs that reached the target, or None."""
    reached = [epoch for epoch in epochs if epoch is not None]
    return statistics.median(reached) if reached else None


def run(args):
    rows = []
    for name, X_train, X_test, y_train, y_test, target in workloads(args.seed):
        for dtype in (np.float64, np.float32):
            X, Xt = X_train.astype(dtype), X_test.astype(dtype)
            figures = {}
            for library in ("skfit", "scikit-learn"):
                epochs, accuracy, targets, reached = [], [], [], []
                # Run i starts both libraries from random_state=i: the accuracy after
                # a few epochs varies by a point or two with the starting weights.
                for seed in range(args.repeat):
                    seconds, model = epoch_time(library, X, y_train, args.epochs, seed)
                    epochs.append(seconds)
                    accuracy.append(model.score(Xt, y_test))
                    seconds, epoch = time_to_target(
                        library, X, y_train, Xt, y_test, target, args.max_epochs, seed
                    )
                    targets.append(seconds)
                    reached.append(epoch)
                figures[library] = (
                    statistics.median(epochs),
                    statistics.median(targets),
                    median_reached(reached),
                    statistics.mean(accuracy),
                )
            ours, theirs = figures["skfit"], figures["scikit-learn"]
            rows.append(
                f"| {name} | {np.dtype(dtype).name} | {ours[0] * 1e3:.1f} ms | "
                f"{theirs[0] * 1e3:.1f} ms | **{ours[0] / theirs[0]:.2f}x** | "
                f"{ours[1]:.2f} s ({ours[2]} ep.) | "
                f"{theirs[1]:.2f} s ({theirs[2]} ep.) | "
                f"**{ours[1] / theirs[1]:.2f}x** | {ours[3]:.4f} | {theirs[3]:.4f} |"
            )
            print(rows[-1], flush=True)
    header = (
        f"MLP {HIDDEN}, Adam 1e-3, batches of {BATCH}, {args.epochs}-epoch fits for "
        f"the epoch time and the accuracy; target accuracy 0.97 (digits), 0.90 "
        f"(5-class); run i starts from random_state=i; times and epochs are medians, "
        f"accuracies means, of {args.repeat} runs; BLAS threads: {args.threads}.\n\n"
        "| workload | dtype | skfit epoch | sklearn epoch | ratio | skfit to target "
        "| sklearn to target | ratio | skfit accuracy | sklearn accuracy |\n"
        "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: |\n"
    )
    table = header + "\n".join(rows) + "\n"
    (HERE / "results_mlp.md").write_text(table)
    print(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with threadpool_limits(args.threads):
        run(args)


if __name__ == "__main__":
    main()
