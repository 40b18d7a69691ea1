"""The Python package: API, errors, zero copy, and interop with the Swift
(ringbench pub/sub) and C (Examples/c) peers over both backings."""
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import shmring

BACKINGS = ["mmap", "sysv"]


def test_versions():
    assert shmring.abi_version() >> 16 == 1
    assert shmring.abi_version() >= (1 << 16) | 4  # reserve/peek for the broadcast ring and the journal
    assert shmring.layout_version() >= 3


def test_record_ring_in_process(name):
    with shmring.RecordRing.create(name, 1 << 12, 512) as ring, ring.producer() as p, ring.consumer() as c:
        assert ring.capacity == 4096 and ring.max_record == 512
        p.write(b"one")
        p.write_many([b"two", b"", bytearray(b"three")])
        assert c.read() == b"one"
        assert c.read_many() == [b"two", b"", b"three"]
        for i in range(300):  # wraps the ring many times
            p.write(bytes([i % 256]) * (i + 1))
            assert c.read() == bytes([i % 256]) * (i + 1)
        p.close()
        assert list(c) == []


FASTPATH_CHECK = textwrap.dedent("""
    import shmring, shmring._lib as lib
    with shmring.RecordRing.create(None, 1 << 12, 512, backing="anon") as ring, ring.producer() as p, ring.consumer() as c:
        for i in range(300):  # wraps the ring: both paths agree record by record
            p.write(bytes([i % 256]) * (i % 513))
            assert c.read() == bytes([i % 256]) * (i % 513)
        kept = []
        for i in range(300):  # zero-copy reads, on both paths
            p.write(bytes([i % 256]) * (i % 513))
            with c.peek() as view:
                assert view.readonly and view.format == "B" and bytes(view) == bytes([i % 256]) * (i % 513)
                kept.append(view)
        try:
            kept[-1][0] if len(kept[-1]) else kept[-1].tobytes()
            raise SystemExit("a view outlived its peek block")
        except ValueError:
            pass  # released: the ring's bytes are no longer reachable through it
        try:
            p.write(b"x" * 513)
            raise SystemExit("an oversized record was accepted")
        except shmring.InvalidArgument:
            pass
        sent = [bytes([i % 256]) * (i * 37 % 200) for i in range(20)]  # ~2 KB: fits the 4 KiB ring
        p.write_many(sent)  # batches on both paths: by count, by bytes, and everything
        got = c.read_many(max_count=3) + c.read_many(buffer_size=1)
        got += c.read_many(max_count=5, buffer_size=2000)
        while len(got) < len(sent):
            got += c.read_many()
        assert got == sent, "read_many lost, doubled or reordered records"
        import threading
        late = threading.Timer(0.05, lambda: p.write_many([b"first", b"", b"third"]))
        late.start()  # the batch read waits for the first record, then takes what followed
        got = c.read_many(timeout=5)
        while len(got) < 3:
            got += c.read_many(timeout=5)
        late.join()
        assert got == [b"first", b"", b"third"], got
        p.close()
        assert c.read_many() == []
        assert c.read() is None
        p.free()
    print("fast" if lib.fast else "ctypes")
""")


