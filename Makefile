VENV ?= .venv
PYTHON := $(VENV)/bin/python

OLDEST ?= .venv-oldest

# Packages are installed with uv, which pip installs into each virtual environment
# from PyPI: it resolves the same versions as pip, several times faster (a fresh
# .venv with the dev extras: 18 s against pip's 85 s), and CI has 15 minutes.
# $(call INSTALL,venv) installs into that environment.
INSTALL = $(1)/bin/python -m uv pip install --quiet --python $(1)/bin/python

.PHONY: demo test test-oldest lint bench docs clean

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet uv

# The demo draws its loss curve, so it installs the plot extra.
$(VENV)/.installed: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(call INSTALL,$(VENV)) -e ".[plot]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(call INSTALL,$(VENV)) -e ".[dev,dask,onnx]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(PYTHON) -m skfit demo

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check skfit tests examples benchmarks docs
	$(VENV)/bin/ruff format --check skfit tests examples benchmarks docs
	$(VENV)/bin/lint-imports

# Two worker processes: one per core of the CI machine, each given whole test
# files (--dist loadfile): the tests of a file need the same compiled variants of
# the epoch loop, so that one worker compiles them while the other runs other
# files, rather than both waiting on the same compilation (a cold run: 6:06
# against 7:37, and a fifth less processor time). The property tests draw the same
# examples on every run (hypothesis's "repeatable" profile, in tests/conftest.py),
# so that the verdict is the code's; pytest run by hand draws new ones.
PYTEST_ARGS = -q -p no:cacheprovider -n 2 --dist loadfile --hypothesis-profile=repeatable

test: lint
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# The suite on the oldest numpy, scipy, scikit-learn and numba that setup.cfg admits.
$(OLDEST)/.installed: setup.cfg pyproject.toml requirements/oldest.txt
	python3 -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet uv
	$(call INSTALL,$(OLDEST)) -c requirements/oldest.txt -e ".[dev]"
	touch $@

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -m pytest $(PYTEST_ARGS)

# The documentation site, with Sphinx's warnings as errors; the gallery runs the
# examples (those whose optional extras are missing are shown without running).
$(VENV)/.installed-docs: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(call INSTALL,$(VENV)) -e ".[docs]"
	touch $@ $(VENV)/.installed

docs: $(VENV)/.installed-docs
	MPLBACKEND=Agg $(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed-dev
	$(PYTHON) benchmarks/run.py

clean:
	rm -rf $(VENV) $(OLDEST) build *.egg-info
	rm -rf docs/_build docs/api/generated docs/auto_examples docs/sg_execution_times.rst
