"""Prints, per round, each loop's p50 and mean (ns) at K=1 and K=100 with
its own host state, and its p50 over the cache-line round trip: the run's
own probe (the faster of the two taken just before and after it, 20 batches
of 100 trips) and the document's (200 batches, min and median)."""
import glob, json, os, sys

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
rows = []
for path in sorted(glob.glob(os.path.join(here, "floor-*-k*-r*.json"))):
    name = os.path.basename(path)[len("floor-"):-len(".json")]
    transport, k, r = name.rsplit("-", 2)
    doc = json.load(open(path))
    line = doc["probes"]["cacheLine"]
    probe_min, probe_median = line["roundTripNs"][0][1], line["medianRoundTripNs"][0][1]
    for run in doc["runs"]:
        lat, host = run["summary"]["latencyNs"], run.get("hostState", {})
        rows.append((r, transport, k, run["scenario"]["transport"], lat["p50"], lat["mean"], lat["p99"],
                     host.get("cacheLineBeforeNs"), host.get("cacheLineAfterNs"), host.get("steady"),
                     probe_min, probe_median))
print("round transport        K    loop                    p50   mean    p99  own probe (before/after)  steady  p50/own  document probe min/median  p50/min  p50/median")
for r, t, k, loop, p50, mean, p99, hb, ha, st, pmin, pmed in sorted(rows):
    own = min(hb, ha)
    print(f"{r:5} {t:16} {k:4} {loop:22} {p50:5} {mean:6.1f} {p99:6} {hb:8.1f}/{ha:<8.1f}         {str(st):6} {p50/own:7.2f}  {pmin:7.1f}/{pmed:<7.1f}            {p50/pmin:7.2f} {p50/pmed:9.2f}")