@pytest.mark.parametrize("disabled", [False, True])
def test_one_record_per_call_with_and_without_the_compiled_fast_path(disabled):
    # make interop builds python/shmring/_fastpath*.so; SHMRING_NO_FASTPATH=1
    # makes every call through ctypes, as a pip install without a compiler does.
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("SHMRING_NO_FASTPATH", None)
    if disabled:
        env["SHMRING_NO_FASTPATH"] = "1"
    elif not list((Path(shmring.__file__).parent).glob("_fastpath*.so")):
        pytest.skip("the fast path is not built (make python-fastpath)")
    out = subprocess.run([sys.executable, "-c", FASTPATH_CHECK], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("ctypes" if disabled else "fast")


def test_fast_path_refuses_a_freed_handle_and_non_bytes(name):
    with shmring.RecordRing.create(name, 1 << 12, 64) as ring:
        p = ring.producer()
        p.free()
        with pytest.raises(shmring.ClosedHandle):
            p.write(b"late")
        with ring.producer() as p2, ring.consumer() as c:
            p2.write(memoryview(b"view"))  # not bytes: the ctypes path
            assert c.read() == b"view"


@pytest.mark.parametrize("sizes", [
    [64] * 50,                      # small, one length: the uniform path
    [0, 0, 0],                      # empty records
    [1, 700, 3, 0, 64],             # small, mixed lengths
    [8192] * 6,                     # large (>= LARGE_RECORD on average), one length
    [5000, 1, 20000, 0, 9000],      # large on average, mixed
])
def test_batches_of_every_shape_round_trip(name, sizes):
    records = [bytes([(i * 7 + j) % 256 for j in range(n)]) for i, n in enumerate(sizes)]
    with shmring.RecordRing.create(name, 1 << 20, 1 << 15) as ring, ring.producer() as p, ring.consumer() as c:
        for _ in range(3):  # the buffers are reused between calls
            p.write_many(records)
            got = []
            while len(got) < len(records):
                got += c.read_many(max_count=len(records) - len(got), buffer_size=1 << 16)
            assert got == records
        p.close()
        assert c.read_many() == []


def test_large_batches_are_written_in_slices(name):
    # 2.4 MB in one write_many: joined and written in slices of at most
    # JOIN_BYTES (1 MiB), in order, nothing lost or doubled at the seams.
    records = [bytes([i]) * (30000 + i) for i in range(80)]
    with shmring.RecordRing.create(name, 1 << 22, 1 << 15) as ring, ring.producer() as p, ring.consumer() as c:
        p.write_many(records)
        p.write_many(tuple(records[:2]))  # a tuple, small: one join
        got = []
        while len(got) < len(records) + 2:
            got += c.read_many(buffer_size=1 << 20)
        assert got == records + records[:2]


def test_zero_copy_peek_and_numpy(name):
    numpy = pytest.importorskip("numpy")
    with shmring.RecordRing.create(name, 1 << 12, 512) as ring, ring.producer() as p, ring.consumer() as c:
        p.write(numpy.arange(16, dtype=numpy.uint32).tobytes())
        with c.peek() as view:
            assert view.readonly
            array = numpy.frombuffer(view, dtype=numpy.uint32)
            assert not array.flags.owndata  # a view of the ring's bytes, not a copy
            assert array.sum() == sum(range(16))
            del array
        with pytest.raises(shmring.TimedOut):  # the peeked record was released, nothing follows
            c.read(timeout=0.01)


def test_errors_are_typed(name):
    with pytest.raises(shmring.NoSuchRegion):
        shmring.RecordRing.open(name)
    with pytest.raises(shmring.InvalidArgument):
        shmring.RecordRing.create(name, 1000, 10)  # not a power of two
    with shmring.RecordRing.create(name, 1 << 12, 64) as ring, ring.consumer() as c:
        start = time.monotonic()
        with pytest.raises(shmring.TimedOut):
            c.read(timeout=0.1)
        assert time.monotonic() - start < 1
        with pytest.raises(shmring.EndpointTaken) as taken:
            ring.consumer()
        assert taken.value.pid == os.getpid()
        p = ring.producer()
        with pytest.raises(shmring.InvalidArgument):
            p.write(b"x" * 65)
        p.close()
        with pytest.raises(shmring.ClosedHandle):
            p.write(b"x")


def test_layout_version_mismatch_is_a_clear_error(name):
    with shmring.RecordRing.create(name, 1 << 12, 64):
        path = Path("/dev/shm") / name
        with open(path, "r+b") as f:
            f.seek(8)
            good = f.read(4)
            f.seek(8)
            f.write((99).to_bytes(4, "little"))
            f.flush()
            with pytest.raises(shmring.IncompatibleVersion, match="layout version 99"):
                shmring.RecordRing.open(name)
            f.seek(8)
            f.write(good)


@pytest.mark.parametrize("backing", BACKINGS)
def test_spsc_between_python_processes(name, backing):
    count = 20000
    producer = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(Path(shmring.__file__).parents[1])!r})
        import shmring
        ring = shmring.SPSCRing.open({name!r}, backing={backing!r}, wait_for_creation=5)
        p = ring.producer()
        p.push_many(b"".join(i.to_bytes(8, "little") * 8 for i in range({count})))
        p.close()
    """)
    with shmring.SPSCRing.create(name, 256, 64, backing=backing) as ring, ring.consumer() as c:
        proc = subprocess.Popen([sys.executable, "-c", producer])
        seen = 0
        digest = hashlib.sha256()
        while (chunk := c.pop_many(64, timeout=10)) is not None:
            for at in range(0, len(chunk), 64):
                assert chunk[at:at + 64] == seen.to_bytes(8, "little") * 8  # per-record integrity
                seen += 1
            digest.update(chunk)
        assert proc.wait(10) == 0
    assert seen == count
    assert digest.hexdigest() == hashlib.sha256(b"".join(i.to_bytes(8, "little") * 8 for i in range(count))).hexdigest()


def _stream(n=5000):
    return b"".join(b"line %d %s\n" % (i, b"x" * (i % 97)) for i in range(n))


@pytest.mark.parametrize("backing", BACKINGS)
def test_swift_to_python(name, backing, ringbench, tmp_path):
    data = _stream()
    source = tmp_path / "in"
    source.write_bytes(data)
    with open(source, "rb") as stdin:
        pub = subprocess.Popen([ringbench, "pub", name, "--backing", backing], stdin=stdin)
        with shmring.RecordRing.open(name, backing=backing, wait_for_creation=10) as ring, ring.consumer() as c:
            records = list(c)
    assert pub.wait(10) == 0
    assert records == data.split(b"\n")[:-1]  # per-record integrity (pub frames by lines)
    assert hashlib.sha256(b"\n".join(records) + b"\n").hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("backing", BACKINGS)
def test_python_to_swift(name, backing, ringbench, tmp_path):
    data = _stream()
    lines = data.split(b"\n")[:-1]
    with shmring.RecordRing.create(name, 1 << 14, 4096, backing=backing) as ring, open(tmp_path / "out", "wb") as sink:
        # Into a file, not a pipe: a pipe nobody reads yet would stop sub, and so the producer.
        sub = subprocess.Popen([ringbench, "sub", name, "--backing", backing, "--wait-for-creation", "5"], stdout=sink)
        with ring.producer() as p:
            for i in range(0, len(lines), 100):
                p.write_many(lines[i:i + 100])
            p.close()
        assert sub.wait(20) == 0
    out = (tmp_path / "out").read_bytes()
    assert hashlib.sha256(out).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("backing", BACKINGS)
def test_c_to_python_and_python_to_c(name, backing, c_examples):
    producer = subprocess.Popen([str(c_examples / "example-producer"), name, "3000", backing])
    with shmring.RecordRing.open(name, backing=backing, wait_for_creation=10) as ring, ring.consumer() as c:
        records = list(c)
    assert producer.wait(10) == 0
    assert records == [b"record %d" % i for i in range(3000)]

    other = name + "-back"
    with shmring.RecordRing.create(other, 1 << 16, 1024, backing=backing) as ring:
        consumer = subprocess.Popen([str(c_examples / "example-consumer"), other, backing], stdout=subprocess.PIPE)  # one short line
        with ring.producer() as p:
            for r in records:
                p.write(r)
            p.close()
        out, _ = consumer.communicate(timeout=20)
    assert consumer.returncode == 0
    assert out.decode().strip() == f"3000 records, {sum(map(len, records))} bytes"


def test_swift_producer_killed_is_detected_by_python(name, ringbench):
    pub = subprocess.Popen([ringbench, "pub", name, "--count", "100M", "--size", "64", "--rate", "2000"])
    try:
        with shmring.RecordRing.open(name, wait_for_creation=10) as ring, ring.consumer() as c:
            for _ in range(20):
                assert c.read(timeout=5) is not None
            pub.kill()
            killed = time.monotonic()
            with pytest.raises(shmring.PeerDied):
                while c.read(timeout=5) is not None:
                    pass
            assert time.monotonic() - killed < 0.1
    finally:
        pub.kill()
        pub.wait()
        shmring._lib.lib.shmring_remove(1, name.encode(), None)


def test_python_producer_killed_is_detected_by_swift(name, ringbench):
    producer = textwrap.dedent(f"""
        import sys, time; sys.path.insert(0, {str(Path(shmring.__file__).parents[1])!r})
        import shmring
        ring = shmring.RecordRing.create({name!r}, 1 << 14, 1024)
        p = ring.producer()
        p.write(b"ready\\n")
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", producer])
    sub = subprocess.Popen([ringbench, "sub", name, "--wait-for-creation", "10", "--producer-grace", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert sub.stdout.readline() == b"ready\n"
        proc.kill()
        proc.wait()
        killed = time.monotonic()
        sub.wait(5)
        detected = time.monotonic() - killed
        assert sub.returncode == 1
        assert b"died" in sub.stderr.read()
        assert detected < 0.1 + 0.05  # the 100 ms budget plus the sub process's exit
    finally:
        proc.kill()
        sub.kill()
        shmring._lib.lib.shmring_remove(1, name.encode(), None)


def test_blocking_read_is_interruptible_by_ctrl_c(name):
    # The child installs Python's own SIGINT handler: a process started in the
    # background by a non-interactive shell (nohup make interop &) inherits
    # SIGINT ignored, and Python then keeps it ignored (the child hung).
    consumer = textwrap.dedent(f"""
        import signal, sys; sys.path.insert(0, {str(Path(shmring.__file__).parents[1])!r})
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import shmring
        with shmring.RecordRing.create({name!r}, 1 << 12, 64) as ring, ring.consumer() as c:
            print("waiting", flush=True)
            try:
                c.read()
            except KeyboardInterrupt:
                print("interrupted", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", consumer], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"waiting\n"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=5)  # bounded: a lost signal fails the test, never hangs it
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the blocked read was not interrupted within 5 s of SIGINT")
    assert out == b"interrupted\n"
    assert time.monotonic() - sent < 0.5
    assert proc.returncode == 0


@pytest.mark.parametrize("kind", ["lockfree", "semaphore"])
def test_mpmc_queue_in_process(name, kind):
    with shmring.MPMCQueue.create(name, 8, 16, kind=kind) as q:
        assert (q.capacity, q.message_size) == (8, 16)
        assert q.try_pop() is None
        q.push(b"one")
        assert q.try_push(b"two")
        assert q.pop(timeout=1) == b"one".ljust(16, b"\0")  # zero-padded to the slot
        assert q.try_pop() == b"two".ljust(16, b"\0")
        q.push_many(b"".join(i.to_bytes(16, "little") for i in range(8)))
        assert not q.try_push(b"full")
        got = q.pop_many(16, timeout=1)
        assert [int.from_bytes(got[i:i + 16], "little") for i in range(0, len(got), 16)] == list(range(len(got) // 16))
        with pytest.raises(shmring.TimedOut):
            while True:
                q.pop(timeout=0.05)
        with pytest.raises(shmring.ShmRingError):
            q.push(b"x" * 17)  # longer than a slot: a typed error, not a crash
        q.remove_name()
    with pytest.raises(shmring.ShmRingError):
        shmring.MPMCQueue.open(name, kind=kind)


@pytest.mark.parametrize("kind", ["lockfree", "semaphore"])
def test_mpmc_two_python_producers_one_consumer(name, kind):
    """Two producer processes, each message taken exactly once, each producer's in its order."""
    count = 5000
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(Path(shmring.__file__).parents[1])!r})
        import shmring
        q = shmring.MPMCQueue.open({name!r}, kind={kind!r}, wait_for_creation=5)
        who = int(sys.argv[1])
        q.push_many(b"".join((who << 32 | i).to_bytes(8, "little") for i in range({count})), timeout=30)
    """)
    with shmring.MPMCQueue.create(name, 64, 8, kind=kind) as q:
        procs = [subprocess.Popen([sys.executable, "-c", script, str(who)]) for who in (1, 2)]
        last = {1: -1, 2: -1}
        for _ in range(2 * count):
            value = int.from_bytes(q.pop(timeout=30), "little")
            who, i = value >> 32, value & 0xFFFFFFFF
            assert i == last[who] + 1, f"producer {who}: {i} after {last[who]}"
            last[who] = i
        assert [p.wait(30) for p in procs] == [0, 0]
        assert last == {1: count - 1, 2: count - 1}
        assert q.try_pop() is None
        q.remove_name()


@pytest.mark.parametrize("shared_line", [False, True])
def test_exchange_between_python_processes(name, shared_line):
    """A Python server answers every call of every length (inline and beyond) until the client closes."""
    server = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(Path(shmring.__file__).parents[1])!r})
        import shmring
        with shmring.Exchange.open({name!r}, wait_for_creation=5) as ex, ex.server() as s:
            while s.serve(lambda request: request[::-1]):
                pass
    """)
    with shmring.Exchange.create(name, 300, shared_line=shared_line) as ex:
        assert ex.max_message == 300
        proc = subprocess.Popen([sys.executable, "-c", server])
        client = ex.client()
        for i in range(301):
            request = bytes((i + j) % 256 for j in range(i))
            assert client.call(request, timeout=10) == request[::-1]
        with pytest.raises(shmring.ShmRingError):
            client.call(b"x" * 301)  # longer than the exchange's largest message
        client.close()
        assert proc.wait(10) == 0


