#!/bin/sh
# Wall clock of a live `pub --broadcast | sub` (1 MiB ring, block, sub to /dev/null), interleaved rounds of two binaries, with the cache-line probe before each pair.
#   wall.sh TEXT ROUNDS BASE NEW
set -eu
text=$1 rounds=$2; shift 2
for r in $(seq 1 "$rounds"); do
  printf 'round %d probe %s ns\n' "$r" "$("$1" probe 2>/dev/null | sed -n 5p | awk '{print $NF}')"
  for b in "$@"; do
    s=$(date +%s.%N)
    "$b" sub wallbc > /dev/null & sleep 0.2
    t0=$(date +%s.%N); "$b" pub wallbc --broadcast --capacity 1M --consumers 1 < "$text"; wait; t1=$(date +%s.%N)
    printf '  %s %.3f s\n' "$(basename "$b")" "$(echo "$t1 - $t0" | bc)"
  done
done
