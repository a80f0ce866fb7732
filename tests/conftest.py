"""Fixtures shared by the test modules, and hypothesis's settings."""

import pytest
from hypothesis import settings
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from skfit._training import _compiled_batches

# make test (``--hypothesis-profile=repeatable``) draws the same examples on every
# run, so that its verdict is the code's; pytest run by hand draws new ones (and
# replays the failures it found).
settings.register_profile("repeatable", derandomize=True, print_blob=True)


@pytest.fixture(scope="session")
def iris():
    """Iris with standardised features: 150 rows, 4 features, 3 classes."""
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def kernel_calls(monkeypatch):
    """Records the rows (X, or CSR's (data, indices, indptr)) of every call of the
    compiled epoch kernel: one call trains one epoch of a linear model."""
    calls = []
    kernel = _compiled_batches._train_epoch

    def counting(*args):
        calls.append(args[0])
        return kernel(*args)

    monkeypatch.setattr(_compiled_batches, "_train_epoch", counting)
    return calls