def test_journal_replay_follow_and_swift_interop(tmp_path, ringbench):
    """Python appends, a Python tailer replays and follows to the end; the Swift CLI
    (journal verify) reads the same journal; a second producer is refused."""
    directory = str(tmp_path / "j")
    producer = shmring.JournalProducer.open(directory, segment_size=65536)
    with pytest.raises(shmring.ShmRingError):
        shmring.JournalProducer.open(directory, segment_size=65536)
    records = [b"record %d " % i + b"x" * (i % 500) for i in range(2000)]
    for i, r in enumerate(records):
        producer.write(r)
        if i % 7 == 6:
            producer.commit()
    producer.commit()
    assert producer.next_sequence == 2000
    tailer = shmring.JournalTailer.open(directory, "oldest")
    got = [tailer.read(timeout=5) for _ in range(2000)]
    assert [g.payload for g in got] == records and [g.sequence for g in got] == list(range(2000))
    with pytest.raises(shmring.TimedOut):
        tailer.read(timeout=0.05)
    producer.close()
    assert tailer.read(timeout=5) is None and tailer.lost == 0
    late = shmring.JournalTailer.open(directory, 1995)
    assert [r.sequence for r in late] == [1995, 1996, 1997, 1998, 1999]
    # Many a call: batches bounded by the count, the buffer and each 64 KiB segment.
    batched = shmring.JournalTailer.open(directory, "oldest", max_record=1024)
    many = []
    while batch := batched.read_many(max_count=100, buffer_size=8192, timeout=5):
        assert 1 <= len(batch) <= 100 and sum(len(r.payload) for r in batch) <= 8192
        many.extend(batch)
    assert [r.payload for r in many] == records and [r.sequence for r in many] == list(range(2000))
    for handle in (tailer, late, batched):
        handle.free()
    verify = subprocess.run([ringbench, "journal", "verify", directory], capture_output=True, text=True, timeout=30)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 2000 records"), verify.stdout


