"""The speed-up of a grid search on a two-worker Dask cluster over ``n_jobs=1``.

    python benchmarks/dask_search.py            # run it alone on the machine
    python benchmarks/dask_search.py --scale 0.2 --repeat 1   # a quick check

Runs the same ``GridSearchCV`` (a scaler and an ``MLPClassifier`` of 200 epochs on
scikit-learn's digits, 8 candidates x 3 folds, a fraction of a second per fit)
serially and under ``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of two
single-threaded worker processes listening on 127.0.0.1, checks that both give the
same ``cv_results_`` scores, and prints the median wall-clock times and the
speed-up, with the CPU seconds each run used (this process's, which include the
scheduler's, plus the workers'). Every process uses one BLAS thread, so that the
comparison is of workers, not of BLAS threads.
On a busy machine the wall-clock speed-up means little; the CPU seconds still show
what distribution costs.

The workers are warmed up first (one small fit each: importing skfit and loading
the compiled loop take a few seconds per new process), because a long-lived
cluster pays that once; the first search on a fresh cluster is slower by that much.
With two workers the speed-up is at most 2, less the cost of sending each fit's
data and estimator to a worker and its scores back.
"""

import argparse
import os
import statistics
import time
import warnings

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    # Set before numpy loads BLAS; the worker processes inherit them.
    os.environ.setdefault(_variable, "1")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skfit import MLPClassifier  # noqa: E402


def make_search(max_epochs, n_jobs):
    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(max_epochs=max_epochs, tol=None, random_state=0),
    )
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(32,), (128,)],
        "mlpclassifier__learning_rate": [0.001, 0.01],
        "mlpclassifier__activation": ["relu", "tanh"],
    }
    return GridSearchCV(model, grid, cv=3, n_jobs=n_jobs)


def cpu_seconds(client=None):
    """CPU seconds used so far by this process and, with a client, its workers."""
    used = sum(psutil.Process().cpu_times()[:2])
    if client is not None:
        workers = client.run(lambda: sum(psutil.Process().cpu_times()[:2]))
        used += sum(workers.values())
    return used


def timed(search, X, y, client=None):
    """Wall-clock and CPU seconds of a search, and its mean test scores."""
    cpu, start = cpu_seconds(client), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    wall = time.perf_counter() - start
    return wall, cpu_seconds(client) - cpu, search.cv_results_["mean_test_score"]


def warm_up():
    """Import skfit and run its compiled loop once in this process."""
    from sklearn.datasets import load_iris

    from skfit import GDClassifier

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GDClassifier(max_epochs=2).fit(X, y)
        MLPClassifier(hidden_layer_sizes=(4,), max_epochs=2).fit(X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="times 200 epochs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing")
    args = parser.parse_args()
    max_epochs = max(2, round(200 * args.scale))
    X, y = load_digits(return_X_y=True)

    warm_up()
    serial, serial_scores = [], None
    for _ in range(args.repeat):
        *seconds, serial_scores = timed(make_search(max_epochs, n_jobs=1), X, y)
        serial.append(seconds)

    cluster = []
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as local_cluster,
        Client(local_cluster) as client,
    ):
        client.run(warm_up)
        for _ in range(args.repeat):
            search = make_search(max_epochs, n_jobs=-1)
            with joblib.parallel_backend("dask"):
                *seconds, scores = timed(search, X, y, client)
            cluster.append(seconds)
            assert np.array_equal(scores, serial_scores), "the searches disagree"

    (serial_wall, serial_cpu), (wall, cpu) = (
        [statistics.median(column) for column in zip(*runs, strict=True)]
        for runs in (serial, cluster)
    )
    print(f"GridSearchCV, 8 candidates x 3 folds, MLPClassifier {max_epochs} epochs")
    print(f"load average over the last minute: {os.getloadavg()[0]:.1f}")
    print("| run | median wall seconds | CPU seconds | speed-up |")
    print("| --- | --- | --- | --- |")
    print(f"| n_jobs=1 | {serial_wall:.2f} | {serial_cpu:.2f} | 1.00 |")
    print(f"| dask, 2 workers | {wall:.2f} | {cpu:.2f} | {serial_wall / wall:.2f} |")


if __name__ == "__main__":
    main()
