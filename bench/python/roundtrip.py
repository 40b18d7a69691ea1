"""Round-trip latency between two Python processes, 64-byte messages: a
client sends, a server echoes, the client times each exchange
(time.perf_counter_ns). shmring (two record rings, one per direction, one
record per call; the request/response exchange; waits: spin, park and backoff) against multiprocessing.Pipe, pyzmq
REQ/REP over ipc://, faster-fifo (two queues) and iceoryx2 (two publish-subscribe
services, polled), where installed.
    python3 bench/python/roundtrip.py [--count N] > results/.../python-roundtrip.json
Medians and p99 in microseconds; the load average is recorded (a 2-CPU
machine under load moves every figure).
"""
import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import shmring  # noqa: E402

SIZE = 64
WARMUP = 1000


def summary(samples):
    samples.sort()
    return {"p50Microseconds": round(samples[len(samples) // 2] / 1e3, 2),
            "p99Microseconds": round(samples[int(len(samples) * 0.99)] / 1e3, 2),
            "roundTrips": len(samples)}


def timed(send, receive, count):
    """The client's loop, one for every mechanism: send, wait for the echo, time it."""
    message, samples = b"x" * SIZE, []
    for i in range(WARMUP + count):
        t0 = time.perf_counter_ns()
        send(message)
        receive()
        if i >= WARMUP:
            samples.append(time.perf_counter_ns() - t0)
    return summary(samples)


def shm_server(request, response, wait, total):
    req = shmring.RecordRing.open(request, wait_for_creation=10)
    res = shmring.RecordRing.open(response, wait_for_creation=10)
    c, p = req.consumer(wait), res.producer(wait)
    for request in c:  # until the client closes: reading the end removes the name
        p.write(request)
    p.close()


def run_shmring(count, wait):
    base = f"pyrt-{os.getpid()}-{wait}"
    req = shmring.RecordRing.create(base + "-req", 1 << 16, SIZE)
    res = shmring.RecordRing.create(base + "-res", 1 << 16, SIZE)
    p, c = req.producer(wait), res.consumer(wait)
    server = mp.Process(target=shm_server, args=(base + "-req", base + "-res", wait, WARMUP + count))
    server.start()
    result = timed(p.write, c.read, count)
    p.close()
    assert c.read() is None
    server.join()
    for handle in (c, req, res):
        handle.free()
    return result


def exchange_server(name, wait, total):
    with shmring.Exchange.open(name, wait_for_creation=10) as ex, ex.server(wait) as server:
        for _ in range(total):
            server.respond(server.receive())


def run_exchange(count, wait):
    name = f"pyrt-{os.getpid()}-exchange-{wait}"
    with shmring.Exchange.create(name, SIZE) as ex:
        server = mp.Process(target=exchange_server, args=(name, wait, WARMUP + count))
        server.start()
        client = ex.client(wait)
        result = timed(client.call, lambda: None, count)
        client.close()
        server.join()
    return result


def pipe_server(conn, total):
    for _ in range(total):
        conn.send_bytes(conn.recv_bytes())


def run_pipe(count):
    a, b = mp.Pipe()
    server = mp.Process(target=pipe_server, args=(b, WARMUP + count))
    server.start()
    result = timed(a.send_bytes, a.recv_bytes, count)
    server.join()
    return result


def zmq_server(address, total):
    import zmq
    s = zmq.Context().socket(zmq.REP)
    s.bind(address)
    for _ in range(total):
        s.send(s.recv())


def run_zmq(count):
    import zmq
    address = f"ipc:///tmp/pyrt-{os.getpid()}.ipc"
    server = mp.Process(target=zmq_server, args=(address, WARMUP + count))
    server.start()
    s = zmq.Context().socket(zmq.REQ)
    s.connect(address)
    result = timed(s.send, s.recv, count)
    server.join()
    s.close()
    Path(address[len("ipc://"):]).unlink(missing_ok=True)
    return result


def fifo_server(requests, responses, total):
    for _ in range(total):
        responses.put(requests.get())


def run_faster_fifo(count):
    from faster_fifo import Queue
    requests, responses = Queue(1 << 16), Queue(1 << 16)
    server = mp.Process(target=fifo_server, args=(requests, responses, WARMUP + count))
    server.start()
    result = timed(requests.put, responses.get, count)
    server.join()
    return result


def iox_ping_pong(name, size):
    """iceoryx2's Python package: a node and the two publish-subscribe services of a ping-pong
    (iceoryx2 0.10's Python binding offers publish-subscribe; two one-way services are what the
    shmring record-ring rows use too). Lossless: no safe overflow."""
    import ctypes
    import iceoryx2 as iox2
    node = iox2.NodeBuilder.new().create(iox2.ServiceType.Ipc)
    services = [node.service_builder(iox2.ServiceName.new(f"{name}/{way}")).publish_subscribe(ctypes.c_uint8 * size)
                .enable_safe_overflow(False).subscriber_max_buffer_size(16).open_or_create() for way in ("ping", "pong")]
    return iox2, node, services, (ctypes.c_uint8 * size)()


def iox_send(publisher, record):
    # send() returned 0 (no subscriber took it) for a few samples in the throughput bench: send again.
    while publisher.loan_uninit().write_payload(record).send() == 0:
        pass


def iox_receive(subscriber):
    while (sample := subscriber.receive()) is None:  # polled, as iceoryx2's examples do
        pass
    del sample


def iox_server(name, total, client_listening, server_ready):
    if not client_listening.wait(30):
        sys.exit("iceoryx2 row: the client did not appear within 30 s")
    iox2, node, (ping, pong), record = iox_ping_pong(name, SIZE)
    subscriber = ping.subscriber_builder().buffer_size(16).create()
    publisher = pong.publisher_builder().backpressure_strategy(iox2.BackpressureStrategy.RetryUntilDelivered).create()
    server_ready.set()
    for _ in range(total):
        iox_receive(subscriber)
        iox_send(publisher, record)
    time.sleep(0.2)  # a subscriber drops what a departed publisher sent and it had not yet taken
    del publisher, subscriber, ping, pong, node


def run_iceoryx2(count):
    """Round trips over two iceoryx2 publish-subscribe services, both sides polling. The server is
    forked before this process touches iceoryx2 (a node inherited across fork hung in the throughput
    bench); each side creates its subscriber before the other creates the publisher feeding it."""
    name = f"ringbench/pyrt/{os.getpid()}/{time.monotonic_ns()}"
    client_listening, server_ready = mp.Event(), mp.Event()
    server = mp.Process(target=iox_server, args=(name, WARMUP + count, client_listening, server_ready))
    server.start()
    iox2, node, (ping, pong), record = iox_ping_pong(name, SIZE)
    subscriber = pong.subscriber_builder().buffer_size(16).create()
    client_listening.set()
    if not server_ready.wait(30):
        server.kill()
        raise RuntimeError("iceoryx2 row: the server did not appear within 30 s")
    publisher = ping.publisher_builder().backpressure_strategy(iox2.BackpressureStrategy.RetryUntilDelivered).create()
    result = timed(lambda _: iox_send(publisher, record), lambda: iox_receive(subscriber), count)
    server.join()
    del publisher, subscriber, ping, pong, node
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000, help="timed round trips per mechanism (after 1000 warm-up)")
    options = parser.parse_args()
    waits = ("spin", "park", "backoff")
    rows = [dict(transport=f"shmring record rings, wait {w}", **run_shmring(options.count, w)) for w in waits]
    rows += [dict(transport=f"shmring exchange, wait {w}", **run_exchange(options.count, w)) for w in waits]
    rows.append(dict(transport="multiprocessing.Pipe", **run_pipe(options.count)))
    if importlib.util.find_spec("zmq"):
        rows.append(dict(transport="pyzmq REQ/REP ipc://", **run_zmq(options.count)))
    if importlib.util.find_spec("faster_fifo"):
        rows.append(dict(transport="faster-fifo Queue (two)", **run_faster_fifo(options.count)))
    if importlib.util.find_spec("iceoryx2"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from throughput import iceoryx2_leftovers, remove_iceoryx2_leftovers
        before = iceoryx2_leftovers()
        try:
            rows.append(dict(transport="iceoryx2 publish-subscribe (two services, polled)", **run_iceoryx2(options.count)))
        finally:
            remove_iceoryx2_leftovers(before)
    print(json.dumps({"command": " ".join(sys.argv), "python": sys.version.split()[0], "messageBytes": SIZE,
                      "rows": rows, "loadavg": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
