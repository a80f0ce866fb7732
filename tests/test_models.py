"""Network: backward() against finite differences, for linear and hidden-layer
networks, every activation, dense and CSR input, float32 and float64."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import erf

from skfit._models import Network

ACTIVATION_NAMES = ["relu", "tanh", "logistic", "identity", "gelu"]

# Independent definitions of the activations, for the forward-pass check.
REFERENCE_ACTIVATIONS = {
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "identity": lambda z: z,
    "gelu": lambda z: z * 0.5 * (1.0 + erf(z / np.sqrt(2.0))),
}


def make_network(layer_sizes, activation="relu", fit_intercept=True, seed=0):
    """A network with random (not zero) weights and biases in float64."""
    network = Network(layer_sizes, activation=activation, fit_intercept=fit_intercept)
    network.initialize(np.float64, np.random.RandomState(seed))
    rng = np.random.default_rng(seed + 100)
    for coef in network.coefs:
        coef[...] = rng.normal(size=coef.shape)
    for intercept in network.intercepts:
        intercept[...] = rng.normal(size=intercept.shape)
    if not fit_intercept:
        network.intercepts[-1][...] = 0.0
    return network


def make_data(n_rows, n_features, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0.0
        return sp.csr_matrix(X)
    return X


def reference_forward(network, X):
    """``raw`` written out independently of Network.forward."""
    activate = REFERENCE_ACTIVATIONS[network.activation]
    a = X.toarray() if sp.issparse(X) else np.asarray(X)
    for layer in range(network.n_layers - 1):
        a = activate(a @ network.coefs[layer] + network.intercepts[layer])
    raw = a @ network.coefs[-1]
    if network.fit_intercept:
        raw = raw + network.intercepts[-1]
    return raw


def objective(network, X, G):
    workspace = network.allocate(X.shape[0])
    return float(np.sum(G * network.forward(X, workspace)))


def finite_difference_gradients(network, X, G, h=1e-6):
    grads = []
    for param in network.params:
        grad = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            plus = objective(network, X, G)
            param[index] = saved - h
            minus = objective(network, X, G)
            param[index] = saved
            grad[index] = (plus - minus) / (2 * h)
        grads.append(grad)
    return grads


def backward_gradients(network, X, G):
    workspace = network.allocate(X.shape[0])
    network.forward(X, workspace)
    return [g.copy() for g in network.backward(X, G.copy(), workspace)]


def check_gradients(network, X, seed=0):
    G = np.random.default_rng(seed + 7).normal(
        size=(X.shape[0], network.layer_sizes[-1])
    )
    grads = backward_gradients(network, X, G)
    expected = finite_difference_gradients(network, X, G)
    assert len(grads) == len(expected) == 2 * network.n_layers
    for i, (grad, reference) in enumerate(zip(grads, expected, strict=True)):
        assert grad.shape == reference.shape, i
        assert_allclose(grad, reference, rtol=1e-6, atol=1e-6, err_msg=f"param {i}")
    return grads


# ------------------------------------------------------------ linear networks
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_linear_backward_matches_finite_differences(fit_intercept, n_outputs, sparse):
    network = make_network((4, n_outputs), fit_intercept=fit_intercept)
    X = make_data(9, 4, sparse=sparse)
    grads = check_gradients(network, X)
    if not fit_intercept:
        # No output bias: its gradient is zero (it does not enter the output).
        assert_array_equal(grads[1], 0.0)


def test_linear_backward_is_the_closed_form():
    network = make_network((5, 2))
    X = make_data(8, 5)
    G = np.random.default_rng(1).normal(size=(8, 2))
    grad_w, grad_b = backward_gradients(network, X, G)
    assert_allclose(grad_w, X.T @ G, rtol=1e-13)
    assert_allclose(grad_b, G.sum(axis=0), rtol=1e-13)


def test_linear_network_starts_at_zero():
    network = Network((3, 2)).initialize(np.float64, np.random.RandomState(0))
    assert_array_equal(network.coefs[0], np.zeros((3, 2)))
    assert_array_equal(network.intercepts[0], np.zeros(2))


# ------------------------------------------------------------ hidden layers
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hidden_layer_backward_matches_finite_differences(activation, fit_intercept):
    network = make_network((3, 5, 4, 2), activation, fit_intercept)
    X = make_data(6, 3, seed=3)
    check_gradients(network, X)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_hidden_layer_backward_with_csr_input(activation):
    network = make_network((4, 6, 2), activation)
    X = make_data(7, 4, seed=5, sparse=True)
    grads = check_gradients(network, X)
    dense = backward_gradients(network, X.toarray(), _G(network, X))
    sparse = backward_gradients(network, X, _G(network, X))
    for g_dense, g_sparse in zip(dense, sparse, strict=True):
        assert_allclose(g_sparse, g_dense, rtol=1e-12, atol=1e-12)
    assert len(grads) == 4


def _G(network, X):
    return np.random.default_rng(11).normal(size=(X.shape[0], network.layer_sizes[-1]))


# ------------------------------------------------------------ forward
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_forward_matches_the_written_out_network(activation, fit_intercept, sparse):
    network = make_network((4, 5, 3), activation, fit_intercept, seed=2)
    X = make_data(10, 4, seed=2, sparse=sparse)
    X_before = X.copy()
    raw = network.forward(X, network.allocate(10))
    assert_allclose(raw, reference_forward(network, X), rtol=1e-12, atol=1e-12)
    # X is never modified.
    if sparse:
        assert_array_equal(X.toarray(), X_before.toarray())
    else:
        assert_array_equal(X, X_before)


def test_forward_with_fewer_rows_than_the_workspace():
    network = make_network((3, 4, 2), "tanh")
    X = make_data(5, 3)
    workspace = network.allocate(32)
    assert_allclose(network.forward(X, workspace), reference_forward(network, X))
    G = _G(network, X)
    grads = [g.copy() for g in network.backward(X, G.copy(), workspace)]
    for grad, expected in zip(grads, backward_gradients(network, X, G), strict=True):
        assert_allclose(grad, expected, rtol=1e-13)


@pytest.mark.parametrize("layer_sizes", [(4, 2), (4, 6, 3, 2)])
@pytest.mark.parametrize("sparse", [False, True])
def test_predict_raw_matches_forward(layer_sizes, sparse):
    network = make_network(layer_sizes, "gelu")
    X = make_data(23, 4, seed=4, sparse=sparse)
    expected = network.forward(X, network.allocate(23)).copy()
    # A block size that does not divide the rows exercises the last partial block.
    for batch_size in (5, 23, 4096):
        raw = network.predict_raw(X, batch_size=batch_size)
        assert raw.shape == (23, layer_sizes[-1])
        assert_allclose(raw, expected, rtol=1e-13, atol=1e-13)
    assert_allclose(expected, reference_forward(network, X), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------ float32
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_stays_float32(activation, sparse):
    network64 = make_network((4, 5, 2), activation)
    network32 = Network((4, 5, 2), activation=activation)
    network32.initialize(np.float32, np.random.RandomState(0))
    for p32, p64 in zip(network32.params, network64.params, strict=True):
        assert p32.dtype == np.float32
        p32[...] = p64
    X64 = make_data(8, 4, sparse=sparse)
    X32 = X64.astype(np.float32)
    G = _G(network64, X64)
    workspace = network32.allocate(8)
    raw32 = network32.forward(X32, workspace)
    assert raw32.dtype == np.float32
    grads32 = network32.backward(X32, G.astype(np.float32), workspace)
    grads64 = backward_gradients(network64, X64, G)
    for g32, g64 in zip(grads32, grads64, strict=True):
        assert g32.dtype == np.float32
        assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)
    predicted = network32.predict_raw(X32, batch_size=3)
    assert predicted.dtype == np.float32
    assert_allclose(predicted, reference_forward(network64, X64), rtol=1e-4, atol=1e-4)


def test_initialize_float32_for_a_linear_network():
    network = Network((3, 1)).initialize(np.float32, np.random.RandomState(0))
    assert network.dtype == np.float32
    assert all(p.dtype == np.float32 for p in network.params)


def test_initialize_breaks_symmetry_and_is_seeded():
    a = Network((4, 8, 2), "tanh").initialize(np.float64, np.random.RandomState(3))
    b = Network((4, 8, 2), "tanh").initialize(np.float64, np.random.RandomState(3))
    for pa, pb in zip(a.params, b.params, strict=True):
        assert_array_equal(pa, pb)
    # Hidden units differ from one another, and hidden biases start at zero.
    assert len(np.unique(a.coefs[0], axis=1)) > 1
    assert np.unique(a.coefs[0].T, axis=0).shape[0] == 8
    assert_array_equal(a.intercepts[0], 0.0)
