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
#   copy-side-by-side.txt                issue 15: real text lines and 64 KiB length-framed records,
#                                        page cache -> tmpfs, cat|cat vs a FIFO vs pub|sub (and, on the
#                                        text, pub|sub --framing bytes), interleaved rounds, medians;
#                                        beside them the limit: the same bytes written alone from
#                                        memory to the output file system ("writeonly"), which no
#                                        pipeline ending in a write there can beat;
#                                        the CPU time of each side (perf stat, if installed); plus the
#                                        per-line latency of a live pub|sub, lines and bytes framing
# Usage: bench/pipelines.sh [OUTDIR]   (RINGBENCH=path/to/ringbench; SIZE_MB=1024 for the copy)
#        ONLY=copy bench/pipelines.sh [OUTDIR]   just copy-side-by-side.txt (TEXT=file of lines,
#        ROUNDS=8, OUTPUT_DIR=a tmpfs directory for the copies, default /dev/shm,
#        BEFORE=another ringbench binary measured in the same rounds as "before"; its
#        copies are not compared: the old pub|sub added a newline to a last line without one)
set -eu
bin=${RINGBENCH:-.build/release/ringbench}
out=${1:-results/$(hostname -s)-$(date +%Y-%m-%d)-pipelines}
size_mb=${SIZE_MB:-1024}
mkdir -p "$out"

