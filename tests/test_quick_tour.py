"""examples/quick_tour.ipynb runs on a real Jupyter kernel, cleanly."""

import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parent.parent / "examples" / "quick_tour.ipynb"

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from jupyter_client.manager import KernelManager

    workdir = tmp_path_factory.mktemp("quick_tour")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # IPC rather than TCP: the kernel then logs no warning about unencrypted
    # TCP, which would land in a cell's output. Its socket files go to workdir.
    manager = KernelManager(
        kernel_name="python3", transport="ipc", ip=str(workdir / "kernel")
    )
    client = nbclient.NotebookClient(
        notebook,
        km=manager,
        timeout=600,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def _outputs(notebook):
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            yield index, output


def _texts(output):
    if output.output_type == "stream":
        yield output.text
    for key in ("text/plain", "text/html"):
        if key in output.get("data", {}):
            yield output.data[key]
    if output.output_type == "error":
        yield f"{output.ename}: {output.evalue}"


def test_no_error_and_no_warning_in_any_cell(executed):
    for index, output in _outputs(executed):
        assert output.output_type != "error", (index, output.ename, output.evalue)
        assert output.get("name") != "stderr", (index, output.text)
        for text in _texts(output):
            # Python's warnings print their class (ConvergenceWarning, ...);
            # loggers print WARNING. (Plain "warn" is a spike_policy value.)
            assert not re.search(r"Warning\b|WARNING", text), (index, text)


def test_every_progress_bar_ended_full_and_green(executed):
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    models = state["state"].values()
    bars = [m["state"] for m in models if m["model_name"] == "FloatProgressModel"]
    # The first fit and the grid search's refit; none from the search's workers.
    assert len(bars) == 2
    for bar in bars:
        assert bar["bar_style"] == "success"
        assert bar["value"] == bar["max"] > 0
    texts = [m["state"]["value"] for m in models if m["model_name"] == "HTMLModel"]
    assert sum("stop_reason=early_stopping" in text for text in texts) == 2


def test_the_history_shows_a_table_and_a_curve(executed):
    html = [
        output.data["text/html"]
        for _, output in _outputs(executed)
        if "text/html" in output.get("data", {})
        and "History of" in output.data["text/html"]
    ]
    # The estimator's repr (a collapsed section) and the history's own.
    assert len(html) == 2
    for page in html:
        assert "<table" in page and "<svg" in page and "<polyline" in page


def test_live_loss_plot_left_one_figure(executed):
    (cell,) = [c for c in executed.cells if "LiveLossPlot(" in c.source]
    displays = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(displays) == 1
    html = displays[0].data["text/html"]
    assert "<svg" in html and "stop_reason_=&#x27;tol&#x27;" in html
    # The epochs with spikes are marked.
    assert html.count('stroke="#d62728"') >= 3
