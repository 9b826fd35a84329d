# Shared by bench/run.sh and bench/scale.sh: tools, servers started on loopback and stopped on
# exit, CPU and memory read from /proc, and one wrk run recorded as a JSON line.
# shellcheck shell=bash

BUILD=${BUILD:-build}
OUT=${BENCH_OUT:-$BUILD/bench}
DURATION=${BENCH_DURATION:-10}  # seconds per measured run
WARMUP=${BENCH_WARMUP:-3}       # seconds of load before the measured runs
RUNS=${BENCH_RUNS:-3}           # measured runs per target; the table shows the median
CONNECTIONS=${BENCH_CONNECTIONS:-64}
# The servers run on one core and wrk on the other, so that neither takes CPU from the other
# and CPU per request is the server's own. BENCH_PIN=0 lets the scheduler place everything.
PIN=${BENCH_PIN:-1}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
CERBOS_BIN=bench/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64
CLK_TCK=$(getconf CLK_TCK)

started_pids=()
pg_dir=""      # the throwaway PostgreSQL cluster, once pg_start has begun making it
pg_admin_url=""

bench_cleanup() {
    for pid in "${started_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${started_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    started_pids=()
    if [ -n "$pg_dir" ]; then
        scripts/pg_cluster.sh stop "$pg_dir" || true
        pg_dir=""
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

say() {
    echo "bench: $*" >&2
}

die() {
    say "$*"
    exit 1
}

# Prefixes for commands: taskset execs the command, so a server started in the background
# with "${ON_SERVER_CPU[@]}" keeps its own pid in $!.
ON_SERVER_CPU=()
ON_LOAD_CPU=()
if [ "$PIN" = 1 ]; then
    ON_SERVER_CPU=(taskset -c "$SERVER_CPU")
    ON_LOAD_CPU=(taskset -c "$LOAD_CPU")
fi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# wrk (Debian package), the build dependencies, and Cerbos from the npm registry (pinned in
# bench/package-lock.json, installed again only when the lockfile changes).
bench_tools() {
    scripts/setup.sh
    if ! command -v wrk >/dev/null 2>&1; then
        say "installing wrk"
        as_root apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends \
            wrk >&2
    fi
    command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is needed"
    local stamp=bench/node_modules/.usher-lock
    if [ ! -x "$CERBOS_BIN" ] || ! cmp -s bench/package-lock.json "$stamp"; then
        say "installing Cerbos from npm"
        (cd bench && npm ci --no-audit --no-fund --loglevel=error >&2)
        cp bench/package-lock.json "$stamp"
    fi
    [ -x "$CERBOS_BIN" ] || die "the Cerbos package holds no binary for this machine"
}

# A throwaway PostgreSQL 15 cluster in $OUT/pg (scripts/pg_cluster.sh) with PostgreSQL's
# durable defaults, so that a commit is on disk when it returns as with usher's SQLite
# (synchronous=FULL). It runs on the servers' CPU (taskset's affinity passes to every process
# the postmaster starts) and is stopped and removed on exit, however the bench ends. Sets
# pg_admin_url.
pg_start() {
    local dir=$OUT/pg
    case "$dir" in /*) ;; *) dir=$PWD/$dir ;; esac
    scripts/pg_cluster.sh stop "$dir"
    pg_dir=$dir
    pg_admin_url=$(PG_CLUSTER_DURABLE=1 "${ON_SERVER_CPU[@]}" scripts/pg_cluster.sh start "$dir")
    say "PostgreSQL $(psql "$pg_admin_url" -Atc 'SHOW server_version') on ${pg_admin_url#*@}"
}

# Creates database $1 in the cluster and prints its URL.
pg_database() {
    psql "$pg_admin_url" -qc "CREATE DATABASE $1" >&2
    echo "${pg_admin_url%/*}/$1"
}

# CPU ticks (user + system) of the PostgreSQL cluster: the postmaster, the processes it ran that
# have ended, and every process it runs now (usher's pooled connections keep their backends).
pg_cpu_ticks() {
    if [ -z "$pg_dir" ] || [ ! -f "$pg_dir/data/postmaster.pid" ]; then
        echo 0
        return
    fi
    local postmaster pid
    postmaster=$(head -n 1 "$pg_dir/data/postmaster.pid")
    {
        awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat"
        for pid in $(ps -o pid= --ppid "$postmaster"); do
            awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true
        done
    } | awk '{ t += $1 } END { print t + 0 }'
}

# The release build of usher, the ceiling server and the data set generator.
bench_build() {
    make --no-print-directory build >&2
    mkdir -p "$OUT"
    local cflags="-std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic -Werror"
    # shellcheck disable=SC2046,SC2086
    cc $cflags -o "$OUT/ceiling" bench/ceiling.c $(pkg-config --cflags --libs libmicrohttpd) \
        -lpthread
    # shellcheck disable=SC2046,SC2086
    cc $cflags -o "$OUT/seed" bench/seed.c $(pkg-config --cflags --libs sqlite3 libsodium libpq)
}

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits up to $3 seconds for a line matching $2 in file $1.
wait_for_line() {
    local file=$1 pattern=$2 limit=${3:-60}
    local deadline=$((SECONDS + limit))
    while ! grep -q "$pattern" "$file" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $pattern in $file"
        sleep 0.05
    done
}

cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

hwm_kb() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# Starts usher on data dir $1 (logs to $2; more flags after, such as --database URL); sets
# usher_pid and usher_url.
start_usher() {
    local dir=$1 log=$2
    shift 2
    : >"$log"
    "${ON_SERVER_CPU[@]}" "$BUILD/usher" serve --listen 127.0.0.1:0 --data-dir "$dir" "$@" 2>"$log" &
    usher_pid=$!
    started_pids+=("$usher_pid")
    wait_for_line "$log" '"event":"serve.listening"' 300
    local port
    port=$(grep '"event":"serve.listening"' "$log" | sed -E 's/.*"port":([0-9]+).*/\1/')
    usher_url="http://127.0.0.1:$port"
}

stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=()
    for pid in "${started_pids[@]}"; do
        [ "$pid" = "$1" ] || kept+=("$pid")
    done
    started_pids=("${kept[@]}")
}

