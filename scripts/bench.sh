#!/usr/bin/env bash
# Benchmarks (not tests): start private PostgreSQL + Redis, run each bench/*.py
# at its default scale (override with e.g. ROWS=10000000), print the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
workdir=$(mktemp -d /tmp/portal-bench.XXXXXX)
export PG_PORT=${PG_PORT:-55434} REDIS_PORT=${REDIS_PORT:-56381}
cleanup() { scripts/services.sh stop "$workdir"; rm -rf "$workdir"; }
trap cleanup EXIT
eval "$(scripts/services.sh start "$workdir")"
export DJANGO_SETTINGS_MODULE=config.settings
for bench in ${BENCHES:-bench/ingest.py bench/outflows.py bench/scan.py}; do
  [ -f "$bench" ] || continue
  echo "== $bench"
  .venv/bin/python "$bench" ${ROWS:+--rows "$ROWS"}
done
