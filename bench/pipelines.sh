#!/bin/sh
# The pipeline figures of issue 8, one results directory per invocation:
#   ringbench probe                      futex wake-up and memcpy (the limits)
#   wake-<transport>-<wait>.json         roundtrip latency with each wait strategy
#                                        (park: every round trip wakes a parked peer twice)
#   wait-<transport>-<wait>.json         64-byte throughput with each wait strategy
#   sizes.json                           records, spsc and pipe at 8 B ... 64 KiB (throughput and roundtrip)
#   records-uniform-64K.json             records of uniform length 8 B ... 64 KiB
#   idle-cpu.json                        CPU used by a `ringbench sub` parked 5 s on an idle ring
#   copy-1GiB.json                       pub|sub of a 1 GiB file against cat|cat (and pv, if installed)
# Usage: bench/pipelines.sh [OUTDIR]   (RINGBENCH=path/to/ringbench; SIZE_MB=1024 for the copy)
set -eu
bin=${RINGBENCH:-.build/release/ringbench}
out=${1:-results/$(hostname -s)-$(date +%Y-%m-%d)-pipelines}
size_mb=${SIZE_MB:-1024}
mkdir -p "$out"
run() { name=$1; shift; "$bin" run --no-probes --repeat 3 --warmup 1 --format json --output "$out/$name.json" "$@"; }

"$bin" probe --format json --output "$out/probe.json"

for transport in spsc records; do
  for wait in spin yield park; do
    run "wake-$transport-$wait" --transport $transport --wait $wait --mode roundtrip --messages 20k --message-size 64
    run "wait-$transport-$wait" --transport $transport --wait $wait --duration 0.5 --message-size 64
  done
  run "wake-$transport-harness" --transport $transport --mode roundtrip --messages 20k --message-size 64
  run "wait-$transport-harness" --transport $transport --duration 0.5 --message-size 64
done

"$bin" suite --transports records,spsc,pipe --sizes 8,64,1K,64K --no-probes --format json --output "$out/sizes.json"
run records-uniform-64K --transport records --record-sizes uniform --seed 1 --message-size 64K --capacity 64 --duration 0.5

# CPU of a parked consumer on an idle ring: pub keeps the ring open (its stdin
# stays open, empty) while sub parks; utime+stime of sub over 5 s.
ring=ringbench-bench-idle-$$
sleep 8 | "$bin" pub "$ring" &
"$bin" sub "$ring" > /dev/null &
sub=$!
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
t0=$(ticks $sub); sleep 5; t1=$(ticks $sub)
hz=$(getconf CLK_TCK)
wait
awk -v t="$((t1 - t0))" -v hz="$hz" 'BEGIN { printf "{\n  \"measurement\": \"idle parked consumer (ringbench sub --wait park)\",\n  \"seconds\": 5,\n  \"cpuTicks\": %d,\n  \"ticksPerSecond\": %d,\n  \"cpuPercent\": %.3f\n}\n", t, hz, 100 * t / hz / 5 }' > "$out/idle-cpu.json"

# pub/sub moving a file against a pipe. The file is lines of base64 (~77 bytes).
file=${TMPDIR:-/tmp}/ringbench-copy-$$.txt
copy=$file.copy
head -c $((size_mb * 786432)) /dev/urandom | base64 > "$file"
bytes=$(stat -c %s "$file")
now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
t0=$(now); "$bin" pub "$ring-copy" --capacity 16M < "$file" & "$bin" sub "$ring-copy" > "$copy"; wait; t1=$(now)
cmp -s "$file" "$copy" || { echo "pub/sub copy differs" >&2; exit 1; }
t2=$(now); cat "$file" | cat > "$copy"; t3=$(now)
pv_seconds=null
if command -v pv > /dev/null; then t4=$(now); pv -q "$file" | cat > "$copy"; t5=$(now); pv_seconds=$(minus $t5 $t4); fi
rm -f "$file" "$copy"
awk -v b="$bytes" -v ps="$(minus $t1 $t0)" -v cs="$(minus $t3 $t2)" -v pv="$pv_seconds" 'BEGIN {
  printf "{\n  \"bytes\": %d,\n  \"pubSubSeconds\": %.3f,\n  \"pubSubMiBPerSecond\": %.1f,\n  \"catCatSeconds\": %.3f,\n  \"catCatMiBPerSecond\": %.1f,\n", b, ps, b / ps / 1048576, cs, b / cs / 1048576
  if (pv == "null") printf "  \"pvSeconds\": null\n}\n"; else printf "  \"pvSeconds\": %.3f,\n  \"pvMiBPerSecond\": %.1f\n}\n", pv, b / pv / 1048576 }' > "$out/copy-1GiB.json"

for f in "$out"/wake-*.json "$out"/wait-*.json "$out"/sizes.json "$out"/records-*.json; do "$bin" report --format csv "$f" | tail -n +2; done
cat "$out/idle-cpu.json" "$out/copy-1GiB.json"