def test_broadcast_in_process_and_from_swift_pub(name, ringbench):
    """Two Python consumers each get the whole stream; under overwrite a lapped one counts its losses;
    a Python consumer joins a broadcast ring that `ringbench pub --broadcast` feeds."""
    with shmring.BroadcastRing.create(None, 4096, 100, policy="overwrite", backing="anon") as ring:
        producer = ring.producer("spin")
        a, b = ring.join(from_oldest=True, wait="spin"), ring.join(from_oldest=True, wait="spin")
        for i in range(1000):
            producer.write(b"%d" % i)
            assert b.read(timeout=1) == b"%d" % i
        c = ring.join(from_oldest=False, wait="spin")
        for i in range(1000, 1010):
            producer.write(b"%d" % i)
        assert c.read_many(max_count=4, timeout=1) == [b"%d" % i for i in range(1000, 1004)]
        assert c.read_many(timeout=1) == [b"%d" % i for i in range(1004, 1010)] and c.lost == 0
        assert [b.read(timeout=1) for _ in range(10)] == [b"%d" % i for i in range(1000, 1010)]
        survivors = []
        while True:
            try:
                survivors.extend(int(r) for r in a.read_many(max_count=7, timeout=0.02))
            except shmring.TimedOut:
                break
        assert a.lost + len(survivors) == 1010 and survivors == list(range(a.lost, 1010))
        producer.close()
        assert a.read(timeout=1) is None and b.read(timeout=1) is None and c.read_many(timeout=1) == []
    lines = b"".join(b"line %d\n" % i for i in range(3000))
    pub = subprocess.Popen([ringbench, "pub", name, "--broadcast", "--consumers", "1"], stdin=subprocess.PIPE)
    pub.stdin.write(lines)
    pub.stdin.close()
    with shmring.BroadcastRing.open(name, wait_for_creation=10) as ring, ring.join(from_oldest=True) as consumer:
        got = list(consumer)
    assert pub.wait(30) == 0
    assert got == [b"line %d" % i for i in range(3000)]


