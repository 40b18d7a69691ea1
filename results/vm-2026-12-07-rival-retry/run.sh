#!/bin/sh
# Each lock-free rival's native loop beside its harness port (`ringbench
# floor --transport RIVAL`), with the port as it was (BEFORE: SpinWait's
# pause after every miss) and now (RINGBENCH: bare retries first, as the
# native loops retry), the two binaries interleaved, ROUNDS sessions.
#   BEFORE=/tmp/ringbench-before RINGBENCH=.build/release/ringbench sh results/vm-2026-12-07-rival-retry/run.sh DIR
set -eu
now=${RINGBENCH:-.build/release/ringbench}
before=${BEFORE:?BEFORE=path of the ringbench to compare with}
dir=${1:-results/vm-2026-12-07-rival-retry}
rounds=${ROUNDS:-3}
r=1
while [ "$r" -le "$rounds" ]; do
  for rival in ck-spsc boost-spsc cached-spsc; do
    for which in before now; do
      if [ "$which" = before ]; then bin=$before; else bin=$now; fi
      "$bin" floor --transport "$rival" --messages 50M --rounds 2 --format json --output "$dir/$rival-$which-r$r.json"
    done
  done
  r=$((r + 1))
done
