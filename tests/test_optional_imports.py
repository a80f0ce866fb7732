"""The optional extras stay optional: ``import skfit`` loads none of them, and the
modules that need one say how to install it."""

import subprocess
import sys

import pytest

EXTRA_MODULES = ("dask", "distributed", "dask_ml", "onnx", "skl2onnx", "onnxruntime")


def _python(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )


def test_import_skfit_loads_no_extra():
    result = _python(
        "import sys, skfit\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {EXTRA_MODULES}))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "module, missing, extra",
    [("skfit.dask", "dask", "dask"), ("skfit.onnx", "skl2onnx", "onnx")],
)
def test_a_missing_extra_names_its_install_command(module, missing, extra):
    # A None entry in sys.modules makes the import fail as if not installed.
    result = _python(f"import sys; sys.modules[{missing!r}] = None; import {module}")
    assert result.returncode != 0
    assert f'pip install "skfit[{extra}]"' in result.stderr
