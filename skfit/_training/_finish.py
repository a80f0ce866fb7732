"""The finish: full-batch quasi-Newton epochs that take a linear model from where
mini-batch training stalls to the optimum.

Mini-batch updates reach the neighbourhood of a convex problem's optimum fast,
but not the optimum itself: at a constant rate they hover at a noise floor, and a
lowered rate crawls along the ill-conditioned directions (a far optimum, as on
nearly separable classes, needs thousands of updates). Curvature is what gets
there: L-BFGS on the full batch needs some 20 to 50 steps from anywhere on
scikit-learn's bundled datasets, and fewer from where mini-batches left off.

So when the tolerance rule fires on a convex problem with a smooth objective (a
linear model, a built-in loss with a continuous gradient, no l1 part, a built-in
optimizer), or when only :data:`FINISH_SHARE` of the epoch budget is left, the
training loop hands the remaining epochs to :class:`QuasiNewtonFinish`: each epoch
is one L-BFGS step over all the training rows (a forward pass, the objective and
its gradient, a backward pass, a backtracking line search), recorded as any other
epoch, with NaN as its learning rate (the steps come from a line search). Its own
tolerance rule (:class:`Finished`) then stops it, and that stop means the optimum
is near.
"""

import math
from collections import deque

import numpy as np

from ..losses._base import FormulaLoss
from ..optimizers import FormulaOptimizer
from ._compiled_batches import is_formula

__all__ = ["FINISH_SHARE", "Finished", "QuasiNewtonFinish", "finishes"]

#: The share of ``max_epochs`` kept for the finish when mini-batch training has
#: not stopped by then.
FINISH_SHARE = 0.5
#: Pairs of steps and gradient changes L-BFGS keeps (scipy's default).
MEMORY = 10
#: The sufficient decrease a step must make (Armijo's condition)...
ARMIJO = 1e-4
#: ...within this many halvings of the step; else the finish has stalled.
MAX_HALVINGS = 30
#: The finish has converged once a full quasi-Newton step gains less than this
#: share of the objective, and its quadratic model predicted no more: with 1e-7
#: the problems of the stopping guide end at most 2.4e-5 above the optimum, most
#: within 1e-6. float32 parameters stop at ten times their precision.
RELATIVE_GAIN = {np.dtype(np.float64): 1e-7}
RELATIVE_GAIN[np.dtype(np.float32)] = 10 * np.finfo(np.float32).eps


def finishes(training):
    """Whether ``training`` ends with a quasi-Newton finish (see the module
    docstring): a fit with a tolerance, of a linear model with a smooth built-in
    loss, a built-in optimizer and no l1 part, that does not stop early on
    held-out rows (whose best epoch is not the training optimum), on more rows
    of positive weight than features.

    With fewer rows than features, the directions the rows do not span are held
    by the penalty alone, and at a small ``alpha`` the curvature along them is so
    small that quasi-Newton steps amplify rounding: two fits of the same problem
    that differ only in the order of their sums (weights against repeated rows)
    end apart, where mini-batch updates end together.
    """
    config, state, data = training.config, training.state, training.data
    return (
        config.finish
        and config.tol is not None
        and _n_weighted_rows(data) > data.X.shape[1]
        and not (config.early_stopping and training.held_out is not None)
        and state.network.n_layers == 1
        and is_formula(config.loss, FormulaLoss, ("loss", "loss_gradient"))
        and config.loss.smooth
        and is_formula(state.optimizer, FormulaOptimizer, ("init", "update"))
        and not any(l1 for _, _, l1 in config.penalty.blocks)
    )


def _n_weighted_rows(data):
    """The training rows of positive weight."""
    weights = data.train_sample_weight
    return data.n_train if weights is None else int(np.count_nonzero(weights))


