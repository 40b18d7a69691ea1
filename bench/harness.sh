#!/bin/sh
# Issue 11's figures in one command: the ring floor against the spsc
# transport (batch 1, and batch 32 against the ring's batch API), the harness-only `empty` transport, spsc at batch 32, the spsc
# round trip beside the probed cache-line round trip and the ring's own round trip, the rivals in the same
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
# Every cache-line round trip the runs of a results file probed, each run
# before and after itself (runs[].hostState), one per line.
runs_lines() { python3 -c "
import json; d = json.load(open('$1'))
for r in d.get('runs', []):
    h = r.get('hostState')
    if h: print(int(h['cacheLineBeforeNs'])); print(int(h['cacheLineAfterNs']))"; }
probe_line() { python3 -c "
import json; d = json.load(open('$1'))
print(int(min(x for r in d['probes']['cacheLine']['roundTripNs'] for x in r if x)))"; }
"$bin" probe --format json --output "$out/probe-before.json"
# The figures that move threefold with the host's vCPU placement. Each is
# rerun (up to 5 times) until every probe its runs took, before and after
# each run, is within 1.5x of the reference state (the probe just before
# the first figure), so that the ratios below never mix placements; a
# figure that never gets there is marked in ratios.txt. (Retrying the whole
# set as one never succeeded here: the host moves every minute or so.)
"$bin" probe --format json --output "$out/probe-set-before.json"
ref=$(probe_line "$out/probe-set-before.json")
mixed=
steady() {
    name=$1; shift
    for attempt in 1 2 3 4 5; do
        "$@" --format json --output "$out/$name.json"
        lines=$(runs_lines "$out/$name.json" | sort -n)
        low=$(echo "$lines" | head -1); high=$(echo "$lines" | tail -1)
        [ "$low" -lt "$ref" ] || low=$ref
        [ "$high" -gt "$ref" ] || high=$ref
        echo "harness.sh: $name, attempt $attempt: cache-line round trip $low-$high ns (reference $ref ns)" >&2
        [ $((high * 2)) -le $((low * 3)) ] && return 0
    done
    mixed="$mixed
WARNING: $name never ran in the reference host state ($ref ns) in 5 attempts (last: $low-$high ns)"
}
steady floor "$bin" floor --backing mmap --messages $floor --rounds 7
steady empty "$bin" run --transport empty --messages $many --repeat $reps
steady spsc-batch32 "$bin" run --transport spsc --batch 32 --messages $many --repeat $reps
# What the ring's own batch API moves, and the harness's share at batch 32.
steady floor-batch32 "$bin" floor --backing sysv --batch 32 --messages $many --rounds 5
steady spsc-roundtrip "$bin" run --transport spsc --mode roundtrip --messages $trips --repeat $reps
# The ring's own round trip (public API, one clock read per trip) against the spsc transport's.
steady floor-roundtrip "$bin" floor --backing sysv --mode roundtrip --messages $trips --rounds 5
"$bin" probe --format json --output "$out/probe-set-after.json"
# The rivals in one suite run; rerun (up to 3 times) while a compared pair's
# rows saw different host states (their own probes, runs[].hostState).
for attempt in 1 2 3; do
    "$bin" suite $suite --transports spsc,boost-spsc,ck-spsc,mpmc-lockfree,ck-mpmc,mpmc-sem,boost-mq,pipe,empty \
        --format json --output "$out/rivals.json"
    python3 bench/harness-ratios.py --rivals-steady "$out" && break
    echo "harness.sh: rivals suite, attempt $attempt: a compared pair saw two host states; again" >&2
done
"$bin" run --transport mpmc-sem --producers 2 --consumers 2 --batch 32 --duration 0.5 --repeat $reps --format json --output "$out/mpmc-sem-2p2c-batch32.json"
"$bin" run --transport boost-mq --producers 2 --consumers 2 --batch 32 --duration 0.5 --repeat $reps --format json --output "$out/boost-mq-2p2c-batch32.json"
"$bin" latency $sweep --format json --output "$out/latency.json"
"$bin" probe --format json --output "$out/probe-after.json"
{ [ -z "$mixed" ] || echo "$mixed" | sed 1d; python3 bench/harness-ratios.py "$out"; } | tee "$out/ratios.txt"
