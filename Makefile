# The README's two commands: `make bench` and `make test`. Both install what
# they need first (libnuma-dev), so they work on a fresh Debian/Ubuntu clone.
SWIFT ?= swift
RELEASE_BIN = .build/release/ringbench
COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
export RINGBENCH_COMMIT := $(COMMIT)

.PHONY: all deps build release release-static test bench bench-quick bench-json probe clean check-ipc numa-check report-check fault-check fault-campaign sanitize sanitize-address sanitize-thread fuzz examples examples-swift cabi cabi-test interop python-package python-fastpath

all: release

# libnuma-dev: installed with apt-get when running as root (refreshing the
# package lists only when the first attempt fails); otherwise we print the
# exact command and stop.
deps:
	@command -v $(SWIFT) >/dev/null 2>&1 || { echo "swift is not on PATH: install a Swift 6 toolchain (https://www.swift.org/install/linux/)" >&2; exit 1; }
	@if ! printf '#include <numa.h>\n#include <numaif.h>\n' | cc -E -x c - >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libnuma-dev (needed by CShim)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnuma-dev >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnuma-dev >/dev/null; } || \
	      { echo "could not install libnuma-dev with apt-get" >&2; exit 1; }; \
	  else \
	    echo "libnuma-dev is missing; run: sudo apt-get update && sudo apt-get install -y libnuma-dev" >&2; exit 1; \
	  fi; \
	fi

# The rivals' headers (Boost.Lockfree, Boost.Interprocess, Concurrency Kit),
# for the harness's Rivals target only, installed the same way.
	@if ! printf '#include <ck_ring.h>\n' | cc -E -x c - >/dev/null 2>&1 || ! printf '#include <boost/lockfree/spsc_queue.hpp>\n' | c++ -E -x c++ - >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libboost-dev and libck-dev (the rival transports)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libboost-dev libck-dev >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libboost-dev libck-dev >/dev/null; } || \
	      { echo "could not install libboost-dev and libck-dev with apt-get" >&2; exit 1; }; \
	  else \
	    echo "libboost-dev or libck-dev is missing; run: sudo apt-get update && sudo apt-get install -y libboost-dev libck-dev" >&2; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# ringbench with the Swift runtime and Foundation linked in: starts in about
# half the time (pub | sub in a shell pipeline, docs/cli.md) and runs where no
# Swift toolchain is installed (a container). Its own scratch path, so that it
# never relinks .build/release.
release-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --product ringbench --scratch-path .build-static

# The default suite, as a table (every transport, ~2-3 minutes; see bench/README.md).
bench: release
	$(RELEASE_BIN)

# The same scenarios, one short repetition each (under 20 s).
bench-quick: release
	$(RELEASE_BIN) suite --quick

# The default suite as JSON under results/, named by machine and date.
bench-json: release
	@mkdir -p results
	$(RELEASE_BIN) suite --format json --output results/$$(hostname -s)-$$(date +%Y-%m-%d).json
	@echo "wrote results/$$(hostname -s)-$$(date +%Y-%m-%d).json"

# This machine's physical limits: cache-line latency matrix, memcpy, futex wake-up.
probe: release
	$(RELEASE_BIN) probe

# The example pipeline (Examples/Pipeline, its own package on ShmRing only),
# built once here so that its test (ExamplePipelineTests) only runs it.
# `make examples` adds the C pair, which needs the release builds of
# libshmring.so: `make interop` builds and runs it (CI), and `make test`,
# which never uses the C ABI, no longer builds it.
examples-swift: deps
	$(SWIFT) build --package-path Examples/Pipeline --scratch-path .build-examples

examples: examples-swift cabi
	$(CC_STRICT) Examples/c/producer.c $(CABI_LINK) -o $(CABI_DIR)/example-producer
	$(CC_STRICT) Examples/c/consumer.c $(CABI_LINK) -o $(CABI_DIR)/example-consumer

# The C ABI (include/shmring.h): libshmring.so and libshmring-static.a under
# $(CABI_DIR), release, with the Swift runtime linked in statically (the
# dynamic library product needs -static-stdlib passed to the driver: SwiftPM's
# --static-swift-stdlib alone applies to executables). Checked: no libswift*
# in ldd. Build-command flags, not unsafeFlags (Package.swift has none).
CABI_SCRATCH = .build-cabi
CABI_DIR = $(CABI_SCRATCH)/release
CABI_LINK = -L$(CABI_DIR) -lshmring -Wl,-rpath,'$$ORIGIN' -lm
CC_STRICT = cc -std=c11 -Wall -Wextra -Werror -Iinclude
cabi: deps
	$(SWIFT) build -c release --static-swift-stdlib -Xswiftc -static-stdlib --product shmring --scratch-path $(CABI_SCRATCH)
	$(SWIFT) build -c release --product shmring-static --scratch-path $(CABI_SCRATCH)
	@if ldd $(CABI_DIR)/libshmring.so | grep libswift; then echo "libshmring.so needs the Swift runtime at run time" >&2; exit 1; fi

# The header as C11 and C++17 (-Wall -Wextra -Werror -pedantic), then the
# ABI's own tests (Tests/CABI/abi_test.c) against libshmring.so.
cabi-test: cabi
	$(CC_STRICT) -pedantic Tests/CABI/header_c11.c $(CABI_LINK) -o $(CABI_DIR)/header-c11
	c++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude Tests/CABI/header_cxx17.cpp $(CABI_LINK) -o $(CABI_DIR)/header-cxx17
	$(CC_STRICT) Tests/CABI/abi_test.c $(CABI_LINK) -o $(CABI_DIR)/abi-test
	bash Tests/CABI/exports.sh $(CABI_DIR)/libshmring.so
	$(CABI_DIR)/header-c11 && $(CABI_DIR)/header-cxx17 && $(CABI_DIR)/abi-test

