#!/bin/sh
# Run once by the postgres image when its data volume is first initialised
# (docker-compose mounts this directory on /docker-entrypoint-initdb.d).
#
# POSTGRES_USER (`portal`) owns the database and runs the migrations (compose's `migrate`
# service). Web, worker and beat log in as POSTGRES_APP_USER (`portal_app`): not a superuser,
# owns nothing, so it cannot disable the audit log's append-only trigger; the audits migration
# 0006 takes UPDATE, DELETE and TRUNCATE on the audit log away from it.
set -e
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="${POSTGRES_APP_USER:-portal_app}" -v app_password="${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD}" \
  -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app_user";
GRANT USAGE ON SCHEMA public TO :"app_user";
-- Tables and sequences the owner creates from now on (migration 0006 grants the same again).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_user";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app_user";
SQL
