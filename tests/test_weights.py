"""Every weight source (sample_weight, class_weight, their product and the
held-out shares') is checked and refused by name (issue 13, item 3)."""

import pickle

import numpy as np
import pytest
from _datasets import classification_data, regression_data
from _fitting import fit_quietly

from skfit import GDClassifier, GDRegressor


@pytest.fixture(scope="module")
def regression():
    return regression_data(n_samples=120, noise=1.0, n_features=4)


@pytest.fixture(scope="module")
def classification():
    return classification_data(2, n_samples=120)


@pytest.fixture(scope="module")
def fitted_regressor(regression):
    X, y = regression
    return fit_quietly(GDRegressor(max_epochs=3, random_state=0), X, y)


@pytest.fixture(scope="module")
def fitted_classifier(classification):
    X, y = classification
    return fit_quietly(GDClassifier(max_epochs=3, random_state=0), X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("subnormal", ["all", "one"])
def test_subnormal_sample_weights_are_refused(
    fitted_regressor, regression, dtype, subnormal
):
    X, y = regression
    tiny = np.finfo(dtype).tiny
    sample_weight = (
        np.full(len(y), tiny / 1e3) if subnormal == "all" else np.ones(len(y))
    )
    sample_weight[0] = tiny / 1e3
    est = pickle.loads(pickle.dumps(fitted_regressor))
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="sample_weight holds .* below"):
        est.fit(X.astype(dtype), y, sample_weight=sample_weight)
    assert pickle.dumps(est) == before


def test_sample_weights_beyond_float32_range_are_refused(regression):
    X, y = regression
    with pytest.raises(ValueError, match=r"sample_weight\) sum to .* float32"):
        GDRegressor().fit(X.astype(np.float32), y, sample_weight=np.full(len(y), 1e37))


@pytest.mark.parametrize("early_stopping", [True, False])
def test_a_held_out_share_without_weight_is_refused(regression, early_stopping):
    # One weighted row: the share it is not in has no weight at all.
    X, y = regression
    sample_weight = np.zeros(len(y))
    sample_weight[5] = 1.0
    est = GDRegressor(
        early_stopping=early_stopping, validation_fraction=0.2, random_state=0
    )
    with pytest.raises(
        ValueError, match=r"share \(validation_fraction=0.2\) are all zero"
    ):
        est.fit(X, y, sample_weight=sample_weight)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("weight", [np.nan, np.inf, -1.0, "heavy", None, True])
def test_class_weight_values_are_refused_by_name(
    fitted_classifier, classification, weight
):
    X, y = classification
    est = pickle.loads(pickle.dumps(fitted_classifier))
    before = pickle.dumps(est)
    est.set_params(class_weight={0: weight, 1: 1.0})
    with pytest.raises(ValueError, match="class_weight must map classes to finite"):
        est.fit(X, y)
    est.set_params(class_weight=None)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize(
    ("scale", "match"), [(1e200, "sum to inf"), (1e-160, "holds .* below")]
)
def test_combined_sample_and_class_weights_are_checked(classification, scale, match):
    # Each source is fine alone; their product overflows or is subnormal.
    X, y = classification
    est = GDClassifier(class_weight={0: scale, 1: scale})
    with pytest.raises(ValueError, match="sample_weight times class_weight"):
        est.fit(X, y, sample_weight=np.full(len(y), scale))
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, sample_weight=np.full(len(y), scale))
