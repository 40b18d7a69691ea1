#!/usr/bin/env python3
"""A regression stands only if a second, independent measurement regresses
the same metric again (bench/ab.sh's confirmation step; bench/gate-check.sh
--rejudge applies it again to recorded rounds).

    ab-confirm.py FIRST.json SECOND.json CONFIRMED.txt COMPARE.md

FIRST and SECOND are `ringbench compare --format json` reports of the first
measurement and of the confirmation rounds. Writes the confirmed
"scenario<TAB>metric" lines to CONFIRMED.txt and appends a Markdown list of
every first-time regression, confirmed or not, to COMPARE.md.
"""
import json, sys
first = json.load(open(sys.argv[1]))["results"]
second = {(x["scenario"], x["metric"]): x for x in json.load(open(sys.argv[2]))["results"]}
with open(sys.argv[3], "w") as confirmed, open(sys.argv[4], "a") as md:
    md.write("\n#### Confirmation (a second, independent measurement of the regressed transports and sizes)\n\n")
    for x in first:
        if x["verdict"] != "regressed":
            continue
        y = second.get((x["scenario"], x["metric"]))
        ok = y is not None and y["verdict"] == "regressed"
        if ok:
            confirmed.write("%s\t%s\n" % (x["scenario"], x["metric"]))
        again = "%+.1f%% %s" % (y["change"] * 100, y["verdict"]) if y else "not measured again"
        md.write("- %s: %s %s %+.1f%%, again: %s\n" % ("**confirmed**" if ok else "not confirmed",
                                                       x["scenario"], x["metric"], x["change"] * 100, again))
