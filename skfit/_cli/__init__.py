"""The ``skfit`` command line (also ``python -m skfit``).

``skfit demo`` trains on a dataset bundled with scikit-learn; ``skfit train`` on a
CSV file, saving the fitted pipeline, its history and loss curve; ``skfit find-lr``
runs a learning-rate range test; ``skfit report`` describes a saved model. Errors
in the user's input print one line, ``skfit: error: ...``, and exit with status 1.
"""

import argparse
import sys

from ._commands import DEMO_DATASETS, demo, find_lr, report, train
from ._data import MODELS
from ._errors import CommandError

__all__ = ["main"]


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


def _fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _add_data_arguments(parser):
    parser.add_argument("data", metavar="DATA.csv", help="a CSV file with a header row")
    parser.add_argument(
        "--target", required=True, metavar="COL", help="the column to predict"
    )
    parser.add_argument(
        "--model",
        choices=MODELS,
        help="the estimator; by default a linear classifier for a target of class "
        "labels (text, or at most 10 whole numbers), a linear regressor otherwise",
    )
    parser.add_argument("--batch-size", type=_positive_int, metavar="N")
    parser.add_argument("--random-state", type=int, default=0, metavar="SEED")
    parser.add_argument(
        "--output", default=".", metavar="DIR", help="where to write the files"
    )


def build_parser():
    """The argument parser of the ``skfit`` command."""
    parser = argparse.ArgumentParser(
        prog="skfit",
        description="Train scikit-learn compatible gradient-descent models and see "
        "how they learned.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo", help=demo.__doc__, description=demo.__doc__
    )
    demo_parser.add_argument(
        "--dataset", choices=DEMO_DATASETS, default="breast_cancer"
    )
    demo_parser.add_argument(
        "--learning-rate",
        type=_positive_float,
        metavar="X",
        help="by default one that suits the dataset",
    )
    demo_parser.add_argument("--max-epochs", type=_positive_int, default=200)
    demo_parser.add_argument("--random-state", type=int, default=0)
    demo_parser.add_argument(
        "--output",
        default="loss_curve.png",
        metavar="PATH",
        help="where to write the loss-curve PNG (default: ./loss_curve.png)",
    )
    demo_parser.set_defaults(handler=demo)

    train_parser = commands.add_parser(
        "train",
        help=train.__doc__,
        description=train.__doc__
        + " Non-numeric columns are one-hot encoded, missing values imputed and "
        "numeric columns scaled, in a pipeline saved whole to DIR/model.joblib, "
        "beside history.csv and loss_curve.png.",
    )
    _add_data_arguments(train_parser)
    train_parser.add_argument(
        "--epochs", type=_positive_int, metavar="N", help="max_epochs"
    )
    train_parser.add_argument("--learning-rate", type=_positive_float, metavar="X")
    train_parser.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="the share held out to watch for overfitting (default 0.2; 0 for none)",
    )
    train_parser.set_defaults(handler=train)

    find_lr_parser = commands.add_parser(
        "find-lr",
        help=find_lr.__doc__,
        description=find_lr.__doc__ + " Writes DIR/learning_rate_finder.png.",
    )
    _add_data_arguments(find_lr_parser)
    find_lr_parser.set_defaults(handler=find_lr)

    report_parser = commands.add_parser(
        "report",
        help=report.__doc__,
        description=report.__doc__
        + " Loading a model file runs code stored in it: load only files you trust.",
    )
    report_parser.add_argument("model_file", metavar="MODEL.joblib")
    report_parser.set_defaults(handler=report)
    return parser


def main(argv=None):
    """Run the ``skfit`` command with ``argv`` (None: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 after an error in the input (printed as one line on
        standard error), 130 when ``train`` was interrupted (the model learned
        so far is saved). argparse exits with 2 on a malformed command.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as error:
        print(f"skfit: error: {error}", file=sys.stderr)
        return 1
