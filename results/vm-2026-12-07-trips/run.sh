#!/bin/sh
# Round trips timed one clock read per trip (K=1, the default) and one per
# 100 trips (K=100, as the cache-line probe times its ping-pong), for the
# exchange's two arrangements and the spsc pair, each floor beside its
# harnessed transport, K=1 and K=100 interleaved, ROUNDS rounds.
#   RINGBENCH=.build/release/ringbench sh results/vm-2026-12-07-trips/run.sh DIR
set -eu
bin=${RINGBENCH:-.build/release/ringbench}
dir=${1:-results/vm-2026-12-07-trips}
rounds=${ROUNDS:-3}
r=1
while [ "$r" -le "$rounds" ]; do
  "$bin" probe --format json --output "$dir/probe-r$r.json"
  for transport in exchange-shared exchange spsc; do
    for k in 1 100; do
      "$bin" floor --mode roundtrip --transport "$transport" --trips-per-sample "$k" --messages 2M --rounds 1 \
        --format json --output "$dir/floor-$transport-k$k-r$r.json"
    done
  done
  r=$((r + 1))
done
