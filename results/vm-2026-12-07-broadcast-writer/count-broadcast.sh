#!/bin/sh
# Instructions per line of `ringbench pub --broadcast` (lines framing), counted by callgrind.
# pub runs alone (no consumer joined: under .block it never waits) into a
# 64 MiB ring (never laps) and a 1 MiB ring (laps: every record reuses room),
# then a live pub | sub through the 1 MiB ring is checked against the input.
#   count-broadcast.sh TEXT BINARY...
set -eu
text=$1; shift
lines=$(wc -l < "$text")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'x\n' > "$tmp/one"
refs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >"$tmp/out" | sed -n 's/.*I *refs: *//p' | tr -d ,; }
for bin in "$@"; do
  objcopy --strip-debug "$bin" "$tmp/rb"
  name=cg-bcount-$$
  one=$(refs "$tmp/rb" pub "$name" --broadcast --capacity 64M < "$tmp/one")
  big=$(refs "$tmp/rb" pub "$name" --broadcast --capacity 64M < "$text")
  # The check: a live pub | sub through the small ring (laps, blocks on sub).
  ( "$tmp/rb" sub "$name" > "$tmp/copy" ) & sleep 0.3
  "$tmp/rb" pub "$name" --broadcast --capacity 1M --consumers 1 < "$text"; wait
  cmp -s "$tmp/copy" "$text" || { echo "count-broadcast.sh: sub's copy differs from the input" >&2; exit 1; }
  small=$(refs "$tmp/rb" pub "$name" --broadcast --capacity 1M < "$text"); "$tmp/rb" rm "$name" >/dev/null 2>&1 || true
  echo "$bin lines=$lines pub64M=$(( (big - one) / lines )) pub1M=$(( (small - one) / lines )) (totals $big $small, start-up $one)"
done
