"""What the spike detector and callbacks add to a 50-epoch mini-batch fit.

    python benchmarks/overhead.py            # run it alone on the machine

Times the same GDRegressor fit (50 epochs, tolerance off) four ways:

* bare: the spike detector replaced by a stand-in that never reports (its ``check``,
  which the Python loop calls per batch, and ``check_run``, which the compiled loop
  calls per epoch, monkeypatched here for the measurement only) and no callbacks;
* detector: skfit as it is, no callbacks;
* detector + callback: with a callback whose hooks do nothing (so each batch builds
  its record and calls ``on_batch_end``);
* detector + ProgressBar: with ``verbose=1``'s tqdm bar, output discarded.

Whole fits on a shared machine vary by a few percent from run to run, more than the
detector costs; so the script also times ``SpikeDetector.check`` and
``check_run`` alone (``timeit``) and states their share of a batch's time. Reports
the median and the fastest of ``--repeat`` runs, the overhead over bare by the
fastest, and writes the tables to ``benchmarks/results_overhead.md``.
"""

import argparse
import contextlib
import io
import statistics
import time
import timeit
from pathlib import Path
from unittest import mock

import numpy as np
from sklearn.datasets import make_regression
from threadpoolctl import threadpool_limits

from skfit import GDRegressor
from skfit.callbacks import Callback, ProgressBar
from skfit.spikes import SpikeDetector

HERE = Path(__file__).resolve().parent


class Quiet(Callback):
    """Every hook does nothing: the cost of calling them."""


def never_a_spike(self, loss, n_samples):
    return False


def never_a_spike_in_a_run(self, losses, n_samples):
    return np.zeros(len(losses), dtype=bool), np.full(len(losses), np.nan)


def fit_seconds(X, y, batch_size, callbacks, detector):
    est = GDRegressor(
        batch_size=batch_size,
        max_epochs=50,
        tol=None,
        spike_policy="ignore",
        callbacks=callbacks,
        random_state=0,
    )
    patches = contextlib.ExitStack()
    if not detector:
        # The Python loop checks each batch, the compiled loop a whole epoch.
        patches.enter_context(mock.patch.object(SpikeDetector, "check", never_a_spike))
        patches.enter_context(
            mock.patch.object(SpikeDetector, "check_run", never_a_spike_in_a_run)
        )
    with patches, contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - start


def warmed_up_detector():
    detector = SpikeDetector(threshold=6.0)
    for i in range(100):
        detector.check(1.0 + 0.01 * (i % 3), 64)
    return detector


def check_seconds():
    """The time of one ``SpikeDetector.check`` after its warm-up."""
    detector = warmed_up_detector()
    calls = 200_000
    best = min(timeit.repeat(lambda: detector.check(1.01, 64), number=calls, repeat=5))
    return best / calls


def check_run_seconds(n_batches=1000):
    """The time per batch of ``SpikeDetector.check_run`` over an epoch's losses."""
    detector = warmed_up_detector()
    losses = 1.0 + 0.01 * (np.arange(n_batches) % 3)
    sizes = [64] * n_batches
    detector.check_run(losses, sizes)  # compile, when numba is installed
    calls = 200
    best = min(
        timeit.repeat(lambda: detector.check_run(losses, sizes), number=calls, repeat=5)
    )
    return best / calls / n_batches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    X, y = make_regression(args.rows, 50, noise=10, random_state=0)
    y = (y - y.mean()) / y.std()
    variants = {
        "bare (no detector, no callbacks)": ([], False),
        "detector": ([], True),
        "detector + no-op callback": ([Quiet()], True),
        "detector + ProgressBar": ([ProgressBar()], True),
    }
    lines = [
        f"GDRegressor, {args.rows:,} x 50, 50 epochs, medians of {args.repeat} runs, "
        f"{args.threads} BLAS thread(s).\n",
        "| batch | variant | fit (median) | fit (fastest) | overhead over bare |",
        "| --: | --- | --: | --: | --: |",
    ]
    batch_seconds = {}
    with threadpool_limits(args.threads):
        for batch_size in (64, 256):
            # Round robin over the variants, so that a drift of the machine's speed
            # touches them all alike.
            runs = {label: [] for label in variants}
            for _ in range(args.repeat):
                for label, (callbacks, detector) in variants.items():
                    runs[label].append(
                        fit_seconds(X, y, batch_size, callbacks, detector)
                    )
            bare = min(runs["bare (no detector, no callbacks)"])
            batch_seconds[batch_size] = bare / (50 * -(-args.rows // batch_size))
            for label, values in runs.items():
                fastest = min(values)
                extra = (
                    f"{100 * (fastest / bare - 1):+.1f}%" if "bare" not in label else ""
                )
                lines.append(
                    f"| {batch_size} | {label} | {statistics.median(values):.3f} s | "
                    f"{fastest:.3f} s | {extra} |"
                )
    lines.append("")
    for name, seconds_per_batch in (
        ("`SpikeDetector.check` (the Python loop, per batch)", check_seconds()),
        (
            "`SpikeDetector.check_run` (the compiled loop, per epoch)",
            check_run_seconds(),
        ),
    ):
        lines.append(
            f"{name} alone: {seconds_per_batch * 1e6:.2f} µs per batch, "
            + ", ".join(
                f"{100 * seconds_per_batch / seconds:.1f}% of a batch of {size} "
                f"({seconds * 1e6:.0f} µs)"
                for size, seconds in batch_seconds.items()
            )
            + "."
        )
    table = "\n".join(lines) + "\n"
    (HERE / "results_overhead.md").write_text(table)
    print(table)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
