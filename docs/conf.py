"""Sphinx configuration of skfit's documentation (``make docs``)."""

import importlib.util
import re
import sys
from pathlib import Path

import skfit

# For the gallery's sort key, which sphinx-gallery imports by name.
sys.path.insert(0, str(Path(__file__).parent))

project = "skfit"
author = "the skfit developers"
copyright = "the skfit developers"
release = skfit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]

# The API reference: one page per public name, from the docstrings.
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Docstrings name types in prose ("array-like of shape (n, m)"); do not link them.
numpydoc_xref_param_type = False

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Figures of the user guide: the code shown is the code run.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (7, 3.8), "figure.constrained_layout.use": True}

html_theme = "pydata_sphinx_theme"
html_title = f"skfit {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # The comparison's six-column table takes the page's whole width.
    "secondary_sidebar_items": {"**": ["page-toc"], "comparison": []},
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["skfit.css"]
# Pages without sub-pages need no section navigation: their width goes to the text.
html_sidebars = {
    page: [] for page in ("index", "getting_started", "command_line", "comparison")
}

# The gallery. An example that needs an optional extra names the modules in a
# comment line "# requires: dask, dask_ml"; when one is missing here, the
# example is shown without being run (tests/test_examples.py skips it likewise).
EXAMPLES = Path(__file__).parent.parent / "examples"
REQUIRES = re.compile(r"^# requires: (.+)$", re.MULTILINE)


def _runnable(path):
    match = REQUIRES.search(path.read_text())
    names = [] if match is None else [n.strip() for n in match[1].split(",")]
    return all(importlib.util.find_spec(name) is not None for name in names)


_RUN = [re.escape(p.name) for p in sorted(EXAMPLES.glob("plot_*.py")) if _runnable(p)]

sphinx_gallery_conf = {
    "examples_dirs": str(EXAMPLES),
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/(" + "|".join(_RUN) + ")$",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    # Only rich reprs (a DataFrame, an estimator): a Legend or a Display object
    # returned by the last line of a block is no output worth showing.
    "capture_repr": ("_repr_html_",),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "show_signature": False,
    "within_subsection_order": "_gallery_order.TeachingOrder",
}


def _unlink_scikit_learn_refs(app, what, name, obj, options, lines):
    """Keep the text of the :ref: and :term: links in the docstrings inherited
    from scikit-learn (``score``'s "coefficient of determination <r2_score>"):
    they point into scikit-learn's documentation, which an offline build cannot
    resolve."""
    if getattr(obj, "__module__", "").partition(".")[0] != "sklearn":
        return
    for i, line in enumerate(lines):
        line = re.sub(r":(?:ref|term):`([^`<]+?)\s*<[^`>]+>`", r"\1", line)
        lines[i] = re.sub(r":(?:ref|term):`([^`]+)`", r"\1", line)


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_scikit_learn_refs)
