#!/usr/bin/env bash
# A/B comparison of two commits on this machine: the recommended CI gate.
#
#   bench/ab.sh [--rounds N] [--keep] [--out DIR] BASE_REV HEAD_REV [suite options...]
#   bench/ab.sh [--rounds N] [--out DIR] --bins BASE_BIN HEAD_BIN [suite options...]
#
# --bins runs two ringbench binaries built already (bench/gate-check.sh:
# HEAD against HEAD, or against HEAD with an injected regression); nothing
# is built and the results carry the binaries' own commits.
#
# Builds both revisions (release) in their own git worktrees under the
# repository root, .build-ab-<commit> (removed on exit, INT and TERM, also
# when they existed before; --keep keeps them and reuses an existing build of
# the same commit), then runs
# the suite alternately A, B, B, A, A, B ... N rounds (default 10), so that
# both sides see the same machine state (load, the host's CPU placement). Each
# round writes <out>/base/round-I.json and <out>/head/round-I.json; compare
# judges the rounds pair by pair (the two runs of round I ran back to back),
# prints the Markdown table, and this script exits with compare's status:
#   0 nothing regressed, 2 a regression, 3 not comparable, 4 not enough
#   evidence (too few metrics judged to call it ok), 1 an error.
#
# A regression must be confirmed: when compare exits 2, the scenarios of the
# regressed metrics (at most 16, the strongest first) are measured again,
# --confirm-rounds more alternating rounds (default 8; 0 skips this; exactly
# those scenarios when both builds' suite has --scenarios, else the cross
# product of their transports, sizes and modes), and only a metric that
# regresses again in that second, independent measurement stands (exit 2);
# otherwise the gate exits 0 and the Markdown says what was not confirmed.
# Suspects are measured again too: a throughput or p50 that moved the wrong
# way by twice the threshold with p < 0.1 but stayed inconclusive (a real
# regression in a noisy stretch; bench/ab-confirm.py). One that regresses in
# the second measurement makes the gate exit 2; otherwise the status stands.
# (With ~90 metrics at alpha 0.01, identical code shows a "regression" in
# about one gate run in seven here; the confirmation tests only the few
# metrics flagged, so it judges them at AB_CONFIRM_ARGS, default
# "--alpha 0.1": a metric of identical code passes both with ~0.01 x 0.1.
# Measured on 20 recorded A/A and A/B runs, bench/README.md: 4 rounds at
# alpha 0.1 kept 20 of 20 detections of the spsc fence and 0 false alarms,
# 4 rounds at 0.01 lost 4 detections, 8 rounds cost ~25 s more. In a
# noisier stretch, results/vm-2026-12-06-gate/gate-check-suspects, 4 rounds
# lost 2 of 3 fences that the first compare had flagged, their rounds partly
# left out by their own probes: hence 8 rounds, of the flagged modes only,
# which cost about what 4 rounds of both modes did; then exactly the flagged
# scenarios, as the cross product once took a gate run to 193 s.) Only for
# the suite.
#
# Suite options default to: --quick. Options for compare go in
# AB_COMPARE_ARGS (e.g. "--threshold 10"), for the confirmation step in
# AB_CONFIRM_ARGS (added after AB_COMPARE_ARGS). AB_COMMAND=run runs
# 'ringbench run' instead of 'ringbench suite' with the same options.
# Examples:
#   bench/ab.sh main HEAD
#   bench/ab.sh --rounds 10 main HEAD --quick --transports spsc,pipe
#   AB_COMMAND=run bench/ab.sh main HEAD --transport spsc --duration 0.2 --repeat 1
set -euo pipefail

# Everything runs in main, called on the last line: bash reads the whole
# file before running it, so editing the script cannot break a running gate.
main() {
rounds=10 keep=0 out="" bins=0 confirm=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --bins) bins=1; shift ;;
    --confirm-rounds) confirm="${2:?--confirm-rounds needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,55p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  echo "usage: bench/ab.sh [--rounds N] [--keep] [--out DIR] BASE_REV HEAD_REV [suite options...]" >&2
  exit 1
fi
case "$rounds" in ''|*[!0-9]*) echo "ab.sh: --rounds must be a positive integer" >&2; exit 1 ;; esac
[ "$rounds" -ge 1 ] || { echo "ab.sh: --rounds must be at least 1" >&2; exit 1; }
[ -n "$confirm" ] || confirm=8
case "$confirm" in ''|*[!0-9]*) echo "ab.sh: --confirm-rounds must be a number" >&2; exit 1 ;; esac

