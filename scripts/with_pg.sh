#!/usr/bin/env bash
# Runs a command with USHER_TEST_PG_URL set to the admin URL of a throwaway PostgreSQL 15
# cluster: the caller's own when it is already set, else one started for the command with
# scripts/pg_cluster.sh and removed after it. Exits with the command's status.
#
#   scripts/with_pg.sh node tests/cluster/deploy.mjs --seconds 120
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi
if [ -n "${USHER_TEST_PG_URL:-}" ]; then
    exec "$@"
fi

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/usher-pg.XXXXXX")
trap 'scripts/pg_cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true' EXIT
if ! USHER_TEST_PG_URL=$(scripts/pg_cluster.sh start "$PG_DIR"); then
    echo "with_pg: could not start a PostgreSQL cluster" >&2
    exit 1
fi
export USHER_TEST_PG_URL
"$@"
