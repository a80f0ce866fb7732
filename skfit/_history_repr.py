"""How a :class:`~skfit.History` shows itself: a text table, and in a notebook an
HTML table beside a small inline SVG loss curve (no matplotlib needed).

:class:`HistoryReprMixin` gives the estimators a notebook repr that adds their
history to scikit-learn's estimator diagram.
"""

import html

import numpy as np

__all__ = [
    "HistoryReprMixin",
    "history_html",
    "loss_curve_svg",
    "text_table",
    "wants_log_scale",
]

#: The columns shown, with their headers and formats; the validation columns only
#: when a validation share was held out.
_COLUMNS = (
    ("epoch", "epoch", "d"),
    ("loss", "loss", ".6g"),
    ("val_loss", "val_loss", ".6g"),
    ("val_score", "val_score", ".4f"),
    ("learning_rate", "learning_rate", ".3g"),
    ("grad_norm", "grad_norm", ".3g"),
    ("n_spikes", "spikes", "d"),
)
_VALIDATION_KEYS = ("val_loss", "val_score")

#: Epochs in the notebook table (the last ones).
HTML_EPOCHS = 10

# The colours of matplotlib's default cycle, as LossCurveDisplay draws them.
_LOSS_COLOUR = "#1f77b4"
_VAL_LOSS_COLOUR = "#ff7f0e"
_SPIKE_COLOUR = "#d62728"
_BEST_COLOUR = "#2ca02c"


def wants_log_scale(losses):
    """Whether losses are best drawn on a log scale: all positive, spanning more
    than two orders of magnitude (non-finite values are left out)."""
    losses = np.asarray(losses, dtype=float)
    losses = losses[np.isfinite(losses)]
    positive = losses[losses > 0]
    return bool(
        positive.size == losses.size
        and positive.size
        and positive.max() > 100 * positive.min()
    )


def _columns(history):
    has_validation = np.isfinite(history["val_loss"]).any()
    return [
        column
        for column in _COLUMNS
        if has_validation or column[0] not in _VALIDATION_KEYS
    ]


def _rows(history, columns, last):
    start = 0 if last is None else max(len(history) - last, 0)
    return [
        [format(history[index][key], fmt) for key, _, fmt in columns]
        for index in range(start, len(history))
    ]


def text_table(history, last=None):
    """The history as an aligned text table of its ``last`` epochs (None: all).

    Examples
    --------
    >>> import numpy as np
    >>> from skfit import History
    >>> history = History()
    >>> record = dict(epoch=1, loss=0.5, val_loss=np.nan, val_score=np.nan,
    ...     learning_rate=0.01, grad_norm=2.0, duration=0.001, n_spikes=0)
    >>> history.append(record, np.array([0.5], dtype=np.float32))
    >>> print(text_table(history))
    epoch  loss  learning_rate  grad_norm  spikes
        1   0.5           0.01          2       0
    """
    columns = _columns(history)
    rows = _rows(history, columns, last)
    widths = [
        max(len(header), *(len(row[i]) for row in rows))
        for i, (_, header, _) in enumerate(columns)
    ]
    lines = [[header for _, header, _ in columns], *rows]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    )


def history_html(history, last=HTML_EPOCHS, best_epoch=None):
    """The notebook view of a history: its last epochs as a table beside a small
    SVG loss curve of every epoch (see :func:`loss_curve_svg`)."""
    if not len(history):
        return "<p>History of 0 epochs</p>"
    columns = _columns(history)
    header = "".join(f"<th>{html.escape(name)}</th>" for _, name, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
        for row in _rows(history, columns, last)
    )
    shown = "" if len(history) <= last else f", the last {last} shown"
    return (
        '<div class="skfit-history" style="display: flex; flex-wrap: wrap; '
        'gap: 1.5em; align-items: flex-start">'
        '<div><table style="text-align: right; font-variant-numeric: tabular-nums">'
        f"<caption>History of {len(history)} epochs{shown}</caption>"
        f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>"
        f"{loss_curve_svg(history, best_epoch=best_epoch)}</div>"
    )


