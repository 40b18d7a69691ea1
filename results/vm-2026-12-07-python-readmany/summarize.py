#!/usr/bin/env python3
"""Medians of the interleaved runs in DIR (default: this folder):
ctypes-N.json (SHMRING_NO_FASTPATH=1) against fastpath-N.json."""
import glob, json, os, statistics, sys

folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
rows = {}
for kind in ("ctypes", "fastpath"):
    for path in sorted(glob.glob(os.path.join(folder, f"{kind}-*.json"))):
        for r in json.load(open(path))["rows"]:
            if "recordsPerSecond" in r:
                rows.setdefault((r["size"], r["transport"], kind), []).append(r["recordsPerSecond"])
for (size, transport, kind), values in sorted(rows.items()):
    print(f"{size:6} {transport[:48]:48} {kind:8} " + " ".join(f"{v / 1e3:7.0f}k" for v in values)
          + f"   median {statistics.median(values) / 1e3:.0f}k")
for f in ("probe-before.json", "probe-after.json"):
    p = os.path.join(folder, f)
    if os.path.exists(p):
        print(f, "cache-line round trip", json.load(open(p))["probes"]["cacheLine"]["roundTripNs"][0][1], "ns")