# Interop: the C tests and a C producer/consumer pair with /opt/swift hidden
# (a private mount namespace with an empty directory over it: proves that
# libshmring.so needs no Swift toolchain), then the Python package's tests.
SWIFT_ROOT ?= /opt/swift
interop: cabi-test examples build python-fastpath
	bash Tests/CABI/without-swift.sh $(SWIFT_ROOT) $(CABI_DIR)
	@python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest numpy
	python3 -m pytest -q python/tests

# The Python package's compiled fast path (python/shmring/_fastpath.c: one
# record per call without ctypes' per-call cost), built in place for the
# tests and bench/python; `pip install ./python` builds it too (optional there).
# Python.h comes with python3-dev on Debian (installed when running as root);
# without it the package runs on ctypes alone, and this says so.
PY_EXT = python/shmring/_fastpath$(shell python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PY_INCLUDE = $(shell python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
python-fastpath:
	@if [ ! -f "$(PY_INCLUDE)/Python.h" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing python3-dev (Python.h, for the Python package's fast path)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-dev >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-dev >/dev/null 2>&1; } || true; \
	fi
	@if [ -f "$(PY_INCLUDE)/Python.h" ]; then \
	  cc -shared -fPIC -O2 -std=c11 -Wall -Wextra -I"$(PY_INCLUDE)" python/shmring/_fastpath.c -o $(PY_EXT) || \
	  echo "compiling python/shmring/_fastpath.c failed: the Python package runs on ctypes alone" >&2; \
	else echo "no Python.h in $(PY_INCLUDE): the Python package runs without its compiled fast path (ctypes only)"; fi

# The Python package with libshmring.so inside it: then `pip install ./python`.
python-package: cabi python-fastpath
	cp $(CABI_DIR)/libshmring.so python/shmring/libshmring.so

# Tests, then a check that nothing was left in ipcs or /dev/shm.
test: deps examples-swift
	@sh .ci/ipc-snapshot > .build-ipc-before 2>/dev/null || true
	$(SWIFT) build
	$(SWIFT) test --disable-swift-testing
	python3 -m unittest discover -s bench/tests
	@sh .ci/ipc-snapshot > .build-ipc-after
	@if ! cmp -s .build-ipc-before .build-ipc-after; then \
	  echo "IPC objects or /dev/shm entries changed during the tests:" >&2; diff .build-ipc-before .build-ipc-after >&2; exit 1; fi
	@rm -f .build-ipc-before .build-ipc-after

# Every NUMA placement checked on an emulated two-node machine (QEMU, TCG):
# observed CPUs and page nodes must equal the requested ones (docs/numa.md).
numa-check:
	bash .ci/numa-check

# The HTML report in headless Chromium (installed with apt-get if missing):
# every chart kind present, the screenshot not blank (bench/report-check.sh).
report-check: build
	bash bench/report-check.sh

# Fault injection (docs/reliability.md): SIGKILL a producer, a consumer or the
# parent of `ringbench run` at random points, for spsc, mpmc-sem,
# mpmc-lockfree, pipe and sysv-msgq; checks exit, leftovers and integrity.
# fault-check: 36 seeded trials (under a minute, run by .ci/run);
# fault-campaign: the full 240, with every trial in results/reliability/fault-campaign.json.
fault-check: build
	python3 bench/fault-campaign.py --trials 36 --seed 1

fault-campaign: build
	python3 bench/fault-campaign.py --trials 240 --seed 7 --json results/reliability/fault-campaign.json
	JOURNAL_TRIALS=200 JOURNAL_SEED=7 $(SWIFT) test --disable-swift-testing --filter RingbenchCLITests.JournalCLITests/testKilledProducersLoseNothingCommittedAndTheTailerResumesExactly

# The test suite under AddressSanitizer and under ThreadSanitizer, each in its
# own scratch path (docs/reliability.md, "Sanitizers", says what is skipped and why).
# TSan skips RingbenchCLITests: each of them drives forked ringbench processes,
# and TSan's shadow memory is per process, so it cannot see their races in
# shared memory; the in-process threaded tests are what it checks.
SANITIZE_TEST = $(SWIFT) test --disable-swift-testing
ASAN_SKIP ?=
TSAN_SKIP ?= --skip RingbenchCLITests
sanitize: sanitize-address sanitize-thread

# Leak detection is on, in the test runner and in every ringbench process the
# CLI tests start (the environment is inherited; LeakSanitizer makes a leaking
# process exit 23). .ci/lsan.supp suppresses only what XCTest and Foundation
# leak at exit, by their own frames; a leak in ShmRing, BenchHarness or
# ringbench fails the target. ASAN_OPTIONS/LSAN_OPTIONS may be overridden.
ASAN_OPTIONS ?= detect_leaks=1
LSAN_OPTIONS ?= suppressions=$(CURDIR)/.ci/lsan.supp:print_suppressions=0
sanitize-address: deps
	ASAN_OPTIONS=$(ASAN_OPTIONS) LSAN_OPTIONS=$(LSAN_OPTIONS) $(SANITIZE_TEST) --sanitize=address --scratch-path .build-asan $(ASAN_SKIP)

sanitize-thread: deps
	$(SANITIZE_TEST) --sanitize=thread --scratch-path .build-tsan $(TSAN_SKIP)

# libFuzzer over every open/attach path and every producer/consumer path, for
# FUZZ_SECONDS (default 60); prints executions and coverage (Tests/Fuzz/fuzz.sh).
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) bash Tests/Fuzz/fuzz.sh

clean:
	rm -rf .build .build-*
