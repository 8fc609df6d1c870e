# The commands people type. `make serve` and `make test` are the only set-up a fresh
# machine needs: each installs into .venv first when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml $(wildcard */__init__.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/cpdfolio db init
	$(BIN)/cpdfolio serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/ingest_query.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
