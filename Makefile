# `make run` serves Tenantry on http://127.0.0.1:8000; `make test` runs every test suite.
# Both are idempotent: the virtualenv is reinstalled only when pyproject.toml changes, and
# tests/node only when its package.json or package-lock.json does.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Tests mostly wait on real servers, so one pytest worker per core halves the run.
PYTEST_ARGS ?= -n auto

NODE_DIR   := tests/node
NODE_STAMP := $(if $(wildcard $(NODE_DIR)/package.json),$(NODE_DIR)/node_modules/.tenantry-stamp)

.PHONY: run test lint format install install-dev node clean

run: $(VENV)/.stamp-run
	$(BIN)/tenantry serve --host $(HOST) --port $(PORT)

test: $(VENV)/.stamp-dev $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.stamp-dev
	$(BIN)/ruff format .

install: $(VENV)/.stamp-run
install-dev: $(VENV)/.stamp-dev
node: $(NODE_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -e .
	touch $@

# The dev install includes everything `make run` needs, so it satisfies that stamp too.
$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.stamp-run

$(NODE_DIR)/node_modules/.tenantry-stamp: $(wildcard $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json)
	cd $(NODE_DIR) && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $@

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules .pytest_cache
