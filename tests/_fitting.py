"""How the tests fit: quietly, and deterministic full-batch gradient descent."""

import warnings

from sklearn.exceptions import ConvergenceWarning


def fit_quietly(estimator, X, y, **kwargs):
    """``estimator.fit`` with the expected ConvergenceWarning of a fixed budget
    silenced (pytest's configuration still turns skfit's RuntimeWarnings into
    errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


def full_batch(Estimator, learning_rate, max_epochs, **params):
    """Deterministic full-batch gradient descent for a fixed number of epochs."""
    settings = {
        "optimizer": "sgd",
        "schedule": "constant",
        "batch_size": None,
        "learning_rate": learning_rate,
        "max_epochs": max_epochs,
        "tol": None,
        "shuffle": False,
        "spike_policy": "ignore",
        "random_state": 0,
    }
    settings.update(params)
    return Estimator(**settings)
