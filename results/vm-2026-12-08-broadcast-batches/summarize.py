#!/usr/bin/env python3
"""Steady runs (probes within 15 %) by placement: median msgs/s per file prefix, and the ratio of each
broadcast prefix to the record ring's median in the same placement."""
import glob, json, os, statistics, sys
out = sys.argv[1]
rows, unsteady = {}, 0
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    prefix = os.path.basename(path).rsplit("-r", 1)[0]
    run = json.load(open(path))["runs"][0]
    h = run["hostState"]
    b, a = h["cacheLineBeforeNs"], h["cacheLineAfterNs"]
    if max(a, b) > 1.15 * min(a, b):
        unsteady += 1
        continue
    bucket = "<= 120 ns" if (a + b) / 2 <= 120 else "> 120 ns"
    rows.setdefault(bucket, {}).setdefault(prefix, []).append(run["summary"]["messagesPerSecond"]["median"])
print(f"unsteady runs left out: {unsteady}")
for bucket in sorted(rows):
    rec = [v for k, v in rows[bucket].items() if k.startswith("records")]
    base = statistics.median(rec[0]) if rec else None
    for prefix, v in sorted(rows[bucket].items()):
        m = statistics.median(v)
        ratio = f"  {m / base:.2f}x records" if base and not prefix.startswith("records") else ""
        print(f"{bucket:10} {prefix:40} n={len(v):2} median {m / 1e6:6.2f} M msgs/s{ratio}")
