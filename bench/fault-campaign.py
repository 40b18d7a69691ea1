#!/usr/bin/env python3
"""Fault-injection campaign: SIGKILL a producer, a consumer or the parent of
`ringbench run` at random points and check what is left.

For each trial (transport, victim, backing, batch and kill delay drawn from a
seeded generator, so a seed names one plan), the script starts

    ringbench run --transport T [--backing B] --batch K --duration 5 \
        --repeat 1 --warmup 0 --no-probes --timeout 30

waits for its children, kills the victim with SIGKILL after the drawn delay,
and checks:
  * parent survives (child victim): it exits non-zero within 2 s of the kill,
    and its one-line error names the victim ("producer 0 failed: killed by
    signal 9 (SIGKILL)");
  * no process of the trial (parent, children) is alive 2 s after the end,
    and no swift-backtrace helper appeared;
  * no IPC object of the trial is left: files /dev/shm/ringbench-PID-* and
    $TMPDIR/ringbench-PID-*, SysV segments created by a trial pid (cpid),
    message queues last used by one (lspid/lrpid), semaphore sets last
    operated on by one (semctl GETPID), and every id the trial's ledger
    lists. Other processes' objects are never counted. When the parent was
    the victim, what is left must be stale and reclaimable: the script runs
    `ringbench reclaim` and checks that nothing of the trial remains;
  * integrity: the messages each consumer had verified before the failure
    (the "received before the failure" part of the error) include no
    duplicate, reordering or corruption.

Writes a summary table to stdout and, with --json FILE, every trial and the
summary as JSON. Exit status 0 only if every check passed.

    bench/fault-campaign.py --trials 210 --seed 7 --json results/reliability/fault-campaign.json
"""
import argparse
import ctypes
import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

TRANSPORTS = ["spsc", "records", "exchange", "broadcast", "mpmc-sem", "mpmc-lockfree", "pipe", "sysv-msgq"]
VICTIMS = ["producer", "consumer", "parent"]
BACKINGS = {"spsc": ["sysv", "mmap", "anon"], "records": ["sysv", "mmap", "anon"], "exchange": ["sysv", "mmap", "anon"], "broadcast": ["sysv", "mmap", "anon"], "mpmc-sem": ["sysv", "mmap", "anon"],
            "mpmc-lockfree": ["sysv", "mmap", "anon"]}
# The exchange is request/response: its run measures round trips (client = producer 0, server = consumer 0).
ROUNDTRIP_ONLY = {"exchange"}
TMPDIR = os.environ.get("TMPDIR") or "/tmp"
GETPID = 11  # semctl command: pid of the last semop on one semaphore
libc = ctypes.CDLL(None, use_errno=True)


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def sysv_rows(kind):
    try:
        with open(f"/proc/sysvipc/{kind}") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    return [[int(x) for x in line.split()] for line in lines if line.strip()]


def trial_objects(parent, pids, ledger_ids):
    """Every IPC object or path that belongs to this trial."""
    found = []
    for path in glob.glob(f"/dev/shm/ringbench-{parent}-*") + glob.glob(f"{TMPDIR}/ringbench-{parent}-*"):
        found.append(f"path {path}")
    for row in sysv_rows("shm"):  # key shmid perms size cpid lpid ...
        if row[4] in pids or ("shm", row[1]) in ledger_ids:
            found.append(f"shm {row[1]}")
    for row in sysv_rows("msg"):  # key msqid perms cbytes qnum lspid lrpid ...
        if row[5] in pids or row[6] in pids or ("msg", row[1]) in ledger_ids:
            found.append(f"msg {row[1]}")
    for row in sysv_rows("sem"):  # key semid perms nsems ...
        semid, nsems = row[1], row[3]
        last = {libc.semctl(semid, n, GETPID) for n in range(nsems)}
        if last & pids or ("sem", semid) in ledger_ids:
            found.append(f"sem {semid}")
    return sorted(found)


def ledger_ids(parent):
    ids = set()
    # Hidden names; lines are "sem ID = KEY COUNT CTIME #CHECKSUM" (StaleLedger).
    for path in glob.glob(f"/dev/shm/.ringbench-{parent}-*.ledger"):
        try:
            with open(path) as f:
                for line in f:
                    kind, _, rest = line.strip().partition(" ")
                    value = rest.split(" ")[0]
                    if kind in ("sem", "msg") and value.lstrip("-").isdigit():
                        ids.add((kind, int(value)))
        except OSError:
            pass
    return ids


