"""shmring: ShmRing's shared-memory rings from Python (ctypes over libshmring.so).

    with shmring.RecordRing.create("prices", 1 << 20, 4096) as ring, ring.producer() as p:
        p.write(b"hello")
        p.close()

Blocking calls release the GIL and wait in short slices, so Ctrl-C interrupts them.
"""
from ._lib import lib
from .errors import *  # noqa: F401,F403  (the exception classes)
from .errors import ShmRingError
from .broadcast import BroadcastConsumer, BroadcastProducer, BroadcastRing
from .exchange import Exchange
from .journal import JournalProducer, JournalRecord, JournalRecordView, JournalTailer
from .queues import MPMCQueue
from .rings import RecordConsumer, RecordProducer, RecordRing, SPSCConsumer, SPSCProducer, SPSCRing

__all__ = ["RecordRing", "RecordProducer", "RecordConsumer", "SPSCRing", "SPSCProducer", "SPSCConsumer",
           "MPMCQueue", "Exchange", "JournalProducer", "JournalTailer", "JournalRecord", "JournalRecordView",
           "BroadcastRing", "BroadcastProducer", "BroadcastConsumer", "ShmRingError", "abi_version", "layout_version"]


def abi_version() -> int:
    """The library's SHMRING_ABI_VERSION (major << 16 | minor)."""
    return lib.shmring_abi_version()


def layout_version() -> int:
    """The region layout version the library reads and writes (docs/layout.md)."""
    return lib.shmring_layout_version()
