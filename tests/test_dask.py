"""skfit on Dask: out-of-core training with skfit.dask.fit_incremental, searches on
a distributed cluster through joblib's dask backend, and dask-ml's Incremental."""

import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skfit import (
    GDClassifier,
    GDRegressor,
    LossSpikeError,
    LossSpikeWarning,
    MLPClassifier,
    MLPRegressor,
)
from skfit.callbacks import Callback
from skfit.history import Spike

da = pytest.importorskip(
    "dask.array", reason='the dask extra is not installed: pip install "skfit[dask]"'
)
distributed = pytest.importorskip(
    "distributed", reason='the dask extra is not installed: pip install "skfit[dask]"'
)
psutil = pytest.importorskip("psutil", reason="psutil comes with distributed")

import dask  # noqa: E402

from skfit.dask import fit_incremental  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

HOST = "127.0.0.1"


# ---------------------------------------------------------------- the cluster
@pytest.fixture(scope="session")
def cluster():
    """Two single-threaded worker processes, everything on the loopback address."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host=HOST,
        dashboard_address=f"{HOST}:0",
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    # Not the default scheduler: only the tests that name the client use it.
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        yield client


@pytest.fixture(scope="module")
def iris_scaled():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _search_results(search):
    """The parts of cv_results_ that do not depend on timing."""
    results = search.cv_results_
    return {
        key: value
        for key, value in results.items()
        if "time" not in key and key != "params"
    }, results["params"]


def _assert_same_search(serial, parallel):
    (serial_scores, serial_params), (scores, params) = (
        _search_results(serial),
        _search_results(parallel),
    )
    assert params == serial_params
    assert serial_scores.keys() == scores.keys()
    for key, value in serial_scores.items():
        assert_array_equal(np.asarray(scores[key]), np.asarray(value), err_msg=key)
    assert parallel.best_params_ == serial.best_params_


def test_grid_search_on_the_cluster_equals_the_serial_search(client, iris_scaled):
    X, y = iris_scaled
    grid = {"alpha": [1e-4, 1e-2], "learning_rate": [0.01, 0.1], "batch_size": [16]}
    search = GridSearchCV(
        GDClassifier(max_epochs=20, random_state=0), grid, cv=3, n_jobs=-1
    )
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask", client=client),
    ):
        search.fit(X, y)
    _assert_same_search(serial, search)
    # The candidates were fitted by both worker processes.
    workers = {task["worker"] for task in tasks.data}
    assert workers == set(client.scheduler_info()["workers"])


def test_randomized_search_of_a_pipeline_on_the_cluster(client):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 3)) * [1.0, 10.0, 100.0]
    y = np.sin(X[:, 0]) + X[:, 1] / 10 + 0.1 * rng.normal(size=240)
    model = make_pipeline(
        StandardScaler(), MLPRegressor(hidden_layer_sizes=(8,), max_epochs=15)
    )
    distributions = {
        "mlpregressor__learning_rate": [0.001, 0.01, 0.03],
        "mlpregressor__activation": ["relu", "tanh", "gelu"],
        "mlpregressor__random_state": [0, 1],
    }
    search = RandomizedSearchCV(
        model, distributions, n_iter=4, cv=KFold(3), random_state=0, n_jobs=-1
    )
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask", client=client):
        search.fit(X, y)
    _assert_same_search(serial, search)


class PidRecorder(Callback):
    """Remembers the process that trained the estimator and the epochs it heard."""

    def on_train_begin(self, estimator):
        self.pid_ = os.getpid()
        self.epochs_ = []

    def on_epoch_end(self, estimator, record):
        self.epochs_.append(record["epoch"])


def test_estimators_callbacks_and_histories_travel_to_workers_and_back(
    client, iris_scaled
):
    X, y = iris_scaled
    model = GDClassifier(max_epochs=8, tol=None, callbacks=[PidRecorder()])
    model.set_params(random_state=0)
    cv = KFold(4, shuffle=True, random_state=0)
    serial = cross_validate(model, X, y, cv=cv, return_estimator=True)
    with joblib.parallel_backend("dask", client=client):
        remote = cross_validate(model, X, y, cv=cv, return_estimator=True, n_jobs=-1)
    assert_array_equal(remote["test_score"], serial["test_score"])
    worker_pids = set(client.run(os.getpid).values())
    pids = set()
    for here, there in zip(serial["estimator"], remote["estimator"], strict=True):
        recorder = there.callbacks[0]
        pids.add(recorder.pid_)
        assert recorder.epochs_ == list(range(1, 9))
        assert len(there.history_) == 8
        for key in ("epoch", "loss", "learning_rate", "grad_norm", "n_spikes"):
            assert_array_equal(there.history_[key], here.history_[key])
        assert_array_equal(there.history_.batch_loss, here.history_.batch_loss)
        assert_array_equal(there.coef_, here.coef_)
    # Every fold was trained in a worker process, and both workers trained.
    assert pids == worker_pids
    assert os.getpid() not in pids


def test_errors_raised_on_workers_reach_the_caller(client, iris_scaled):
    X, y = iris_scaled
    search = GridSearchCV(
        GDClassifier(), {"learning_rate": [0.1, -1.0]}, cv=2, error_score="raise"
    )
    with (
        joblib.parallel_backend("dask", client=client),
        pytest.raises(InvalidParameterError, match="learning_rate"),
    ):
        search.fit(X, y)


def _loss_spike_error_round_trips():
    spike = Spike(1, 2, 10.0, 1.0, 10.0, np.arange(3), 3)
    try:
        pickle.loads(pickle.dumps(LossSpikeError(spike)))
    except Exception:  # its __init__ is called again with the message alone
        return False
    return True


def test_a_loss_spike_error_on_a_worker_reaches_the_caller(client):
    # Checked on the workers first: tblib, which dask imports, changes how pickle
    # treats exceptions, so the answer depends on the process, and without a round
    # trip the search below would wait forever for an error it cannot read.
    assert all(client.run(_loss_spike_error_round_trips).values())
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = X @ [1.0, 2.0, 3.0]
    y[300:310] *= 1e4
    model = GDRegressor(batch_size=10, shuffle=False, spike_policy="raise")
    with (
        joblib.parallel_backend("dask", client=client),
        pytest.raises(LossSpikeError) as caught,
    ):
        cross_validate(model, X, y, cv=KFold(2), n_jobs=-1, error_score="raise")
    assert caught.value.spike.n_samples == 10


def test_the_cluster_listens_on_the_loopback_address_only(cluster, client):
    assert cluster.scheduler_address.startswith(f"tcp://{HOST}:")
    assert all(
        address.startswith(f"tcp://{HOST}:")
        for address in client.scheduler_info()["workers"]
    )
    this = psutil.Process()
    listening = [
        connection.laddr.ip
        for process in [this, *this.children(recursive=True)]
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    # The scheduler (and dashboard, when bokeh is installed) and every worker.
    assert len(listening) >= 3
    assert set(listening) == {HOST}


# ------------------------------------------------------------ fit_incremental
def _lazy_classification(n_samples, chunk, seed):
    """A lazily generated binary problem: nothing is computed until asked."""
    rng = da.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 5), chunks=(chunk, 5))
    noise = rng.normal(scale=0.5, size=n_samples, chunks=chunk)
    y = (X @ da.from_array(np.array([1.0, -2.0, 0.5, 0.0, 1.5])) + noise > 0).astype(
        int
    )
    return X, y


@pytest.mark.parametrize(
    "estimator",
    [
        GDClassifier(batch_size=200, random_state=0),
        MLPClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, random_state=0),
    ],
    ids=["GDClassifier", "MLPClassifier"],
)
def test_fit_incremental_reaches_the_score_of_an_in_memory_fit(estimator):
    X, y = _lazy_classification(48_000, 6_000, seed=0)
    X_test, y_test = dask.compute(*_lazy_classification(10_000, 10_000, seed=1))
    in_memory = clone(estimator).set_params(max_epochs=4, tol=None)
    in_memory.fit(*dask.compute(X, y))
    incremental = fit_incremental(clone(estimator), X, y, epochs=4, random_state=0)
    assert incremental.n_epochs_ == in_memory.n_epochs_ == 4
    expected = in_memory.score(X_test, y_test)
    assert expected > 0.85
    assert incremental.score(X_test, y_test) > expected - 0.01


def _blocks_in_order(X, y, chunk):
    starts = range(0, X.shape[0], chunk)
    return [(X[s : s + chunk], y[s : s + chunk]) for s in starts]


def test_fit_incremental_is_partial_fit_block_by_block_with_one_record_per_pass():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 3))
    y = X @ [1.0, -1.0, 2.0] + 0.1 * rng.normal(size=1000)
    chunks = (300, 300, 300, 100)
    est = GDRegressor(batch_size=64, random_state=0)
    fit_incremental(
        est,
        da.from_array(X, chunks=(chunks, 3)),
        da.from_array(y, chunks=(chunks,)),
        epochs=2,
        shuffle_blocks=False,
    )
    # The reference: partial_fit on each block, in order, on a clone.
    reference = clone(est)
    for _ in range(2):
        for start, stop in zip((0, 300, 600, 900), (300, 600, 900, 1000), strict=True):
            reference.partial_fit(X[start:stop], y[start:stop])
    assert_array_equal(est.coef_, reference.coef_)
    assert_array_equal(est.intercept_, reference.intercept_)
    assert est.t_ == reference.t_ == 2 * (5 + 5 + 5 + 2)
    assert est.n_epochs_ == est.n_iter_ == len(est.history_) == 2
    assert_array_equal(est.history_["epoch"], [1, 2])
    assert_array_equal(est.history_.batch_loss, reference.history_.batch_loss)
    assert_array_equal(est.history_.batch_epoch, np.repeat([1, 2], 17))
    # A pass's counts add up its blocks' (17 batches, none of them non-finite).
    for key in ("n_batches", "n_nonfinite", "n_spikes"):
        block_counts = reference.history_[key].reshape(2, 4)
        assert_array_equal(est.history_[key], block_counts.sum(axis=1), err_msg=key)
    assert_array_equal(est.history_["n_batches"], [17, 17])
    # alpha="auto" is partial_fit's: the same strength for every block.
    assert est.alpha_ == reference.alpha_ == 1e-4
    # The pass loss is the row-weighted mean of its block losses...
    block_losses = reference.history_["loss"].reshape(2, 4)
    assert_allclose(est.history_["loss"], block_losses @ np.array(chunks) / 1000)
    # ...that is, the weighted mean of its batch losses (stored in float32).
    batch_sizes = np.tile(np.r_[[64] * 4, 44, [64] * 4, 44, [64] * 4, 44, 64, 36], 2)
    for epoch in (1, 2):
        losses = est.history_.batch_loss[est.history_.batch_epoch == epoch]
        weights = batch_sizes[est.history_.batch_epoch == epoch]
        assert_allclose(
            est.history_["loss"][epoch - 1], np.average(losses, weights=weights), 1e-6
        )
    assert np.all(est.history_["duration"] > 0)
    assert est.stop_reason_ == "max_epochs" and not est.converged_
    assert est.best_epoch_ == 1 + int(np.argmin(est.history_["loss"]))
    assert est.best_loss_ == est.history_["loss"].min()
    # A second call continues the parameters and the history.
    fit_incremental(est, da.from_array(X, chunks=300), da.from_array(y, chunks=300))
    assert_array_equal(est.history_["epoch"], [1, 2, 3])


def test_fit_incremental_shuffles_blocks_reproducibly():
    X, y = _lazy_classification(4000, 500, seed=0)

    def train(seed):
        est = GDClassifier(batch_size=100, random_state=0)
        return fit_incremental(est, X, y, epochs=2, random_state=seed)

    first, again, other = train(0), train(0), train(1)
    assert_array_equal(first.coef_, again.coef_)
    assert_array_equal(first.history_["loss"], again.history_["loss"])
    assert not np.array_equal(first.coef_, other.coef_)
    # Unshuffled blocks are a different order again.
    est = GDClassifier(batch_size=100, random_state=0)
    unshuffled = fit_incremental(est, X, y, epochs=2, shuffle_blocks=False)
    assert not np.array_equal(first.coef_, unshuffled.coef_)


def _data_with_bad_rows():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(6000, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.1 * rng.normal(size=6000)
    bad = np.arange(4210, 4226)
    y[bad] *= 1e3
    return X, y, bad


def test_fit_incremental_numbers_spikes_in_the_whole_collection():
    X, y, bad = _data_with_bad_rows()
    # Without a penalty a spike's loss is its batch's objective, to find it by.
    est = GDRegressor(batch_size=16, learning_rate=0.01, penalty=None, random_state=0)
    with pytest.warns(LossSpikeWarning, match="fit_incremental") as caught:
        fit_incremental(
            est,
            da.from_array(X, chunks=(1000, 4)),
            da.from_array(y, chunks=1000),
            epochs=2,
            random_state=0,
        )
    # One warning for the whole call, not one per block.
    assert len([w for w in caught if w.category is LossSpikeWarning]) == 1
    assert est.spikes_
    history = est.history_
    assert_array_equal(
        history["n_spikes"], np.bincount([s.epoch for s in est.spikes_])[1:]
    )
    for spike in est.spikes_:
        assert spike.epoch in (1, 2)
        # The batch number is the batch's position in its pass...
        losses = history.batch_loss[history.batch_epoch == spike.epoch]
        assert losses[spike.batch] == np.float32(spike.loss)
        # ...and the rows are rows of the whole collection: those of the block
        # that holds the bad rows, and the worst spikes hold bad rows. The
        # culprits are rows of their batch, numbered alike.
        assert np.all((spike.sample_indices >= 4000) & (spike.sample_indices < 5000))
        assert np.all((spike.batch_indices >= 4000) & (spike.batch_indices < 5000))
        assert np.isin(spike.sample_indices, spike.batch_indices).all()
    worst = max(est.spikes_, key=lambda spike: spike.ratio)
    assert np.intersect1d(worst.sample_indices, bad).size > 0


def test_fit_incremental_spike_error_names_collection_rows_and_changes_nothing():
    X, y, bad = _data_with_bad_rows()
    Xd, yd = da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000)
    est = GDRegressor(batch_size=16, random_state=0, spike_policy="raise")
    with pytest.raises(LossSpikeError) as caught:
        fit_incremental(est, Xd, yd, shuffle_blocks=False)
    spike = caught.value.spike
    assert spike.epoch == 1
    assert np.intersect1d(spike.sample_indices, bad).size > 0
    # Four blocks of 63 batches came before the one that failed.
    assert spike.batch >= 4 * 63
    assert str(spike.sample_indices[0]) in str(caught.value)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    # A fitted estimator keeps its parameters and history when a call fails.
    clean = slice(0, 4000)
    est.set_params(spike_policy="ignore")
    fit_incremental(est, Xd[clean], yd[clean], shuffle_blocks=False)
    coef, history = est.coef_.copy(), est.history_["loss"]
    est.set_params(spike_policy="raise")
    with pytest.raises(LossSpikeError):
        fit_incremental(est, Xd, yd, shuffle_blocks=False)
    assert_array_equal(est.coef_, coef)
    assert_array_equal(est.history_["loss"], history)
    assert est.spike_policy == "raise" and est.callbacks is None


def test_fit_incremental_on_a_dataframe_equals_the_array():
    dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe needs pandas")
    import pandas as pd

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(target=y)
    ddf = dd.from_pandas(frame, npartitions=3, sort=True)
    lengths = ddf.map_partitions(len).compute().tolist()
    est = GDClassifier(random_state=0)
    fit_incremental(
        est, ddf[["a", "b", "c", "d"]], ddf["target"], epochs=3, random_state=0
    )
    assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d"])
    assert_array_equal(est.classes_, [0, 1, 2])
    reference = GDClassifier(random_state=0)
    arrays = (
        da.from_array(X, chunks=(tuple(lengths), 4)),
        da.from_array(y, chunks=(tuple(lengths),)),
    )
    fit_incremental(reference, *arrays, epochs=3, random_state=0)
    # A dataframe's values are column-major: products may round differently.
    assert_allclose(est.coef_, reference.coef_, rtol=1e-12, atol=1e-14)
    assert_allclose(est.history_["loss"], reference.history_["loss"], rtol=1e-12)


def test_fit_incremental_stops_when_a_block_diverges():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 3)) * 1e3  # unscaled, for a rate far too large
    y = X @ [1.0, 2.0, 3.0]
    est = GDRegressor(
        optimizer="sgd", learning_rate=1.0, batch_size=50, spike_policy="ignore"
    )
    with pytest.warns(ConvergenceWarning, match="Training diverged") as caught:
        fit_incremental(
            est.set_params(random_state=0),
            da.from_array(X, chunks=1000),
            da.from_array(y, chunks=1000),
            epochs=3,
        )
    assert est.stop_reason_ == "diverged" and not est.converged_
    assert est.n_epochs_ == 1
    assert np.all(np.isfinite(est.coef_))
    # The warning points at the call, as fit's does.
    diverged = [w for w in caught if "diverged" in str(w.message)]
    assert [w.filename for w in diverged] == [__file__]


class Recorder(Callback):
    def __init__(self, stop_at=None):
        self.stop_at = stop_at

    def on_train_begin(self, estimator):
        self.log_ = [("begin",)]

    def on_batch_end(self, estimator, batch_record):
        self.log_.append(("batch", batch_record["epoch"], batch_record["batch"]))

    def on_epoch_end(self, estimator, record):
        self.log_.append(("epoch", record["epoch"], record["loss"]))
        return self.stop_at is not None and record["epoch"] >= self.stop_at

    def on_train_end(self, estimator):
        self.log_.append(("end",))


def test_fit_incremental_callbacks_hear_passes_and_may_stop(iris_scaled):
    X, y = iris_scaled
    recorder = Recorder(stop_at=2)
    est = GDClassifier(batch_size=25, random_state=0, callbacks=[recorder])
    Xd, yd = da.from_array(X, chunks=(50, 4)), da.from_array(y, chunks=50)
    fit_incremental(est, Xd, yd, epochs=5, random_state=0)
    assert est.stop_reason_ == "callback" and est.n_epochs_ == 2
    log = recorder.log_
    assert log[0] == ("begin",) and log[-1] == ("end",)
    # Six batches per pass, numbered within the pass, then one epoch record.
    expected = []
    for epoch in (1, 2):
        expected += [("batch", epoch, b) for b in range(6)]
        expected.append(("epoch", epoch, est.history_["loss"][epoch - 1]))
    assert log[1:-1] == expected
    # The estimator gets its own callbacks back.
    assert est.callbacks == [recorder]


class InterruptAt(Callback):
    def __init__(self, epoch=2, batch=3):
        self.epoch = epoch
        self.batch = batch

    def on_batch_end(self, estimator, batch_record):
        if (batch_record["epoch"], batch_record["batch"]) == (self.epoch, self.batch):
            raise KeyboardInterrupt


def test_fit_incremental_keeps_what_was_trained_when_interrupted(iris_scaled):
    X, y = iris_scaled
    est = GDClassifier(batch_size=25, random_state=0, callbacks=[InterruptAt(2, 3)])
    Xd, yd = da.from_array(X, chunks=(50, 4)), da.from_array(y, chunks=50)
    with pytest.raises(KeyboardInterrupt):
        fit_incremental(est, Xd, yd, epochs=5, random_state=0)
    assert est.stop_reason_ == "interrupted"
    # The partial second pass is one record, of the four batches trained.
    assert est.n_epochs_ == 2
    assert est.t_ == 6 + 4
    assert_array_equal(est.history_.batch_epoch, [1] * 6 + [2] * 4)
    assert est.predict(X).shape == (150,)


def test_fit_incremental_verbose_output(iris_scaled, capsys):
    pytest.importorskip("tqdm", reason="the progress bar needs tqdm")
    X, y = iris_scaled
    Xd, yd = da.from_array(X, chunks=(50, 4)), da.from_array(y, chunks=50)
    fit_incremental(GDClassifier(random_state=0, verbose=2), Xd, yd, epochs=3)
    out = capsys.readouterr().out
    assert [line.split("|")[0].split() for line in out.splitlines()] == [
        ["epoch", "1"],
        ["epoch", "2"],
        ["epoch", "3"],
    ]
    est = fit_incremental(GDClassifier(random_state=0, verbose=1), Xd, yd, epochs=2)
    err = capsys.readouterr().err
    assert "6/6" in err and "block" in err
    assert est.verbose == 1 and "_bar" not in est.__dict__
    pickle.dumps(est)


def test_fit_incremental_rejects_what_it_cannot_train(iris_scaled):
    X, y = iris_scaled
    Xd, yd = da.from_array(X, chunks=50), da.from_array(y, chunks=50)
    with pytest.raises(TypeError, match="dask array or dask dataframe"):
        fit_incremental(GDClassifier(), X, y)
    with pytest.raises(TypeError, match="y must be one too"):
        fit_incremental(GDClassifier(), Xd, y)
    with pytest.raises(ValueError, match="150 rows but y has 100"):
        fit_incremental(GDClassifier(), Xd, yd[:100])
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_incremental(GDClassifier(), Xd, yd, epochs=0)
    with pytest.raises(TypeError, match="skfit estimators"):
        fit_incremental(StandardScaler(), Xd, yd)


def test_fit_incremental_with_the_cluster_computing_the_blocks(client):
    X, y = _lazy_classification(6000, 1000, seed=0)
    local = fit_incremental(GDClassifier(random_state=0), X, y, random_state=0)
    with dask.config.set(scheduler=client.get):
        remote = fit_incremental(GDClassifier(random_state=0), X, y, random_state=0)
    assert_array_equal(remote.coef_, local.coef_)
    assert_array_equal(remote.history_["loss"], local.history_["loss"])


MEMORY_PROBE = """
import tracemalloc
import dask
import dask.array as da
from sklearn.base import clone
from skfit import GDRegressor
from skfit.dask import fit_incremental