def backtracers():
    return len(subprocess.run(["pgrep", "-x", "swift-backtrace"], capture_output=True, text=True).stdout.split())


def record_policy(rng):
    return rng.choice(["block", "overwrite"])


def run_trial(binary, number, rng, transport, victim):
    backing = rng.choice(BACKINGS[transport]) if transport in BACKINGS else None
    batch = rng.choice([1, 1, 8, 64])
    if transport in ROUNDTRIP_ONLY:
        batch = 1  # a round trip carries one message (the draw is kept: seeds stay comparable)
    # Parent kills land anywhere from process start (before any object
    # exists, during set-up, while children attach) into the run; child
    # kills anywhere from the child's birth into the run.
    delay = rng.uniform(0.0, 0.8) if victim == "parent" else rng.uniform(0.0, 0.6)
    args = [binary, "run", "--transport", transport, "--batch", str(batch), "--duration", "5",
            "--repeat", "1", "--warmup", "0", "--no-probes", "--timeout", "30"]
    if backing:
        args += ["--backing", backing]
    if transport in ROUNDTRIP_ONLY:
        args += ["--mode", "roundtrip"]
    if transport == "broadcast":
        # Two consumers (the victim is consumer 0), under either policy.
        args += ["--consumers", "2", "--policy", record_policy(rng)]
    record = {"trial": number, "transport": transport, "victim": victim, "backing": backing, "batch": batch,
              "delaySeconds": round(delay, 4)}
    helpers_before = backtracers()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = proc.pid
    pids = {parent}
    start = time.monotonic()
    kids = []
    if victim == "parent":
        while time.monotonic() - start < delay:
            kids = children_of(parent) or kids
            time.sleep(0.002)
        kids = children_of(parent) or kids
        target = parent
    else:
        while len(kids) < 2 and time.monotonic() - start < 20 and proc.poll() is None:
            kids = children_of(parent)
            time.sleep(0.001)
        if len(kids) < 2:
            proc.kill()
            proc.wait()
            record.update(error="children never appeared", ok=False)
            return record
        time.sleep(delay)
        target = kids[0] if victim == "producer" else kids[1]
    pids |= set(kids)
    ids_seen = ledger_ids(parent)
    killed_at = time.monotonic()
    os.kill(target, signal.SIGKILL)
    try:
        _, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    exit_seconds = time.monotonic() - killed_at
    status = proc.returncode
    record.update(status=status, exitSeconds=round(exit_seconds, 3), stderr=stderr.strip())

    # Processes: every pid of the trial gone within 2 s; no new backtracer.
    deadline = time.monotonic() + 2
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    left = sorted(p for p in pids if alive(p))
    for p in left:
        os.kill(p, signal.SIGKILL)
    record["processesLeft"] = len(left) + max(0, backtracers() - helpers_before)

    # Objects: what of this trial exists now; for a killed parent, what a
    # reclaim leaves.
    ids_seen |= ledger_ids(parent)
    leftovers = trial_objects(parent, pids, ids_seen)
    record["leftAfterExit"] = leftovers
    if victim == "parent" and leftovers:
        subprocess.run([binary, "reclaim"], capture_output=True)
        leftovers = trial_objects(parent, pids, ids_seen)
    record["leaks"] = leftovers

    # The parent's verdict and the integrity of what was received.
    if victim == "parent":
        record["parentOk"] = None
        record["integrityErrors"] = None
    else:
        named = f"{victim} 0 failed: killed by signal 9 (SIGKILL)" in stderr
        record["parentOk"] = status not in (0, None) and exit_seconds <= 2.0 and named
        counts = re.findall(r"consumer \d+: (\d+) messages, (\d+) duplicated, (\d+) reordered, (\d+) corrupt", stderr)
        record["received"] = sum(int(c[0]) for c in counts)
        record["integrityErrors"] = sum(int(c[1]) + int(c[2]) + int(c[3]) for c in counts) if counts else None
    record["ok"] = (record["parentOk"] is not False and record["processesLeft"] == 0 and not record["leaks"]
                    and not record["integrityErrors"])
    return record


