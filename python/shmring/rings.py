"""Pythonic classes over the C ABI: RecordRing and SPSCRing, their ends."""
from __future__ import annotations

import array
import contextlib
import ctypes
import itertools
import time
from typing import Callable, Iterator, Optional, Sequence, Union

from ._lib import Options, c_size_p, fast, lib
from .errors import ClosedHandle, TimedOut, check

OK, AGAIN, END, OVERRUN = 0, 1, 2, 3
BACKINGS = {"sysv": 0, "mmap": 1, "anon": 2}
WAITS = {"spin": 0, "yield": 1, "park": 2, "backoff": 3}
Buffer = Union[bytes, bytearray, memoryview]

#: A blocking call waits in slices this long, so that Ctrl-C (KeyboardInterrupt)
#: and other signal handlers run between slices. The GIL is released in each.
WAIT_SLICE_SECONDS = 0.05


def _options(directory: Optional[str], wait_for_creation: float, open_timeout: float, prefault: bool) -> Options:
    o = Options()
    o.struct_size = ctypes.sizeof(Options)
    o.permissions = 0o600
    o.directory = directory.encode() if directory else None
    o.open_timeout_seconds = open_timeout
    o.wait_for_creation_seconds = wait_for_creation
    o.prefault = 1 if prefault else 0
    o.reclaim_stale = 0
    return o


