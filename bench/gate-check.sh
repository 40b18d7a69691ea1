#!/usr/bin/env bash
# The regression gate measures itself: false-alarm rate, detection rate per
# injected regression, and share of metrics judged, on this machine.
#
#   bench/gate-check.sh [--n N] [--rounds R] [--confirm-rounds C] [--regressions A,B] [--out DIR] [--keep] [--head-bin BIN] [suite options...]
#   bench/gate-check.sh --resume --out DIR [options as before]
#   bench/gate-check.sh --rejudge DIR --compare-bin BIN
#
# --resume continues a run that was stopped: the gate runs already in
# DIR/runs.tsv are kept and skipped, and the builds must be the ones that
# run used (--keep builds of the commit in DIR/head.txt), so that the N runs
# measure one commit even when they span sessions.
#
# --rejudge judges the rounds a gate-check recorded in DIR again with BIN's
# compare (and AB_COMPARE_ARGS), confirmation step included, and writes
# DIR/runs-rejudged.tsv and DIR/summary-rejudged.txt: what the gate would
# have said of the same measurements with another compare. (A confirmation
# measures the transports and sizes the recorded first compare called
# regressed or suspect, bench/ab-confirm.py. Where the recording had no
# confirmation, a suspect goes unconfirmed and a regression the new
# compare finds stands unconfirmed, against the new compare; where it had
# one, a metric it did not measure again counts as not confirmed.) With
# --confirm-rounds C, only the first C recorded confirmation rounds are
# judged (what a C-round confirmation would have measured), and the time the
# later ones took, from their files' mtimes, comes off each run's seconds.
#
# Builds HEAD, and HEAD with each known regression applied
# (bench/regressions/NAME.patch; --regressions: only those NAMEs), each in
# its own git worktree under the
# repository root (.build-gate-*, removed on exit, INT and TERM unless
# --keep). Then, N times (default 20), runs the gate exactly as the
# workflow does (bench/ab.sh, R alternating rounds, default 10, and C
# confirmation rounds when a first compare says regressed, default ab.sh's) on
#   A/A: HEAD against HEAD                   (any exit 2 or 3 is a false alarm)
#   A/B: HEAD against HEAD + NAME.patch      (for each regression)
# interleaved: A/A, A/B 1, A/B 2, ..., A/A, ... A detection is exit 2 with a
# regressed metric that matches NAME.expect (a line "SCENARIO_REGEX<TAB>METRIC",
# METRIC as in compare's JSON: messagesPerSecond, latencyP50, latencyP99,
# latencyP999), so a regression called on the wrong scenario does not count
# (when ab.sh confirms a regression, the confirmed metrics are what count).
#
# Suite options default to the workflow's: --quick --settle 3
# --transports spsc,mpmc-lockfree,pipe. Compare options go in
# AB_COMPARE_ARGS as for ab.sh. --head-bin reuses a ringbench built from
# HEAD (it must be HEAD's, or the A/A is not one). Prints, and writes to
# DIR/summary.txt (DIR default: results/gate-check-<date>):
#   false alarms   k/N A/A (exit 2 or 3), with every exit status
#   detections     k/N per regression, with every exit status
#   judged         mean and minimum share of metrics judged, A/A and A/B
#   time           median and maximum seconds per gate run, and how many took
#                  longer than 3 minutes, A/A and A/B
# Target (issue 20): <= 1 false alarm in 20 A/A, >= 19 of 20 detections of
# spsc-fence, >= 70 % judged, each gate run <= 3 minutes.
set -euo pipefail

main() {
n=20 rounds=10 rounds_given=0 confirm="" out="" keep=0 head_bin="" only="" rejudge="" compare_bin="" resume=0
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n="${2:?--n needs a number}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a number}" rounds_given=1; shift 2 ;;
    --confirm-rounds) confirm="${2:?--confirm-rounds needs a number}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --resume) resume=1 keep=1; shift ;;
    --regressions) only="${2:?--regressions needs names}"; shift 2 ;;
    --rejudge) rejudge="${2:?--rejudge needs a directory}"; shift 2 ;;
    --compare-bin) compare_bin="${2:?--compare-bin needs a path}"; shift 2 ;;
    --head-bin) head_bin="${2:?--head-bin needs a path}"; shift 2 ;;
    -h|--help) sed -n '2,52p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
