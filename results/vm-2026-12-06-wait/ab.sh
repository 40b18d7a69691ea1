#!/bin/bash
# Interleaved A/B of the wake-up: before/park, after/park, after/backoff and the bare futex, at the same gaps, 4 rounds.
cd /tmp/backoff
A=./ringbench-after; B=./ringbench-before; G=./m/gate.sh
for round in 1 2; do
  echo "-- round $round"
  for rate in 100 1k; do
    case $rate in 1k) d=2; g=1000000;; 100) d=4; g=10000000;; esac
    $G ./m/paced.sh $B $rate park $d
    $G ./m/paced.sh $A $rate park $d
    $G ./m/paced.sh $A $rate backoff $d
    $G ./wk/wake $g 1 300
  done
done
echo DONE
