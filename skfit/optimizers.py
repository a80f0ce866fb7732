"""Update rules with explicit state.

An optimizer is a pair of methods: ``init(params) -> state`` and
``update(grads, state, learning_rate) -> (steps, state)``. ``params`` and ``grads`` are
lists of arrays; ``steps`` are the arrays to *add* to the parameters. The state is a
plain dict of counters and arrays that the estimator keeps between calls, which is what
makes ``warm_start`` and ``partial_fit`` continue exactly. ``update`` may modify the
arrays of the state it is given (the engine copies the state where it needs a snapshot).

Optimizers are scikit-learn style objects: their settings are ``__init__`` arguments,
so ``clone`` copies them and a search can tune ``optimizer__beta1``.
"""

import math

import numpy as np
from sklearn.base import BaseEstimator, clone

__all__ = ["SGD", "Adam", "Optimizer", "check_optimizer"]


class Optimizer(BaseEstimator):
    """Base class of skfit's optimizers.

    Subclasses implement :meth:`init` and :meth:`update`.
    """

    def init(self, params):
        """Return the initial state for the parameter arrays ``params``."""
        return {}

    def update(self, grads, state, learning_rate):
        """Return the parameter steps for ``grads`` and the new state."""
        raise NotImplementedError


class SGD(Optimizer):
    """Plain (stochastic) gradient descent: ``step = -learning_rate * grad``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.optimizers import SGD
    >>> opt = SGD()
    >>> state = opt.init([np.zeros(2)])
    >>> steps, state = opt.update([np.array([1.0, -2.0])], state, 0.1)
    >>> steps[0]
    array([-0.1,  0.2])
    """

    def update(self, grads, state, learning_rate):
        return [-learning_rate * g for g in grads], state


class Adam(Optimizer):
    """Adam: steps scaled by running estimates of the gradient's first two moments.

    With ``m`` and ``v`` the exponential averages of the gradient and of its square
    after ``t`` updates, the step is
    ``-learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)``,
    the bias-corrected form of Kingma and Ba (2015) that scikit-learn's MLP uses.

    Parameters
    ----------
    beta1 : float, default=0.9
        Decay of the first-moment (mean) estimate.
    beta2 : float, default=0.999
        Decay of the second-moment (uncentred variance) estimate.
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.optimizers import Adam
    >>> opt = Adam()
    >>> state = opt.init([np.zeros(1)])
    >>> steps, state = opt.update([np.array([4.0])], state, 0.01)
    >>> steps[0].round(6)
    array([-0.01])
    """

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def init(self, params):
        return {
            "count": 0,
            "mu": [np.zeros_like(p) for p in params],
            "nu": [np.zeros_like(p) for p in params],
        }

    def update(self, grads, state, learning_rate):
        count = state["count"] + 1
        rate = (
            learning_rate
            * math.sqrt(1.0 - self.beta2**count)
            / (1.0 - self.beta1**count)
        )
        steps = []
        for g, mu, nu in zip(grads, state["mu"], state["nu"], strict=True):
            mu *= self.beta1
            mu += (1.0 - self.beta1) * g
            nu *= self.beta2
            nu += (1.0 - self.beta2) * np.square(g)
            step = np.sqrt(nu)
            step += self.epsilon
            np.divide(mu, step, out=step)
            step *= -rate
            steps.append(step)
        state["count"] = count
        return steps, state


_OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def check_optimizer(optimizer):
    """Return a fresh optimizer object for a name or a user's optimizer object.

    Objects with ``get_params`` are cloned, so training never changes the object
    the user passed in.
    """
    if isinstance(optimizer, str):
        return _OPTIMIZERS[optimizer]()
    if hasattr(optimizer, "get_params"):
        return clone(optimizer)
    return optimizer
