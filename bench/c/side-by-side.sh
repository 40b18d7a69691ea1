#!/usr/bin/env bash
# The C ABI against the Swift floor, side by side (issue 17: a C producer and
# a C consumer through libshmring.so >= 0.9x `ringbench floor` at 8 B, batch 1
# and batch 32).
#
#   bench/c/side-by-side.sh [--rounds N] [--messages M] [--batches 1,32] [--apis copy,inplace,peek] [--out DIR]
#
# Builds ringbench (release) and libshmring.so (make cabi), compiles
# bench/c/spsc_floor.c against the library, then N rounds (default 5): for
# each batch, `ringbench floor --backing anon --rounds 1` (whose ring-floor row
# is the Swift figure: SPSCRing's tryPush/tryPop in a tight loop, producer on
# CPU 0 and consumer on CPU 1) and spsc_floor once per C API (the same loop
# in C through the ABI, pinned the same way: copy = try_push/try_pop[_batch]
# through arrays, inplace = try_reserve/commit and try_peek/release, peek =
# copy in, peek out), Swift first in odd rounds and last in even ones. Each floor run carries its own cache-line probes, printed beside
# the figures: compare only rounds in the same state (README, "This machine").
# Writes DIR/rounds.tsv (round, batch, api, the floor run's cache-line probes
# before and after it and a probe right after the C runs in ns, whether the
# three agree within 1.5x, swift M/s, C M/s, C/swift) and DIR/summary.txt (over the rounds
# in one state only: medians and the median of the per-round ratios).
set -euo pipefail

main() {
rounds=5 messages=50000000 batches=1,32 apis=copy,inplace,peek out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?}"; shift 2 ;;
    --messages) messages="${2:?}"; shift 2 ;;
    --batches) batches="${2:?}"; shift 2 ;;
    --apis) apis="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "side-by-side.sh: unknown option '$1'" >&2; exit 1 ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
[ -n "$out" ] || out="$(mktemp -d)"
mkdir -p "$out"
make -s cabi >/dev/null
swift build -c release --product ringbench >/dev/null
cc -std=c11 -O2 -Wall -Wextra -Werror -Iinclude bench/c/spsc_floor.c -L.build-cabi/release -lshmring \
  -Wl,-rpath,"$root/.build-cabi/release" -o "$root/.build-cabi/release/spsc_floor"
ringbench="$root/.build/release/ringbench"

printf 'round\tbatch\tapi\tprobe_ns\tsame_state\tswift_mps\tc_mps\tratio\n' >"$out/rounds.tsv"
for i in $(seq 1 "$rounds"); do
  for b in ${batches//,/ }; do
    swift_json="$out/floor-$i-b$b.json"
    run_swift() { "$ringbench" floor --backing anon --batch "$b" --messages "$messages" --rounds 1 --format json --output "$swift_json" >/dev/null; }
    # The C runs have no probe of their own: `ringbench probe` right after
    # them says which state the host was in then (the floor run carries its own).
    run_c() {
      c_mps=""
      for api in ${apis//,/ }; do
        c_mps="$c_mps,$api=$("$root/.build-cabi/release/spsc_floor" "$messages" "$b" 4096 "$api" | python3 -c 'import json,sys; print(json.load(sys.stdin)["messagesPerSecond"])')"
      done
      "$ringbench" probe --format json --output "$out/probe-$i-b$b.json" >/dev/null
    }
    # Alternate which goes first, so neither always follows the other.
    if [ $((i % 2)) = 1 ]; then run_swift; run_c; else run_c; run_swift; fi
    python3 - "$swift_json" "$c_mps" "$i" "$b" "$out/probe-$i-b$b.json" >>"$out/rounds.tsv" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
swift = doc["floor"]["rounds"][0]["floor"]
# The floor run's own probes (just before and after its repetitions), then
# the probe right after the C run; "same" when all three agree within 1.5x.
state = doc["runs"][0].get("hostState") or {}
after_c = json.load(open(sys.argv[5]))["probes"]["cacheLine"]["roundTripNs"][0][1]
probes = [state.get("cacheLineBeforeNs"), state.get("cacheLineAfterNs"), after_c]
same = all(p for p in probes) and max(probes) <= 1.5 * min(probes)
for api, c in (pair.split("=") for pair in sys.argv[2].strip(",").split(",")):
    c = float(c)
    print("%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.3f" % (sys.argv[3], sys.argv[4], api, "/".join("%.0f" % p if p else "-" for p in probes),
                                                   "yes" if same else "no", swift / 1e6, c / 1e6, c / swift))
EOF
    tail -n "$(echo "${apis//,/ }" | wc -w)" "$out/rounds.tsv"
  done
done
python3 - "$out/rounds.tsv" <<'EOF' | tee "$out/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
for b in sorted({r["batch"] for r in rows}, key=int):
  for api in dict.fromkeys(r["api"] for r in rows):
    mine = [r for r in rows if r["batch"] == b and r["api"] == api and r["same_state"] == "yes"]
    print("batch %s %s: %d of %d rounds in one host state throughout (only those below)"
          % (b, api, len(mine), len([r for r in rows if r["batch"] == b and r["api"] == api])))
    if not mine:
        continue
    med = lambda k: statistics.median(float(r[k]) for r in mine)
    print("batch %s %s: %d rounds, Swift floor median %.1f M/s, C median %.1f M/s, median of per-round C/Swift %.3f (range %.3f-%.3f), probes %s ns"
          % (b, api, len(mine), med("swift_mps"), med("c_mps"), med("ratio"), min(float(r["ratio"]) for r in mine),
             max(float(r["ratio"]) for r in mine), ",".join(r["probe_ns"] for r in mine)))
EOF
echo "side-by-side.sh: rounds in $out" >&2
}

main "$@"