def test_broadcast_reserve_and_peek_in_place():
    """Zero copy both ways: reserve publishes at the end of its block (also one left by an
    exception: a reservation cannot be taken back); peek lends one record at a time; under
    overwrite a record overwritten while its block read it raises Overrun at the end of the
    block, with the exact count; under block a full ring makes reserve time out."""
    with shmring.BroadcastRing.create(None, 4096, 100, policy="overwrite", backing="anon") as ring:
        producer = ring.producer("spin")
        consumer = ring.join(from_oldest=True, wait="spin")
        with producer.reserve(5) as view:
            assert not view.readonly and len(view) == 5
            view[:] = b"hello"
        with producer.reserve(0) as view:
            assert len(view) == 0
        with pytest.raises(ZeroDivisionError):
            with producer.reserve(3) as view:
                view[:] = b"abc"
                1 / 0
        with pytest.raises(shmring.InvalidArgument):
            with producer.reserve(101):
                pass
        got = []
        for _ in range(3):
            with consumer.peek(timeout=1) as view:
                assert view.readonly
                got.append(bytes(view))
        assert got == [b"hello", b"", b"abc"]
        producer.write(b"x")
        with consumer.peek(timeout=1) as view:
            with pytest.raises(shmring.InvalidArgument):  # one lent record at a time
                with consumer.peek(timeout=1):
                    pass
            with pytest.raises(shmring.InvalidArgument):
                consumer.read(timeout=1)
            assert bytes(view) == b"x"
        # Lapped while the block reads: Overrun at its end, the lent record counted lost.
        for i in range(10):
            producer.write(b"%d" % i)
        with pytest.raises(shmring.Overrun) as overrun:
            with consumer.peek(timeout=1) as view:
                assert bytes(view) == b"0"
                for i in range(10, 200):
                    producer.write(b"%d" % i)
        lost = overrun.value.lost
        assert 0 < lost < 200 and consumer.lost == lost
        with consumer.peek(timeout=1) as view:
            assert bytes(view) == b"%d" % lost  # the oldest intact record: none lost twice, none skipped
        producer.close()
        assert list(consumer) == [b"%d" % i for i in range(lost + 1, 200)]
        with consumer.peek(timeout=1) as view:
            assert view is None
        with pytest.raises(shmring.ClosedHandle):
            with producer.reserve(1):
                pass
    with shmring.BroadcastRing.create(None, 4096, 100, policy="block", backing="anon") as ring:
        producer = ring.producer("spin")
        consumer = ring.join(wait="spin")
        for i in range(32):  # 32 records of 128 bytes fill 4 KiB
            with producer.reserve(100) as view:
                view[:4] = i.to_bytes(4, "little")
        with pytest.raises(shmring.TimedOut):
            with producer.reserve(100, timeout=0.05):
                pass
        with consumer.peek(timeout=1) as view:
            assert int.from_bytes(view[:4], "little") == 0
        with producer.reserve(100, timeout=1) as view:  # the release made room
            view[:4] = (32).to_bytes(4, "little")
        assert [int.from_bytes(r[:4], "little") for r in consumer.read_many(timeout=1)] == list(range(1, 33))


