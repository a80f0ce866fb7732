"""The optional extras stay optional: ``import skfit`` loads none of them, and the
modules that need one say how to install it."""

import json
import subprocess
import sys

EXTRA_MODULES = ("dask", "distributed", "dask_ml", "onnx", "skl2onnx", "onnxruntime")

# One interpreter for every check: importing skfit is most of the time.
PROBE = f"""
import json, sys
import skfit
report = {{"loaded": sorted(
    m for m in sys.modules if m.split(".")[0] in {EXTRA_MODULES!r}
)}}
# A None entry in sys.modules makes an import fail as if not installed.
for module, missing in [("skfit.dask", "dask"), ("skfit.onnx", "skl2onnx")]:
    sys.modules[missing] = None
    try:
        __import__(module)
    except ImportError as error:
        report[module] = str(error)
print(json.dumps(report))
"""


def test_extras_stay_optional():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["loaded"] == []
    assert 'pip install "skfit[dask]"' in report["skfit.dask"]
    assert 'pip install "skfit[onnx]"' in report["skfit.onnx"]
