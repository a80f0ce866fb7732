"""
Choosing a learning rate with ``find_learning_rate``
====================================================

The learning rate is the size of each gradient step. :func:`skfit.find_learning_rate`
runs a range test: a clone of the estimator trains while the rate grows
exponentially, one batch at a time, and the loss of every batch is recorded. The
loss stays flat while the rate is too small to move the parameters, falls, and
then rises once the rate overshoots; the suggestion is in the middle of the fall.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier, find_learning_rate
from skfit.plotting import LossCurveDisplay

X, y = load_breast_cancer(return_X_y=True)
model = make_pipeline(StandardScaler(), GDClassifier(optimizer="sgd", random_state=0))

# %%
# The range test works on the pipeline: its leading steps are fitted first, and
# the test runs on the transformed data. The estimator passed in is not changed.
result = find_learning_rate(model, X, y)
print(result)
result.plot()

# %%
# The suggestion is for this optimizer and batch size. Plain SGD at the default
# rate of 0.01 crawls; at the suggested rate it converges in far fewer epochs.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
for ax, rate in zip(axes, [0.01, result.suggestion], strict=True):
    model.set_params(gdclassifier__learning_rate=rate, gdclassifier__max_epochs=500)
    model.fit(X, y)
    est = model[-1]
    print(
        f"learning_rate={rate:.3g}: stop_reason_={est.stop_reason_!r} after "
        f"{est.n_epochs_} epochs, final loss {est.history_['loss'][-1]:.4f}"
    )
    LossCurveDisplay.from_estimator(est, ax=ax, name=f"learning_rate={rate:.3g}")
