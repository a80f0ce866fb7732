"""Advice for a diagnosis, naming the estimator's own hyperparameters.

Each piece of advice names the hyperparameter to change, its current value and a
value to try, found among the estimator's parameters (through a pipeline):
``alpha``, ``C``, ``dropout``, ``early_stopping``, ``hidden_layer_sizes``,
``degree`` (of polynomial features), ``max_depth``, ``n_neighbors``, ``max_epochs``
and ``learning_rate``.
"""

import math

import numpy as np
from sklearn.preprocessing import PolynomialFeatures

from .._base import BaseGD
from ._pipeline import final_step

__all__ = ["advise"]

#: Below this, lowering alpha is not worth advising.
NEGLIGIBLE_ALPHA = 1e-6


def _is_skfit(estimator):
    return isinstance(estimator, BaseGD)


def _find(estimator, name, owner=None):
    """``(path, value)`` of the parameter ``name`` of the estimator or one of its
    steps, the final estimator's first; None when there is none. With ``owner``
    (a class), only parameters of instances of it count."""
    params = estimator.get_params(deep=True)
    candidates = [key for key in params if key == name or key.endswith("__" + name)]
    if owner is not None:
        candidates = [
            key
            for key in candidates
            if isinstance(params.get(key.rpartition("__")[0], estimator), owner)
        ]
    if not candidates:
        return None
    # The shortest path is the final estimator's own parameter when it has one.
    final_path = final_step(estimator)[0]
    for key in candidates:
        if key == (f"{final_path}__{name}" if final_path else name):
            return key, params[key]
    key = candidates[0]
    return key, params[key]


def _find_alpha(estimator):
    """``(path, value)`` of the penalty strength ``alpha``, as :func:`_find`; an
    "auto" strength reads as the one its estimator's fit resolved it to
    (``alpha_``), and stays "auto" before that fit."""
    found = _find(estimator, "alpha")
    if found is None or found[1] != "auto":
        return found
    path = found[0]
    owner_path = path.rpartition("__")[0]
    owner = estimator.get_params(deep=True)[owner_path] if owner_path else estimator
    return path, getattr(owner, "alpha_", "auto")


#: What to try instead of an unresolved "auto" strength, by the way it should go.
_AUTO_STEPS = {10: "10 and 100 times", 0.1: "a tenth and a hundredth of"}


def _change_alpha(verb, path, alpha, factor):
    """Advice to move the strength ``alpha`` of ``path`` by ``factor``."""
    if alpha == "auto":
        return (
            f"{verb} {path} from 'auto', one over the training rows' total "
            f"weight (try {_AUTO_STEPS[factor]} that in a search)."
        )
    steps = _steps(alpha, factor)
    return f"{verb} {path} from {_number(alpha)} (try {steps} in a search)."


def _number(value):
    return f"{value:g}"


def _steps(value, factor):
    """Three values stepping from ``value`` by ``factor``: '1e-3, 1e-2 and 0.1'."""
    if value == 0:
        values = [1e-4, 1e-3, 1e-2]
    else:
        values = [value * factor**k for k in (1, 2, 3)]
    return f"{_number(values[0])}, {_number(values[1])} and {_number(values[2])}"


def advise(
    verdict,
    estimator,
    *,
    more_data_helps=False,
    trend=math.nan,
    history_model=None,
    rise_epoch=None,
):
    """The advice for ``verdict``, most promising first, as a list of sentences."""
    if verdict == "overfitting":
        return _overfitting(
            estimator, more_data_helps, trend, history_model, rise_epoch
        )
    if verdict == "underfitting":
        return _underfitting(estimator, history_model)
    return _good_fit(more_data_helps, trend, history_model)


