#!/usr/bin/env python3
"""Medians of the interleaved rounds in DIR (default: this folder):
python3 summarize.py [DIR]. Every repetition of every round counts once."""
import glob, json, os, re, statistics, sys

folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
rows = {}
for path in sorted(glob.glob(os.path.join(folder, '*-r*.json'))):
    key = re.sub(r'-r\d+\.json$', '', os.path.basename(path))
    run = json.load(open(path))['runs'][0]
    rows.setdefault(key, {'reps': [], 'rounds': [], 'integrity': [], 'consumers': run['scenario']['consumers']})
    rows[key]['reps'] += [r['messagesPerSecond'] for r in run['repetitions']]
    rows[key]['rounds'].append(run['summary']['messagesPerSecond']['median'])
    rows[key]['integrity'].append(run['integrity'])
print(f"{'scenario':28} {'median msgs/s':>14} {'per consumer':>13} {'min':>8} {'max':>8}  rounds' medians  integrity")
for key, row in rows.items():
    med = statistics.median(row['reps'])
    clean = all(i['lost'] == i['duplicated'] == i['reordered'] == i['corrupt'] == 0 for i in row['integrity'])
    print(f"{key:28} {med/1e6:13.2f}M {med/row['consumers']/1e6:12.2f}M {min(row['reps'])/1e6:7.2f}M {max(row['reps'])/1e6:7.2f}M  "
          + ' '.join(f'{m/1e6:.2f}' for m in row['rounds']) + ('  clean' if clean else '  NOT CLEAN'))
def ratio(a, b):
    if a in rows and b in rows:
        print(f"{a} / {b}: {statistics.median(rows[a]['reps']) / statistics.median(rows[b]['reps']):.2f}")
ratio('broadcast-1to1', 'records-1to1')
ratio('broadcast-1to1-park', 'records-1to1-park')
for f in ('probe-before.json', 'probe-after.json'):
    p = os.path.join(folder, f)
    if os.path.exists(p):
        cl = json.load(open(p))['probes']['cacheLine']
        print(f"{f}: cache-line round trip CPU 0<->1 {cl['roundTripNs'][0][1]} ns (min), median {cl['medianRoundTripNs'][0][1]:.1f} ns")
