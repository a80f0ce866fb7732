"""The README's example runs and prints what the README shows it printing.

Numbers are compared to 4 significant digits, so that the rounding of another
platform (or of the Python loop against the compiled one) does not matter. When
training changes on purpose, update the README's output block, and redraw its
picture by running the example in docs/images/.
"""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")

pytest.importorskip("matplotlib")


def _blocks(text):
    return re.findall(r"```(\w*)\n(.*?)```", text, re.DOTALL)


def _tokens(text):
    """The text with its numbers taken out, and the numbers."""
    return NUMBER.sub("#", text).split(), [float(n) for n in NUMBER.findall(text)]


def test_readme_example_prints_what_the_readme_shows(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = _blocks(README.read_text())
    code = next(body for lang, body in blocks if lang == "python")
    shown = next(body for lang, body in blocks if lang == "text")
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    plt.close("all")
    words, numbers = _tokens(out.getvalue())
    shown_words, shown_numbers = _tokens(shown)
    assert words == shown_words, out.getvalue()
    assert numbers == pytest.approx(shown_numbers, rel=1e-4), out.getvalue()
    assert (tmp_path / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
