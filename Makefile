# The README's two commands: `make bench` and `make test`. Both install what
# they need first (libnuma-dev), so they work on a fresh Debian/Ubuntu clone.
SWIFT ?= swift
RELEASE_BIN = .build/release/ringbench
COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
export RINGBENCH_COMMIT := $(COMMIT)

.PHONY: all deps build release test bench bench-quick bench-json probe clean check-ipc examples

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

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

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
# built once here so its test only runs it.
examples: deps
	$(SWIFT) build --package-path Examples/Pipeline --scratch-path .build-examples

# Tests, then a check that nothing was left in ipcs or /dev/shm.
test: deps examples
	@sh .ci/ipc-snapshot > .build-ipc-before 2>/dev/null || true
	$(SWIFT) build
	$(SWIFT) test --disable-swift-testing
	@sh .ci/ipc-snapshot > .build-ipc-after
	@if ! cmp -s .build-ipc-before .build-ipc-after; then \
	  echo "IPC objects or /dev/shm entries changed during the tests:" >&2; diff .build-ipc-before .build-ipc-after >&2; exit 1; fi
	@rm -f .build-ipc-before .build-ipc-after

clean:
	rm -rf .build .build-*
