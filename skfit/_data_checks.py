"""Checks of the data and weights a fit is given, each refusing by name what
training cannot use: values beyond the model's dtype, unusable weights, and
validation splits too small for their shares."""

import math
from numbers import Real

import numpy as np
import scipy.sparse as sp

#: The fewest rows a training or validation share may hold.
MIN_SHARE_ROWS = 2


def in_dtype(array, dtype, name):
    """``array`` (finite, dense or sparse) in ``dtype``, refusing by name values
    beyond the range of ``dtype``, which a cast would turn into infinities."""
    if array.dtype == dtype:
        return array
    values = array.data if sp.issparse(array) else array
    largest = float(np.abs(values).max()) if values.size else 0.0
    limit = float(np.finfo(dtype).max)
    if largest > limit:
        raise ValueError(
            f"{name} holds values up to {largest:.3g}, beyond the range of "
            f"{np.dtype(dtype)} (at most {limit:.3g}) in which the model computes; "
            f"scale {name}, or fit the model on float64 data."
        )
    return array.astype(dtype, copy=False)


def usable_weights(weights, dtype, source):
    """``weights`` (float64, finite, non-negative) in ``dtype``, refusing by name
    weights that training in ``dtype`` cannot use.

    A positive weight below the smallest normal number of ``dtype`` is subnormal: it
    keeps few significant digits, and the compiled loop (which flushes subnormals)
    reads it as zero. A total beyond the range of ``dtype`` overflows the weighted
    means. Weights only matter relative to each other, so rescaling cures both.
    """
    info = np.finfo(dtype)
    positive = weights[weights > 0]
    if positive.size and positive.min() < info.tiny:
        raise ValueError(
            f"{source} holds {int(np.sum(positive < info.tiny))} positive weights "
            f"below {info.tiny:.3g}, the smallest normal {info.dtype} number, which "
            "training cannot use; rescale the weights (with a numeric alpha only "
            "their ratios matter)."
        )
    with np.errstate(over="ignore"):
        total = weights.sum()
    if not total > 0:
        raise ValueError(
            f"The weights ({source}) sum to zero: there is nothing to fit."
        )
    if not total <= info.max:
        raise ValueError(
            f"The weights ({source}) sum to {total:.3g}, beyond the range of "
            f"{info.dtype} (at most {info.max:.3g}); rescale the weights (with a "
            "numeric alpha only their ratios matter)."
        )
    return weights.astype(dtype, copy=False)


def check_split_sizes(n_samples, fraction, stratify):
    """Refuse a validation split of ``n_samples`` rows that leaves a share too
    small: each needs :data:`MIN_SHARE_ROWS` rows (a validation R^2 needs two, and
    one training row is no training set), and a stratified split needs every class
    in both shares."""
    # The sizes train_test_split gives the two shares.
    n_val = math.ceil(fraction * n_samples)
    n_train = n_samples - n_val
    least, why = MIN_SHARE_ROWS, ""
    advice = (
        "give more data, change validation_fraction, or set early_stopping=False "
        "and validation_fraction=None."
    )
    if stratify is not None:
        labels, counts = np.unique(stratify, return_counts=True)
        if counts.min() < 2:
            rarest = labels.tolist()[np.argmin(counts)]
            raise ValueError(
                f"validation_fraction={fraction} holds out a share stratified by "
                "class, which needs at least 2 rows of each class, but class "
                f"{rarest!r} has {counts.min()}; {advice}"
            )
        if len(labels) > least:
            least, why = len(labels), " (one of each class)"
    if min(n_train, n_val) < least:
        raise ValueError(
            f"validation_fraction={fraction} splits the {n_samples} rows into "
            f"{n_train} training and {n_val} validation rows, but each share needs "
            f"at least {least}{why}; {advice}"
        )


def check_class_weight(class_weight):
    """Refuse a class_weight dict whose weights are not finite non-negative numbers."""
    bad = {
        label: weight
        for label, weight in class_weight.items()
        if isinstance(weight, bool)
        or not isinstance(weight, Real)
        or not 0 <= weight < np.inf
    }
    if bad:
        raise ValueError(
            "class_weight must map classes to finite non-negative numbers, but "
            f"gives {bad}."
        )


def check_share_weights(sample_weight, train_rows, val_rows, fraction):
    """Refuse a training or validation share whose weights are all zero: the
    engine divides by each share's total weight."""
    if sample_weight is None:
        return
    for share, rows in (("training", train_rows), ("validation", val_rows)):
        if not sample_weight[rows].sum() > 0:
            raise ValueError(
                f"The sample weights of the {len(rows)} rows of the {share} share "
                f"(validation_fraction={fraction}) are all zero, so its loss is "
                "undefined; give those rows weight, or change validation_fraction "
                "or random_state."
            )
