"""
A ``ColumnTransformer`` pipeline on a pandas DataFrame
======================================================

Real tables mix numbers and categories, with gaps. A
:class:`~sklearn.compose.ColumnTransformer` prepares each kind of column (impute,
scale the numbers; impute, one-hot encode the categories) and a skfit estimator
trains on the result, all in one :class:`~sklearn.pipeline.Pipeline` that
cross-validates, searches and pickles as one model. The skfit estimator at its end
still reports how it learned.
"""

# %%
# A table of customers: two numeric columns and two categorical ones, with
# missing values, and whether each customer left (``churn``).
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skfit import GDClassifier, diagnose
from skfit.plotting import LossCurveDisplay

rng = np.random.RandomState(0)
n = 1500
customers = pd.DataFrame(
    {
        "tenure_months": rng.exponential(24, n).round(),
        "monthly_fee": rng.normal(50, 15, n).round(2),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "region": rng.choice(["north", "south", "east", "west"], n),
    }
)
score = (
    -0.2 * (customers.tenure_months - 24)
    + 0.12 * (customers.monthly_fee - 50)
    + customers.plan.map({"basic": 2.5, "plus": 0.0, "pro": -2.5})
    + rng.logistic(size=n)
)
churn = np.where(score > 0, "yes", "no")
customers.loc[rng.choice(n, 100, replace=False), "monthly_fee"] = np.nan
customers.loc[rng.choice(n, 60, replace=False), "region"] = np.nan
customers.head()

# %%
# The pipeline: columns are chosen by their dtype.
prepare = ColumnTransformer(
    [
        (
            "numbers",
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (
            "categories",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            ),
            make_column_selector(dtype_exclude="number"),
        ),
    ]
)
model = make_pipeline(
    prepare, GDClassifier(early_stopping=True, validation_fraction=0.2, random_state=0)
)
X_train, X_test, y_train, y_test = train_test_split(
    customers, churn, stratify=churn, random_state=0
)
print(
    f"cross-validated accuracy: {cross_val_score(model, X_train, y_train).mean():.3f}"
)
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")

# %%
# The classifier at the end of the pipeline kept its history: how it stopped,
# its loss curve, a diagnosis.
classifier = model[-1]
print(
    f"stop_reason_={classifier.stop_reason_!r} after {classifier.n_epochs_} epochs; "
    f"diagnosis: {diagnose(classifier).verdict}"
)
LossCurveDisplay.from_estimator(model)

# %%
# The weights by feature name: a longer tenure lowers the odds of leaving, a
# higher fee and the basic plan raise them, and the region (which plays no part
# in how the data were made) gets weights near zero.
weights = pd.Series(
    classifier.coef_[0], index=model[0].get_feature_names_out()
).sort_values()
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
weights.plot.barh(ax=ax)
ax.set_xlabel("weight (towards churn = yes)")