def loss_curve_svg(history, width=360, height=220, best_epoch=None):
    """The training (and validation) loss per epoch as an SVG string, the epochs
    with loss spikes marked by red crosses and ``best_epoch`` (if given) by a
    dashed green line. The loss axis is logarithmic when the losses span more
    than two orders of magnitude (:func:`wants_log_scale`)."""
    epochs = history["epoch"].astype(float)
    curves = [("training loss", history["loss"], _LOSS_COLOUR)]
    if np.isfinite(history["val_loss"]).any():
        curves.append(("validation loss", history["val_loss"], _VAL_LOSS_COLOUR))
    spikes = history["n_spikes"] > 0
    if best_epoch is not None and not epochs[0] <= best_epoch <= epochs[-1]:
        best_epoch = None
    legend = [(name, colour) for name, _, colour in curves]
    if spikes.any():
        legend.append(("spikes", _SPIKE_COLOUR))
    if best_epoch is not None:
        legend.append((f"best epoch ({best_epoch})", _BEST_COLOUR))
    left, right, bottom = 68, 12, 32
    legend_parts, top = _legend(legend, left, width - right)
    losses = np.concatenate([curve for _, curve, _ in curves])
    scale = _Scale(epochs, losses, (left, width - right), (top, height - bottom))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'font-family="sans-serif" font-size="11">',
        "<title>Loss per epoch</title>",
        *legend_parts,
        '<g stroke="currentColor" stroke-opacity="0.6">'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
        f'y2="{height - bottom}"/></g>',
        '<g fill="currentColor" text-anchor="end">',
    ]
    for loss in scale.loss_ticks():
        parts.append(
            f'<text x="{left - 4}" y="{scale.y(loss) + 4:.1f}">{loss:.3g}</text>'
        )
    middle = (top + height - bottom) / 2
    parts += [
        "</g>",
        f'<text transform="translate(12 {middle:.1f}) rotate(-90)" '
        'text-anchor="middle" fill="currentColor">'
        f"{'loss (log scale)' if scale.log else 'loss'}</text>",
        '<g fill="currentColor" text-anchor="middle">',
    ]
    for epoch in sorted({epochs[0], epochs[-1]}):
        parts.append(
            f'<text x="{scale.x(epoch):.1f}" y="{height - bottom + 14}">'
            f"{epoch:.0f}</text>"
        )
    parts.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 4}">epoch</text></g>'
    )
    for _, curve, colour in curves:
        parts.extend(_polyline(epochs, curve, scale, colour))
    for epoch, loss in zip(epochs[spikes], history["loss"][spikes], strict=True):
        if np.isfinite(loss):
            cx, cy = scale.x(epoch), scale.y(loss)
            parts.append(
                f'<path d="M{cx - 4:.1f},{cy - 4:.1f}l8,8m0,-8l-8,8" '
                f'stroke="{_SPIKE_COLOUR}" stroke-width="2"/>'
            )
    if best_epoch is not None:
        bx = scale.x(best_epoch)
        parts.append(
            f'<line x1="{bx:.1f}" y1="{top}" x2="{bx:.1f}" y2="{height - bottom}" '
            f'stroke="{_BEST_COLOUR}" stroke-width="1.2" stroke-dasharray="4,3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(entries, left, right):
    """SVG elements of a legend of (name, colour) entries, in rows between
    ``left`` and ``right``, and the y coordinate below it."""
    parts, x, y = [], left, 14
    for name, colour in entries:
        extent = 22 + 6 * len(name)  # a swatch and the text, at about 6 px a letter
        if x > left and x + extent > right:
            x, y = left, y + 14
        parts.append(
            f'<rect x="{x}" y="{y - 5}" width="12" height="3" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y}" fill="currentColor">{name}</text>'
        )
        x += extent + 8
    return parts, y + 12


class _Scale:
    """Maps epochs and losses to SVG coordinates within the plot area."""

    def __init__(self, epochs, losses, x_range, y_range):
        self.first, self.last = epochs[0], epochs[-1]
        self.x_range, self.y_range = x_range, y_range
        self.log = wants_log_scale(losses)
        levels = self._level(losses[np.isfinite(losses)])
        low, high = (levels.min(), levels.max()) if levels.size else (0.0, 1.0)
        # A flat curve gets a band around its level rather than a zero range.
        pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.5
        self.data = (low, high)
        self.low, self.high = low - pad, high + pad

    def _level(self, loss):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(loss) if self.log else np.asarray(loss, dtype=float)

    def x(self, epoch):
        start, stop = self.x_range
        if self.last == self.first:
            return (start + stop) / 2
        return start + (epoch - self.first) / (self.last - self.first) * (stop - start)

    def y(self, loss):
        start, stop = self.y_range
        return start + (self.high - self._level(loss)) / (self.high - self.low) * (
            stop - start
        )

    def loss_ticks(self):
        """The largest, middle and smallest loss drawn."""
        low, high = self.data
        levels = (high, (low + high) / 2, low) if high > low else (high,)
        return [10**level if self.log else level for level in levels]


def _polyline(epochs, losses, scale, colour):
    """SVG elements for one curve, broken where the loss is not finite."""
    finite = np.isfinite(losses)
    # Runs of consecutive finite values, each drawn as one line (a dot if alone).
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite, [0]]).astype(int)))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        points = [
            (scale.x(epoch), scale.y(loss))
            for epoch, loss in zip(epochs[start:stop], losses[start:stop], strict=True)
        ]
        if len(points) == 1:
            (cx, cy) = points[0]
            yield f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{colour}"/>'
        else:
            coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            yield (
                f'<polyline points="{coordinates}" fill="none" '
                f'stroke="{colour}" stroke-width="1.8"/>'
            )


class HistoryReprMixin:
    """Adds a fitted estimator's history to scikit-learn's HTML diagram of it.

    The diagram is kept as scikit-learn draws it; below it a collapsed section,
    headed by the epochs run and ``stop_reason_``, holds :func:`history_html`.
    """

    def _history_section(self):
        state = self.__dict__.get("_state")
        if state is None:
            return ""
        summary = f"history_: {len(state.history)} epochs"
        reason = self.__dict__.get("stop_reason_")
        if reason is not None:
            summary += f", stop_reason_={reason!r}"
        best_epoch = self.__dict__.get("best_epoch_")
        return (
            '<details class="skfit-history-section" style="margin-top: 0.5em">'
            f"<summary>{html.escape(summary)}</summary>"
            f"{history_html(state.history, best_epoch=best_epoch)}</details>"
        )

    def _repr_html_inner(self):
        return super()._repr_html_inner() + self._history_section()

    def _repr_mimebundle_(self, **kwargs):
        output = super()._repr_mimebundle_(**kwargs)
        if "text/html" in output:
            output["text/html"] += self._history_section()
        return output
