# The three verbs: `make` builds build/usher, `make run` starts it on SQLite, `make test` runs
# every suite. Each sets up a fresh Debian 12 machine first when something is missing.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
USHER_DATA_DIR ?= ./data
export USHER_DATA_DIR

.PHONY: all setup build run test format clean bench bench-scale

all: build

setup:
	@scripts/setup.sh

build:
	@pkg-config --exists libmicrohttpd jansson sqlite3 libsodium inih libcurl 2>/dev/null \
		&& command -v cmake >/dev/null 2>&1 || scripts/setup.sh
	@test -f $(BUILD)/CMakeCache.txt || \
		cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DUSHER_TESTS=OFF
	cmake --build $(BUILD) -j$$(nproc)

run: setup build
	./$(BUILD)/usher serve

test: setup
	@scripts/test.sh

# Benchmarks (bench/README.md): decisions against Cerbos and the HTTP ceiling, and the large
# data set. Each installs what it needs and prints its table.
bench:
	@bench/run.sh

bench-scale:
	@bench/scale.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')

clean:
	rm -rf $(BUILD) build-asan