class QuasiNewtonFinish:
    """A batch runner whose every epoch is one L-BFGS step on the full batch.

    It runs as the other runners do (``run_epoch``), and records the objective
    before the step, the training rows' weight and the gradient's norm; its
    learning rate is NaN, as its steps come from a line search, not a rate. The step
    is accepted when it decreases the objective enough (Armijo's condition),
    halving it until it does; :attr:`converged` says when a full step gained,
    and its model predicted, less than :data:`RELATIVE_GAIN` of the objective, or
    none could (at the optimum to floating-point precision).

    Parameters
    ----------
    training : Training
        The training call: its state, data and configuration.
    """

    def __init__(self, training):
        self.training = training
        data, network = training.data, training.state.network
        self.X = data.at_training_rows(data.X)
        self.Y = data.at_training_rows(data.Y)
        self.sample_weight = data.train_sample_weight
        self.total_weight = (
            float(self.X.shape[0])
            if self.sample_weight is None
            else float(self.sample_weight.sum())
        )
        self.workspace = network.allocate(self.X.shape[0])
        self.moments = self.feature_moments()
        self.memory = deque(maxlen=MEMORY)
        self.relative_gain = RELATIVE_GAIN[np.dtype(network.dtype)]
        #: Whether a full quasi-Newton step gained, and its model predicted, less
        #: than the relative gain asked, or no step could gain at all.
        self.converged = False
        self.value, self.gradient = self.objective()

    def feature_moments(self):
        """The training rows' column means (0 without an intercept, which then
        has nothing to centre with), and per column the inverse of its spread
        around them plus the l2 strength (1 for constant columns)."""
        X = self.X
        n = X.shape[0]
        if isinstance(X, np.ndarray):
            sums = X.sum(axis=0, dtype=np.float64)
            squares = np.einsum("ij,ij->j", X, X, dtype=np.float64)
        else:
            # ravel: sparse matrices sum to a row, sparse arrays to a vector.
            sums = np.asarray(X.sum(axis=0, dtype=np.float64)).ravel()
            squares = X.multiply(X).sum(axis=0, dtype=np.float64)
            squares = np.asarray(squares).ravel()
        means = sums / n
        if not self.training.state.network.fit_intercept:
            means = np.zeros_like(means)
        spreads = squares / n - means**2
        # The penalty's curvature too: at a small spread it is what holds a
        # weight (the curvature of the loss is left out, as the step's scale
        # learns it).
        curvature = spreads + self.training.config.penalty.l2
        inverse = np.ones_like(spreads)
        np.divide(1.0, curvature, out=inverse, where=curvature > 1e-12 * squares / n)
        return means, inverse

    def initial_inverse_hessian(self, q):
        """L-BFGS's initial inverse Hessian times ``q``, up to a scale: that of
        the objective in the weights of standardised features and the bias of
        centred ones. L-BFGS then takes the same steps on features of any
        location and scale; with the textbook's identity, unscaled features
        (spreads from 1e-3 to 1e3, means far from 0) leave its model of the
        curvature so wrong that steps gain little far from the optimum."""
        means, inverse = self.moments
        k = self.training.state.network.layer_sizes[-1]
        d = means.shape[0]
        weights, biases = q[: d * k].reshape(d, k), q[d * k :]
        # Into the coordinates of centred features, scaled there, and back.
        centred = (weights - np.outer(means, biases)) * inverse[:, np.newaxis]
        return np.concatenate([centred.ravel(), biases - means @ centred])

    def objective(self):
        """The objective (in training units) and its gradient (float64) at the
        current parameters."""
        config, network = self.training.config, self.training.state.network
        raw = network.forward(self.X, self.workspace)
        row_losses, grad_raw = config.loss.loss_gradient(self.Y, raw)
        if self.sample_weight is None:
            value = float(row_losses.sum()) / self.total_weight
            grad_raw *= 1.0 / self.total_weight
        else:
            value = float(self.sample_weight @ row_losses) / self.total_weight
            grad_raw *= (self.sample_weight / self.total_weight)[:, np.newaxis]
        network.backward(self.X, grad_raw, self.workspace)
        gradient = self.workspace.flat_grad.astype(np.float64)
        weights = network.flat[: network.n_weights]
        weight_gradient = gradient[: network.n_weights]
        # The whole l2 part, also where an optimizer decays the weights instead.
        for block, l2, _ in config.penalty.blocks:
            weight_gradient[block] += l2 * weights[block]
        return value + config.penalty.value(weights), gradient

    def direction(self, gradient):
        """L-BFGS's descent direction: minus the inverse Hessian estimate times
        ``gradient`` (the two-loop recursion, Nocedal and Wright's 7.4, from the
        :meth:`initial_inverse_hessian`)."""
        q = -gradient
        coefficients = []
        for s, y, rho in reversed(self.memory):
            a = rho * (s @ q)
            coefficients.append(a)
            q -= a * y
        q = self.initial_inverse_hessian(q)
        if self.memory:
            s, y, _ = self.memory[-1]
            q *= (s @ y) / (y @ self.initial_inverse_hessian(y))
        for (s, y, rho), a in zip(self.memory, reversed(coefficients), strict=True):
            q += (a - rho * (y @ q)) * s
        return q

    def run_epoch(self, epoch, order, losses, weights, norms):
        """One L-BFGS step; returns as the other runners' ``run_epoch``. The
        per-batch callbacks hear of it as the epoch's one batch."""
        training = self.training
        state = training.state
        value, gradient = self.value, self.gradient
        start = state.network.flat.astype(np.float64)
        try:
            step = self.step(start, value, gradient)
        except KeyboardInterrupt:
            state.network.flat[...] = start
            return 0, math.nan, 0, True
        losses[0] = value * training.config.loss_scale
        weights[0] = self.total_weight
        norms[0] = math.sqrt(float(gradient @ gradient))
        if step:
            state.t += 1
        record = {
            "epoch": epoch,
            "batch": 0,
            "loss": float(losses[0]),
            "n_samples": self.X.shape[0],
            "skipped": not step,
        }
        try:
            for callback in training.batch_callbacks:
                callback.on_batch_end(training.estimator, record)
        except KeyboardInterrupt:
            return 1, math.nan, 0, True
        return 1, math.nan, 0, False

    def step(self, start, value, gradient):
        """Move the parameters from ``start`` along the L-BFGS direction by a
        step that decreases the objective enough, learn the curvature seen and
        judge convergence (:attr:`converged`); return the step's length (0 when
        none decreases it: the parameters then stay at ``start``)."""
        flat = self.training.state.network.flat
        direction = self.direction(gradient)
        slope = float(gradient @ direction)
        if not slope < 0:
            # The curvature pairs no longer point downhill: start afresh.
            self.memory.clear()
            direction = -self.initial_inverse_hessian(gradient)
            slope = float(gradient @ direction)
            if not slope < 0:
                # A zero gradient: the parameters are the optimum.
                self.converged = True
                return 0.0
        quasi_newton = bool(self.memory)
        # The first step moves the parameters a unit distance at most.
        step = 1.0 if quasi_newton else min(1.0, 1.0 / math.sqrt(-slope))
        for _ in range(MAX_HALVINGS):
            flat[...] = start + step * direction
            new_value, new_gradient = self.objective()
            if new_value <= value + ARMIJO * step * slope:
                break
            step *= 0.5
        else:
            flat[...] = start
            # A quasi-Newton direction that fails is retried as the steepest
            # descent; when that fails too, no step can lower the objective: the
            # optimum, to floating-point precision.
            self.converged = not quasi_newton
            self.memory.clear()
            return 0.0
        # Converged when a full quasi-Newton step gained little, and its model
        # predicted no more: a shortened step, or a large slope, may gain little
        # far from the optimum (on unscaled features, say).
        small = self.relative_gain * abs(value)
        self.converged = (
            quasi_newton
            and step == 1.0
            and value - new_value <= small
            and -slope / 2 <= small
        )
        s = flat.astype(np.float64) - start
        y = new_gradient - gradient
        curvature = float(s @ y)
        if curvature > 0:
            self.memory.append((s, y, 1.0 / curvature))
        self.value, self.gradient = new_value, new_gradient
        return step


class Finished:
    """The tolerance rule of the finish: it has converged (see
    :attr:`QuasiNewtonFinish.converged`)."""

    reason = "tol"

    def __init__(self, finish):
        self.finish = finish

    def __call__(self, record):
        return self.finish.converged
