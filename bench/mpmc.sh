#!/bin/sh
# The MPMC comparison of docs/design.md and the figures: what the
# semaphores cost against the lock-free queue and the SPSC ring, 8-byte
# messages. Writes one results file per scenario under results/.
set -eu
bin=${RINGBENCH:-.build/release/ringbench}
out=${1:-results/$(hostname -s)-$(date +%Y-%m-%d)-mpmc}
mkdir -p "$out"
run() { name=$1; shift; "$bin" run --message-size 8 --messages 10M --repeat 5 --warmup 1 --format json --output "$out/$name.json" "$@"; }
run spsc                       --transport spsc
run mpmc-lockfree-1p1c         --transport mpmc-lockfree
run mpmc-lockfree-2p2c         --transport mpmc-lockfree --producers 2 --consumers 2
run mpmc-sem-1p1c-batch1       --transport mpmc-sem --messages 1M
run mpmc-sem-1p1c-batch32      --transport mpmc-sem --batch 32
run mpmc-sem-2p2c-batch1       --transport mpmc-sem --producers 2 --consumers 2 --messages 1M
run mpmc-sem-2p2c-batch32      --transport mpmc-sem --producers 2 --consumers 2 --batch 32
for f in "$out"/*.json; do "$bin" report --format csv "$f" | tail -n +2; done