root="$(git rev-parse --show-toplevel)"
if [ "$bins" = 1 ]; then
  for b in "$1" "$2"; do [ -x "$b" ] || { echo "ab.sh: --bins: '$b' is not an executable" >&2; exit 1; }; done
  base_bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" head_bin="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
else
  base_bin="" head_bin=""
fi
cd "$root"
if [ "$bins" = 1 ]; then
  base_sha="" head_sha=""
else
  base_sha="$(git rev-parse --verify --quiet "$1^{commit}")" || { echo "ab.sh: '$1' is not a commit" >&2; exit 1; }
  head_sha="$(git rev-parse --verify --quiet "$2^{commit}")" || { echo "ab.sh: '$2' is not a commit" >&2; exit 1; }
fi
shift 2
[ $# -gt 0 ] || set -- --quick
command="${AB_COMMAND:-suite}"
swift="${SWIFT:-swift}"

# Everything this script creates is listed and removed by one cleanup.
. "$(dirname "${BASH_SOURCE[0]}")/worktree-cleanup.sh"

# Builds one commit; sets bin to the path of its ringbench binary. (Not in
# a $(...) subshell: created_worktrees must reach cleanup.)
build() {
  local sha="$1" dir="$root/.build-ab-${1:0:12}"
  if [ -x "$dir/.build/release/ringbench" ] && [ "$keep" = 1 ]; then
    echo "ab.sh: reusing the build of ${sha:0:12} in $dir" >&2
  else
    if [ ! -d "$dir" ]; then
      git -C "$root" worktree add --detach --quiet "$dir" "$sha" >&2
    fi
    created_worktrees+=("$dir")
    echo "ab.sh: building ${sha:0:12} in $dir (release)" >&2
    run "$swift" build -c release --package-path "$dir" >"$dir.log" 2>&1 || {
      echo "ab.sh: building ${sha:0:12} failed; last lines of $dir.log:" >&2; tail -20 "$dir.log" >&2; exit 1; }
    rm -f "$dir.log"
  fi
  bin="$dir/.build/release/ringbench"
}

if [ "$bins" = 0 ]; then
  build "$base_sha"; base_bin="$bin"
  if [ "$head_sha" = "$base_sha" ]; then head_bin="$base_bin"; else build "$head_sha"; head_bin="$bin"; fi
fi

if [ -z "$out" ]; then scratch_out="$root/.build-ab-results-$$"; out="$scratch_out"; fi
rm -rf "$out/base" "$out/head"
mkdir -p "$out/base" "$out/head"

if [ "$bins" = 1 ]; then a_label="$base_bin" b_label="$head_bin"; else a_label="${base_sha:0:12}" b_label="${head_sha:0:12}"; fi
echo "ab.sh: $rounds rounds of 'ringbench $command $*', A=$a_label B=$b_label, alternating" >&2
# rounds N DIR ARGS...: N alternating rounds into DIR/base and DIR/head.
rounds() {
  local n="$1" dir="$2" i side order
  shift 2
  for i in $(seq 1 "$n"); do
    # Counterbalanced: odd rounds run base first, even rounds head first, so
    # whatever favours the first (or second) run of a pair favours both sides
    # equally and cancels in compare's paired test.
    order="base head"; [ $((i % 2)) = 0 ] && order="head base"
    for side in $order; do
      if [ "$side" = base ]; then bin="$base_bin" sha="$base_sha"; else bin="$head_bin" sha="$head_sha"; fi
      printf 'ab.sh: round %d/%d %s\n' "$i" "$n" "$side" >&2
      # With --bins the binary's own commit is recorded (RINGBENCH_COMMIT unset).
      RINGBENCH_COMMIT="${sha:-${RINGBENCH_COMMIT:-}}" run "$bin" "$command" "$@" --format json --output "$dir/$side/round-$i.json" >/dev/null || {
        echo "ab.sh: round $i ($side) failed" >&2; exit 1; }
    done
  done
}
rounds "$rounds" "$out" "$@"

# compare comes from the head build (it is the revision under review); an
# old head without it falls back to the base build.
compare_bin="$head_bin"
"$compare_bin" compare --help >/dev/null 2>&1 || compare_bin="$base_bin"
"$compare_bin" compare --help >/dev/null 2>&1 || { echo "ab.sh: neither build has 'ringbench compare'" >&2; exit 1; }
status=0
# shellcheck disable=SC2086
"$compare_bin" compare "$out/base" "$out/head" --format markdown --output "$out/compare.md" ${AB_COMPARE_ARGS:-} || status=$?
"$compare_bin" compare "$out/base" "$out/head" --format json --output "$out/compare.json" ${AB_COMPARE_ARGS:-} >/dev/null 2>&1 || true

# A regression stands only if a second measurement of its transports and
# sizes regresses the same metric again; a suspect (a large inconclusive
# throughput or p50 change, bench/ab-confirm.py) is measured again too and
# stands the same way (see the top of this file).
confirm_what=""
if [ "$confirm" -gt 0 ] && [ "$command" = suite ] && { [ "$status" = 0 ] || [ "$status" = 2 ] || [ "$status" = 4 ]; }; then
  confirm_what="$(python3 "$(dirname "${BASH_SOURCE[0]}")/ab-confirm.py" select "$out/compare.json")"
fi
if [ -n "$confirm_what" ]; then
  { read -r transports sizes modes; read -r names || true; } <<<"$confirm_what"
  # The suite options without --transports/--sizes/--modes/--scenarios,
  # then the candidates' ones: exactly their scenarios when both builds'
  # suite has --scenarios, else the cross product of their transports,
  # sizes and (when both builds have --modes) modes.
  args=() skip=0
  for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$a" in
      --transports|--sizes|--modes|--scenarios) skip=1 ;;
      --transports=*|--sizes=*|--modes=*|--scenarios=*) ;;
      *) args+=("$a") ;;
    esac
  done
  narrow=(--transports "$transports" --sizes "$sizes")
  # The help text is read whole before grep looks at it: `--help | grep -q`
  # under pipefail fails at random (grep exits at the first match, ringbench
  # then dies of SIGPIPE), which once sent a confirmation back to the cross
  # product.
  base_help="$("$base_bin" suite --help 2>/dev/null || true)" head_help="$("$head_bin" suite --help 2>/dev/null || true)"
  both_have() { grep -q -- "$1" <<<"$base_help" && grep -q -- "$1" <<<"$head_help"; }
  if [ -n "${names:-}" ] && both_have --scenarios; then
    narrow+=(--scenarios "$names")
  elif both_have --modes; then
    narrow+=(--modes "$modes")
  fi
  echo "ab.sh: regressed or suspect metrics to confirm: $confirm more rounds of ${narrow[*]}" >&2
  rm -rf "$out/confirm"; mkdir -p "$out/confirm/base" "$out/confirm/head"
  rounds "$confirm" "$out/confirm" "${args[@]}" "${narrow[@]}"
  # shellcheck disable=SC2086
  "$compare_bin" compare "$out/confirm/base" "$out/confirm/head" --format json --output "$out/confirm/compare.json" ${AB_COMPARE_ARGS:-} ${AB_CONFIRM_ARGS---alpha 0.1} >/dev/null 2>&1 || true
  python3 "$(dirname "${BASH_SOURCE[0]}")/ab-confirm.py" judge "$out/compare.json" "$out/confirm/compare.json" "$out/confirmed.txt" "$out/compare.md"
  if [ -s "$out/confirmed.txt" ]; then
    echo "ab.sh: regression confirmed ($(wc -l <"$out/confirmed.txt") metric(s))" >&2
    [ "$status" = 2 ] || printf '\n**Gate: regression** (exit 2): a suspect change regressed again when measured a second time.\n' >>"$out/compare.md"
    status=2
  elif [ "$status" = 2 ]; then
    echo "ab.sh: regression not confirmed by the second measurement: exit 0" >&2
    printf '\n**Gate: not a regression** (exit 0): nothing regressed again when measured a second time.\n' >>"$out/compare.md"
    status=0
  else
    echo "ab.sh: no suspect change regressed again in the second measurement" >&2
  fi
fi
cat "$out/compare.md"
[ -n "$scratch_out" ] || echo "ab.sh: rounds and compare.{md,json} kept in $out" >&2
exit "$status"
}

main "$@"
