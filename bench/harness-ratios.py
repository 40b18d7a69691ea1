#!/usr/bin/env python3
"""Prints issue 11's ratios from the files bench/harness.sh wrote."""
import json, os, sys

# `harness-ratios.py --rivals-steady DIR`: exit 1 when a rival pair's rows
# saw different host states (harness.sh then reruns the rivals suite).
steady_check = sys.argv[1] == "--rivals-steady"
out = sys.argv[2] if steady_check else sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)
def rate(run): return run["summary"]["messagesPerSecond"]["median"]
def p50(run): return run["summary"]["latencyNs"]["p50"]
def find(doc, transport, mode="throughput", size=8, producers=1):
    for r in doc["runs"]:
        s = r["scenario"]
        if s["transport"] == transport and s["mode"] == mode and s["messageSize"] == size and s["producers"] == producers and s.get("rate") is None:
            return r
    return None

def state(*runs):
    """' (host state differs: ...)' when the rows' own probes (runs[].hostState) disagree by more than 1.5x."""
    lines = [min(r["hostState"]["cacheLineBeforeNs"], r["hostState"]["cacheLineAfterNs"]) for r in runs if r.get("hostState")]
    if len(lines) == len(runs) and max(lines) > 1.5 * min(lines):
        return "  NOT COMPARABLE: host state differs (" + " vs ".join(f"{v:.0f}" for v in lines) + " ns cache line)"
    return ""
if steady_check:
    rivals = load("rivals.json")
    spsc = find(rivals, "spsc")
    pairs = [(spsc, find(rivals, "boost-spsc")), (spsc, find(rivals, "ck-spsc")),
             (find(rivals, "spsc", "roundtrip"), find(rivals, "boost-spsc", "roundtrip")),
             (find(rivals, "mpmc-lockfree"), find(rivals, "boost-mq"))]
    sys.exit(1 if any(state(*p) for p in pairs) else 0)
floor = load("floor.json")
print(f"spsc / ring-floor (8 B, batch 1, median of {len(floor['floor']['rounds'])} pairs): {floor['floor']['medianRatio']:.2f}  (target >= 0.90)")
print(f"empty: {rate(load('empty.json')['runs'][0]) / 1e6:.0f} M msgs/s  (target >= 400)")
print(f"spsc batch 32: {rate(load('spsc-batch32.json')['runs'][0]) / 1e6:.0f} M msgs/s  (target >= 500)")
if os.path.exists(os.path.join(out, "floor-batch32.json")):
    fb = load("floor-batch32.json")
    floors = [r for r in fb["runs"] if r["scenario"]["transport"] == "ring-floor"]
    print(f"ring-floor batch 32 (tryPushBatch/tryPopBatch, sysv): {rate(floors[0]) / 1e6:.0f} M msgs/s; "
          f"spsc / ring-floor at batch 32 (median of {len(fb['floor']['rounds'])} pairs): {fb['floor']['medianRatio']:.2f}")
rt = load("spsc-roundtrip.json")
line = min(v for row in rt["probes"]["cacheLine"]["roundTripNs"] for v in row if v)
print(f"spsc round trip p50 {p50(rt['runs'][0])} ns = {p50(rt['runs'][0]) / line:.2f} x the cache-line round trip {line:.0f} ns  (target <= 1.5)")
two = [v for row in rt["probes"]["cacheLine"].get("twoLineRoundTripNs") or [] for v in row if v]
if two:
    print(f"  the two-line round trip (the limit of two one-way rings) {min(two):.0f} ns = {min(two) / line:.2f} x the one-line figure; "
          f"spsc p50 = {p50(rt['runs'][0]) / min(two):.2f} x the two-line figure")
if os.path.exists(os.path.join(out, "floor-roundtrip.json")):
    fr = load("floor-roundtrip.json")
    f, s = (next(r for r in fr["runs"] if r["scenario"]["transport"] == t) for t in ("ring-floor", "spsc"))
    own = [min(r["hostState"]["cacheLineBeforeNs"], r["hostState"]["cacheLineAfterNs"]) for r in (f, s) if r.get("hostState")]
    near = min(own) if own else line
    print(f"ring-floor round trip (public API, sysv) p50 {p50(f)} ns = {p50(f) / near:.2f} x its runs' own cache-line probe {near:.0f} ns; "
          f"spsc p50 {p50(s)} ns; ring-floor p50 / spsc p50 (median of {len(fr['floor']['rounds'])} pairs): {fr['floor']['medianRatio']:.2f}")
rivals = load("rivals.json")
spsc = find(rivals, "spsc")
for name, goal in [("boost-spsc", 1.5), ("ck-spsc", 1.2)]:
    r = find(rivals, name)
    print(f"spsc / {name} (8 B throughput): {rate(spsc) / rate(r):.2f}  (goal >= {goal}){state(spsc, r)}")
a, b = find(rivals, 'spsc', 'roundtrip'), find(rivals, 'boost-spsc', 'roundtrip')
print(f"spsc round trip / boost-spsc round trip (8 B p50): {p50(a) / p50(b):.2f}  (goal <= 0.7){state(a, b)}")
a, b = find(rivals, 'mpmc-lockfree'), find(rivals, 'boost-mq')
print(f"mpmc-lockfree / boost-mq (8 B throughput): {rate(a) / rate(b):.2f}  (goal >= 3){state(a, b)}")
sem, bmq = load("mpmc-sem-2p2c-batch32.json")["runs"][0], load("boost-mq-2p2c-batch32.json")["runs"][0]
print(f"mpmc-sem / boost-mq (2P/2C, batch 32): {rate(sem) / rate(bmq):.2f}  (goal >= 1){state(sem, bmq)}")
empty = find(rivals, "empty")
for name in ["mpmc-lockfree", "mpmc-sem", "pipe", "boost-mq"]:
    r = find(rivals, name)
    print(f"harness share of {name} (8 B): empty's {1e9 / rate(empty):.1f} ns of its {1e9 / rate(r):.1f} ns per message = {rate(r) / rate(empty) * 100:.1f}%")
print("latency under load (one-way from intended send time, 64 B):")
for r in load("latency.json")["runs"]:
    s, l = r["scenario"], r["summary"].get("latencyNs")
    if s.get("rate") and l:
        print(f"  {s['transport']:14} @ {s['rate'] / 1e6:8.2f} M/s: achieved {rate(r) / 1e6:8.2f} M/s, p50 {l['p50']} ns, p99 {l['p99']} ns, p99.9 {l['p999']} ns, max {l['max']} ns")
