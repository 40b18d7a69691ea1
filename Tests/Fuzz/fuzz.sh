#!/usr/bin/env bash
# Builds the region fuzzer (libFuzzer + AddressSanitizer, through the Swift
# toolchain) and runs it for FUZZ_SECONDS. `make fuzz` calls this.
#
#   FUZZ_SECONDS  how long to fuzz (default 60)
#   FUZZ_SEED     libFuzzer's -seed (default 1; 0 picks one at random)
#
# Prints executions, coverage and the result; exits non-zero on a crash, an
# out-of-bounds access (ASan), a hang (libFuzzer -timeout) or leftover objects.
# A failing input is saved under .build-fuzz/artifacts/ and replays with
#   .build-fuzz/region-fuzzer .build-fuzz/artifacts/<file>
set -euo pipefail
cd "$(dirname "$0")/../.."

SWIFT=${SWIFT:-swift}
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
SEED=${FUZZ_SEED:-1}
SCRATCH=.build-fuzz

# ShmRing (and what it links) with coverage and ASan; only the library, so no
# executable gets libFuzzer's main.
$SWIFT build --scratch-path "$SCRATCH" --target ShmRing --sanitize=address \
  -Xswiftc -sanitize=fuzzer -Xcc -fsanitize=fuzzer-no-link
BIN=$($SWIFT build --scratch-path "$SCRATCH" --show-bin-path)
CSYSTEM_MAP=$(find "$SCRATCH/checkouts/swift-system" -path '*CSystem/include/module.modulemap' | head -n 1)

# The target itself, linked against the objects just built; libFuzzer gives main.
swiftc -sanitize=fuzzer,address -parse-as-library -g -Onone -module-name RegionFuzzer \
  Tests/Fuzz/RegionFuzzer.swift \
  -I "$BIN/Modules" \
  -Xcc -fmodule-map-file="$BIN/CShim.build/module.modulemap" \
  -Xcc -fmodule-map-file="$CSYSTEM_MAP" \
  "$BIN"/ShmRing.build/*.o "$BIN"/CShim.build/*.o "$BIN"/SystemPackage.build/*.o "$BIN"/CSystem.build/*.o \
  -lnuma -o "$SCRATCH/region-fuzzer" 2>&1 | grep -v -e 'ld.gold: warning: Cannot export local symbol' -e '^$' >&2 || true
test -x "$SCRATCH/region-fuzzer"

# Region files go into a private directory, removed whatever happens.
WORK=$(mktemp -d /dev/shm/ringbench-fuzz-XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM HUP
mkdir -p "$SCRATCH/corpus" "$SCRATCH/artifacts"
rm -f "$SCRATCH/ipc-left"

# SysV objects the fuzzer makes (segments, semaphore sets) live in a private
# IPC namespace when one can be made (root, or user namespaces): nothing can
# outlive the run even after a crash, other processes' objects cannot be
# mistaken for ours, and what the fuzzer left behind is listed from inside.
# Otherwise the whole machine's objects are compared before and after.
run_fuzzer() {
  RINGBENCH_FUZZ_DIR="$WORK" "$SCRATCH/region-fuzzer" \
    -max_total_time="$SECONDS_TO_RUN" -timeout=30 -rss_limit_mb=4096 -seed="$SEED" \
    -print_final_stats=1 -artifact_prefix="$SCRATCH/artifacts/" \
    "$SCRATCH/corpus" Tests/Fuzz/corpus > "$SCRATCH/last-run.log" 2>&1
}
sysv_objects() { sh .ci/ipc-snapshot | grep -E '^(shm|sem|msq) ' || true; }
set +e
if unshare --ipc true 2>/dev/null; then
  namespace="private IPC namespace"
  export SCRATCH SECONDS_TO_RUN SEED WORK
  export -f run_fuzzer sysv_objects
  unshare --ipc bash -c 'run_fuzzer; status=$?; sysv_objects > "$SCRATCH/ipc-left"; exit $status'
  status=$?
else
  namespace="shared IPC namespace"
  sysv_objects > "$SCRATCH/ipc-before"
  run_fuzzer
  status=$?
  sysv_objects > "$SCRATCH/ipc-after"
  diff "$SCRATCH/ipc-before" "$SCRATCH/ipc-after" | sed -n 's/^> //p' > "$SCRATCH/ipc-left"
fi
set -e
log="$SCRATCH/last-run.log"
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
edges_total=$(sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -n 1)
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
leftovers=$(ls -A "$WORK")

echo "fuzz: ${SECONDS_TO_RUN} s, seed ${SEED}, ${namespace}: ${executions:-?} executions (${rate:-?}/s)," \
     "coverage ${cov:-?} of ${edges_total:-?} edges (${ft:-?} features), corpus ${corpus:-?}"
if [ "$status" -ne 0 ]; then
  grep -E 'ERROR: (libFuzzer|AddressSanitizer)|SUMMARY|Test unit written|Fatal error|precondition' "$log" | head -n 20 >&2
  echo "fuzz: FAILED (exit $status); full log in $log" >&2
  exit 1
fi
if [ -n "$leftovers" ]; then
  echo "fuzz: FAILED: region files left behind: $leftovers" >&2
  exit 1
fi
if [ -s "$SCRATCH/ipc-left" ]; then
  echo "fuzz: FAILED: SysV objects left behind (${namespace}):" >&2
  cat "$SCRATCH/ipc-left" >&2
  exit 1
fi
echo "fuzz: crashes 0, hangs 0, out-of-bounds 0, leftovers 0"
