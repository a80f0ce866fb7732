"""What the spike detector and callbacks add to a 50-epoch mini-batch fit.

    python benchmarks/overhead.py            # run it alone on the machine

Times the same GDRegressor fit (50 epochs, tolerance off) four ways:

* bare: the spike detector replaced by a stand-in that never reports (monkeypatched
  here, for the measurement only) and no callbacks;
* detector: skfit as it is, no callbacks;
* detector + callback: with a callback whose hooks do nothing (so each batch builds
  its record and calls ``on_batch_end``);
* detector + ProgressBar: with ``verbose=1``'s tqdm bar, output discarded.

Reports medians of ``--repeat`` runs and the overhead over bare, and writes the table
to ``benchmarks/results_overhead.md``.
"""

import argparse
import contextlib
import io
import statistics
import time
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
    return False, float("nan"), float("nan")


def fit_seconds(X, y, batch_size, callbacks, detector):
    est = GDRegressor(
        batch_size=batch_size,
        max_epochs=50,
        tol=None,
        spike_policy="ignore",
        callbacks=callbacks,
        random_state=0,
    )
    patch = (
        contextlib.nullcontext()
        if detector
        else mock.patch.object(SpikeDetector, "check", never_a_spike)
    )
    with patch, contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
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
        "| batch | variant | fit | overhead over bare |",
        "| --: | --- | --: | --: |",
    ]
    with threadpool_limits(args.threads):
        for batch_size in (64, 256):
            times = {}
            for label, (callbacks, detector) in variants.items():
                runs = [
                    fit_seconds(X, y, batch_size, callbacks, detector)
                    for _ in range(args.repeat)
                ]
                times[label] = statistics.median(runs)
            bare = times["bare (no detector, no callbacks)"]
            for label, seconds in times.items():
                extra = "" if seconds is bare else f"{100 * (seconds / bare - 1):+.1f}%"
                lines.append(f"| {batch_size} | {label} | {seconds:.3f} s | {extra} |")
    table = "\n".join(lines) + "\n"
    (HERE / "results_overhead.md").write_text(table)
    print(table)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