# One measured wrk run against $url: appends a JSON line to $OUT/results.jsonl, with the
# PostgreSQL cluster's CPU over the run when one is up. BENCH_METHOD and BENCH_TAG, when set,
# go to mix.lua (the write mixes).
#   measure TARGET RUN PID URL PATH MIX DECISIONS_PER_REQUEST [TOKEN] [BATCH]
measure() {
    local target=$1 run=$2 pid=$3 url=$4 path=$5 mix=$6 per=$7 token=${8:-} batch=${9:-0}
    local before after db_before db_after out line
    before=$(cpu_ticks "$pid")
    db_before=$(pg_cpu_ticks)
    out=$(BENCH_MIX=$mix BENCH_PATH=$path BENCH_TOKEN=$token BENCH_BATCH=$batch \
        "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/mix.lua \
        "$url")
    after=$(cpu_ticks "$pid")
    db_after=$(pg_cpu_ticks)
    line=$(echo "$out" | sed -n 's/^WRK //p')
    [ -n "$line" ] || die "wrk printed no summary for $target: $out"
    echo "$line" | grep -q '"errors_status":0,' || die "$target answered errors: $line"
    echo "{\"target\":\"$target\",\"run\":$run,\"connections\":$CONNECTIONS,\"per_request\":$per,\"cpu_ticks\":$((after - before)),\"db_cpu_ticks\":$((db_after - db_before)),\"clk_tck\":$CLK_TCK,\"rss_kb\":$(rss_kb "$pid"),\"wrk\":$line}" \
        >>"$OUT/results.jsonl"
    say "$target run $run: $(echo "$line" | sed -E 's/.*"requests":([0-9]+).*"p99_us":([0-9]+).*/\1 requests, p99 \2 us/')"
}

# A warm-up, then RUNS measured runs.
#   measure_target TARGET PID URL PATH MIX DECISIONS_PER_REQUEST [TOKEN] [BATCH]
measure_target() {
    local target=$1 pid=$2 url=$3 path=$4 mix=$5 per=$6 token=${7:-} batch=${8:-0}
    BENCH_MIX=$mix BENCH_PATH=$path BENCH_TOKEN=$token BENCH_BATCH=$batch \
        "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/mix.lua "$url" >/dev/null
    for run in $(seq 1 "$RUNS"); do
        measure "$target" "$run" "$pid" "$url" "$path" "$mix" "$per" "$token" "$batch"
    done
}
