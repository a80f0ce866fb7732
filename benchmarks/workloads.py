"""The benchmark's data sets, each a training share, a test share and an objective.

Every maker returns a :class:`Workload`: the training data the contenders fit, a
test share drawn from the same distribution (a fifth as many rows) on which the
test score is measured, and the objective all contenders are judged by (skfit's:
mean loss plus ``alpha / 2 * |W|^2``; ``alpha == 0`` means no penalty).
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

#: Test rows drawn per training row.
TEST_SHARE = 0.2
#: No workload shrinks below this many training rows, whatever ``--scale``.
MIN_ROWS = 200

#: Full-size training shapes (rows, features) of the linear workloads.
SHAPES = {
    "regression": (200_000, 100),
    "binary": (200_000, 100),
    "multiclass": (100_000, 50),
    "sparse": (200_000, 10_000),
}
#: skfit's ``alpha`` per workload (0: ``penalty=None``).
ALPHAS = {"regression": 0.0, "binary": 1e-4, "multiclass": 1e-4, "sparse": 1e-5}
#: scikit-learn's MLP default ``alpha``; skfit's equivalent is this over n_rows.
SKLEARN_MLP_ALPHA = 1e-4
#: The density of the sparse, text-like workload.
SPARSE_DENSITY = 0.001


@dataclass
class Workload:
    """Training and test data with the objective every contender is judged by."""

    name: str
    description: str
    task: str  # "regression" or "classification"
    model: str  # "linear" or "mlp"
    loss: str  # "squared_error" or "log_loss" (skfit's names)
    alpha: float  # skfit's penalty strength; 0 means penalty=None
    X: object
    y: np.ndarray
    X_test: object
    y_test: np.ndarray
    classes: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.task == "classification":
            self.classes = np.unique(self.y)

    @property
    def n_rows(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_outputs(self):
        """Columns of the linear model's raw output (W has this many columns)."""
        if self.task == "regression" or len(self.classes) == 2:
            return 1
        return len(self.classes)

    @property
    def is_sparse(self):
        return sp.issparse(self.X)

    @property
    def input_bytes(self):
        """Memory held by the training data itself (features and targets)."""
        return data_bytes(self.X) + self.y.nbytes

    def shape_text(self):
        kind = "dense"
        if self.is_sparse:
            kind = f"CSR, density {self.X.nnz / np.prod(self.X.shape):.2g}"
        return f"{self.n_rows:,} x {self.n_features:,} {kind}"


def data_bytes(X):
    """Bytes of a dense array or of a CSR matrix's three arrays."""
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def scaled_rows(n_rows, scale):
    """``n_rows`` shrunk by ``scale``, never below :data:`MIN_ROWS`."""
    return max(int(round(n_rows * scale)), MIN_ROWS)


