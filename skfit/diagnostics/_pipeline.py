"""The final step of a pipeline, the estimator a diagnosis is about."""

__all__ = ["final_step"]


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
