"""Doctests of the modules that need an optional extra run only where it is installed
(``make test-oldest`` runs without them)."""

from importlib.util import find_spec

_EXTRAS = {
    "skfit/dask.py": ("dask", "distributed"),
    "skfit/onnx.py": ("skl2onnx", "onnxruntime"),
}

collect_ignore = [
    path
    for path, modules in _EXTRAS.items()
    if any(find_spec(module) is None for module in modules)
]