def summarise(trials):
    rows = {}
    for t in trials:
        row = rows.setdefault((t["transport"], t["victim"]), {
            "transport": t["transport"], "victim": t["victim"], "trials": 0, "parentExitsWithin2s": 0,
            "parentChecks": 0, "leftThenReclaimed": 0, "leaks": 0, "processesLeft": 0,
            "messagesVerified": 0, "integrityErrors": 0, "failed": 0})
        row["trials"] += 1
        if t.get("parentOk") is not None:
            row["parentChecks"] += 1
            row["parentExitsWithin2s"] += 1 if t["parentOk"] else 0
        row["leftThenReclaimed"] += 1 if t.get("leftAfterExit") and not t.get("leaks") else 0
        row["leaks"] += len(t.get("leaks", []))
        row["processesLeft"] += t.get("processesLeft", 0)
        row["messagesVerified"] += t.get("received", 0) or 0
        row["integrityErrors"] += t.get("integrityErrors") or 0
        row["failed"] += 0 if t.get("ok") else 1
    return [rows[k] for k in sorted(rows)]


def print_table(rows, trials, seconds):
    head = ["transport", "victim", "trials", "parent exit<=2s", "left->reclaimed", "leaks", "procs left",
            "msgs verified", "integrity errors", "failed"]
    lines = [head]
    for r in rows:
        parent = f"{r['parentExitsWithin2s']}/{r['parentChecks']}" if r["parentChecks"] else "n/a (killed)"
        lines.append([r["transport"], r["victim"], str(r["trials"]), parent, str(r["leftThenReclaimed"]),
                      str(r["leaks"]), str(r["processesLeft"]), str(r["messagesVerified"]),
                      str(r["integrityErrors"]), str(r["failed"])])
    total = lambda key: sum(r[key] for r in rows)
    lines.append(["total", "", str(len(trials)), f"{total('parentExitsWithin2s')}/{total('parentChecks')}",
                  str(total("leftThenReclaimed")), str(total("leaks")), str(total("processesLeft")),
                  str(total("messagesVerified")), str(total("integrityErrors")), str(total("failed"))])
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    for l in lines:
        print("  ".join(c.ljust(w) for c, w in zip(l, widths)).rstrip())
    print(f"{len(trials)} trials in {seconds:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=210)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", default=".build/debug/ringbench")
    parser.add_argument("--json", help="write every trial and the summary here")
    parser.add_argument("--transports", default=",".join(TRANSPORTS), help="comma-separated subset (to rerun one case)")
    parser.add_argument("--victims", default=",".join(VICTIMS), help="comma-separated subset of producer,consumer,parent")
    options = parser.parse_args()
    if options.trials < 1:
        parser.error("--trials must be at least 1")
    rng = random.Random(options.seed)
    transports, victims = options.transports.split(","), options.victims.split(",")
    if not set(transports) <= set(TRANSPORTS) or not set(victims) <= set(VICTIMS):
        parser.error(f"--transports takes {','.join(TRANSPORTS)}; --victims takes {','.join(VICTIMS)}")
    combos = [(t, v) for t in transports for v in victims]
    # Every combination equally often, in a seeded order.
    plan = [combos[i % len(combos)] for i in range(options.trials)]
    rng.shuffle(plan)
    began = time.monotonic()
    trials = []
    for number, (transport, victim) in enumerate(plan, 1):
        record = run_trial(options.binary, number, rng, transport, victim)
        trials.append(record)
        if not record["ok"]:
            print(f"trial {number} FAILED: {json.dumps(record)}", file=sys.stderr)
    seconds = time.monotonic() - began
    rows = summarise(trials)
    print_table(rows, trials, seconds)
    if options.json:
        os.makedirs(os.path.dirname(os.path.abspath(options.json)), exist_ok=True)
        with open(options.json, "w") as f:
            json.dump({"schema": "ringbench/fault-campaign-v1", "seed": options.seed, "trials": len(trials),
                       "seconds": round(seconds, 1), "command": " ".join(sys.argv), "summary": rows,
                       "runs": trials}, f, indent=1)
            f.write("\n")
    sys.exit(0 if all(t["ok"] for t in trials) else 1)


if __name__ == "__main__":
    main()
