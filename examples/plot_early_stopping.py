"""
Early stopping
==============

A flexible model trained for many epochs learns its training rows ever better,
noise included: past some epoch the loss on rows it does not train on rises
again. With ``early_stopping=True`` skfit holds out a validation share
(``validation_fraction``), watches its loss every epoch, stops once that loss has
not improved for ``n_iter_no_change`` epochs, and restores the parameters of the
best epoch (``best_epoch_``).
"""

# %%
# Noisy data (15% of the labels flipped) and an unregularised multilayer
# perceptron, first without early stopping. A validation share is held out all
# the same, so that the history records the validation loss.
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skfit import MLPClassifier, diagnose
from skfit.plotting import LossCurveDisplay

X, y = make_classification(
    n_samples=400, n_features=20, n_informative=5, flip_y=0.15, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

params = {
    "hidden_layer_sizes": (64,),
    "alpha": 0.0,
    "learning_rate": 0.01,
    "validation_fraction": 0.2,
    "random_state": 0,
}
long = MLPClassifier(max_epochs=150, tol=None, **params).fit(X_train, y_train)
print(f"without early stopping: {long.n_epochs_} epochs")

# %%
# Diagnosing from the history finds where the validation loss began to rise.
diagnosis = diagnose(long)
print(diagnosis.verdict, "from epoch", diagnosis.rise_epoch)

# %%
# The same model with early stopping.
early = MLPClassifier(early_stopping=True, **params).fit(X_train, y_train)
print(
    f"with early stopping: stop_reason_={early.stop_reason_!r} after "
    f"{early.n_epochs_} epochs, parameters of epoch {early.best_epoch_} restored"
)

# %%
# On held-out test rows the two classify about as well, but the long run's
# probabilities have grown overconfident: its test log-loss is much worse.
for name, model in [("150 epochs", long), ("early stopping", early)]:
    print(
        f"{name:>15}: test accuracy {model.score(X_test, y_test):.3f}, "
        f"test log-loss {log_loss(y_test, model.predict_proba(X_test)):.3f}"
    )

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
LossCurveDisplay.from_estimator(long, ax=axes[0], name="150 epochs")
LossCurveDisplay.from_estimator(early, ax=axes[1], name="early stopping")
