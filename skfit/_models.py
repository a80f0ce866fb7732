"""Parameter sets with a forward and a backward pass.

A :class:`Network` is a stack of dense layers; with no hidden layer it is a linear
model, ``raw = X @ W + b``. The engine trains every estimator through the same three
calls: ``allocate`` (working buffers for a batch size, owned by the engine),
``forward`` and ``backward``. A workspace allocated with a random state is a
training workspace: its forward passes apply dropout to the hidden layers.
"""

import math

import numpy as np
from scipy.special import erf
from sklearn.utils.extmath import safe_sparse_dot

__all__ = ["ACTIVATIONS", "Network"]

_SQRT_HALF = np.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _relu(z, out):
    return np.maximum(z, 0, out=out)


def _relu_derivative(z, a, delta):
    # Multiplying by the boolean mask is several times faster than assigning
    # through it (delta[z <= 0] = 0).
    np.multiply(delta, z > 0, out=delta)


def _tanh(z, out):
    return np.tanh(z, out=out)


def _tanh_derivative(z, a, delta):
    delta *= 1 - a * a


def _logistic(z, out):
    # 0.5 * (1 + tanh(z / 2)) is the sigmoid without overflow in exp.
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def _logistic_derivative(z, a, delta):
    delta *= a * (1 - a)


def _identity(z, out):
    np.copyto(out, z)
    return out


def _identity_derivative(z, a, delta):
    pass


def _gelu(z, out):
    # The exact GELU, z * Phi(z), with Phi the standard normal distribution function.
    np.multiply(z, _SQRT_HALF, out=out)
    erf(out, out=out)
    out += 1
    out *= 0.5
    out *= z
    return out


def _gelu_derivative(z, a, delta):
    cdf = 0.5 * (1 + erf(z * _SQRT_HALF))
    delta *= cdf + z * _INV_SQRT_2PI * np.exp(-0.5 * z * z)


#: name -> (activation(z, out), derivative(z, a, delta) multiplying delta in place)
ACTIVATIONS = {
    "relu": (_relu, _relu_derivative),
    "tanh": (_tanh, _tanh_derivative),
    "logistic": (_logistic, _logistic_derivative),
    "identity": (_identity, _identity_derivative),
    "gelu": (_gelu, _gelu_derivative),
}


def _blocks(flat, shapes):
    """Views of consecutive blocks of the 1-D array ``flat``, one per shape."""
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views


class _Workspace:
    """Buffers for one batch size: pre-activations, activations, deltas, gradients,
    and in training with dropout the random generator and the kept activations.

    The gradients live in one flat array laid out as the network's parameters,
    so that the optimizer, the penalty and the norm each take one call per batch.
    """

    def __init__(self, network, n_rows, dtype, random_state=None):
        hidden = network.layer_sizes[1:-1]
        self.pre = [np.empty((n_rows, h), dtype=dtype) for h in hidden]
        self.act = [np.empty((n_rows, h), dtype=dtype) for h in hidden]
        self.delta = [np.empty((n_rows, h), dtype=dtype) for h in hidden]
        self.raw = np.empty((n_rows, network.layer_sizes[-1]), dtype=dtype)
        # Bias gradients are column sums, taken as a product with ones: a small
        # axis reduction costs several times more than the matrix-vector product.
        self.ones = np.ones(n_rows, dtype=dtype)
        self.flat_grad = np.empty_like(network.flat)
        views = _blocks(self.flat_grad, network.shapes)
        self.coef_grads = views[: network.n_layers]
        self.intercept_grads = views[network.n_layers :]
        self.dropout = network.dropout if random_state is not None else 0.0
        if self.dropout:
            # A Generator fills preallocated buffers (RandomState cannot).
            self.rng = np.random.default_rng(random_state.randint(2**31))
            self.mask = [np.empty((n_rows, h), dtype=dtype) for h in hidden]
            self.kept = [np.empty((n_rows, h), dtype=dtype) for h in hidden]


