#!/bin/bash
# paced.sh BIN RATE WAIT [DURATION] [EXTRA...] -> one line: summary p50 p90 p99 p99.9 (us), samples; saves json
BIN=$1; RATE=$2; WAIT=$3; DUR=${4:-2}; shift 4
tag=$(basename $BIN)-$RATE-$WAIT
out=/tmp/backoff/m/json/$tag-$(date +%H%M%S).json; mkdir -p /tmp/backoff/m/json
$BIN run --transport spsc --wait $WAIT --rate $RATE --message-size 16 --duration $DUR --repeat 3 --warmup 1 --no-probes --format json --output $out "$@" 2>/dev/null
python3 - "$out" "$RATE" "$WAIT" "$BIN" <<'PY'
import json,sys
d=json.load(open(sys.argv[1]))
l=d["runs"][0]["summary"]["latencyNs"]
print("%-18s rate=%-5s wait=%-8s p50=%8.2f p90=%8.2f p99=%8.2f p99.9=%9.2f us  n=%d" % (sys.argv[4].split('/')[-1], sys.argv[2], sys.argv[3], l["p50"]/1e3, l["p90"]/1e3, l["p99"]/1e3, l["p999"]/1e3, l["samples"]))
PY
