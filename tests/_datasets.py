"""Small standardised data sets shared by the reference tests."""

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler


def regression_data(*, n_samples, noise, n_features=5, n_targets=1, seed=0):
    """Standardised features and unit-variance targets of a linear model."""
    X, y = make_regression(
        n_samples,
        n_features,
        n_informative=n_features,
        n_targets=n_targets,
        noise=noise,
        bias=3.0,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y / y.std()


def classification_data(n_classes, *, n_samples, n_features=4, seed=0):
    """Standardised features of overlapping, one-cluster-per-class classes."""
    X, y = make_classification(
        n_samples,
        n_features,
        n_informative=n_features,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        flip_y=0.1,
        class_sep=1.0,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def unit_spread(y):
    """``y`` shifted and scaled to median 0 and robust spread 1 (1.4826 times the
    median absolute deviation): regressors standardise a target by its robust
    spread (see skfit._target_scaling), so they train this one in its own units,
    and hand-derived update rules apply to its parameters as they are."""
    centred = y - np.median(y)
    return centred / (1.482602218505602 * np.median(np.abs(centred)))
