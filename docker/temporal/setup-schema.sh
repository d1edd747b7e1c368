#!/bin/sh
# Creates or upgrades the Temporal server's two PostgreSQL databases (history: temporal,
# visibility: temporal_visibility) with the server's own schema tool, temporal-sql-tool, whose
# binary carries the schemas of its server version (postgresql/v12/...). Idempotent: a database
# that exists is only upgraded to the tool's version, so run it again after upgrading the server.
# POSIX sh: docker-compose.yml runs it in the temporalio/admin-tools image, and
# docs/deployment.md runs it on a machine without Docker. The variables are those of
# docker/temporal/temporal-server.yaml, so one set of settings serves both.
#
#   POSTGRES_SEEDS, DB_PORT     PostgreSQL's host and port (default 127.0.0.1:5432)
#   POSTGRES_USER, POSTGRES_PWD a role that may create databases (default temporal / temporal)
#   DBNAME, VISIBILITY_DBNAME   the databases (default temporal, temporal_visibility)
#   TEMPORAL_SQL_TOOL           the tool to run (default: temporal-sql-tool)
set -eu

tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
# The password goes by the tool's own variable, not on a command line other users can read.
SQL_PASSWORD=${POSTGRES_PWD:-temporal}
export SQL_PASSWORD

say() { echo "temporal-schema: $*"; }

sql() {
  "$tool" --plugin postgres12 --ep "${POSTGRES_SEEDS:-127.0.0.1}" -p "${DB_PORT:-5432}" -u "${POSTGRES_USER:-temporal}" "$@"
}

# setup DATABASE SCHEMA: the database, its version table, then every versioned step up to the tool's.
setup() {
  # The tool creates the database when it is missing and leaves one that exists alone.
  sql --db "$1" create-database
  # Version 0.0: the version tables alone; on a database past 0.0 the tool leaves the version as is.
  sql --db "$1" setup-schema -v 0.0
  sql --db "$1" update-schema --schema-name "$2"
  say "database $1 is at the schema of $2"
}

setup "${DBNAME:-temporal}" postgresql/v12/temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" postgresql/v12/visibility
say "ready"
