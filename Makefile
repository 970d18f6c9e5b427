# make run  - set up and serve on the embedded default (SQLite, no Redis) at 127.0.0.1:8000
#             (HOST=... PORT=... to change; bin/manage runs commands with the same settings)
# make test - set up everything the suite needs, then lint and test (SQLite and PostgreSQL),
#             then the official MCP conformance suite against a live server
# make conformance / make bench - those two on their own

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run manage static test lint pytest-in-process conformance node-tools bench check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)." >&2; exit 1; }

$(VENV)/.base: requirements/base.txt | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements/base.txt
	@touch $@

$(VENV)/.dev: requirements/base.txt requirements/prod.txt requirements/dev.txt | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements/dev.txt
	@touch $@ $(VENV)/.base

# The settings it serves with go to .tmp/run.env, where bin/manage finds them.
run: $(VENV)/.base
	@export DJANGO_DEBUG=$${DJANGO_DEBUG:-1} MCP_PUBLIC_URL=$${MCP_PUBLIC_URL:-http://$(HOST):$(PORT)}; \
	mkdir -p .tmp && \
	printf 'export DJANGO_DEBUG="$${DJANGO_DEBUG:-%s}"\nexport MCP_PUBLIC_URL="$${MCP_PUBLIC_URL:-%s}"\n' \
		"$$DJANGO_DEBUG" "$$MCP_PUBLIC_URL" > .tmp/run.env && \
	$(PY) manage.py migrate --noinput -v 0 && \
	$(PY) manage.py bootstrap_demo && \
	echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C to stop)" && \
	exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) mcpserver.asgi:application

# make manage ARGS="create_api_key demo --name laptop": the same as bin/manage.
manage: $(VENV)/.base
	@bin/manage $(ARGS)

# Two streams at once, each on servers of its own (bin/run-tests says which tests go where).
test: $(VENV)/.dev node-tools static
	PY=$(PY) bin/run-tests

# The deployment step that builds the hashed static manifest the server needs outside debug
# mode (system check mcpserver.E008); the servers the tests start run that way.
static: $(VENV)/.base
	@DJANGO_DEBUG=0 $(PY) manage.py collectstatic --noinput -v 0

# Node 22, the conformance suite and the Inspector, pinned, into .tmp/node-tools (npm only).
node-tools:
	bin/install-node-tools

# Runs once (not per database): it starts its own server on a throwaway SQLite file.
conformance: $(VENV)/.dev node-tools static
	PY=$(PY) bin/run-conformance

# Its PostgreSQL (and the Redis the benchmark starts) run on core 1 beside wrk, every server on
# core 0: the servers' CPU is measured; the database's is another machine's in production.
bench: $(VENV)/.dev static
	taskset -c 1 bin/with-test-services sh -c \
	    'BENCH_POSTGRES_URL=$$TEST_POSTGRES_URL $(PY) -m benchmarks.mcp_http'

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/kubernetes-validate --strict --quiet deploy/k8s/*.yaml

# The tests that run in the test process, on SQLite, then those of them that use the database
# again on PostgreSQL (TEST_POSTGRES_URL, from bin/with-test-services); the rest start servers
# on a database of their own (marked own_database) and run once, beside these (bin/run-tests).
pytest-in-process: $(VENV)/.dev
	$(PY) -m pytest -m "not own_database" --durations=10
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "--- again on PostgreSQL"; \
		DATABASE_URL="$$TEST_POSTGRES_URL" $(PY) -m pytest -m "not own_database" --database-tests-only --durations=10; \
	else echo "TEST_POSTGRES_URL unset: PostgreSQL run skipped (use make test)." >&2; exit 1; fi

# Cost per request of each authentication path, on throwaway Redis and a scratch SQLite file.
.PHONY: bench-auth
bench-auth: $(VENV)/.dev
	@db=$$(mktemp -d)/bench.sqlite3; \
	bin/with-test-services sh -c "export REDIS_URL=\$$TEST_REDIS_URL DATABASE_URL=sqlite:///$$db \
	DJANGO_SECRET_KEY=bench-only-\$$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n') \
	MCP_ENCRYPTION_KEYS=\$$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n'); \
	$(PY) manage.py migrate --noinput -v 0 && $(PY) manage.py bench_auth"; \
	rm -rf "$$(dirname $$db)"
