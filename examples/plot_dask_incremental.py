"""
Training on a Dask array larger than memory
===========================================

:func:`skfit.dask.fit_incremental` trains a skfit estimator on a ``dask.array``
one row block at a time, through ``partial_fit``: only one block is ever in
memory, however large the array. The data here are generated lazily, block by
block, when training asks for them; nothing is stored anywhere.

The example uses 200,000 rows so that it runs in seconds; set ``N_ROWS`` to
2,000,000 (or more: memory does not grow with it) for the size the user guide
describes. The estimator's records read as if ``fit`` had seen the whole array:
one ``history_`` record per pass, every batch's loss, and loss spikes whose rows
are row numbers in the whole array.
"""

# requires: dask, distributed
import dask.array as da
import numpy as np
from sklearn.metrics import accuracy_score

from skfit import GDClassifier
from skfit.dask import fit_incremental
from skfit.plotting import LossCurveDisplay

N_ROWS = 200_000  # 2_000_000 for the guide's size
BLOCK = 50_000
N_FEATURES = 20

# %%
# A lazily generated problem
# --------------------------
# Each block of ``X`` is drawn when it is computed, and ``y`` is a function of
# the same block: computing one block of both draws the block once.
rng = da.random.default_rng(0)
X = rng.normal(size=(N_ROWS, N_FEATURES), chunks=(BLOCK, N_FEATURES))
weights = da.from_array(np.linspace(-1.0, 1.0, N_FEATURES))
noise = rng.normal(scale=0.5, size=N_ROWS, chunks=BLOCK)
y = (X @ weights + noise > 0).astype(np.int64)
print(f"X: {X.nbytes / 2**20:.0f} MiB in {X.numblocks[0]} blocks of {BLOCK} rows")

# %%
# Three passes over the array
# ---------------------------
# ``classes`` is left out: fit_incremental finds them with one pass over ``y``.
# ``verbose=1`` would show a progress bar over the blocks.
clf = GDClassifier(batch_size=500, learning_rate=0.01, random_state=0)
fit_incremental(clf, X, y, epochs=3, random_state=0)

print(clf.history_.to_frame()[["loss", "learning_rate", "duration", "n_spikes"]])
print(f"{len(clf.history_.batch_loss)} batch losses, {clf.t_} updates")
print("stop reason:", clf.stop_reason_)

# %%
# Scoring on fresh rows
# ---------------------
# Prediction is ordinary scikit-learn: compute a test block and score it.
X_test = rng.normal(size=(20_000, N_FEATURES), chunks=(20_000, N_FEATURES))
y_test = (X_test @ weights > 0).astype(np.int64)
X_test, y_test = da.compute(X_test, y_test)
print(f"test accuracy: {accuracy_score(y_test, clf.predict(X_test)):.3f}")

# %%
# The loss per pass
# -----------------
# One record per pass over the whole array, as ``fit`` keeps one per epoch.
LossCurveDisplay.from_estimator(clf)
