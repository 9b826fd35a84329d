#!/usr/bin/env bash
# `make bench-scale`: usher on a large data set (1,000,000 users, 10,000 agencies, 50,000
# environments, 3,000,000 grants, one agency of 100,000 members) next to the small one that
# `make bench` uses, each on SQLite and on PostgreSQL: start-up time, memory, CPU per check, and
# the users overview of the large agency. The large SQLite database is written once (about a
# minute) and kept in build/bench/scale-scale for the next run; delete that directory to write
# it again. The PostgreSQL copies go into a throwaway cluster (COPY, about two minutes) that is
# stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

SCALE_FLAGS=(--users 1000000 --agencies 10000 --environments 50000 --grants 3000000
    --big-agency-members 100000 --mix-count 10000)
SMALL_FLAGS=(--users 10000 --agencies 100 --environments 1000 --grants 30000 --mix-count 10000)
STARTS=3             # start-ups timed per data set; the table shows the median
SETS=(small scale small_pg scale_pg)
DEEP_ROWS=90000      # how far into the large agency the deep page starts
OVERVIEW_CONNECTIONS=1

bench_tools
bench_build
rm -f "$OUT/results.jsonl" "$OUT/scale.jsonl"

# Writes the data set of flags "$@" into $1 unless the same flags wrote it before.
seed_once() {
    local dir=$1
    shift
    local stamp="$*"
    if [ -f "$dir/usher.db" ] && [ "$(cat "$dir/seed.stamp" 2>/dev/null)" = "$stamp" ]; then
        say "reusing the data set in $dir"
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir/mix"
    say "seeding $dir: $stamp"
    "$BUILD/usher" migrate --data-dir "$dir" >/dev/null 2>&1
    "$OUT/seed" --db "$dir/usher.db" --mix-dir "$dir/mix" "$@"
    echo "$stamp" >"$dir/seed.stamp"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The data dir and the extra flags of usher on data set $1.
set_dir() {
    echo "$OUT/scale-$1"
}
set_flags() {
    case $1 in
    *_pg) echo "--database ${pg_url[$1]}" ;;
    esac
}

# Starts usher on data set $1 and records the time to serve.listening, the CPU the start took
# in usher and in PostgreSQL, and the index's share (from the authz.loaded line); leaves it
# running (usher_pid, usher_url).
start_timed() {
    local set=$1 dir t0 t1 db0
    dir=$(set_dir "$set")
    db0=$(pg_cpu_ticks)
    t0=$(date +%s%N)
    # shellcheck disable=SC2046
    start_usher "$dir" "$dir/usher.log" $(set_flags "$set")
    t1=$(date +%s%N)
    times[$set]+=" $(((t1 - t0) / 1000000))"
    cpus[$set]+=" $(($(cpu_ticks "$usher_pid") * 1000 / CLK_TCK))"
    db_cpus[$set]+=" $((($(pg_cpu_ticks) - db0) * 1000 / CLK_TCK))"
    loads[$set]+=" $(grep '"event":"authz.loaded"' "$dir/usher.log" | sed -E 's/.*"duration_ms":([0-9.]+).*/\1/')"
}

