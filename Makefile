# The portal's entry points. `make help` lists them.
.DEFAULT_GOAL := help
PY := .venv/bin/python

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## embedded default: venv, install, migrate, demo data, portal on http://127.0.0.1:8000
	scripts/run.sh

test: ## whole suite on real PostgreSQL + Redis + Celery worker + headless Chromium
	scripts/test.sh

lint: ## ruff lint and format check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: ## benchmarks (not tests); see bench/README.md
	scripts/bench.sh
