# Sourced by ab.sh and gate-check.sh: the one cleanup both scripts use.
# The sourcing script sets `root` and `keep` (1: keep the build worktrees)
# and appends to created_worktrees; scratch_out, when set, is a folder
# removed too. On EXIT (and INT/TERM, which exit through it) the running
# child is killed and waited for, and everything listed is removed.
created_worktrees=()
scratch_out=""
child=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  if [ "$keep" = 0 ]; then
    for wt in "${created_worktrees[@]+"${created_worktrees[@]}"}"; do
      git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
    done
  fi
  [ -n "$scratch_out" ] && rm -rf "$scratch_out"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background and waits, so INT/TERM reach cleanup at once.
run() { "$@" & child=$!; wait "$child"; local s=$?; child=""; return $s; }
