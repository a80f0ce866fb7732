"""What the commands print and write about a fitted model: its history, stop
reason, spikes and diagnosis; history.csv and the loss-curve PNG."""

import textwrap
import warnings
from collections import Counter
from contextlib import contextmanager

import numpy as np

from .._history_repr import text_table
from ..diagnostics import diagnose
from ..spikes import _describe_spike

#: The history table shows every epoch up to this many, else the last ones.
TABLE_EPOCHS = 12
#: Rows named in the spike summary.
SPIKE_ROWS = 5
#: The diagnosis's sentences are wrapped at this width.
LINE_WIDTH = 88


def describe(model, row_names=None):
    """Print the history, stop reason, spikes and diagnosis of a fitted skfit
    estimator ``model``; ``row_names`` maps training-row positions to names."""
    history = model.history_
    shown = "" if len(history) <= TABLE_EPOCHS else f", the last {TABLE_EPOCHS}"
    print(f"\nhistory ({len(history)} epochs{shown}):")
    print(text_table(history, last=TABLE_EPOCHS))
    print(
        f"\nstopped by: {model.stop_reason_} after {model.n_epochs_} epochs "
        f"({model.t_} updates); converged: {model.converged_}"
    )
    monitored = "validation loss" if model.early_stopping else "training loss"
    print(f"best epoch: {model.best_epoch_} ({monitored} {model.best_loss_:.6g})")
    print(spike_summary(model.spikes_, row_names))
    if np.isfinite(history["val_loss"]).any():
        print("\ndiagnosis from the history:")
        for line in str(diagnose(model)).splitlines():
            indent = "    " if line.startswith("  - ") else ""
            print(textwrap.fill(line, width=LINE_WIDTH, subsequent_indent=indent))
    else:
        print("\ndiagnosis: needs a validation share (--validation-fraction above 0)")


def spike_summary(spikes, row_names=None):
    """One paragraph on the loss spikes: how many, where, the worst, and the rows
    most often in spiking batches."""
    if not spikes:
        return "loss spikes: none"
    epochs = sorted({spike.epoch for spike in spikes})
    worst = max(spikes, key=lambda spike: spike.ratio)
    counts = Counter(int(i) for spike in spikes for i in spike.sample_indices)
    rows = ", ".join(
        f"{row if row_names is None else row_names[row]} ({count}x)"
        for row, count in counts.most_common(SPIKE_ROWS)
    )
    return (
        f"loss spikes: {len(spikes)} in {len(epochs)} epochs "
        f"({', '.join(map(str, epochs[:10]))}{', ...' if len(epochs) > 10 else ''}); "
        f"the worst at epoch {worst.epoch}, batch {worst.batch}: "
        f"{_describe_spike(worst)}\n"
        f"rows most often in spiking batches: {rows}"
    )


@contextmanager
def warnings_as_lines():
    """Print the warnings raised inside the block as one line each (repeats
    once), after it, rather than as Python's two-line warning blocks."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for message in dict.fromkeys(str(w.message) for w in caught):
                print(f"warning: {message}")


def write_figure(path, draw, what):
    """Save the figure ``draw(ax)`` draws as a PNG at ``path``, or say that
    matplotlib is missing. Returns whether the file was written."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(
            f"{what} plot skipped: matplotlib is not installed "
            '(pip install "skfit[plot]")'
        )
        return False
    # A bare Figure draws without pyplot, so no display or GUI backend is needed.
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    draw(figure.subplots())
    figure.savefig(path, dpi=120)
    print(f"{what} written to {path.resolve()}")
    return True
