# hookline — developer and operator entry points. `make help` lists them.
#
# `make test` is what CI runs (through .ci/run). On a fresh machine it first installs the
# tools the deploy checks need (`make tools` = `.ci/run --install-only`: apt and pip, as root
# or through sudo; a no-op once they are there).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# The checks share one cargo lock and one target folder: run them one after another.
.NOTPARALLEL:

CARGO ?= cargo
# The compose CLI: the docker plugin when present, else the standalone docker-compose.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

.PHONY: help test fmt fmt-check lint doc layering deploy-check deploy-live schemathesis cargo-test \
        run up down logs bench bench-postgres bench-tail bench-store fuzz tools

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

test: tools fmt-check lint doc layering deploy-check deploy-live schemathesis cargo-test ## Everything CI checks (installs the deploy-check tools first if missing): fmt, clippy, docs, layering, deploy kit (static and live), OpenAPI conformance, cargo test
	@echo "make test: all checks passed"

fmt: ## Format the workspace
	$(CARGO) fmt --all

fmt-check: ## Check formatting (cargo fmt --check)
	$(CARGO) fmt --all -- --check

lint: ## Clippy on every target, warnings are errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

doc: ## Build the API docs; any rustdoc warning is an error
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

layering: ## Check the crate dependency layering with cargo tree
	bash deploy/tests/check-layering.sh

deploy-check: ## Validate Prometheus, Grafana, Kubernetes, compose and Dockerfile files
	bash deploy/tests/check-static.sh

deploy-live: ## Run the server; promtool check metrics; a real Prometheus scrapes it
	bash deploy/tests/check-live.sh

schemathesis: ## Run the server; schemathesis checks it against its own /openapi.json (HOOKLINE_SKIP_SCHEMATHESIS=1 skips)
	bash deploy/tests/check-schemathesis.sh

cargo-test: ## cargo test --workspace, against a throw-away PostgreSQL (deploy/tests/with-postgres.sh; HOOKLINE_TEST_POSTGRES_URL to use another, HOOKLINE_SKIP_POSTGRES=1 to skip)
	bash deploy/tests/with-postgres.sh $(CARGO) test --workspace

run: ## Run the server locally (release build, SQLite at ./data/app.db by default)
	@$(CARGO) run --release -p hookline

up: ## Build and start the API with Docker Compose (http://localhost:8000)
	@if [ -z "$${WEBHOOK_SECRET:-}" ]; then \
	  echo "warning: WEBHOOK_SECRET is not set: the API will start but report not ready"; fi
	$(COMPOSE) up -d --build

down: ## Stop the stack and remove its volumes (the database too)
	$(COMPOSE) down -v

logs: ## Follow the API's logs
	$(COMPOSE) logs -f api

bench: ## Benchmark suite: the real server on empty and 1M-row SQLite databases, and on PostgreSQL (throw-away cluster, fsync on, no TLS); writes docs/PERFORMANCE.md
	$(CARGO) build --release -p hookline -p hookbench
	HOOKLINE_PG_FSYNC=on HOOKLINE_PG_SSL=off bash deploy/tests/with-postgres.sh bash -c \
	  'HOOKLINE_BENCH_POSTGRES_URL="$${HOOKLINE_TEST_POSTGRES_URL:-}" $(CARGO) run --release -p hookbench -- suite --out docs/PERFORMANCE.md' 

bench-postgres: ## PostgreSQL at scale: ingest through 1 and 3 replicas, hookctl copy of a 1M-row SQLite file, reads at 1M rows (throw-away cluster, fsync on, no TLS)
	$(CARGO) build --release -p hookline -p hookbench -p hookctl
	HOOKLINE_PG_FSYNC=on HOOKLINE_PG_SSL=off bash deploy/tests/with-postgres.sh bash bins/hookbench/scripts/postgres-scale.sh $(SQLITE_DB)

bench-tail: ## Store level: every read shape at 1M rows with the tail empty, then at its bound (20,000 rows the indexer has not reached)
	$(CARGO) build --release -p hookbench
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	  $(CARGO) run --release -q -p hookbench -- seed --database "$$dir/app.db" --rows 1000000 && \
	  $(CARGO) run --release -q -p hookbench -- tail --database "$$dir/app.db"

bench-store: ## Store-level benchmark of hookline-sqlite (no HTTP)
	$(CARGO) bench -p hookline-sqlite --bench store

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := webhook_body query_params cursor_decode signature_verify whatsapp_envelope

fuzz: ## Run each cargo-fuzz target for FUZZ_SECONDS (default 60) from its seeds (nightly)
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  $(CARGO) +nightly fuzz run $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 || exit 1; \
	done

tools: ## Install the tools the deploy checks need (promtool, prometheus, validators, schemathesis)
	bash .ci/run --install-only
