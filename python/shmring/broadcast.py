"""BroadcastRing: one producer, any number of consumer processes, each receiving the whole stream."""
from __future__ import annotations

import array
import contextlib
import ctypes
import itertools
from typing import Iterator, Optional

from ._lib import lib
from .errors import Overrun, check
from .rings import BACKINGS, END, OVERRUN, Buffer, _blocking, _Handle, _lend, _options, _past_overruns, _view

POLICIES = {"block": 0, "overwrite": 1, "evict": 2}


class BroadcastRing(_Handle):
    """Variable-length records from one producer to every joined consumer.

    ``policy``: "block" (the producer waits for the slowest live consumer), "overwrite" (it never
    waits; a lapped consumer counts what it lost in ``lost``) or "evict" (block, but drop a consumer
    that kept it waiting ``evict_after`` seconds).
    """
    _free = lib.shmring_broadcast_free

    @classmethod
    def create(cls, name: Optional[str], capacity: int, max_record: int, max_consumers: int = 64, policy: str = "block",
               evict_after: float = 0.0, backing: str = "mmap", directory: Optional[str] = None,
               prefault: bool = True) -> "BroadcastRing":
        out = ctypes.c_void_p()
        check(lib.shmring_broadcast_create(BACKINGS[backing], name.encode() if name else None, capacity, max_record, max_consumers,
                                           POLICIES[policy], evict_after, ctypes.byref(_options(directory, 0, 5, prefault)),
                                           ctypes.byref(out)))
        return cls(out)

    @classmethod
    def open(cls, name: str, backing: str = "mmap", wait_for_creation: float = 0.0,
             directory: Optional[str] = None, open_timeout: float = 5.0) -> "BroadcastRing":
        out = ctypes.c_void_p()
        check(lib.shmring_broadcast_open(BACKINGS[backing], name.encode(),
                                         ctypes.byref(_options(directory, wait_for_creation, open_timeout, True)), ctypes.byref(out)))
        return cls(out)

    @property
    def max_record(self) -> int:
        c, m = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.shmring_broadcast_capacity(self._live(), ctypes.byref(c), ctypes.byref(m)))
        return m.value

    def producer(self, wait: str = "park") -> "BroadcastProducer":
        return self._claim(lib.shmring_broadcast_claim_producer, wait, BroadcastProducer)

    def join(self, from_oldest: bool = False, wait: str = "park") -> "BroadcastConsumer":
        """Joins as a consumer in a free slot, at the oldest intact record or at the next one published."""
        claim = lambda h, w, out: lib.shmring_broadcast_join(h, 1 if from_oldest else 0, w, out)  # noqa: E731
        return self._claim(claim, wait, BroadcastConsumer, self.max_record)


class BroadcastProducer(_Handle):
    _free = lib.shmring_broadcast_producer_free

    def write(self, data: Buffer, timeout: Optional[float] = None) -> None:
        """Publishes one record to every consumer (waits as the ring's policy says)."""
        data = data if type(data) is bytes else bytes(data)
        h = self._live()
        _blocking(lambda s: lib.shmring_broadcast_write(h, data, len(data), s), timeout)

    @contextlib.contextmanager
    def reserve(self, length: int, timeout: Optional[float] = None) -> Iterator[memoryview]:
        """Zero copy: yields a writable memoryview of the next record's `length` bytes inside the
        ring (room taken as `write` takes it: waits as the ring's policy says), valid only inside
        the `with` block, and publishes the record when the block ends. A reservation cannot be
        taken back (the C ABI has no such call): a block left by an exception publishes the record
        too, with whatever the view holds by then, and the exception propagates."""
        h, payload = self._live(), ctypes.c_void_p()
        _blocking(lambda s: lib.shmring_broadcast_reserve(h, length, s, ctypes.byref(payload)), timeout)
        view = _view(payload.value, length, writable=True)
        try:
            yield view
        finally:
            view.release()
            check(lib.shmring_broadcast_commit(h))

    def close(self) -> None:
        """Ends the stream: each consumer reads what was published, then stops."""
        check(lib.shmring_broadcast_producer_close(self._live()))
        self.free()


