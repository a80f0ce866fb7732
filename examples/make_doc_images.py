"""Draw the images of the diagnostics user guide into docs/images/.

Run from the repository root: ``python examples/make_doc_images.py``.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skfit import GDClassifier, GDRegressor, diagnose, find_learning_rate
from skfit.plotting import LossCurveDisplay

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def decaying(t):
    """A learning-rate multiplier that decays as ``1 / (1 + t / 1000)``."""
    return 1 / (1 + t / 1000)


def loss_curve():
    """A regression fit on data with one corrupted row, which spikes every epoch."""
    X, y = make_regression(n_samples=800, n_features=8, noise=20, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    y[17] += 5  # a corrupted target
    est = GDRegressor(
        learning_rate=0.004,
        schedule=decaying,
        batch_size=16,
        validation_fraction=0.2,
        early_stopping=True,
        n_iter_no_change=10,
        tol=1e-5,
        spike_policy="skip",
        random_state=0,
    )
    est.fit(X, y)
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    LossCurveDisplay.from_estimator(est, ax=ax)
    fig.savefig(OUTPUT / "loss_curve.png", dpi=120)
    return est


def learning_rate_finder():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    result = find_learning_rate(model, X, y)
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    result.plot(ax=ax)
    fig.savefig(OUTPUT / "learning_rate_finder.png", dpi=120)
    return result


def diagnosis():
    """Ridge on polynomial features of growing degree: under, good, overfitting."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(100, 1))
    y = np.sin(1.5 * X[:, 0]) + 0.3 * rng.normal(size=100)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained", sharey=True)
    diagnoses = []
    for degree, ax in zip((1, 5, 25), axes, strict=True):
        model = make_pipeline(
            PolynomialFeatures(degree), StandardScaler(), Ridge(alpha=1e-10)
        )
        result = diagnose(
            model, X, y, cv=5, train_sizes=np.linspace(0.3, 1.0, 5), random_state=0
        )
        result.plot(ax=ax, name=f"degree {degree}")
        diagnoses.append(result)
    fig.savefig(OUTPUT / "diagnosis.png", dpi=110)
    return diagnoses


def main():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    est = loss_curve()
    print(
        f"loss curve: {len(est.spikes_)} spikes, best epoch {est.best_epoch_}; "
        "rows in every spiking batch: "
        f"{sorted(set.intersection(*(set(s.sample_indices) for s in est.spikes_)))}"
        if est.spikes_
        else "loss curve: no spikes"
    )
    result = learning_rate_finder()
    print(f"learning-rate finder: {result}")
    for result in diagnosis():
        print(f"diagnosis: {result!r}")
    print(f"images written to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
