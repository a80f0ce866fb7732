"""Every example of the gallery (examples/plot_*.py) runs, with the Agg backend.

An example that needs an optional extra says so in a comment line such as
``# requires: dask, dask_ml`` (import names); it is skipped when one of them is
missing, as the documentation build then shows it without running it.
"""

import ast
import re
import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))
REQUIRES = re.compile(r"^# requires: (.+)$", re.MULTILINE)

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")


def requirements(path):
    """The import names an example's ``# requires:`` line lists."""
    match = REQUIRES.search(path.read_text())
    return [] if match is None else [name.strip() for name in match[1].split(",")]


def test_there_are_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name in requirements(path):
        pytest.importorskip(name)
    # sphinx-gallery titles the example by the first line of its docstring,
    # underlined.
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    title, underline = docstring.splitlines()[:2]
    assert title and set(underline) == {"="} and len(underline) >= len(title)
    monkeypatch.chdir(tmp_path)  # whatever an example writes lands here
    try:
        runpy.run_path(str(path), run_name="__main__")
        assert plt.get_fignums(), f"{path.name} draws no figure"
    finally:
        plt.close("all")
