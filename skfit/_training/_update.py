"""One update of the parameters: the optimizer's rule, then the penalty's decay and
proximal step, in one compiled pass that both training loops call."""

import math

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

__all__ = [
    "Update",
    "apply_unpenalised_update",
    "apply_update",
    "sparse_penalty_weights",
]


@jit(fastmath=FASTMATH, inline=True)
def _update_coordinate(
    kernel, params, grad, first, second, i, rate_t, shrink, l1, l1_weight
):
    """Update coordinate ``i`` and consume its gradient (set it to 0); return the
    changes of its square and of its absolute value. Its l1 strength is ``l1``
    times ``l1_weight``."""
    step, effective_rate = coordinate_step(kernel, grad[i], first, second, i, rate_t)
    grad[i] = 0.0
    before = params[i]
    w = before * shrink + step
    if l1:
        w = soft_threshold(w, effective_rate * l1 * l1_weight)
        settle(kernel, first, second, i, w - before)
    params[i] = w
    return w * w - before * before, abs(w) - abs(before)


@jit(fastmath=FASTMATH, inline=True)
def apply_update(
    kernel,
    params,
    grad,
    first,
    second,
    rate,
    count,
    decay,
    l1,
    sparse,
    touched,
    penalty_weights,
):
    """Apply the ``count``-th update of ``kernel``'s rule to the flat ``params``.

    ``decay`` and ``l1`` are the decoupled l2 and the l1 strengths for these
    parameters (0 for biases), already scaled by the batch's share of the objective:
    each weight is decayed from its value before the step, and soft-thresholded by
    the step size the rule applied to it; the rule then learns how far it moved.

    A ``sparse`` update changes only the coordinates listed in ``touched``, those
    a sparse batch trains, each one's penalty multiplied by its entry of
    ``penalty_weights`` (see :func:`sparse_penalty_weights`); otherwise every
    coordinate changes.

    The gradient of each updated coordinate is consumed (set to 0). Returns the
    changes of the sums of the parameters' squares and absolute values, with
    which a caller keeps the penalty's value up to date.
    """
    rate_t = update_rate(kernel, rate, count)
    step_decay = rate * decay
    # Without l1 the loops are compiled without the proximal step: numba inlines
    # the helpers (numba 0.60 and later), and a literal 0 folds the step's branch
    # away. Left in the loop, that branch kept numba's reference counting of the
    # state arrays inside it, an increment and a decrement per coordinate: an
    # Adam update of 1,000 coordinates took 32 us rather than 4 us, and a sparse
    # one of 2,300 coordinates 90 us rather than 18 us. The branch tests the
    # strength before the penalty weight multiplies it (0 * weight is not known
    # to be 0, as 0 * inf is not), which also keeps a sparse update with l1 from
    # paying it (a momentum one: 27 us rather than 90 us).
    if l1:
        return _update_coordinates(
            kernel,
            params,
            grad,
            first,
            second,
            rate_t,
            step_decay,
            l1,
            sparse,
            touched,
            penalty_weights,
        )
    return _update_coordinates(
        kernel,
        params,
        grad,
        first,
        second,
        rate_t,
        step_decay,
        0.0,
        sparse,
        touched,
        penalty_weights,
    )


@jit(fastmath=FASTMATH, inline=True)
def apply_unpenalised_update(kernel, params, grad, first, second, rate, count):
    """:func:`apply_update` for parameters without a penalty (the biases), all
    of them, as both training loops update biases: one loop, where
    :func:`apply_update` compiles four."""
    rate_t = update_rate(kernel, rate, count)
    _update_all(kernel, params, grad, first, second, rate_t, 1.0, 0.0)


@jit(fastmath=FASTMATH, inline=True)
def _update_coordinates(
    kernel,
    params,
    grad,
    first,
    second,
    rate_t,
    step_decay,
    l1,
    sparse,
    touched,
    penalty_weights,
):
    """:func:`apply_update` after its rate: the touched or all coordinates."""
    if sparse:
        return _update_touched(
            kernel,
            params,
            grad,
            first,
            second,
            touched,
            penalty_weights,
            rate_t,
            step_decay,
            l1,
        )
    return _update_all(
        kernel, params, grad, first, second, rate_t, 1.0 - step_decay, l1
    )


