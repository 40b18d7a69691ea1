"""bench/ab-confirm.py: which metrics the gate measures again, which stand.

Run by `make test` (python3 -m unittest discover -s bench/tests).
"""
import importlib.util
import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ab_confirm", os.path.join(HERE, "..", "ab-confirm.py"))
ab_confirm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ab_confirm)


def metric(scenario, metric, change, verdict, p, transport="spsc", size=8, bigger=True, name=None):
    mode = "throughput" if metric == "messagesPerSecond" else "roundtrip"
    x = {"scenario": scenario, "transport": transport, "messageSize": size, "metric": metric, "mode": mode,
         "change": change, "verdict": verdict, "p": p, "biggerIsBetter": bigger}
    if name:
        x["suiteName"] = name
    return x


def read(path):
    with open(path) as f:
        return f.read()


def report(*results):
    return {"options": {"threshold": 0.05, "tailThreshold": 0.15}, "results": list(results)}


class ABConfirmTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        for f in os.listdir(self.dir):
            os.remove(os.path.join(self.dir, f))
        os.rmdir(self.dir)

    def write(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def select(self, doc):
        out = io.StringIO()
        with redirect_stdout(out):
            ab_confirm.select(self.write("first.json", doc))
        return out.getvalue().strip()

    def test_the_missed_fence_is_a_suspect(self):
        # spsc-fence-2 of results/vm-2026-12-06-gate/gate-check-confirm4:
        # -19.7 %, p = 0.073, inconclusive, under a "no regression" headline.
        doc = report(metric("spsc sysv throughput 8B", "messagesPerSecond", -0.197, "inconclusive", 0.073),
                     metric("pipe throughput 64KiB", "messagesPerSecond", -0.148, "inconclusive", 0.0115,
                            transport="pipe", size=65536))
        self.assertEqual(self.select(doc), "pipe,spsc 8,65536 throughput")

    def test_not_suspects(self):
        doc = report(
            metric("a", "messagesPerSecond", +0.30, "inconclusive", 0.01),        # better, not worse
            metric("b", "messagesPerSecond", -0.08, "inconclusive", 0.01),        # under 2 x threshold
            metric("c", "messagesPerSecond", -0.30, "inconclusive", 0.2),         # p too large
            metric("d", "latencyP999", +0.90, "inconclusive", 0.001, bigger=False),  # tails move by tens of %
            metric("e", "messagesPerSecond", -0.30, "inconclusive", None),        # noise band: no p
            metric("f", "latencyP50", -0.30, "inconclusive", 0.01, bigger=False),  # p50 fell: better
            metric("g", "messagesPerSecond", -0.30, "unchanged", 0.01))
        self.assertEqual(self.select(doc), "")

    def test_p50_rise_and_regressions_are_candidates(self):
        doc = report(metric("rt", "latencyP50", +0.12, "inconclusive", 0.05, transport="pipe", size=64, bigger=False),
                     metric("tp", "latencyP99", +0.40, "regressed", 0.001, transport="mpmc-lockfree", size=8, bigger=False))
        self.assertEqual(self.select(doc), "mpmc-lockfree,pipe 8,64 roundtrip")

    def test_exact_scenarios_not_their_cross_product(self):
        # spsc-fence-9 of gate-check-confirm8 in small: the cross product of
        # these transports, sizes and modes is 8 scenarios (x backings);
        # measured again are the 3 flagged ones.
        doc = report(metric("a", "messagesPerSecond", -0.12, "regressed", 0.001, name="spsc/mmap/8/throughput"),
                     metric("b", "latencyP50", +0.20, "regressed", 0.002, size=65536, bigger=False,
                            name="spsc/mmap/65536/roundtrip"),
                     metric("c", "latencyP99", +0.30, "regressed", 0.004, size=65536, bigger=False,
                            name="spsc/mmap/65536/roundtrip"),
                     metric("d", "messagesPerSecond", -0.20, "inconclusive", 0.05, transport="mpmc-lockfree", size=1024,
                            name="mpmc-lockfree/sysv/1024/throughput"))
        self.assertEqual(self.select(doc).splitlines(), [
            "mpmc-lockfree,spsc 8,1024,65536 throughput,roundtrip",
            "mpmc-lockfree/sysv/1024/throughput,spsc/mmap/65536/roundtrip,spsc/mmap/8/throughput"])

    def test_at_most_the_strongest_scenarios_are_measured_again(self):
        n = ab_confirm.MAX_SCENARIOS
        suspects = [metric("s%d" % i, "messagesPerSecond", -0.3, "inconclusive", 0.05 + i / 1000, size=i,
                           name="spsc/sysv/%d/throughput" % i) for i in range(n)]
        regressed = metric("r", "messagesPerSecond", -0.3, "regressed", 0.009, size=4096, name="spsc/sysv/4096/throughput")
        first = self.write("first.json", report(*suspects, regressed))
        out = io.StringIO()
        with redirect_stdout(out):
            ab_confirm.select(first)
        names = out.getvalue().splitlines()[1].split(",")
        self.assertEqual(len(names), n)
        self.assertIn("spsc/sysv/4096/throughput", names)          # regressed first
        self.assertNotIn("spsc/sysv/%d/throughput" % (n - 1), names)  # the weakest suspect is left out
        second = self.write("second.json", report(*[dict(x, verdict="regressed") for x in suspects]))
        confirmed, md = os.path.join(self.dir, "confirmed.txt"), os.path.join(self.dir, "compare.md")
        ab_confirm.judge(first, second, confirmed, md)
        self.assertNotIn("s%d\t" % (n - 1), read(confirmed))
        self.assertIn("beyond the %d strongest" % n, read(md))

    def test_judge_confirms_only_what_regressed_again(self):
        first = self.write("first.json", report(
            metric("s1", "messagesPerSecond", -0.20, "inconclusive", 0.07),
            metric("s2", "messagesPerSecond", -0.25, "inconclusive", 0.03),
            metric("r1", "latencyP99", +0.40, "regressed", 0.001, bigger=False),
            metric("ok", "messagesPerSecond", -0.01, "unchanged", 0.9)))
        second = self.write("second.json", report(
            metric("s1", "messagesPerSecond", -0.18, "regressed", 0.02),
            metric("s2", "messagesPerSecond", -0.02, "unchanged", 0.6),
            metric("r1", "latencyP99", +0.05, "inconclusive", 0.3, bigger=False),
            metric("ok", "messagesPerSecond", -0.30, "regressed", 0.001)))
        confirmed, md = os.path.join(self.dir, "confirmed.txt"), os.path.join(self.dir, "compare.md")
        ab_confirm.judge(first, second, confirmed, md)
        # "ok" regressed only in the second measurement: not a candidate.
        self.assertEqual(read(confirmed), "s1\tmessagesPerSecond\n")
        text = read(md)
        self.assertIn("**confirmed**: s1", text)
        self.assertIn("not confirmed: s2", text)
        self.assertIn("not confirmed: r1", text)
        self.assertNotIn(": ok ", text)


if __name__ == "__main__":
    unittest.main()
