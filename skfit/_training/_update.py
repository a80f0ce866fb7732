"""One update of the parameters: the optimizer's rule, then the penalty's decay and
proximal step, in one compiled pass that both training loops call."""

import numpy as np

from .._numba import FASTMATH, jit
from .._optimizer_formulas import (
    GivenStepsKernel,
    coordinate_step,
    settle,
    update_rate,
)
from ..optimizers import FormulaOptimizer
from ._penalty import soft_threshold

__all__ = ["Update", "apply_update"]


@jit(fastmath=FASTMATH)
def apply_update(kernel, params, grad, first, second, rate, count, decay, l1):
    """Apply the ``count``-th update of ``kernel``'s rule to the flat ``params``.

    ``decay`` and ``l1`` are the decoupled l2 and the l1 strengths for these
    parameters (0 for biases), already scaled by the batch's share of the objective:
    each weight is decayed from its value before the step, and soft-thresholded by
    the step size the rule applied to it; the rule then learns how far it moved.
    """
    rate_t = update_rate(kernel, rate, count)
    shrink = 1.0 - rate * decay
    for i in range(params.shape[0]):
        step, effective_rate = coordinate_step(
            kernel, grad[i], first, second, i, rate_t
        )
        before = params[i]
        w = before * shrink + step
        if l1:
            w = soft_threshold(w, effective_rate * l1)
            settle(kernel, first, second, i, w - before)
        params[i] = w


class Update:
    """Applies an optimizer's updates to a network's flat parameters.

    A built-in optimizer's rule runs compiled on its state arrays; a user's
    optimizer object computes its steps through its ``update`` method, and the
    penalty then acts with the scheduled rate as the step size.
    """

    def __init__(self, state, penalty):
        self.state = state
        self.penalty = penalty
        optimizer = state.optimizer
        self.formula = isinstance(optimizer, FormulaOptimizer)
        self.kernel = optimizer.kernel() if self.formula else GivenStepsKernel()

    def __call__(self, grad, rate, scale):
        """Apply one update for the flat gradient ``grad`` at learning ``rate``
        and count it in ``t``; ``scale`` is the batch's share of the objective."""
        state, penalty = self.state, self.penalty
        network = state.network
        params = network.flat
        n_weights = network.n_weights
        if self.formula:
            optimizer_state = state.optimizer_state
            arrays = [optimizer_state[name][0] for name in state.optimizer.state_names]
            count = optimizer_state["count"] + 1
        else:
            steps, state.optimizer_state = state.optimizer.update(
                [grad], state.optimizer_state, rate
            )
            arrays = [np.asarray(steps[0], dtype=params.dtype).reshape(-1)]
            count = 1
        empty = np.empty(0, dtype=params.dtype)
        first, second = (arrays + [empty, empty])[:2]
        weights = slice(0, n_weights)
        biases = slice(n_weights, None)
        apply_update(
            self.kernel,
            params[weights],
            grad[weights],
            first[weights] if first.size else first,
            second[weights] if second.size else second,
            rate,
            count,
            penalty.decay * scale,
            penalty.l1 * scale,
        )
        apply_update(
            self.kernel,
            params[biases],
            grad[biases],
            first[biases] if first.size else first,
            second[biases] if second.size else second,
            rate,
            count,
            0.0,
            0.0,
        )
        if self.formula:
            state.optimizer_state["count"] = count
        state.t += 1
