# Tollgate: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
MOTO_PORT ?= 5055
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin

.PHONY: help run test lint typecheck unit browser-deps requirements bench

help:
	@echo "make run    start Tollgate locally (moto + chalice local on PORT=$(PORT))"
	@echo "make test   install what the tests need and run the whole suite (lint, types, tests)"

# The environment: a venv holding uv, then exactly what uv.lock pins (dev group included).
$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --python $(BIN)/python --quiet
	@touch $@

run: $(VENV)/.synced
	$(BIN)/tollgate local run --port $(PORT) --moto-port $(MOTO_PORT)

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; \
	fi

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.synced
	$(BIN)/mypy

test: $(VENV)/.synced browser-deps lint typecheck
	$(BIN)/pytest

requirements: $(VENV)/.synced
	$(BIN)/uv export --frozen --no-dev --no-hashes --no-emit-project --quiet -o requirements.txt

bench: $(VENV)/.synced
	$(BIN)/python -m bench
