"""The estimators compared on each workload, configured for one objective.

Every contender minimises the workload's objective (same loss, same penalty in
skfit's units), so their training objectives can be compared directly:

* skfit, linear: four batch configurations, otherwise skfit's defaults (Adam,
  ``learning_rate=0.01``, ``tol=1e-4``);
* scikit-learn SGDRegressor / SGDClassifier with their defaults but the loss and
  penalty of the objective (SGDClassifier is one-vs-rest for 5 classes);
* the exact solver, LinearRegression or LogisticRegression(solver="lbfgs") with
  its defaults;
* MLPs (digits): skfit's MLPClassifier / MLPRegressor, when skfit has them,
  configured as scikit-learn's defaults are, against scikit-learn's.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor

import skfit

# isort: split
from objective import exact_solver

SEED = 0
#: The MLPs' hidden layers (scikit-learn's default).
HIDDEN_LAYER_SIZES = (100,)
#: skfit's batch configurations: label -> (batch_size, shuffle).
SKFIT_BATCHING = {
    "full batch": (None, False),
    "mini-batch 256": (256, False),
    "shuffled mini-batch 1024": (1024, True),
    "defaults (shuffled 32)": (32, True),
}


@dataclass
class Contender:
    """One configured, unfitted estimator and how to read its figures."""

    label: str
    library: str  # "skfit" or "scikit-learn"
    family: str  # "skfit", "sgd", "exact" or "mlp"
    estimator: object

    @property
    def is_skfit(self):
        return self.library == "skfit"

    @property
    def has_epochs(self):
        """Whether the estimator trains in epochs (the exact solvers do not)."""
        return self.family != "exact"

    def batch_size(self, n_rows):
        """Rows per update, or None where there are no batches."""
        if self.family == "sgd":
            return 1
        if self.family == "exact":
            return None
        size = self.estimator.get_params().get("batch_size")
        if isinstance(size, str):  # scikit-learn's MLP: "auto"
            size = 200
        return n_rows if size is None else min(size, n_rows)

    def batches_per_epoch(self, n_rows):
        size = self.batch_size(n_rows)
        return None if size is None else -(-n_rows // size)


def settable(estimator, **params):
    """``estimator`` with those of ``params`` it accepts (skfit's API may grow)."""
    names = estimator.get_params()
    return estimator.set_params(**{k: v for k, v in params.items() if k in names})


# ---------------------------------------------------------------- linear
def skfit_linear(workload, batch_size, shuffle):
    cls = skfit.GDRegressor if workload.task == "regression" else skfit.GDClassifier
    return cls(
        loss=workload.loss,
        penalty="l2" if workload.alpha else None,
        alpha=workload.alpha,
        batch_size=batch_size,
        shuffle=shuffle,
        random_state=SEED,
    )


def sgd(workload):
    cls = SGDRegressor if workload.task == "regression" else SGDClassifier
    return cls(
        loss=workload.loss,
        penalty="l2" if workload.alpha else None,
        alpha=workload.alpha,
        random_state=SEED,
    )


def linear_contenders(workload):
    contenders = [
        Contender(f"skfit {label}", "skfit", "skfit", skfit_linear(workload, *batching))
        for label, batching in SKFIT_BATCHING.items()
    ]
    sgd_estimator = sgd(workload)
    exact = exact_solver(workload)
    contenders.append(
        Contender(type(sgd_estimator).__name__, "scikit-learn", "sgd", sgd_estimator)
    )
    exact_label = type(exact).__name__
    if exact_label == "LogisticRegression":
        exact_label += "(lbfgs)"
    contenders.append(Contender(exact_label, "scikit-learn", "exact", exact))
    return contenders


# ---------------------------------------------------------------- MLP
def skfit_mlp_class(workload):
    """skfit's MLP for the workload's task, or None while skfit has none."""
    name = "MLPRegressor" if workload.task == "regression" else "MLPClassifier"
    return getattr(skfit, name, None)


def skfit_mlp(workload):
    """skfit's MLP set up as scikit-learn's defaults (Adam 1e-3, batches of 200)."""
    estimator = skfit_mlp_class(workload)()
    return settable(
        estimator,
        hidden_layer_sizes=HIDDEN_LAYER_SIZES,
        activation="relu",
        penalty="l2",
        alpha=workload.alpha,
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=200,
        shuffle=True,
        random_state=SEED,
    )


def sklearn_mlp(workload):
    cls = MLPRegressor if workload.task == "regression" else MLPClassifier
    # scikit-learn's alpha is divided by the number of rows in its objective.
    alpha = workload.alpha * workload.n_rows
    return cls(hidden_layer_sizes=HIDDEN_LAYER_SIZES, alpha=alpha, random_state=SEED)


def mlp_contenders(workload):
    contenders = []
    if skfit_mlp_class(workload) is not None:
        estimator = skfit_mlp(workload)
        label = f"skfit {type(estimator).__name__}"
        contenders.append(Contender(label, "skfit", "mlp", estimator))
    estimator = sklearn_mlp(workload)
    contenders.append(
        Contender(type(estimator).__name__, "scikit-learn", "mlp", estimator)
    )
    return contenders


def contenders_for(workload):
    if workload.model == "mlp":
        return mlp_contenders(workload)
    return linear_contenders(workload)


# ---------------------------------------------------------------- variants
def fixed_epochs(contender, n_epochs):
    """A fresh copy that trains exactly ``n_epochs`` epochs (no tolerance stop)."""
    estimator = clone(contender.estimator)
    if contender.is_skfit:
        return settable(estimator, max_epochs=n_epochs, tol=None, early_stopping=False)
    if contender.family == "sgd":
        return estimator.set_params(max_iter=n_epochs, tol=None)
    if contender.family == "mlp":
        return estimator.set_params(max_iter=n_epochs, tol=0.0, n_iter_no_change=np.inf)
    raise ValueError(f"{contender.label} does not train in epochs")


def as_configured(contender):
    """A fresh copy with the contender's own stopping rules."""
    return clone(contender.estimator)
