"""The compiled batch loop for linear models, used when numba is installed.

The engine's Python loop makes some 25 small numpy calls per batch, about 40 µs:
at 256 rows that is twice the cost of reading the rows, at 32 rows twenty times
(see ``benchmarks/results.md``). For a linear model on dense C-ordered or CSR rows,
:func:`compiled_batches` returns a runner that trains a whole epoch in one
compiled call, which walks the rows by index (so shuffling copies no rows) and
applies the same loss, penalty and optimizer formulas as the Python loop. It
records each batch's objective, weight and gradient norm; the engine then replays
the spike detector over them.

That replay is why only the spike policies that never change the course of
training ("warn" and "ignore") are compiled: under both, a batch is skipped exactly
when its objective or gradient is not finite, which the kernel decides itself.
Everything else trains through the Python loop: hidden layers, X that is neither
C-ordered dense nor CSR, losses and optimizers outside the tables below (a user's
own classes included), per-batch callbacks, and the "skip", "rollback" and
"raise" policies. Results agree with the Python loop to rounding, not bit for bit: the
kernel sums in its own order.
"""

import math

import numpy as np
from scipy import sparse

from ._classification_losses import LogLoss
from ._config import get_config
from ._numba import FASTMATH, jit, numba
from ._regression_losses import SquaredError
from .optimizers import SGD, Adagrad, Adam, AdamW, Momentum, Nesterov, RMSprop

if numba is not None:
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic, overload

__all__ = ["compiled_batches"]

# Loss codes; the log-loss code depends on the number of outputs.
_SQUARED, _BINARY_LOG, _MULTINOMIAL_LOG = 0, 1, 2
# Optimizer codes, and for each optimizer its code and the names of its state
# arrays (at most two).
_SGD, _MOMENTUM, _NESTEROV, _ADAGRAD, _RMSPROP, _ADAM = range(6)
_OPTIMIZER_CODES = {
    SGD: (_SGD, ()),
    Momentum: (_MOMENTUM, ("velocity",)),
    Nesterov: (_NESTEROV, ("velocity",)),
    Adagrad: (_ADAGRAD, ("sum_sq",)),
    RMSprop: (_RMSPROP, ("square_avg",)),
    Adam: (_ADAM, ("mu", "nu")),
    AdamW: (_ADAM, ("mu", "nu")),
}
_COMPILED_POLICIES = ("warn", "ignore")


def _hyperparameters(optimizer):
    """``(decay1, decay2, epsilon)``: the optimizer's decay rates (Adam's betas,
    the momentum, RMSprop's rho) and epsilon."""
    if isinstance(optimizer, Adam):
        return optimizer.beta1, optimizer.beta2, optimizer.epsilon
    if isinstance(optimizer, Momentum):
        return optimizer.momentum, 0.0, 0.0
    if isinstance(optimizer, RMSprop):
        return optimizer.rho, 0.0, optimizer.epsilon
    if isinstance(optimizer, Adagrad):
        return 0.0, 0.0, optimizer.epsilon
    return 0.0, 0.0, 0.0


def compiled_batches(state, data, config, batch_callbacks):
    """A :class:`CompiledBatches` runner for this training call, or None when the
    call is outside the compiled loop's scope (see the module docstring)."""
    network, loss = state.network, config.loss
    X = data.X
    if (
        numba is None
        or not get_config()["use_numba"]
        or batch_callbacks
        or config.spike_policy not in _COMPILED_POLICIES
        or network.n_layers != 1
        or type(state.optimizer) not in _OPTIMIZER_CODES
        or type(loss) not in (SquaredError, LogLoss)
        # One batch per epoch has no per-batch overhead to save, and its large
        # products run faster through multithreaded BLAS.
        or (config.batch_size or math.inf) >= data.n_train
        or not (
            (isinstance(X, np.ndarray) and X.flags.c_contiguous)
            or (sparse.issparse(X) and X.format == "csr")
        )
    ):
        return None
    if isinstance(loss, SquaredError):
        loss_code = _SQUARED
    else:
        loss_code = _BINARY_LOG if data.Y.shape[1] == 1 else _MULTINOMIAL_LOG
    return CompiledBatches(state, data, config, loss_code)


