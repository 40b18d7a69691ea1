#!/bin/sh
# Journal replay against cat with each binary given, interleaved, on ext4 (/tmp) and tmpfs
# (/dev/shm); each run's first line is the cache-line probe before it.
#   run.sh OUTDIR ROUNDS BIN...
set -eu
out=$1 rounds=$2
shift 2
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for fs in ext4:/tmp/jb-crc tmpfs:/dev/shm/jb-crc; do
    name=${fs%%:*} dir=${fs#*:}
    for b in "$@"; do
      mkdir -p "$dir"
      "$b" probe | sed -n 5p > "$out/$name-$(basename "$b")-r$r.txt"
      "$b" journal bench "$dir" --seeks 100 --sync-count 100 >> "$out/$name-$(basename "$b")-r$r.txt" 2>&1
      rm -rf "$dir"
    done
  done
done