class Network:
    """A dense feed-forward network; with no hidden layer, a linear model.

    Parameters
    ----------
    layer_sizes : sequence of int
        Inputs, hidden layer widths, outputs: ``(n_features, n_outputs)`` is linear.
    activation : str, default="relu"
        The hidden layers' activation, a key of :data:`ACTIVATIONS`.
    fit_intercept : bool, default=True
        Whether the output layer has a bias (hidden layers always have one).
    dropout : float, default=0.0
        The share of hidden units zeroed in each training forward pass ("inverted"
        dropout: the kept units are scaled by ``1 / (1 - dropout)``, so prediction
        needs no rescaling).

    Attributes
    ----------
    flat : ndarray of shape (n_params,)
        Every parameter in one array: all weights first, then all biases.
    coefs : list of ndarray
        Weight matrices, ``coefs[i]`` of shape ``(layer_sizes[i], layer_sizes[i+1])``,
        views into ``flat``.
    intercepts : list of ndarray
        Bias vectors, ``intercepts[i]`` of shape ``(layer_sizes[i+1],)``, views
        into ``flat``.
    n_weights : int
        The number of weights: ``flat[:n_weights]`` are the penalised parameters.
    """

    def __init__(self, layer_sizes, activation="relu", fit_intercept=True, dropout=0.0):
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.activation = activation
        self.fit_intercept = fit_intercept
        self.dropout = dropout
        self.coefs = []
        self.intercepts = []

    @property
    def n_layers(self):
        return len(self.layer_sizes) - 1

    @property
    def shapes(self):
        """The shapes of the blocks of :attr:`flat`: the weights', then the biases'."""
        sizes = self.layer_sizes
        coefs = list(zip(sizes[:-1], sizes[1:], strict=True))
        return coefs + [(fan_out,) for fan_out in sizes[1:]]

    @property
    def n_weights(self):
        return sum(fan_in * fan_out for fan_in, fan_out in self.shapes[: self.n_layers])

    def _bind(self, flat):
        self.flat = flat
        views = _blocks(flat, self.shapes)
        self.coefs = views[: self.n_layers]
        self.intercepts = views[self.n_layers :]

    def __getstate__(self):
        # Views would be pickled as copies, detached from the flat array.
        state = dict(self.__dict__)
        del state["coefs"], state["intercepts"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind(self.flat)

    @property
    def params(self):
        """All parameter arrays, ``[W0, b0, W1, b1, ...]`` (views into ``flat``)."""
        params = []
        for coef, intercept in zip(self.coefs, self.intercepts, strict=True):
            params += [coef, intercept]
        return params

    @property
    def dtype(self):
        return self.coefs[0].dtype

    def initialize(self, dtype, random_state):
        """Draw fresh parameters.

        A linear model starts at zero, as scikit-learn's SGD does (its objective
        is convex, so the start does not matter). Hidden layers need broken symmetry:
        weights are uniform in ``+-sqrt(factor / (fan_in + fan_out))`` (Glorot),
        with ``factor`` 2 for the logistic activation and 6 for the others, as in
        scikit-learn's MLP; biases start at zero. He's larger scale for relu
        (``factor`` 12) trained worse here: on ``make_regression(1000, 20)`` with 32
        relu units and Adam, test R^2 0.91 against 0.97 with Glorot's.
        """
        self._bind(np.zeros(sum(math.prod(s) for s in self.shapes), dtype=dtype))
        if self.n_layers > 1:
            factor = 2.0 if self.activation == "logistic" else 6.0
            for coef in self.coefs:
                bound = np.sqrt(factor / sum(coef.shape))
                coef[...] = random_state.uniform(-bound, bound, coef.shape)
        return self

    def allocate(self, n_rows, random_state=None):
        """Working buffers for batches of up to ``n_rows`` rows.

        With a ``random_state`` (a RandomState) the workspace is for training and
        its forward passes apply dropout.
        """
        return _Workspace(self, n_rows, self.dtype, random_state)

    def forward(self, X, workspace):
        """Raw outputs for the rows of ``X``, a view into ``workspace``."""
        n = X.shape[0]
        activate = ACTIVATIONS[self.activation][0]
        inputs = X
        for layer in range(self.n_layers - 1):
            pre = workspace.pre[layer][:n]
            _dot(inputs, self.coefs[layer], pre)
            pre += self.intercepts[layer]
            inputs = activate(pre, workspace.act[layer][:n])
            if workspace.dropout:
                inputs = self._drop(inputs, workspace, layer, n)
        raw = workspace.raw[:n]
        _dot(inputs, self.coefs[-1], raw)
        if self.fit_intercept:
            raw += self.intercepts[-1]
        return raw

    @staticmethod
    def _drop(activations, workspace, layer, n):
        """Zero a random share of the units and scale the rest, into ``kept``."""
        mask = workspace.mask[layer][:n]
        # The draws take the mask's dtype: a Generator fills float32 or float64.
        workspace.rng.random(out=mask, dtype=mask.dtype)
        rate = workspace.dropout
        # The mask holds 0 for dropped units and 1 / (1 - rate) for kept ones.
        np.greater_equal(mask, rate, out=mask)
        mask *= 1.0 / (1.0 - rate)
        return np.multiply(activations, mask, out=workspace.kept[layer][:n])

    def backward(self, X, grad_raw, workspace):
        """Gradients of ``sum(grad_raw * raw)`` with respect to every parameter.

        ``grad_raw`` is the derivative of the batch objective with respect to the raw
        outputs of the last ``forward`` call on the same ``X``. Fills
        ``workspace.flat_grad`` (laid out as :attr:`flat`) and returns its views in
        the order of :attr:`params`.
        """
        n = X.shape[0]
        derivative = ACTIVATIONS[self.activation][1]
        coef_grads, intercept_grads = workspace.coef_grads, workspace.intercept_grads
        delta = grad_raw
        hidden_outputs = workspace.kept if workspace.dropout else workspace.act
        for layer in range(self.n_layers - 1, -1, -1):
            inputs = X if layer == 0 else hidden_outputs[layer - 1][:n]
            _dot(inputs.T, delta, coef_grads[layer])
            if layer == self.n_layers - 1 and not self.fit_intercept:
                intercept_grads[layer].fill(0)
            else:
                np.dot(workspace.ones[:n], delta, out=intercept_grads[layer])
            if layer > 0:
                previous = workspace.delta[layer - 1][:n]
                np.dot(delta, self.coefs[layer].T, out=previous)
                if workspace.dropout:
                    previous *= workspace.mask[layer - 1][:n]
                derivative(
                    workspace.pre[layer - 1][:n], workspace.act[layer - 1][:n], previous
                )
                delta = previous
        grads = []
        for coef_grad, intercept_grad in zip(coef_grads, intercept_grads, strict=True):
            grads += [coef_grad, intercept_grad]
        return grads

    def predict_raw(self, X, batch_size=4096):
        """Raw outputs for all rows of ``X``, in blocks to bound the memory used."""
        out = np.empty((X.shape[0], self.layer_sizes[-1]), dtype=self.dtype)
        workspace = self.allocate(min(batch_size, max(X.shape[0], 1)))
        for start in range(0, X.shape[0], batch_size):
            stop = min(start + batch_size, X.shape[0])
            out[start:stop] = self.forward(X[start:stop], workspace)
        return out


def _dot(a, b, out):
    """``a @ b`` into ``out``, for dense or sparse ``a``."""
    if isinstance(a, np.ndarray):
        np.dot(a, b, out=out)
    else:
        out[...] = safe_sparse_dot(a, b, dense_output=True)
