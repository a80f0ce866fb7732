"""Reading a CSV file into features and a target, and the model trained on it.

Non-numeric columns are one-hot encoded, missing values imputed and numeric
columns scaled, in a ``ColumnTransformer`` that leads the saved pipeline, so the
model file predicts from raw rows of the same kind.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.multiclass import type_of_target

from ..linear_model import GDClassifier, GDRegressor
from ..neural_network import MLPClassifier, MLPRegressor
from ._errors import CommandError

#: The --model choices.
MODELS = {
    "gd-regressor": GDRegressor,
    "gd-classifier": GDClassifier,
    "mlp-regressor": MLPRegressor,
    "mlp-classifier": MLPClassifier,
}
#: A numeric target of whole numbers with at most this many distinct values is
#: taken for class labels when --model is not given.
MAX_INFERRED_CLASSES = 10
#: A one-hot encoded column keeps its most frequent categories, up to this many;
#: the rest share one "infrequent" column, so an identifier column stays small.
MAX_CATEGORIES = 20


def read_csv(path):
    """The CSV file at ``path`` as a pandas DataFrame."""
    try:
        import pandas as pd
    except ImportError:
        raise CommandError(
            'reading CSV files needs pandas: pip install pandas (or "skfit[cli]")'
        ) from None
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a CSV file") from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        # pandas' EmptyDataError is a ValueError.
        message = str(exc).strip().splitlines()[0]
        raise CommandError(f"{path} is not a readable CSV file: {message}") from None


def split_target(frame, target, path):
    """Features and target of ``frame``; rows without a target are left out."""
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise CommandError(f"{path} has no column {target!r}; its columns: {columns}")
    y = frame[target]
    missing = y.isna()
    if missing.all():
        raise CommandError(f"the target column {target!r} has no values")
    if missing.any():
        print(f"{missing.sum()} rows without a {target!r} value are left out")
    X = frame.loc[~missing].drop(columns=[target])
    if X.shape[1] == 0:
        raise CommandError(f"{path} has no column besides the target {target!r}")
    return X, y[~missing]


def choose_model(y, model, target):
    """The estimator class for ``--model`` (None: inferred from the target)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    numeric = is_numeric_dtype(y) and not is_bool_dtype(y)
    if model is None:
        whole = numeric and np.all(np.mod(y.to_numpy(dtype=float), 1) == 0)
        classes = not numeric or (whole and y.nunique() <= MAX_INFERRED_CLASSES)
        model = "gd-classifier" if classes else "gd-regressor"
        values = "value" if y.nunique() == 1 else "values"
        print(
            f"task: {'classification' if classes else 'regression'} "
            f"(the target {target!r} has {y.nunique()} distinct {values}); "
            "choose another with --model"
        )
    estimator = MODELS[model]
    if issubclass(estimator, ClassifierMixin):
        if type_of_target(y) == "continuous":
            raise CommandError(
                f"--model {model} needs class labels, but the target {target!r} "
                "holds continuous values"
            )
        if y.nunique() < 2:
            raise CommandError(
                f"the target {target!r} has one class ({y.iloc[0]!r}): there is "
                "nothing to learn"
            )
    elif not numeric:
        raise CommandError(
            f"--model {model} needs a numeric target, but {target!r} is not numeric"
        )
    return estimator


def preprocessor(X):
    """Impute, scale numeric and one-hot encode the other columns of ``X``."""
    numeric = X.select_dtypes(include="number").columns.tolist()
    other = [column for column in X.columns if column not in numeric]
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=MAX_CATEGORIES,
                    ),
                ),
                other,
            ),
        ],
        # Dense output: the MLPs and the compiled loop read dense rows fastest.
        sparse_threshold=0.0,
    )
