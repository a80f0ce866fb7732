"""Independent references that the tests compare skfit with.

Everything here is written from the definitions in numpy and scipy, never through
skfit's own losses, optimizers or training loop:

- the documented objective (DESIGN.md, "Precise semantics"),
  ``sum_i s_i loss_i / sum_i s_i + alpha (l1_ratio |W|_1 + (1 - l1_ratio) |W|^2 / 2)``,
  with the textbook losses summed over output columns and biases unpenalised;
- its exact minimiser for the smooth losses with an l2 penalty (L-BFGS on the
  objective and gradient written here);
- the step bound of full-batch gradient descent on it;
- central finite differences of a loss;
- three steps of an optimizer, and the same steps written one scalar coordinate at
  a time from the update rule.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp, softmax, xlogy

MARGIN_LOSSES = ("hinge", "squared_hinge", "modified_huber")


def indicator_targets(y):
    """skfit's encoding of class labels: one 0/1 column for two classes, one-hot
    columns for more."""
    classes = np.unique(y)
    Y = (np.asarray(y)[:, None] == classes[None, :]).astype(float)
    return Y[:, 1:] if len(classes) == 2 else Y


# ------------------------------------------------------------- objective
def loss_terms(loss, Y, raw, epsilon=None):
    """Per-element loss and its (sub)derivative with respect to ``raw``, from the
    textbook definitions; a row's loss is the sum of its elements."""
    if loss in MARGIN_LOSSES:
        sign = 2 * Y - 1
        z = sign * raw
        gap = np.maximum(1 - z, 0)
        if loss == "hinge":
            return gap, np.where(z < 1, -sign, 0.0)
        if loss == "squared_hinge":
            return gap**2, -2 * gap * sign
        linear = z < -1  # modified_huber
        return (
            np.where(linear, -4 * z, gap**2),
            np.where(linear, -4 * sign, -2 * gap * sign),
        )
    if loss == "log_loss":
        if raw.shape[1] == 1:  # binary: the logistic loss of one column
            return np.logaddexp(0, raw) - Y * raw, expit(raw) - Y
        # Multinomial: -log softmax of the true class, spread over the one-hot row.
        return Y * (logsumexp(raw, axis=1, keepdims=True) - raw), softmax(raw, 1) - Y
    r = raw - Y
    if loss == "squared_error":
        return 0.5 * r**2, r
    if loss == "absolute_error":
        return np.abs(r), np.sign(r)
    if loss == "huber":
        small = np.abs(r) <= epsilon
        values = np.where(small, 0.5 * r**2, epsilon * (np.abs(r) - 0.5 * epsilon))
        return values, np.clip(r, -epsilon, epsilon)
    if loss == "epsilon_insensitive":
        outside = np.abs(r) > epsilon
        return np.maximum(np.abs(r) - epsilon, 0), np.where(outside, np.sign(r), 0.0)
    if loss == "poisson":  # half the deviance, log link
        mu = np.exp(raw)
        return mu - Y * raw + xlogy(Y, Y) - Y, mu - Y
    raise ValueError(loss)


def objective(
    loss,
    X,
    Y,
    coef,
    intercept,
    alpha,
    l1_ratio=0.0,
    epsilon=None,
    sample_weight=None,
):
    """The documented objective at ``(coef, intercept)``. ``Y`` has one column per
    output (regression) or skfit's indicator columns (classification); ``X`` may
    be sparse."""
    W = np.atleast_2d(coef)
    raw = np.asarray(X @ W.T) + np.asarray(intercept, dtype=float)
    values, _ = loss_terms(loss, Y, raw, epsilon)
    penalty = l1_ratio * np.abs(W).sum() + 0.5 * (1 - l1_ratio) * np.sum(W * W)
    return np.average(values.sum(axis=1), weights=sample_weight) + alpha * penalty


