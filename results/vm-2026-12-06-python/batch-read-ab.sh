#!/bin/sh
# Interleaved A/B of the Python batch path, old (/tmp/oldtree: the package at c3e3415) vs new (/tmp/newtree: this change), SIZE (default 64) B, COUNT records, batch 256.
export SHMRING_LIBRARY=/work/main/.build-cabi/release/libshmring.so
SIZE=${SIZE:-64}; COUNT=${COUNT:-1_000_000}
for i in 1 2 3 4 5 6; do
  for side in $( [ $((i % 2)) -eq 1 ] && echo "old new" || echo "new old"); do
    python3 -c "
import sys, multiprocessing as mp
sys.path.insert(0, '/tmp/${side}tree/bench/python')
mp.set_start_method('fork')
import throughput
print('$side', '%.3f' % (throughput.run_shmring($SIZE, $COUNT, 256) / 1e6))
"
  done
done
