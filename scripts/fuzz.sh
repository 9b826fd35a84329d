#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, AddressSanitizer + UndefinedBehaviorSanitizer)
# in build-fuzz and runs each for SECONDS seconds (default 60), starting from its committed
# corpus. New inputs go to build-fuzz/corpus/<target>, crashes to build-fuzz/crashes/<target>.
# Prints one line per target (executions, corpus size, crashes) and a total, and writes the same
# table to build-fuzz/fuzz-report.md. Exits non-zero when any target crashed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     run (all targets when none is named)
#   scripts/fuzz.sh --merge                   fold new inputs into tests/fuzz/corpus (minimised)
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=build-fuzz
MERGE=0
if [ "${1:-}" = "--merge" ]; then
    MERGE=1
    shift
fi
SECONDS_EACH="${1:-60}"
[ $# -gt 0 ] && shift

echo "== building $BUILD (clang, libFuzzer, AddressSanitizer + UndefinedBehaviorSanitizer)"
mkdir -p "$BUILD"
if ! { CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSHER_FUZZ=ON \
        -DUSHER_TESTS=OFF -DUSHER_SANITIZE=OFF >"$BUILD/configure.log" 2>&1 &&
        cmake --build "$BUILD" -j2 >"$BUILD/build.log" 2>&1; }; then
    grep -hE 'error' "$BUILD/configure.log" "$BUILD/build.log" | head -n 40
    echo "fuzz: build failed (logs in $BUILD)"
    exit 1
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/*.c; do targets+=("$(basename "$f" .c)"); done
fi

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

if [ "$MERGE" = 1 ]; then
    for t in "${targets[@]}"; do
        [ -d "$BUILD/corpus/$t" ] || continue
        before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
        "$BUILD/fuzz/$t" -merge=1 "tests/fuzz/corpus/$t" "$BUILD/corpus/$t" \
            >"$BUILD/merge-$t.log" 2>&1
        after=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
        echo "== $t: corpus $before -> $after inputs"
    done
    exit 0
fi

report="$BUILD/fuzz-report.md"
{
    echo "| target | seconds | executions | exec/s | corpus | crashes |"
    echo "|---|---:|---:|---:|---:|---:|"
} >"$report"
total_execs=0
total_crashes=0
for t in "${targets[@]}"; do
    mkdir -p "$BUILD/corpus/$t" "$BUILD/crashes/$t"
    log="$BUILD/fuzz-$t.log"
    crashes_before=$(find "$BUILD/crashes/$t" -type f | wc -l)
    # -max_total_time bounds the run; -timeout flags any input taking over 25 s as a hang.
    "$BUILD/fuzz/$t" -max_total_time="$SECONDS_EACH" -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$BUILD/crashes/$t/" "$BUILD/corpus/$t" "tests/fuzz/corpus/$t" \
        >"$log" 2>&1
    rc=$?
    execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -n 1 | awk '{print $2}')
    execs=${execs:-0}
    corpus=$(($(find "$BUILD/corpus/$t" -type f | wc -l) + $(find "tests/fuzz/corpus/$t" -type f | wc -l)))
    crashes=$(($(find "$BUILD/crashes/$t" -type f | wc -l) - crashes_before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
    rate=$((execs / (SECONDS_EACH > 0 ? SECONDS_EACH : 1)))
    total_execs=$((total_execs + execs))
    total_crashes=$((total_crashes + crashes))
    echo "== $t: $execs executions in ${SECONDS_EACH}s ($rate/s), corpus $corpus, $crashes crashes"
    if [ "$crashes" -gt 0 ]; then
        grep -E 'ERROR|SUMMARY|property failed' "$log" | head -n 5
        echo "   reproduce: $BUILD/fuzz/$t $BUILD/crashes/$t/<file> (log: $log)"
    fi
    echo "| $t | $SECONDS_EACH | $execs | $rate | $corpus | $crashes |" >>"$report"
done
echo "| total | | $total_execs | | | $total_crashes |" >>"$report"
echo "fuzz: $total_execs executions, $total_crashes crashes (table in $report)"
[ "$total_crashes" -eq 0 ]