def exact_l2_minimum(
    loss, X, Y, alpha, epsilon=None, fit_intercept=True, sample_weight=None
):
    """The minimiser ``(W of shape (n_outputs, p), b)`` of a smooth loss plus
    ``alpha / 2 |W|^2`` by L-BFGS on the objective and gradient written here."""
    n, p = X.shape
    k = Y.shape[1]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    s = s / s.sum()

    def split(theta):
        W = theta[: p * k].reshape(k, p)
        b = theta[p * k :] if fit_intercept else np.zeros(k)
        return W, b

    def value_and_gradient(theta):
        W, b = split(theta)
        values, g = loss_terms(loss, Y, X @ W.T + b, epsilon)
        value = s @ values.sum(axis=1) + 0.5 * alpha * np.sum(W * W)
        g = g * s[:, None]
        parts = [(g.T @ X + alpha * W).ravel()]
        if fit_intercept:
            parts.append(g.sum(axis=0))
        return value, np.concatenate(parts)

    result = minimize(
        value_and_gradient,
        np.zeros(p * k + (k if fit_intercept else 0)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10_000, "gtol": 1e-12, "ftol": 1e-15, "maxcor": 30},
    )
    # The gradient grows with the targets' size; 1e-8 for unit-sized ones.
    tolerance = 1e-8 * max(1.0, np.abs(Y).max())
    assert np.max(np.abs(value_and_gradient(result.x)[1])) < tolerance
    return split(result.x)


def lipschitz(X, sample_weight=None, curvature=1.0, alpha=0.0):
    """The Lipschitz constant of the full-batch gradient of the objective's smooth
    part: ``curvature`` (the loss's largest second derivative) times the largest
    eigenvalue of the weighted second moment of ``[X, 1]``, plus the l2 strength.
    Gradient descent with steps below ``1 / L`` never increases the objective."""
    Xt = np.hstack([X, np.ones((X.shape[0], 1))])
    s = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    M = (Xt * s[:, None]).T @ Xt / s.sum()
    return curvature * np.linalg.eigvalsh(M)[-1] + alpha


def finite_difference_gradient(loss, y, raw, h=1e-6):
    """Central differences of the per-sample ``loss.loss`` in each raw entry.

    The loss of row ``i`` depends only on ``raw[i]``, so perturbing ``raw[:, j]``
    for all rows at once gives ``d loss_i / d raw_ij`` for every ``i``.
    """
    grad = np.empty_like(raw)
    for j in range(raw.shape[1]):
        plus, minus = raw.copy(), raw.copy()
        plus[:, j] += h
        minus[:, j] -= h
        grad[:, j] = (loss.loss(y, plus) - loss.loss(y, minus)) / (2 * h)
    return grad


# ------------------------------------------------------------- optimizers
# Three steps of gradients for two parameter arrays (a matrix and a vector).
GRADIENTS = [
    [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([3.0, -0.25])],
    [np.array([[-1.0, -1.0], [2.0, 1e-3]]), np.array([0.0, 4.0])],
    [np.array([[0.5, 3.0], [-0.5, -2.0]]), np.array([-1.0, 1.0])],
]
RATES = [0.1, 0.05, 0.2]


def optimizer_steps(optimizer, gradients=GRADIENTS, rates=RATES):
    """``(steps, state)``: the steps ``update`` returns for each gradient list in
    turn, from ``init`` on zero parameters. Checks that ``update`` leaves the
    gradients it is given unchanged, and copies each step (``update`` may reuse
    its arrays)."""
    state = optimizer.init([np.zeros_like(g) for g in gradients[0]])
    assert isinstance(state, dict)
    all_steps = []
    for grads, rate in zip(gradients, rates, strict=True):
        given = [g.copy() for g in grads]
        steps, state = optimizer.update(given, state, rate)
        assert isinstance(state, dict)
        for g, g0 in zip(given, grads, strict=True):
            np.testing.assert_array_equal(g, g0)
        all_steps.append([np.array(s, copy=True) for s in steps])
    return all_steps, state


def per_coordinate_steps(rule, initial):
    """The steps of ``rule(g, lr, memory) -> (step, memory)`` applied to GRADIENTS
    at RATES one scalar coordinate at a time, every memory starting at
    ``initial``."""
    memory = [dict.fromkeys(np.ndindex(g.shape), initial) for g in GRADIENTS[0]]
    all_steps = []
    for grads, lr in zip(GRADIENTS, RATES, strict=True):
        steps = []
        for p, grad in enumerate(grads):
            step = np.empty(grad.shape)
            for index in np.ndindex(grad.shape):
                step[index], memory[p][index] = rule(
                    float(grad[index]), lr, memory[p][index]
                )
            steps.append(step)
        all_steps.append(steps)
    return all_steps
