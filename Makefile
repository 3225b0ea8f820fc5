# Two commands on a fresh machine: `make demo` (the path, quick) and `make test`.
# Each makes its own virtual environment in .venv and installs the project into it.
# TORCH picks the PyTorch build installed first, e.g. `make test TORCH=torch==2.13.0`.
VENV ?= .venv
TORCH ?= torch>=2.2
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e '.[dev,notebook]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dlf path --quick

test: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: $(STAMP)
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