def test_rows(n_rows):
    return max(int(round(n_rows * TEST_SHARE)), MIN_ROWS // 2)


# ---------------------------------------------------------------- raw data
def regression_data(n_rows, n_features, seed):
    """make_regression with noise (R^2 about 0.9); y scaled to unit variance.

    The noise keeps the optimum away from zero, so "within 1% of the optimum"
    is a meaningful target; the unit-variance target suits every contender's
    default learning rate (as a StandardScaler in front would).
    """
    X, y = make_regression(
        n_rows, n_features, n_informative=10, noise=60.0, random_state=seed
    )
    return X, (y - y.mean()) / y.std()


def classification_data(n_rows, n_features, n_classes, seed):
    """make_classification with a fifth of the features informative."""
    n_informative = max(n_features // 5, 4)
    return make_classification(
        n_rows,
        n_features,
        n_informative=n_informative,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )


def sparse_text_data(n_rows, n_features, seed):
    """Text-like CSR features with a planted linear rule for a binary target.

    ``scipy.sparse.random`` draws about ``density * n_features`` non-zero values in
    [0, 1) per row (a bag of words with weights); the label is the sign of a
    hidden linear score plus noise, so a linear model can learn it.
    """
    rng = np.random.default_rng(seed)
    X = sp.random(
        n_rows, n_features, density=SPARSE_DENSITY, format="csr", random_state=rng
    )
    w = rng.standard_normal(n_features)
    score = X @ w
    noise = 0.3 * score.std() * rng.standard_normal(n_rows)
    return X, (score + noise > 0).astype(np.int64)


def split(X, y, n_train):
    """The first ``n_train`` rows for training, the rest for the test score."""
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


# ---------------------------------------------------------------- workloads
def make_linear_workload(name, n_rows, seed=0):
    """One of the linear workloads of :data:`SHAPES` with ``n_rows`` training rows."""
    n_features = SHAPES[name][1]
    total = n_rows + test_rows(n_rows)
    if name == "regression":
        X, y = regression_data(total, n_features, seed)
        task, loss, description = "regression", "squared_error", "make_regression"
    elif name == "sparse":
        X, y = sparse_text_data(total, n_features, seed)
        task, loss = "classification", "log_loss"
        description = "sparse text-like, planted linear rule, binary"
    else:
        n_classes = 2 if name == "binary" else 5
        X, y = classification_data(total, n_features, n_classes, seed)
        task, loss = "classification", "log_loss"
        description = f"make_classification, {n_classes} classes"
    X_train, y_train, X_test, y_test = split(X, y, n_rows)
    return Workload(
        name=name,
        description=description,
        task=task,
        model="linear",
        loss=loss,
        alpha=ALPHAS[name],
        X=X_train,
        y=y_train,
        X_test=X_test,
        y_test=y_test,
    )


def make_digits_workload(task="classification", seed=0):
    """load_digits (pixels scaled to [0, 1]) for the MLPs; not shrunk by --scale.

    For regression the target is the digit as a number, scaled to unit variance:
    a timing workload for MLPRegressor on the same inputs.
    """
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if task == "regression":
        y = (y - y.mean()) / y.std()
        stratify, loss, name = None, "squared_error", "digits-regression"
    else:
        stratify, loss, name = y, "log_loss", "digits"
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=stratify
    )
    return Workload(
        name=name,
        description=f"load_digits, MLP {task}",
        task=task,
        model="mlp",
        loss=loss,
        alpha=SKLEARN_MLP_ALPHA / X_train.shape[0],
        X=np.ascontiguousarray(X_train),
        y=y_train,
        X_test=np.ascontiguousarray(X_test),
        y_test=y_test,
    )


def subset(workload, n_rows):
    """The workload restricted to its first ``n_rows`` training rows."""
    return Workload(
        name=workload.name,
        description=workload.description,
        task=workload.task,
        model=workload.model,
        loss=workload.loss,
        alpha=workload.alpha,
        X=workload.X[:n_rows],
        y=workload.y[:n_rows],
        X_test=workload.X_test,
        y_test=workload.y_test,
    )


# ---------------------------------------------------------------- bundled data
#: The datasets bundled with scikit-learn: loader and task.
BUNDLED = {
    "diabetes": (load_diabetes, "regression"),
    "linnerud": (load_linnerud, "regression"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "digits": (load_digits, "classification"),
    "wine": (load_wine, "classification"),
    "iris": (load_iris, "classification"),
}
#: skfit's default penalty: l2 with this alpha.
DEFAULT_ALPHA = 1e-4


def bundled_data(name):
    """``(X, y, task)`` of a dataset bundled with scikit-learn, as loaded."""
    loader, task = BUNDLED[name]
    X, y = loader(return_X_y=True)
    return X, y, task


def training_workload(name, X, y, task, alpha=DEFAULT_ALPHA, loss=None):
    """All of ``(X, y)`` as training data, the features standardised as a
    ``StandardScaler`` in a pipeline would, with skfit's default penalty: for
    judging how close a fit comes to the optimum of its training objective (the
    test share is the training data; no test score is read)."""
    X = StandardScaler().fit_transform(X)
    if loss is None:
        loss = "squared_error" if task == "regression" else "log_loss"
    return Workload(
        name=name,
        description=name,
        task=task,
        model="linear",
        loss=loss,
        alpha=alpha,
        X=X,
        y=y,
        X_test=X,
        y_test=y,
    )
