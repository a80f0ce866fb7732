"""
Loss curves and stop reasons
============================

Every skfit fit records its loss per epoch in ``history_`` and ends by one named
stopping condition, reported in ``stop_reason_``. Here the same classifier is
trained four times, each time with another condition set to fire first, and
:class:`~skfit.plotting.LossCurveDisplay` draws each run.
"""

# %%
# The data: scikit-learn's breast cancer set, standardised, as gradient descent
# likes its features.
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier
from skfit.plotting import LossCurveDisplay

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)

# %%
# Four stopping conditions
# ------------------------
#
# - ``max_epochs``: the epoch budget runs out (``tol=None`` asks for exactly that
#   many epochs);
# - ``tol``: the training loss has not improved by ``tol`` for
#   ``n_iter_no_change`` epochs;
# - ``loss_threshold``: the training loss reached a level we set;
# - ``early_stopping``: the loss on a held-out validation share has stopped
#   improving, and the parameters of its best epoch are restored.
settings = {
    "max_epochs": {"max_epochs": 15, "tol": None},
    "tol": {"tol": 1e-3},
    "loss_threshold": {"loss_threshold": 0.1},
    "early_stopping": {"early_stopping": True, "validation_fraction": 0.2},
}
fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
for ax, (name, params) in zip(axes.flat, settings.items(), strict=True):
    est = GDClassifier(random_state=0, **params).fit(X, y)
    print(
        f"{name:>14}: stop_reason_={est.stop_reason_!r} after {est.n_epochs_} "
        f"epochs, converged_={est.converged_}, best_epoch_={est.best_epoch_}"
    )
    LossCurveDisplay.from_estimator(est, ax=ax, name=f"stopped by {name}")

# %%
# ``converged_`` is True for the rules that mean the optimum is near (``tol``,
# ``loss_threshold``, ``early_stopping``). Under early stopping the training loss
# (blue) keeps falling, but the validation loss (orange) no longer does; the
# dashed line marks the epoch whose parameters were kept.
#
# The history behind a curve
# --------------------------
#
# ``history_`` holds one record per epoch: its text form shows the last ones,
# ``history_["loss"]`` is a column, and ``to_frame()`` a pandas DataFrame.
print(est.history_)
print(est.history_["val_loss"][:5])
