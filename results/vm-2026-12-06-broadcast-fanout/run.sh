#!/bin/sh
# 1 -> N: the broadcast ring against what it replaces, N record rings fed by
# one producer copying each message N times (--transport records-fanout),
# N = 1, 2, 4, 64 B records, both under block (nothing lost), every consumer
# checking the whole stream; interleaved rounds. N >= 2 puts 3 or 5
# processes on this guest's 2 CPUs, so every run parks (--wait park): a
# spinning waiter would hold the CPU its producer needs.
# Usage: run.sh OUTDIR [ROUNDS] from the repository root, with RB=path to a
# release ringbench (default .build/release/ringbench).
set -eu
out=${1:?outdir}; rounds=${2:-3}
rb=${RB:-.build/release/ringbench}
mkdir -p "$out"
uptime > "$out/load-before.txt"
$rb probe --format json > "$out/probe-before.json"
for r in $(seq 1 "$rounds"); do
  for n in 1 2 4; do
    for t in broadcast records-fanout; do
      $rb run --transport $t --consumers $n --wait park --message-size 64 --messages 4M --repeat 3 --warmup 1 \
        --backing sysv --no-probes --format json > "$out/$t-1to$n-r$r.json"
    done
  done
done
$rb probe --format json > "$out/probe-after.json"
uptime > "$out/load-after.txt"
