# Everything a user or CI runs. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help venv lock up down status logs psql-orders psql-inventory backup backups restore audit test test-unit test-chaos test-overload fuzz soak bench flames load lint clean screenshots

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Create the virtualenv with the pinned dependencies

# Everything from the lock, every file checked against its hash; then the project itself.
$(VENV)/.installed: pyproject.toml requirements/dev.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements/dev.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

LOCK := $(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: venv ## Re-pin every dependency with hashes after changing pyproject.toml (needs PyPI)
	$(LOCK) -o requirements/runtime.lock pyproject.toml
	$(LOCK) --extra dev --extra load -o requirements/dev.lock pyproject.toml

up: venv ## Run the whole system in the background (local PostgreSQL if none is configured)
	$(PY) -m lab.stack up

down: venv ## Stop everything `make up` started
	$(PY) -m lab.stack down

status: venv ## Show which processes run
	$(PY) -m lab.stack status

logs: ## Follow the services' logs
	tail -n 20 -F .run/logs/*.log

psql-orders: venv ## Open psql on the order database
	psql "$$($(PY) -m lab.stack dsn orders)"

psql-inventory: venv ## Open psql on the inventory database
	psql "$$($(PY) -m lab.stack dsn inventory)"

backup: venv ## A verified base backup of the local cluster (WAL archiving on); DUMP=1 adds a pg_dump per service
	$(PY) -m lab.backups backup $(if $(DUMP),--dump)

backups: venv ## The backups kept, and the times a restore can reach
	$(PY) -m lab.backups list

restore: venv ## Restore one service's database: SERVICE=inventory|orders [AT="2026-11-21 10:15:00+00"]
	@test -n "$(SERVICE)" || { echo 'say which: make restore SERVICE=inventory (or orders) [AT="..."]'; exit 2; }
	$(PY) -m lab.backups restore --service "$(SERVICE)" $(if $(AT),--at "$(AT)")

audit: venv ## Drift between orders and inventory, by invariant (exit 1 if any); REPAIR=1 mends what commands can
	$(PY) -m order_service.audit $(if $(REPAIR),--repair)

test: venv ## Run every test: unit, integration (real PostgreSQL), end-to-end (real gunicorn); installs the parts they use
	$(PY) -m lab.install
	$(PY) -m pytest $(if $(CI),--no-skips) $(PYTEST_ARGS)

screenshots: venv ## The console's browser tests, saving their screenshots in docs/console/ (for the README)
	CONSOLE_SCREENSHOTS=docs/console $(PY) -m pytest tests/browser -q

fuzz: venv ## The OpenAPI fuzz in full: 1,000 random examples per operation and mode, zero 5xx; schemathesis's every check and phase, 200 examples per operation
	FUZZ_EXAMPLES=1000 FUZZ_RANDOM=1 FUZZ_REPORT=.run/fuzz-report.json $(PY) -m pytest tests/fuzz -q
	@cat .run/fuzz-report.json
	CONTRACT_EXAMPLES=200 $(PY) -m pytest tests/e2e/test_contract.py -q -s

test-overload: venv ## Past saturation, slow clients, a login storm, a lock-out, a dead and a slow inventory (about 8 min); writes docs/overload.md
	$(PY) -m lab.install
	$(PY) -m lab.overload

test-chaos: venv ## Run every chaos scenario against real processes; report in .run/chaos-report.json
	$(PY) -m lab.chaos --json .run/chaos-report.json

soak: venv ## 10,000 orders under the crash-storm mix; every invariant, >= 90% definite; writes docs/soak.md
	$(PY) -m lab.chaos --soak 10000 --markdown docs/soak.md --json .run/soak-report.json

bench: venv ## Throughput, latency and CPU per order, healthy, under faults and against a baseline commit; writes docs/benchmarks.md
	$(PY) -m lab.bench

flames: venv ## py-spy flame graphs of both services under the healthy bench load, into docs/flames/
	$(PY) -m lab.bench.flames

load: venv ## Realistic traffic with locust against `make up` (web UI on http://127.0.0.1:8089)
	$(VENV)/bin/locust -f locustfile.py --web-host 127.0.0.1

test-unit: venv ## Run only the fast tests that need no database
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean: down ## Stop everything and delete the local data
	rm -rf .run
