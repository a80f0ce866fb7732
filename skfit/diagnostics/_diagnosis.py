"""Diagnose over- and underfitting.

:func:`diagnose` judges a model from its learning curve (any scikit-learn estimator
or pipeline, given ``X`` and ``y``) or from a fitted skfit estimator's ``history_``,
and returns a :class:`Diagnosis`: a verdict, the numbers behind it, and advice.

The rules
---------
From a learning curve (``diagnose(estimator, X, y)``), at the largest training size,
with the mean training score ``train``, the mean validation score ``validation``,
the cross-validated score ``baseline`` of a ``DummyRegressor`` (the mean) or
``DummyClassifier`` (the class prior) and the best possible score ``perfect`` (1 for
R², accuracy and other bounded scores, 0 for the ``neg_`` error scorers), scores are
put in units of the distance from the baseline to perfect:
``skill(s) = (s - baseline) / (perfect - baseline)``. Then, in order:

1. ``skill(train) < 0.5``: **underfitting**: the model fits even its training data
   poorly (it closes less than half the distance from the baseline to perfect).
2. ``skill(train) - skill(validation) > 0.1``, or ``> 0.05`` while the validation
   skill still rises by more than 0.02 per doubling of the training rows (between
   the two largest sizes, each fold's skill clipped to [0, 1]):
   **overfitting**: the model does much better on the rows it learned from.
3. ``skill(validation) < 0.5``: **underfitting**.
4. Otherwise: **good_fit**.

From a fitted skfit estimator's history (``diagnose(estimator)``, which needs a
validation share: ``validation_fraction`` or ``early_stopping``), the scores are the
negated final losses, the baseline is the negated baseline loss (below) and a
perfect score is 0, so that ``skill = 1 - loss / baseline_loss`` (the validation
skill of the squared error is the validation R²). In order:

1. Training diverged or was stopped by spikes: **underfitting** (it did not train).
2. The validation loss ended above its minimum by more than 10% of that minimum and
   by more than 2% of the baseline loss, while the training loss kept falling after
   it: **overfitting**, which began with the epoch after the minimum.
3. Training stopped at ``max_epochs`` while the training loss still fell by more
   than 1% of the baseline loss over the last tenth of the epochs: **underfitting**
   (cut short).
4. Otherwise the rules 1, 2 (without the trend) and 3 of the learning curve, on the
   skills of the final losses.

The baseline loss puts losses on a scale: ``log(K)`` for the log-loss of ``K``
classes (the loss of predicting every class equally likely); for the squared error,
the loss of predicting the validation mean, ``val_loss / (1 - R²)`` from the final
validation R²; for other losses, the larger of the first epoch's two losses.

These are heuristics for clear cases. No rule can tell a model that misses
structure from a target that is mostly noise: a low score then reads as
underfitting, and the advice says to look for better features.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import check_cv, cross_val_score, learning_curve
from sklearn.utils.validation import check_is_fitted

from . import _advice
from ._pipeline import final_step

__all__ = ["Diagnosis", "diagnose"]

#: Overfitting: the training skill exceeds the validation skill by more than this...
GAP_THRESHOLD = 0.1
#: ...or by more than half of it while the validation skill still rises by more than
#: this per doubling of the training rows.
TREND_THRESHOLD = 0.02
#: Underfitting: a skill below this (half the way from the baseline to perfect).
SKILL_THRESHOLD = 0.5
#: History: the validation loss ending above its minimum by this share of the
#: minimum...
RISE_THRESHOLD = 0.1
#: ...and by this share of the baseline loss is a rise.
RISE_BASELINE_THRESHOLD = 0.02
#: History: at max_epochs, a fall of the training loss by more than this share of the
#: baseline loss over the last tenth of the epochs means training was cut short.
STILL_FALLING_THRESHOLD = 0.01

DEFAULT_TRAIN_SIZES = (0.1, 0.325, 0.55, 0.775, 1.0)


@dataclass(frozen=True, repr=False)
class Diagnosis:
    """The verdict of :func:`diagnose`, the numbers behind it and advice.

    Attributes
    ----------
    verdict : {"overfitting", "underfitting", "good_fit"}
        The verdict.
    train_score : float
        The training score (higher is better): the mean cross-validated training
        score at the largest training size, or the negated final training loss.
    validation_score : float
        The validation score, in the same units.
    gap : float
        ``train_score - validation_score``.
    evidence : str
        The reasoning behind the verdict, with its numbers.
    advice : list of str
        What to try, most promising first.
    source : {"learning_curve", "history"}
        What the diagnosis was made from.
    scoring : str
        The name of the score.
    baseline_score : float or None
        The cross-validated score of a dummy model (learning curve only).
    perfect_score : float or None
        The best possible score (learning curve only).
    train_sizes : ndarray or None
        The training sizes of the learning curve.
    train_scores, validation_scores : ndarray of shape (n_sizes, n_folds) or None
        The learning curve's scores.
    epochs, loss, val_loss : ndarray or None
        The history's epochs and losses (history only).
    rise_epoch : int or None
        The first epoch of a rise of the validation loss, when one was found.
    estimator_name : str
        The name of the estimator diagnosed.
    """

    verdict: str
    train_score: float
    validation_score: float
    gap: float
    evidence: str
    advice: list
    source: str
    scoring: str
    baseline_score: float | None = None
    perfect_score: float | None = None
    train_sizes: np.ndarray | None = None
    train_scores: np.ndarray | None = None
    validation_scores: np.ndarray | None = None
    epochs: np.ndarray | None = None
    loss: np.ndarray | None = None
    val_loss: np.ndarray | None = None
    rise_epoch: int | None = None
    estimator_name: str = field(default="")

    def plot(self, ax=None, **kwargs):
        """Draw the learning curve (or the loss curves) with the verdict as title.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **kwargs : dict
            Passed to :meth:`skfit.plotting.DiagnosisDisplay.plot`.

        Returns
        -------
        display : skfit.plotting.DiagnosisDisplay
        """
        # The one call up into the display layer, made when a plot is asked for.
        from ._diagnosis_display import DiagnosisDisplay

        return DiagnosisDisplay.from_diagnosis(self, ax=ax, **kwargs)

    def __repr__(self):
        return (
            f"Diagnosis(verdict={self.verdict!r}, train_score={self.train_score:.4g}, "
            f"validation_score={self.validation_score:.4g}, gap={self.gap:.4g})"
        )

    def __str__(self):
        lines = [f"verdict: {self.verdict}", self.evidence, "advice:"]
        lines += [f"  - {sentence}" for sentence in self.advice]
        return "\n".join(lines)


def diagnose(
    estimator,
    X=None,
    y=None,
    *,
    cv=5,
    train_sizes=DEFAULT_TRAIN_SIZES,
    scoring=None,
    n_jobs=None,
    random_state=None,
):
    """Diagnose over- or underfitting, with the evidence and what to try.

    With ``X`` and ``y``, the learning curve of a clone of ``estimator`` (any
    scikit-learn regressor, classifier or pipeline) is computed with
    :func:`sklearn.model_selection.learning_curve` and compared with a dummy
    baseline. With a fitted skfit estimator alone, its ``history_`` is read: a
    validation loss rising while the training loss falls is overfitting, from the
    epoch the rise began. The rules and their thresholds are in the module
    docstring of :mod:`skfit.diagnostics` and in the user guide.

    Parameters
    ----------
    estimator : estimator object
        A regressor or classifier (or a pipeline ending in one). Without ``X`` and
        ``y``, a fitted skfit estimator (or pipeline ending in one) trained with a
        validation share (``validation_fraction`` or ``early_stopping``).
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        Data for the learning curve.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets for the learning curve.
    cv : int, cross-validation generator or iterable, default=5
        The cross-validation splitting, as in ``learning_curve``; the baseline uses
        the same splits.
    train_sizes : array-like, default=(0.1, 0.325, 0.55, 0.775, 1.0)
        Training sizes, as fractions of the training folds or as row counts.
    scoring : str, callable or None, default=None
        The score; None uses the estimator's ``score`` (R² or accuracy).
    n_jobs : int or None, default=None
        Jobs to run in parallel, as in ``learning_curve``.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of the training rows before the subsets of each size
        are taken.

    Returns
    -------
    diagnosis : Diagnosis
        With ``verdict``, ``train_score``, ``validation_score``, ``gap``,
        ``evidence``, ``advice`` and ``plot(ax=None)``.

    Raises
    ------
    ValueError
        Without ``X`` and ``y``, when the estimator was fitted without a validation
        share: its history cannot show overfitting.

    See Also
    --------
    sklearn.model_selection.learning_curve : The learning curve used.
    skfit.plotting.DiagnosisDisplay : Plots a diagnosis.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skfit import diagnose
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-3, 3, size=(300, 1))
    >>> y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=300)
    >>> diagnosis = diagnose(Ridge(), X, y, cv=3, random_state=0)
    >>> diagnosis.verdict
    'underfitting'
    >>> diagnosis.advice[0]  # doctest: +ELLIPSIS
    'A more flexible model: ...'

    From the history of a skfit estimator fitted with a validation share:

    >>> from skfit import GDRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(80, 50))  # few noisy rows, many features
    >>> y = X[:, 0] + rng.normal(size=80)
    >>> est = GDRegressor(penalty=None, loss_threshold=0.05, validation_fraction=0.3,
    ...                   random_state=0).fit(X, y)
    >>> diagnosis = diagnose(est)
    >>> diagnosis.verdict, diagnosis.rise_epoch
    ('overfitting', 2)
    """
    if X is None and y is None:
        return _diagnose_history(estimator)
    if X is None or y is None:
        raise ValueError("Pass both X and y for a learning curve, or neither.")
    return _diagnose_learning_curve(
        estimator, X, y, cv, train_sizes, scoring, n_jobs, random_state
    )


# ------------------------------------------------------------------ the rules
def _skill_verdict(train_skill, validation_skill, trend):
    """Rules shared by both sources: ``(verdict, reason)`` from skills and trend."""
    gap = train_skill - validation_skill
    still_rising = bool(trend > TREND_THRESHOLD)
    if train_skill < SKILL_THRESHOLD:
        return "underfitting", (
            f"the training score closes only {train_skill:.0%} of the distance from "
            f"the baseline to a perfect score (below {SKILL_THRESHOLD:.0%}): the "
            "model does not fit even the rows it learns from"
        )
    if gap > GAP_THRESHOLD or (gap > GAP_THRESHOLD / 2 and still_rising):
        rule = (
            f"above {GAP_THRESHOLD:.0%}"
            if gap > GAP_THRESHOLD
            else f"above {GAP_THRESHOLD / 2:.0%} while more data still helps"
        )
        return "overfitting", (
            f"the training score exceeds the validation score by {gap:.0%} of the "
            f"distance from the baseline to a perfect score ({rule})"
        )
    if validation_skill < SKILL_THRESHOLD:
        return "underfitting", (
            f"the validation score closes only {validation_skill:.0%} of the "
            f"distance from the baseline to a perfect score (below "
            f"{SKILL_THRESHOLD:.0%}), with a small gap to training"
        )
    return "good_fit", (
        f"the validation score closes {validation_skill:.0%} of the distance from "
        f"the baseline to a perfect score, within {max(gap, 0):.0%} of the training "
        "score"
    )


# --------------------------------------------------------------- learning curve
def _score_name(estimator, scoring):
    if scoring is None:
        return "accuracy" if is_classifier(estimator) else "R²"
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", type(scoring).__name__)


def _perfect_score(scoring, train_score):
    """The best value a score can take (see the module docstring)."""
    if scoring is None:
        return 1.0
    if isinstance(scoring, str):
        return 0.0 if scoring.startswith("neg_") or scoring == "max_error" else 1.0
    # A callable: negated errors are at most 0, bounded scores at most 1.
    return 0.0 if train_score <= 0 else 1.0


def _diagnose_learning_curve(
    estimator, X, y, cv, train_sizes, scoring, n_jobs, random_state
):
    classifier = is_classifier(estimator)
    if not (classifier or is_regressor(estimator)):
        raise TypeError(
            "diagnose needs a regressor or a classifier, got "
            f"{type(estimator).__name__}."
        )
    cv = check_cv(cv, y, classifier=classifier)
    sizes, train_scores, validation_scores = learning_curve(
        clone(estimator),
        X,
        y,
        cv=cv,
        train_sizes=train_sizes,
        scoring=scoring,
        n_jobs=n_jobs,
        shuffle=True,
        random_state=random_state,
        error_score="raise",
    )
    dummy = DummyClassifier(strategy="prior") if classifier else DummyRegressor()
    baseline = float(
        np.mean(cross_val_score(dummy, X, y, cv=cv, scoring=scoring, n_jobs=n_jobs))
    )
    train_mean = train_scores.mean(axis=1)
    validation_mean = validation_scores.mean(axis=1)
    train, validation = float(train_mean[-1]), float(validation_mean[-1])
    name = _score_name(estimator, scoring)
    perfect = _perfect_score(scoring, train)
    headroom = perfect - baseline
    if not headroom > 1e-12 * (1 + abs(perfect)):
        raise ValueError(
            f"The dummy baseline already scores {baseline:.4g}, the best possible "
            f"{name}: there is nothing to diagnose."
        )
    # The trend of the validation skill per doubling of the training rows, each
    # fold's skill clipped to [0, 1] so that one wild fold cannot make it.
    trend = np.nan
    if len(sizes) > 1 and sizes[-1] > sizes[-2]:
        skills = np.clip((validation_scores[-2:] - baseline) / headroom, 0, 1)
        trend = round(
            float(skills[1].mean() - skills[0].mean()) / np.log2(sizes[-1] / sizes[-2]),
            9,
        )
    verdict, reason = _skill_verdict(
        (train - baseline) / headroom, (validation - baseline) / headroom, trend
    )
    trend_text = (
        ""
        if np.isnan(trend)
        else (
            f" From {sizes[-2]} to {sizes[-1]} rows the validation {name} (each "
            "fold's clipped to the range from the baseline to perfect) changed by "
            f"{trend * headroom:+.3g} per doubling of the training rows."
        )
    )
    evidence = (
        f"Learning curve ({len(sizes)} sizes, {train_scores.shape[1]} folds): with "
        f"{sizes[-1]} training rows the mean training {name} is {train:.3g} and the "
        f"validation {name} {validation:.3g} (gap {train - validation:.3g}), against "
        f"{baseline:.3g} for {type(dummy).__name__} and {perfect:g} for a perfect "
        f"model: {verdict}, as {reason}.{trend_text}"
    )
    advice = _advice.advise(
        verdict,
        estimator,
        more_data_helps=bool(trend > TREND_THRESHOLD),
        trend=trend * headroom,
    )
    return Diagnosis(
        verdict=verdict,
        train_score=train,
        validation_score=validation,
        gap=train - validation,
        evidence=evidence,
        advice=advice,
        source="learning_curve",
        scoring=name,
        baseline_score=baseline,
        perfect_score=perfect,
        train_sizes=sizes,
        train_scores=train_scores,
        validation_scores=validation_scores,
        estimator_name=type(final_step(estimator)[1]).__name__,
    )


# ---------------------------------------------------------------------- history
def _diagnose_history(estimator):
    model = final_step(estimator)[1]
    if not hasattr(type(model), "history_"):
        raise ValueError(
            f"{type(model).__name__} keeps no training history: pass X and y to "
            "diagnose it from a learning curve."
        )
    check_is_fitted(model)
    history = model.history_
    epochs, loss, val_loss = history["epoch"], history["loss"], history["val_loss"]
    validated = np.isfinite(val_loss) & np.isfinite(loss)
    if validated.sum() < 2:
        raise ValueError(
            f"{type(model).__name__} was fitted without a validation share, so its "
            "history cannot show overfitting. Refit it with validation_fraction=0.2 "
            "(or early_stopping=True), or pass X and y to diagnose it from a "
            "learning curve."
        )
    epochs, loss, val_loss = epochs[validated], loss[validated], val_loss[validated]
    val_score = float(history["val_score"][validated][-1])
    final_loss, final_val = float(loss[-1]), float(val_loss[-1])
    baseline, baseline_text = _baseline_loss(model, loss, val_loss, val_score)
    lowest = int(np.argmin(val_loss))
    rise = final_val - val_loss[lowest]
    rising = bool(
        rise > RISE_THRESHOLD * abs(val_loss[lowest])
        and rise > RISE_BASELINE_THRESHOLD * baseline
        and final_loss < loss[lowest]
    )
    rise_epoch = int(epochs[lowest + 1]) if rising else None
    span = max(1, len(loss) // 10)
    fall = float(loss[-span - 1] - loss[-1]) if len(loss) > span else np.inf
    if model.stop_reason_ in ("diverged", "spike"):
        verdict = "underfitting"
        reason = f"training stopped with stop_reason_={model.stop_reason_!r}"
    elif rising:
        verdict = "overfitting"
        reason = (
            f"the validation loss began to rise at epoch {rise_epoch}: from its "
            f"minimum {val_loss[lowest]:.4g} at epoch {epochs[lowest]} it ended "
            f"{rise / abs(val_loss[lowest]):.0%} higher (above "
            f"{RISE_THRESHOLD:.0%}; {rise / baseline:.0%} of the baseline loss, "
            f"above {RISE_BASELINE_THRESHOLD:.0%}) while the training loss kept "
            "falling"
        )
    elif model.stop_reason_ == "max_epochs" and fall > STILL_FALLING_THRESHOLD * (
        baseline
    ):
        verdict = "underfitting"
        reason = (
            f"training stopped at max_epochs={model.max_epochs} while the training "
            f"loss still fell by {fall:.3g} over the last {span} epoch(s) (above "
            f"{STILL_FALLING_THRESHOLD:.0%} of the baseline loss)"
        )
    else:
        # Losses as negated scores against the baseline loss and a perfect 0.
        verdict, reason = _skill_verdict(
            1 - final_loss / baseline, 1 - final_val / baseline, np.nan
        )
    evidence = (
        f"History of {len(history)} epochs (stopped by {model.stop_reason_!r}); "
        f"scores are the negated final losses: training loss {final_loss:.4g}, "
        f"validation loss {final_val:.4g} (gap {final_val - final_loss:.4g}), "
        f"against a baseline loss of {baseline:.4g} ({baseline_text}) and 0 for a "
        f"perfect model: {verdict}, as {reason}."
    )
    advice = _advice.advise(
        verdict, estimator, history_model=model, rise_epoch=rise_epoch
    )
    return Diagnosis(
        verdict=verdict,
        train_score=-final_loss,
        validation_score=-final_val,
        gap=final_val - final_loss,
        evidence=evidence,
        advice=advice,
        source="history",
        scoring="negated loss",
        baseline_score=-baseline,
        perfect_score=0.0,
        epochs=epochs,
        loss=loss,
        val_loss=val_loss,
        rise_epoch=rise_epoch,
        estimator_name=type(model).__name__,
    )


def _baseline_loss(model, loss, val_loss, val_score):
    """A loss that puts losses on a scale (see the module docstring)."""
    name = model.loss if isinstance(model.loss, str) else None
    classes = getattr(model, "classes_", None)
    if name == "log_loss" and classes is not None:
        return float(np.log(len(classes))), "the log-loss of equal class probabilities"
    if name == "squared_error" and val_score < 1 and val_loss[-1] > 0:
        return (
            float(val_loss[-1] / (1 - val_score)),
            "the loss of predicting the validation mean",
        )
    return float(max(loss[0], val_loss[0])), "the larger loss of the first epoch"
