"""
Too large versus too small a learning rate
==========================================

A gradient step moves the parameters by ``learning_rate`` times the gradient. Too
small a rate and training crawls: many epochs, and the budget may run out before
the optimum. Too large a rate and every step overshoots: the loss jumps from batch
to batch (loss spikes) or grows without bound (divergence). skfit names each case:
``stop_reason_`` is 'max_epochs' or 'diverged', ``spikes_`` lists the jumps, and a
diverged fit restores the best parameters it saw and warns with a smaller rate to
try.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_regression
from sklearn.preprocessing import StandardScaler

from skfit import GDRegressor
from skfit.plotting import LossCurveDisplay

X, y = make_regression(n_samples=500, n_features=10, noise=10, random_state=0)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()

# %%
# Plain SGD with batches of 32 at three rates: too small, about right, too large.
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
for ax, rate in zip(axes, [0.001, 0.1, 3.0], strict=True):
    est = GDRegressor(
        optimizer="sgd", learning_rate=rate, max_epochs=60, random_state=0
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    print(
        f"learning_rate={rate}: stop_reason_={est.stop_reason_!r} after "
        f"{est.n_epochs_} epochs, {len(est.spikes_)} spikes"
    )
    for warning in caught:
        print(f"  {type(warning.message).__name__}: {warning.message}")
    LossCurveDisplay.from_estimator(est, ax=ax, name=f"learning_rate={rate}")

# %%
# At 0.001 the loss is still falling when the 60 epochs run out: raise the rate,
# or the budget. At 0.1 it settles within a few epochs and the ``tol`` rule
# stops training. At 3.0 the steps overshoot and the loss explodes; training
# stops as 'diverged' and the warning names a rate to try. Between the last two,
# :func:`skfit.find_learning_rate` finds a good rate without this trial and error
# (see :ref:`sphx_glr_auto_examples_plot_find_learning_rate.py`).
