"""
Finding bad rows through ``spikes_``
====================================

A loss spike is a batch whose loss jumps far above the recent batch losses. Either
the learning rate overcorrected, or the batch held rows unlike the rest: a wrong
label, a unit error, a corrupted record. skfit records every spike in ``spikes_``
with row numbers (``sample_indices``, positions in the ``X`` passed to ``fit``):
the rows whose own loss stood out, or the batch's rows when none did. Bad rows
spike in every epoch, whichever batch shuffling puts them in, so counting the rows
over all spikes points at them.
"""

# %%
# A regression with three corrupted targets, rows 17, 402 and 655.
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_regression
from sklearn.preprocessing import StandardScaler

from skfit import GDRegressor
from skfit.plotting import LossCurveDisplay

X, y = make_regression(n_samples=800, n_features=8, noise=20, random_state=0)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()
y[[17, 402, 655]] += [6, -6, 5]

# %%
# ``spike_policy`` says what a spike does: "warn" (the default) warns once per
# fit, "skip" withholds the batch's update, "rollback" returns to the last clean
# epoch with half the rate, "raise" stops with an error. Here "ignore": the
# spikes are only recorded.
est = GDRegressor(batch_size=16, spike_policy="ignore", random_state=0).fit(X, y)
print(f"{len(est.spikes_)} spikes in {est.n_epochs_} epochs; the first two:")
for spike in est.spikes_[:2]:
    print(f"  {spike}")

# %%
# Count how often each spike named each row. The corrupted rows were named in
# every one of their epochs; an ordinary row only when a spike named a whole
# batch, before the per-row check had warmed up. (``skfit.suspect_rows`` makes
# this count from the rows the per-row check named.)
counts = Counter(int(row) for spike in est.spikes_ for row in spike.sample_indices)
print(counts.most_common(6))
# The suspects: the rows named in most epochs.
suspects = [row for row, count in counts.items() if count > est.n_epochs_ / 2]
print(f"suspects: {sorted(suspects)}")

# %%
# Every batch's loss is in ``history_.batch_loss``: the spikes stand out by two
# orders of magnitude.
batch_loss = est.history_.batch_loss
fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
ax.semilogy(batch_loss, lw=0.8, label="batch loss")
n_batches = len(batch_loss) // est.n_epochs_
where = [(s.epoch - 1) * n_batches + s.batch for s in est.spikes_]
ax.semilogy(where, batch_loss[where], "x", color="C3", label="spikes")
ax.set_xlabel("batch")
ax.set_ylabel("loss")
ax.legend()

# %%
# Without the suspects, training runs clean and the loss ends ten times lower.
keep = np.setdiff1d(np.arange(len(y)), suspects)
clean = GDRegressor(batch_size=16, spike_policy="ignore", random_state=0)
clean.fit(X[keep], y[keep])
print(f"without the suspects: {len(clean.spikes_)} spikes")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
LossCurveDisplay.from_estimator(est, ax=axes[0], name="all rows")
LossCurveDisplay.from_estimator(clean, ax=axes[1], name="suspects removed")
