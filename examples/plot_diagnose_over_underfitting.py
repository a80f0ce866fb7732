"""
Diagnosing over- and underfitting with ``diagnose`` and ``GridSearchCV``
========================================================================

A model **underfits** when it cannot fit even the rows it learns from: training
and validation scores are both poor. It **overfits** when it fits its training
rows much better than new ones. :func:`skfit.diagnose` tells them apart from a
learning curve (scikit-learn's :func:`~sklearn.model_selection.learning_curve` on a
clone of the model, compared with a dummy model), or from a fitted estimator's
``history_``, and returns a verdict with its evidence and advice. The advice names
the estimator's own hyperparameters, ready for a
:class:`~sklearn.model_selection.GridSearchCV`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfit import GDRegressor, MLPRegressor, diagnose

sizes = np.linspace(0.3, 1.0, 3)

# %%
# Underfitting: a straight line through a sine
# ---------------------------------------------
rng = np.random.RandomState(0)
X_sine = rng.uniform(-3, 3, size=(200, 1))
y_sine = np.sin(2 * X_sine[:, 0]) + 0.1 * rng.normal(size=200)

line = GDRegressor(random_state=0)
under = diagnose(line, X_sine, y_sine, cv=3, train_sizes=sizes, random_state=0)
print(under)

# %%
# The advice is a more flexible model. A small multilayer perceptron can bend.
mlp = MLPRegressor(
    hidden_layer_sizes=(32,), learning_rate=0.01, max_epochs=500, random_state=0
)
bent = diagnose(mlp, X_sine, y_sine, cv=3, train_sizes=sizes, random_state=0)
print(bent.verdict, f"(validation R² {bent.validation_score:.3f})")

# %%
# Overfitting: more features than the data can pin down
# -----------------------------------------------------
# 60 rows, 50 features of which one matters, and no penalty (``alpha=0``).
# Full-batch gradient descent with a tight ``tol`` trains each fit to its optimum,
# so that the search below compares penalties, not how far each fit got.
X_wide = rng.normal(size=(60, 50))
y_wide = X_wide[:, 0] + 0.5 * rng.normal(size=60)
exact = {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": None, "tol": 1e-6}
wide = make_pipeline(
    StandardScaler(),
    GDRegressor(alpha=0.0, max_epochs=1000, random_state=0, **exact),
)
over = diagnose(wide, X_wide, y_wide, cv=3, train_sizes=sizes, random_state=0)
print(over)

# %%
# The advice names ``gdregressor__alpha``: search it, with the l2 penalty and
# with the l1 penalty, which can set the weights of useless features to zero.
grid = {
    "gdregressor__penalty": ["l2", "l1"],
    "gdregressor__alpha": np.logspace(-3, 0, 4),
}
search = GridSearchCV(wide, grid, cv=3).fit(X_wide, y_wide)
print(f"best: {search.best_params_}, R² {search.best_score_:.3f}")
print(f"non-zero weights: {np.count_nonzero(search.best_estimator_[-1].coef_)} of 50")
tuned = diagnose(
    search.best_estimator_, X_wide, y_wide, cv=3, train_sizes=sizes, random_state=0
)
print(tuned)

# %%
# The l1 penalty won: it kept the one useful feature and zeroed most others. The
# validation R² rose from below zero to about 0.74, close to the 0.8 that the
# noise allows, and the gap between training and validation scores shrank more
# than tenfold. What remains is small data: 40 training rows for 50 features.

# %%
# The learning curves behind the verdicts: training score (blue), validation
# score (orange), the dummy model's score (dashed).
fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
for ax, (name, result) in zip(
    axes.flat,
    [
        ("line on a sine", under),
        ("MLP on a sine", bent),
        ("alpha=0, 50 features", over),
        ("alpha tuned", tuned),
    ],
    strict=True,
):
    result.plot(ax=ax, name=name)
