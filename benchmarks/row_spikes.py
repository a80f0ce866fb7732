"""How well loss spikes name bad rows, and how quiet they stay on clean data.

    python benchmarks/row_spikes.py              # a few minutes on one core
    python benchmarks/row_spikes.py --quick      # fewer seeds and epochs

Planted rows. Ten rows of 2,000 are corrupted: regression targets moved by ten
standard deviations of ``y`` (in a random direction), or classification rows
(``make_classification``'s default classes, without its random labels) whose
features are multiplied by ``--inflate`` factors and whose label is flipped; and,
as real data, ten rows of scikit-learn's 1,797 digits whose features (standardised)
are multiplied by 10 or 30 and whose label is changed to another digit. The
estimators train with their defaults (batches of 32, adam; the MLPs with 20 hidden
units and a learning rate of 0.01) under ``spike_policy="ignore"``, rows shuffled
or in order, and the script counts:

* recall: the share of the batches holding a planted row that are spikes, in the
  rest of the epoch in which the warm-up (20 batches) ends, in the first whole
  epoch after it, and over all epochs after it;
* the same recall over the batches holding a planted row that the clean model
  contradicts (below): every moved regression target, and each flipped or
  changed label that a logistic regression fitted on the clean data does not
  give the row;
* precision: the share of the rows the spikes name (``sample_indices``: the
  culprits, or a whole batch when the batch as a whole spiked) that are planted;
* rows found: the share of the planted rows that :func:`skfit.suspect_rows` lists
  at the end of the fit;

and, once, the share of the planted classification rows whose flipped label is
the one ``LogisticRegression``, fitted on the clean data, gives their clean
features: their loss is that of a well-fitted row, so no rule on losses can find
them, and only their norm sets them apart.

For comparison, GDClassifier is also run with the batch check alone (the per-row
check's ``RowSpikeDetector.check`` patched to find nothing, in the Python loop).

Clean data. Spikes per 1,000 epochs of fits on clean data over seeds and batch
sizes 16, 32 and 64 (and batches of 1 and full batches on a few): regression
with noise, classification with overlapping classes or on log-normal features
(whose rows' norms have a long tail), and scikit-learn's bundled breast cancer,
digits and diabetes data, with the linear models and the MLPs (as above, and on
the digits also with the MLP's defaults: 100 hidden units, a learning rate of
0.001); and, for the norm check, the longest row of some of that data against the
norms' cutoff.

Which rows are in which batch is read by wrapping the training loop's ``order``
(the measurement's only instrument); the tables go to
``benchmarks/results_row_spikes.md``.
"""

import argparse
import contextlib
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
from scipy.special import expit
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skfit import (
    GDClassifier,
    GDRegressor,
    MLPClassifier,
    MLPRegressor,
    config_context,
    suspect_rows,
)
from skfit._training._loop import Training
from skfit._training._row_spikes import (
    HIGH_SHARE,
    WARMUP_ROWS,
    RowSpikeDetector,
    norm_cutoff,
)
from skfit.spikes import WARMUP_BATCHES

HERE = Path(__file__).resolve().parent
N_ROWS = 2000
N_PLANTED = 10
BATCH = 32
#: The MLPs: one hidden layer, and a learning rate that trains them in ten epochs.
MLP = {"hidden_layer_sizes": (20,), "learning_rate": 0.01}


@contextlib.contextmanager
def recorded_orders():
    """Collects each epoch's order of rows (None: in order) while fitting."""
    orders = []
    original = Training.order

    def order(self, rng):
        result = original(self, rng)
        orders.append(result)
        return result

    with mock.patch.object(Training, "order", order):
        yield orders


def standardised(X):
    return StandardScaler().fit_transform(X)


def regression_data(seed, n=N_ROWS):
    X, y = make_regression(n, 10, noise=10, random_state=seed)
    return standardised(X), (y - y.mean()) / y.std()


def classification_data(seed, n=N_ROWS, class_sep=1.0, n_classes=2, n_informative=5):
    """Classes without make_classification's random labels."""
    X, y = make_classification(
        n,
        10,
        n_informative=n_informative,
        n_classes=n_classes,
        flip_y=0.0,
        class_sep=class_sep,
        random_state=seed,
    )
    return standardised(X), y