# Stops the usher of pid $1 and waits until PostgreSQL has ended its backends, so that their
# CPU is not counted in the next start.
stop_settled() {
    stop_pid "$1"
    local deadline=$((SECONDS + 10))
    while [ "$(ps -o pid= --ppid "$(head -n 1 "$pg_dir/data/postmaster.pid")" | wc -l)" -gt \
        "$pg_idle_children" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
}

record() {
    echo "$1" >>"$OUT/scale.jsonl"
}

# Seeding: SQLite once (kept), PostgreSQL every run into the throwaway cluster.
seed_once "$OUT/scale-small" "${SMALL_FLAGS[@]}"
seed_once "$OUT/scale-scale" "${SCALE_FLAGS[@]}"
pg_start
pg_idle_children=$(ps -o pid= --ppid "$(head -n 1 "$pg_dir/data/postmaster.pid")" | wc -l)
declare -A pg_url pid url token times cpus db_cpus loads
for set in small scale; do
    dir=$OUT/scale-${set}_pg
    rm -rf "$dir"
    mkdir -p "$dir"
    pg_url[${set}_pg]=$(pg_database "usher_$set")
    "$BUILD/usher" migrate --data-dir "$dir" --database "${pg_url[${set}_pg]}" >/dev/null 2>&1
    say "seeding PostgreSQL database usher_$set"
    t0=$(date +%s%N)
    if [ "$set" = small ]; then flags=("${SMALL_FLAGS[@]}"); else flags=("${SCALE_FLAGS[@]}"); fi
    # The mixes are the SQLite set's: the same flags write the same ones.
    "$OUT/seed" --db "${pg_url[${set}_pg]}" "${flags[@]}"
    seed_ms=$((($(date +%s%N) - t0) / 1000000))
    say "seeded usher_$set in $seed_ms ms"
    record "{\"set\":\"${set}_pg_seed\",\"seed_ms\":$seed_ms}"
done
for set in "${SETS[@]}"; do
    # shellcheck disable=SC2046
    token[$set]=$("$BUILD/usher" token-create --name bench-scale --data-dir "$(set_dir "$set")" \
        $(set_flags "$set") 2>/dev/null)
done

# The start-ups go round the data sets, so that whatever else the machine does weighs on each
# alike; the last round's servers stay up for the load.
for i in $(seq 1 "$STARTS"); do
    for set in "${SETS[@]}"; do
        start_timed "$set"
        pid[$set]=$usher_pid
        url[$set]=$usher_url
        if [ "$i" -lt "$STARTS" ]; then stop_settled "$usher_pid"; fi
    done
done
# The recorded lists are numbers separated by spaces, split on purpose.
# shellcheck disable=SC2086
for set in "${SETS[@]}"; do
    log=$(set_dir "$set")/usher.log
    grants=$(grep '"event":"authz.loaded"' "$log" | sed -E 's/.*"grants":([0-9]+).*/\1/')
    index_bytes=$(grep '"event":"authz.loaded"' "$log" | sed -E 's/.*"bytes":([0-9]+).*/\1/')
    startup_ms=$(printf '%s\n' ${times[$set]} | median)
    startup_cpu_ms=$(printf '%s\n' ${cpus[$set]} | median)
    db_cpu_ms=$(printf '%s\n' ${db_cpus[$set]} | median)
    load_ms=$(printf '%s\n' ${loads[$set]} | median)
    rss_start=$(rss_kb "${pid[$set]}")
    say "$set: $grants grants, start-up $startup_ms ms (index $load_ms ms), RSS $rss_start KiB"
    record "{\"set\":\"$set\",\"grants\":$grants,\"startup_ms\":$startup_ms,\"startup_cpu_ms\":$startup_cpu_ms,\"db_cpu_ms\":$db_cpu_ms,\"load_ms\":$load_ms,\"load_runs_ms\":[$(echo ${loads[$set]} | tr ' ' ',')],\"index_bytes\":$index_bytes,\"rss_start_kb\":$rss_start,\"hwm_kb\":$(hwm_kb "${pid[$set]}")}"
done

# The servers run side by side and their runs alternate, so that whatever else the machine
# does weighs on all alike.
mix() { echo "$OUT/scale-${1%_pg}/mix/usher.jsonl"; }
for set in "${SETS[@]}"; do
    BENCH_MIX=$(mix "$set") BENCH_PATH=/api/v1/check BENCH_TOKEN=${token[$set]} \
        "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/mix.lua \
        "${url[$set]}" >/dev/null
done
for run in $(seq 1 "$RUNS"); do
    for set in "${SETS[@]}"; do
        measure "check_$set" "$run" "${pid[$set]}" "${url[$set]}" /api/v1/check "$(mix "$set")" 1 \
            "${token[$set]}"
    done
    for set in "${SETS[@]}"; do
        measure "batch_$set" "$run" "${pid[$set]}" "${url[$set]}" /api/v1/check/batch \
            "$(mix "$set")" 100 "${token[$set]}" 100
    done
done

# The users overview of the 100,000-member agency, as its owner sees it, on each database.
for set in scale scale_pg; do
    big=${url[$set]}
    session=$(curl -sf -X POST -H 'Content-Type: application/json' \
        -d '{"email":"user0000000@bench.example","password":"bench-password-1"}' \
        "$big/api/v1/sessions" | jq -r .token)
    agency=$(curl -sf -H "Authorization: Bearer $session" "$big/api/v1/me" | jq -r '.agencies[0].id')
    members="/api/v1/agencies/$agency/users"
    cursor=""
    for _ in $(seq 1 $((DEEP_ROWS / 200))); do
        cursor=$(curl -sf -H "Authorization: Bearer $session" \
            "$big$members?limit=200${cursor:+&cursor=$cursor}" | jq -r .next_cursor)
    done
    [ -n "$cursor" ] && [ "$cursor" != null ] || die "no page after $DEEP_ROWS members on $set"
    suffix=${set#scale}
    CONNECTIONS=$OVERVIEW_CONNECTIONS measure_target "overview_first$suffix" "${pid[$set]}" \
        "$big" "$members" "" 1 "$session"
    CONNECTIONS=$OVERVIEW_CONNECTIONS measure_target "overview_deep$suffix" "${pid[$set]}" \
        "$big" "$members?cursor=$cursor" "" 1 "$session"
done
for set in "${SETS[@]}"; do
    record "{\"set\":\"${set}_end\",\"rss_end_kb\":$(rss_kb "${pid[$set]}"),\"hwm_kb\":$(hwm_kb "${pid[$set]}")}"
    stop_pid "${pid[$set]}"
done

node bench/report-scale.mjs "$OUT/scale.jsonl" "$OUT/results.jsonl"
