"""What the spike checks and callbacks add to a 50-epoch mini-batch fit.

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
``check_run`` alone (``timeit``) and states their share of a batch's time.

The per-row check runs inside the compiled kernel, on each batch's row losses. A
second table
times compiled epochs (the kernel's call on the arguments of a fit's second epoch)
of GDRegressor and GDClassifier with the kernel and without its statements
marked ``# row check``, both compiled afresh from its source, at several batch
sizes:
``10 * --repeat`` pairs, each pair back to back in alternating order, timed in
processor time (the time the process waited for a core on a shared machine left
out), and the overhead is the median of the pairs' ratios.

Reports medians and the fastest of ``--repeat`` runs for the first table (the
overhead by the fastest), and writes the tables to
``benchmarks/results_overhead.md``.
"""

import argparse
import ast
import contextlib
import inspect
import io
import statistics
import textwrap
import time
import timeit
from pathlib import Path
from unittest import mock

import numba
import numpy as np
from sklearn.datasets import make_classification, make_regression
from threadpoolctl import threadpool_limits

from skfit import GDClassifier, GDRegressor
from skfit._numba import FASTMATH
from skfit._training import _compiled_batches
from skfit.callbacks import Callback, ProgressBar
from skfit.spikes import SpikeDetector

HERE = Path(__file__).resolve().parent


class Quiet(Callback):
    """Every hook does nothing: the cost of calling them."""


def never_a_spike(self, loss, n_samples, loss_without_largest=np.nan):
    return False


def never_a_spike_in_a_run(self, losses, n_samples, losses_without_largest=None):
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
    """A detector after its warm-up, judging batches with the loss of their other
    rows (a tenth below the batch's), as once the per-row check judges rows."""
    detector = SpikeDetector(threshold=6.0)
    for i in range(100):
        loss = 1.0 + 0.01 * (i % 3)
        detector.check(loss, 64, 0.9 * loss)
    return detector


def check_seconds():
    """The time of one ``SpikeDetector.check`` after its warm-up."""
    detector = warmed_up_detector()
    calls = 200_000
    best = min(
        timeit.repeat(lambda: detector.check(1.01, 64, 0.91), number=calls, repeat=5)
    )
    return best / calls


def check_run_seconds(n_batches=1000):
    """The time per batch of ``SpikeDetector.check_run`` over an epoch's losses."""
    detector = warmed_up_detector()
    losses = 1.0 + 0.01 * (np.arange(n_batches) % 3)
    others = 0.9 * losses
    sizes = [64] * n_batches
    detector.check_run(losses, sizes, others)  # compile, when numba is installed
    calls = 200
    best = min(
        timeit.repeat(
            lambda: detector.check_run(losses, sizes, others), number=calls, repeat=5
        )
    )
    return best / calls / n_batches


def compiled_kernel(row_check):
    """The epoch kernel compiled afresh from its source, with or without the
    statements marked ``# row check`` (those whose last line ends with the mark):
    both variants compiled alike, so that neither is the cached one."""
    function = _compiled_batches._train_epoch.py_func
    source = textwrap.dedent(inspect.getsource(function))
    marked = {
        number
        for number, line in enumerate(source.splitlines(), start=1)
        if line.rstrip().endswith("# row check")
    }

    class Strip(ast.NodeTransformer):
        def generic_visit(self, node):
            super().generic_visit(node)
            for name in ("body", "orelse"):
                statements = getattr(node, name, None)
                if isinstance(statements, list) and statements:
                    kept = [s for s in statements if s.end_lineno not in marked]
                    setattr(node, name, kept or [ast.Pass()])
            return node

    tree = ast.parse(source)
    tree.body[0].decorator_list = []
    if not row_check:
        tree = ast.fix_missing_locations(Strip().visit(tree))
        assert "check_rows" not in ast.unparse(tree)
    namespace = dict(vars(_compiled_batches))
    exec(compile(tree, "<epoch kernel>", "exec"), namespace)
    return numba.njit(nogil=True, fastmath=FASTMATH)(namespace["_train_epoch"])


def kernel_arguments(Estimator, X, y, batch_size):
    """Copies of the kernel's arguments for the second epoch of a fit, after the
    per-row check's warm-up."""
    kernel, calls = _compiled_batches._train_epoch, []

    def recording(*args):
        calls.append([a.copy() if isinstance(a, np.ndarray) else a for a in args])
        return kernel(*args)

    est = Estimator(batch_size=batch_size, max_epochs=2, tol=None, random_state=0)
    with mock.patch.object(_compiled_batches, "_train_epoch", recording):
        est.set_params(spike_policy="ignore").fit(X, y)
    return calls[1]


def epoch_seconds(kernel, arguments):
    """The processor time of one compiled epoch, on fresh copies of its
    arguments: on a shared machine, the time the process waits for a core is not
    the kernel's."""
    fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in arguments]
    start = time.process_time()
    kernel(*fresh)
    return time.process_time() - start


def row_check_table(rows, repeat):
    """Compiled epochs with and without the per-row check: the two kernels run
    in pairs, back to back in alternating order, so that a drift of the shared
    machine's speed touches both; the overhead is the median of the pairs'
    ratios."""
    X, y = make_regression(rows, 50, noise=10, random_state=0)
    y = (y - y.mean()) / y.std()
    X_c, y_c = make_classification(rows, 50, random_state=0)
    with_check, without = compiled_kernel(True), compiled_kernel(False)
    pairs = 10 * repeat
    lines = [
        f"Compiled epochs, {rows:,} x 50, with and without the per-row check (the "
        f"kernel's statements marked `# row check`): {pairs} pairs of epochs, each "
        "pair back to back in alternating order.\n",
        "| model | batch | epoch without (median) | epoch with (median) | "
        "overhead (median of pairs) | middle half of pairs |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    for Estimator, data in ((GDRegressor, (X, y)), (GDClassifier, (X_c, y_c))):
        for batch_size in (32, 64, 256):
            arguments = kernel_arguments(Estimator, *data, batch_size)
            for kernel in (without, with_check):  # compile
                epoch_seconds(kernel, arguments)
            times = {"without": [], "with": []}
            for pair in range(pairs):
                kernels = [("without", without), ("with", with_check)]
                for label, kernel in kernels[:: 1 if pair % 2 else -1]:
                    times[label].append(epoch_seconds(kernel, arguments))
            ratios = np.array(times["with"]) / np.array(times["without"]) - 1
            low, middle, high = 100 * np.percentile(ratios, [25, 50, 75])
            lines.append(
                f"| {Estimator.__name__} | {batch_size} | "
                f"{statistics.median(times['without']) * 1e3:.2f} ms | "
                f"{statistics.median(times['with']) * 1e3:.2f} ms | "
                f"{middle:+.1f}% | {low:+.1f}% to {high:+.1f}% |"
            )
    return lines


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
    lines.append("")
    with threadpool_limits(args.threads):
        lines += row_check_table(args.rows, args.repeat)
    table = "\n".join(lines) + "\n"
    (HERE / "results_overhead.md").write_text(table)
    print(table)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
