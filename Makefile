# `make run` starts the agent on defaults with the runtime only (the base install: core, web
# panel, system plugin); `make test` runs everything CI runs (`make lint` first: ruff and mypy)
# with the test extras added; `make lock` moves the pinned versions in constraints.txt to the
# newest releases.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What each install last did; either is redone when pyproject.toml or the pins change. The
# test install is a superset of the runtime one, so it counts as both.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# Exact versions of everything the tests run against (see scripts/update-pins.sh).
CONSTRAINTS := constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) \
	--build-constraint $(CONSTRAINTS)

# Tests keep compiled modules (and pytest's assertion-rewritten test modules) under the venv,
# also where the environment sets PYTHONDONTWRITEBYTECODE (the dev container does): otherwise
# every xdist worker compiles each module it imports from source, every run (collection alone
# took 8.6 s of CPU per worker instead of 4.0). Nothing is written into the source tree.
PYTEST := env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache \
	$(BIN)/python -m pytest

.PHONY: run test test-fast lint bench system-deps clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e '.[test]'
	touch $@ $(RUN_STAMP)

lock:
	scripts/update-pins.sh

run: $(RUN_STAMP)
	$(BIN)/nebula run

system-deps:
	scripts/system-deps.sh

# mypy reads its settings and the files it checks from pyproject.toml ([tool.mypy]).
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# One worker per core; each worker starts its own throwaway PostgreSQL and Podman.
test: $(TEST_STAMP) system-deps lint
	$(PYTEST) -n auto

# The quick loop while editing: everything but browser, subprocess and real-engine tests
# (the `e2e` marker, conftest.py).
test-fast: $(TEST_STAMP)
	$(PYTEST) -n auto -m "not e2e"

bench: $(TEST_STAMP)
	bench/run_all.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