def clean_data(kind, seed):
    """The data of a kind of planted rows, before they are planted."""
    if kind == "regression":
        return regression_data(seed)
    if kind == "digits":
        return digits(seed)
    return classification_data(seed, n_informative=2)


def planted(kind, seed, inflate):
    """Data with N_PLANTED corrupted rows, and their row numbers."""
    X, y = clean_data(kind, seed)
    rng = np.random.default_rng(seed)
    bad = np.sort(rng.choice(y.size, N_PLANTED, replace=False))
    if kind == "regression":
        y[bad] += 10 * y.std() * rng.choice([-1.0, 1.0], N_PLANTED)
    else:
        X[bad] *= inflate
        n_classes = y.max() + 1
        y[bad] = (y[bad] + rng.integers(1, n_classes, N_PLANTED)) % n_classes
    return X, y, bad


def contradicted(kind, seed, bad, y_bad):
    """The planted rows whose corrupted target ``y_bad`` a model of the clean data
    rejects: every moved regression target, and the flipped or changed labels
    that a logistic regression fitted on the clean data does not give their
    clean features."""
    if kind == "regression":
        return bad
    X, y = clean_data(kind, seed)
    clean = LogisticRegression(max_iter=1000).fit(X, y)
    return bad[clean.predict(X[bad]) != y_bad]