def _blocking(call, timeout: Optional[float]) -> int:
    """Runs `call(slice_seconds)` until it stops timing out or `timeout` passes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = WAIT_SLICE_SECONDS if deadline is None else max(0.0, min(WAIT_SLICE_SECONDS, deadline - time.monotonic()))
        status = call(remaining)
        if status != TimedOut.code or (deadline is not None and time.monotonic() >= deadline):
            return check(status)


def _past_overruns(call, timeout: Optional[float], lost: Callable[[], int], reader) -> int:
    """`_blocking(call, timeout)`, again after each SHMRING_OVERRUN (whose count, `lost()`,
    adds to `reader.lost`): the first other status."""
    while (status := _blocking(call, timeout)) == OVERRUN:
        reader.lost += lost()
    return status


def _call(call, timeout: Optional[float]) -> int:
    """`_blocking` with the common case (one slice suffices) first, cheaply."""
    first = WAIT_SLICE_SECONDS if timeout is None else min(WAIT_SLICE_SECONDS, max(0.0, timeout))
    status = call(first)
    if status == TimedOut.code and (timeout is None or timeout > first):
        return _blocking(call, None if timeout is None else timeout - first)
    return check(status)


def _pointer(data: Buffer) -> tuple[ctypes.c_void_p, int, object]:
    """Address and length of a bytes-like object (kept alive by the third item)."""
    if isinstance(data, bytes):
        return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p), len(data), data
    view = memoryview(data).cast("B")
    if view.readonly:
        copy = bytes(view)
        return ctypes.cast(ctypes.c_char_p(copy), ctypes.c_void_p), len(copy), copy
    holder = (ctypes.c_char * len(view)).from_buffer(view)
    return ctypes.c_void_p(ctypes.addressof(holder)), len(view), holder


def _view(address: Optional[int], length: int, writable: bool = False) -> memoryview:
    """A memoryview of `length` bytes at `address` (inside a ring or segment): read-only unless `writable`."""
    view = memoryview((ctypes.c_char * length).from_address(address or 0)).cast("B")
    return view if writable else view.toreadonly()


def _lend(view: Optional[memoryview], release: Callable[[], object], wrap: Optional[Callable] = None) -> Iterator:
    """The rest of every peek context manager: yields None (no view: the end of the stream) or
    `view` (`wrap(view)` if given); when the block ends, releases the view first (once released,
    the record's bytes may be overwritten), then the record (`release()`, which may raise)."""
    if view is None:
        yield None
        return
    try:
        yield view if wrap is None else wrap(view)
    finally:
        view.release()
        release()


class _Handle:
    """Owns one C handle; `close()`/the context manager free it."""
    _free = None

    def __init__(self, handle: ctypes.c_void_p) -> None:
        self._h = handle

    def _live(self) -> ctypes.c_void_p:
        if not self._h:
            raise ClosedHandle("the handle was freed", ClosedHandle.code)
        return self._h

    def free(self) -> None:
        """Frees the handle (releasing an end keeps the stream open for a successor)."""
        if self._h:
            type(self)._free(self._h)
            self._h = None

    def _claim(self, claim, wait: str, end_type, *args):
        """Claims an end with `claim` (a shmring_*_claim_* function): a new handle of `end_type`."""
        out = ctypes.c_void_p()
        check(claim(self._live(), WAITS[wait], ctypes.byref(out)))
        return end_type(out, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass


class RecordRing(_Handle):
    """A ring of variable-length records between one producer and one consumer process.

    ``with shmring.RecordRing.create("name", 1 << 20, 4096) as ring: ...``
    """
    _free = lib.shmring_record_free

    @classmethod
    def create(cls, name: Optional[str], capacity: int, max_record: int, backing: str = "mmap",
               directory: Optional[str] = None, prefault: bool = True) -> "RecordRing":
        """Creates a ring of `capacity` bytes (a power of two) for records up to `max_record` bytes."""
        out = ctypes.c_void_p()
        check(lib.shmring_record_create(BACKINGS[backing], name.encode() if name else None, capacity, max_record,
                                        ctypes.byref(_options(directory, 0, 5, prefault)), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def open(cls, name: str, backing: str = "mmap", wait_for_creation: float = 0.0,
             directory: Optional[str] = None, open_timeout: float = 5.0) -> "RecordRing":
        """Opens a ring another process created (waiting up to `wait_for_creation` s for it)."""
        out = ctypes.c_void_p()
        check(lib.shmring_record_open(BACKINGS[backing], name.encode(),
                                      ctypes.byref(_options(directory, wait_for_creation, open_timeout, True)), ctypes.byref(out)))
        return cls(out)

    @property
    def capacity(self) -> int:
        c, m = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.shmring_record_capacity(self._live(), ctypes.byref(c), ctypes.byref(m)))
        return c.value

    @property
    def max_record(self) -> int:
        c, m = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.shmring_record_capacity(self._live(), ctypes.byref(c), ctypes.byref(m)))
        return m.value

    def producer(self, wait: str = "park") -> "RecordProducer":
        """Claims the producing end for this process."""
        return self._claim(lib.shmring_record_claim_producer, wait, RecordProducer)

    def consumer(self, wait: str = "park") -> "RecordConsumer":
        """Claims the consuming end for this process."""
        return self._claim(lib.shmring_record_claim_consumer, wait, RecordConsumer, self.max_record)


class RecordProducer(_Handle):
    """The producing end. `close()` ends the stream; leaving the `with` block
    without it releases the end and leaves the stream open."""
    _free = lib.shmring_record_producer_free

    def write(self, data: Buffer, timeout: Optional[float] = None) -> None:
        """Copies one record in and publishes it, waiting for room (GIL released)."""
        h = self._live()
        if type(data) is bytes:
            # The common case: room now, one call, no conversion; through the
            # compiled fast path when it is built (ctypes' call costs more
            # than the record's trip through the ring).
            if (fast.record_try_write(h.value, data) if fast else lib.shmring_record_try_write(h, data, len(data))) == OK:
                return
        address, length, keep = _pointer(data)
        _call(lambda s: lib.shmring_record_write(h, address, length, s), timeout)

    def try_write(self, data: Buffer) -> bool:
        """Writes one record if there is room now."""
        address, length, keep = _pointer(data)
        return check(lib.shmring_record_try_write(self._live(), address, length)) == OK

    def write_many(self, records: Sequence[Buffer], timeout: Optional[float] = None) -> None:
        """Writes every record with one call into the library (and one commit)
        per JOIN_BYTES of records."""
        if not records:
            return
        # Per record only C-level work (join, map(len), array): the Python
        # loop this replaced cost more than the copy into the ring. (Large
        # records written one call each, without the join, ran slower at
        # 64 KiB, 2026-12-06: every call that found the ring full waited for
        # room on its own, a wake-up per record instead of per batch.)
        lengths = array.array("L", map(len, records))  # "L": unsigned long, size_t on LP64 Linux
        deadline = None if timeout is None else time.monotonic() + timeout
        if sum(lengths) <= self.JOIN_BYTES:
            self._write_joined(records, lengths, deadline)
            return
        records = records if isinstance(records, (list, tuple)) else list(records)  # sliced below
        # Large batches in slices of at most JOIN_BYTES (at least one record):
        # the joined copy stays in the caches and the extra memory bounded
        # (256 records of 64 KiB joined whole were 16 MiB, read back from memory).
        first, size = 0, 0
        for i, length in enumerate(lengths):
            if size and size + length > self.JOIN_BYTES:
                self._write_joined(records[first:i], lengths[first:i], deadline)
                first, size = i, 0
            size += length
        self._write_joined(records[first:], lengths[first:], deadline)

    JOIN_BYTES = 1 << 20

    def _write_joined(self, records: Sequence[Buffer], lengths: array.array, deadline: Optional[float]) -> None:
        joined = b"".join(records)
        h, done, offset, count = self._live(), 0, 0, len(records)
        base = ctypes.cast(ctypes.c_char_p(joined), ctypes.c_void_p).value
        lengths_base = lengths.buffer_info()[0]
        written = ctypes.c_size_t()
        while done < count:
            remaining = WAIT_SLICE_SECONDS if deadline is None else max(0.0, min(WAIT_SLICE_SECONDS, deadline - time.monotonic()))
            status = lib.shmring_record_write_many(h, base + offset, lengths_base + done * lengths.itemsize,
                                                   count - done, remaining, ctypes.byref(written))
            if written.value:
                offset += sum(lengths[done:done + written.value])
                done += written.value
            if status == TimedOut.code and (deadline is None or time.monotonic() < deadline):
                continue
            check(status)

    def close(self) -> None:
        """Ends the stream: the consumer reads what was written, then stops."""
        check(lib.shmring_record_producer_close(self._live()))
        self.free()

    def abort(self, signal_number: int = 0) -> None:
        """Ends the stream as failed: the consumer gets ProducerFailed after the data."""
        check(lib.shmring_record_producer_abort(self._live(), signal_number))
        self.free()


class RecordConsumer(_Handle):
    """The consuming end. Iterating yields each record as bytes until the end of the stream."""
    _free = lib.shmring_record_consumer_free

    def __init__(self, handle: ctypes.c_void_p, max_record: int) -> None:
        super().__init__(handle)
        self._buffer = ctypes.create_string_buffer(max(max_record, 1))
        self._max_record = max_record
        self._length = ctypes.c_size_t()
        self._length_ref = ctypes.byref(self._length)
        self._buffer_address = ctypes.addressof(self._buffer)

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next record (a copy), or None at the end of the stream."""
        length = self._length
        h, buf, size = self._live(), self._buffer, len(self._buffer)
        if fast:
            # A record ready now: one compiled call. Otherwise (empty, the
            # end, an error) the calls below wait, or say which.
            record = fast.record_try_read(h.value, self._buffer_address, size)
            if type(record) is bytes:
                return record
        ref = self._length_ref
        if timeout is None and lib.shmring_record_read(h, buf, size, WAIT_SLICE_SECONDS, ref) == OK:
            return buf[:length.value]  # the common case: one call (a first slice that ended otherwise is redone below)
        status = _call(lambda s: lib.shmring_record_read(h, buf, size, s, ref), timeout)
        return None if status == END else buf[:length.value]

    def __iter__(self) -> Iterator[bytes]:
        while (record := self.read()) is not None:
            yield record

    @contextlib.contextmanager
    def peek(self, timeout: Optional[float] = None) -> Iterator[Optional[memoryview]]:
        """Zero copy: yields the next record as a read-only memoryview into the
        ring (None at the end), valid only inside the `with` block; the record
        is released when the block ends. `numpy.frombuffer(view, ...)` wraps it
        without a copy (and must not outlive the block either)."""
        h = self._live()
        # A record ready now: one compiled call gives the view. Otherwise
        # (empty, the end, an error) the blocking call waits, or says which.
        view = fast.record_try_peek(h.value) if fast else None
        if type(view) is not memoryview:
            data, length = ctypes.c_void_p(), ctypes.c_size_t()
            status = _blocking(lambda s: lib.shmring_record_peek(h, s, ctypes.byref(data), ctypes.byref(length)), timeout)
            view = None if status == END else _view(data.value, length.value)
        yield from _lend(view, lambda: check(fast.record_release(h.value) if fast else lib.shmring_record_release(h)))

    def read_many(self, max_count: int = 1024, buffer_size: int = 1 << 20, timeout: Optional[float] = None) -> list[bytes]:
        """Up to `max_count` records (copies) with one call; waits for the first.
        At most about `buffer_size` bytes: no record is started past it (the
        ctypes path: as many as fit in it). Returns [] at the end of the stream."""
        buffer_size = max(buffer_size, self._max_record)
        if fast and max_count >= 1 and self._max_record <= COMPILED_BATCH_MAX_RECORD:
            return self._read_many_compiled(max_count, buffer_size, timeout)
        many = getattr(self, "_many", None)
        if many is None or len(many[0]) < buffer_size or len(many[1]) < max_count:
            # The lengths land in an array of size_t ("L" on LP64 Linux):
            # slicing it is one memcpy, where a ctypes array's slice builds
            # an int object per record.
            many = self._many = (ctypes.create_string_buffer(buffer_size), array.array("L", [0]) * max_count)
        buf, lengths = many
        lengths_address = lengths.buffer_info()[0]
        count = ctypes.c_size_t()
        h = self._live()
        status = _blocking(lambda s: lib.shmring_record_read_many(h, buf, len(buf), lengths_address, max_count, s, ctypes.byref(count)), timeout)
        n = count.value
        if status == END or n == 0:
            return []
        # One copy of the batch, then a slice per record (C-level loops).
        # (Copying each record out of a memoryview of the buffer instead ran
        # at half the rate at 64 KiB, 2026-12-06.)
        sizes = lengths[:n]
        first = sizes[0]
        if sizes.count(first) == n:
            # Records of one length (the common case): no running sum.
            data = buf[:first * n]
            return [data[i:i + first] for i in range(0, first * n, first)] if first else [b""] * n
        ends = list(itertools.accumulate(sizes))
        data = buf[:ends[-1]]
        return [data[end - size:end] for size, end in zip(sizes, ends)]

    def _read_many_compiled(self, max_count: int, max_bytes: int, timeout: Optional[float]) -> list[bytes]:
        """read_many through the compiled fast path: each record copied once,
        from the ring into its bytes object (the ctypes path copies it three
        times; at 64 KiB that was most of its time). Records ready now: one
        call. None ready: the blocking peek waits for the first (GIL
        released), which is copied, and the call then takes what followed it
        and releases them all."""
        h = self._live()
        records = fast.record_try_read_many(h.value, max_count, max_bytes)
        if type(records) is list:
            return records
        data, length = ctypes.c_void_p(), ctypes.c_size_t()
        status = _blocking(lambda s: lib.shmring_record_peek(h, s, ctypes.byref(data), ctypes.byref(length)), timeout)
        if status == END:
            return []
        first = ctypes.string_at(data.value or 0, length.value)
        if max_count == 1 or length.value >= max_bytes:
            check(fast.record_release(h.value))
            return [first]
        rest = fast.record_try_read_many(h.value, max_count - 1, max_bytes - length.value)
        if type(rest) is list:
            rest.insert(0, first)  # released with the rest
            return rest
        # Nothing after the first (AGAIN), or an error found at the next one
        # (it is reported by the next call): release the first alone.
        check(fast.record_release(h.value))
        return [first]

    def abort(self) -> None:
        """Gives the stream up (unreleased records stay for a successor)."""
        check(lib.shmring_record_consumer_abort(self._live()))
        self.free()


# read_many takes the compiled batch path only on rings whose records are at
# most this long. A bytes object per record straight from the ring doubled
# the 64 B batch rate (5.9 -> 10.1 M records/s), but at 64 KiB it ran at 69 k
# against 180 k through ctypes (results/vm-2026-12-07-python-readmany): 16 new
# 64 KiB heap objects a call, freed together, let glibc trim the heap top and
# fault the pages in again at the next call (MALLOC_TRIM_THRESHOLD_ and
# MALLOC_MMAP_THRESHOLD_ raised: 1.8 against 6.5 us a record in one process).
COMPILED_BATCH_MAX_RECORD = 4096


class SPSCRing(_Handle):
    """A ring of fixed-size messages between one producer and one consumer process."""
    _free = lib.shmring_spsc_free

    @classmethod
    def create(cls, name: Optional[str], capacity: int, message_size: int, backing: str = "mmap",
               directory: Optional[str] = None, prefault: bool = True) -> "SPSCRing":
        """Creates a ring of `capacity` slots (a power of two) of `message_size` bytes."""
        out = ctypes.c_void_p()
        check(lib.shmring_spsc_create(BACKINGS[backing], name.encode() if name else None, capacity, message_size,
                                      ctypes.byref(_options(directory, 0, 5, prefault)), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def open(cls, name: str, backing: str = "mmap", wait_for_creation: float = 0.0,
             directory: Optional[str] = None, open_timeout: float = 5.0) -> "SPSCRing":
        """Opens a ring another process created."""
        out = ctypes.c_void_p()
        check(lib.shmring_spsc_open(BACKINGS[backing], name.encode(),
                                    ctypes.byref(_options(directory, wait_for_creation, open_timeout, True)), ctypes.byref(out)))
        return cls(out)

    @property
    def message_size(self) -> int:
        c, m = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.shmring_spsc_capacity(self._live(), ctypes.byref(c), ctypes.byref(m)))
        return m.value

    def producer(self, wait: str = "park") -> "SPSCProducer":
        return self._claim(lib.shmring_spsc_claim_producer, wait, SPSCProducer, self.message_size)

    def consumer(self, wait: str = "park") -> "SPSCConsumer":
        return self._claim(lib.shmring_spsc_claim_consumer, wait, SPSCConsumer, self.message_size)


class SPSCProducer(_Handle):
    """The producing end of an SPSC ring; messages are zero-padded to message_size."""
    _free = lib.shmring_spsc_producer_free

    def __init__(self, handle: ctypes.c_void_p, message_size: int) -> None:
        super().__init__(handle)
        self.message_size = message_size

    def push(self, data: Buffer, timeout: Optional[float] = None) -> None:
        address, length, keep = _pointer(data)
        h = self._live()
        _blocking(lambda s: lib.shmring_spsc_push(h, address, length, s), timeout)

    def push_many(self, data: Buffer, timeout: Optional[float] = None) -> None:
        """Pushes len(data) // message_size messages laid back to back in `data`."""
        address, length, keep = _pointer(data)
        count, h = length // self.message_size, self._live()
        pushed, done = ctypes.c_size_t(), 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while done < count:
            remaining = WAIT_SLICE_SECONDS if deadline is None else max(0.0, min(WAIT_SLICE_SECONDS, deadline - time.monotonic()))
            status = lib.shmring_spsc_push_batch(h, address.value + done * self.message_size, count - done, remaining, ctypes.byref(pushed))
            done += pushed.value
            if status == TimedOut.code and (deadline is None or time.monotonic() < deadline):
                continue
            check(status)

    def close(self) -> None:
        """Ends the stream."""
        check(lib.shmring_spsc_producer_close(self._live()))
        self.free()


class SPSCConsumer(_Handle):
    """The consuming end of an SPSC ring; iterating yields messages until the end."""
    _free = lib.shmring_spsc_consumer_free

    def __init__(self, handle: ctypes.c_void_p, message_size: int) -> None:
        super().__init__(handle)
        self.message_size = message_size
        self._buffer = ctypes.create_string_buffer(message_size)

    def pop(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next message (message_size bytes), or None at the end of the stream."""
        h, buf, size = self._live(), self._buffer, self.message_size
        status = _blocking(lambda s: lib.shmring_spsc_pop(h, buf, size, s), timeout)
        return None if status == END else buf.raw

    def pop_many(self, max_count: int = 1024, timeout: Optional[float] = None) -> Optional[bytes]:
        """Up to `max_count` messages back to back in one bytes object; None at the end."""
        buf = ctypes.create_string_buffer(max_count * self.message_size)
        count, h = ctypes.c_size_t(), self._live()
        status = _blocking(lambda s: lib.shmring_spsc_pop_batch(h, buf, max_count, s, ctypes.byref(count)), timeout)
        return None if status == END else buf.raw[:count.value * self.message_size]

    def __iter__(self) -> Iterator[bytes]:
        while (message := self.pop()) is not None:
            yield message