# Side by side, on the same input, in interleaved rounds (A B C A B C ...):
# cat|cat, cat > FIFO & cat < FIFO, and ringbench pub | ringbench sub (4 MiB
# ring, the default; on the text also with --framing bytes, "pubbytes"). Input from the page cache (read once first), output to
# tmpfs; every copy is checked with cmp. Medians and min/max per mechanism.
copy_side_by_side() {
  text=${TEXT:-}
  dir=${OUTPUT_DIR:-/dev/shm}/ringbench-copy-$$
  mkdir -p "$dir"
  if [ -z "$text" ]; then
    # ~150 MB of real text: headers and sources on this machine, repeated.
    text=$dir/text.txt
    find /usr/include /opt/swift -type f \( -name '*.h' -o -name '*.swift' -o -name '*.swiftinterface' \) -size -2M 2>/dev/null \
      | head -20000 | xargs cat 2>/dev/null | head -c 40000000 > "$dir/chunk"
    for i in 1 2 3 4; do cat "$dir/chunk"; done > "$text"; rm -f "$dir/chunk"
  fi
  records=$dir/records64k.bin
  python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read(); out = open(sys.argv[2], "wb")
for i in range(len(data) // 65536):
    out.write(struct.pack("<I", 65536)); out.write(data[i * 65536:(i + 1) * 65536])' "$text" "$records"
  write_alone='
import os, sys, time
data = memoryview(open(sys.argv[1], "rb").read())
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
start = time.monotonic_ns()
done = 0
while done < len(data):
    done += os.write(fd, data[done:done + (1 << 18)])
os.close(fd)
print(time.monotonic_ns() - start)'
  rounds=${ROUNDS:-8}
  ring=ringbench-bench-copy-$$
  report=$out/copy-side-by-side.txt
  {
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(hostname -s) $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# $bin${BEFORE:+ (before: $BEFORE)}; rounds: $rounds, interleaved; input in page cache, output on $(df --output=fstype "$dir" | tail -1)"
    echo "# input: $(wc -lc < "$text" | awk '{ printf "%d lines, %d bytes", $1, $2 }') of text; the same bytes as 64 KiB records"
  } > "$report"
  for kind in lines records64k; do
    if [ $kind = lines ]; then input=$text; framing=lines; else input=$records; framing=length; fi
    cat "$input" > /dev/null
    bytes=$(stat -c %s "$input")
    : > "$dir/times"
    r=0
    while [ $r -lt "$rounds" ]; do
      mechs="catcat fifo pubsub"
      [ $kind = lines ] && mechs="$mechs pubbytes"
      for mech in $mechs writeonly ${BEFORE:+before}; do
        rm -f "$dir/copy" "$dir/fifo"
        t0=$(date +%s%N)
        case $mech in
          # The limit: the last stage's work alone (the bytes already in
          # memory, written in 256 KiB writes); the script times itself, so
          # the interpreter's start and the read of the input are left out.
          writeonly) elapsed=$(python3 -c "$write_alone" "$input" "$dir/copy") ;;
          catcat) cat "$input" | cat > "$dir/copy" ;;
          fifo) mkfifo "$dir/fifo"; cat "$input" > "$dir/fifo" & cat "$dir/fifo" > "$dir/copy"; wait ;;
          pubsub) "$bin" pub "$ring" --framing $framing < "$input" | "$bin" sub "$ring" --framing $framing > "$dir/copy" ;;
          pubbytes) "$bin" pub "$ring" --framing bytes < "$input" | "$bin" sub "$ring" --framing bytes > "$dir/copy" ;;
          before) "$BEFORE" pub "$ring" --framing $framing < "$input" | "$BEFORE" sub "$ring" --framing $framing > "$dir/copy" ;;
        esac
        t1=$(date +%s%N)
        [ $mech = before ] || cmp -s "$input" "$dir/copy" || { echo "$mech copy of $kind differs" >&2; exit 1; }
        [ $mech = writeonly ] || elapsed=$(( t1 - t0 ))
        echo "$mech $elapsed" >> "$dir/times"
      done
      r=$((r + 1))
    done
    sort -k1,1 -k2,2n "$dir/times" | awk -v kind=$kind -v bytes="$bytes" '
      { v[$1, ++n[$1]] = $2 }
      END {
        for (m in n) { k = n[m]; med = (k % 2) ? v[m, (k + 1) / 2] : (v[m, k / 2] + v[m, k / 2 + 1]) / 2; s[m] = med }
        for (m in n) printf "%-10s %-8s median %.3f s  (%.0f MB/s)  min %.3f  max %.3f  %d runs\n", kind, m, s[m] / 1e9, bytes / s[m] * 1e3, v[m, 1] / 1e9, v[m, n[m]] / 1e9, n[m]
        printf "%-10s pub|sub speed-up: %.2fx over cat|cat, %.2fx over the FIFO\n", kind, s["catcat"] / s["pubsub"], s["fifo"] / s["pubsub"]
        if ("pubbytes" in s) printf "%-10s pub|sub --framing bytes speed-up: %.2fx over cat|cat, %.2fx over the FIFO\n", kind, s["catcat"] / s["pubbytes"], s["fifo"] / s["pubbytes"]
        printf "%-10s limit: the bytes written alone to the output take %.3f s, so no pipeline ending there beats cat|cat by more than %.2fx; pub|sub reaches %.0f%% of that limit%s\n", kind, s["writeonly"] / 1e9, s["catcat"] / s["writeonly"], 100 * s["writeonly"] / s["pubsub"], ("pubbytes" in s) ? sprintf(", --framing bytes %.0f%%", 100 * s["writeonly"] / s["pubbytes"]) : ""
        if ("before" in s) printf "%-10s pub|sub before: %.2fx over cat|cat; now %.2fx faster than before\n", kind, s["catcat"] / s["before"], s["before"] / s["pubsub"]
      }' | sort >> "$report"
  done
  echo "# load at the end of the copies: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$report"
  # CPU time of each side on the text (perf stat task-clock): what a side
  # costs, less disturbed than the wall time when other work shares the CPUs.
  if command -v perf > /dev/null; then
    for r in 1 2 3; do
      for which in now bytes ${BEFORE:+before}; do
        b=$bin; [ $which = before ] && b=$BEFORE
        f=lines; [ $which = bytes ] && f=bytes
        perf stat -x, -e task-clock -o "$dir/pub.cpu" "$b" pub "$ring" --framing $f < "$text" \
          | perf stat -x, -e task-clock -o "$dir/sub.cpu" "$b" sub "$ring" --framing $f > "$dir/copy"
        printf 'cpu        text %-6s --framing %-5s pub %s ms, sub %s ms (task-clock)\n' $which $f \
          "$(grep task-clock "$dir/pub.cpu" | cut -d, -f1)" "$(grep task-clock "$dir/sub.cpu" | cut -d, -f1)" >> "$report"
      done
    done
  fi
  # Per-line latency of a live pipeline: a line every 5 ms into pub's stdin,
  # stamped; the reader of sub's stdout notes when each arrives.
  for framing in lines bytes; do
  python3 - "$bin" "$ring" $framing >> "$report" <<'PY'
import os, subprocess, sys, time
binary, ring, framing = sys.argv[1], sys.argv[2] + "-latency", sys.argv[3]
pub = subprocess.Popen([binary, "pub", ring, "--framing", framing], stdin=subprocess.PIPE)
sub = subprocess.Popen([binary, "sub", ring, "--framing", framing], stdout=subprocess.PIPE)
time.sleep(0.3)
delays = []
for i in range(400):
    pub.stdin.write(b"%d\n" % time.monotonic_ns()); pub.stdin.flush()
    line = sub.stdout.readline()
    delays.append((time.monotonic_ns() - int(line)) / 1e3)
    time.sleep(0.005)
pub.stdin.close(); pub.wait(); sub.stdout.read(); sub.wait()
delays.sort()
print("latency    %-5s line written to pub's stdin -> read from sub's stdout, 400 lines 5 ms apart: "
      "median %.0f us, p99 %.0f us, max %.0f us" % (framing, delays[200], delays[396], delays[-1]))
PY
  done
  rm -rf "$dir"
  cat "$report"
}

if [ "${ONLY:-}" = copy ]; then
  "$bin" probe --format json --output "$out/probe.json"
  copy_side_by_side
  "$bin" probe --format json --output "$out/probe-after.json"
  exit 0
fi
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
