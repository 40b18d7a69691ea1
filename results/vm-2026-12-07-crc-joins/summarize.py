#!/usr/bin/env python3
"""Replay / cat per run and medians, by file system and binary: summarize.py RUNDIR"""
import re, sys, os, statistics, collections
rows = collections.defaultdict(list)
for f in sorted(os.listdir(sys.argv[1])):
    fs, rest = f.split('-', 1)
    binary = rest.rsplit('-r', 1)[0]
    text = open(os.path.join(sys.argv[1], f)).read()
    on = float(re.search(r'checksums on\).*?, (\d+) MB/s', text).group(1))
    off = float(re.search(r'checksums off\).*?, (\d+) MB/s', text).group(1))
    cat = float(re.search(r'to /dev/null: .*?, (\d+) MB/s', text).group(1))
    probe = text.splitlines()[0].split()[-1]
    rows[(fs, binary)].append((on / cat, on, off, cat, probe))
for (fs, binary), runs in sorted(rows.items()):
    ratios = [r[0] for r in runs]
    print(f"{fs:5} {binary:8} replay/cat median {statistics.median(ratios):.2f} (runs {' '.join(f'{x:.2f}' for x in ratios)}); "
          f"replay {statistics.median(r[1] for r in runs):.0f} MB/s, unchecked {statistics.median(r[2] for r in runs):.0f}, "
          f"cat {statistics.median(r[3] for r in runs):.0f}; met >= 0.8x in {sum(x >= 0.8 for x in ratios)} of {len(ratios)}")
