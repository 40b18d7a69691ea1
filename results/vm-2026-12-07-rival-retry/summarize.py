"""Per rival and binary: each session's native and port msgs/s (median of
its rounds), port / native, and the session's host state."""
import glob, json, os, sys

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
print("rival        binary  round  native M/s  port M/s  port/native  host (cache line, before/after each run)")
for path in sorted(glob.glob(os.path.join(here, "*-r*.json"))):
    name = os.path.basename(path)[:-len(".json")]
    rival, which, r = name.rsplit("-", 2)
    doc = json.load(open(path))
    native, port = (run["summary"]["messagesPerSecond"]["median"] / 1e6 for run in doc["runs"])
    hosts = " ".join(f"{run['hostState']['cacheLineBeforeNs']:.0f}/{run['hostState']['cacheLineAfterNs']:.0f}"
                     for run in doc["runs"] if run.get("hostState"))
    print(f"{rival:12} {which:7} {r:5}  {native:10.1f} {port:9.1f}  {doc['floor']['medianRatio']:11.2f}  {hosts}")