class CompiledBatches:
    """Trains the batches of one epoch of a linear model in one compiled call.

    The kernel works on ``(n_outputs, n_features + 1)`` matrices, one row per
    output holding its weights then its bias, so that each output's dot product
    with a row of X reads contiguous memory. The parameters and the optimizer's
    state are packed into that layout before the call and unpacked after it.
    """

    def __init__(self, state, data, config, loss_code):
        self.state = state
        self.data = data
        self.loss_code = loss_code
        network = state.network
        self.n_features, self.n_outputs = network.layer_sizes
        dtype = network.dtype
        X = data.X
        self.rows = X if isinstance(X, np.ndarray) else (X.data, X.indices, X.indptr)
        # A C-ordered Y spares the kernel a compiled variant for another layout.
        self.Y = np.ascontiguousarray(data.Y)
        self.sample_weight = (
            np.empty(0, dtype=dtype)
            if data.sample_weight is None
            else np.ascontiguousarray(data.sample_weight, dtype=dtype)
        )
        self.optimizer_code, self.state_keys = _OPTIMIZER_CODES[type(state.optimizer)]
        penalty = config.penalty
        decoupled = penalty.decoupled
        self.penalty_terms = (
            0.0 if decoupled else penalty.l2,
            penalty.l2 if decoupled else 0.0,
            penalty.l1,
        )

    def run(self, order, batch_size, mean_weight, rates, losses, weights, norms):
        """Train the epoch's batches and advance the update counters; return
        ``(batches done, updates applied, whether interrupted)``.

        ``order`` holds the row numbers in the epoch's order (None: 0..n-1),
        ``rates`` the learning rate of each possible update in turn; ``losses``,
        ``weights`` and ``norms`` receive each batch's objective, weight and
        gradient norm.
        """
        # The kernel counts the batches done and the updates applied in here.
        progress = np.zeros(2, dtype=np.int64)
        state, network = self.state, self.state.network
        optimizer_state = state.optimizer_state
        packed = self._pack(network.flat)
        states = [self._pack(optimizer_state[key][0]) for key in self.state_keys]
        while len(states) < 2:
            states.append(np.empty((0, 0), dtype=packed.dtype))
        count = optimizer_state.get("count", 0)
        decay1, decay2, epsilon = _hyperparameters(state.optimizer)
        interrupted = False
        try:
            _train_epoch(
                self.rows,
                self.Y,
                self.sample_weight,
                np.empty(0, dtype=np.intp) if order is None else order,
                batch_size,
                mean_weight,
                self.loss_code,
                network.fit_intercept,
                packed,
                self.optimizer_code,
                states[0],
                states[1],
                count,
                decay1,
                decay2,
                epsilon,
                *self.penalty_terms,
                rates,
                losses,
                weights,
                norms,
                progress,
            )
        except KeyboardInterrupt:
            # A KeyboardInterrupt surfaces only once the compiled call returns (or
            # before it starts): progress says what was done, and that is kept.
            interrupted = True
        self._unpack(packed, network.flat)
        for key, packed_state in zip(self.state_keys, states, strict=False):
            self._unpack(packed_state, optimizer_state[key][0])
        n_steps = int(progress[1])
        if "count" in optimizer_state:
            optimizer_state["count"] = count + n_steps
        state.t += n_steps
        return int(progress[0]), n_steps, interrupted

    def _pack(self, flat):
        d, k = self.n_features, self.n_outputs
        packed = np.empty((k, d + 1), dtype=flat.dtype)
        packed[:, :d] = flat[: d * k].reshape(d, k).T
        packed[:, d] = flat[d * k :]
        return packed

    def _unpack(self, packed, flat):
        d, k = self.n_features, self.n_outputs
        flat[: d * k].reshape(d, k)[...] = packed[:, :d].T
        flat[d * k :] = packed[:, d]


#: Rows ahead whose memory a shuffled epoch asks for before it needs them.
PREFETCH_DISTANCE = 8

