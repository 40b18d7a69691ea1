"""Journal: a persistent log in a directory of segment files; one producer, any number of tailers."""
from __future__ import annotations

import contextlib
import ctypes
from typing import Iterator, NamedTuple, Optional, Union

from ._lib import lib
from .errors import check
from .rings import END, OVERRUN, WAITS, Buffer, _blocking, _Handle, _lend, _past_overruns, _view

DURABILITIES = {"process-crash": 0, "interval": 1, "every-commit": 2}


class JournalOptions(ctypes.Structure):
    """struct shmring_journal_options (include/shmring.h)."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("durability", ctypes.c_int),
        ("segment_size", ctypes.c_uint64),
        ("interval_milliseconds", ctypes.c_int32),
        ("retention_max_bytes", ctypes.c_uint64),
        ("retention_max_age_seconds", ctypes.c_double),
    ]


class JournalRecordInfo(ctypes.Structure):
    """struct shmring_journal_record (include/shmring.h)."""
    _fields_ = [("sequence", ctypes.c_uint64), ("timestamp", ctypes.c_uint64), ("length", ctypes.c_size_t), ("lost", ctypes.c_uint64)]


class JournalRecord(NamedTuple):
    sequence: int
    timestamp_ns: int
    payload: bytes


class JournalRecordView(NamedTuple):
    """A record lent in place by `JournalTailer.peek`: `payload` is a read-only view into the segment."""
    sequence: int
    timestamp_ns: int
    payload: memoryview


class JournalProducer(_Handle):
    """The journal's one producer: `write` records, `commit` them as a batch (or `append` one),
    `close()` to end the stream (a later producer continues the sequence)."""
    _free = lib.shmring_journal_producer_free

    @classmethod
    def open(cls, directory: str, segment_size: int = 64 << 20, durability: str = "process-crash",
             interval_ms: int = 0, retention_bytes: int = 0, retention_seconds: float = 0.0) -> "JournalProducer":
        """Opens (creating if needed) the journal in `directory` and claims its producer role."""
        o = JournalOptions(ctypes.sizeof(JournalOptions), DURABILITIES[durability], segment_size, interval_ms,
                           retention_bytes, retention_seconds)
        out = ctypes.c_void_p()
        check(lib.shmring_journal_open_producer(directory.encode(), ctypes.byref(o), ctypes.byref(out)))
        return cls(out)

    def write(self, data: Buffer) -> None:
        """Copies one record in; visible to tailers at the next `commit`."""
        data = data if type(data) is bytes else bytes(data)
        check(lib.shmring_journal_write(self._live(), data, len(data)))

    @contextlib.contextmanager
    def reserve(self, length: int) -> Iterator[memoryview]:
        """Zero copy `write`: yields a writable memoryview of the next record's `length` bytes in the
        segment, valid only inside the `with` block; the record is part of the next `commit`'s batch
        (as with `write`), its checksum computed over what the view held when the block ended. A
        reservation cannot be taken back (the C ABI has no such call): a block left by an exception
        leaves the record in the batch with whatever the view holds by then, and the exception
        propagates."""
        payload = ctypes.c_void_p()
        check(lib.shmring_journal_reserve(self._live(), length, ctypes.byref(payload)))
        view = _view(payload.value, length, writable=True)
        try:
            yield view
        finally:
            view.release()

    def commit(self) -> None:
        """Publishes every record written or reserved since the last commit, as one batch."""
        check(lib.shmring_journal_commit(self._live()))

    def append(self, data: Buffer) -> None:
        """`write` and `commit` one record."""
        self.write(data)
        self.commit()

    @property
    def next_sequence(self) -> int:
        n = ctypes.c_uint64()
        check(lib.shmring_journal_next_sequence(self._live(), ctypes.byref(n)))
        return n.value

    def close(self) -> None:
        """Commits and ends the stream: tailers that read everything stop."""
        check(lib.shmring_journal_producer_close(self._live()))
        self.free()


class JournalTailer(_Handle):
    """A reader: replays from `start` ("oldest", "latest", a sequence number), then follows the tail.
    Iterating yields JournalRecord until the producer closes; records deleted by retention
    before they were read are counted in `lost`."""
    _free = lib.shmring_journal_tailer_free

    def __init__(self, handle: ctypes.c_void_p, max_record: int) -> None:
        super().__init__(handle)
        self._buffer = ctypes.create_string_buffer(max_record)
        self._info = JournalRecordInfo()
        self.lost = 0

    @classmethod
    def open(cls, directory: str, start: Union[str, int] = "oldest", wait: str = "park", verify_checksums: bool = True,
             max_record: int = 1 << 20) -> "JournalTailer":
        kind, value = ({"oldest": 0, "latest": 1}[start], 0) if isinstance(start, str) else (2, start)
        out = ctypes.c_void_p()
        check(lib.shmring_journal_open_tailer(directory.encode(), kind, value, WAITS[wait], 1 if verify_checksums else 0,
                                              ctypes.byref(out)))
        return cls(out, max_record)

    def read(self, timeout: Optional[float] = None) -> Optional[JournalRecord]:
        """The next record, or None at the end of the stream (an overrun adds to `lost` and reads on)."""
        h, buf, size, info = self._live(), self._buffer, len(self._buffer), self._info
        status = _past_overruns(lambda s: lib.shmring_journal_read(h, buf, size, s, ctypes.byref(info)), timeout,
                                lambda: info.lost, self)
        return None if status == END else JournalRecord(info.sequence, info.timestamp, buf[:info.length])

    @contextlib.contextmanager
    def peek(self, timeout: Optional[float] = None) -> Iterator[Optional[JournalRecordView]]:
        """Zero copy: yields the next record with its payload as a read-only memoryview into the
        segment (None at the end of the stream), valid only inside the `with` block. A committed
        record never changes, and the segment stays mapped until the block ends even if retention
        deletes its file meanwhile. An overrun adds to `lost` and peeks on."""
        h, data, info = self._live(), ctypes.c_void_p(), self._info
        status = _past_overruns(lambda s: lib.shmring_journal_peek(h, s, ctypes.byref(data), ctypes.byref(info)), timeout,
                                lambda: info.lost, self)
        yield from _lend(None if status == END else _view(data.value, info.length), lambda: check(lib.shmring_journal_release(h)),
                         lambda view: JournalRecordView(info.sequence, info.timestamp, view))

    def read_many(self, max_count: int = 1024, buffer_size: int = 1 << 20,
                  timeout: Optional[float] = None) -> list[JournalRecord]:
        """Up to `max_count` records with one call: what the segment being read has committed
        and fits in about `buffer_size` bytes; waits for the first (an overrun adds to `lost`
        and reads on). Returns [] at the end of the stream."""
        buffer_size = max(buffer_size, len(self._buffer))
        many = getattr(self, "_many", None)
        if many is None or len(many[0]) < buffer_size or len(many[1]) < max_count:
            many = self._many = (ctypes.create_string_buffer(buffer_size), (JournalRecordInfo * max_count)())
        buf, infos = many
        h, count = self._live(), ctypes.c_size_t()
        while True:
            status = _blocking(lambda s: lib.shmring_journal_read_many(h, buf, len(buf), infos, max_count, s,
                                                                       ctypes.byref(count)), timeout)
            if status != OVERRUN:
                break
            self.lost += infos[0].lost
        if status == END:
            return []
        taken = infos[:count.value]
        records, at = [], 0
        data = buf[:sum(info.length for info in taken)]  # one copy of the batch, then a slice per record
        for info in taken:
            records.append(JournalRecord(info.sequence, info.timestamp, data[at:at + info.length]))
            at += info.length
        return records

    def __iter__(self) -> Iterator[JournalRecord]:
        while (record := self.read()) is not None:
            yield record


__all__ = ["JournalProducer", "JournalTailer", "JournalRecord", "JournalRecordView"]
