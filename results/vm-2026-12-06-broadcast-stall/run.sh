#!/bin/sh
# Overwrite policy: the producer's own rate with one consumer stalled against
# its rate with none stalled (issue 16: within 10 %). 64 B records, interleaved
# rounds. Usage: run.sh OUTDIR [ROUNDS]. Run from the repository root after
# `swift build -c release` (or RB=path/to/ringbench).
#   none:    broadcast 1 -> 1, overwrite (producer + 1 reader)
#   stalled: broadcast 1 -> 2, overwrite, --stalled-consumers 1 (producer +
#            1 reader + 1 consumer that reads nothing until the producer is
#            done), --pin 0,1,1: producer on CPU 0, both consumers on CPU 1
#   both-read: broadcast 1 -> 2, overwrite, nobody stalled (3 processes on
#            2 CPUs here: oversubscribed, a reference only)
# each with the harness spinning and with --wait park.
set -eu
out=${1:?outdir}; rounds=${2:-4}
rb=${RB:-.build/release/ringbench}
common="--transport broadcast --policy overwrite --message-size 64 --messages 10M --repeat 3 --warmup 1 --backing sysv --no-probes --format json"
mkdir -p "$out"
uptime > "$out/load-before.txt"
$rb probe --format json > "$out/probe-before.json"
for r in $(seq 1 "$rounds"); do
  for wait in spin park; do
    w=""; [ "$wait" = park ] && w="--wait park"
    $rb run $common $w --consumers 1 > "$out/none-$wait-r$r.json"
    # Pinned so the reading consumer has the other CPU to itself, as in
    # "none" (auto pinning put it on the producer's CPU, beside the
    # sleeping stalled one: auto-placement/).
    $rb run $common $w --consumers 2 --stalled-consumers 1 --pin 0,1,1 > "$out/stalled-$wait-r$r.json"
    $rb run $common $w --consumers 2 > "$out/both-read-$wait-r$r.json"
  done
done
$rb probe --format json > "$out/probe-after.json"
uptime > "$out/load-after.txt"
