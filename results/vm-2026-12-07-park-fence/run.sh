#!/bin/sh
# The waker's fence moved to the sleeper (AsymmetricFence): throughput with
# --wait park (and backoff) before and after, interleaved, with spin as the
# reference. Usage: run.sh OUTDIR BEFORE_BIN AFTER_BIN [ROUNDS]
# (release builds: BEFORE = main before the change, AFTER = with it).
set -eu
out=${1:?outdir}; before=${2:?before binary}; after=${3:?after binary}; rounds=${4:-3}
common="--message-size 64 --messages 10M --repeat 3 --warmup 1 --backing sysv --no-probes --format json"
mkdir -p "$out"
uptime > "$out/load-before.txt"
"$after" probe --format json > "$out/probe-before.json"
for r in $(seq 1 "$rounds"); do
  # The host's placement moves every figure ~3x: a probe per round lets
  # summarize.py --fast keep only the rounds that stayed in the fast one.
  "$after" probe --format json > "$out/probe-r$r.json"
  for transport in records broadcast spsc; do
    for wait in park backoff; do
      for side in before after; do
        bin=$before; [ "$side" = after ] && bin=$after
        "$bin" run --transport "$transport" --wait "$wait" $common > "$out/$transport-$wait-$side-r$r.json"
      done
    done
    "$after" run --transport "$transport" $common > "$out/$transport-spin-after-r$r.json"
  done
done
"$after" probe --format json > "$out/probe-after.json"
uptime > "$out/load-after.txt"
