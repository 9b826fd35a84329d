# The three verbs: `make` builds build/usher (the web console included), `make run` starts it
# on SQLite, `make test` runs every suite. Each sets up a fresh Debian 12 machine first when
# something is missing.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
USHER_DATA_DIR ?= ./data
export USHER_DATA_DIR

# The long hardening runs, one command each: `make fuzz SECONDS=N` runs every fuzz target for N
# seconds (clang, libFuzzer, ASan+UBSan, in build-fuzz) and `make fuzz-merge` folds what it
# found into tests/fuzz/corpus; `make crash-test CYCLES=N` kills and restarts build/usher N
# times under load; `make soak MINUTES=N` runs mixed load on it and reports memory growth;
# `make cluster-test CLUSTER_SECONDS=N KILLS=N` runs three instances of build/usher on one
# PostgreSQL behind nginx for N seconds of mixed load, killing and restarting one KILLS times.
SECONDS ?= 60
CYCLES  ?= 100
MINUTES ?= 10
CLUSTER_SECONDS ?= 180
KILLS   ?= 9

.PHONY: all setup build run test format clean fuzz fuzz-merge crash-test soak cluster-test bench bench-scale \
	bench-propagation

all: build

setup:
	@scripts/setup.sh

build:
	@pkg-config --exists libmicrohttpd jansson sqlite3 libpq libsodium inih libcurl 2>/dev/null \
		&& test -f /usr/include/zxcvbn.h && command -v cmake >/dev/null 2>&1 && test -x web/node_modules/.bin/vite \
		|| scripts/setup.sh
	@test -f $(BUILD)/CMakeCache.txt || \
		cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DUSHER_TESTS=OFF
	cmake --build $(BUILD) -j$$(nproc)

run: setup build
	./$(BUILD)/usher serve

test: setup
	@scripts/test.sh

fuzz: setup
	@scripts/fuzz.sh $(SECONDS)

fuzz-merge: setup
	@scripts/fuzz.sh --merge

crash-test: setup build
	node tests/crash/crash.mjs --cycles $(CYCLES)

soak: setup build
	node tests/soak/soak.mjs --minutes $(MINUTES)

cluster-test: setup build
	scripts/with_pg.sh node tests/cluster/deploy.mjs --seconds $(CLUSTER_SECONDS) --kills $(KILLS) --probes 20

# Benchmarks (bench/README.md): decisions against Cerbos and the HTTP ceiling, the large data
# set, and how fast a change made through one instance on PostgreSQL reaches another
# (CHANGES=N changes). Each installs what it needs and prints its table.
CHANGES ?= 1000
bench:
	@bench/run.sh

bench-scale:
	@bench/scale.sh

bench-propagation: setup build
	@scripts/with_pg.sh node bench/propagation.mjs --changes $(CHANGES)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz web/dist
