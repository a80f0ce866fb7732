"""The final step of a pipeline, the estimator a diagnosis is about."""

from sklearn.utils.validation import check_is_fitted

__all__ = ["final_step", "fitted_model"]


def final_step(estimator):
    """``(path, final)``: a pipeline's last step, recursively, and the parameter
    path that leads to it (``""`` and the estimator itself when it is no pipeline).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfit import GDRegressor
    >>> final_step(make_pipeline(StandardScaler(), GDRegressor()))
    ('gdregressor', GDRegressor())
    """
    path = []
    while hasattr(estimator, "steps"):
        name, estimator = estimator.steps[-1]
        path.append(name)
    return "__".join(path), estimator


def fitted_model(estimator, attribute, user):
    """The final step of ``estimator``, checked to be fitted and to keep the
    fitted ``attribute`` of skfit's estimators (a TypeError naming ``user``, the
    function that needs it, otherwise)."""
    model = final_step(estimator)[1]
    if not hasattr(type(model), attribute):
        raise TypeError(
            f"{type(model).__name__} keeps no {attribute}: {user} needs a skfit "
            "estimator."
        )
    check_is_fitted(model)
    return model
