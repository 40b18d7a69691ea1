#!/usr/bin/env python3
"""Result files with known host states for issue 20's defects (see defects-old-vs-new.txt)."""
import json, os

def run(rates, size=64, mode="throughput", host=None, transport="spsc"):
    med = sorted(rates)[len(rates) // 2]
    sp = {"median": med, "min": min(rates), "max": max(rates), "cv": 0.01}
    r = {"scenario": {"transport": transport, "backing": "sysv", "producers": 1, "consumers": 1, "messageSize": size,
                      "duration": 0.1, "capacity": 4096, "batch": 1, "mode": mode,
                      "placement": [{"role": "producer", "cpu": 0, "node": 0}, {"role": "consumer", "cpu": 1, "node": 0}]},
         "repetitions": [{"seconds": 0.1, "messagesPerSecond": x, "bytesPerSecond": x * size} for x in rates],
         "integrity": {"sent": 1, "received": 1, "lost": 0, "duplicated": 0, "reordered": 0, "corrupt": 0},
         "summary": {"messagesPerSecond": sp, "bytesPerSecond": sp}}
    if mode == "roundtrip":
        for x in r["repetitions"]:
            x["latencyNs"] = {"p50": 1000, "p99": 2000, "p999": 3000}
        r["summary"]["latencyNs"] = {"kind": "roundtrip", "p50": 1000, "p90": 1500, "p99": 2000, "p999": 3000,
                                     "max": 4000, "mean": 1000, "samples": 1000}
    if host:
        b, a = host
        r["hostState"] = {"cpus": [0, 1], "cacheLineBeforeNs": b, "cacheLineAfterNs": a,
                          "steady": max(a, b) <= 1.5 * min(a, b)}
    return r

def doc(runs, line=70):
    return {"schema": "ringbench/result-v1", "tool": {"version": "0.1.0", "commit": "abc"},
            "machine": {"cpuModel": "Test CPU", "cpus": 2, "numaNodes": 1, "kernel": "6.1.0", "hostname": "t"},
            "probes": {"cacheLine": {"cpus": [0, 1], "statistic": "min", "samples": 1, "roundTripsPerSample": 1,
                                     "roundTripNs": [[None, line], [line, None]],
                                     "medianRoundTripNs": [[None, line], [line, None]],
                                     "oneWayNs": [[None, line / 2], [line / 2, None]]},
                       "memcpy": [{"bytes": 4096, "bytesPerSecond": 1e10, "cpu": 0}], "wakeup": {"statistic": "median"},
                       "clockReadNs": 20, "seconds": 0.5},
            "runs": runs}

def w(path, d):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    json.dump(d, open(path, "w"))

# 1: base steady at 51 ns; the new run's own probes say 51 -> 307 ns (unsteady), identical code.
w("d1b-base.json", doc([run([100e6 * (1 + 0.002 * i) for i in range(5)], host=(51, 52))], 51))
w("d1b-new.json", doc([run([25e6 * (1 + 0.002 * i) for i in range(5)], host=(51, 307))], 51))
# 2: A/B rounds, 5 fast + 1 slow per side, the fast ones regressed.
for i, x in enumerate([98e6, 100e6, 101e6, 103e6, 105e6]):
    w(f"d2/base/r{i}.json", doc([run([x], host=(70, 70))]))
w("d2/base/r5.json", doc([run([33e6], host=(300, 300))]))
for i, x in enumerate([79e6, 79.5e6, 80e6, 80.5e6, 81e6]):
    w(f"d2/new/r{i}.json", doc([run([x], host=(71, 71))]))
w("d2/new/r5.json", doc([run([30e6], host=(305, 305))]))
# 3: round trips stalled: trips/s x0.31, identical percentiles.
base = [1e6 * (1 + 0.002 * i) for i in range(6)]
w("d3/base.json", doc([run(base, mode="roundtrip")]))
w("d3/new.json", doc([run([x * 0.31 for x in base], mode="roundtrip")]))
# 5, 6, 7: one-repetition files, -40 %; a throughput-only file for the latency export.
w("d5/base.json", doc([run([1e6])]))
w("d5/new.json", doc([run([0.6e6])]))
# 4: a baseline with 25 of 32 runs in the slow state, the document's probe at 51 ns.
w("d4/slow.json", doc([run([33e6], size=64 << i, host=(300, 302)) for i in range(25)]
                      + [run([100e6], size=64 << (25 + i), host=(51, 52)) for i in range(7)], 51))
