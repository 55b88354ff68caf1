#!/usr/bin/env bash
# Start or stop a private PostgreSQL and Redis on loopback, in a temporary
# directory, for the test suite and benchmarks. Root-safe: PostgreSQL runs as
# the `postgres` system user when we are root (it refuses to run as root).
#
#   scripts/services.sh start DIR   -> prints the environment to export
#   scripts/services.sh stop DIR
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?directory}
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}

pg_bin() {
  local b
  for b in /usr/lib/postgresql/*/bin; do [ -x "$b/postgres" ] && { echo "$b"; return; }; done
  echo "PostgreSQL server not found (apt-get install postgresql)" >&2; exit 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  bin=$(pg_bin)
  if [ ! -d "$dir/pg" ]; then
    mkdir -p "$dir/pg" "$dir/pgsock"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pg" "$dir/pgsock" && chmod 755 "$dir"
    as_pg "$bin/initdb" -D "$dir/pg" -U portal --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    # Tuned for throwaway test data: durability is not needed here, speed is.
    cat >>"$dir/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir/pgsock'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 512MB
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
max_connections = 200
CONF
  fi
  as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pgsock/pg.log" -w -t 60 start >/dev/null
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U portal -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='portal'" | grep -q 1 ||
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U portal portal
  # The application's login role: not a superuser, no ownership. The audits migration 0006
  # grants it the tables, but only SELECT and INSERT on the audit log (`portal` owns and migrates).
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U portal -d postgres -tAc \
    "SELECT 1 FROM pg_roles WHERE rolname='portal_app'" | grep -q 1 ||
    as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U portal -d postgres -qc \
      "CREATE ROLE portal_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
  mkdir -p "$dir/redis"
  # AOF on and no eviction: a killed Redis must not lose queued tasks.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir/redis" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --appendonly yes --maxmemory-policy noeviction --save ""
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "export DATABASE_URL=postgres://portal@127.0.0.1:$PG_PORT/portal"
  echo "export DATABASE_APP_ROLE=portal_app DATABASE_APP_URL=postgres://portal_app@127.0.0.1:$PG_PORT/portal"
  echo "export PORTAL_PG_DATA=$dir/pg PORTAL_PG_BIN=$bin PORTAL_PG_LOG=$dir/pgsock/pg.log"
  echo "export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/1"
  ;;
stop)
  bin=$(pg_bin)
  [ -d "$dir/pg" ] && as_pg "$bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
