"""spsc 8 B throughput (msgs/s, M) of every steady run of this gate-check's
A/B runs (first pass and confirmations), by the run's own cache line (the
faster of its two probes, whole ns): base (no fence) and head (the injected
fence). Reads the raw rounds (kept with --keep, not committed)."""
import collections, glob, json, os, statistics, sys

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
for side in ["base", "head"]:
    by_line = collections.defaultdict(list)
    for path in glob.glob(f"{here}/spsc-fence-*/{side}/round-*.json") + glob.glob(f"{here}/spsc-fence-*/confirm/{side}/round-*.json"):
        for run in json.load(open(path))["runs"]:
            s, h = run["scenario"], run.get("hostState")
            if s["transport"] != "spsc" or s["messageSize"] != 8 or s["mode"] != "throughput" or s.get("wait"):
                continue
            if not h or not h["steady"]:
                continue
            line = int(min(h["cacheLineBeforeNs"], h["cacheLineAfterNs"]))
            by_line[line].append(run["summary"]["messagesPerSecond"]["median"] / 1e6)
    print(side, "(cache line ns: runs, median M msgs/s)")
    for line in sorted(by_line):
        values = by_line[line]
        print(f"  {line:4} ns: {len(values):3} runs, median {statistics.median(values):5.1f}")
