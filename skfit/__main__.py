"""The command line: ``python -m skfit demo``."""

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def demo(args):
    """Train a classifier on a bundled dataset and show how it learned."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .diagnostics import diagnose
    from .linear_model import GDClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    classifier = GDClassifier(
        learning_rate=args.learning_rate,
        max_epochs=args.max_epochs,
        validation_fraction=0.2,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=args.random_state,
    )
    model = make_pipeline(StandardScaler(), classifier).fit(X_train, y_train)

    print("skfit demo: GDClassifier on scikit-learn's breast cancer data")
    print(
        f"{X_train.shape[0]} training rows (20% held out for validation), "
        f"{X_test.shape[0]} test rows, {X.shape[1]} features\n"
    )
    print(f"{'epoch':>5}  {'loss':>9}  {'val_loss':>9}  {'val_acc':>7}  {'lr':>8}")
    for record in classifier.history_:
        print(
            f"{record['epoch']:>5d}  {record['loss']:>9.5f}  {record['val_loss']:>9.5f}"
            f"  {record['val_score']:>7.3f}  {record['learning_rate']:>8.3g}"
        )
    print(
        f"\nstopped by: {classifier.stop_reason_} after {classifier.n_epochs_} epochs "
        f"({classifier.t_} updates); converged: {classifier.converged_}"
    )
    print(
        f"best epoch: {classifier.best_epoch_} (validation loss "
        f"{classifier.best_loss_:.5f}), its parameters restored"
    )
    print(f"loss spikes: {len(classifier.spikes_)}")
    print(f"test accuracy: {model.score(X_test, y_test):.3f}")

    diagnosis = diagnose(classifier)
    print(f"\ndiagnosis: {diagnosis.verdict}")
    print(diagnosis.evidence)
    print("advice:")
    for sentence in diagnosis.advice:
        print(f"  - {sentence}")
    _write_loss_curve(classifier, Path(args.output))
    return 0


def _write_loss_curve(estimator, path):
    """Save the loss-curve PNG, or say how to get one without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(
            "\nloss-curve plot skipped: matplotlib is not installed "
            '(pip install "skfit[plot]")'
        )
        return
    from .plotting import LossCurveDisplay

    # A bare Figure draws without pyplot, so no display or GUI backend is needed.
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    LossCurveDisplay.from_estimator(estimator, ax=figure.subplots())
    figure.savefig(path, dpi=120)
    print(f"\nloss curve written to {path.resolve()}")


def main(argv=None):
    """Entry point of the ``skfit`` command."""
    parser = argparse.ArgumentParser(prog="skfit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help=demo.__doc__)
    demo_parser.add_argument("--learning-rate", type=float, default=0.01)
    demo_parser.add_argument("--max-epochs", type=int, default=200)
    demo_parser.add_argument("--random-state", type=int, default=0)
    demo_parser.add_argument(
        "--output",
        default="loss_curve.png",
        help="where to write the loss-curve PNG (default: ./loss_curve.png)",
    )
    demo_parser.set_defaults(handler=demo)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