n_rows, n_features, block = {n_rows}, {n_features}, {block}
rng = da.random.default_rng(0)
X = rng.normal(size=(n_rows, n_features), chunks=(block, n_features))
y = X @ da.ones(n_features) + 1.0
est = GDRegressor(batch_size=500, learning_rate=0.05, random_state=0)
# A first call on two blocks loads what later calls reuse (the compiled loop).
fit_incremental(clone(est), X[: 2 * block], y[: 2 * block])
tracemalloc.start()
fit_incremental(est, X, y)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(peak, est.score(*dask.compute(X[-block:], y[-block:])))
"""


def test_fit_incremental_memory_is_bounded_by_a_block_not_the_collection():
    n_rows, n_features, block = 300_000, 16, 10_000
    block_bytes = block * n_features * 8
    # A block, dask's intermediate results, the estimator's working arrays: a few
    # blocks (about 3 are seen), never the collection.
    bound = 6 * block_bytes
    collection_bytes = n_rows * n_features * 8
    assert collection_bytes == 5 * bound
    code = MEMORY_PROBE.format(n_rows=n_rows, n_features=n_features, block=block)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    peak, score = result.stdout.split()
    # Python's and numpy's allocations at their peak, while training on the
    # collection, stay within a few blocks.
    assert int(peak) < bound, f"peak {int(peak) / 2**20:.1f} MiB"
    # And it trained: the noise-free linear model is found.
    assert float(score) > 0.999


# ------------------------------------------------------------------ dask-ml
def test_dask_ml_incremental_trains_skfit_estimators():
    wrappers = pytest.importorskip(
        "dask_ml.wrappers", reason="dask-ml is optional: pip install dask-ml"
    )
    X, y = _lazy_classification(6000, 1000, seed=0)
    model = wrappers.Incremental(
        GDClassifier(batch_size=100, random_state=0), scoring="accuracy"
    )
    model.fit(X, y, classes=[0, 1])
    fitted = model.estimator_
    # One partial_fit call, one history record, per block.
    assert fitted.n_epochs_ == 6
    X_np, y_np = dask.compute(X, y)
    assert_array_equal(model.predict(X).compute(), fitted.predict(X_np))
    assert_allclose(model.predict_proba(X).compute(), fitted.predict_proba(X_np))
    assert model.score(X, y) == pytest.approx(fitted.score(X_np, y_np))
    assert model.score(X, y) > 0.85
