#!/usr/bin/env bash
# Runs every test suite and ends with one line "N passed, N failed" (", N skipped" when some were
# skipped). Suites: the cmocka unit tests under ctest in the sanitizer build (ASan, UBSan, with
# store fault injection compiled in), on SQLite and again on PostgreSQL 15, the black-box API tests
# against the sanitizer binary on SQLite and again on PostgreSQL, the web console tests (headless
# Chromium), the ThreadSanitizer build's concurrency tests and server load, a short crash test
# (SIGKILL and restart) on SQLite and on PostgreSQL, a short deployment test (three instances on
# PostgreSQL behind nginx, one killed and restarted), the replay of every fuzz corpus and past
# crash, the clang-format check, the console's lint (Prettier and ESLint) and the static source
# checks. One throwaway PostgreSQL cluster (scripts/pg_cluster.sh) serves the whole run: its admin
# URL is exported as USHER_TEST_PG_URL to every suite (tests that need a PostgreSQL database of
# their own make it there), and it is removed on exit; the -pg suites set USHER_TEST_DB=postgres as
# well. A cluster that cannot start fails the suites that need it. A suite that crashes counts as a
# failure, never as zero tests. Exits non-zero when anything failed. Set USHER_TEST_JOBS to change
# ctest's parallelism (default 2) and USHER_CRASH_CYCLES the crash tests' cycles (default 5).
set -uo pipefail
cd "$(dirname "$0")/.."

ASAN_BUILD=build-asan
JOBS="${USHER_TEST_JOBS:-2}"
LOGS="$ASAN_BUILD/test-logs"

total_pass=0
total_fail=0
total_skip=0

# Adds one suite's counts to the totals and prints its summary line.
record() {
    local suite=$1 pass=$2 fail=$3 skip=$4 note=${5:-}
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    total_skip=$((total_skip + skip))
    local line="$suite: $pass passed, $fail failed"
    if [ "$skip" -gt 0 ]; then line="$line, $skip skipped"; fi
    if [ -n "$note" ]; then line="$line ($note)"; fi
    echo "== $line"
}

# The last integer following a prefix on a line of file, or empty.
count_after() {
    local prefix=$1 file=$2
    grep -E "^${prefix}[0-9]+" "$file" 2>/dev/null | tail -n 1 | sed -E "s/^${prefix}([0-9]+).*/\1/"
}

finish() {
    local line="$total_pass passed, $total_fail failed"
    if [ "$total_skip" -gt 0 ]; then line="$line, $total_skip skipped"; fi
    echo "$line"
    if [ "$total_fail" -gt 0 ]; then exit 1; fi
    exit 0
}

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# The database of every suite is chosen below, never by the caller's shell.
unset USHER_TEST_DB USHER_TEST_PG_URL

mkdir -p "$LOGS"

# --- the PostgreSQL cluster -------------------------------------------------------------------
# PostgreSQL 15 on a free loopback port, each test in a database of its own. Missing
# PostgreSQL tools are a failure of the suites that need them: scripts/setup.sh installs them.
PG_DIR=""
PG_URL=""
PG_NOTE=""
pg_cleanup() {
    if [ -n "$PG_DIR" ]; then
        scripts/pg_cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
        PG_DIR=""
    fi
}
trap pg_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "== starting a throwaway PostgreSQL cluster (scripts/pg_cluster.sh)"
PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/usher-pg.XXXXXX")
if PG_URL=$(scripts/pg_cluster.sh start "$PG_DIR" 2>"$LOGS/pg-cluster.log"); then
    export USHER_TEST_PG_URL="$PG_URL"
else
    cat "$LOGS/pg-cluster.log"
    PG_URL=""
    PG_NOTE="could not start PostgreSQL, log in $LOGS/pg-cluster.log"
fi

# --- builds -------------------------------------------------------------------------------
echo "== building $ASAN_BUILD (AddressSanitizer + UndefinedBehaviorSanitizer, Debug)"
build_ok=1
# Configured every time, so a build-asan made by hand with other options is put right.
cmake -S . -B "$ASAN_BUILD" -DUSHER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DUSHER_TESTS=ON \
    -DUSHER_FAULTS=ON \
    >"$LOGS/configure.log" 2>&1 || build_ok=0
if [ "$build_ok" = 1 ]; then
    cmake --build "$ASAN_BUILD" -j2 >"$LOGS/build.log" 2>&1 || build_ok=0
