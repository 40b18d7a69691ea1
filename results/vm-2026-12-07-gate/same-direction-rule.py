"""What a looser confirmation rule would have done to the recorded gate runs.

Rule tried on paper: a candidate (regressed or suspect in the first compare)
also stands when the confirmation calls it inconclusive but moved it the same
way by at least twice the threshold (10 %), instead of only when the
confirmation calls it regressed. Reads the confirmation lists that every
committed gate-check run keeps per gate run (aa-N.md, NAME-N.md), so no raw
rounds are needed:
    python3 results/vm-2026-12-07-gate/same-direction-rule.py
"""
import glob
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
# The runs of the gate as shipped since 8d0299c (10 rounds, 8 confirmation rounds at alpha 0.1);
# earlier runs judged with other rules.
runs = [os.path.join(here, d) for d in ("gate-check-rounds10", "gate-check-rounds10-c", "gate-check-rounds10-d")]
line = re.compile(r"^- (\*\*confirmed\*\*|not confirmed): (.*?) (messagesPerSecond|latencyP50|latencyP99|latencyP999) "
                  r"([+-][0-9.]+)%, .*?; again: (?:([+-][0-9.]+)% (\w+)|not measured)")


def loose(first, again, verdict):
    return verdict != "regressed" and again is not None and first * again > 0 and abs(again) >= 10


aa_runs = aa_new_alarms = aa_candidates = 0
ab_runs = ab_detected = ab_recovered = 0
examples = []
for run in runs:
    for path in sorted(glob.glob(os.path.join(run, "*.md"))):
        name = os.path.basename(path)[:-3]
        if name == "README" or "-" not in name:
            continue
        text_all = open(path).read()
        if "#### Confirmation" not in text_all:
            continue  # no confirmation step ran (none was needed, or the gate had none yet)
        rows = []
        for text in text_all.splitlines():
            m = line.match(text)
            if m:
                again = float(m.group(5)) if m.group(5) else None
                rows.append((m.group(1) != "not confirmed", m.group(2), float(m.group(4)), again, m.group(6)))
        if name.startswith("aa-"):
            aa_runs += 1
            aa_candidates += len(rows)
            # An A/A run the loose rule would fail: no confirmed metric before, one standing now.
            if not any(ok for ok, *_ in rows) and any(loose(f, a, v) for _, _, f, a, v in rows):
                aa_new_alarms += 1
                examples.append("%s/%s: %s" % (os.path.basename(run), name,
                                               "; ".join("%s %+.1f%% then %+.1f%%" % (s, f, a) for _, s, f, a, v in rows if loose(f, a, v))))
        elif name.startswith("spsc-fence-"):
            ab_runs += 1
            if any(ok and s.startswith("spsc") for ok, s, *_ in rows):
                ab_detected += 1
            elif any(loose(f, a, v) and s.startswith("spsc") and "8B" in s for _, s, f, a, v in rows):
                ab_recovered += 1

print("A/A gate runs that ran a confirmation: %d (%d candidates); new false alarms under the loose rule: %d"
      % (aa_runs, aa_candidates, aa_new_alarms))
print("A/B (spsc-fence) gate runs that ran a confirmation: %d, detected (a confirmed spsc row): %d, misses the loose rule would recover: %d"
      % (ab_runs, ab_detected, ab_recovered))
for e in examples:
    print("  " + e)