@jit(fastmath=FASTMATH, inline=True)
def _update_all(kernel, params, grad, first, second, rate_t, shrink, l1):
    """The dense branch of :func:`apply_update`: update every coordinate."""
    squares = 0.0
    absolutes = 0.0
    for i in range(params.shape[0]):
        d_square, d_absolute = _update_coordinate(
            kernel, params, grad, first, second, i, rate_t, shrink, l1, 1.0
        )
        squares += d_square
        absolutes += d_absolute
    return squares, absolutes


@jit(fastmath=FASTMATH, inline=True)
def _update_touched(
    kernel,
    params,
    grad,
    first,
    second,
    touched,
    penalty_weights,
    rate_t,
    step_decay,
    l1,
):
    """The sparse branch of :func:`apply_update`: update the ``touched``
    coordinates, each one's penalty (``step_decay``, the decoupled decay times
    the rate, and ``l1``) multiplied by its penalty weight."""
    squares = 0.0
    absolutes = 0.0
    for i in touched:
        weight = penalty_weights[i]
        d_square, d_absolute = _update_coordinate(
            kernel,
            params,
            grad,
            first,
            second,
            i,
            rate_t,
            1.0 - step_decay * weight,
            l1,
            weight,
        )
        squares += d_square
        absolutes += d_absolute
    return squares, absolutes


@jit(fastmath=FASTMATH)
def sparse_penalty_weights(indptr, indices, rows, batch_size, out):
    """Fill ``out[j]`` with ``1 / p_j`` for each feature ``j`` of a CSR matrix,
    ``p_j`` the chance that a batch of ``batch_size`` of the training ``rows``
    (all when empty), drawn without replacement, contains the feature (1 for a
    feature in none of them, whose weight never moves).

    A sparse batch updates only the weights of the features it contains: scaling
    their penalty by ``1 / p_j`` makes its expected effect per update that of the
    dense update, so that training still minimises the objective. A full batch
    contains every feature present, and its weights are exactly 1.
    """
    counts = np.zeros(out.shape[0])
    n = rows.shape[0] if rows.shape[0] else indptr.shape[0] - 1
    for position in range(n):
        row = rows[position] if rows.shape[0] else position
        for p in range(indptr[row], indptr[row + 1]):
            counts[indices[p]] += 1.0
    m = min(batch_size, n)
    for j in range(out.shape[0]):
        absent = n - counts[j]
        if counts[j] == 0 or absent < m:
            out[j] = 1.0
        else:
            # log C(n - n_j, m) - log C(n, m): the chance that no row has j.
            log_missed = (
                math.lgamma(absent + 1)
                - math.lgamma(absent - m + 1)
                - math.lgamma(n + 1)
                + math.lgamma(n - m + 1)
            )
            out[j] = 1.0 / (1.0 - math.exp(log_missed))


_NONE = np.empty(0, dtype=np.intp)


class Update:
    """Applies an optimizer's updates to a network's flat parameters.

    A built-in optimizer's rule runs compiled on its state arrays; a user's
    optimizer object computes its steps through its ``update`` method, and the
    penalty then acts with the scheduled rate as the step size.
    """

    def __init__(self, state, penalty, penalty_weights=None):
        self.state = state
        self.penalty = penalty
        optimizer = state.optimizer
        self.formula = isinstance(optimizer, FormulaOptimizer)
        self.kernel = optimizer.kernel() if self.formula else GivenStepsKernel()
        #: Per weight, the multiplier of its penalty in a sparse update.
        self.penalty_weights = (
            np.empty(0) if penalty_weights is None else penalty_weights
        )

    def __call__(self, grad, rate, scale, touched=None):
        """Apply one update for the flat gradient ``grad`` at learning ``rate``
        and count it in ``t``; ``scale`` is the batch's share of the objective,
        ``touched`` the only weights to update (all by default; biases always)."""
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

        def part(array, block):
            return array[block] if array.size else array

        for block, l2, l1 in penalty.blocks:
            # Each run of weights that shares a unit, penalised; the sparse
            # coordinates of a linear model are positions in its one block.
            weights = slice(
                block.start, n_weights if block.stop is None else block.stop
            )
            apply_update(
                self.kernel,
                params[weights],
                grad[weights],
                part(first, weights),
                part(second, weights),
                rate,
                count,
                penalty.decay(l2) * scale,
                l1 * scale,
                touched is not None,
                _NONE if touched is None else touched,
                self.penalty_weights,
            )
        biases = slice(n_weights, None)
        apply_unpenalised_update(
            self.kernel,
            params[biases],
            grad[biases],
            part(first, biases),
            part(second, biases),
            rate,
            count,
        )
        if self.formula:
            state.optimizer_state["count"] = count
        state.t += 1
