#!/usr/bin/env bash
# `make bench-scale`: usher on a large data set (1,000,000 users, 10,000 agencies, 50,000
# environments, 3,000,000 grants, one agency of 100,000 members) next to the small one that
# `make bench` uses: start-up time, memory, CPU per check, and the users overview of the large
# agency. The large database is written once (about a minute) and kept in
# build/bench/scale-scale for the next run; delete that directory to write it again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

SCALE_FLAGS=(--users 1000000 --agencies 10000 --environments 50000 --grants 3000000
    --big-agency-members 100000 --mix-count 10000)
SMALL_FLAGS=(--users 10000 --agencies 100 --environments 1000 --grants 30000 --mix-count 10000)
STARTS=3             # start-ups timed per data set; the table shows the median
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

# Starts usher on $1 STARTS times, recording the time to serve.listening; leaves the last one
# running (usher_pid, usher_url) and sets startup_ms, startup_cpu_ms (the CPU time it took) and
# load_ms (medians).
time_starts() {
    local dir=$1 times=() loads=() cpus=()
    for i in $(seq 1 "$STARTS"); do
        local t0 t1
        t0=$(date +%s%N)
        start_usher "$dir" "$dir/usher.log"
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
        cpus+=($(($(cpu_ticks "$usher_pid") * 1000 / CLK_TCK)))
        loads+=("$(grep '"event":"authz.loaded"' "$dir/usher.log" | sed -E 's/.*"duration_ms":([0-9.]+).*/\1/')")
        if [ "$i" -lt "$STARTS" ]; then stop_pid "$usher_pid"; fi
    done
    startup_ms=$(printf '%s\n' "${times[@]}" | median)
    startup_cpu_ms=$(printf '%s\n' "${cpus[@]}" | median)
    load_ms=$(printf '%s\n' "${loads[@]}" | median)
}

record() {
    echo "$1" >>"$OUT/scale.jsonl"
}

declare -A pid url token
for set in small scale; do
    dir=$OUT/scale-$set
    if [ "$set" = small ]; then seed_once "$dir" "${SMALL_FLAGS[@]}"; else seed_once "$dir" "${SCALE_FLAGS[@]}"; fi
    token[$set]=$("$BUILD/usher" token-create --name bench-scale --data-dir "$dir" 2>/dev/null)
    time_starts "$dir"
    pid[$set]=$usher_pid
    url[$set]=$usher_url
    grants=$(grep '"event":"authz.loaded"' "$dir/usher.log" | sed -E 's/.*"grants":([0-9]+).*/\1/')
    index_bytes=$(grep '"event":"authz.loaded"' "$dir/usher.log" | sed -E 's/.*"bytes":([0-9]+).*/\1/')
    rss_start=$(rss_kb "$usher_pid")
    say "$set: $grants grants, start-up $startup_ms ms (index $load_ms ms), RSS $rss_start KiB"
    record "{\"set\":\"$set\",\"grants\":$grants,\"startup_ms\":$startup_ms,\"startup_cpu_ms\":$startup_cpu_ms,\"load_ms\":$load_ms,\"index_bytes\":$index_bytes,\"rss_start_kb\":$rss_start,\"hwm_kb\":$(hwm_kb "$usher_pid")}"
done

# Both servers run side by side and their runs alternate, so that whatever else the machine
# does weighs on both alike.
mix() { echo "$OUT/scale-$1/mix/usher.jsonl"; }
for set in small scale; do
    BENCH_MIX=$(mix $set) BENCH_PATH=/api/v1/check BENCH_TOKEN=${token[$set]} \
        "${ON_LOAD_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/mix.lua \
        "${url[$set]}" >/dev/null
done
for run in $(seq 1 "$RUNS"); do
    for set in small scale; do
        measure "check_$set" "$run" "${pid[$set]}" "${url[$set]}" /api/v1/check "$(mix $set)" 1 \
            "${token[$set]}"
    done
    for set in small scale; do
        measure "batch_$set" "$run" "${pid[$set]}" "${url[$set]}" /api/v1/check/batch \
            "$(mix $set)" 100 "${token[$set]}" 100
    done
done

# The users overview of the 100,000-member agency, as its owner sees it.
big=${url[scale]}
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
[ -n "$cursor" ] && [ "$cursor" != null ] || die "no page after $DEEP_ROWS members"
CONNECTIONS=$OVERVIEW_CONNECTIONS measure_target overview_first "${pid[scale]}" "$big" \
    "$members" "" 1 "$session"
CONNECTIONS=$OVERVIEW_CONNECTIONS measure_target overview_deep "${pid[scale]}" "$big" \
    "$members?cursor=$cursor" "" 1 "$session"
for set in small scale; do
    record "{\"set\":\"${set}_end\",\"rss_end_kb\":$(rss_kb "${pid[$set]}"),\"hwm_kb\":$(hwm_kb "${pid[$set]}")}"
    stop_pid "${pid[$set]}"
done

node bench/report-scale.mjs "$OUT/scale.jsonl" "$OUT/results.jsonl"
