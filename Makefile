# Tollgate: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
MOTO_PORT ?= 5055
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin

.PHONY: help run test lint typecheck unit browser-deps client-deps requirements bench

help:
	@echo "make run    start Tollgate locally (moto + chalice local on PORT=$(PORT))"
	@echo "make test   install what the tests need and run the whole suite (lint, types, tests)"
	@echo "make deploy STAGE=dev    deploy a stage to AWS and print its issuer URL (README: Deploy to AWS)"
	@echo "make destroy STAGE=dev   remove a non-prod stage; make synth STAGE=dev: template only, offline"
	@echo "make deploy-example EXAMPLE=mcp-server STAGE=dev   an example API beside the stage (or protected-api)"

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

# What the browser tests run with Node.js, exactly as tests/clients/package-lock.json pins it:
# oauth4webapi (a strict OAuth client) and axe-core (accessibility checks).
tests/clients/node_modules/.package-lock.json: tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund --loglevel=error
client-deps: tests/clients/node_modules/.package-lock.json

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.synced
	$(BIN)/mypy
	$(BIN)/mypy examples/protected-api  # a second app.py: checked on its own
	$(BIN)/mypy examples/mcp-server

test: $(VENV)/.synced browser-deps client-deps lint typecheck
	$(BIN)/pytest

requirements: $(VENV)/.synced
	$(BIN)/uv export --frozen --no-dev --no-hashes --no-emit-project --quiet -o requirements.txt

bench: $(VENV)/.synced
	$(BIN)/python -m bench

# -- AWS (README.md, "Deploy to AWS") -------------------------------------------------------
# One stage per command: STAGE=dev (default) or prod, or any name (lowercase letters, digits).
STAGE ?= dev
# More settings for this run, as CDK context: CONTEXT="-c domainName=auth.example.com ..."
CONTEXT ?=
CDK = cd infra && npx --no-install cdk
CDK_FLAGS = -c stage=$(STAGE) $(CONTEXT) --no-notices
# A dev deploy runs unattended; prod asks before widening any permission.
CDK_APPROVAL = $(if $(filter prod,$(STAGE)),broadening,never)

.PHONY: synth deploy destroy bootstrap infra-deps not-prod deploy-example destroy-example

# The AWS CDK command line, exactly as infra/package-lock.json pins it.
infra/node_modules/.package-lock.json: infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund --loglevel=error
infra-deps: infra/node_modules/.package-lock.json

# The stage's CloudFormation template in infra/cdk.out, checked by cfn-lint as written and with
# the SAM transform expanded (infra/lint.py lists the checks it ignores, and why). No AWS
# account, no network once the Lambda dependency layer is cached (.chalice/deployments).
synth: $(VENV)/.synced
	rm -rf infra/chalice.out infra/cdk.out
	cd infra && ../$(BIN)/python app.py -c stage=$(STAGE) $(CONTEXT)
	$(BIN)/python -m infra.lint infra/cdk.out/$(STAGE).template.json
	@echo "Template: infra/cdk.out/$(STAGE).template.json"

# Once per AWS account and region: the bucket and roles the CDK deploys with.
bootstrap: $(VENV)/.synced infra-deps
	$(CDK) bootstrap $(CDK_FLAGS)

# `cdk deploy` of $(1) with the API URLs the stacks have (none before they exist: see
# infra/api_urls.py): the 401 and 403 challenges then name each API's RFC 9728 metadata
# literally. $(2): the example, if any. $(3) = again: when the deployed URLs differ (first
# creation, or an API replaced), deploy once more with them; an unchanged stack costs one
# deploy. Without it, the next deploy puts them in (the JSON bodies name them meanwhile).
API_URLS = $(BIN)/python -m infra.api_urls $(STAGE) $(2)
OUTPUTS = infra/cdk.out/outputs-$(STAGE).json
define deploy_with_urls
	@urls="$$($(API_URLS))" || exit 1; \
	echo "API URLs of the stacks as they are: $${urls:-none yet}"; \
	echo "cdk deploy $(1) $$urls"; \
	rm -rf infra/chalice.out; \
	( $(CDK) deploy $(1) $(CDK_FLAGS) $$urls --require-approval $(CDK_APPROVAL) \
	  --outputs-file cdk.out/outputs-$(STAGE).json ) || exit 1; \
	new="$$($(API_URLS))" || exit 1; \
	if [ "$$new" = "$$urls" ]; then echo "The API URLs are the ones deployed with."; \
	elif [ "$(3)" != again ]; then \
	  echo "New API URL ($$new): the 401 and 403 headers name it from the next make deploy."; \
	else \
	  echo; echo "The deployed API URLs are new: deploying again so that the 401 and 403 challenges name them"; \
	  echo "cdk deploy $(1) $$new"; \
	  rm -rf infra/chalice.out; \
	  ( $(CDK) deploy $(1) $(CDK_FLAGS) $$new --require-approval $(CDK_APPROVAL) \
	    --outputs-file cdk.out/outputs-$(STAGE).json ) || exit 1; \
	fi
endef

# The stage deploys once: its demo API's headers gain the URL at its next deploy. An MCP
# server on a bare execute-api URL is the example's case: `make deploy-example` deploys again.
deploy: $(VENV)/.synced infra-deps
	$(call deploy_with_urls,--all)
	@$(BIN)/python -m infra.outputs $(OUTPUTS) tollgate-$(STAGE)

# An example of examples/ in its own stack beside the stage (infra/example.py): its API, its
# authorizer with its routes.json and audience, the invoke permission, the gateway responses.
EXAMPLE ?= mcp-server
deploy-example: $(VENV)/.synced infra-deps
	$(call deploy_with_urls,--all -c example=$(EXAMPLE),$(EXAMPLE),again)
	@$(BIN)/python -m infra.outputs $(OUTPUTS) tollgate-$(STAGE)
	@echo
	@$(BIN)/python -m infra.outputs $(OUTPUTS) tollgate-$(STAGE)-$(EXAMPLE)

destroy-example: $(VENV)/.synced infra-deps
	rm -rf infra/chalice.out
	$(CDK) destroy tollgate-$(STAGE)-$(EXAMPLE) $(CDK_FLAGS) -c example=$(EXAMPLE) --force

destroy: not-prod $(VENV)/.synced infra-deps
	rm -rf infra/chalice.out
	$(CDK) destroy --all $(CDK_FLAGS) --force

not-prod:
	@if [ "$(STAGE)" = prod ]; then \
	  echo "make destroy refuses STAGE=prod: its table and keys are kept on purpose." >&2; exit 2; fi
