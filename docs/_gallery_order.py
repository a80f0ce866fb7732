"""The order of the examples in the gallery: the order a reader meets the
concepts in (see ``within_subsection_order`` in conf.py). Examples not listed
follow, by file name."""

from pathlib import Path

ORDER = (
    "plot_loss_curves_and_stop_reasons.py",
    "plot_find_learning_rate.py",
    "plot_learning_rate_too_large_or_small.py",
    "plot_spikes_find_bad_rows.py",
    "plot_find_bad_rows.py",
    "plot_early_stopping.py",
    "plot_diagnose_over_underfitting.py",
    "plot_partial_fit_streaming.py",
    "plot_column_transformer_pandas.py",
)


class TeachingOrder:
    """A sort key of sphinx-gallery: the position in ORDER, then the name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self):
        return "TeachingOrder()"
