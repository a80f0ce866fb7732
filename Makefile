VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip

.PHONY: demo test lint bench clean

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(PYTHON) -m skfit demo

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check skfit tests examples benchmarks
	$(VENV)/bin/ruff format --check skfit tests examples benchmarks

test: lint
	$(PYTHON) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-dev
	$(PYTHON) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