def test_journal_reserve_and_peek_in_place(tmp_path):
    """Records reserved in place across segment rolls, checksums verified by the tailer; a record
    peeked before retention deletes its segment stays intact in its view; reads wait for the
    release; a tailer behind retention counts exactly what it lost."""
    directory = str(tmp_path / "j")
    producer = shmring.JournalProducer.open(directory, segment_size=65536, retention_bytes=2 * 65536)
    tailer = shmring.JournalTailer.open(directory, "oldest", verify_checksums=True)
    records = [b"record %d " % i + b"x" * (i % 300) for i in range(2000)]
    with producer.reserve(len(records[0])) as view:
        view[:] = records[0]
    producer.commit()
    with tailer.peek(timeout=1) as first:
        assert first.sequence == 0 and first.payload.readonly
        for i in range(1, 2000):  # about 5 segments: retention deletes the first three
            with producer.reserve(len(records[i])) as view:
                view[:] = records[i]
            if i % 7 == 0:
                producer.commit()
        producer.commit()
        assert bytes(first.payload) == records[0]  # still mapped, unchanged
        with pytest.raises(shmring.InvalidArgument):
            tailer.read(timeout=1)
        with pytest.raises(shmring.InvalidArgument):
            with tailer.peek(timeout=1):
                pass
    seen = []
    while True:
        try:
            with tailer.peek(timeout=0.05) as record:
                assert bytes(record.payload) == records[record.sequence]
                seen.append(record.sequence)
        except shmring.TimedOut:
            break
    assert tailer.lost > 0 and len(seen) + tailer.lost == 1999
    assert seen == sorted(seen) and seen[-1] == 1999
    producer.close()
    with tailer.peek(timeout=1) as record:
        assert record is None
    with pytest.raises(shmring.ClosedHandle):
        with producer.reserve(1):
            pass
    tailer.free()

