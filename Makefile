# Two commands on a fresh machine: `make demo` (the path, quick) and `make test`.
# Each makes its own virtual environment in .venv and installs the project into it.
# TORCH picks the PyTorch build installed first, e.g. `make test TORCH=torch==2.13.0`;
# TORCH_INDEX the package index it comes from, e.g. PyTorch's CPU-only builds:
# `make test TORCH_INDEX=https://download.pytorch.org/whl/cpu` (see the README's quick start).
# With TORCH alone an installed torch that satisfies it is kept; with TORCH_INDEX, --upgrade
# replaces it by the newest match on that index (pip cannot tell where an installed torch came
# from; PyTorch's CPU builds, e.g. 2.13.0+cpu, sort above PyPI's 2.13.0).
VENV ?= .venv
TORCH ?= torch>=2.2
TORCH_INDEX ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The PyTorch asked for, one line: rewritten only when TORCH or TORCH_INDEX change, so that a
# new value re-installs (the install stamp depends on it) and the same value does not.
TORCH_STAMP := $(VENV)/.torch
TORCH_WANTED := $(TORCH)$(if $(TORCH_INDEX), from $(TORCH_INDEX))

.PHONY: demo test lint format clean FORCE

$(TORCH_STAMP): FORCE
	@mkdir -p $(VENV)
	@echo '$(TORCH_WANTED)' | cmp -s - $@ || echo '$(TORCH_WANTED)' > $@

$(STAMP): pyproject.toml $(TORCH_STAMP)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--upgrade --index-url '$(TORCH_INDEX)') '$(TORCH)'
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

FORCE:
