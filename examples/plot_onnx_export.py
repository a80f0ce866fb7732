"""
Exporting a fitted pipeline to ONNX
===================================

``import skfit.onnx`` registers converters for skfit's estimators with
skl2onnx, so ``skl2onnx.to_onnx`` converts a pipeline that contains one. The
ONNX model runs in onnxruntime, or any ONNX runtime, without Python or skfit,
and gives the same labels and probabilities to float32 rounding.
"""

# requires: onnxruntime, skl2onnx
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skfit.onnx  # noqa: F401  (registers the converters)
from skfit import MLPClassifier

# %%
# Fit a pipeline
# --------------
# ONNX graphs usually compute in float32: train on float32 data so that skfit
# computes in float32 too.
X, y = load_breast_cancer(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
model = make_pipeline(
    StandardScaler(),
    MLPClassifier(
        hidden_layer_sizes=(16,),
        activation="gelu",
        learning_rate=0.01,
        early_stopping=True,
        random_state=0,
    ),
)
model.fit(X_train, y_train)
print("stop reason:", model[-1].stop_reason_, "after", model[-1].n_epochs_, "epochs")

# %%
# Convert and save
# ----------------
# ``zipmap=False`` gives the probabilities as one tensor rather than a list of
# dictionaries.
onx = to_onnx(model, X_train[:1], options={"zipmap": False})
path = Path(tempfile.gettempdir()) / "skfit_pipeline.onnx"
path.write_bytes(onx.SerializeToString())
print("inputs:", [i.name for i in onx.graph.input])
print("outputs:", [o.name for o in onx.graph.output])

# %%
# Score with onnxruntime
# ----------------------
session = ort.InferenceSession(path)
labels, proba = session.run(None, {"X": X_test})
print("labels agree:", np.mean(labels == model.predict(X_test)))
print(
    "largest probability difference:", np.abs(proba - model.predict_proba(X_test)).max()
)
print(f"accuracy: {np.mean(labels == y_test):.3f}")

# %%
# The probabilities of both, row by row: on the diagonal to float32 rounding.
fig, ax = plt.subplots()
ax.scatter(model.predict_proba(X_test)[:, 1], proba[:, 1], s=10)
ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
ax.set(xlabel="skfit predict_proba", ylabel="onnxruntime", title="P(class 1)")
