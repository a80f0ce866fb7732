"""The ``skfit`` command line on generated CSV files."""

import re
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skfit import GDRegressor, find_learning_rate
from skfit.__main__ import main
from skfit._cli._data import preprocessor

pd = pytest.importorskip("pandas")

# The fits here are short on purpose; warnings are printed as lines, not raised.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def regression_csv(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["price"] = 3 * frame.a - 2 * frame.b + 0.1 * rng.normal(size=300)
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def classification_csv(tmp_path):
    """Two numeric columns and a text one, with missing values in both kinds."""
    rng = np.random.RandomState(0)
    n = 300
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n) * 10 + 5,
            "city": rng.choice(["paris", "rome", "oslo"], n),
        }
    )
    frame["label"] = np.where(frame.x1 + 2 * (frame.city == "rome") > 0.5, "yes", "no")
    frame.loc[rng.choice(n, 20, replace=False), "x2"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "city"] = np.nan
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    return path


def run(capsys, *argv):
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_train_a_regression_writes_model_history_and_plot(
    regression_csv, tmp_path, capsys
):
    pytest.importorskip("matplotlib")
    output = tmp_path / "out"
    status, out, _ = run(
        capsys,
        "train",
        regression_csv,
        "--target",
        "price",
        "--epochs",
        "60",
        "--learning-rate",
        "0.05",
        "--output",
        output,
    )
    assert status == 0
    assert "task: regression" in out
    assert sorted(p.name for p in output.iterdir()) == [
        "history.csv",
        "loss_curve.png",
        "model.joblib",
    ]
    model = joblib.load(output / "model.joblib")
    regressor = model[-1]
    assert type(regressor).__name__ == "GDRegressor"
    assert regressor.learning_rate == 0.05 and regressor.max_epochs == 60
    assert regressor.validation_fraction == 0.2
    frame = pd.read_csv(regression_csv)
    X, y = frame.drop(columns="price"), frame.price
    assert model.score(X, y) > 0.99
    history = pd.read_csv(output / "history.csv", index_col="epoch")
    assert len(history) == regressor.n_epochs_
    np.testing.assert_allclose(history["loss"], regressor.history_["loss"])
    assert f"stopped by: {regressor.stop_reason_} after {regressor.n_epochs_}" in out
    assert "diagnosis from the history:\nverdict: " in out
    assert (output / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_train_a_classifier_on_text_and_missing_values(
    classification_csv, tmp_path, capsys
):
    status, out, _ = run(
        capsys,
        "train",
        classification_csv,
        "--target",
        "label",
        "--validation-fraction",
        "0.25",
        "--batch-size",
        "16",
        "--output",
        tmp_path,
    )
    assert status == 0
    assert "task: classification (the target 'label' has 2 distinct values)" in out
    model = joblib.load(tmp_path / "model.joblib")
    classifier = model[-1]
    assert list(classifier.classes_) == ["no", "yes"]
    assert classifier.batch_size == 16
    # The text column is one-hot encoded: three cities, after imputation.
    encoder = model[0].named_transformers_["categorical"][-1]
    assert [list(c) for c in encoder.categories_] == [["oslo", "paris", "rome"]]
    frame = pd.read_csv(classification_csv)
    X = frame.drop(columns="label")
    assert X[["x2", "city"]].isna().any().all()
    assert model.score(X, frame.label) > 0.9
    # The saved model predicts rows with missing values and unseen cities.
    row = pd.DataFrame({"x1": [2.0], "x2": [np.nan], "city": ["lima"]})
    assert model.predict(row)[0] == "yes"

    # report reads the same model back.
    status, report, _ = run(capsys, "report", tmp_path / "model.joblib")
    assert status == 0
    assert "GDClassifier in a pipeline (columntransformer -> gdclassifier)" in report
    stopped = re.search(r"stopped by: .*", out).group(0)
    assert stopped in report
    last_row = out.split("\nstopped by")[0].splitlines()[-1]
    assert last_row in report
    assert "loss spikes:" in report and "verdict: " in report


def test_rows_without_a_target_are_left_out(regression_csv, tmp_path, capsys):
    frame = pd.read_csv(regression_csv)
    frame.loc[[3, 7], "price"] = np.nan
    frame.to_csv(regression_csv, index=False)
    status, out, _ = run(
        capsys, "train", regression_csv, "--target", "price", "--output", tmp_path
    )
    assert status == 0
    assert "2 rows without a 'price' value are left out" in out
    assert "on 298 rows and 3 columns" in out


def test_find_lr_prints_the_suggestion_and_writes_the_plot(
    regression_csv, tmp_path, capsys
):
    pytest.importorskip("matplotlib")
    status, out, _ = run(
        capsys, "find-lr", regression_csv, "--target", "price", "--output", tmp_path
    )
    assert status == 0
    suggestion = float(re.search(r"suggested learning rate: (\S+)", out).group(1))
    # The same test through the Python API, on the pipeline train would build.
    frame = pd.read_csv(regression_csv)
    X = frame.drop(columns="price")
    expected = find_learning_rate(
        make_pipeline(preprocessor(X), GDRegressor(random_state=0)), X, frame.price
    ).suggestion
    assert suggestion == pytest.approx(expected, rel=5e-3)
    assert f"--learning-rate {suggestion:.3g}" in out
    assert (tmp_path / "learning_rate_finder.png").read_bytes()[:4] == b"\x89PNG"


def assert_one_line_error(status, out, err, message):
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("skfit: error: ")
    assert message in err


def test_missing_file(tmp_path, capsys):
    status, out, err = run(
        capsys, "train", tmp_path / "nope.csv", "--target", "y", "--output", tmp_path
    )
    assert_one_line_error(status, out, err, "nope.csv: no such file")
    assert list(tmp_path.iterdir()) == []


def test_unknown_column(regression_csv, tmp_path, capsys):
    status, out, err = run(
        capsys, "train", regression_csv, "--target", "cost", "--output", tmp_path
    )
    assert_one_line_error(
        status, out, err, "has no column 'cost'; its columns: a, b, c, price"
    )
    assert not (tmp_path / "model.joblib").exists()


def test_target_with_one_class(classification_csv, tmp_path, capsys):
    frame = pd.read_csv(classification_csv)
    frame["label"] = "yes"
    frame.to_csv(classification_csv, index=False)
    status, out, err = run(
        capsys, "train", classification_csv, "--target", "label", "--output", tmp_path
    )
    assert_one_line_error(
        status,
        out,
        err,
        "the target 'label' has one class ('yes'): there is nothing to learn",
    )
    assert not (tmp_path / "model.joblib").exists()


def test_classifier_asked_for_a_continuous_target(regression_csv, capsys):
    status, out, err = run(
        capsys,
        "find-lr",
        regression_csv,
        "--target",
        "price",
        "--model",
        "gd-classifier",
    )
    assert_one_line_error(status, out, err, "needs class labels")


def test_unreadable_model(tmp_path, capsys):
    path = tmp_path / "model.joblib"
    path.write_bytes(b"not a pickle")
    status, out, err = run(capsys, "report", path)
    assert_one_line_error(status, out, err, "is not a readable model file")


def test_model_that_is_not_skfit(tmp_path, capsys):
    path = tmp_path / "ridge.joblib"
    joblib.dump(Ridge().fit([[0.0], [1.0]], [0.0, 1.0]), path)
    status, out, err = run(capsys, "report", path)
    assert_one_line_error(status, out, err, "holds a Ridge, not a fitted skfit")


def test_command_line_exit_status_and_stderr(tmp_path):
    """The installed module run as a process: one line on stderr, status 1."""
    result = subprocess.run(
        [sys.executable, "-m", "skfit", "report", str(tmp_path / "gone.joblib")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr == f"skfit: error: {tmp_path / 'gone.joblib'}: no such file\n"
    assert result.stdout == ""


def test_train_without_pandas_names_the_install(regression_csv):
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["pandas"] = None
        from skfit.__main__ import main
        sys.exit(main(["train", {str(regression_csv)!r}, "--target", "price"]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr == (
        "skfit: error: reading CSV files needs pandas: pip install pandas (or "
        '"skfit[cli]")\n'
    )


def test_demo_on_a_regression_dataset(tmp_path, capsys):
    status, out, _ = run(
        capsys, "demo", "--dataset", "diabetes", "--output", tmp_path / "curve.png"
    )
    assert status == 0
    assert "GDRegressor on scikit-learn's diabetes data" in out
    r2 = float(re.search(r"test R²: (\S+)", out).group(1))
    assert 0.3 < r2 < 0.7  # a linear model on diabetes: about 0.5
