#!/bin/sh
# Instructions per line of `ringbench pub NAME --journal DIR` (lines framing), counted by callgrind:
# pub alone appends TEXT to a fresh journal, a one-line run gives the start-up cost, subtracted; then
# `sub --journal --from oldest` replays it and is compared with TEXT. Debug info is stripped first
# (valgrind 3.19 cannot read the Swift toolchain's DWARF 5).
#   count-journal.sh TEXT BINARY...
set -eu
text=$1; shift
lines=$(wc -l < "$text")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'x\n' > "$tmp/one"
refs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*I *refs: *//p' | tr -d ,; }
for bin in "$@"; do
  objcopy --strip-debug "$bin" "$tmp/rb"
  rm -rf "$tmp/j1" "$tmp/j"; mkdir -p "$tmp/j1" "$tmp/j"
  one=$(refs "$tmp/rb" pub cg --journal "$tmp/j1" < "$tmp/one")
  all=$(refs "$tmp/rb" pub cg --journal "$tmp/j" < "$text")
  "$tmp/rb" sub cg --journal "$tmp/j" --from oldest | cmp -s - "$text" || { echo "count-journal.sh: the replay differs from the input" >&2; exit 1; }
  echo "$bin lines=$lines pub=$(( (all - one) / lines )) (total $all, start-up $one)"
done