if numba is not None:

    @intrinsic
    def _prefetch(typingctx, array, index):
        """Ask the CPU to start loading ``array[index]`` into cache (no wait)."""

        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            array_struct = context.make_array(array_type)(context, builder, args[0])
            pointer = cgutils.get_item_pointer(
                context, builder, array_type, array_struct, [args[1]]
            )
            byte_pointer = ir.IntType(8).as_pointer()
            int32 = ir.IntType(32)
            function = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
                "llvm.prefetch.p0i8",
            )
            # Arguments: a read (0), keep in all cache levels (3), data (1).
            builder.call(
                function,
                [
                    builder.bitcast(pointer, byte_pointer),
                    ir.Constant(int32, 0),
                    ir.Constant(int32, 3),
                    ir.Constant(int32, 1),
                ],
            )
            return context.get_dummy_value()

        return numba.types.void(array, index), codegen

    # Rows of X, dense (a 2-D array) or CSR (a tuple data, indices, indptr): the
    # kernel is compiled once for each, through these four functions.
    def _n_rows(X):
        """The number of rows of X."""

    def _row_dot(X, row, coefficients):
        """The dot product of a row of X with ``coefficients``."""

    def _add_row(X, row, scale, out):
        """``out += scale * X[row]`` over the row's features."""

    def _prefetch_row(X, row, line):
        """Request a row's memory, ``line`` values per cache line."""

    @overload(_n_rows)
    def _n_rows_overload(X):
        if isinstance(X, numba.types.Array):
            return lambda X: X.shape[0]
        return lambda X: X[2].shape[0] - 1

    @overload(_row_dot)
    def _row_dot_overload(X, row, coefficients):
        if isinstance(X, numba.types.Array):

            def dense(X, row, coefficients):
                x = X[row]
                total = 0.0
                for j in range(x.shape[0]):
                    total += x[j] * coefficients[j]
                return total

            return dense

        def csr(X, row, coefficients):
            data, indices, indptr = X
            total = 0.0
            for p in range(indptr[row], indptr[row + 1]):
                total += data[p] * coefficients[indices[p]]
            return total

        return csr

    @overload(_add_row)
    def _add_row_overload(X, row, scale, out):
        if isinstance(X, numba.types.Array):

            def dense(X, row, scale, out):
                x = X[row]
                for j in range(x.shape[0]):
                    out[j] += scale * x[j]

            return dense

        def csr(X, row, scale, out):
            data, indices, indptr = X
            for p in range(indptr[row], indptr[row + 1]):
                out[indices[p]] += scale * data[p]

        return csr

    @overload(_prefetch_row)
    def _prefetch_row_overload(X, row, line):
        if isinstance(X, numba.types.Array):

            def dense(X, row, line):
                x = X[row]
                for j in range(0, x.shape[0], line):
                    _prefetch(x, j)

            return dense

        def csr(X, row, line):
            data, indices, indptr = X
            start = indptr[row]
            if start < data.shape[0]:
                _prefetch(data, start)
                _prefetch(indices, start)

        return csr


@jit(fastmath=FASTMATH)
def _row_loss_gradient(loss_code, raw, y, grad):
    """The loss of one row's raw outputs; its gradient goes into ``grad``."""
    n_outputs = raw.shape[0]
    if loss_code == _SQUARED:
        total = 0.0
        for k in range(n_outputs):
            residual = raw[k] - y[k]
            total += 0.5 * residual * residual
            grad[k] = residual
        return total
    if loss_code == _BINARY_LOG:
        z = raw[0]
        # log(1 + exp(z)) and the sigmoid from exp(-|z|), without overflow for any
        # z, and with selects rather than branches that the sign of z mispredicts.
        small = math.exp(-abs(z))
        sigmoid_abs = 1.0 / (1.0 + small)
        grad[0] = (sigmoid_abs if z >= 0 else small * sigmoid_abs) - y[0]
        return max(z, 0.0) + math.log1p(small) - y[0] * z
    largest = raw[0]
    for k in range(1, n_outputs):
        largest = max(largest, raw[k])
    total = 0.0
    for k in range(n_outputs):
        grad[k] = math.exp(raw[k] - largest)
        total += grad[k]
    value = math.log(total)
    for k in range(n_outputs):
        value -= y[k] * (raw[k] - largest)
        grad[k] = grad[k] / total - y[k]
    return value


@jit(fastmath=FASTMATH)
def _optimizer_step(code, params, grad, state1, state2, rate, count):
    """Apply one update of the optimizer ``code`` to ``params``, all flat arrays.

    ``state1`` and ``state2`` are the optimizer's state arrays (velocity, sum or
    average of squares, Adam's moments); ``rate`` is (learning rate, decay1, decay2,
    epsilon).
    """
    # One loop per optimizer, with no branch inside, so that each vectorises.
    learning_rate, decay1, decay2, epsilon = rate
    if code == _SGD:
        for i in range(params.shape[0]):
            params[i] -= learning_rate * grad[i]
    elif code == _MOMENTUM:
        for i in range(params.shape[0]):
            velocity = decay1 * state1[i] - learning_rate * grad[i]
            state1[i] = velocity
            params[i] += velocity
    elif code == _NESTEROV:
        for i in range(params.shape[0]):
            g = grad[i]
            velocity = decay1 * state1[i] - learning_rate * g
            state1[i] = velocity
            params[i] += decay1 * velocity - learning_rate * g
    elif code == _ADAGRAD:
        for i in range(params.shape[0]):
            g = grad[i]
            second_sum = state1[i] + g * g
            state1[i] = second_sum
            params[i] -= learning_rate * g / (math.sqrt(second_sum) + epsilon)
    elif code == _RMSPROP:
        for i in range(params.shape[0]):
            g = grad[i]
            average = decay1 * state1[i] + (1.0 - decay1) * g * g
            state1[i] = average
            params[i] -= learning_rate * g / (math.sqrt(average) + epsilon)
    else:  # Adam, bias-corrected
        learning_rate *= math.sqrt(1.0 - decay2**count) / (1.0 - decay1**count)
        for i in range(params.shape[0]):
            g = grad[i]
            mean = decay1 * state1[i] + (1.0 - decay1) * g
            square = decay2 * state2[i] + (1.0 - decay2) * g * g
            state1[i] = mean
            state2[i] = square
            params[i] -= learning_rate * mean / (math.sqrt(square) + epsilon)


