# TerraFusion developer tasks. `make` (or `make help`) lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := $(wildcard requirements/*.txt)

PYTEST_ARGS ?=
BENCH_ARGS ?=

# Prefix for commands that need real PostgreSQL and Redis: nothing when both
# DATABASE_URL and REDIS_URL are set (from the environment or the make command
# line), otherwise scripts/with-services.sh, which starts private throwaway
# servers and exports those two variables for the command.
WITH_SERVICES := $(if $(and $(DATABASE_URL),$(REDIS_URL)),,scripts/with-services.sh)

.PHONY: help venv test lint format demo bench clean

help: ## List the targets
	@echo "Usage: make <target> [PYTEST_ARGS=...] [BENCH_ARGS=...]"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "test/bench use DATABASE_URL and REDIS_URL when both are set; otherwise they"
	@echo "run under scripts/with-services.sh (private PostgreSQL + Redis)."

venv: $(STAMP) ## Create/refresh .venv from requirements/dev.txt

$(STAMP): $(REQUIREMENTS) scripts/system-libs.sh
	@scripts/system-libs.sh
	@test -x $(PY) || { echo "Creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing requirements/dev.txt into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $@

test: venv ## Run the pytest suite against real PostgreSQL + Redis (installs the browser its map test drives)
	@scripts/test-tools.sh
	$(WITH_SERVICES) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv ## ruff check, ruff format --check, import layers, Django system + migration checks, OpenAPI schema without warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

format: venv ## Apply ruff formatting and autofixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

demo: venv ## Run the demo (migrate, demo county, web+worker+scheduler; Ctrl-C stops)
	$(PY) manage.py demo

bench: venv ## Run the benches: the API (wrk, 50/8 clients, beside plain DRF; BENCH_ARGS=--quick), the PACS load (BENCH_PACS_ARGS), the ratio study (BENCH_RATIO_ARGS), mass appraisal (BENCH_VALUATION_ARGS), GIS export (BENCH_GIS_ARGS), reports (BENCH_REPORTING_ARGS)
	$(WITH_SERVICES) sh -c '$(PY) -m bench $(BENCH_ARGS) && $(PY) -m bench.pacs $(BENCH_PACS_ARGS) && $(PY) -m bench.ratio_study $(BENCH_RATIO_ARGS) && $(PY) -m bench.valuation $(BENCH_VALUATION_ARGS) && $(PY) -m bench.gis_export $(BENCH_GIS_ARGS) && $(PY) -m bench.reporting $(BENCH_REPORTING_ARGS)'

clean: ## Remove caches and var/ (keeps .venv)
	rm -rf var/ .pytest_cache .ruff_cache .mypy_cache htmlcov .coverage .coverage.* build dist *.egg-info
	find . \( -path ./.venv -o -path ./.git -o -path ./node_modules \) -prune -o \
		\( -name __pycache__ -type d -prune -exec rm -rf {} + \) -o \
		\( -name '*.py[co]' -type f -exec rm -f {} + \)
