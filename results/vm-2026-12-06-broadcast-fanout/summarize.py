#!/usr/bin/env python3
"""run.sh's files: per N, the producer's rate and per-consumer deliveries of
the broadcast ring and of N record rings (records-fanout), medians over every
measured repetition, and the broadcast / fanout ratio per round."""
import glob, json, os, statistics, sys
d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
for f in ("probe-before.json", "probe-after.json"):
    p = json.load(open(os.path.join(d, f)))
    p = p.get("probes", p)
    print(f"{f}: cache-line round trip {p['cacheLine']['roundTripNs'][0][1]} ns")
def load(t, n):
    rounds = {}
    for f in sorted(glob.glob(f"{d}/{t}-1to{n}-r*.json")):
        run = json.load(open(f))["runs"][0]
        bad = {k: v for k, v in run["integrity"].items() if k in ("lost", "duplicated", "reordered", "corrupt") and v}
        assert not bad, (f, bad)
        r = int(f.rsplit("-r", 1)[1].split(".")[0])
        rounds[r] = [x["producerMessagesPerSecond"] for x in run["repetitions"]]
    return rounds
print("| 1 -> N | transport | producer msgs/s = per-consumer deliveries (median) | rounds' medians |")
print("|---|---|---:|---|")
ratios = {}
for n in (1, 2, 4):
    med = {}
    for t in ("broadcast", "records-fanout"):
        rs = load(t, n)
        if not rs:
            continue
        med[t] = {r: statistics.median(v) for r, v in rs.items()}
        print(f"| 1 -> {n} | {t} | {statistics.median([x for v in rs.values() for x in v]) / 1e6:.2f} M | "
              + " ".join(f"{m / 1e6:.2f}" for m in med[t].values()) + " |")
    if len(med) == 2:
        ratios[n] = [med["broadcast"][r] / med["records-fanout"][r] for r in sorted(med["broadcast"]) if r in med["records-fanout"]]
for n, rs in ratios.items():
    print(f"1 -> {n}: broadcast / records-fanout per round: " + " ".join(f"{x:.2f}" for x in rs) + f"; median {statistics.median(rs):.2f}")
