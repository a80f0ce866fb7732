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

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, clone

from . import _optimizer_formulas as formulas
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
        """Return the initial state for the parameter arrays ``params``.

        Parameters
        ----------
        params : list of ndarray
            The parameter arrays the optimizer will update.

        Returns
        -------
        state : dict
            Counters and arrays, for example one array per parameter array
            under a name; the estimator keeps it between calls.
        """
        return {}

    def update(self, grads, state, learning_rate):
        """Return the parameter steps for ``grads`` and the new state.

        Parameters
        ----------
        grads : list of ndarray
            The gradient of the objective for each parameter array, in the order
            of :meth:`init`'s ``params``.
        state : dict
            The state returned by :meth:`init` or by the previous call; its
            arrays may be updated in place.
        learning_rate : float
            The scheduled learning rate of this update.

        Returns
        -------
        steps : list of ndarray
            The arrays to add to the parameters.
        state : dict
            The new state.
        """
        raise NotImplementedError


class FormulaOptimizer(Optimizer):
    """A built-in optimizer: its update rule is a compiled formula.

    Subclasses implement :meth:`kernel`, the rule's settings, and name their
    state arrays (at most two, one of each per parameter array) in
    ``state_names``; the rule itself is registered for the kernel's type in
    :mod:`skfit._optimizer_formulas`, and the compiled training loop applies the
    same rule.
    """

    state_names = ()

    def kernel(self):
        """The settings of the optimizer's update rule."""
        raise NotImplementedError

    def _initial_state_value(self):
        return 0.0

    def init(self, params):
        state = {"count": 0}
        for name in self.state_names:
            state[name] = [np.full_like(p, self._initial_state_value()) for p in params]
        return state

    def update(self, grads, state, learning_rate):
        count = state["count"] + 1
        kernel = self.kernel()
        result = []
        for index, grad in enumerate(grads):
            grad = np.ascontiguousarray(grad)
            arrays = [state[name][index].reshape(-1) for name in self.state_names]
            empty = np.empty(0, dtype=grad.dtype)
            first, second = (arrays + [empty, empty])[:2]
            step = np.empty_like(grad)
            formulas.steps(
                kernel,
                grad.reshape(-1),
                first,
                second,
                float(learning_rate),
                count,
                step.reshape(-1),
            )
            result.append(step)
        state["count"] = count
        return result, state


class SGD(FormulaOptimizer):
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

    def kernel(self):
        return formulas.SGDKernel()


class Adam(FormulaOptimizer):
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

    state_names = ("mu", "nu")

    def kernel(self):
        return formulas.AdamKernel(
            float(self.beta1), float(self.beta2), float(self.epsilon)
        )


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


class Momentum(FormulaOptimizer):
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

    state_names = ("velocity",)

    def kernel(self):
        return formulas.MomentumKernel(float(self.momentum))


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

    def kernel(self):
        return formulas.NesterovKernel(float(self.momentum))


class Adagrad(FormulaOptimizer):
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

    state_names = ("sum_sq",)

    def kernel(self):
        return formulas.AdagradKernel(float(self.epsilon))

    def _initial_state_value(self):
        return self.initial_accumulator


class RMSprop(FormulaOptimizer):
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

    state_names = ("square_avg",)

    def kernel(self):
        return formulas.RMSpropKernel(float(self.rho), float(self.epsilon))


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
