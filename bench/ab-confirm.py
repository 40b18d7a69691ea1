#!/usr/bin/env python3
"""The gate's second look: which metrics to measure again, and which of them
stand (bench/ab.sh's confirmation step; bench/gate-check.sh --rejudge applies
it again to recorded rounds).

    ab-confirm.py select FIRST.json
        prints two lines about the scenarios to measure again, or nothing when
        there is nothing to confirm: "TRANSPORTS SIZES MODES" (each
        comma-separated; for a suite without --scenarios, which then runs
        their cross product) and the scenarios' names for
        `ringbench suite --scenarios` (comma-separated; empty when a
        candidate has no suiteName).
    ab-confirm.py judge FIRST.json SECOND.json CONFIRMED.txt COMPARE.md
        writes the confirmed "scenario<TAB>metric" lines to CONFIRMED.txt and
        appends a Markdown list of every candidate, confirmed or not, to
        COMPARE.md.

FIRST and SECOND are `ringbench compare --format json` reports of the first
measurement and of the confirmation rounds.

Candidates are the metrics the first compare called regressed, and the
*suspects*: a median throughput or p50 that moved the wrong way by at least
twice the threshold (10 % by default) with p < SUSPECT_P, but was left
inconclusive. A real -20 % spsc regression measured in a noisy stretch looks
exactly like that (issue 20: spsc 8 B -19.7 %, p = 0.07, with 56 % of the
metrics judged, passed as "no regression"); on identical code a suspect
turned up in 8 of 23 recorded A/A runs, one each
(results/vm-2026-12-06-gate). Both kinds stand only if the second,
independent measurement calls the same metric regressed, so a suspect costs
a confirmation's time, not a false alarm. Tails (p99, p99.9) are not
suspects: on this machine they move by tens of percent between identical
runs.

At most MAX_SCENARIOS scenarios are measured again, the strongest first
(regressed before suspects, then by p), which bounds the confirmation's time
(issue 20: each gate run within 3 minutes; a confirmation of 2 transports x
4 sizes x 2 modes took 193 s). A candidate left out is "not measured again"
and does not stand: with that many flagged, the strongest 16 decide.
"""
import json
import sys

SUSPECT_P = 0.1
SUSPECT_METRICS = ("messagesPerSecond", "latencyP50")
MAX_SCENARIOS = 16


def load(path):
    with open(path) as f:
        return json.load(f)


def threshold(report, metric):
    options = report.get("options", {})
    if metric in ("latencyP99", "latencyP999"):
        return options.get("tailThreshold", 0.15)
    return options.get("threshold", 0.05)


def is_suspect(report, x):
    if x["verdict"] != "inconclusive" or x["metric"] not in SUSPECT_METRICS:
        return False
    worse = x["change"] < 0 if x["biggerIsBetter"] else x["change"] > 0
    p = x.get("p")
    return worse and abs(x["change"]) >= 2 * threshold(report, x["metric"]) and p is not None and p < SUSPECT_P


def candidates(report):
    """(metric result, why) for every metric to measure again."""
    out = []
    for x in report.get("results", []):
        if x["verdict"] == "regressed":
            out.append((x, "regressed"))
        elif is_suspect(report, x):
            out.append((x, "suspect (inconclusive, p=%.3g)" % x["p"]))
    return out


def scenario_id(x):
    return x.get("suiteName") or x["scenario"]


def measured_again(found):
    """The candidates to measure again: every candidate of the strongest
    MAX_SCENARIOS scenarios (regressed first, then the smallest p)."""
    order = sorted(found, key=lambda c: (c[0]["verdict"] != "regressed", c[0].get("p") if c[0].get("p") is not None else 1.0))
    chosen = []
    for x, _ in order:
        if scenario_id(x) not in chosen and len(chosen) < MAX_SCENARIOS:
            chosen.append(scenario_id(x))
    return [(x, why) for x, why in found if scenario_id(x) in chosen]


def select(first_path):
    found = measured_again(candidates(load(first_path)))
    if found:
        transports = sorted({x["transport"] for x, _ in found})
        sizes = sorted({x["messageSize"] for x, _ in found})
        modes = sorted({x["mode"] for x, _ in found}, reverse=True)  # throughput first, as the suite runs them
        print(",".join(transports), ",".join(str(s) for s in sizes), ",".join(modes))
        names = [] if any(not x.get("suiteName") for x, _ in found) else sorted({x["suiteName"] for x, _ in found})
        print(",".join(names))


def judge(first_path, second_path, confirmed_path, md_path):
    first = load(first_path)
    second = {(x["scenario"], x["metric"]): x for x in load(second_path).get("results", [])}
    with open(confirmed_path, "w") as confirmed, open(md_path, "a") as md:
        md.write("\n#### Confirmation (a second, independent measurement of the regressed and suspect scenarios)\n\n")
        found = candidates(first)
        chosen = {id(x) for x, _ in measured_again(found)}
        for x, why in found:
            y = second.get((x["scenario"], x["metric"])) if id(x) in chosen else None
            ok = y is not None and y["verdict"] == "regressed"
            if ok:
                confirmed.write("%s\t%s\n" % (x["scenario"], x["metric"]))
            again = "%+.1f%% %s" % (y["change"] * 100, y["verdict"]) if y else \
                "not measured again" + ("" if id(x) in chosen else " (beyond the %d strongest scenarios)" % MAX_SCENARIOS)
            md.write("- %s: %s %s %+.1f%%, %s; again: %s\n" % (
                "**confirmed**" if ok else "not confirmed", x["scenario"], x["metric"], x["change"] * 100, why, again))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "select":
        select(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "judge":
        judge(*sys.argv[2:])
    else:
        sys.exit("usage: ab-confirm.py select FIRST.json | judge FIRST.json SECOND.json CONFIRMED.txt COMPARE.md")
