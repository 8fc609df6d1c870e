# The commands people type. `make serve` and `make test` are the only set-up a fresh
# machine needs: each installs into .venv first when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The JavaScript xAPI client the e2e tests run with node (tests/e2e/test_js_client.py).
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed
# Ralph, the independent xAPI LRS that tests/peers/ runs as a separate process. It has a
# venv of its own: its exact pins (fastapi, click) would otherwise tie down the project's.
RALPH_VENV := .venv-ralph
RALPH_STAMP := $(RALPH_VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install peers serve test lint bench clean

install: $(STAMP) $(JS_STAMP)

$(STAMP): pyproject.toml $(wildcard */__init__.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Exactly the versions in the lock file. Without npm this warns and leaves the stamp
# unmade, so `make serve` still works and the JS client test fails saying what to install.
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm ci --prefix $(JS) --no-audit --no-fund"; \
		npm ci --prefix $(JS) --no-audit --no-fund && touch $(JS_STAMP); \
	else \
		echo "npm not found: install Node.js 18+ with npm to run the JavaScript client test" >&2; \
	fi

peers: $(RALPH_STAMP)

$(RALPH_STAMP): tests/peers/ralph-requirements.txt
	test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r tests/peers/ralph-requirements.txt
	touch $(RALPH_STAMP)

serve: $(STAMP)
	$(BIN)/cpdfolio db init
	$(BIN)/cpdfolio serve --host $(HOST) --port $(PORT)

test: $(STAMP) $(JS_STAMP) $(RALPH_STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/ingest_query.py

clean:
	rm -rf $(VENV) $(RALPH_VENV) .pytest_cache .mypy_cache .ruff_cache $(JS)/node_modules
