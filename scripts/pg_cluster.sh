#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: `pg_cluster.sh start DIR` makes a new cluster
# in DIR (trust authentication, bound to 127.0.0.1 on a free port chosen now, socket in DIR,
# fsync off unless PG_CLUSTER_DURABLE=1), starts it and prints its admin URL;
# `pg_cluster.sh stop DIR` stops it and removes DIR. It never touches the packaged cluster on port 5432. Run as root (the server runs as the
# postgres user) or as an ordinary user (the server runs as that user).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$2

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "pg_cluster: PostgreSQL 15 server tools not found in $PG_BIN (scripts/setup.sh installs postgresql-15)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A port in 20000-59999 that nothing on 127.0.0.1 answers on.
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "pg_cluster: no free port found" >&2
    return 1
}

case "$action" in
start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    port=$(free_port)
    # Tests want speed; PG_CLUSTER_DURABLE=1 keeps PostgreSQL's durable defaults (a commit is
    # on disk when it returns, as with usher's SQLite), for measurements of writes.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [ "${PG_CLUSTER_DURABLE:-0}" = 1 ]; then
        durability=""
    fi
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir $durability -c max_connections=500" \
        start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    echo "$port" >"$dir/port"
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    usage
    ;;
esac
