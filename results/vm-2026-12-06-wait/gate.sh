#!/bin/bash
# gate.sh CMD...: waits (up to 300 s) for a quiet moment (>= 90% idle over 2 s), then runs CMD, prefixed with the 1-min load
for i in $(seq 1 5); do
  idle=$(vmstat 2 2 | tail -1 | awk '{print $15}')
  [ "$idle" -ge 90 ] && break
done
load=$(cut -d' ' -f1 /proc/loadavg)
echo -n "[load $load idle $idle] "
"$@"
