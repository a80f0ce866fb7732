"""The commands: demo, train, find-lr and report."""

from pathlib import Path

from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..diagnostics import find_learning_rate
from ..diagnostics._pipeline import final_step
from ..linear_model import GDClassifier, GDRegressor
from ..plotting import LossCurveDisplay
from ._data import MODELS, choose_model, preprocessor, read_csv, split_target
from ._errors import CommandError
from ._report import describe, warnings_as_lines, write_figure

#: The datasets of ``skfit demo``: bundled with scikit-learn (no download), with
#: the estimator and a learning rate that suit each.
DEMO_DATASETS = {
    "breast_cancer": (datasets.load_breast_cancer, GDClassifier, 0.01),
    "iris": (datasets.load_iris, GDClassifier, 0.1),
    "wine": (datasets.load_wine, GDClassifier, 0.01),
    "digits": (datasets.load_digits, GDClassifier, 0.01),
    "diabetes": (datasets.load_diabetes, GDRegressor, 1.0),
}
#: The exit status after Ctrl-C, as a shell reports a process ended by SIGINT.
INTERRUPTED = 130


def demo(args):
    """Train on a dataset bundled with scikit-learn and show how it learned."""
    loader, estimator, learning_rate = DEMO_DATASETS[args.dataset]
    X, y = loader(return_X_y=True)
    is_classifier = estimator is GDClassifier
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=0.25,
        stratify=y if is_classifier else None,
        random_state=args.random_state,
    )
    model = estimator(
        learning_rate=learning_rate
        if args.learning_rate is None
        else args.learning_rate,
        max_epochs=args.max_epochs,
        validation_fraction=0.2,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=args.random_state,
    )
    print(f"skfit demo: {estimator.__name__} on scikit-learn's {args.dataset} data")
    print(
        f"{X_train.shape[0]} training rows (20% held out for validation), "
        f"{X_test.shape[0]} test rows, {X.shape[1]} features"
    )
    pipeline = make_pipeline(StandardScaler(), model)
    with warnings_as_lines():
        pipeline.fit(X_train, y_train)
    describe(model)
    score = "accuracy" if is_classifier else "R²"
    print(f"\ntest {score}: {pipeline.score(X_test, y_test):.3f}")
    _write_loss_curve(model, Path(args.output))
    return 0


def train(args):
    """Train a model on a CSV file, show how it learned and save it."""
    frame = read_csv(args.data)
    X, y = split_target(frame, args.target, args.data)
    estimator = choose_model(y, args.model, args.target)
    model = _estimator(
        estimator,
        max_epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        validation_fraction=args.validation_fraction or None,
        random_state=args.random_state,
        verbose=1 if _has_tqdm() else 0,
    )
    pipeline = make_pipeline(preprocessor(X), model)
    output = _output_directory(args.output)
    print(
        f"{estimator.__name__} on {X.shape[0]} rows and {X.shape[1]} columns of "
        f"{args.data}"
    )
    status = 0
    try:
        with warnings_as_lines():
            pipeline.fit(X, y)
    except KeyboardInterrupt:
        if "stop_reason_" not in vars(model):
            raise
        # skfit kept everything learned so far: save it.
        print("interrupted: the model learned so far is saved")
        status = INTERRUPTED
    except ValueError as exc:
        raise CommandError(f"training failed: {exc}") from None
    describe(model, row_names=X.index)
    _save(pipeline, model, output)
    return status


def find_lr(args):
    """Run a learning-rate range test on a CSV file and suggest a learning rate."""
    frame = read_csv(args.data)
    X, y = split_target(frame, args.target, args.data)
    estimator = choose_model(y, args.model, args.target)
    model = _estimator(
        estimator, batch_size=args.batch_size, random_state=args.random_state
    )
    pipeline = make_pipeline(preprocessor(X), model)
    with warnings_as_lines():
        try:
            result = find_learning_rate(pipeline, X, y)
        except ValueError as exc:
            raise CommandError(f"the range test failed: {exc}") from None
    print(
        f"learning-rate range test of {estimator.__name__}: {len(result.losses)} "
        f"updates from {result.learning_rates[0]:.3g} to "
        f"{result.learning_rates[-1]:.3g} ({result.stop_reason})"
    )
    print(f"suggested learning rate: {result.suggestion:.3g}")
    print(
        f"  skfit train {args.data} --target {args.target} "
        f"--model {_model_name(estimator)} --learning-rate {result.suggestion:.3g}"
    )
    write_figure(
        _output_directory(args.output) / "learning_rate_finder.png",
        lambda ax: result.plot(ax=ax),
        "learning-rate plot",
    )
    return 0


def report(args):
    """Show the history, stop reason, spikes and diagnosis of a saved model."""
    import joblib

    path = Path(args.model_file)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        saved = joblib.load(path)
    except Exception as exc:  # unpickling can fail in any way a file can be wrong
        raise CommandError(f"{path} is not a readable model file ({exc!r})") from None
    model = final_step(saved)[1]
    if not hasattr(type(model), "history_") or "stop_reason_" not in vars(model):
        raise CommandError(
            f"{path} holds a {type(saved).__name__}, not a fitted skfit estimator "
            "(or a pipeline ending in one)"
        )
    steps = (
        " -> ".join(name for name, _ in saved.steps)
        if isinstance(saved, Pipeline)
        else ""
    )
    print(
        f"{path}: {type(model).__name__}"
        + (f" in a pipeline ({steps})" if steps else "")
    )
    describe(model)
    return 0


def _estimator(estimator, **params):
    """``estimator`` with the ``params`` given (not None); defaults for the rest."""
    return estimator(
        **{name: value for name, value in params.items() if value is not None}
    )


def _save(pipeline, model, output):
    import joblib

    joblib.dump(pipeline, output / "model.joblib")
    print(f"\nmodel written to {(output / 'model.joblib').resolve()}")
    model.history_.to_frame().to_csv(output / "history.csv")
    print(f"history written to {(output / 'history.csv').resolve()}")
    _write_loss_curve(model, output / "loss_curve.png")


def _write_loss_curve(model, path):
    write_figure(
        path, lambda ax: LossCurveDisplay.from_estimator(model, ax=ax), "loss curve"
    )


def _output_directory(name):
    path = Path(name)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(
            f"cannot create the output directory {path}: {exc}"
        ) from None
    return path


def _has_tqdm():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        print('(no progress bar: pip install tqdm, or "skfit[cli]")')
        return False
    return True


def _model_name(estimator):
    return next(name for name, cls in MODELS.items() if cls is estimator)
