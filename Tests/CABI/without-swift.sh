#!/usr/bin/env bash
# Runs the C ABI tests and the C example pair with the Swift toolchain
# hidden: in a private mount namespace (unshare -m), an empty directory is
# bind-mounted over the toolchain root, so nothing under it can be loaded.
# Usage: without-swift.sh <swift root, e.g. /opt/swift> <dir of libshmring.so and the test binaries>
set -euo pipefail
root=$1 dir=$(cd "$2" && pwd)
empty=$(mktemp -d)
trap 'rmdir "$empty"' EXIT
name=cabi-noswift-$$
unshare -m bash -c "
  set -euo pipefail
  mount --bind '$empty' '$root'
  if ls '$root'/usr/lib/swift >/dev/null 2>&1; then echo 'the Swift toolchain is still visible' >&2; exit 1; fi
  '$dir/abi-test'
  '$dir/example-consumer' '$name' > '$empty.out' &
  '$dir/example-producer' '$name' 10000
  wait \$!
"
out=$(cat "$empty.out"); rm -f "$empty.out"
[ "$out" = "10000 records, 108890 bytes" ] || { echo "C pair without Swift read: $out" >&2; exit 1; }
echo "without $root: abi-test passed, C producer -> C consumer: $out"
