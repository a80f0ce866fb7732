"""Every built-in optimizer's update rule, written once as compiled functions.

A rule is two functions of its settings (a small named tuple, its *kernel*):
``rate(kernel, learning_rate, count)``, the rate of the ``count``-th update (Adam's
bias correction lives here), and ``coordinate(kernel, grad, first, second, i,
rate)``, which updates coordinate ``i``'s state (``first`` and ``second``: the
velocity, the sum or average of squared gradients, Adam's moments) and returns
``(step, effective_rate)``: the step to add to the parameter, and the step size the
rule applied to that coordinate, ``-step / grad`` for the plain gradient. The
effective rate is what a proximal l1 step must shrink by, so that l1 reaches the
same optimum under every rule. A rule whose state carries the last step (the
momentum rules' velocity) also has ``settle(kernel, first, second, i, moved)``,
told how far the coordinate really moved after the proximal step, so that the
velocity holds the step taken and training can settle on the l1 optimum.

Both training loops call these through :func:`update_rate` and
:func:`coordinate_step`, which pick the rule registered for the kernel's type:
the compiled epoch loop directly, the Python loop through the training engine's
update, and the optimizers' public ``update`` through :func:`steps`.
"""

import math
from collections import namedtuple

from ._numba import FASTMATH, jit, overload

__all__ = [
    "AdagradKernel",
    "AdamKernel",
    "GivenStepsKernel",
    "MomentumKernel",
    "NesterovKernel",
    "RMSpropKernel",
    "SGDKernel",
    "coordinate_step",
    "settle",
    "steps",
    "update_rate",
]

SGDKernel = namedtuple("SGDKernel", [])
MomentumKernel = namedtuple("MomentumKernel", ["momentum"])
NesterovKernel = namedtuple("NesterovKernel", ["momentum"])
AdagradKernel = namedtuple("AdagradKernel", ["epsilon"])
RMSpropKernel = namedtuple("RMSpropKernel", ["rho", "epsilon"])
AdamKernel = namedtuple("AdamKernel", ["beta1", "beta2", "epsilon"])
#: Steps computed elsewhere (a user's optimizer object), passed as ``first``.
GivenStepsKernel = namedtuple("GivenStepsKernel", [])

#: kernel type -> (compiled rate rule, compiled coordinate rule, compiled settle)
_RULES = {}


def _constant_rate(kernel, learning_rate, count):
    return learning_rate


def _no_settling(kernel, first, second, i, moved):
    pass


def _velocity_is_the_step(kernel, first, second, i, moved):
    first[i] = moved


def _rule(kernel_type, rate=_constant_rate, settle=_no_settling):
    """Compile ``coordinate`` (and ``rate`` and ``settle``) and register them for
    ``kernel_type``."""

    def register(coordinate):
        compiled = jit(coordinate, fastmath=FASTMATH, inline=True)
        _RULES[kernel_type] = (
            jit(rate, fastmath=FASTMATH, inline=True),
            compiled,
            jit(settle, fastmath=FASTMATH, inline=True),
        )
        return compiled

    return register


@_rule(SGDKernel)
def _sgd(kernel, grad, first, second, i, rate):
    return -rate * grad, rate


@_rule(GivenStepsKernel)
def _given_steps(kernel, grad, first, second, i, rate):
    return first[i], rate


@_rule(MomentumKernel, settle=_velocity_is_the_step)
def _momentum(kernel, grad, first, second, i, rate):
    velocity = kernel.momentum * first[i] - rate * grad
    first[i] = velocity
    return velocity, rate


@_rule(NesterovKernel, settle=_velocity_is_the_step)
def _nesterov(kernel, grad, first, second, i, rate):
    velocity = kernel.momentum * first[i] - rate * grad
    first[i] = velocity
    # From rest the look-ahead step is (1 + momentum) gradient steps.
    return kernel.momentum * velocity - rate * grad, (1.0 + kernel.momentum) * rate


@_rule(AdagradKernel)
def _adagrad(kernel, grad, first, second, i, rate):
    total = first[i] + grad * grad
    first[i] = total
    effective = rate / (math.sqrt(total) + kernel.epsilon)
    return -effective * grad, effective


@_rule(RMSpropKernel)
def _rmsprop(kernel, grad, first, second, i, rate):
    average = kernel.rho * first[i] + (1.0 - kernel.rho) * grad * grad
    first[i] = average
    effective = rate / (math.sqrt(average) + kernel.epsilon)
    return -effective * grad, effective


def _adam_rate(kernel, learning_rate, count):
    # Kingma and Ba's bias correction, folded into the rate.
    return (
        learning_rate
        * math.sqrt(1.0 - kernel.beta2**count)
        / (1.0 - kernel.beta1**count)
    )


@_rule(AdamKernel, rate=_adam_rate)
def _adam(kernel, grad, first, second, i, rate):
    mean = kernel.beta1 * first[i] + (1.0 - kernel.beta1) * grad
    square = kernel.beta2 * second[i] + (1.0 - kernel.beta2) * grad * grad
    first[i] = mean
    second[i] = square
    effective = rate / (math.sqrt(square) + kernel.epsilon)
    return -effective * mean, effective


def update_rate(kernel, learning_rate, count):
    """The rate of the ``count``-th update (1 for the first) under ``kernel``'s rule."""
    return _RULES[type(kernel)][0](kernel, learning_rate, count)


def coordinate_step(kernel, grad, first, second, i, rate):
    """Update coordinate ``i``'s state; return ``(step, effective rate)``."""
    return _RULES[type(kernel)][1](kernel, grad, first, second, i, rate)


def settle(kernel, first, second, i, moved):
    """Tell coordinate ``i``'s state how far the coordinate really moved."""
    _RULES[type(kernel)][2](kernel, first, second, i, moved)


@overload(update_rate)
def _update_rate_overload(kernel, learning_rate, count):
    rule = _RULES[kernel.instance_class][0]
    return lambda kernel, learning_rate, count: rule(kernel, learning_rate, count)


@overload(coordinate_step)
def _coordinate_step_overload(kernel, grad, first, second, i, rate):
    rule = _RULES[kernel.instance_class][1]
    return lambda kernel, grad, first, second, i, rate: rule(
        kernel, grad, first, second, i, rate
    )


@overload(settle)
def _settle_overload(kernel, first, second, i, moved):
    rule = _RULES[kernel.instance_class][2]
    return lambda kernel, first, second, i, moved: rule(kernel, first, second, i, moved)


@jit(fastmath=FASTMATH)
def steps(kernel, grad, first, second, learning_rate, count, out):
    """Fill ``out`` with the steps of the ``count``-th update for the flat ``grad``,
    updating the flat state arrays ``first`` and ``second`` in place."""
    rate = update_rate(kernel, learning_rate, count)
    for i in range(grad.shape[0]):
        out[i] = coordinate_step(kernel, grad[i], first, second, i, rate)[0]
