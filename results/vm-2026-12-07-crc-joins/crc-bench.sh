#!/bin/sh
# CRC32C alone, before (feedf13) and after (HEAD) the PCLMULQDQ joins, in one process: checks both
# against the table version for every length to 3000 at three alignments, then times chained calls.
#   crc-bench.sh        (from the repository root or anywhere inside it)
set -eu
root=$(git rev-parse --show-toplevel) tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rename() { sed -e "s/cshim_crc32c_software/$1_sw/g; s/cshim_crc32c_is_hardware/$1_ishw/g; s/cshim_crc32c(/$1_crc(/g; s/cshim_posix_fallocate/$1_falloc/g; s/#include \"CShim.h\"/#include <stdint.h>\n#include <stddef.h>/"; }
git -C "$root" show feedf13:CShim/crc32c.c | rename old > "$tmp/old.c"
rename new < "$root/CShim/crc32c.c" > "$tmp/new.c"
clang -O2 -o "$tmp/bench" "$root/results/vm-2026-12-07-crc-joins/crc-bench.c" "$tmp/old.c" "$tmp/new.c"
"$tmp/bench"
