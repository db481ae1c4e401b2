# `make run` starts the agent on defaults; `make test` runs everything CI runs (`make lint`
# first: ruff and mypy); `make lock` moves the pinned versions in constraints.txt to the
# newest releases.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exact versions of everything the tests run against (see scripts/update-pins.sh).
CONSTRAINTS := constraints.txt

.PHONY: run test test-fast lint bench system-deps clean lock

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -c $(CONSTRAINTS) \
		--build-constraint $(CONSTRAINTS)
	touch $(STAMP)

lock:
	scripts/update-pins.sh

run: $(STAMP)
	$(BIN)/nebula run

system-deps:
	scripts/system-deps.sh

# mypy reads its settings and the files it checks from pyproject.toml ([tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# One worker per core; each worker starts its own throwaway PostgreSQL and Podman.
test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -n auto

# The quick loop while editing: everything but browser, subprocess and real-engine tests
# (the `e2e` marker, conftest.py).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not e2e"

bench: $(STAMP)
	bench/run_all.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
