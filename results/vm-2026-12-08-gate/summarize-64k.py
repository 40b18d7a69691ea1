#!/usr/bin/env python3
"""spsc sysv 64 KiB cap 64 throughput by binary and round: k msgs/s (probe before / after, ns)."""
import collections, glob, json, os, sys
rows = collections.defaultdict(list)
for path in sorted(glob.glob(os.path.join(sys.argv[1] if len(sys.argv) > 1 else "spsc-64k", "*.json")),
                   key=lambda p: int(p.rsplit("-r", 1)[1].split(".")[0])):
    binary = os.path.basename(path).rsplit("-r", 1)[0]
    run = json.load(open(path))["runs"][0]
    h = run["hostState"]
    rows[binary].append(f"{run['summary']['messagesPerSecond']['median'] / 1e3:.0f}k ({h['cacheLineBeforeNs']:.0f}/{h['cacheLineAfterNs']:.0f})")
for binary, values in sorted(rows.items()):
    print(f"{binary:14} " + "  ".join(values))
