#!/bin/sh
# A/B of the counters' hot-path cost (issue 18): `ringbench floor` of a base
# build (A, without counters) and this branch (B), interleaved A B B A ...,
# release builds, the cache-line probe before and after. Prints one line per
# invocation (the median floor msgs/s over its rounds) and the B/A ratio of
# the medians. Usage: bench/counters-ab.sh A_BINARY B_BINARY [PAIRS] [floor args...]
# The exact A is this tree with bench/counters-off.patch applied (counting
# compiled out, nothing else different):
#   git worktree add .build-counters-off HEAD && git -C .build-counters-off apply ../bench/counters-off.patch
#   (cd .build-counters-off && swift build -c release)
#   bench/counters-ab.sh .build-counters-off/.build/release/ringbench .build/release/ringbench 6
set -eu
a=$1; b=$2; pairs=${3:-4}; shift 3 || shift $#
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT INT TERM
probe() { "$1" probe --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d.get("probes",d); print("probe cache line round trip ns (cpu0-cpu1):", p["cacheLine"]["medianRoundTripNs"][0][1])'; }
probe "$b"
i=0
while [ $i -lt "$pairs" ]; do
    for side in $( [ $((i % 2)) -eq 0 ] && echo "A B" || echo "B A"); do
        bin=$a; [ "$side" = B ] && bin=$b
        "$bin" floor --messages 20M --rounds 3 --no-probes --format json "$@" > "$tmp/out.json"
        python3 -c 'import json,sys,statistics as s; r=json.load(open(sys.argv[1]))["floor"]["rounds"]; print(sys.argv[2], "%.1f M/s" % (s.median(x["floor"] for x in r)/1e6), " ".join("%.1f" % (x["floor"]/1e6) for x in r))' "$tmp/out.json" $side | tee -a "$tmp/lines"
    done
    i=$((i + 1))
done
probe "$b"
python3 - "$tmp/lines" <<'PY'
import sys, statistics as s
rows = [l.split() for l in open(sys.argv[1])]
a = [float(r[1]) for r in rows if r[0] == "A"]; b = [float(r[1]) for r in rows if r[0] == "B"]
print("median A %.1f M/s, B %.1f M/s, B/A %.3f" % (s.median(a), s.median(b), s.median(b) / s.median(a)))
PY
