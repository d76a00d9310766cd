# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
# The demo shows the plan year as of this day.
DEMO_AS_OF ?= 2022-09-30
DEMO_ENV := DUBAN_DEBUG=1 DUBAN_AS_OF=$(DEMO_AS_OF)

.PHONY: demo test lint format clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME): $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

demo: $(RUNTIME)
	$(DEMO_ENV) $(BIN)/duban demo
	$(DEMO_ENV) $(BIN)/duban serve

test: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(DEV)
	$(BIN)/python bench/extract.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
