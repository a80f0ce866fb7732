"""The Python batch runner: any network, loss, optimizer and callback.

Each batch is a forward pass, the loss and its gradient, the per-row spike check
on the rows' losses, a backward pass, the penalty's gradient, the batch's spike
check, the update and the per-batch callbacks. The
built-in losses and optimizers compute through the same compiled formulas as the
compiled runner (:mod:`skfit._training._compiled_batches`).
"""

import math

import numpy as np

from ..spikes import _loss_without_largest_row

__all__ = ["PythonBatches"]


class PythonBatches:
    """Trains the batches of an epoch one call at a time.

    Parameters
    ----------
    training : Training
        The training call: its state, data, configuration, batch plan, spike
        watch, update, learning rate and per-batch callbacks.
    """

    def __init__(self, training):
        self.training = training
        state, data = training.state, training.data
        batch_size = training.batch_size
        self.workspace = state.network.allocate(
            batch_size, training.config.random_state
        )
        # Shuffled or held-out rows are gathered into one reused buffer.
        gathers = training.shuffle or data.rows is not None
        self.row_buffer = (
            np.empty((batch_size, data.X.shape[1]), dtype=state.network.dtype)
            if gathers and isinstance(data.X, np.ndarray)
            else None
        )
        # The per-row check reads each row's loss as a deviation of this loss; the
        # positions and losses of a batch's culprits go to these buffers.
        self.deviation_kernel = training.config.loss.deviation_kernel(
            state.network.dtype
        )
        self.culprit_positions = np.empty(batch_size, dtype=np.intp)
        self.culprit_losses = np.empty(batch_size)
        self.n_outputs = state.network.layer_sizes[-1]

    def touched_weights(self, Xb):
        """The positions in the flat weights of the features a CSR batch contains
        (feature ``j``'s weights are ``j * n_outputs`` to ``j * n_outputs + n_outputs
        - 1``)."""
        features = np.unique(Xb.indices)
        k = self.n_outputs
        return (features[:, np.newaxis] * k + np.arange(k)).ravel()

    def run_epoch(self, epoch, order, losses, weights, norms):
        """Train one epoch's batches in ``order``; return ``(batches done, last
        learning rate, spikes, whether interrupted)``, filling each batch's
        objective, weight and gradient norm into ``losses``, ``weights`` and
        ``norms``."""
        training = self.training
        state, data, config = training.state, training.data, training.config
        network, loss_fn, penalty = state.network, config.loss, config.penalty
        weights_view = network.flat[: network.n_weights]
        flat_grad = self.workspace.flat_grad
        weight_grads = flat_grad[: network.n_weights]
        X, Y, sw = data.X, data.Y, data.sample_weight
        callbacks = training.batch_callbacks
        rate = training.rate_at(state.t)
        n_spikes = done = 0
        try:
            for b, batch in enumerate(training.batches):
                rows = batch if order is None else order[batch]
                Xb = self.take_rows(X, rows)
                raw = network.forward(Xb, self.workspace)
                row_losses, grad_raw = loss_fn.loss_gradient(Y[rows], raw)
                m = raw.shape[0]
                # The batch check leaves a rise that one row makes to the row
                # check once that judges rows, from before this batch on.
                rows_judged = state.row_detector.ready
                n_culprits = state.row_detector.check(
                    self.deviation_kernel,
                    row_losses,
                    batch.start,
                    self.culprit_positions,
                    self.culprit_losses,
                    training.row_norms,
                    order,
                    sw,
                )
                if sw is None:
                    weight = float(m)
                    contributions = row_losses
                    grad_raw *= 1.0 / m
                else:
                    swb = sw[rows]
                    weight = float(swb.sum())
                    contributions = swb * row_losses
                    grad_raw *= (swb / (m * training.mean_weight))[:, np.newaxis]
                # In float64, as the compiled runner: the loss without the largest
                # row subtracts that row from the sum.
                loss_sum = float(contributions.sum(dtype=np.float64))
                data_loss = loss_sum / weight if weight > 0 else 0.0
                loss_without_largest = math.nan
                if rows_judged:
                    at = int(np.argmax(contributions))
                    loss_without_largest = _loss_without_largest_row(
                        loss_sum,
                        weight,
                        float(contributions[at]),
                        1.0 if sw is None else float(swb[at]),
                    )
                # The batch's share of the objective's weight; 1 for equal weights.
                scale = weight / (m * training.mean_weight)
                # In the user's units, from those training runs in.
                objective = (
                    data_loss + penalty.value(weights_view)
                ) * config.loss_scale
                network.backward(Xb, grad_raw, self.workspace)
                if training.penalty_weights is None:
                    touched = None
                    penalty.add_gradient(weights_view, weight_grads, scale)
                else:
                    touched = self.touched_weights(Xb)
                    penalty.add_gradient(
                        weights_view,
                        weight_grads,
                        scale,
                        touched,
                        training.update.penalty_weights,
                    )
                grad_norm = math.sqrt(float(np.dot(flat_grad, flat_grad)))
                is_spike, skipped = training.watch.check(
                    epoch,
                    b,
                    objective,
                    data_loss * config.loss_scale,
                    loss_without_largest * config.loss_scale,
                    grad_norm,
                    order,
                    m,
                    (
                        self.culprit_positions[:n_culprits],
                        self.culprit_losses[:n_culprits],
                    ),
                )
                n_spikes += is_spike
                if not skipped:
                    rate = training.rate_at(state.t)
                    training.update(flat_grad, rate, scale, touched)
                losses[b] = objective
                weights[b] = weight
                norms[b] = grad_norm
                done = b + 1
                if callbacks:
                    batch_record = {
                        "epoch": epoch,
                        "batch": b,
                        "loss": objective,
                        "n_samples": m,
                        "skipped": skipped,
                    }
                    for callback in callbacks:
                        callback.on_batch_end(training.estimator, batch_record)
        except KeyboardInterrupt:
            return done, rate, n_spikes, True
        return done, rate, n_spikes, False

    def take_rows(self, X, rows):
        if isinstance(rows, slice):
            return X[rows]
        if self.row_buffer is not None:
            return np.take(X, rows, axis=0, out=self.row_buffer[: len(rows)])
        return X[rows]
