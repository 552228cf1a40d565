# Two commands for a fresh machine with Python 3.10+ and make:
#   make demo   - create .venv, install ember and the example extras, run the main job
#   make test   - create/update .venv with the dev extras and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test venv bench lint clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.dev-installed: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -q -e ".[dev]"
	touch $@

$(VENV)/.demo-installed: $(VENV)/bin/activate pyproject.toml
	$(PIP) install -q -e ".[examples]"
	touch $@

demo: $(VENV)/.demo-installed
	$(PY) examples/convnet_digits.py

test: $(VENV)/.dev-installed
	$(PY) -m pytest -q $(PYTEST_ARGS)
	@echo "GPU tier on the strict CuPy stand-in (tests/gpu/strict_cupy.py; no GPU needed):"
	EMBER_STRICT_CUPY=1 $(PY) -m pytest -q -m gpu tests/gpu -p no:cacheprovider

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/run.py

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check ember tests benchmarks examples

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
