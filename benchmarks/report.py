"""Markdown: the environment header, the ratio tables and the notes."""

import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
from threadpoolctl import threadpool_info

DASH = "—"


# ---------------------------------------------------------------- numbers
def missing(value):
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_time(seconds):
    """Seconds with three significant digits, in s, ms or µs."""
    if missing(seconds):
        return DASH
    magnitude = abs(seconds)
    if magnitude >= 1:
        return f"{seconds:.3g} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_ratio(numerator, denominator):
    if missing(numerator) or missing(denominator) or denominator <= 0:
        return DASH
    return f"{numerator / denominator:.3g}×"


def fmt_gap(gap):
    if missing(gap):
        return DASH
    return f"{gap:.2%}" if abs(gap) < 10 else f"{gap:.3g}×"


def fmt_bytes(n_bytes):
    if missing(n_bytes):
        return DASH
    return f"{n_bytes / 2**20:.3g} MB"


def fmt_reached(reached):
    """The time to the target, or how far the run got when it missed it."""
    if reached is None:
        return DASH
    if reached.seconds is not None:
        return fmt_time(reached.seconds)
    if reached.last_epoch is None:
        return "not reached"
    return f"not reached in {reached.last_epoch} epochs"


def fmt_reached_epoch(reached):
    """The time to the target and, in brackets, the epoch that reached it."""
    if reached.seconds is None:
        return "not reached"
    return f"{fmt_time(reached.seconds)} (epoch {reached.epochs})"


def fmt_number(value, digits=4):
    return DASH if missing(value) else f"{value:.{digits}g}"


def markdown_table(headers, rows, align=None):
    """A markdown table; ``align`` is a string of "l"/"r", one per column."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


# ---------------------------------------------------------------- environment
def git_description(path):
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"git {commit}" + (" + uncommitted changes" if dirty else "")


def blas_table():
    """threadpoolctl's view of the BLAS and OpenMP libraries, inside the limits."""
    keys = ("user_api", "internal_api", "version", "architecture", "threading_layer")
    rows = [
        [*(str(info.get(k, DASH)) for k in keys), info.get("num_threads", DASH)]
        + [Path(info.get("filepath", "")).name]
        for info in threadpool_info()
    ]
    headers = [*keys, "threads", "library"]
    return markdown_table(headers, rows or [[DASH] * len(headers)], "l" * 7)


def numba_description():
    import numba

    return f"{numba.__version__}: linear models train through the compiled loop"


def environment_section(args, skfit):
    command = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
    skfit_path = Path(skfit.__file__).resolve().parent
    rows = [
        ["command", f"`{command}`"],
        ["date", time.strftime("%Y-%m-%d %H:%M:%S %Z")],
        ["skfit", f"{skfit.__version__} ({skfit_path}, {git_description(skfit_path)})"],
        ["python", f"{platform.python_version()} ({platform.machine()})"],
        [
            "numpy / scipy / scikit-learn",
            f"{np.__version__} / {scipy.__version__} / {sklearn.__version__}",
        ],  # fmt: skip
        ["numba (skfit's compiled loop)", numba_description()],
        ["CPUs", str(os.cpu_count())],
        ["threads (--threads)", "all" if args.threads is None else str(args.threads)],
        ["OPENBLAS_CORETYPE", os.environ.get("OPENBLAS_CORETYPE", "unset")],
        ["scale / repeat", f"{args.scale:g} / {args.repeat} (medians)"],
        [
            "epochs timed / max epochs / budget",
            f"{args.epochs} / {args.max_epochs} / {args.budget:g} s per run",
        ],
        ["target", f"within {args.target:.3g} (relative) of the optimum"],
    ]
    return "\n\n".join(
        [
            "# skfit benchmark",
            markdown_table(["", ""], rows, "ll"),
            "BLAS and OpenMP seen by threadpoolctl (inside the thread limits):",
            blas_table(),
        ]
    )


# ---------------------------------------------------------------- lookups
def sklearn_epoch_row(result):
    """The scikit-learn row whose epoch skfit's are compared with."""
    family = "mlp" if result.workload.model == "mlp" else "sgd"
    return next(
        (
            r
            for r in result.rows
            if r.contender.family == family and not r.contender.is_skfit
        ),
        None,
    )


def sgd_row(result):
    return next((r for r in result.rows if r.contender.family == "sgd"), None)


def exact_row(result):
    return next((r for r in result.rows if r.contender.family == "exact"), None)


def epoch_seconds(row):
    if row is None:
        return None
    return row.epoch.epoch if row.epoch is not None else row.per_iteration


