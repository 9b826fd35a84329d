#!/usr/bin/env bash
# `make bench`: usher's decision endpoints against Cerbos and against the HTTP ceiling, in one
# run on this machine, with usher on SQLite and on PostgreSQL side by side. Installs wrk and
# Cerbos when missing, builds usher, the ceiling server and the data set generator, starts a
# throwaway PostgreSQL cluster, seeds one data set into both databases, checks that usher (on
# each) and Cerbos answer the same questions alike, measures every target (a warm-up, then
# BENCH_RUNS runs of BENCH_DURATION seconds with wrk and 64 keep-alive connections), measures
# two writes on each database (invitation create and grant replace, BENCH_WRITE_CONNECTIONS
# connections for BENCH_WRITE_DURATION seconds a run), measures a sign-in storm, and prints the
# tables. Everything listens on 127.0.0.1 and is stopped on exit, the cluster too.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

USERS=${BENCH_USERS:-10000}
AGENCIES=${BENCH_AGENCIES:-100}
ENVIRONMENTS=${BENCH_ENVIRONMENTS:-1000}
GRANTS=${BENCH_GRANTS:-30000}
STORM_CONNECTIONS=200
WRITE_CONNECTIONS=${BENCH_WRITE_CONNECTIONS:-4}
WRITE_DURATION=${BENCH_WRITE_DURATION:-5}
# The platform admin who makes the writes (API tokens may only ask decisions).
ADMIN_EMAIL=bench-admin@bench.example
ADMIN_PASSWORD=Quartz-Lantern-Mosaic-42

bench_tools
bench_build
rm -rf "$OUT/small" "$OUT/small-pg" "$OUT/results.jsonl" "$OUT/storm.json"
mkdir -p "$OUT/small/mix" "$OUT/small-pg"
data=$OUT/small
say "seeding $USERS users, $AGENCIES agencies, $ENVIRONMENTS environments, $GRANTS grants"
"$BUILD/usher" migrate --data-dir "$data" >/dev/null 2>&1
"$OUT/seed" --db "$data/usher.db" --users "$USERS" --agencies "$AGENCIES" \
    --environments "$ENVIRONMENTS" --grants "$GRANTS" --mix-dir "$data/mix" --mix-count 10000
token=$("$BUILD/usher" token-create --name bench --data-dir "$data" 2>/dev/null)
printf '%s\n' "$ADMIN_PASSWORD" |
    "$BUILD/usher" admin-create --email "$ADMIN_EMAIL" --data-dir "$data" >/dev/null 2>&1

# The same data set in PostgreSQL (COPY), with its own data dir for the server secret.
pg_start
data_pg=$OUT/small-pg
pg_url=$(pg_database usher_bench)
"$BUILD/usher" migrate --data-dir "$data_pg" --database "$pg_url" >/dev/null 2>&1
"$OUT/seed" --db "$pg_url" --users "$USERS" --agencies "$AGENCIES" \
    --environments "$ENVIRONMENTS" --grants "$GRANTS"
token_pg=$("$BUILD/usher" token-create --name bench --data-dir "$data_pg" --database "$pg_url" \
    2>/dev/null)
printf '%s\n' "$ADMIN_PASSWORD" | "$BUILD/usher" admin-create --email "$ADMIN_EMAIL" \
    --data-dir "$data_pg" --database "$pg_url" >/dev/null 2>&1

# --- servers -----------------------------------------------------------------------------
start_usher "$data_pg" "$data_pg/usher.log" --database "$pg_url"
pg_pid=$usher_pid
pg_usher_url=$usher_url
say "usher on PostgreSQL on $pg_usher_url (pid $pg_pid)"
start_usher "$data" "$data/usher.log"
say "usher on SQLite on $usher_url (pid $usher_pid)"

