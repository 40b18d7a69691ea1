#!/usr/bin/env python3
"""Prints the results table of docs/results.md (headline rows in the README) from default-suite results files.

   bench/readme-table.py results/A.json [results/B.json ...]

The host moves its vCPUs between placements that change every shared-memory
figure about threefold, and a suite takes minutes, so one run often has rows
in both. Each row is taken from the first file in which its runs' own probes
(runs[].hostState, before and after) are within 1.5x of the reference state,
the first file's document probe; a row found in no file in that state is
taken from the first file and its cell marked ‡. The lines after the
table say which file each row came from."""
import json, sys

files = sys.argv[1:]
docs = [(f, json.load(open(f))) for f in files]
reference = min(x for row in docs[0][1]["probes"]["cacheLine"]["roundTripNs"] for x in row if x)

def in_reference(run):
    h = run.get("hostState")
    if not h:
        return False
    lines = [h["cacheLineBeforeNs"], h["cacheLineAfterNs"], reference]
    return max(lines) <= 1.5 * min(lines)

def candidates(transport, backing, mode, size):
    for name, doc in docs:
        for r in doc["runs"]:
            s = r["scenario"]
            if (s["transport"], s.get("backing"), s["mode"], s["messageSize"]) == (transport, backing, mode, size) \
                    and s.get("wait") is None and s.get("rate") is None and s["producers"] == 1 and s["consumers"] == 1 \
                    and s.get("batch", 1) == 1:
                yield name, r
                break

sources, offstate, offruns = {}, [], set()
def find(transport, backing, mode, size):
    found = list(candidates(transport, backing, mode, size))
    if not found:
        return None
    for name, run in found:
        if in_reference(run):
            sources.setdefault(name, []).append(f"{transport}{'/' + backing if backing else ''} {mode} {size} B")
            return run
    name, run = found[0]
    h = run.get("hostState") or {}
    offstate.append(f"{transport} {mode} {size} B ({h.get('cacheLineBeforeNs', 0):.0f}/{h.get('cacheLineAfterNs', 0):.0f} ns)")
    offruns.add(id(run))
    sources.setdefault(name, []).append(f"{transport}{'/' + backing if backing else ''} {mode} {size} B")
    return run

def rate(x):
    return f"{x / 1e6:.1f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"
def bandwidth(x):
    return f"{x / 2**30:.2f} GiB/s" if x >= 2**30 else f"{x / 2**20:.0f} MiB/s"
def ns(x):
    return f"{x / 1e3:.1f} µs" if x >= 1000 else f"{x:.0f} ns"
def times(x):
    return "—" if x is None else (f"{x:.0f}×" if x >= 10 else f"{x:.2g}×")

rivals = {"boost-spsc", "ck-spsc", "ck-mpmc", "boost-mq"}
order = [("spsc", "sysv"), ("spsc", "mmap"), ("records", "sysv"), ("mpmc-lockfree", "sysv"), ("mpmc-sem", "sysv"),
         ("pipe", None), ("fifo", None), ("socketpair-stream", None), ("socketpair-dgram", None), ("unix-stream", None),
         ("unix-dgram", None), ("sysv-msgq", None), ("posix-mq", None), ("signal", None), ("eventfd", None),
         ("empty", None), ("boost-spsc", None), ("ck-spsc", None), ("ck-mpmc", None), ("boost-mq", None)]
print("| transport | backing | 8 B msgs/s | 64 KiB bandwidth | round trip p50, 8 B | vs pipe (8 B throughput / round trip) |")
print("|---|---|--:|--:|--:|--:|")
for transport, backing in order:
    small, trip = find(transport, backing, "throughput", 8), find(transport, backing, "roundtrip", 8)
    if small is None and trip is None:
        continue
    big = find(transport, backing, "throughput", 65536)
    kib = None if big else find(transport, backing, "throughput", 1024)
    def mark(run, text):
        return text + (" ‡" if id(run) in offruns else "")
    if big:
        wide = mark(big, bandwidth(big["summary"]["bytesPerSecond"]["median"]))
    elif kib:
        wide = mark(kib, bandwidth(kib["summary"]["bytesPerSecond"]["median"]) + " (1 KiB; larger not carried)")
    else:
        wide = "—"
    name = f"`{transport}`" + (" (harness only)" if transport == "empty" else "") + (" †" if transport in rivals else "")
    print(f"| {name} | {backing or '—'} | {mark(small, rate(small['summary']['messagesPerSecond']['median'])) if small else 'round trip only'} | {wide} | "
          f"{mark(trip, ns(trip['summary']['latencyNs']['p50'])) if trip else '—'} | "
          f"{times(small.get('versusPipe')) if small else '—'} / {times(trip.get('versusPipe')) if trip else '—'} |")
print()
print(f"Reference state: cache-line round trip {reference:.0f} ns (the first file's probe).")
for name in files:
    if name in sources:
        print(f"From {name}: {len(sources[name])} rows" + ("" if name == files[0] else ": " + "; ".join(sources[name])))
if offstate:
    print("‡ Not in the reference state in any file: " + "; ".join(offstate))
