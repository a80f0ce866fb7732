"""skfit.diagnose and skfit.find_learning_rate."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_wine,
    make_circles,
    make_classification,
    make_friedman1,
    make_regression,
)
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.model_selection import cross_val_score, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeRegressor

import skfit
from skfit import (
    Diagnosis,
    GDClassifier,
    GDRegressor,
    LearningRateFinder,
    diagnose,
    find_learning_rate,
)

HAS_MLP = hasattr(skfit, "MLPRegressor")
SEEDS = (0, 1, 2)
FAST = {"cv": 3, "train_sizes": (0.3, 0.6, 1.0)}


# ------------------------------------------------------------------ data
def sine(n, noise, seed, frequency=2.0):
    """A strongly nonlinear target of one feature."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-3, 3, size=(n, 1))
    return X, np.sin(frequency * X[:, 0]) + noise * rng.normal(size=n)


def linear(n, n_features, noise, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features))
    return X, X @ rng.normal(size=n_features) + noise * rng.normal(size=n)


def wide(n, n_features, noise, seed):
    """Few noisy rows, many features of which one matters."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features))
    return X, X[:, 0] + noise * rng.normal(size=n)


def wide_classes(seed):
    return make_classification(60, 50, n_informative=2, flip_y=0.2, random_state=seed)


def separable_classes(seed):
    return make_classification(
        400,
        5,
        n_informative=3,
        n_redundant=0,
        n_clusters_per_class=1,
        class_sep=2.0,
        flip_y=0,
        random_state=seed,
    )


def unregularised(estimator, seed):
    return estimator.set_params(
        penalty=None, tol=None, max_epochs=300, learning_rate=0.05, random_state=seed
    )


# Cases built to be unambiguous: (expected verdict, factory of (estimator, X, y)).
CASES = {
    "linear model, sine target": (
        "underfitting",
        lambda s: (
            make_pipeline(StandardScaler(), GDRegressor(random_state=s)),
            *sine(200, 0.1, s),
        ),
    ),
    "linear classifier, circles": (
        "underfitting",
        lambda s: (
            make_pipeline(StandardScaler(), GDClassifier(random_state=s)),
            *make_circles(200, noise=0.05, factor=0.5, random_state=s),
        ),
    ),
    "unregularised regressor, 60 rows x 50 features": (
        "overfitting",
        lambda s: (unregularised(GDRegressor(), s), *wide(60, 50, 1.0, s)),
    ),
    "unregularised classifier, 60 rows x 50 features": (
        "overfitting",
        lambda s: (unregularised(GDClassifier(), s), *wide_classes(s)),
    ),
    "linear model, linear target, 400 rows": (
        "good_fit",
        lambda s: (GDRegressor(random_state=s), *linear(400, 5, 0.3, s)),
    ),
    "linear classifier, separable classes, 400 rows": (
        "good_fit",
        lambda s: (
            GDClassifier(max_epochs=50, random_state=s),
            *separable_classes(s),
        ),
    ),
}
if HAS_MLP:
    CASES["unregularised MLP regressor, 60 rows x 30 features"] = (
        "overfitting",
        lambda s: (
            skfit.MLPRegressor(
                (64,),
                alpha=0,
                learning_rate=0.01,
                tol=None,
                max_epochs=200,
                batch_size=None,
                random_state=s,
            ),
            *wide(60, 30, 1.0, s),
        ),
    )
    CASES["unregularised MLP classifier, 60 rows x 30 features"] = (
        "overfitting",
        lambda s: (
            skfit.MLPClassifier(
                (64,),
                alpha=0,
                learning_rate=0.01,
                tol=None,
                max_epochs=200,
                batch_size=None,
                random_state=s,
            ),
            *make_classification(60, 30, n_informative=2, flip_y=0.2, random_state=s),
        ),
    )


def polynomial_ridge(degree):
    return make_pipeline(
        PolynomialFeatures(degree), StandardScaler(), Ridge(alpha=1e-10)
    )


# scikit-learn's own estimators: Ridge on polynomial features of growing degree,
# all on the same 100 noisy rows of a sine.
SKLEARN_CASES = {
    "Ridge, degree 1": ("underfitting", lambda s: polynomial_ridge(1)),
    "Ridge, degree 5": ("good_fit", lambda s: polynomial_ridge(5)),
    "Ridge, degree 25": ("overfitting", lambda s: polynomial_ridge(25)),
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ----------------------------------------------------------- verdicts
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", list(CASES))
def test_verdicts_on_unambiguous_cases(case, seed):
    expected, make = CASES[case]
    estimator, X, y = make(seed)
    diagnosis = diagnose(estimator, X, y, random_state=seed, **FAST)
    assert diagnosis.verdict == expected, diagnosis.evidence


@pytest.mark.parametrize("seed", (0, 1, 2, 3))
@pytest.mark.parametrize("case", list(SKLEARN_CASES))
def test_verdicts_hold_for_scikit_learn_estimators(case, seed):
    expected, make = SKLEARN_CASES[case]
    X, y = sine(100, 0.3, seed, frequency=1.5)
    diagnosis = diagnose(make(seed), X, y, random_state=seed, **FAST)
    assert diagnosis.verdict == expected, diagnosis.evidence


def test_other_scikit_learn_estimators():
    X, y = wide(60, 50, 1.0, 0)
    tree = diagnose(DecisionTreeRegressor(random_state=0), X, y, **FAST)
    assert tree.verdict == "overfitting"
    assert any("max_depth from None" in sentence for sentence in tree.advice)
    X, y = make_circles(200, noise=0.05, factor=0.5, random_state=0)
    logistic = diagnose(LogisticRegression(C=0.01), X, y, random_state=0, **FAST)
    assert logistic.verdict == "underfitting"
    assert any("raise C from 0.01" in sentence for sentence in logistic.advice)


def test_learning_curve_diagnosis_contents():
    X, y = sine(100, 0.3, 0, frequency=1.5)
    estimator = polynomial_ridge(25)
    diagnosis = diagnose(estimator, X, y, random_state=0, **FAST)
    assert isinstance(diagnosis, Diagnosis)
    assert diagnosis.source == "learning_curve"
    assert diagnosis.gap == pytest.approx(
        diagnosis.train_score - diagnosis.validation_score
    )
    assert diagnosis.train_score == pytest.approx(diagnosis.train_scores[-1].mean())
    assert diagnosis.validation_score == pytest.approx(
        diagnosis.validation_scores[-1].mean()
    )
    # The scores are scikit-learn's learning curve and a dummy's cross-validated
    # R² on the same splits.
    _, train_scores, validation_scores = learning_curve(
        polynomial_ridge(25),
        X,
        y,
        cv=3,
        train_sizes=FAST["train_sizes"],
        shuffle=True,
        random_state=0,
    )
    np.testing.assert_allclose(diagnosis.train_scores, train_scores, rtol=1e-12)
    np.testing.assert_allclose(
        diagnosis.validation_scores, validation_scores, rtol=1e-12
    )
    dummy = cross_val_score(DummyRegressor(), X, y, cv=3).mean()
    assert diagnosis.baseline_score == pytest.approx(dummy, rel=1e-12)
    assert diagnosis.perfect_score == 1.0
    assert f"{diagnosis.train_score:.3g}" in diagnosis.evidence
    assert "DummyRegressor" in diagnosis.evidence
    assert diagnosis.advice and all(isinstance(a, str) for a in diagnosis.advice)
    assert any("ridge__alpha from 1e-10" in a for a in diagnosis.advice)
    assert any("polynomialfeatures__degree from 25" in a for a in diagnosis.advice)
    assert "verdict: overfitting" in str(diagnosis)
    assert not hasattr(estimator[-1], "coef_")  # a clone was fitted


def test_error_scorer_agrees_with_the_default_score():
    X, y = sine(100, 0.3, 0, frequency=1.5)
    for degree, expected in ((1, "underfitting"), (25, "overfitting")):
        diagnosis = diagnose(
            polynomial_ridge(degree),
            X,
            y,
            scoring="neg_mean_squared_error",
            random_state=0,
            **FAST,
        )
        assert diagnosis.perfect_score == 0.0
        assert diagnosis.scoring == "neg_mean_squared_error"
        assert diagnosis.verdict == expected


def test_advice_names_the_estimators_own_hyperparameters():
    estimator, X, y = CASES["unregularised regressor, 60 rows x 50 features"][1](0)
    overfit = diagnose(estimator, X, y, random_state=0, **FAST)
    assert any("penalty='l2'" in a for a in overfit.advice)
    assert any("early_stopping=True" in a for a in overfit.advice)
    estimator, X, y = CASES["linear model, sine target"][1](0)
    underfit = diagnose(estimator, X, y, random_state=0, **FAST)
    assert underfit.advice[0].startswith("A more flexible model")
    assert "MLPRegressor" in underfit.advice[0]
    assert any("find_learning_rate" in a for a in underfit.advice)
    if HAS_MLP:
        estimator, X, y = CASES["unregularised MLP regressor, 60 rows x 30 features"][
            1
        ](0)
        mlp = diagnose(estimator, X, y, random_state=0, **FAST)
        assert any("dropout from 0" in a for a in mlp.advice)
        assert any("alpha from 0" in a for a in mlp.advice)
        assert any("hidden_layer_sizes" in a for a in mlp.advice)


def test_arguments_are_checked():
    X, y = sine(50, 0.1, 0)
    with pytest.raises(ValueError, match="both X and y"):
        diagnose(Ridge(), X)
    with pytest.raises(ValueError, match="no training history"):
        diagnose(Ridge().fit(X, y))


# ------------------------------------------------------------ history
def fitted(estimator, X, y):
    return estimator.fit(X, y)


def test_history_names_the_epoch_validation_loss_began_to_rise():
    X, y = wide(80, 50, 1.0, 0)
    est = GDRegressor(
        penalty=None, tol=None, max_epochs=300, validation_fraction=0.3, random_state=0
    ).fit(X, y)
    diagnosis = diagnose(est)
    val_loss = est.history_["val_loss"]
    lowest = int(np.argmin(val_loss))
    assert diagnosis.verdict == "overfitting"
    assert diagnosis.source == "history"
    assert diagnosis.rise_epoch == est.history_["epoch"][lowest] + 1
    assert f"began to rise at epoch {diagnosis.rise_epoch}" in diagnosis.evidence
    assert "negated" in diagnosis.evidence
    assert diagnosis.train_score == -est.history_["loss"][-1]
    assert diagnosis.validation_score == -val_loss[-1]
    assert diagnosis.gap == pytest.approx(val_loss[-1] - est.history_["loss"][-1])
    assert any("early_stopping=True" in a for a in diagnosis.advice)
    assert any(
        f"Stop before epoch {diagnosis.rise_epoch}" in a for a in diagnosis.advice
    )


@pytest.mark.parametrize(
    "expected, make",
    [
        (
            "overfitting",
            lambda: (
                GDClassifier(
                    penalty=None, tol=None, max_epochs=300, validation_fraction=0.3
                ),
                *make_classification(
                    100, 60, n_informative=2, flip_y=0.2, random_state=0
                ),
            ),
        ),
        (
            "good_fit",
            lambda: (GDRegressor(validation_fraction=0.2), *linear(400, 5, 0.3, 0)),
        ),
        (
            "good_fit",
            lambda: (GDClassifier(validation_fraction=0.2), *separable_classes(0)),
        ),
        (
            "underfitting",
            lambda: (GDRegressor(validation_fraction=0.2), *sine(200, 0.1, 0)),
        ),
        (
            "underfitting",
            lambda: (
                GDClassifier(validation_fraction=0.2),
                *make_circles(200, noise=0.05, factor=0.5, random_state=0),
            ),
        ),
    ],
)
@pytest.mark.parametrize("seed", SEEDS)
def test_history_verdicts(expected, make, seed):
    estimator, X, y = make()
    estimator.set_params(random_state=seed)
    diagnosis = diagnose(estimator.fit(X, y))
    assert diagnosis.verdict == expected, diagnosis.evidence


def test_history_cut_short_is_underfitting_with_more_epochs_advice():
    X, y = linear(400, 5, 0.3, 0)
    est = GDRegressor(
        validation_fraction=0.2, max_epochs=3, learning_rate=0.001, random_state=0
    ).fit(X, y)
    diagnosis = diagnose(est)
    assert diagnosis.verdict == "underfitting"
    assert diagnosis.advice[0].startswith("More epochs")
    assert "max_epochs=3" in diagnosis.advice[0]


def test_history_of_a_pipeline_and_of_the_demo_setting():
    X, y = load_breast_cancer(return_X_y=True)
    classifier = GDClassifier(
        validation_fraction=0.2, early_stopping=True, n_iter_no_change=10
    )
    model = make_pipeline(StandardScaler(), classifier.set_params(random_state=0))
    diagnosis = diagnose(model.fit(X, y))
    assert diagnosis.verdict == "good_fit"
    assert diagnosis.estimator_name == "GDClassifier"
    assert "early_stopping" in diagnosis.evidence


def test_history_without_validation_share_is_a_clear_error():
    X, y = linear(100, 3, 0.3, 0)
    est = GDRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        diagnose(est)


def test_diagnose_works_without_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None
        import numpy as np
        import skfit
        rng = np.random.RandomState(0)
        X = rng.normal(size=(200, 3))
        y = X @ [1.0, 2.0, 3.0] + 0.1 * rng.normal(size=200)
        est = skfit.GDRegressor(validation_fraction=0.2, random_state=0).fit(X, y)
        diagnosis = skfit.diagnose(est)
        print(diagnosis.verdict)
        try:
            diagnosis.plot()
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[0] == "good_fit"
    assert 'pip install "skfit[plot]"' in result.stdout


# ------------------------------------------------- learning-rate finder
def standardised(X, y=None):
    X = StandardScaler().fit_transform(X)
    return X if y is None else (X, (y - y.mean()) / y.std())


def test_range_test_result():
    X, y = load_breast_cancer(return_X_y=True)
    result = find_learning_rate(
        GDClassifier(random_state=0), standardised(X), y, start=1e-5, end=1.0, num=50
    )
    assert isinstance(result, LearningRateFinder)
    n = len(result.learning_rates)
    assert 10 <= n <= 50
    assert result.losses.shape == result.smoothed_losses.shape == (n,)
    assert result.learning_rates[0] == pytest.approx(1e-5)
    ratios = result.learning_rates[1:] / result.learning_rates[:-1]
    np.testing.assert_allclose(ratios, (1.0 / 1e-5) ** (1 / 49))
    assert np.isfinite(result.losses).all()
    # The documented rule, applied to the recorded losses: a centred moving average
    # over 2 * max(2, num // 20) + 1 = 5 updates (cut at the ends); the suggestion
    # is the first rate at which it has fallen halfway from the starting level (the
    # mean of the first tenth of the raw losses, at least 3) to its minimum.
    losses = result.losses
    smoothed = np.array([losses[max(i - 2, 0) : i + 3].mean() for i in range(n)])
    np.testing.assert_allclose(result.smoothed_losses, smoothed, rtol=1e-12)
    starting_level = losses[: max(3, n // 10)].mean()
    lowest = int(np.argmin(smoothed))
    assert smoothed[lowest] < starting_level - 0.1  # the loss fell
    halfway = starting_level - 0.5 * (starting_level - smoothed[lowest])
    expected = int(np.flatnonzero(smoothed[: lowest + 1] <= halfway)[0])
    assert result.suggestion_index == expected
    assert result.suggestion == result.learning_rates[expected]


def test_range_test_stops_when_the_loss_diverges():
    X, y = standardised(*load_diabetes(return_X_y=True))
    result = find_learning_rate(
        GDRegressor(optimizer="sgd", random_state=0), X, y, end=1e4, num=100
    )
    assert result.stop_reason == "diverged"
    assert len(result.losses) < 100
    assert result.learning_rates[-1] < 1e4


def test_range_test_leaves_the_estimator_untouched():
    X, y = standardised(*load_diabetes(return_X_y=True))
    est = GDRegressor(random_state=0, validation_fraction=0.2)
    params = est.get_params()
    find_learning_rate(est, X, y)
    assert est.get_params() == params
    assert not hasattr(est, "coef_") and "_state" not in est.__dict__
    est.fit(X, y)
    coef, n_epochs = est.coef_.copy(), est.n_epochs_
    find_learning_rate(est, X, y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.n_epochs_ == n_epochs and est.get_params() == params


def test_range_test_on_a_pipeline_and_repeatable():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), GDClassifier(random_state=0))
    first = find_learning_rate(model, X, y)
    second = find_learning_rate(model, X, y)
    np.testing.assert_array_equal(first.losses, second.losses)
    assert first.suggestion == second.suggestion
    assert first.estimator_name == "GDClassifier"
    assert not hasattr(model[0], "mean_")


def test_range_test_arguments_are_checked():
    X, y = sine(50, 0.1, 0)
    with pytest.raises(ValueError, match="start < end"):
        find_learning_rate(GDRegressor(), X, y, start=1.0, end=0.1)
    with pytest.raises(ValueError, match="num"):
        find_learning_rate(GDRegressor(), X, y, num=5)
    with pytest.raises(TypeError, match="skfit estimator"):
        find_learning_rate(Ridge(), X, y)


def test_range_test_warns_when_the_loss_hardly_falls():
    X, y = standardised(*load_diabetes(return_X_y=True))
    with pytest.warns(UserWarning, match="hardly fell"):
        find_learning_rate(GDRegressor(random_state=0), X, y, start=1e-9, end=1e-8)


def _final_loss(estimator, X, y):
    """The data loss over all training rows with the final parameters."""
    if hasattr(estimator, "classes_"):
        return log_loss(y, estimator.predict_proba(X))
    return mean_squared_error(y, estimator.predict(X)) / 2


def _datasets():
    X, y = load_diabetes(return_X_y=True)
    yield "diabetes", GDRegressor, *standardised(X, y)
    X, y = make_regression(400, 10, noise=10, random_state=0)
    yield "make_regression", GDRegressor, *standardised(X, y)
    X, y = make_friedman1(400, random_state=0)
    yield "friedman1", GDRegressor, *standardised(X, y)
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", GDClassifier, standardised(X), y
    X, y = load_wine(return_X_y=True)
    yield "wine", GDClassifier, standardised(X), y
    X, y = make_classification(400, 10, random_state=0)
    yield "make_classification", GDClassifier, standardised(X), y


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_suggestion_converges_no_slower_than_the_default(optimizer):
    epochs = {"default": 0, "suggestion": 0}
    for name, Estimator, X, y in _datasets():
        est = Estimator(optimizer=optimizer, max_epochs=2000, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # a reliable suggestion
            suggestion = find_learning_rate(est, X, y).suggestion
        default = clone(est).fit(X, y)
        suggested = clone(est).set_params(learning_rate=suggestion).fit(X, y)
        assert suggested.stop_reason_ == "tol", name
        default_loss = _final_loss(default, X, y)
        assert _final_loss(suggested, X, y) <= max(
            1.1 * default_loss, default_loss + 5e-3
        )
        # Each dataset: not much slower; over all of them: no slower.
        assert suggested.n_epochs_ <= max(
            1.5 * default.n_epochs_, default.n_epochs_ + 5
        )
        epochs["default"] += default.n_epochs_
        epochs["suggestion"] += suggested.n_epochs_
    assert epochs["suggestion"] <= epochs["default"], epochs


@pytest.mark.skipif(not HAS_MLP, reason="needs skfit.MLPRegressor")
def test_suggestion_for_an_mlp():
    X, y = standardised(*make_regression(400, 10, noise=10, random_state=0))
    est = skfit.MLPRegressor((32,), max_epochs=2000, random_state=0)
    suggestion = find_learning_rate(est, X, y).suggestion
    default = clone(est).fit(X, y)
    suggested = clone(est).set_params(learning_rate=suggestion).fit(X, y)
    assert suggested.stop_reason_ == "tol"
    assert suggested.n_epochs_ <= default.n_epochs_