def to_target_seconds(row):
    return None if row is None or row.to_target is None else row.to_target.seconds


def skfit_rows(result):
    return [r for r in result.rows if r.contender.is_skfit]


def fastest_to_target(rows):
    reached = [r for r in rows if to_target_seconds(r) is not None]
    return min(reached, key=to_target_seconds, default=None)


# ---------------------------------------------------------------- summary
def joined_ratios(rows, numerator, denominator):
    """``numerator(row) / denominator`` for each row, joined by slashes."""
    return " / ".join(fmt_ratio(numerator(r), denominator) for r in rows) or DASH


def fastest_text(row):
    if row is None:
        return DASH
    label = row.contender.label.removeprefix("skfit ")
    return f"{fmt_time(to_target_seconds(row))} ({label})"


def summary_row(result):
    own = skfit_rows(result)
    reference = sklearn_epoch_row(result)
    fastest = fastest_to_target(own)
    fastest_seconds = to_target_seconds(fastest)
    return [
        result.workload.name,
        result.workload.shape_text(),
        fmt_time(result.bare_bound),
        joined_ratios(own, epoch_seconds, result.bare_bound),
        joined_ratios(own, epoch_seconds, epoch_seconds(reference)),
        joined_ratios(
            [r for r in own if r.python_epoch is not None],
            lambda r: r.python_epoch.epoch,
            result.bare_bound,
        ),
        fastest_text(fastest),
        fmt_ratio(fastest_seconds, to_target_seconds(exact_row(result))),
        fmt_ratio(fastest_seconds, to_target_seconds(sgd_row(result))),
        joined_ratios(own, lambda r: r.memory, reference.memory if reference else None),
    ]


def summary_table(results, target):
    """One row of ratios per workload: the table to read first."""
    headers = [
        "workload",
        "size",
        "bare bound",
        "skfit epoch ÷ bare (full / 256 / 1024 / 32; MLP)",
        "skfit epoch ÷ sklearn epoch (full / 256 / 1024 / 32; MLP)",
        "Python runner (use_numba=False) epoch ÷ bare (full / 256 / 1024 / 32)",
        f"fastest skfit to {target:.0%}",
        "÷ exact solver",
        "÷ SGD",
        "skfit memory ÷ sklearn (full / 256 / 1024 / 32; MLP)",
    ]
    rows = [summary_row(result) for result in results]
    table = markdown_table(headers, rows, "ll" + "r" * 8)
    return "\n\n".join(["## Summary: ratios", table])


# ---------------------------------------------------------------- per workload
def epoch_table(result):
    reference = sklearn_epoch_row(result)
    ref_label = reference.contender.label if reference else "sklearn"
    headers = [
        "contender",
        "batches / epoch",
        "epoch",
        "÷ bare bound",
        f"÷ {ref_label} epoch",
        "overhead / batch",
        "setup per fit",
        "K",
        "epoch, Python loop",
        "÷ bare bound",
    ]
    rows = []
    for row in result.rows:
        seconds = epoch_seconds(row)
        python_seconds = None if row.python_epoch is None else row.python_epoch.epoch
        per_batch = None
        if row.epoch is not None and row.batches:
            per_batch = (seconds - result.bare_bound) / row.batches
        label = row.contender.label
        if row.epoch is None and seconds is not None:
            label += " (per solver iteration)"
        rows.append(
            [
                label,
                DASH if row.batches is None else f"{row.batches:,}",
                fmt_time(seconds),
                fmt_ratio(seconds, result.bare_bound),
                fmt_ratio(seconds, epoch_seconds(reference)),
                fmt_time(per_batch),
                fmt_time(None if row.epoch is None else row.epoch.setup),
                DASH if row.epoch is None else row.epoch.n_epochs,
                fmt_time(python_seconds),
                fmt_ratio(python_seconds, result.bare_bound),
            ]
        )
    return markdown_table(headers, rows)


def convergence_table(result, target):
    exact = exact_row(result)
    sgd = sgd_row(result)
    headers = [
        "contender",
        f"to {target:.0%}",
        "epochs to it",
        "÷ exact solver",
        "÷ SGD",
        "fit, own stopping",
        "epochs",
        "stopped by",
        "final gap",
        "test score",
        "peak memory",
        "÷ input",
    ]
    rows = []
    for row in result.rows:
        reached = row.to_target
        rows.append(
            [
                row.contender.label,
                fmt_reached(reached),
                DASH if reached is None or reached.epochs is None else reached.epochs,
                fmt_ratio(to_target_seconds(row), to_target_seconds(exact)),
                fmt_ratio(to_target_seconds(row), to_target_seconds(sgd)),
                fmt_time(row.fit_seconds),
                DASH if row.fit_epochs is None else row.fit_epochs,
                row.stop,
                fmt_gap(row.gap),
                fmt_number(row.test_score),
                fmt_bytes(row.memory),
                fmt_ratio(row.memory, result.workload.input_bytes),
            ]
        )
    return markdown_table(headers, rows, "l" + "r" * 6 + "l" + "r" * 4)


