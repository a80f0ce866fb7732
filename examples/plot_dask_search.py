"""
A grid search on a Dask cluster
===============================

scikit-learn's searches run their fits through joblib; under
``joblib.parallel_backend("dask")`` each fit becomes a task on a Dask cluster.
skfit estimators, their callbacks and their histories travel to the workers and
back, and the search finds what a serial search finds, score for score.

This example starts a small cluster inside this process (threads, so that it
runs anywhere, including a documentation build). On a real cluster, start a
scheduler and workers and connect to the scheduler's address instead::

    dask scheduler --port 8786                               # on the scheduler
    dask worker tcp://scheduler.example.org:8786 --nthreads 1   # on each worker

    client = Client("tcp://scheduler.example.org:8786")

In a script, create a cluster of worker *processes* (``LocalCluster()``) under
``if __name__ == "__main__":``, as multiprocessing requires.
"""

# requires: dask, distributed
import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfit import MLPClassifier
from skfit.plotting import LossCurveDisplay

X, y = load_digits(return_X_y=True)
model = make_pipeline(
    StandardScaler(), MLPClassifier(max_epochs=30, tol=None, random_state=0)
)
grid = {
    "mlpclassifier__hidden_layer_sizes": [(16,), (64,)],
    "mlpclassifier__learning_rate": [0.001, 0.01],
}
search = GridSearchCV(model, grid, cv=3, n_jobs=-1)

# %%
# Run the search on the cluster
# -----------------------------
cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)
with joblib.parallel_backend("dask"):
    search.fit(X, y)
print("best:", search.best_params_, f"{search.best_score_:.3f}")

# %%
# The same search, one fit at a time
# ----------------------------------
serial = GridSearchCV(model, grid, cv=3, n_jobs=1).fit(X, y)
same = np.array_equal(
    serial.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
)
print("same scores as the serial search:", same)

# %%
# The best model's training record came back with it.
best = search.best_estimator_[-1]
print(best.history_.to_frame()[["loss"]].tail(3))
client.close()
cluster.close()

# %%
# Its loss curve, drawn from the history that travelled back from the worker.
LossCurveDisplay.from_estimator(search.best_estimator_)
