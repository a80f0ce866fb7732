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
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, clone

from ._sklearn_compat import Interval

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSprop",
    "check_optimizer",
]

_DECAY = Interval(Real, 0, 1, closed="left")
_POSITIVE = Interval(Real, 0, None, closed="neither")


def _scaled_step(grad, squares, epsilon, learning_rate):
    """``-learning_rate * grad / (sqrt(squares) + epsilon)``."""
    step = np.sqrt(squares)
    step += epsilon
    np.divide(grad, step, out=step)
    step *= -learning_rate
    return step


class Optimizer(BaseEstimator):
    """Base class of skfit's optimizers.

    Subclasses implement :meth:`init` and :meth:`update`.

    Attributes
    ----------
    decoupled_weight_decay : bool
        False: the l2 penalty enters the gradient. True (:class:`AdamW`): the
        engine skips the l2 gradient and decays the weights itself,
        ``W -= learning_rate * alpha * W`` at each update.
    """

    _parameter_constraints: dict = {}
    decoupled_weight_decay = False

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

    _parameter_constraints = {
        "beta1": [_DECAY],
        "beta2": [_DECAY],
        "epsilon": [_POSITIVE],
    }

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
            steps.append(_scaled_step(mu, nu, self.epsilon, rate))
        state["count"] = count
        return steps, state


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    The update is :class:`Adam`'s; the difference is in how the l2 penalty acts.
    Under Adam it enters the gradient and so is rescaled per coordinate by the
    moment estimates; under AdamW the engine leaves it out of the gradient and
    shrinks the weight matrices directly at each update,
    ``W -= learning_rate * alpha * W`` (the scheduled learning rate; biases are not
    decayed), marked by ``decoupled_weight_decay = True``.

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
    >>> from skfit.optimizers import AdamW
    >>> opt = AdamW()
    >>> opt.decoupled_weight_decay
    True
    >>> steps, state = opt.update([np.array([4.0])], opt.init([np.zeros(1)]), 0.01)
    >>> steps[0].round(6)
    array([-0.01])
    """

    decoupled_weight_decay = True


class Momentum(Optimizer):
    """Gradient descent with (heavy-ball) momentum.

    The velocity ``v`` (zero at first) accumulates the steps:
    ``v = momentum * v - learning_rate * grad`` and the step is ``v``.

    Parameters
    ----------
    momentum : float, default=0.9
        Share of the previous velocity kept, in [0, 1); 0 is plain SGD. 0.9 is
        scikit-learn's MLP default.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.optimizers import Momentum
    >>> opt = Momentum(momentum=0.5)
    >>> state = opt.init([np.zeros(1)])
    >>> steps, state = opt.update([np.array([1.0])], state, 0.1)
    >>> steps, state = opt.update([np.array([1.0])], state, 0.1)
    >>> steps[0]
    array([-0.15])
    """

    _parameter_constraints = {"momentum": [_DECAY]}

    def __init__(self, momentum=0.9):
        self.momentum = momentum

    def init(self, params):
        return {"velocity": [np.zeros_like(p) for p in params]}

    def update(self, grads, state, learning_rate):
        steps = []
        for g, velocity in zip(grads, state["velocity"], strict=True):
            velocity *= self.momentum
            velocity -= learning_rate * g
            steps.append(self._step(velocity, g, learning_rate))
        return steps, state

    def _step(self, velocity, grad, learning_rate):
        return velocity.copy()


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the form of scikit-learn's MLP.

    The velocity is updated as in :class:`Momentum`,
    ``v = momentum * v - learning_rate * grad``, and the step looks ahead along it:
    ``step = momentum * v - learning_rate * grad``.

    Parameters
    ----------
    momentum : float, default=0.9
        Share of the previous velocity kept, in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.optimizers import Nesterov
    >>> opt = Nesterov(momentum=0.5)
    >>> steps, state = opt.update([np.array([1.0])], opt.init([np.zeros(1)]), 0.1)
    >>> steps[0]
    array([-0.15])
    """

    def _step(self, velocity, grad, learning_rate):
        step = self.momentum * velocity
        step -= learning_rate * grad
        return step


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step shrinks with its summed squared gradients.

    With ``G`` the running sum of squared gradients (starting at
    ``initial_accumulator``), the step is
    ``-learning_rate * grad / (sqrt(G) + epsilon)`` (Duchi et al., 2011). The first
    step is about ``-learning_rate * sign(grad)``, and the rate only decreases.

    Parameters
    ----------
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability (as in :class:`Adam`).
    initial_accumulator : float, default=0.0
        Starting value of ``G``, >= 0 (0 as in PyTorch; Keras uses 0.1).

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.optimizers import Adagrad
    >>> opt = Adagrad()
    >>> steps, state = opt.update([np.array([3.0])], opt.init([np.zeros(1)]), 0.1)
    >>> steps[0].round(6)
    array([-0.1])
    """

    _parameter_constraints = {
        "epsilon": [_POSITIVE],
        "initial_accumulator": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, epsilon=1e-8, initial_accumulator=0.0):
        self.epsilon = epsilon
        self.initial_accumulator = initial_accumulator

    def init(self, params):
        return {"sum_sq": [np.full_like(p, self.initial_accumulator) for p in params]}

    def update(self, grads, state, learning_rate):
        steps = []
        for g, sum_sq in zip(grads, state["sum_sq"], strict=True):
            sum_sq += np.square(g)
            steps.append(_scaled_step(g, sum_sq, self.epsilon, learning_rate))
        return steps, state


class RMSprop(Optimizer):
    """RMSprop: steps scaled by a running average of squared gradients.

    With ``a = rho * a + (1 - rho) * grad**2`` (``a`` zero at first), the step is
    ``-learning_rate * grad / (sqrt(a) + epsilon)`` (Tieleman and Hinton, 2012;
    the form of PyTorch, without bias correction, so the first steps are about
    ``1 / sqrt(1 - rho)`` times ``learning_rate``).

    Parameters
    ----------
    rho : float, default=0.9
        Decay of the average of squared gradients, in [0, 1) (Keras' default).
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability.

    Examples
    --------
    >>> import numpy as np
    >>> from skfit.optimizers import RMSprop
    >>> opt = RMSprop(rho=0.75)
    >>> steps, state = opt.update([np.array([3.0])], opt.init([np.zeros(1)]), 0.1)
    >>> steps[0].round(6)
    array([-0.2])
    """

    _parameter_constraints = {"rho": [_DECAY], "epsilon": [_POSITIVE]}

    def __init__(self, rho=0.9, epsilon=1e-8):
        self.rho = rho
        self.epsilon = epsilon

    def init(self, params):
        return {"square_avg": [np.zeros_like(p) for p in params]}

    def update(self, grads, state, learning_rate):
        steps = []
        for g, square_avg in zip(grads, state["square_avg"], strict=True):
            square_avg *= self.rho
            square_avg += (1.0 - self.rho) * np.square(g)
            steps.append(_scaled_step(g, square_avg, self.epsilon, learning_rate))
        return steps, state


_OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def check_optimizer(optimizer):
    """Return a fresh optimizer object for a name or a user's optimizer object.

    Objects with ``get_params`` are cloned, so training never changes the object
    the user passed in; the settings of skfit's optimizers are validated.

    Parameters
    ----------
    optimizer : str or object
        A name of skfit's optimizers (their defaults apply) or an object with
        ``init`` and ``update``.

    Returns
    -------
    object

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        When a setting of a skfit optimizer is out of range.

    Examples
    --------
    >>> from skfit.optimizers import check_optimizer
    >>> check_optimizer("nesterov")
    Nesterov()
    """
    if isinstance(optimizer, str):
        return _OPTIMIZERS[optimizer]()
    if hasattr(optimizer, "get_params"):
        optimizer = clone(optimizer)
    if isinstance(optimizer, Optimizer):
        optimizer._validate_params()
    return optimizer
