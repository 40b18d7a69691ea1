#!/usr/bin/env python3
"""Medians of the interleaved rounds in DIR (--fast: only the rounds whose
own probe, probe-rN.json, says the fast placement) (default: this folder; run.sh's files):
python3 summarize.py [DIR]. Every repetition of every round counts once."""
import glob, json, os, re, statistics, sys

folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
fast_only = '--fast' in sys.argv
if fast_only:
    folder = next((a for a in sys.argv[1:] if a != '--fast'), os.path.dirname(os.path.abspath(__file__)))
def round_is_fast(r):
    """The round's own probe (run.sh) says the fast placement (< 100 ns)."""
    p = os.path.join(folder, f'probe-r{r}.json')
    return os.path.exists(p) and json.load(open(p))['probes']['cacheLine']['roundTripNs'][0][1] < 100
rows = {}
for path in sorted(glob.glob(os.path.join(folder, '*-r*.json'))):
    if os.path.basename(path).startswith('probe-'):
        continue
    if fast_only and not round_is_fast(int(re.search(r'-r(\d+)\.json$', path).group(1))):
        continue
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
for t in ('records', 'broadcast', 'spsc'):
    for w in ('park', 'backoff'):
        ratio(f'{t}-{w}-after', f'{t}-{w}-before')
        ratio(f'{t}-{w}-after', f'{t}-spin-after')
ratio('broadcast-park-after', 'records-park-after')
ratio('broadcast-park-before', 'records-park-before')
for f in ('probe-before.json', 'probe-after.json'):
    p = os.path.join(folder, f)
    if os.path.exists(p):
        cl = json.load(open(p))['probes']['cacheLine']
        print(f"{f}: cache-line round trip CPU 0<->1 {cl['roundTripNs'][0][1]} ns (min), median {cl['medianRoundTripNs'][0][1]:.1f} ns")