def workload_section(result, settings):
    workload = result.workload
    penalty = f"l2, alpha={workload.alpha:.3g}" if workload.alpha else "none"
    score = "R²" if workload.task == "regression" else "accuracy"
    bound = "one X @ w plus one X.T @ g"
    if workload.model == "mlp":
        bound = "the matrix products of a full-batch forward and backward pass"
    intro = (
        f"{workload.description}; {workload.shape_text()}, "
        f"{workload.X_test.shape[0]:,} test rows. Objective: mean {workload.loss} + "
        f"penalty ({penalty}). Reference objective {result.optimum:.6g} "
        f"({result.reference}); target: within {settings.target:.0%}. Bare bound "
        f"({bound}): {fmt_time(result.bare_bound)}. Input: "
        f"{fmt_bytes(workload.input_bytes)}. Test score: {score}."
    )
    return "\n\n".join(
        [
            f"## {workload.name}",
            intro,
            "Epoch cost:",
            epoch_table(result),
            "Convergence and memory:",
            convergence_table(result, settings.target),
        ]
    )


# ---------------------------------------------------------------- scaling
def scaling_table(rows, n_epochs):
    counts = rows[0].rows if rows else []
    headers = [
        "workload",
        "contender",
        *(f"{n:,} rows" for n in counts),
        "slope per 100k rows",
        "R²",
    ]
    body = [
        [
            row.workload,
            row.label,
            *(fmt_time(s) for s in row.seconds),
            fmt_time(row.slope),
            fmt_number(row.r2, 3),
        ]
        for row in rows
    ]
    intro = (
        f"Fit time against training rows: {n_epochs} epochs (tolerance off) for "
        "skfit and SGD, the exact solvers with their defaults. The slope is the "
        "least-squares line's; R² near 1 means linear growth."
    )
    return "\n\n".join(
        [
            "## Scaling with rows",
            intro,
            markdown_table(headers, body, "ll" + "r" * (len(counts) + 2)),
        ]
    )


# ---------------------------------------------------------------- notes
def notes_section(settings):
    return "\n".join(
        [
            "## How to read these tables",
            "",
            "- *epoch*: marginal time of one epoch, (fit with K epochs − fit with "
            f"1) / (K − 1), tolerance off, K = {settings.epochs} (doubled, up to "
            "64, until the K-epoch fit takes at least twice the one-epoch fit); "
            "*setup per fit* is the rest of a one-epoch fit (input validation, "
            "allocation). For the exact solvers, fit time per solver iteration.",
            "- *bare bound*: one `X @ w` plus one `X.T @ g` with numpy/scipy on the "
            "same data (for MLPs, the matrix products of one full-batch forward and "
            "backward pass): touching the data twice; the median of samples taken "
            "before the workload's contenders and after each one. *÷ bare bound* "
            "near 1 means an epoch costs little more than its arithmetic.",
            "- *overhead / batch*: (epoch − bare bound) / batches: what each update "
            "costs beyond the two matrix products (Python, loss, optimizer, "
            "bookkeeping, and the row copy of shuffled batches).",
            "- *to target*: training time until skfit's objective on the training "
            "data first comes within the target of the optimum (objective "
            "evaluations excluded from the time); skfit and scikit-learn's SGD/MLP "
            "run with the tolerance off up to the max epochs or the budget. For SGD "
            "and scikit-learn's MLP it is a timed `fit` with the epoch count found "
            "from `partial_fit` epochs; for the exact solvers, their fit time if "
            "their result is within the target.",
            "- *fit, own stopping*: each contender with its own default stopping "
            "rules (skfit capped by the budget: `stopped by budget`). *final gap*: "
            "(objective − optimum) / optimum after that fit.",
            "- *peak memory*: tracemalloc's peak during a fit (2 epochs for the "
            "epoch-based contenders), beyond the input data; *÷ input*: relative to "
            "the bytes of X and y. OpenBLAS's own buffers are not counted.",
            "- Ratios above 1× mean skfit (or the row's contender) takes longer.",
        ]
    )