def _more_data(more_data_helps, trend):
    if more_data_helps:
        return (
            "More data: the validation score still rose by "
            f"{trend:.3g} per doubling of the training rows."
        )
    if math.isnan(trend):
        return "More data: the more rows, the harder it is to fit their noise."
    if trend > 0:
        return (
            "More data would help only a little: the validation score rose by "
            f"{trend:.3g} per doubling of the training rows."
        )
    return (
        "More data did not help between the two largest training sizes (the "
        f"validation score changed by {trend:.3g} per doubling of the rows): "
        "regularise first."
    )


def _overfitting(estimator, more_data_helps, trend, history_model, rise_epoch):
    advice = []
    model = final_step(estimator)[1]
    skfit_model = _is_skfit(model)
    if history_model is not None and rise_epoch is not None:
        if history_model.early_stopping:
            advice.append(
                "Early stopping already keeps the parameters of epoch "
                f"{history_model.best_epoch_}, before the validation loss rose; "
                "regularise to push the rise later."
            )
        else:
            advice.append(
                f"Stop before epoch {rise_epoch}: early_stopping=True stops when the "
                "validation loss stops improving and keeps the best epoch's "
                f"parameters (here epoch {rise_epoch - 1})."
            )
    if more_data_helps:
        advice.append(_more_data(more_data_helps, trend))
    found = _find_alpha(estimator)
    if found is not None:
        path, alpha = found
        penalty = _find(estimator, "penalty") if skfit_model else None
        if penalty is not None and penalty[1] is None:
            strength = "'auto'" if alpha == "auto" else _number(max(alpha, 1e-3))
            advice.append(
                f"More regularisation: set {penalty[0]}='l2' (it is None, so alpha "
                f"is unused) with {path}={strength}."
            )
        else:
            advice.append(_change_alpha("More regularisation: raise", path, alpha, 10))
    found = _find(estimator, "C")
    if found is not None and isinstance(found[1], int | float):
        advice.append(
            f"More regularisation: lower {found[0]} from {_number(found[1])} "
            f"(try {_steps(found[1], 0.1)} in a search)."
        )
    found = _find(estimator, "dropout")
    if found is not None:
        target = min(0.5, found[1] + 0.2)
        advice.append(
            f"More regularisation: raise {found[0]} from {_number(found[1])} to "
            f"{_number(target)}, so that no unit can rely on another."
        )
    found = _find(estimator, "early_stopping")
    if found is not None and found[1] is False and history_model is None:
        advice.append(
            f"Stop at the best epoch: set {found[0]}=True, which holds out a "
            "validation share and keeps the parameters of its best epoch."
        )
    found = _find(estimator, "degree", owner=PolynomialFeatures)
    if found is not None and isinstance(found[1], int) and found[1] > 1:
        advice.append(
            f"A simpler model: lower {found[0]} from {found[1]} to "
            f"{max(1, found[1] // 2)}."
        )
    found = _find(estimator, "hidden_layer_sizes")
    if found is not None:
        sizes = np.atleast_1d(found[1]).tolist()
        smaller = tuple(max(1, size // 2) for size in sizes)
        advice.append(
            f"A smaller network: {found[0]}={smaller} instead of {tuple(sizes)}."
        )
    found = _find(estimator, "max_depth")
    if found is not None:
        depth = found[1]
        target = 4 if depth is None else max(1, depth // 2)
        advice.append(f"A simpler model: lower {found[0]} from {depth} to {target}.")
    found = _find(estimator, "n_neighbors")
    if found is not None:
        advice.append(
            f"A smoother model: raise {found[0]} from {found[1]} to {found[1] * 2}."
        )
    if len(advice) < 2 or not more_data_helps:
        if not any(sentence.startswith("More regularisation") for sentence in advice):
            advice.append(
                "More regularisation or a simpler model: fewer features, a smaller "
                "model, or a stronger penalty."
            )
        if not more_data_helps:
            advice.append(_more_data(more_data_helps, trend))
    return advice


def _underfitting(estimator, history_model):
    advice = []
    model = final_step(estimator)[1]
    if history_model is not None and history_model.stop_reason_ in (
        "diverged",
        "spike",
    ):
        rate = history_model.learning_rate
        advice.append(
            f"A smaller learning rate: training stopped with "
            f"stop_reason_={history_model.stop_reason_!r} at "
            f"learning_rate={_number(rate)}; try {_number(rate / 10)} (or the "
            "suggestion of skfit.find_learning_rate) and standardise the features."
        )
    elif history_model is not None and history_model.stop_reason_ == "max_epochs":
        advice.append(
            f"More epochs: training stopped at max_epochs={history_model.max_epochs} "
            f"while the loss still fell; raise max_epochs to "
            f"{history_model.max_epochs * 2}, or the learning rate (from "
            f"{_number(history_model.learning_rate)}; skfit.find_learning_rate "
            "suggests one)."
        )
    hidden = _find(estimator, "hidden_layer_sizes")
    degree = _find(estimator, "degree", owner=PolynomialFeatures)
    depth = _find(estimator, "max_depth")
    if hidden is not None:
        sizes = np.atleast_1d(hidden[1]).tolist()
        larger = tuple(2 * size for size in sizes)
        advice.append(
            f"A more flexible model: a larger network, {hidden[0]}={larger} instead "
            f"of {tuple(sizes)}, or another hidden layer."
        )
    elif degree is not None and isinstance(degree[1], int):
        advice.append(
            f"A more flexible model: raise {degree[0]} from {degree[1]} to "
            f"{degree[1] + 2}."
        )
    elif depth is not None and depth[1] is not None:
        advice.append(
            f"A more flexible model: raise {depth[0]} from {depth[1]} to "
            f"{2 * depth[1]}."
        )
    elif _is_skfit(model):
        mlp = "MLPClassifier" if _classifier(model) else "MLPRegressor"
        advice.append(
            "A more flexible model: add nonlinear features (PolynomialFeatures or "
            f"SplineTransformer in a pipeline), or use skfit.{mlp} with hidden layers."
        )
    else:
        advice.append(
            "A more flexible model: add nonlinear features (PolynomialFeatures or "
            "SplineTransformer in a pipeline) or use a nonlinear estimator."
        )
    found = _find_alpha(estimator)
    penalty = _find(estimator, "penalty")
    if (
        found is not None
        and (found[1] == "auto" or found[1] >= NEGLIGIBLE_ALPHA)
        and not (penalty is not None and penalty[1] is None)
    ):
        advice.append(_change_alpha("Less regularisation: lower", *found, 0.1))
    found = _find(estimator, "C")
    if found is not None and isinstance(found[1], int | float) and found[1] < 1e6:
        advice.append(
            f"Less regularisation: raise {found[0]} from {_number(found[1])} "
            f"(try {_steps(found[1], 10)} in a search)."
        )
    found = _find(estimator, "dropout")
    if found is not None and found[1] > 0:
        advice.append(
            f"Less regularisation: lower {found[0]} from {_number(found[1])} to 0."
        )
    if _is_skfit(model) and history_model is None:
        advice.append(
            "Train long enough, at a good learning rate: check that the fit "
            "converged (stop_reason_ 'tol' rather than 'max_epochs'), and try the "
            "learning rate that skfit.find_learning_rate suggests."
        )
    advice.append(
        "Better features: when the target is mostly noise given the features, no "
        "model scores much higher."
    )
    return advice


def _classifier(model):
    from sklearn.base import is_classifier

    return is_classifier(model)


def _good_fit(more_data_helps, trend, history_model):
    advice = ["No change needed: the model generalises about as well as it fits."]
    if more_data_helps:
        advice.append(_more_data(True, trend))
    elif not math.isnan(trend):
        advice.append(
            "More data would add little: the validation score changed by "
            f"{trend:.3g} per doubling of the training rows."
        )
    if history_model is not None:
        advice.append(
            "For a verdict against a dummy model's cross-validated score and the "
            "trend with more data, diagnose with X and y (a learning curve)."
        )
    return advice
