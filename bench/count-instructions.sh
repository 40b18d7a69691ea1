#!/bin/sh
# Instructions a line of the pipeline commands, counted by callgrind: repeatable where timings on
# this guest are not. Each run is alone (no peer to wait for); a one-line run of the same command
# gives the start-up cost, subtracted; each copy is checked against the input. Count clean release
# builds: an incremental build can inline differently (results/vm-2026-12-07-broadcast-writer).
# Debug info is stripped first (valgrind 3.19 cannot read the Swift toolchain's DWARF 5).
#   count-instructions.sh pub|broadcast|journal TEXT BINARY...
#   pub:       pub into a 64 MiB record ring, then sub drains it            -> pub=, sub=
#   broadcast: pub --broadcast into a 64 MiB ring (never laps) and a 1 MiB
#              one (laps); then a live pub | sub through the 1 MiB ring,
#              sub counted (its start-up from a one-line stream), checked   -> pub64M=, pub1M=, sub=
#   journal:   pub --journal into a fresh journal, then sub --journal
#              --from oldest replays it (both counted), checked            -> pub=, sub=
set -eu
mode=$1 text=$2; shift 2
case $mode in pub|broadcast|journal) ;; *) echo "count-instructions.sh: mode must be pub, broadcast or journal" >&2; exit 2 ;; esac
lines=$(wc -l < "$text")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'x\n' > "$tmp/one"
refs() { refs_to "$tmp/out" "$@"; }
refs_to() { out=$1; shift; valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >"$out" | sed -n 's/.*I *refs: *//p' | tr -d ,; }
# A live pub --broadcast | sub, sub counted: live_sub INPUT -> sub's instructions (copy in $tmp/copy).
live_sub() {
  refs_to "$tmp/copy" "$tmp/rb" sub "$name" --wait-for-creation 30 > "$tmp/subrefs" & counted=$!
  sleep 0.5
  "$tmp/rb" pub "$name" --broadcast --capacity 1M --consumers 1 < "$1"
  wait "$counted"
  cat "$tmp/subrefs"
}
same() { cmp -s "$1" "$text" || { echo "count-instructions.sh: the copy differs from the input" >&2; exit 1; }; }
per() { echo $(( ($1 - $2) / lines )); }
for bin in "$@"; do
  objcopy --strip-debug "$bin" "$tmp/rb"
  name=cg-count-$$
  case $mode in
  pub)
    pub1=$(refs "$tmp/rb" pub "$name" --capacity 64M < "$tmp/one"); sub1=$(refs "$tmp/rb" sub "$name")
    pub=$(refs "$tmp/rb" pub "$name" --capacity 64M < "$text"); sub=$(refs "$tmp/rb" sub "$name")
    same "$tmp/out"
    echo "$bin lines=$lines pub=$(per "$pub" "$pub1") sub=$(per "$sub" "$sub1") (totals $pub $sub, start-up $pub1 $sub1)" ;;
  broadcast)
    one=$(refs "$tmp/rb" pub "$name" --broadcast --capacity 64M < "$tmp/one")
    big=$(refs "$tmp/rb" pub "$name" --broadcast --capacity 64M < "$text")
    small=$(refs "$tmp/rb" pub "$name" --broadcast --capacity 1M < "$text")
    sub1=$(live_sub "$tmp/one")
    sub=$(live_sub "$text")
    same "$tmp/copy"
    echo "$bin lines=$lines pub64M=$(per "$big" "$one") pub1M=$(per "$small" "$one") sub=$(per "$sub" "$sub1") (totals $big $small $sub, start-up $one $sub1)" ;;
  journal)
    rm -rf "$tmp/j1" "$tmp/j"; mkdir -p "$tmp/j1" "$tmp/j"
    one=$(refs "$tmp/rb" pub "$name" --journal "$tmp/j1" < "$tmp/one")
    all=$(refs "$tmp/rb" pub "$name" --journal "$tmp/j" < "$text")
    sub1=$(refs "$tmp/rb" sub "$name" --journal "$tmp/j1" --from oldest)
    sub=$(refs "$tmp/rb" sub "$name" --journal "$tmp/j" --from oldest)
    same "$tmp/out"
    echo "$bin lines=$lines pub=$(per "$all" "$one") sub=$(per "$sub" "$sub1") (totals $all $sub, start-up $one $sub1)" ;;
  esac
done
