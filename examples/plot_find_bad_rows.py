"""
Find the bad rows behind loss spikes
====================================

A few wrong values in a training set can cost a model much of its accuracy, and
they are hard to see in the data. skfit watches every row's loss as it trains:
a row whose own loss stands far out of the recent rows' makes its batch a loss
spike, and the spike's record names it. This example plants bad targets in
scikit-learn's diabetes data, finds them through ``spikes_`` and
:func:`skfit.suspect_rows`, fixes them, and trains again.
"""

# %%
# Data with a few wrong targets
# -----------------------------
# The diabetes data measure disease progression a year after baseline, a number
# between 25 and 346. Five training targets get a digit too many (multiplied by
# 10), as a typing error would do. Gradient descent wants targets of a modest
# scale, so the targets are standardised (with the wrong values in them: we do
# not know yet that they are wrong).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfit import GDRegressor, suspect_rows
from skfit.plotting import LossCurveDisplay

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
rng = np.random.default_rng(0)
planted = np.sort(rng.choice(len(y_train), 5, replace=False))
y_typed = y_train.copy()
y_typed[planted] *= 10
print("planted rows:", planted, "their targets:", y_typed[planted])


def fit(rows):
    """Train on the given training rows; return the model and the target scale."""
    location, scale = y_typed[rows].mean(), y_typed[rows].std()
    model = make_pipeline(StandardScaler(), GDRegressor(random_state=0))
    model.fit(X_train[rows], (y_typed[rows] - location) / scale)
    return model, location, scale


def test_score(model, location, scale):
    return r2_score(y_test, model.predict(X_test) * scale + location)


# %%
# Train, and read the spikes
# --------------------------
# Training warns about loss spikes (the default ``spike_policy="warn"``). Every
# record in ``spikes_`` names the rows of its batch whose own loss stood out, the
# *culprits*, with their losses; :func:`skfit.suspect_rows` gathers them per row,
# the rows named in most epochs first. Row numbers are positions in the ``X``
# passed to ``fit``.
all_rows = np.arange(len(y_train))
model, location, scale = fit(all_rows)
estimator = model[-1]
first = estimator.spikes_[0]
print(
    f"{len(estimator.spikes_)} spikes in {estimator.n_epochs_} epochs; the first, "
    f"epoch {first.epoch} batch {first.batch}, names rows {first.sample_indices} "
    f"(losses {first.culprit_losses}) of its {first.n_samples}"
)
suspects = suspect_rows(estimator)
print(suspects)
print(f"test R2 trained on the typed targets: {test_score(model, location, scale):.3f}")

# %%
# The loss curve marks the epochs with spikes, and rings those whose spikes named
# rows. The training loss stays high: the model bends towards the wrong targets.
LossCurveDisplay.from_estimator(model)

# %%
# Fix the rows and train again
# ----------------------------
# Look at the suspects' rows before deciding what to do with them: here their
# targets are ten times any other, so they are dropped (with the true values at
# hand, correcting them would be better still). Training again without them can
# bring out a row the worse ones hid: its loss now stands out from a model that
# fits the rest. Its row number is a position in the ``X`` of that fit, the kept
# rows.
kept = np.setdiff1d(all_rows, suspects.index)
model, location, scale = fit(kept)
again = suspect_rows(model[-1])
print(again)
print(f"test R2 without the first suspects: {test_score(model, location, scale):.3f}")

# %%
# The rows named in the second round are dropped too, and the model trained on
# the rest has no spikes left.
kept = np.setdiff1d(kept, kept[again.index])
model, location, scale = fit(kept)
found = np.setdiff1d(all_rows, kept)
print("rows dropped:", found, "planted:", planted)
print(f"spikes left: {len(model[-1].spikes_)}")
print(f"test R2 without the suspects: {test_score(model, location, scale):.3f}")
LossCurveDisplay.from_estimator(model)
plt.show()

# %%
# A wrong target is found when it lies far from what the other rows predict: a
# typed 250 where 25 belongs is within the range of the data, and no loss can tell
# it from a true 250. The per-row check is calibrated to stay quiet on clean data,
# so it names rows that are rare (well under 2% of the training set) and far out;
# the guide's section on loss spikes gives the measured rates.
