#!/bin/sh
# Broadcast ring vs record ring, 64 B throughput, interleaved A/B rounds
# (issue 16). Usage: run.sh OUTDIR [ROUNDS]. Run from the repository root
# after `swift build -c release`.
set -eu
out=${1:?outdir}; rounds=${2:-3}
rb=.build/release/ringbench
common="--message-size 64 --messages 10M --repeat 3 --warmup 1 --backing sysv --no-probes --format json"
mkdir -p "$out"
uptime > "$out/load-before.txt"
$rb probe --format json > "$out/probe-before.json"
for r in $(seq 1 "$rounds"); do
  $rb run --transport records $common > "$out/records-1to1-r$r.json"
  $rb run --transport broadcast $common > "$out/broadcast-1to1-r$r.json"
  $rb run --transport records --wait park $common > "$out/records-1to1-park-r$r.json"
  $rb run --transport broadcast --wait park $common > "$out/broadcast-1to1-park-r$r.json"
  $rb run --transport broadcast --consumers 2 --wait park $common > "$out/broadcast-1to2-park-r$r.json"
done
$rb probe --format json > "$out/probe-after.json"
uptime > "$out/load-after.txt"
