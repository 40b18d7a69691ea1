#!/bin/bash
# The committed measurements (results/vm-2026-12-06-wait/README.md). Every unit waits for a quiet moment.
cd /tmp/backoff
A=./ringbench-after; B=./ringbench-before; G=./m/gate.sh
echo "== probe (after binary), start"; $G $A probe 2>&1 | grep -A3 "futex wake-up" ; $G $A probe 2>&1 | grep "^limits"
echo "== one-way latency, paced (--rate), spsc 16 B, 3 x repetitions"
for rate in 50k 1k 100; do
  case $rate in 50k) d=1;; 1k) d=2;; 100) d=4;; esac
  for w in spin yield park backoff; do $G ./m/paced.sh $A $rate $w $d; done
  [ $rate != 50k ] && $G ./m/paced.sh $B $rate park $d
done
echo "== bare futex one-way wake-up after a gap (wake.c), 300 samples"
for g in 20000 1000000 10000000; do $G ./wk/wake $g 1 300; done
echo "== round trip, spsc 8 B, 20k round trips x 3"
for w in spin yield park backoff; do $G $A run --transport spsc --mode roundtrip --wait $w --messages 20k --repeat 3 --no-probes 2>&1 | grep "^spsc"; done
echo "== consumer CPU (sub), idle and at 100 records/s"
for w in spin park backoff; do $G ./m/idlecpu.sh $A $w 10; done
for w in park backoff; do $G ./m/idlecpu.sh $A $w 10 100; done
echo "== probe (after binary), end"; $G $A probe 2>&1 | grep -A3 "futex wake-up"; $G $A probe 2>&1 | grep "^limits"