ceiling_port=$(free_port)
"${ON_SERVER_CPU[@]}" "$OUT/ceiling" "$ceiling_port" "$(nproc)" 2>"$data/ceiling.log" &
ceiling_pid=$!
started_pids+=("$ceiling_pid")
wait_for_line "$data/ceiling.log" listening 30
ceiling_url="http://127.0.0.1:$ceiling_port"
# The same server sending the headers usher must put on every answer.
headers_port=$(free_port)
"${ON_SERVER_CPU[@]}" "$OUT/ceiling" "$headers_port" "$(nproc)" --usher-headers \
    2>"$data/ceiling-headers.log" &
headers_pid=$!
started_pids+=("$headers_pid")
wait_for_line "$data/ceiling-headers.log" listening 30
headers_url="http://127.0.0.1:$headers_port"

cerbos_port=$(free_port)
cerbos_grpc=$(free_port)
CERBOS_POLICY_DIR=$PWD/bench/cerbos/policies "${ON_SERVER_CPU[@]}" "$CERBOS_BIN" server \
    --config=bench/cerbos/config.yaml --set=server.httpListenAddr=127.0.0.1:$cerbos_port \
    --set=server.grpcListenAddr=127.0.0.1:$cerbos_grpc >"$data/cerbos.log" 2>&1 &
cerbos_pid=$!
started_pids+=("$cerbos_pid")
cerbos_url="http://127.0.0.1:$cerbos_port"
deadline=$((SECONDS + 60))
until curl -sf "$cerbos_url/_cerbos/health" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "Cerbos did not start; see $data/cerbos.log"
    sleep 0.2
done
say "Cerbos $("$CERBOS_BIN" --version | head -n 1) on $cerbos_url (pid $cerbos_pid)"

# --- same answers ------------------------------------------------------------------------
USHER_TOKEN=$token node bench/verify.mjs "$data/mix" "$usher_url" "$cerbos_url" 2000 >&2
USHER_TOKEN=$token_pg node bench/verify.mjs "$data/mix" "$pg_usher_url" "$cerbos_url" 2000 >&2

# --- load --------------------------------------------------------------------------------
# Each target is warmed up, then the runs go round the targets: run 1 of each, run 2 of each,
# and so on, so that whatever else the machine does weighs on every target alike.
mix=$data/mix
targets=(
    "ceiling|$ceiling_pid|$ceiling_url|/|$mix/usher.jsonl|1||0"
    "ceiling_headers|$headers_pid|$headers_url|/|$mix/usher.jsonl|1||0"
    "usher|$usher_pid|$usher_url|/api/v1/check|$mix/usher.jsonl|1|$token|0"
    "usher_batch|$usher_pid|$usher_url|/api/v1/check/batch|$mix/usher.jsonl|100|$token|100"
    "usher_pg|$pg_pid|$pg_usher_url|/api/v1/check|$mix/usher.jsonl|1|$token_pg|0"
    "usher_pg_batch|$pg_pid|$pg_usher_url|/api/v1/check/batch|$mix/usher.jsonl|100|$token_pg|100"
    "cerbos|$cerbos_pid|$cerbos_url|/api/check/resources|$mix/cerbos.jsonl|1||0"
    "cerbos_batch|$cerbos_pid|$cerbos_url|/api/check/resources|$mix/cerbos-batch.jsonl|10||0"
)
for t in "${targets[@]}"; do
    IFS='|' read -r name pid url path file per tok batch <<<"$t"
    BENCH_MIX=$file BENCH_PATH=$path BENCH_TOKEN=$tok BENCH_BATCH=$batch \
        "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/mix.lua "$url" \
        >/dev/null
done
for run in $(seq 1 "$RUNS"); do
    for t in "${targets[@]}"; do
        IFS='|' read -r name pid url path file per tok batch <<<"$t"
        measure "$name" "$run" "$pid" "$url" "$path" "$file" "$per" "$tok" "$batch"
    done
done
stop_pid "$ceiling_pid"
stop_pid "$headers_pid"
stop_pid "$cerbos_pid"

