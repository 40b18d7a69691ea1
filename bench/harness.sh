#!/bin/sh
# Issue 11's figures in one command: the ring floor against the spsc
# transport (batch 1, and batch 32 against the ring's batch API), the harness-only `empty` transport, spsc at batch 32, the spsc
# round trip beside the probed cache-line round trip, the rivals in the same
# harness, and the latency-under-load sweep. One results file per figure
# under results/<host>-<date>-harness/, then the ratios the issue asks for.
#   bench/harness.sh [OUTPUT_DIR]      (after `make release`)
#   QUICK=1 bench/harness.sh           (a tenth of the messages, one short
#                                       repetition per suite scenario: for a loaded machine)
set -eu
bin=${RINGBENCH:-.build/release/ringbench}
out=${1:-results/$(hostname -s)-$(date +%Y-%m-%d)-harness}
mkdir -p "$out"
if [ "${QUICK:-0}" = 1 ]; then
    floor=5M; many=20M; trips=200k; reps=3; suite=--quick; sweep="--repeat 1 --warmup 0 --duration 0.1"
else
    floor=50M; many=200M; trips=1M; reps=5; suite=; sweep=
fi
"$bin" probe --format json --output "$out/probe-before.json"
"$bin" floor --backing mmap --messages $floor --rounds 7 --format json --output "$out/floor.json"
"$bin" run --transport empty --messages $many --repeat $reps --format json --output "$out/empty.json"
"$bin" run --transport spsc --batch 32 --messages $many --repeat $reps --format json --output "$out/spsc-batch32.json"
# What the ring's own batch API moves, and the harness's share at batch 32.
"$bin" floor --backing sysv --batch 32 --messages $many --rounds 5 --format json --output "$out/floor-batch32.json"
"$bin" run --transport spsc --mode roundtrip --messages $trips --repeat $reps --format json --output "$out/spsc-roundtrip.json"
"$bin" suite $suite --transports spsc,boost-spsc,ck-spsc,mpmc-lockfree,ck-mpmc,mpmc-sem,boost-mq,pipe,empty \
    --format json --output "$out/rivals.json"
"$bin" run --transport mpmc-sem --producers 2 --consumers 2 --batch 32 --duration 0.5 --repeat $reps --format json --output "$out/mpmc-sem-2p2c-batch32.json"
"$bin" run --transport boost-mq --producers 2 --consumers 2 --batch 32 --duration 0.5 --repeat $reps --format json --output "$out/boost-mq-2p2c-batch32.json"
"$bin" latency $sweep --format json --output "$out/latency.json"
"$bin" probe --format json --output "$out/probe-after.json"
python3 bench/harness-ratios.py "$out" | tee "$out/ratios.txt"
