#!/usr/bin/env python3
"""Medians of run.sh's files: the producer's own rate (producerMessagesPerSecond)
with one consumer stalled against none, per wait strategy, and per round."""
import glob, json, os, statistics, sys
d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
def reps(kind, wait):
    out = {}
    for f in sorted(glob.glob(f"{d}/{kind}-{wait}-r*.json")):
        run = json.load(open(f))["runs"][0]
        r = int(f.rsplit("-r", 1)[1].split(".")[0])
        out[r] = ([x["producerMessagesPerSecond"] for x in run["repetitions"]], run["integrity"])
    return out
for f in ("probe-before.json", "probe-after.json"):
    p = json.load(open(os.path.join(d, f)))
    print(f"{f}: cache-line round trip {p['probes']['cacheLine']['roundTripNs'][0][1] if 'probes' in p else p['cacheLine']['roundTripNs'][0][1]} ns")
print("| wait | consumers | producer msgs/s (median of all reps) | rounds' medians | lost (stalled) |")
print("|---|---|---:|---|---:|")
med = {}
for wait in ("spin", "park"):
    for kind, label in (("none", "1 reading"), ("stalled", "1 reading + 1 stalled"), ("both-read", "2 reading (3 procs on 2 CPUs)")):
        rs = reps(kind, wait)
        allv = [v for vs, _ in rs.values() for v in vs]
        if not allv:
            continue
        med[(kind, wait)] = {r: statistics.median(vs) for r, (vs, _) in rs.items()}
        lost = sum(i["lost"] for _, i in rs.values())
        print(f"| {wait} | {label} | {statistics.median(allv)/1e6:.2f} M | "
              + " ".join(f"{statistics.median(vs)/1e6:.2f}" for vs, _ in rs.values()) + f" | {lost} |")
for wait in ("spin", "park"):
    a, b = med.get(("none", wait), {}), med.get(("stalled", wait), {})
    ratios = [b[r] / a[r] for r in sorted(a) if r in b]
    if ratios:
        print(f"{wait}: stalled / none, per round: " + " ".join(f"{x:.3f}" for x in ratios)
              + f"; median {statistics.median(ratios):.3f}")
