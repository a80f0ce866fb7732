VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip

OLDEST ?= .venv-oldest

.PHONY: demo test test-oldest lint bench clean

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The demo draws its loss curve, so it installs the plot extra.
$(VENV)/.installed: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(PIP) install --quiet -e ".[plot]"
	touch $@

# The suite runs with the fast extra, so that it covers the compiled loop.
$(VENV)/.installed-dev: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(PIP) install --quiet -e ".[dev,fast,dask,onnx]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(PYTHON) -m skfit demo

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check skfit tests examples benchmarks
	$(VENV)/bin/ruff format --check skfit tests examples benchmarks

test: lint
	$(PYTHON) -m pytest -q -p no:cacheprovider

# The suite on the oldest numpy, scipy and scikit-learn that setup.cfg admits, and
# without the fast extra: every fit goes through the Python loop.
$(OLDEST)/.installed: setup.cfg pyproject.toml requirements/oldest.txt
	python3 -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -c requirements/oldest.txt -e ".[dev]"
	touch $@

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-dev
	$(PYTHON) benchmarks/run.py

clean:
	rm -rf $(VENV) $(OLDEST) build *.egg-info
