"""skfit estimators inside scikit-learn's tools: Pipeline, searches, cross-validation,
learning and validation curves, clone, pickle and joblib."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
    learning_curve,
    validation_curve,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skfit import GDClassifier, GDRegressor, MLPClassifier
from skfit.callbacks import Callback
from skfit.optimizers import Adam

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(
        n_samples=200, n_features=5, noise=5.0, bias=3.0, random_state=0
    )
    # Unscaled features: the pipeline's scaler matters.
    X = X * np.array([1.0, 10.0, 100.0, 0.1, 1000.0])
    return X, y


class CountingCallback(Callback):
    """A callback with a parameter; the call count is state, not a parameter."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at

    def on_epoch_end(self, estimator, record):
        self.calls_ = getattr(self, "calls_", 0) + 1
        return self.stop_at is not None and record["epoch"] >= self.stop_at


# ---------------------------------------------------------------- Pipeline
def test_classifier_in_pipeline(cancer):
    X, y = cancer
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    model.fit(X, y)
    assert model.score(X, y) > 0.95
    est = model[-1]
    assert est.n_features_in_ == 30
    assert len(est.history_) == est.n_epochs_ > 0
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 2)
    assert_array_equal(model.classes_, [0, 1])


def test_regressor_in_pipeline(regression):
    X, y = regression
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("gd", GDRegressor(learning_rate=0.5, random_state=0)),
        ]
    )
    model.fit(X, y)
    assert model.score(X, y) > 0.98
    assert model.predict(X).shape == (len(y),)
    # The pipeline's sample weights reach the estimator: it trains as it does on
    # the scaled rows with those weights.
    weights = np.ones(len(y))
    weights[:100] = 0.0
    model.fit(X, y, gd__sample_weight=weights)
    X_scaled = StandardScaler().fit_transform(X)
    direct = GDRegressor(learning_rate=0.5, random_state=0).fit(
        X_scaled, y, sample_weight=weights
    )
    assert_array_equal(model["gd"].coef_, direct.coef_)
    unweighted = GDRegressor(learning_rate=0.5, random_state=0).fit(X_scaled, y)
    assert not np.allclose(direct.coef_, unweighted.coef_)