fi
if [ "$build_ok" = 0 ]; then
    grep -hE 'error|Error|ERROR' "$LOGS/configure.log" "$LOGS/build.log" 2>/dev/null | head -n 40
    record "build $ASAN_BUILD" 0 1 0 "logs in $LOGS"
fi

echo "== building build/usher"
if ! make --no-print-directory build >"$LOGS/make.log" 2>&1; then
    grep -hE 'error|Error|ERROR' "$LOGS/make.log" | head -n 40
    record "build build/usher" 0 1 0 "log in $LOGS/make.log"
fi

# --- unit tests -----------------------------------------------------------------------------
# Runs ctest in the sanitizer build into log and records the suite from its counts.
ctest_suite() {
    local suite=$1 log=$2
    (cd "$ASAN_BUILD" && ctest --output-on-failure --timeout 300 -j"$JOBS") >"$log" 2>&1
    local rc=$?
    cat "$log"
    # "100% tests passed, 0 tests failed out of 9" or "No tests were found!!!"
    local summary failed all passed cases skipped note
    summary=$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [ -n "$summary" ]; then
        failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
        all=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/')
        passed=$((all - failed))
        if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
        # ctest counts executables; cmocka's own lines say how many cases they held.
        cases=$(grep -hE '^\[  PASSED  \] [0-9]+ test' "$ASAN_BUILD/Testing/Temporary/LastTest.log" \
            2>/dev/null | awk '{ n += $4 } END { print n + 0 }')
        skipped=$(grep -hE '^\[  SKIPPED \] [0-9]+ test' "$ASAN_BUILD/Testing/Temporary/LastTest.log" \
            2>/dev/null | awk '{ n += $4 } END { print n + 0 }')
        note="$cases cmocka cases"
        if [ "$skipped" -gt 0 ]; then note="$note, $skipped cases skipped"; fi
        record "$suite" "$passed" "$failed" 0 "$note"
    elif grep -q 'No tests were found' "$log" && [ "$rc" -eq 0 ]; then
        record "$suite" 0 0 0 "no unit tests"
    else
        record "$suite" 0 1 0 "ctest did not report, exit $rc"
    fi
}

if [ "$build_ok" = 1 ]; then
    echo "== unit tests (ctest, $ASAN_BUILD)"
    USHER_TEST_PG_URL='' ctest_suite unit "$LOGS/ctest.log"
else
    record unit 0 1 0 "not built"
fi

# The same unit tests on PostgreSQL, each test in a database of its own.
if [ "$build_ok" = 0 ]; then
    record unit-pg 0 1 0 "not built"
elif [ -z "$PG_URL" ]; then
    record unit-pg 0 1 0 "$PG_NOTE"
else
    echo "== unit tests on PostgreSQL (ctest, $ASAN_BUILD, throwaway cluster)"
    ctest_suite unit-pg "$LOGS/ctest-pg.log"
fi

# --- black-box API tests and console tests ------------------------------------------------
# Runs node's test runner over the files against the sanitizer binary and records the suite
# from its TAP counts.
node_suite() {
    local suite=$1 title=$2
    shift 2
    local files=("$@")
    echo "== $title (node --test, USHER_BIN=$ASAN_BUILD/usher)"
    local tap="$LOGS/$suite.tap"
    rm -f "$tap"
    # At most NODE_TEST_FILES test files at once when set (node's default is one per core
    # but one).
    local concurrency=()
    if [ -n "${NODE_TEST_FILES:-}" ]; then concurrency=(--test-concurrency="$NODE_TEST_FILES"); fi
    # The harness bounds each server; this bounds the whole suite should a test hang.
    USHER_BIN="$PWD/$ASAN_BUILD/usher" timeout --kill-after=10 1800 node --test "${concurrency[@]}" \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap" \
        "${files[@]}"
    local rc=$?
    local pass fail cancelled skipped todo
    pass=$(count_after '# pass ' "$tap")
    fail=$(count_after '# fail ' "$tap")
    cancelled=$(count_after '# cancelled ' "$tap")
    skipped=$(count_after '# skipped ' "$tap")
    todo=$(count_after '# todo ' "$tap")
    if [ -z "$pass" ] || [ -z "$fail" ]; then
        record "$suite" 0 1 0 "node did not report, exit $rc"
    else
        fail=$((fail + ${cancelled:-0}))
        if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
        record "$suite" "$pass" "$fail" "$((${skipped:-0} + ${todo:-0}))"
    fi
}