class BroadcastConsumer(_Handle):
    """One consumer's slot; iterating yields every record until the producer closes.
    Records lost to overwrites are counted in `lost`; an evicted consumer gets `Evicted`."""
    _free = lib.shmring_broadcast_consumer_free

    def __init__(self, handle: ctypes.c_void_p, max_record: int) -> None:
        super().__init__(handle)
        self._buffer = ctypes.create_string_buffer(max(max_record, 1))
        self._length, self._lost = ctypes.c_size_t(), ctypes.c_uint64()
        self.lost = 0

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next record, or None at the end of the stream."""
        h, buf, size = self._live(), self._buffer, len(self._buffer)
        length, lost = ctypes.byref(self._length), ctypes.byref(self._lost)
        status = _past_overruns(lambda s: lib.shmring_broadcast_read(h, buf, size, s, length, lost), timeout,
                                lambda: self._lost.value, self)
        return None if status == END else buf[:self._length.value]

    def read_many(self, max_count: int = 1024, buffer_size: int = 1 << 20, timeout: Optional[float] = None) -> list[bytes]:
        """Up to `max_count` records (copies) with one call, as many as are published and fit
        in about `buffer_size` bytes; waits for the first. Records overwritten before or
        between them add to `lost`. Returns [] at the end of the stream."""
        buffer_size = max(buffer_size, len(self._buffer))
        many = getattr(self, "_many", None)
        if many is None or len(many[0]) < buffer_size or len(many[1]) < max_count:
            many = self._many = (ctypes.create_string_buffer(buffer_size), array.array("L", [0]) * max_count)
        buf, lengths = many
        lengths_address = lengths.buffer_info()[0]
        h, count, lost = self._live(), ctypes.c_size_t(), ctypes.c_uint64()
        while True:
            status = _blocking(lambda s: lib.shmring_broadcast_read_many(h, buf, len(buf), lengths_address, max_count, s,
                                                                         ctypes.byref(count), ctypes.byref(lost)), timeout)
            self.lost += lost.value
            if status != OVERRUN:
                break
        if status == END:
            return []
        ends = list(itertools.accumulate(lengths[:count.value]))
        data = buf[:ends[-1]]
        return [data[end - size:end] for size, end in zip(lengths[:count.value], ends)]

    @contextlib.contextmanager
    def peek(self, timeout: Optional[float] = None) -> Iterator[Optional[memoryview]]:
        """Zero copy: yields the next record as a read-only memoryview into the ring (None at the
        end of the stream), valid only inside the `with` block, and releases it when the block
        ends. Under "overwrite" the producer never waits: it may write over the record while the
        block reads it, which the check at the end of the block finds: it raises `Overrun` (its
        `lost` also added to `lost`), and everything taken from the view must be discarded. Only a
        block that ends without `Overrun` read the record itself. Records overwritten before the
        peek add to `lost` and the peek goes on to the oldest intact one."""
        h, data, length, lost = self._live(), ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_uint64()
        status = _past_overruns(lambda s: lib.shmring_broadcast_peek(h, s, ctypes.byref(data), ctypes.byref(length),
                                                                     ctypes.byref(lost)), timeout, lambda: lost.value, self)

        def release() -> None:
            if check(lib.shmring_broadcast_release(h, ctypes.byref(lost))) == OVERRUN:
                self.lost += lost.value
                raise Overrun(lost.value)
        yield from _lend(None if status == END else _view(data.value, length.value), release)

    def __iter__(self) -> Iterator[bytes]:
        while (record := self.read()) is not None:
            yield record


__all__ = ["BroadcastRing", "BroadcastProducer", "BroadcastConsumer"]