# --- writes ------------------------------------------------------------------------------
# Invitation create (POST /agencies/{id}/invitations, a new address each time, no email) and
# grant replace (PUT /agencies/{id}/users/{id}/grants, two grants, alternating shapes) by a
# signed-in platform admin, on each database, with a few connections: each write is one
# transaction behind the writers' lock, with its audit row. The runs alternate between the
# databases like the decision runs.
session_of() {
    curl -sf -X POST -H 'Content-Type: application/json' \
        -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
        "$1/api/v1/sessions" | jq -r .token
}
session=$(session_of "$usher_url")
session_pg=$(session_of "$pg_usher_url")
writes=(
    "invite_sqlite|$usher_pid|$usher_url|$mix/invitations.tsv|POST|$session"
    "invite_pg|$pg_pid|$pg_usher_url|$mix/invitations.tsv|POST|$session_pg"
    "grants_sqlite|$usher_pid|$usher_url|$mix/grant-puts.tsv|PUT|$session"
    "grants_pg|$pg_pid|$pg_usher_url|$mix/grant-puts.tsv|PUT|$session_pg"
)
for t in "${writes[@]}"; do
    IFS='|' read -r name pid url file method tok <<<"$t"
    BENCH_MIX=$file BENCH_METHOD=$method BENCH_TAG=$name-warm BENCH_TOKEN=$tok \
        "${ON_LOAD_CPU[@]}" wrk -t1 -c"$WRITE_CONNECTIONS" -d"${WARMUP}s" -s bench/mix.lua "$url" \
        >/dev/null
done
for run in $(seq 1 "$RUNS"); do
    for t in "${writes[@]}"; do
        IFS='|' read -r name pid url file method tok <<<"$t"
        BENCH_METHOD=$method BENCH_TAG=$name-$run CONNECTIONS=$WRITE_CONNECTIONS \
            DURATION=$WRITE_DURATION measure "$name" "$run" "$pid" "$url" / "$file" 1 "$tok"
    done
done
stop_pid "$usher_pid"
stop_pid "$pg_pid"

# --- sign-in storm -----------------------------------------------------------------------
# A fresh usher: first 200 connections asking for /healthz (what 200 connections cost by
# themselves), then 200 connections signing in (argon2id, 19 MiB each) for as long as a run
# lasts. Hashing runs on the HTTP threads behind the pool's semaphore, so however many sign-ins
# wait, at most hash_workers argon2id buffers exist at once.
for i in $(seq 0 999); do
    printf '{"email":"user%07d@bench.example","password":"bench-password-1"}\n' "$i"
done >"$mix/sign-in.jsonl"
start_usher "$data" "$data/usher-storm.log"
workers=${USHER_HASH_WORKERS:-$(nproc)}
idle_kb=$(rss_kb "$usher_pid")
BENCH_PATH=/healthz "${ON_LOAD_CPU[@]}" wrk -t1 -c"$STORM_CONNECTIONS" -d"${WARMUP}s" \
    -s bench/mix.lua "$usher_url" >/dev/null
connected_kb=$(hwm_kb "$usher_pid")
out=$(BENCH_MIX=$mix/sign-in.jsonl BENCH_PATH=/api/v1/sessions "${ON_LOAD_CPU[@]}" wrk -t1 \
    -c"$STORM_CONNECTIONS" -d"${DURATION}s" --timeout 30s -s bench/mix.lua "$usher_url")
line=$(echo "$out" | sed -n 's/^WRK //p')
echo "{\"connections\":$STORM_CONNECTIONS,\"idle_kb\":$idle_kb,\"connected_kb\":$connected_kb,\"peak_kb\":$(hwm_kb "$usher_pid"),\"workers\":$workers,\"wrk\":$line}" \
    >"$OUT/storm.json"
stop_pid "$usher_pid"

node bench/report.mjs "$OUT/results.jsonl" "$OUT/storm.json"