api_files=()
for f in tests/api/*.test.mjs; do
    [ -e "$f" ] && api_files+=("$f")
done
if [ ${#api_files[@]} -eq 0 ]; then
    record api 0 0 0 "no test files"
elif [ "$build_ok" = 0 ]; then
    record api 0 1 0 "not built"
else
    node_suite api "API tests" "${api_files[@]}"
fi

# The same API tests with every server on a PostgreSQL database of its own
# (tests/api/lib/harness.mjs makes one per data directory on the cluster).
if [ ${#api_files[@]} -eq 0 ]; then
    record api-pg 0 0 0 "no test files"
elif [ "$build_ok" = 0 ]; then
    record api-pg 0 1 0 "not built"
elif [ -z "$PG_URL" ]; then
    record api-pg 0 1 0 "$PG_NOTE"
else
    # Every server holds threads + 2 connections (threads: one per core): four files at a
    # time stay within the cluster's 500 connections on a machine with many cores.
    USHER_TEST_DB=postgres NODE_TEST_FILES=4 node_suite api-pg "API tests on PostgreSQL" "${api_files[@]}"
fi

# The console in headless Chromium (Debian's chromium, see scripts/setup.sh); screenshots of
# every screen land in build/e2e-screenshots/.
e2e_files=()
for f in tests/e2e/*.test.mjs; do
    [ -e "$f" ] && e2e_files+=("$f")
done
if [ ${#e2e_files[@]} -eq 0 ]; then
    record e2e 0 0 0 "no test files"
elif [ "$build_ok" = 0 ]; then
    record e2e 0 1 0 "not built"
elif [ ! -x /usr/bin/chromium ]; then
    record e2e 0 1 0 "/usr/bin/chromium is missing: run scripts/setup.sh"
else
    node_suite e2e "console tests" "${e2e_files[@]}"
    if [ -z "$PG_URL" ]; then
        record e2e-pg 0 1 0 "$PG_NOTE"
    else
        USHER_TEST_DB=postgres node_suite e2e-pg "console tests on PostgreSQL" "${e2e_files[@]}"
    fi
fi

# --- ThreadSanitizer -------------------------------------------------------------------------
# The concurrency tests (decision index readers against writers, the store pool, the hashing
# pool, the throttle, the mail sender, concurrent accepts and grant changes during checks, the
# OpenID Connect key cache under a flood of unknown kids) and
# a short concurrent crash-test load on the server, built with clang -fsanitize=thread.
TSAN_BUILD=build-tsan
TSAN_TESTS=(test_races test_authz test_store test_password test_throttle test_mail test_outbox_claims
    test_crypto test_log test_oidc_http)
echo "== building $TSAN_BUILD (ThreadSanitizer, clang)"
tsan_ok=1
{ CC=clang cmake -S . -B "$TSAN_BUILD" -DUSHER_TSAN=ON -DCMAKE_BUILD_TYPE=Debug -DUSHER_TESTS=ON \
    >"$LOGS/tsan-configure.log" 2>&1 &&
    cmake --build "$TSAN_BUILD" -j2 --target usher "${TSAN_TESTS[@]}" >"$LOGS/tsan-build.log" 2>&1; } ||
    tsan_ok=0
if [ "$tsan_ok" = 0 ]; then
    grep -hE 'error' "$LOGS/tsan-configure.log" "$LOGS/tsan-build.log" 2>/dev/null | head -n 40
    record tsan 0 1 0 "build failed, logs in $LOGS"
    record tsan-pg 0 1 0 "build failed, logs in $LOGS"
else
    echo "== ThreadSanitizer: concurrency unit tests (SQLite, then PostgreSQL) and a concurrent load on the server"
    ts_pass=0
    ts_fail=0
    tspg_pass=0
    tspg_fail=0
    for db in sqlite postgres; do
        if [ "$db" = postgres ] && [ -z "$PG_URL" ]; then
            tspg_fail=1
            break
        fi
        for t in "${TSAN_TESTS[@]}"; do
            log="$LOGS/tsan-$db-$t.log"
            url=""
            if [ "$db" = postgres ]; then url="$PG_URL"; fi
            if USHER_TEST_PG_URL="$url" TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
                CMOCKA_MESSAGE_OUTPUT=STDOUT timeout --kill-after=10 600 "$TSAN_BUILD/tests/$t" \
                >"$log" 2>&1 && ! grep -q 'ThreadSanitizer' "$log"; then
                if [ "$db" = sqlite ]; then ts_pass=$((ts_pass + 1)); else tspg_pass=$((tspg_pass + 1)); fi
            else
                echo "tsan $t on $db failed (log $log):"
                grep -E 'WARNING: ThreadSanitizer|SUMMARY|FAILED|\[  ERROR' "$log" | head -n 10
                if [ "$db" = sqlite ]; then ts_fail=$((ts_fail + 1)); else tspg_fail=$((tspg_fail + 1)); fi
            fi
        done
    done
    log="$LOGS/tsan-server.log"
    if TSAN_OPTIONS="halt_on_error=0" USHER_BIN="$PWD/$TSAN_BUILD/usher" \
        timeout --kill-after=10 900 node tests/crash/crash.mjs --cycles 3 --quiet >"$log" 2>&1; then
        ts_pass=$((ts_pass + 1))
    else
        echo "tsan server load failed (log $log):"
        grep -E 'FAIL|WARNING: ThreadSanitizer|SUMMARY' "$log" | head -n 10
        ts_fail=$((ts_fail + 1))
    fi
    record tsan "$ts_pass" "$ts_fail" 0
    record tsan-pg "$tspg_pass" "$tspg_fail" 0
fi

# --- crash test ------------------------------------------------------------------------------
# Kills the sanitizer binary with SIGKILL under concurrent changes, restarts it and checks that
# nothing acknowledged was lost, nothing applied twice, the audit log matches and every
# invitation email arrives: on SQLite, then on a PostgreSQL database (the restart reopens the
# same one). `make crash-test CYCLES=N` is the long run.
crash_suite() {
    local suite=$1 title=$2
    echo "== $title (SIGKILL and restart, $ASAN_BUILD)"
    local log="$LOGS/$suite.log"
    USHER_BIN="$PWD/$ASAN_BUILD/usher" timeout --kill-after=10 900 \
        node tests/crash/crash.mjs --cycles "${USHER_CRASH_CYCLES:-5}" --quiet >"$log" 2>&1
    local rc=$?
    local summary
    summary=$(grep -E '^crash: [0-9]+ cycles' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
        echo "$summary"
        record "$suite" 1 0 0
    else
        grep -E 'FAIL|Error|crash:' "$log" | head -n 20
        record "$suite" 0 1 0 "log in $log"
    fi
}

if [ "$build_ok" = 0 ]; then
    record crash 0 1 0 "not built"
    record crash-pg 0 1 0 "not built"
else
    crash_suite crash "crash test"
    if [ -z "$PG_URL" ]; then
        record crash-pg 0 1 0 "$PG_NOTE"
    else
        USHER_TEST_DB=postgres crash_suite crash-pg "crash test on PostgreSQL"
    fi
fi

# --- cluster -----------------------------------------------------------------------------------
# Three instances of the sanitizer binary on one PostgreSQL database behind nginx, one killed
# and restarted under a mixed load: nothing acknowledged lost, nothing applied twice, every
# email delivered, the audit log intact, every revocation denied on every instance within
# 100 ms. On the cluster of USHER_TEST_PG_URL when it is set, else on one started for it.
# `make cluster-test` is the long run.
if [ "$build_ok" = 0 ]; then
    record cluster 0 1 0 "not built"
elif [ ! -x /usr/sbin/nginx ]; then
    record cluster 0 1 0 "/usr/sbin/nginx is missing: run scripts/setup.sh"
else
    echo "== cluster (3 instances on PostgreSQL behind nginx, SIGKILL and restart, $ASAN_BUILD)"
    log="$LOGS/cluster.log"
    USHER_BIN="$PWD/$ASAN_BUILD/usher" timeout --kill-after=10 600 \
        scripts/with_pg.sh node tests/cluster/deploy.mjs --seconds 20 --kills 1 --probes 3 --quiet \
        >"$log" 2>&1
    rc=$?
    summary=$(grep -E '^cluster: ' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
        echo "$summary"
        record cluster 1 0 0
    elif [ "$rc" -eq 77 ]; then
        echo "$summary"
        record cluster 0 0 1 "skipped"
    else
        grep -E 'FAIL|Error|cluster:' "$log" | head -n 20
        record cluster 0 1 0 "log in $log"
    fi
fi

# --- fuzz corpora and past crashes ---------------------------------------------------------------
# Every fuzz target, built with a replay main in the sanitizer build, runs once over each input of
# its committed corpus and of its past crashes. One target is one test.
fuzz_targets=()
for f in tests/fuzz/*.c; do
    [ -e "$f" ] && fuzz_targets+=("$(basename "$f" .c)")
done
if [ ${#fuzz_targets[@]} -eq 0 ]; then
    record fuzz 0 0 0 "no fuzz targets"
elif [ "$build_ok" = 0 ]; then
    record fuzz 0 1 0 "not built"
else
    echo "== fuzz corpora and past crashes (replay, $ASAN_BUILD)"
    fz_pass=0
    fz_fail=0
    fz_inputs=0
    for t in "${fuzz_targets[@]}"; do
        bin="$ASAN_BUILD/fuzz/${t}_replay"
        dirs=()
        for d in "tests/fuzz/corpus/$t" "tests/fuzz/crashes/$t"; do
            [ -d "$d" ] && dirs+=("$d")
        done
        log="$LOGS/fuzz-$t.log"
        if [ ! -x "$bin" ]; then
            echo "fuzz $t: $bin was not built"
            fz_fail=$((fz_fail + 1))
        elif [ ${#dirs[@]} -eq 0 ]; then
            echo "fuzz $t: no corpus in tests/fuzz/corpus/$t"
            fz_fail=$((fz_fail + 1))
        elif timeout --kill-after=10 600 "$bin" "${dirs[@]}" >"$log" 2>&1; then
            n=$(sed -nE 's/^replayed ([0-9]+) inputs$/\1/p' "$log" | tail -n 1)
            fz_inputs=$((fz_inputs + ${n:-0}))
            fz_pass=$((fz_pass + 1))
        else
            echo "fuzz $t: replay failed (log $log):"
            grep -E 'ERROR|SUMMARY|property failed|runtime error' "$log" | head -n 10
            fz_fail=$((fz_fail + 1))
        fi
    done
    record fuzz "$fz_pass" "$fz_fail" 0 "$fz_inputs inputs replayed"
fi

# --- formatting -------------------------------------------------------------------------------
echo "== clang-format"
fmt_pass=0
fmt_fail=0
while IFS= read -r f; do
    if clang-format --dry-run -Werror "$f" >/dev/null 2>"$LOGS/format.err"; then
        fmt_pass=$((fmt_pass + 1))
    else
        fmt_fail=$((fmt_fail + 1))
        echo "not formatted: $f (run: make format)"
        head -n 20 "$LOGS/format.err"
    fi
done < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -E '^(src|tests)/')
record format "$fmt_pass" "$fmt_fail" 0

# --- console lint ----------------------------------------------------------------------------------
# Prettier's check and ESLint over the console's sources (web/eslint.config.js); one test.
echo "== console lint (Prettier and ESLint in web/)"
log="$LOGS/lint.log"
if [ ! -x web/node_modules/.bin/eslint ] || [ ! -x web/node_modules/.bin/prettier ]; then
    record lint 0 1 0 "web/node_modules lacks ESLint or Prettier: run scripts/setup.sh"
elif (cd web && npm run --silent lint) >"$log" 2>&1; then
    record lint 1 0 0
else
    grep -vE '^$' "$log" | head -n 30
    record lint 0 1 0 "log in $log (fix with: cd web && npm run format)"
fi

# --- static checks -------------------------------------------------------------------------------
echo "== static checks"
st_pass=0
st_fail=0
banned='\b(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\('
if hits=$(grep -rnE "$banned" src/ --include='*.c' --include='*.h'); then
    echo "banned functions in src/:"
    echo "$hits"
    st_fail=$((st_fail + 1))
else
    st_pass=$((st_pass + 1))
fi
if hits=$(grep -rniE '\b(TODO|FIXME|XXX)\b|\bstub\b|not implemented' src/); then
    echo "unfinished-work markers in src/:"
    echo "$hits"
    st_fail=$((st_fail + 1))
else
    st_pass=$((st_pass + 1))
fi
# The rules check each call's result where it is made (if (rc) goto done; or, without cleanup,
# if (rc) return rc;), never by carrying rc through "if (rc == 0) rc = ..." chains.
chains=$(awk 'p ~ /if \(rc == 0|; rc == 0 &&/ && $0 ~ /^[[:space:]]*rc = / {
    print FILENAME ":" FNR - 1 ": " p } { p = $0 }' src/app/*.c)
if [ -n "$chains" ]; then
    echo "rc == 0 chains in src/app/ (write: rc = ...; if (rc) goto done;):"
    echo "$chains"
    st_fail=$((st_fail + 1))
else
    st_pass=$((st_pass + 1))
fi
if scripts/check_layers.sh; then
    st_pass=$((st_pass + 1))
else
    echo "modules include headers above them (docs/ARCHITECTURE.md, layers):"
    st_fail=$((st_fail + 1))
fi
record static "$st_pass" "$st_fail" 0

finish
