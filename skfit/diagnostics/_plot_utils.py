"""Helpers shared by the display classes of :mod:`skfit.plotting`."""

_INSTALL_HINT = 'pip install "skfit[plot]"'


def _check_matplotlib(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{what} needs matplotlib, which is not installed: {_INSTALL_HINT}"
        ) from exc


def _axes(ax, what):
    """``ax``, or the axes of a new pyplot figure."""
    _check_matplotlib(what)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _integer_ticks(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
