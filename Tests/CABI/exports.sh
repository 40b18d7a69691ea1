#!/usr/bin/env bash
# Every function include/shmring.h declares is exported by libshmring.so
# (static inline helpers excepted), and every exported shmring_ function is
# declared (shmring_internal_* excepted): the header and the library agree.
# Usage: exports.sh <libshmring.so>
set -euo pipefail
lib=$1
declared=$(grep -v 'static inline' include/shmring.h | grep -oE '^[a-z_0-9 *]+[ *](shmring_[a-z_0-9]+)\(' | grep -oE 'shmring_[a-z_0-9]+' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^shmring_/ && $3 !~ /^shmring_internal_/ {print $3}' | sort -u)
if [ "$declared" != "$exported" ]; then
  echo "include/shmring.h and $lib disagree (< declared only, > exported only):" >&2
  diff <(echo "$declared") <(echo "$exported") >&2 || true
  exit 1
fi
echo "exports: all $(echo "$declared" | wc -l) declared functions exported"
