#!/bin/sh
# Interleaved spsc 8 B throughput runs of HEAD and its regressed builds; each run bracketed by its own
# cache-line probes (hostState), so runs can be read by placement.
#   run.sh OUTDIR ROUNDS BIN...
set -eu
out=$1 rounds=$2; shift 2
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for b in "$@"; do
    "$b" run --transport spsc --message-size 8 --backing sysv --messages 10M --repeat 1 --warmup 1 --format json \
      > "$out/$(basename "$b")-r$r.json" 2>/dev/null
  done
done
