"""skfit's training objective, evaluated the same way for every contender.

The objective (DESIGN.md, "Precise semantics") is
``mean_i loss_i + alpha / 2 * |W|_2^2`` with squared_error half the squared error
and log_loss the binary or multinomial cross-entropy; biases are not penalised.
scikit-learn's estimators minimise other scalings of their objectives (and
SGDClassifier fits one-vs-rest), so each fitted model is judged by this one
function on the training data, from its ``coef_``/``intercept_`` (linear) or
``coefs_``/``intercepts_`` (MLP).
"""

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

#: The hidden activation of the benchmark's MLPs (scikit-learn's default).
MLP_ACTIVATION = "relu"


def encode_targets(workload):
    """Targets as the columns of the raw output: (n, 1) values, 0/1, or one-hot."""
    y = workload.y
    if workload.task == "regression":
        return np.asarray(y, dtype=float).reshape(len(y), -1)
    classes = workload.classes
    if len(classes) == 2:
        return (y == classes[1]).astype(float).reshape(-1, 1)
    return (y[:, np.newaxis] == classes[np.newaxis, :]).astype(float)


def mean_loss(Y, raw, loss):
    """The mean over rows of the per-row loss, summed over output columns."""
    if loss == "squared_error":
        return 0.5 * float(np.mean(np.sum((raw - Y) ** 2, axis=1)))
    if raw.shape[1] == 1:
        return float(np.mean(np.logaddexp(0.0, raw) - Y * raw))
    return float(np.mean(logsumexp(raw, axis=1) - np.sum(Y * raw, axis=1)))


def l2_penalty(coefs, alpha):
    return 0.5 * alpha * sum(float(np.vdot(w, w)) for w in coefs)


def linear_objective(X, Y, W, b, loss, alpha):
    """The objective of ``raw = X @ W + b`` with W of shape (n_features, n_outputs)."""
    raw = np.asarray(X @ W) + b
    return mean_loss(Y, raw, loss) + l2_penalty([W], alpha)


def linear_parameters(estimator):
    """``(W, b)`` of a fitted linear estimator, W as (n_features, n_outputs)."""
    W = np.atleast_2d(np.asarray(estimator.coef_, dtype=float)).T
    b = np.atleast_1d(np.asarray(estimator.intercept_, dtype=float))
    return W, b


def mlp_raw(X, coefs, intercepts):
    """The raw output of a dense relu network."""
    activation = X
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        activation = activation @ W + b
        if layer < len(coefs) - 1:
            np.maximum(activation, 0.0, out=activation)
    return activation


def model_objective(estimator, workload, Y):
    """skfit's objective of a fitted estimator on the workload's training data."""
    if hasattr(estimator, "coefs_"):
        raw = mlp_raw(workload.X, estimator.coefs_, estimator.intercepts_)
        return mean_loss(Y, raw, workload.loss) + l2_penalty(
            estimator.coefs_, workload.alpha
        )
    W, b = linear_parameters(estimator)
    return linear_objective(workload.X, Y, W, b, workload.loss, workload.alpha)


def exact_solver(workload, tight=False):
    """The scikit-learn solver whose optimum is skfit's (tight: to ~1e-10).

    squared_error: LinearRegression (alpha 0) or Ridge(alpha * n);
    log_loss: LogisticRegression(lbfgs, C = 1 / (alpha * n)), multinomial for
    more than two classes.
    """
    n = workload.n_rows
    if workload.loss == "squared_error":
        if workload.alpha == 0:
            return LinearRegression()
        return Ridge(alpha=workload.alpha * n, tol=1e-10 if tight else 1e-4)
    C = 1.0 / (workload.alpha * n)
    if tight:
        return LogisticRegression(C=C, solver="lbfgs", tol=1e-10, max_iter=10_000)
    return LogisticRegression(C=C, solver="lbfgs")


def optimum(workload, Y):
    """The minimum of the objective, from the exact solver run to a tight tolerance."""
    solver = exact_solver(workload, tight=True).fit(workload.X, workload.y)
    return model_objective(solver, workload, Y)


def relative_gap(value, best):
    """``(value - best) / |best|``: 0.01 is "within 1% of the optimum"."""
    return (value - best) / abs(best) if best else np.inf