def batches_holding(orders, bad, n_rows):
    """For each epoch, the batch numbers whose rows include a planted one."""
    held = []
    for order in orders:
        positions = np.arange(n_rows) if order is None else order
        holds = np.isin(positions, bad)
        held.append(np.unique(np.flatnonzero(holds) // BATCH))
    return held


def recall_tally(orders, rows, spiked, n_rows):
    """``(hit, held)`` per recall window (rest of the warm-up epoch, next epoch,
    all after the warm-up) over the batches holding one of ``rows``; ``spiked``
    holds the ``(epoch, batch)`` of each spike."""
    n_batches = -(-n_rows // BATCH)
    warm = max(WARMUP_BATCHES, -(-WARMUP_ROWS // BATCH))
    tally = np.zeros((3, 2), dtype=int)
    for epoch, held in enumerate(batches_holding(orders, rows, n_rows), 1):
        for batch in held:
            step = (epoch - 1) * n_batches + batch
            if step < warm:
                continue
            windows = (step < n_batches, n_batches <= step < 2 * n_batches, True)
            tally[list(windows)] += ((epoch, batch) in spiked, 1)
    return tally


def detection(kind, inflate, seeds, epochs, mlp=False):
    """Recall (rest of the warm-up epoch, next epoch, all after the warm-up),
    precision, rows found and rows flipped to the clean answer over seeds, rows
    shuffled and in order (the last depends on the data alone)."""
    # (hit, held) per recall window, over batches holding a planted row, then
    # over those holding a row the clean model contradicts.
    counts = np.zeros((2, 3, 2), dtype=int)
    named = np.zeros(2, dtype=int)  # planted, all
    found = np.zeros(2, dtype=int)  # planted rows suspected, planted rows
    agreeing = np.zeros(2, dtype=int)  # flipped to the clean answer, planted rows
    for seed in seeds:
        X, y, bad = planted(kind, seed, inflate)
        rejected = contradicted(kind, seed, bad, y[bad])
        for shuffle in (True, False):
            Estimator = {
                (True, False): GDRegressor,
                (False, False): GDClassifier,
                (True, True): MLPRegressor,
                (False, True): MLPClassifier,
            }[kind == "regression", mlp]
            extra = {"batch_size": BATCH, **MLP} if mlp else {}
            est = Estimator(
                max_epochs=epochs,
                tol=None,
                spike_policy="ignore",
                shuffle=shuffle,
                random_state=seed,
                **extra,
            )
            with recorded_orders() as orders:
                est.fit(X, y)
            spiked = {(s.epoch, s.batch) for s in est.spikes_}
            counts += [
                recall_tally(orders, rows, spiked, y.size) for rows in (bad, rejected)
            ]
            for spike in est.spikes_:
                named += (
                    np.isin(spike.sample_indices, bad).sum(),
                    spike.sample_indices.size,
                )
            found += (np.isin(bad, suspect_rows(est).index).sum(), bad.size)
            if kind != "regression":
                agreeing += (bad.size - rejected.size, bad.size)
    return counts, named, found, agreeing


def clean_cases(quick):
    """(label, Estimator, data maker(seed), batch sizes, extra parameters)."""
    sizes = (16, 32, 64)
    mlp = MLP
    cases = [
        ("GDRegressor, regression", GDRegressor, regression_data, sizes, {}),
        (
            "GDClassifier, overlapping classes",
            GDClassifier,
            lambda s: classification_data(s, class_sep=0.5),
            sizes,
            {},
        ),
        (
            "GDClassifier, 3 classes",
            GDClassifier,
            lambda s: classification_data(s, n_classes=3),
            sizes,
            {},
        ),
        ("GDClassifier, breast cancer", GDClassifier, cancer, sizes, {}),
        ("GDClassifier, digits", GDClassifier, digits, sizes, {}),
        ("GDRegressor, diabetes", GDRegressor, diabetes, sizes, {}),
        ("MLPRegressor, regression", MLPRegressor, regression_data, sizes, mlp),
        (
            "MLPClassifier, overlapping classes",
            MLPClassifier,
            lambda s: classification_data(s, class_sep=0.5),
            sizes,
            mlp,
        ),
        ("MLPClassifier, breast cancer", MLPClassifier, cancer, sizes, mlp),
        ("MLPClassifier, digits", MLPClassifier, digits, sizes, mlp),
        ("MLPClassifier (its defaults), digits", MLPClassifier, digits, sizes, {}),
        ("GDClassifier, log-normal features", GDClassifier, heavy_tailed, sizes, {}),
        (
            "MLPClassifier, log-normal features",
            MLPClassifier,
            heavy_tailed,
            sizes,
            mlp,
        ),
        (
            "GDRegressor, log-normal features",
            GDRegressor,
            lambda s: heavy_tailed(s, task="regression"),
            sizes,
            {},
        ),
        (
            "MLPRegressor, log-normal features",
            MLPRegressor,
            lambda s: heavy_tailed(s, task="regression"),
            sizes,
            mlp,
        ),
        (
            "GDClassifier, batches of 1",
            GDClassifier,
            lambda s: classification_data(s, n=500, class_sep=0.5),
            (1,),
            {},
        ),
        (
            "GDRegressor, full batch",
            GDRegressor,
            lambda s: regression_data(s, n=500),
            (None,),
            {},
        ),
        (
            "GDClassifier, full batch",
            GDClassifier,
            lambda s: classification_data(s, n=500, class_sep=0.5),
            (None,),
            {},
        ),
    ]
    return cases[:3] + cases[6:8] if quick else cases


def heavy_tailed(seed, n=N_ROWS, task="classification"):
    """Classes of a logistic model (or targets of a linear model with noise) on
    standardised log-normal features (sigma 2), whose rows' norms have a long
    tail: clean rows far out in feature space. Most margins are small and a few
    large, so some rows draw a label the model gives one chance in a few hundred:
    hard but correct rows."""
    rng = np.random.default_rng(seed)
    X = standardised(rng.lognormal(sigma=2.0, size=(n, 10)))
    raw = X @ rng.standard_normal(10)
    if task == "regression":
        return X, raw + rng.standard_normal(n)
    return X, (rng.random(n) < expit(raw)).astype(int)


def cancer(seed):
    X, y = load_breast_cancer(return_X_y=True)
    return standardised(X), y


def digits(seed):
    X, y = load_digits(return_X_y=True)
    return standardised(X), y


def diabetes(seed):
    X, y = load_diabetes(return_X_y=True)
    return standardised(X), (y - y.mean()) / y.std()


def clean_spikes(Estimator, make, sizes, extra, seeds, epochs):
    """(row-level spikes, batch-level spikes, epochs run)."""
    rows = whole = n_epochs = 0
    for seed in seeds:
        X, y = make(seed)
        for batch_size in sizes:
            est = Estimator(
                batch_size=batch_size,
                max_epochs=epochs,
                tol=None,
                spike_policy="ignore",
                random_state=seed,
                **extra,
            ).fit(X, y)
            rows += sum(1 for s in est.spikes_ if s.n_culprits)
            whole += sum(1 for s in est.spikes_ if not s.n_culprits)
            n_epochs += est.n_epochs_
    return rows, whole, n_epochs


def percent(hit, total):
    return f"{100 * hit / total:.1f}% ({hit}/{total})" if total else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--inflate", default="10,20,30")
    args = parser.parse_args()
    seeds = range(3) if args.quick else range(20)
    epochs = 5 if args.quick else 20
    start = time.perf_counter()
    lines = [
        f"# Row-level spikes: {N_PLANTED} planted rows in {N_ROWS:,} (in 1,797 "
        f"digits), batches of "
        f"{BATCH}, {epochs} epochs, seeds {seeds.start}-{seeds.stop - 1}, rows "
        "shuffled and in order\n",
        "| planted rows | model | recall, rest of warm-up epoch | recall, next "
        "epoch | recall, all epochs | contradicted rows: recall, rest of warm-up "
        "epoch | contradicted rows: recall, next epoch | precision of named rows | "
        "rows found |",
        "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
    ]
    plans = [("regression", None, "targets moved by 10 sd of y")]
    plans += [
        ("classification", float(f), f"label flipped, features x{float(f):g}")
        for f in args.inflate.split(",")
    ]
    plans += [
        ("digits", float(f), f"digits: label changed, features x{f}") for f in (10, 30)
    ]
    runs = [(mlp, *plan, False) for mlp in (False, True) for plan in plans]
    runs += [(False, *plan, True) for plan in plans if plan[0] == "classification"]
    agreeing_share = {}
    for mlp, kind, inflate, label, batch_check_alone in runs:
        model = ("MLP" if mlp else "GD") + (
            "Regressor" if kind == "regression" else "Classifier"
        )
        with contextlib.ExitStack() as patches:
            if batch_check_alone:
                model += ", batch check alone"
                patches.enter_context(config_context(use_numba=False))
                patches.enter_context(
                    mock.patch.object(RowSpikeDetector, "check", lambda *args: 0)
                )
            counts, named, found, agreeing = detection(
                kind, inflate, seeds, epochs, mlp=mlp
            )
        lines.append(
            f"| {label} | {model} | "
            + " | ".join(percent(*c) for c in [*counts[0], *counts[1][:2]])
            + f" | {percent(*named)} | {percent(*found)} |"
        )
        if kind != "regression":
            agreeing_share[kind] = percent(*agreeing)
    lines += [
        "",
        "Flipped or changed to the label a clean LogisticRegression gives them: "
        f"{agreeing_share['classification']} of the planted classification rows, "
        f"{agreeing_share['digits']} of the digits.",
        "",
        f"# Clean data: spikes per 1,000 epochs ({epochs} epochs per fit, seeds "
        f"{seeds.start}-{seeds.stop - 1})\n",
        "| data | batch sizes | epochs | row-level spikes | batch-level spikes |",
        "| --- | --- | --: | --: | --: |",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, Estimator, make, sizes, extra in clean_cases(args.quick):
            rows, whole, n_epochs = clean_spikes(
                Estimator, make, sizes, extra, seeds, epochs
            )
            lines.append(
                f"| {label} | {', '.join(str(s) for s in sizes)} | {n_epochs} | "
                f"{1000 * rows / n_epochs:.2f} ({rows}) | "
                f"{1000 * whole / n_epochs:.2f} ({whole}) |"
            )
    lines += [
        "",
        "# Clean data: the longest row against the norms' cutoff\n",
        "The norm check's cutoff (spike_threshold=6) over the rows' norms, and the "
        "longest row's norm as a share of it: a row beyond 100% that the model fits "
        "worse than most rows would be named.\n",
        "| data | median norm | 98th percentile | cutoff | longest row | share |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    for label, make in [
        ("breast cancer", cancer),
        ("digits", digits),
        ("diabetes", diabetes),
        ("regression", regression_data),
        ("overlapping classes", lambda seed: classification_data(seed, class_sep=0.5)),
        ("log-normal features", heavy_tailed),
    ]:
        norms = np.linalg.norm(make(0)[0], axis=1)
        median, high = np.quantile(norms, [0.5, 1 - HIGH_SHARE])
        cutoff = norm_cutoff(median, high, 6.0)
        lines.append(
            f"| {label} | {median:.2f} | {high:.2f} | {cutoff:.2f} | "
            f"{norms.max():.2f} | {100 * norms.max() / cutoff:.0f}% |"
        )
    lines.append(f"\n{time.perf_counter() - start:.0f} s.")
    table = "\n".join(lines) + "\n"
    if not args.quick:
        (HERE / "results_row_spikes.md").write_text(table)
    print(table)


if __name__ == "__main__":
    np.seterr(all="ignore")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
