#!/usr/bin/env bash
# Interleaved A/B of mpmc-lockfree 1P/1C 8 B throughput between ringbench
# builds (issue 20): each round runs every build once, in turn, and notes the
# run's own cache-line probes (runs[].hostState) so rounds can be grouped by
# host placement.
#   results/vm-2026-12-05-gate/ab-mpmc.sh ROUNDS NAME=BIN [NAME=BIN ...]
# Prints one line per run: round name msgs/s cache-line-before/after ns
# (builds before per-run probes print 0/0; PROBE_BIN=ringbench adds a
# 'ringbench probe --pin 0,1' cache-line figure before each round).
set -euo pipefail
rounds="$1"; shift
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$rounds"); do
  if [ -n "${PROBE_BIN:-}" ]; then
    "$PROBE_BIN" probe --pin 0,1 --format json --output "$tmp/p.json" >/dev/null
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["probes"]["cacheLine"]["roundTripNs"]; print(f"{sys.argv[2]}\tprobe\tcache line {c[0][1]:.0f} ns")' "$tmp/p.json" "$r"
  fi
  for pair in "$@"; do
    name="${pair%%=*}" bin="${pair#*=}"
    "$bin" run --transport mpmc-lockfree --message-size 8 --messages 10M --repeat 3 --warmup 1 \
      --format json --output "$tmp/r.json" >/dev/null
    python3 - "$tmp/r.json" "$r" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); run = d["runs"][0]
h = run.get("hostState") or {}
reps = " ".join(f'{x["messagesPerSecond"]/1e6:.1f}' for x in run["repetitions"])
print(f'{sys.argv[2]}\t{sys.argv[3]}\t{run["summary"]["messagesPerSecond"]["median"]/1e6:.2f} M\treps {reps}\tline {h.get("cacheLineBeforeNs", 0):.0f}/{h.get("cacheLineAfterNs", 0):.0f} ns', flush=True)
PY
  done
done