def test_pipeline_set_params_reaches_the_estimator(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    model.set_params(gdclassifier__max_epochs=3, gdclassifier__tol=None)
    model.fit(X, y)
    assert model[-1].n_epochs_ == 3
    assert model[-1].stop_reason_ == "max_epochs"


# ---------------------------------------------------------------- searches
def test_grid_search_over_alpha_and_learning_rate(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    grid = {
        "gdclassifier__alpha": [1e-4, 1.0],
        "gdclassifier__learning_rate": [0.01, 0.1],
    }
    search = GridSearchCV(model, grid, cv=3).fit(X, y)
    # Each candidate scores as the estimator configured by hand does: the
    # parameters reach the fit, and the fits are repeatable.
    for params, score in zip(
        search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
    ):
        by_hand = cross_val_score(clone(model).set_params(**params), X, y, cv=3)
        assert score == pytest.approx(by_hand.mean(), abs=1e-12)
    assert search.best_score_ > 0.85
    # A strong penalty underfits: it must not win.
    assert search.best_params_["gdclassifier__alpha"] == 1e-4


def test_grid_search_regressor(regression):
    X, y = regression
    grid = {"gdregressor__learning_rate": [0.001, 0.3]}
    model = make_pipeline(StandardScaler(), GDRegressor(random_state=0, finish=None))
    search = GridSearchCV(model, grid, cv=3).fit(X, y)
    # On mini-batches alone, 200 epochs at 0.001 stop short of the solution...
    assert search.best_params_ == {"gdregressor__learning_rate": 0.3}
    assert search.best_score_ > 0.95
    scores = search.cv_results_["mean_test_score"]
    # ...and the quasi-Newton finish gets both rates there.
    model.set_params(gdregressor__finish="lbfgs")
    finished = GridSearchCV(model, grid, cv=3).fit(X, y)
    assert_allclose(finished.cv_results_["mean_test_score"], scores[1], rtol=1e-4)


def test_grid_search_over_optimizer_parameters(iris):
    X, y = iris
    adam = Adam()
    est = GDClassifier(optimizer=adam, random_state=0, max_epochs=20)
    search = GridSearchCV(
        est, {"optimizer__beta1": [0.5, 0.9]}, cv=3, scoring="neg_log_loss"
    ).fit(X, y)
    # Each candidate trains as an estimator given Adam(beta1=...) directly.
    scores = search.cv_results_["mean_test_score"]
    for beta1, score in zip([0.5, 0.9], scores, strict=True):
        by_hand = GDClassifier(
            optimizer=Adam(beta1=beta1), random_state=0, max_epochs=20
        )
        expected = cross_val_score(by_hand, X, y, cv=3, scoring="neg_log_loss")
        assert score == pytest.approx(expected.mean(), abs=1e-12)
    assert scores[0] != scores[1]
    # The object the user passed is neither changed nor shared with the candidates.
    assert search.best_estimator_.optimizer is not adam
    assert adam.get_params() == {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def test_optimizer_parameters_are_used(iris):
    X, y = iris
    params = {"random_state": 0, "max_epochs": 10, "tol": None}
    a = GDClassifier(optimizer=Adam(beta1=0.5), **params).fit(X, y)
    b = GDClassifier(optimizer=Adam(beta1=0.9), **params).fit(X, y)
    c = GDClassifier(optimizer="adam", **params).fit(X, y)
    assert not np.allclose(a.coef_, b.coef_)
    # Adam() with its defaults is the 'adam' string.
    assert_array_equal(b.coef_, c.coef_)
    # set_params with the nested name works as a search does it.
    d = GDClassifier(optimizer=Adam(), **params).set_params(optimizer__beta1=0.5)
    assert_array_equal(d.fit(X, y).coef_, a.coef_)


def test_randomized_search(cancer):
    X, y = cancer
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    distributions = {
        "gdclassifier__alpha": loguniform(1e-5, 1e-1),
        "gdclassifier__learning_rate": loguniform(1e-3, 1e-1),
    }
    search = RandomizedSearchCV(
        model, distributions, n_iter=4, cv=3, random_state=0
    ).fit(X, y)
    assert search.best_score_ > 0.93
    # Same seed, same candidates and scores.
    again = RandomizedSearchCV(
        model, distributions, n_iter=4, cv=3, random_state=0
    ).fit(X, y)
    assert_allclose(
        again.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )


def test_search_does_not_mutate_callbacks(iris):
    X, y = iris
    callback = CountingCallback(stop_at=5)
    params_before = callback.get_params()
    est = GDClassifier(callbacks=[callback], random_state=0)
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert callback.get_params() == params_before
    assert est.callbacks[0] is callback
    assert est.get_params()["callbacks"] == [callback]
    # Every candidate had its own copy: the original was never called.
    assert not hasattr(callback, "calls_")
    best = search.best_estimator_
    assert best.callbacks[0] is not callback
    assert best.callbacks[0].get_params() == params_before
    # The copies worked: the callback stopped each fit at epoch 5.
    assert best.stop_reason_ == "callback"
    assert best.n_epochs_ == 5


def test_search_over_callback_parameters(iris):
    X, y = iris
    callbacks = [[CountingCallback(stop_at=2)], [CountingCallback(stop_at=4)]]
    est = GDClassifier(random_state=0)
    search = GridSearchCV(est, {"callbacks": callbacks}, cv=2, refit=True).fit(X, y)
    assert [c[0].stop_at for c in callbacks] == [2, 4]
    assert all(not hasattr(c[0], "calls_") for c in callbacks)
    best = search.best_estimator_
    assert best.n_epochs_ == best.callbacks[0].stop_at


def test_fit_uses_callbacks_without_changing_their_parameters(iris):
    X, y = iris
    callback = CountingCallback(stop_at=3)
    est = GDClassifier(callbacks=[callback], random_state=0).fit(X, y)
    assert callback.get_params() == {"stop_at": 3}
    assert callback.calls_ == 3
    assert est.get_params()["callbacks"] == [callback]


# ---------------------------------------------------------------- cross-validation
def test_cross_validate_classifier(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    result = cross_validate(
        model,
        X,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        return_train_score=True,
        return_estimator=True,
        scoring=["accuracy", "neg_log_loss"],
    )
    assert result["test_accuracy"].shape == (3,)
    assert result["test_accuracy"].mean() > 0.85
    assert np.all(result["train_accuracy"] >= 0.85)
    assert np.all(np.isfinite(result["test_neg_log_loss"]))
    for fitted in result["estimator"]:
        est = fitted[-1]
        assert len(est.history_) == est.n_epochs_
        assert est.n_features_in_ == 4


def test_cross_validate_regressor_with_sample_weight(regression):
    X, y = regression
    model = make_pipeline(
        StandardScaler(), GDRegressor(learning_rate=0.5, random_state=0)
    )
    weights = np.random.default_rng(0).uniform(0.0, 2.0, len(y))
    cv = KFold(3, shuffle=True, random_state=0)
    result = cross_validate(
        model,
        X,
        y,
        cv=cv,
        params={"gdregressor__sample_weight": weights},
        return_estimator=True,
    )
    assert result["test_score"].min() > 0.95
    # Each fold's estimator got that fold's share of the weights.
    for (train, _), fitted in zip(cv.split(X), result["estimator"], strict=True):
        by_hand = clone(model).fit(
            X[train], y[train], gdregressor__sample_weight=weights[train]
        )
        assert_array_equal(fitted[-1].coef_, by_hand[-1].coef_)


# ---------------------------------------------------------------- curves
def test_learning_curve(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    sizes, train, test = learning_curve(
        model,
        X,
        y,
        train_sizes=[0.3, 0.6, 1.0],
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        shuffle=True,
        random_state=0,
        error_score="raise",
    )
    assert train.shape == test.shape == (3, 3)
    assert test[-1].mean() > 0.85


@pytest.mark.parametrize(
    ("Estimator", "data", "minimum"),
    [(GDClassifier, "iris", 0.7), (GDRegressor, "regression", 0.9)],
)
def test_learning_curve_incremental(Estimator, data, minimum, request):
    """exploit_incremental_learning=True calls partial_fit once per chunk."""
    X, y = request.getfixturevalue(data)
    if Estimator is GDRegressor:
        X = StandardScaler().fit_transform(X)
        y = (y - y.mean()) / y.std()
    est = Estimator(learning_rate=0.1, batch_size=4, random_state=0)
    sizes, train, test = learning_curve(
        est,
        X,
        y,
        train_sizes=np.linspace(0.2, 1.0, 5),
        cv=KFold(3, shuffle=True, random_state=0),
        exploit_incremental_learning=True,
        shuffle=True,
        random_state=0,
        error_score="raise",
    )
    assert train.shape == test.shape == (5, 3)
    assert np.all(np.isfinite(test))
    assert test[-1].mean() > minimum


def test_validation_curve(regression):
    X, y = regression
    model = make_pipeline(StandardScaler(), GDRegressor(random_state=0))
    alphas = [1e-4, 1.0, 100.0]
    train, test = validation_curve(
        model,
        X,
        y,
        param_name="gdregressor__alpha",
        param_range=alphas,
        cv=KFold(3, shuffle=True, random_state=0),
    )
    assert train.shape == test.shape == (3, 3)
    # More penalty, lower training score: the parameter really reaches the fit.
    means = train.mean(axis=1)
    assert means[0] > means[1] > means[2]
    assert means[0] > 0.98
    assert means[2] < 0.5


def test_validation_curve_classifier(iris):
    X, y = iris
    train, test = validation_curve(
        GDClassifier(random_state=0, tol=None),
        X,
        y,
        param_name="max_epochs",
        param_range=[1, 50],
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    assert train.shape == (2, 3)
    assert train[1].mean() > train[0].mean()


# ---------------------------------------------------------------- clone
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_clone_is_an_unfitted_copy_with_the_same_params(Estimator, iris):
    X, y = iris
    est = Estimator(
        alpha=0.01,
        learning_rate=0.05,
        batch_size=8,
        optimizer=Adam(beta1=0.8),
        callbacks=[CountingCallback(stop_at=3)],
        random_state=3,
    ).fit(X, y)
    copy = clone(est)
    assert copy is not est
    with pytest.raises(NotFittedError):
        copy.predict(X)
    assert not hasattr(copy, "history_")
    assert not hasattr(copy, "coef_")
    params, copy_params = est.get_params(deep=False), copy.get_params(deep=False)
    assert params.keys() == copy_params.keys()
    for name, value in params.items():
        if name in ("optimizer", "callbacks"):
            continue
        assert copy_params[name] == value, name
    assert copy.optimizer is not est.optimizer
    assert copy.optimizer.get_params() == est.optimizer.get_params()
    assert copy.callbacks[0] is not est.callbacks[0]
    assert copy.callbacks[0].get_params() == {"stop_at": 3}
    # The clone trains to the same result.
    copy.fit(X, y)
    assert_array_equal(copy.coef_, est.coef_)


# ---------------------------------------------------------------- persistence
def _round_trip_pickle(est, tmp_path):
    return pickle.loads(pickle.dumps(est))


def _round_trip_joblib(est, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


def _assert_same_history(a, b):
    assert len(a) == len(b)
    keys = a.keys()  # iterating a History yields its records, not its keys
    assert len(keys) >= 7
    for key in keys:
        assert_array_equal(a[key], b[key], err_msg=key)
    assert_array_equal(a.batch_loss, b.batch_loss)


@pytest.mark.parametrize("round_trip", [_round_trip_pickle, _round_trip_joblib])
@pytest.mark.parametrize(
    ("Estimator", "data"), [(GDRegressor, "regression"), (GDClassifier, "iris")]
)
def test_persistence_round_trip(Estimator, data, round_trip, request, tmp_path):
    X, y = request.getfixturevalue(data)
    X = StandardScaler().fit_transform(X)
    est = Estimator(
        max_epochs=8, tol=None, batch_size=16, validation_fraction=0.2, random_state=0
    ).fit(X, y)
    restored = round_trip(est, tmp_path)

    assert_array_equal(restored.predict(X), est.predict(X))
    if Estimator is GDClassifier:
        assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
        assert_array_equal(restored.classes_, est.classes_)
    _assert_same_history(restored.history_, est.history_)
    assert restored.loss_curve_ == est.loss_curve_
    for name in ("n_epochs_", "n_iter_", "t_", "stop_reason_", "best_epoch_"):
        assert getattr(restored, name) == getattr(est, name), name
    assert restored.get_params() == est.get_params()

    # Training continues after unpickling, exactly as it would have without it.
    coef_before = est.coef_.copy()
    restored.partial_fit(X, y)
    est.partial_fit(X, y)
    assert not np.array_equal(restored.coef_, coef_before)
    assert_array_equal(restored.coef_, est.coef_)
    assert_array_equal(restored.intercept_, est.intercept_)
    assert restored.n_epochs_ == est.n_epochs_ == 9
    assert restored.t_ == est.t_
    _assert_same_history_without_duration(restored.history_, est.history_)


def _assert_same_history_without_duration(a, b):
    assert len(a) == len(b)
    keys = a.keys()
    for key in keys:
        if key != "duration":
            assert_array_equal(a[key], b[key], err_msg=key)


def test_pickled_estimator_is_independent(iris):
    X, y = iris
    est = GDClassifier(max_epochs=5, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    coef = est.coef_.copy()
    restored.partial_fit(X, y)
    assert_array_equal(est.coef_, coef)
    assert est.n_epochs_ == 5
    assert restored.n_epochs_ == 6


def test_pickle_after_warm_start_continues_the_optimizer_state(iris):
    X, y = iris
    params = {"batch_size": None, "shuffle": False, "tol": None, "random_state": 0}
    est = GDClassifier(max_epochs=4, **params).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    restored.set_params(warm_start=True).fit(X, y)
    whole = GDClassifier(max_epochs=8, **params).fit(X, y)
    assert_allclose(restored.coef_, whole.coef_, rtol=1e-10)
    assert_allclose(restored.history_["loss"], whole.history_["loss"], rtol=1e-10)


def test_pickle_with_verbose_and_callbacks(iris, capsys):
    X, y = iris
    est = GDClassifier(
        max_epochs=3, verbose=2, callbacks=[CountingCallback()], random_state=0
    ).fit(X, y)
    capsys.readouterr()
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))


def test_pickle_with_progress_bar(iris):
    pytest.importorskip("tqdm")
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = GDClassifier(max_epochs=3, verbose=1, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))


@pytest.mark.parametrize("Estimator", [GDClassifier, MLPClassifier])
def test_set_params_loss_without_refit_keeps_the_fitted_link(Estimator, iris):
    # Prediction reads the loss the parameters were fitted with, not the
    # current hyperparameter: a fitted log-loss model keeps its softmax.
    X, y = iris
    est = Estimator(loss="log_loss", max_epochs=5, random_state=0).fit(X, y)
    proba = est.predict_proba(X)
    est.set_params(loss="modified_huber")
    assert_array_equal(est.predict_proba(X), proba)
    est.fit(X, y)
    assert not np.allclose(est.predict_proba(X), proba)
