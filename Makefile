# Aduan: `make run` runs the whole platform on this machine; `make test` passes the tests.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml package-lock.json
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@# Leaflet (served by intake) and axe-core (the browser tests): from the npm registry.
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP) ## Create the virtual environment and install everything

run: $(STAMP) ## Run the broker and all five services on this machine (Ctrl-C stops)
	$(BIN)/aduan run

dashboards: $(STAMP) ## Write deploy/grafana/dashboards/*.json from deploy/grafana/dashboards.py
	$(BIN)/python deploy/grafana/dashboards.py

postgres: ## Make sure the local PostgreSQL answers (CI machines run one on :5432)
	@$(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)').close()" 2>/dev/null \
	  || { command -v pg_ctlcluster >/dev/null && \
	       pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start; \
	       sleep 2; $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)').close()"; }

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system: ## Install the Debian packages the tests drive (Kannel, fakesmsc, promtool, chromium, kubectl)
	@[ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] && [ -x /usr/lib/kannel/test/fakesmsc ] \
	  && [ -x /usr/bin/promtool ] && [ -x /usr/bin/chromium ] \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	       $(SUDO) apt-get install -y -qq kannel kannel-extras prometheus chromium >/dev/null; }
	@# kubectl (its kustomize builds deploy/k8s) comes with this machine's image; else Debian's.
	@command -v kubectl >/dev/null || { $(SUDO) apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq kubernetes-client >/dev/null; }

# Parallel test workers, each taking whole test files (a file's shared platforms start once):
# the end-to-end tests mostly wait on running platforms, so two workers halve the time on
# two cores. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2

test: $(STAMP) postgres system ## Run every test (unit, contract, integration, end to end)
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=10

test-fast: $(STAMP) ## Unit and contract tests only (no broker, no database)
	$(BIN)/pytest -q tests/unit tests/contract

lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff's formatting and fixable lint
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

contracts: $(STAMP) ## Regenerate the JSON Schemas and the AsyncAPI document
	$(BIN)/aduan schemas
	$(BIN)/aduan asyncapi

messages: $(STAMP) ## Extract the marked texts (N_) into services/locale and merge them into each language's catalogue
	$(BIN)/pybabel extract -F babel.cfg -k N_:1c,2 --no-default-keywords --sort-by-file \
	  --project=Aduan -o services/locale/aduan.pot .
	$(BIN)/pybabel update -i services/locale/aduan.pot -d services/locale -D aduan -w 100 --ignore-obsolete

bench: $(STAMP) postgres ## Measure every figure of issue 18 in one run; the summary goes into docs/benchmarks.md
	rm -f var/bench/results.jsonl
	$(BIN)/python -m bench.faust_hop
	$(BIN)/python -m bench.idle_cost
	$(BIN)/python -m bench.intake_posts
	$(BIN)/python -m bench.pipeline --reports 1500 --rate 100 --seconds 10
	$(BIN)/python -m bench.pipeline --raw 0 --reports 1500 --rate 100 --seconds 10 --postgres $(PG_URL)
	$(BIN)/python -m bench.pipeline --raw 0 --reports 1500 --rate 100 --seconds 10 --postgres $(PG_URL) --instances intake=2
	$(BIN)/python -m bench.replay capture --reports 300
	for s in verification routing sla notifications; do $(BIN)/python -m bench.replay run $$s; done
	$(BIN)/python -m bench.sla_scale
	$(BIN)/python -m bench.sla_scale --postgres $(PG_URL)
	$(BIN)/python -m bench.public_scale
	$(BIN)/python -m bench.public_scale --postgres $(PG_URL)
	$(BIN)/python -m bench.notifications_delivery
	$(BIN)/python -m bench.verification_checks
	$(BIN)/python -m bench.routing_rules
	$(BIN)/python -m bench.intake_uploads
	$(BIN)/python -m bench.report --write docs/benchmarks.md

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run postgres system test test-fast lint format contracts messages bench clean
