"""
``partial_fit`` on data streamed in chunks
==========================================

When the data do not fit in memory, or arrive over time, train one chunk at a
time. Each ``partial_fit`` call runs one epoch over the chunk it is given and
appends one record to ``history_``; ``n_epochs_`` counts the calls since the
parameters were initialised. Classifiers need the full list of ``classes`` on
the first call, since a chunk may lack some.
"""

# %%
# A stream of 40 chunks of 250 rows each. Here a generator makes them; in
# practice they come from ``pandas.read_csv(..., chunksize=250)``, a database
# cursor or a message queue.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier

X_all, y_all = make_classification(
    n_samples=11_000, n_features=20, n_informative=8, n_classes=3, random_state=0
)
X_all[:, :5] *= 100  # features on different scales, as raw data often are
X_test, y_test = X_all[10_000:], y_all[10_000:]


def stream(chunk_size=250):
    for start in range(0, 10_000, chunk_size):
        yield X_all[start : start + chunk_size], y_all[start : start + chunk_size]


# %%
# The scaler learns the features' means and spreads chunk by chunk too
# (``StandardScaler.partial_fit``), so no pass over all the data is needed.
scaler = StandardScaler()
model = GDClassifier(batch_size=32, random_state=0)
test_accuracy = []
for X_chunk, y_chunk in stream():
    scaler.partial_fit(X_chunk)
    model.partial_fit(scaler.transform(X_chunk), y_chunk, classes=[0, 1, 2])
    test_accuracy.append(model.score(scaler.transform(X_test), y_test))

print(f"{model.n_epochs_} partial_fit calls, {model.t_} updates")
print(model.history_)

# %%
# The loss of each call (on its chunk, before that chunk's updates) falls as the
# model sees more of the stream, and the accuracy on held-out rows rises.
fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
ax.plot(model.history_["epoch"], model.history_["loss"], label="loss on the chunk")
ax.set_xlabel("partial_fit call (chunk)")
ax.set_ylabel("loss")
accuracy_ax = ax.twinx()
accuracy_ax.plot(
    np.arange(1, len(test_accuracy) + 1),
    test_accuracy,
    color="C1",
    label="test accuracy",
)
accuracy_ax.set_ylabel("test accuracy")
fig.legend(loc="center right")

# %%
# Each call is one epoch with no validation split, tolerance or early stopping:
# the stopping conditions of ``fit`` do not apply, and ``stop_reason_`` is
# 'max_epochs' after every call. Call ``partial_fit`` on the stream again for a
# second pass. For dask arrays, :mod:`skfit.dask` does this block by block.
print(model.stop_reason_)
