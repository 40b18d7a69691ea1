#!/usr/bin/env python3
"""Steady runs (both probes within 15 % of each other) by placement bucket: median msgs/s per binary,
and each regressed binary's ratio to HEAD's median in the same bucket."""
import glob, json, os, statistics, sys
out = sys.argv[1]
buckets = [(0, 56, "<56 ns"), (56, 66, "56-66 ns"), (66, 120, "66-120 ns"), (120, 1e9, ">120 ns")]
rows = {}
unsteady = 0
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    binary = os.path.basename(path).rsplit("-r", 1)[0]
    run = json.load(open(path))["runs"][0]
    host = run["hostState"]
    before, after = host["cacheLineBeforeNs"], host["cacheLineAfterNs"]
    if max(before, after) > 1.15 * min(before, after):
        unsteady += 1
        continue
    ns = (before + after) / 2
    name = next(b[2] for b in buckets if b[0] <= ns < b[1])
    rows.setdefault(name, {}).setdefault(binary, []).append(run["summary"]["messagesPerSecond"]["median"])
print(f"unsteady runs left out: {unsteady}")
for _, _, name in buckets:
    if name not in rows: continue
    head = rows[name].get("rb-head")
    line = f"{name:10}"
    for binary in sorted(rows[name]):
        v = rows[name][binary]
        m = statistics.median(v)
        ratio = f" ({(m / statistics.median(head) - 1) * 100:+.1f} %)" if head and binary != "rb-head" else ""
        line += f"  {binary} n={len(v)} {m / 1e6:.1f} M{ratio}"
    print(line)
