"""The score of the current parameters on the share of the data held out."""

import numpy as np

__all__ = ["HeldOutScorer"]


class HeldOutScorer:
    """Computes the objective and the estimator's score on the held-out rows.

    Parameters
    ----------
    data : TrainingData
        Holds the held-out rows (``X_val``, ``Y_val``, ``y_val``,
        ``sample_weight_val``) and the estimator's ``score`` from raw outputs.
    loss : Loss
        The loss being minimised.
    penalty : Penalty
        The weight penalty, part of the objective.
    loss_scale : float, default=1.0
        The user's units of one unit of the objective that training runs in.
    """

    def __init__(self, data, loss, penalty, loss_scale=1.0):
        self.data = data
        self.loss = loss
        self.penalty = penalty
        self.loss_scale = loss_scale

    def __call__(self, network):
        """``(objective, score)`` of ``network``'s current parameters."""
        data = self.data
        raw = network.predict_raw(data.X_val)
        losses = self.loss.loss(data.Y_val, raw)
        data_loss = float(np.average(losses, weights=data.sample_weight_val))
        loss = data_loss + self.penalty.value(network.flat[: network.n_weights])
        return loss * self.loss_scale, float(
            data.score(raw, data.y_val, data.sample_weight_val)
        )
