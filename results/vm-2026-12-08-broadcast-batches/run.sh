#!/bin/sh
# Broadcast 1 -> 1 against the record ring, 64 B throughput (issue 16's >= 0.9x), interleaved: the
# record ring, then the broadcast ring with each binary given; each run bracketed by its own probes.
#   run.sh OUTDIR ROUNDS RECORDS_BIN BROADCAST_BIN...
set -eu
out=$1 rounds=$2 records=$3; shift 3
common="--message-size 64 --messages 3M --repeat 1 --warmup 1 --backing sysv --format json"
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  "$records" run --transport records $common > "$out/records-$(basename "$records")-r$r.json" 2>/dev/null
  for b in "$@"; do "$b" run --transport broadcast $common > "$out/broadcast-$(basename "$b")-r$r.json" 2>/dev/null; done
done
