#!/bin/sh
# Instructions per line of `ringbench pub` and `ringbench sub` (lines
# framing), counted by callgrind: repeatable where timings on this guest are
# not. pub runs alone into a ring large enough for the whole input (so it
# never waits), then sub alone drains it; a one-line run of each gives the
# start-up cost, subtracted. Debug info is stripped first (valgrind 3.19
# cannot read the Swift toolchain's DWARF 5).
#   count.sh TEXT BINARY...   (prints: binary, lines, pub and sub per line)
set -eu
text=$1; shift
lines=$(wc -l < "$text")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'x\n' > "$tmp/one"
refs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >"$tmp/out" | sed -n 's/.*I *refs: *//p' | tr -d ,; }
for bin in "$@"; do
  objcopy --strip-debug "$bin" "$tmp/rb"
  name=cg-count-$$
  pub1=$(refs "$tmp/rb" pub "$name" --capacity 64M < "$tmp/one"); sub1=$(refs "$tmp/rb" sub "$name")
  pub=$(refs "$tmp/rb" pub "$name" --capacity 64M < "$text"); sub=$(refs "$tmp/rb" sub "$name")
  cmp -s "$tmp/out" "$text" || { echo "count.sh: sub's copy differs from the input" >&2; exit 1; }
  echo "$bin lines=$lines pub=$(( (pub - pub1) / lines )) sub=$(( (sub - sub1) / lines )) (totals $pub $sub, start-up $pub1 $sub1)"
done