for v in "$n" "$rounds"; do
  case "$v" in ''|*[!0-9]*|0) echo "gate-check.sh: --n and --rounds must be positive integers" >&2; exit 1 ;; esac
done
[ $# -gt 0 ] || set -- --quick --settle 3 --transports spsc,mpmc-lockfree,pipe

root="$(git rev-parse --show-toplevel)"
if [ -n "$rejudge" ]; then
  rejudge_runs "$rejudge" "$compare_bin"
  exit
fi
cd "$root"
head_sha="$(git rev-parse HEAD)"
if [ "$resume" = 1 ]; then
  [ -n "$out" ] && [ -f "$out/runs.tsv" ] && [ -f "$out/head.txt" ] || {
    echo "gate-check.sh: --resume needs --out DIR of an earlier run (DIR/runs.tsv and DIR/head.txt)" >&2; exit 1; }
  head_sha="$(cat "$out/head.txt")"
  for dir in "$root"/.build-gate-*/; do
    [ "$(git -C "$dir" rev-parse HEAD 2>/dev/null)" = "$head_sha" ] || {
      echo "gate-check.sh: --resume: $dir is not a build of ${head_sha:0:12}, the commit $out measured" >&2; exit 1; }
  done
fi
swift="${SWIFT:-swift}"
[ -n "$out" ] || out="results/gate-check-$(date -u +%Y-%m-%d-%H%M)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Everything this script creates is listed and removed by one cleanup.
. "$(dirname "${BASH_SOURCE[0]}")/worktree-cleanup.sh"

# Builds HEAD (+ a patch) in .build-gate-NAME; sets bin.
build() {
  local name="$1" patch="${2:-}" dir="$root/.build-gate-$1"
  if [ "$keep" = 1 ] && [ -x "$dir/.build/release/ringbench" ] \
     && [ "$(git -C "$dir" rev-parse HEAD 2>/dev/null)" = "$head_sha" ]; then
    echo "gate-check.sh: reusing the build of ${head_sha:0:12} in $dir" >&2
  else
    if [ -d "$dir" ]; then
      # A kept worktree of another commit: move it to HEAD (its build
      # directory makes the rebuild incremental). Reusing its binaries as
      # they are would measure the old commit under HEAD's name.
      git -C "$dir" checkout --quiet --force --detach "$head_sha" >&2
    else
      git -C "$root" worktree add --detach --quiet "$dir" "$head_sha" >&2
    fi
    created_worktrees+=("$dir")
    if [ -n "$patch" ]; then
      git -C "$dir" checkout --quiet -- . && git -C "$dir" apply "$patch" || {
        echo "gate-check.sh: $patch does not apply to HEAD; update it" >&2; exit 1; }
    fi
    echo "gate-check.sh: building $name in $dir (release)" >&2
    run "$swift" build -c release --package-path "$dir" >"$dir.log" 2>&1 || {
      echo "gate-check.sh: building $name failed; last lines of $dir.log:" >&2; tail -20 "$dir.log" >&2; exit 1; }
    rm -f "$dir.log"
  fi
  bin="$dir/.build/release/ringbench"
}

if [ -n "$head_bin" ]; then
  [ -x "$head_bin" ] || { echo "gate-check.sh: --head-bin '$head_bin' is not an executable" >&2; exit 1; }
else
  build head; head_bin="$bin"
fi
names=() bins=() expects=()
for patch in "$root"/bench/regressions/*.patch; do
  name="$(basename "$patch" .patch)"
  if [ -n "$only" ]; then case ",$only," in *",$name,"*) ;; *) continue ;; esac; fi
  expect="${patch%.patch}.expect"
  [ -f "$expect" ] || { echo "gate-check.sh: $expect is missing" >&2; exit 1; }
  build "$name" "$patch"
  names+=("$name") bins+=("$bin") expects+=("$expect")
done

[ -z "$only" ] || [ "${#names[@]}" -gt 0 ] || { echo "gate-check.sh: --regressions '$only' names no bench/regressions/*.patch" >&2; exit 1; }

# One gate run: ab.sh --bins A B; appends "kind name i status judged seconds detected" to runs.tsv.
gate() {
  local kind="$1" name="$2" i="$3" a="$4" b="$5" expect="${6:-}" dir="$out/$2-$3" status=0 start end
  shift 6
  start=$(date +%s)
  run "$root/bench/ab.sh" --rounds "$rounds" ${confirm:+--confirm-rounds "$confirm"} --out "$dir" --bins "$a" "$b" "$@" >"$dir.md" 2>"$dir.log" || status=$?
  end=$(date +%s)
  [ "$status" = 1 ] && { echo "gate-check.sh: ab.sh failed ($dir.log):" >&2; tail -5 "$dir.log" >&2; }
  row "$dir/compare.json" "$kind" "$name" "$i" "$status" "$((end - start))" "$expect" >>"$out/runs.tsv"
}

# The suite options reach ab.sh through "$@" of main: kept in an array.
suite=("$@")
if [ "$resume" = 1 ]; then
  echo "gate-check.sh: resuming $out: $(wc -l <"$out/runs.tsv") gate runs already there" >&2
else
  : >"$out/runs.tsv"
  echo "$head_sha" >"$out/head.txt"
fi
# done KIND NAME I: whether runs.tsv has that gate run already (--resume).
done_already() { awk -F'\t' -v k="$1" -v n="$2" -v i="$3" '$1 == k && $2 == n && $3 == i { found = 1 } END { exit !found }' "$out/runs.tsv"; }
echo "gate-check.sh: N=$n, $rounds rounds per gate run, suite: ${suite[*]}, HEAD ${head_sha:0:12}; regressions: ${names[*]}" >&2
for i in $(seq 1 "$n"); do
  if ! done_already aa aa "$i"; then
    echo "gate-check.sh: $i/$n A/A" >&2
    gate aa aa "$i" "$head_bin" "$head_bin" "" "${suite[@]}"
  fi
  for k in "${!names[@]}"; do
    done_already ab "${names[$k]}" "$i" && continue
    echo "gate-check.sh: $i/$n A/B ${names[$k]}" >&2
    gate ab "${names[$k]}" "$i" "$head_bin" "${bins[$k]}" "${expects[$k]}" "${suite[@]}"
  done
done

summarize "$out/runs.tsv" "$n" "$rounds${confirm:+ (confirmation: $confirm)}" "${head_sha:0:12}" "${suite[*]}" | tee "$out/summary.txt"
}

# row COMPARE_JSON KIND NAME I STATUS SECONDS EXPECT [CONFIRMED_TXT]: one line of runs.tsv.
row() {
  python3 - "$@" <<'PY'
import json, os, re, sys
path, kind, name, i, status, seconds, expect = sys.argv[1:8]
try:
    report = json.load(open(path))
except Exception:
    report = {"results": [], "judgedShare": 0}
results = report.get("results", [])
judged = sum(r["verdict"] != "inconclusive" for r in results) / len(results) if results else 0
# What the gate called regressed: the confirmed metrics when ab.sh confirmed
# (confirmed.txt beside compare.json), else compare's regressed metrics.
confirmed = sys.argv[8] if len(sys.argv) > 8 else os.path.join(os.path.dirname(path), "confirmed.txt")
if os.path.exists(confirmed):
    bad = [tuple(l.rstrip("\n").split("\t")) for l in open(confirmed) if l.strip()]
else:
    bad = [(r["scenario"], r["metric"]) for r in results if r["verdict"] == "regressed"]
detected = "-"
if expect:
    pattern, metric = open(expect).read().strip().split("\t")
    hit = any(m == metric and re.search(pattern, sc) for sc, m in bad)
    detected = "yes" if status == "2" and hit else "no"
regressed = ";".join(f"{sc} {m}" for sc, m in bad)
print("\t".join([kind, name, i, status, f"{judged:.3f}", seconds, detected, regressed]))
PY
}
# summarize RUNS_TSV N ROUNDS HEAD SUITE: the rates.
summarize() {
  python3 - "$@" <<'PY'
import sys, statistics
path, n, rounds, head, suite = sys.argv[1:6]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
print(f"gate-check: HEAD {head}, N={n} (A/A and each A/B), {rounds} alternating rounds per gate run, suite: {suite}")
aa = [r for r in rows if r[0] == "aa"]
alarms = [r for r in aa if r[3] in ("2", "3")]
print(f"false alarms (exit 2 or 3): {len(alarms)}/{len(aa)} A/A; exit statuses: {' '.join(r[3] for r in aa)}")
for r in alarms:
    print(f"  A/A {r[2]}: exit {r[3]}: {r[7] or 'not comparable'}")
for name in sorted({r[1] for r in rows if r[0] == "ab"}):
    ab = [r for r in rows if r[1] == name]
    hits = [r for r in ab if r[6] == "yes"]
    print(f"detected {name}: {len(hits)}/{len(ab)} (exit 2 naming its scenario); exit statuses: {' '.join(r[3] for r in ab)}")
for kind, label in (("aa", "A/A"), ("ab", "A/B")):
    js = [float(r[4]) for r in rows if r[0] == kind]
    if js:
        print(f"metrics judged, {label}: mean {statistics.mean(js):.0%}, min {min(js):.0%}")
for kind, label in (("aa", "A/A"), ("ab", "A/B")):
    secs = [int(r[5]) for r in rows if r[0] == kind]
    if secs:
        print(f"seconds per gate run, {label}: median {statistics.median(secs):.0f}, max {max(secs)}, "
              f"{sum(s > 180 for s in secs)}/{len(secs)} over 3 minutes")
PY
}

# rejudge_runs DIR COMPARE_BIN: see --rejudge at the top.
rejudge_runs() {
  local dir="$1" bin="$2" kind name i status seconds run_dir expect confirmed n conf main_rounds
  [ -f "$dir/runs.tsv" ] || { echo "gate-check.sh: --rejudge: $dir/runs.tsv not found" >&2; exit 1; }
  [ -x "$bin" ] || { echo "gate-check.sh: --rejudge needs --compare-bin BIN, an executable ringbench" >&2; exit 1; }
  : >"$dir/runs-rejudged.tsv"
  # The first C confirmation rounds of each run are copied here (--confirm-rounds).
  # (A global: the EXIT trap runs after this function has returned.)
  rejudge_scratch="$(mktemp -d)"
  trap 'rm -rf "$rejudge_scratch"' EXIT
  while IFS=$'\t' read -r kind name i _ _ seconds _; do
    run_dir="$dir/$name-$i" expect="" confirmed="$dir/$name-$i/rejudged-confirmed.txt" status=0
    [ "$kind" = ab ] && expect="$root/bench/regressions/$name.expect"
    rm -f "$confirmed"
    main_rounds="$run_dir"
    if [ "$rounds_given" = 1 ]; then
      # --rounds R: only the first R recorded rounds (what an R-round gate
      # would have measured); the later rounds' time comes off.
      seconds=$((seconds - $(rounds_seconds_after "$run_dir" "" "$rounds")))
      main_rounds="$rejudge_scratch/$name-$i-main"
      copy_rounds "$run_dir" "$main_rounds" "$rounds"
    fi
    # shellcheck disable=SC2086
    "$bin" compare "$main_rounds/base" "$main_rounds/head" --format json --output "$run_dir/rejudged.json" ${AB_COMPARE_ARGS:-} >/dev/null 2>&1 || status=$?
    local wants_confirm=0
    # The statuses ab.sh confirms after: 0, 2 and 4 (not 3, not comparable).
    if [ "$status" = 2 ] || { case "$status" in 0|4) true ;; *) false ;; esac && [ -n "$(python3 "$root/bench/ab-confirm.py" select "$run_dir/rejudged.json")" ]; }; then
      wants_confirm=1
    fi
    if [ "$wants_confirm" = 0 ] && [ -d "$run_dir/confirm" ]; then
      # Recorded with a confirmation this judgement does not call for.
      seconds=$((seconds - $(rounds_seconds_after "$run_dir" confirm 0)))
    fi
    if [ "$wants_confirm" = 1 ] && [ -d "$run_dir/confirm" ]; then
      conf="$run_dir/confirm"
      if [ -n "$confirm" ]; then
        # --confirm-rounds C: only the first C recorded confirmation rounds,
        # which are what a C-round confirmation would have run; the time the
        # later rounds took (their files' mtimes) comes off the run's time.
        seconds=$((seconds - $(rounds_seconds_after "$run_dir" confirm "$confirm")))
        conf="$rejudge_scratch/$name-$i-confirm"
        copy_rounds "$run_dir/confirm" "$conf" "$confirm"
      fi
      if [ "$confirm" != 0 ]; then
        # shellcheck disable=SC2086
        "$bin" compare "$conf/base" "$conf/head" --format json --output "$run_dir/confirm/rejudged.json" ${AB_COMPARE_ARGS:-} ${AB_CONFIRM_ARGS---alpha 0.1} >/dev/null 2>&1 || true
        python3 "$root/bench/ab-confirm.py" judge "$run_dir/rejudged.json" "$run_dir/confirm/rejudged.json" "$confirmed" /dev/null
        if [ -s "$confirmed" ]; then status=2; elif [ "$status" = 2 ]; then status=0; fi
      fi
    fi
    row "$run_dir/rejudged.json" "$kind" "$name" "$i" "$status" "$seconds" "$expect" "$confirmed" >>"$dir/runs-rejudged.tsv"
  done <"$dir/runs.tsv"
  n=$(grep -c '^aa' "$dir/runs.tsv" || true)
  local judged_rounds="as recorded"
  [ "$rounds_given" = 0 ] || judged_rounds="the first $rounds recorded"
  summarize "$dir/runs-rejudged.tsv" "$n" "$judged_rounds${confirm:+ (confirmation: the first $confirm recorded rounds)}" \
    "as recorded (rejudged by $bin ${AB_COMPARE_ARGS:-})" "as recorded" | tee "$dir/summary-rejudged.txt"
}

# copy_rounds FROM TO R: FROM/{base,head}/round-1..R.json into TO/{base,head}.
copy_rounds() {
  local r side
  mkdir -p "$2/base" "$2/head"
  for r in $(seq 1 "$3"); do
    for side in base head; do
      [ ! -f "$1/$side/round-$r.json" ] || cp "$1/$side/round-$r.json" "$2/$side/"
    done
  done
}

# rounds_seconds_after RUN_DIR PART R: seconds the recorded rounds of PART
# ("" the first measurement, "confirm" the confirmation) after round R took,
# from the mtimes of the round files: the last of PART written minus the
# last of round R (R = 0: of the part before it).
rounds_seconds_after() {
  python3 - "$@" <<'PY'
import glob, os, sys
run, part, r = sys.argv[1], sys.argv[2], int(sys.argv[3])
number = lambda f: int(os.path.basename(f)[len("round-"):-len(".json")])
files = glob.glob(os.path.join(run, part, "base", "round-*.json")) + glob.glob(os.path.join(run, part, "head", "round-*.json"))
before = glob.glob(f"{run}/base/round-*.json") + glob.glob(f"{run}/head/round-*.json") if part else []
kept = [f for f in files if number(f) <= r] or before
print(max(0, round(max(map(os.path.getmtime, files)) - max(map(os.path.getmtime, kept)))) if files and kept else 0)
PY
}

main "$@"
exit
