"""The floor of a compiled mini-batch epoch: what the loop's shape alone costs.

    python benchmarks/floor.py            # run it alone on the machine, ~2 minutes

Issue 11 asks that sparse epochs of 256 unshuffled rows cost at most 3 times the
bare bound (one ``X @ w`` plus one ``X.T @ g``) and 5-class epochs at most 2 times.
To tell skfit's overhead from what any per-row mini-batch loop pays, this script
times a *floor kernel*, compiled by numba as skfit's loop is (with its fastmath
flags), that does the least a mini-batch epoch of a linear model must: for each row,
its raw outputs, the log-loss's gradient (the logistic or the softmax) and the row's
share of the gradient; after each batch, a plain gradient step on the parameters the
batch touched (for CSR rows, the features it contains, found as skfit finds them),
and the gradient cleared. It has no objective, no penalty, no optimizer state, no
spike check and no sample weights: every one of those only adds to it. Rows are
taken in order: in a random order, the time a row takes to come from memory depends
on how far ahead it is fetched (skfit's loop prefetches rows), and the kernel would
no longer be a floor.

On the ``sparse`` and ``multiclass`` workloads of ``benchmarks/run.py``, at full
size, it reports the bare bound, the floor kernel's epoch and skfit's epoch
(``run.py``'s configuration of the workload, rows in order, tolerance off, measured
as ``run.py`` measures it), each as a ratio to the bare bound (the bound and the
floor medians of ``--repeat`` runs), and writes them to
``benchmarks/results_floor.md``.
"""

import argparse
import math
from pathlib import Path

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from skfit._numba import FASTMATH

# isort: split
from contenders import Contender, skfit_linear
from measure import epoch_cost, linear_bare_bound, median_seconds
from workloads import SHAPES, make_linear_workload

HERE = Path(__file__).resolve().parent
#: The batch sizes timed on each workload, rows in order.
BATCH_SIZES = {"sparse": [256], "multiclass": [256, 32]}
TARGETS = {"sparse": 3.0, "multiclass": 2.0}
RATE = 0.01


@numba.njit(fastmath=FASTMATH)
def sparse_floor_epoch(data, indices, indptr, y, w, grad, marks, touched, batch_size):
    """One epoch of logistic regression on CSR rows in order (``w[-1]``: the bias)."""
    n = indptr.shape[0] - 1
    for batch, start in enumerate(range(0, n, batch_size)):
        stop = min(start + batch_size, n)
        n_touched = 0
        for row in range(start, stop):
            raw = w[-1]
            for p in range(indptr[row], indptr[row + 1]):
                raw += data[p] * w[indices[p]]
            g = (1.0 / (1.0 + math.exp(-raw)) - y[row]) / (stop - start)
            for p in range(indptr[row], indptr[row + 1]):
                j = indices[p]
                grad[j] += g * data[p]
                if marks[j] != batch:
                    marks[j] = batch
                    touched[n_touched] = j
                    n_touched += 1
            grad[-1] += g
        for q in range(n_touched):
            j = touched[q]
            w[j] -= RATE * grad[j]
            grad[j] = 0.0
        w[-1] -= RATE * grad[-1]
        grad[-1] = 0.0


@numba.njit(fastmath=FASTMATH)
def dense_floor_epoch(X, y, order, params, grad, raw, batch_size):
    """One epoch of multinomial logistic regression on dense rows in ``order``;
    ``params`` holds a row per class, its weights then its bias."""
    n, d = X.shape
    k = params.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        for position in range(start, stop):
            x = X[order[position]]
            top = -math.inf
            for c in range(k):
                s = params[c, d]
                for j in range(d):
                    s += params[c, j] * x[j]
                raw[c] = s
                top = max(top, s)
            total = 0.0
            for c in range(k):
                raw[c] = math.exp(raw[c] - top)
                total += raw[c]
            label = y[order[position]]
            for c in range(k):
                g = (raw[c] / total - (c == label)) / (stop - start)
                for j in range(d):
                    grad[c, j] += g * x[j]
                grad[c, d] += g
        for c in range(k):
            for j in range(d + 1):
                params[c, j] -= RATE * grad[c, j]
                grad[c, j] = 0.0


def floor_epoch(workload, batch_size):
    """A callable that runs one floor-kernel epoch on the workload."""
    X, y = workload.X, workload.y
    if workload.is_sparse:
        n_features = X.shape[1]
        w, grad = np.zeros(n_features + 1), np.zeros(n_features + 1)
        marks = np.full(n_features, -1, dtype=np.intp)
        touched = np.empty(n_features, dtype=np.intp)
        target = y.astype(np.float64)

        def run():
            marks.fill(-1)
            sparse_floor_epoch(
                X.data, X.indices, X.indptr, target, w, grad, marks, touched, batch_size
            )

        return run
    X = np.ascontiguousarray(X)
    labels = np.searchsorted(workload.classes, y)
    k = len(workload.classes)
    params, grad = np.zeros((k, X.shape[1] + 1)), np.zeros((k, X.shape[1] + 1))
    raw = np.empty(k)
    order = np.arange(len(y))

    def run():
        dense_floor_epoch(X, labels, order, params, grad, raw, batch_size)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    lines = [
        "# The floor of a compiled mini-batch epoch (`python benchmarks/floor.py`)\n",
        f"Bare bound and floor kernel: medians of {args.repeat} runs; skfit: the "
        "marginal epoch of a 4-epoch fit (medians of 3 fits); threads: "
        f"{args.threads or 'all'}. Ratios to the bare bound (one `X @ w` plus one "
        "`X.T @ g`).\n",
        "| workload | batches | bare bound | floor kernel | ÷ bare | skfit epoch "
        "| ÷ bare | issue 11's target |",
        "| --- | --- | --: | --: | --: | --: | --: | --: |",
    ]
    with threadpool_limits(args.threads):
        for name, batch_sizes in BATCH_SIZES.items():
            workload = make_linear_workload(name, SHAPES[name][0])
            bare = linear_bare_bound(workload.X, workload.n_outputs, args.repeat)
            for batch_size in batch_sizes:
                label = f"mini-batch {batch_size}"
                run_floor_epoch = floor_epoch(workload, batch_size)
                run_floor_epoch()  # compiles
                floor = median_seconds(run_floor_epoch, args.repeat)
                contender = Contender(
                    f"skfit {label}",
                    "skfit",
                    "skfit",
                    skfit_linear(workload, batch_size, False),
                )
                skfit = epoch_cost(contender, workload, 4, 3).epoch
                lines.append(
                    f"| {name} | {label} | {bare * 1e3:.2f} ms "
                    f"| {floor * 1e3:.2f} ms | {floor / bare:.2f}× "
                    f"| {skfit * 1e3:.2f} ms | {skfit / bare:.2f}× "
                    f"| ≤ {TARGETS[name]:g}× |"
                )
                print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    (HERE / "results_floor.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