@jit(fastmath=FASTMATH)
def _train_epoch(
    X,
    Y,
    sample_weight,
    order,
    batch_size,
    mean_weight,
    loss_code,
    fit_intercept,
    params,
    optimizer_code,
    state1,
    state2,
    count,
    decay1,
    decay2,
    epsilon,
    l2,
    weight_decay,
    l1,
    rates,
    losses,
    weights,
    norms,
    progress,
):
    """Walk the rows in batches, updating ``params`` in place (see CompiledBatches)."""
    n_train = order.shape[0] if order.shape[0] else _n_rows(X)
    n_outputs, n_columns = params.shape
    n_features = n_columns - 1
    weighted = sample_weight.shape[0] > 0
    grad = np.zeros_like(params)
    raw = np.empty(n_outputs)
    raw_grad = np.empty(n_outputs)
    flat_params = params.reshape(-1)
    flat_grad = grad.reshape(-1)
    flat_state1 = state1.reshape(-1)
    flat_state2 = state2.reshape(-1)
    # A shuffled epoch reads rows in random order: each row's first cache line
    # would stall for a trip to memory, so rows are requested ahead of use.
    line = max(64 // params.itemsize, 1)
    steps = 0
    for batch, start in enumerate(range(0, n_train, batch_size)):
        stop = min(start + batch_size, n_train)
        m = stop - start
        grad[:] = 0.0
        loss_sum = 0.0
        weight = 0.0
        for position in range(start, stop):
            if order.shape[0]:
                row = order[position]
                if position + PREFETCH_DISTANCE < n_train:
                    _prefetch_row(X, order[position + PREFETCH_DISTANCE], line)
            else:
                row = position
            for k in range(n_outputs):
                coefficients = params[k]
                raw[k] = _row_dot(X, row, coefficients) + coefficients[n_features]
            row_loss = _row_loss_gradient(loss_code, raw, Y[row], raw_grad)
            row_weight = sample_weight[row] if weighted else 1.0
            loss_sum += row_weight * row_loss
            weight += row_weight
            share = row_weight / (m * mean_weight)
            for k in range(n_outputs):
                g = raw_grad[k] * share
                output_grad = grad[k]
                _add_row(X, row, g, output_grad)
                output_grad[n_features] += g
        if weighted:
            data_loss = loss_sum / weight if weight > 0 else 0.0
        else:
            data_loss = loss_sum / m
        # The batch's share of the objective's weight, as in the Python loop.
        scale = weight / (m * mean_weight)
        squares = 0.0
        absolutes = 0.0
        norm = 0.0
        for k in range(n_outputs):
            coefficients = params[k]
            output_grad = grad[k]
            for j in range(n_features):
                w = coefficients[j]
                squares += w * w
                absolutes += abs(w)
                g = output_grad[j] + l2 * scale * w
                output_grad[j] = g
                norm += g * g
            if not fit_intercept:
                output_grad[n_features] = 0.0
            norm += output_grad[n_features] ** 2
        objective = data_loss + 0.5 * (l2 + weight_decay) * squares + l1 * absolutes
        norm = math.sqrt(norm)
        losses[batch] = objective
        weights[batch] = weight
        norms[batch] = norm
        progress[0] = batch + 1
        if not (math.isfinite(objective) and math.isfinite(norm)):
            continue
        rate = rates[steps]
        if weight_decay:
            shrink = 1.0 - rate * scale * weight_decay
            for k in range(n_outputs):
                for j in range(n_features):
                    params[k, j] *= shrink
        steps += 1
        _optimizer_step(
            optimizer_code,
            flat_params,
            flat_grad,
            flat_state1,
            flat_state2,
            (rate, decay1, decay2, epsilon),
            count + steps,
        )
        if l1:
            threshold = rate * scale * l1
            for k in range(n_outputs):
                for j in range(n_features):
                    w = params[k, j]
                    shrunk = max(abs(w) - threshold, 0.0)
                    params[k, j] = shrunk if w >= 0 else -shrunk
        progress[1] = steps
