#!/usr/bin/env bash
# The whole test suite against real PostgreSQL, real Redis and a real Celery
# worker (and real headless Chromium for tests/e2e). Installs what is missing
# (apt when root, pip into .venv), starts the services on loopback in a
# temporary directory, runs pytest (twice, see below), stops them. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
command -v msgfmt >/dev/null || need_apt+=(gettext)
# PyICU (for normality, under followthemoney/rigour: screening) builds from source against ICU.
dpkg -s libicu-dev >/dev/null 2>&1 || need_apt+=(libicu-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v g++ >/dev/null || need_apt+=(g++)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing: ${need_apt[*]} (install with apt-get as root)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

scripts/setup.sh dev

workdir=$(mktemp -d /tmp/portal-test.XXXXXX)
export PG_PORT=${PG_PORT:-55433} REDIS_PORT=${REDIS_PORT:-56380}
cleanup() { scripts/services.sh stop "$workdir"; rm -rf "$workdir"; }
trap cleanup EXIT
eval "$(scripts/services.sh start "$workdir")"
export DJANGO_SETTINGS_MODULE=config.settings
# Audit-log checkpoints of subprocesses and the test worker: never the project's var/.
export AUDIT_CHECKPOINT_DIR="$workdir/audit-checkpoints"

# Two runs, both always: every test but the `faults` ones in parallel (pytest-xdist, each
# worker with its own test database, Redis databases and Celery worker: tests/xdist_env.py),
# then the `faults` tests, which stop PostgreSQL and Redis or kill workers, alone.
# TEST_WORKERS=0 runs the first part in one process too.
workers=${TEST_WORKERS:-2}
set +e
.venv/bin/python -m pytest -n "$workers" -m "not faults" "$@"
parallel=$?
.venv/bin/python -m pytest -p no:xdist -m faults "$@"
serial=$?
set -e
# pytest's exit 5 means no test ran: that is a failure of the whole suite. With a selection
# (`scripts/test.sh tests/operators`) one part may hold none of it, but not both.
if [ "$parallel" = 5 ] && [ "$serial" = 5 ]; then echo "no tests ran" >&2; exit 1; fi
if [ $# = 0 ] && { [ "$parallel" = 5 ] || [ "$serial" = 5 ]; }; then echo "no tests ran in a part" >&2; exit 1; fi
for status in "$parallel" "$serial"; do
  [ "$status" = 0 ] || [ "$status" = 5 ] || exit "$status"
done
exit 0
