"""MPMCQueue: the two multi-producer multi-consumer queues over the C ABI."""
from __future__ import annotations

import ctypes
import time
from typing import Optional

from ._lib import lib
from .errors import TimedOut, check
from .rings import AGAIN, BACKINGS, WAIT_SLICE_SECONDS, Buffer, _blocking, _Handle, _options, _pointer

#: shmring_mpmc_kind (include/shmring.h).
KINDS = {"semaphore": 0, "lockfree": 1}


class MPMCQueue(_Handle):
    """A queue of fixed-size messages that any number of processes push to and pop from.

    ``kind="lockfree"`` (sequence words, no lock) or ``"semaphore"`` (a SysV semaphore set;
    a holder killed inside the queue is repaired by the next one). Every handle may push
    and pop; there are no ends to claim and no end of stream. Messages shorter than
    ``message_size`` are zero-padded.
    """
    _free = lib.shmring_mpmc_free

    def __init__(self, handle: ctypes.c_void_p) -> None:
        super().__init__(handle)
        c, m = ctypes.c_size_t(), ctypes.c_size_t()
        check(lib.shmring_mpmc_capacity(handle, ctypes.byref(c), ctypes.byref(m)))
        self.capacity, self.message_size = c.value, m.value
        self._buffer = ctypes.create_string_buffer(self.message_size)

    @classmethod
    def create(cls, name: Optional[str], capacity: int, message_size: int, kind: str = "lockfree",
               backing: str = "mmap", directory: Optional[str] = None, prefault: bool = True) -> "MPMCQueue":
        """Creates a queue of `capacity` slots (a power of two) of `message_size` bytes."""
        out = ctypes.c_void_p()
        check(lib.shmring_mpmc_create(KINDS[kind], BACKINGS[backing], name.encode() if name else None, capacity,
                                      message_size, ctypes.byref(_options(directory, 0, 5, prefault)), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def open(cls, name: str, kind: str = "lockfree", backing: str = "mmap", wait_for_creation: float = 0.0,
             directory: Optional[str] = None, open_timeout: float = 5.0) -> "MPMCQueue":
        """Opens a queue another process created (the kind must match)."""
        out = ctypes.c_void_p()
        check(lib.shmring_mpmc_open(KINDS[kind], BACKINGS[backing], name.encode(),
                                    ctypes.byref(_options(directory, wait_for_creation, open_timeout, True)), ctypes.byref(out)))
        return cls(out)

    def push(self, data: Buffer, timeout: Optional[float] = None) -> None:
        """Pushes one message (at most message_size bytes), waiting for room."""
        address, length, keep = _pointer(data)
        h = self._live()
        _blocking(lambda s: lib.shmring_mpmc_push(h, address, length, s), timeout)

    def try_push(self, data: Buffer) -> bool:
        """Pushes one message if there is room now."""
        address, length, keep = _pointer(data)
        return check(lib.shmring_mpmc_try_push(self._live(), address, length)) != AGAIN

    def pop(self, timeout: Optional[float] = None) -> bytes:
        """The next message (message_size bytes), waiting for one; TimedOut after `timeout`."""
        h, buf, size = self._live(), self._buffer, self.message_size
        _blocking(lambda s: lib.shmring_mpmc_pop(h, buf, size, s), timeout)
        return buf.raw

    def try_pop(self) -> Optional[bytes]:
        """The next message if one is ready, else None."""
        status = check(lib.shmring_mpmc_try_pop(self._live(), self._buffer, self.message_size))
        return None if status == AGAIN else self._buffer.raw

    def push_many(self, data: Buffer, timeout: Optional[float] = None) -> None:
        """Pushes len(data) // message_size messages laid back to back in `data` (in batches of
        at most `capacity`, each one call)."""
        address, length, keep = _pointer(data)
        count, h, size = length // self.message_size, self._live(), self.message_size
        deadline = None if timeout is None else time.monotonic() + timeout
        done, pushed = 0, ctypes.c_size_t()
        while done < count:
            status = check(lib.shmring_mpmc_try_push_batch(h, address.value + done * size, min(count - done, self.capacity),
                                                           ctypes.byref(pushed)))
            done += pushed.value
            if status == AGAIN:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimedOut(f"push_many: {done} of {count} messages pushed in {timeout} s", TimedOut.code)
                time.sleep(0)  # let the GIL and signal handlers in; the queue has no room yet

    def pop_many(self, max_count: int = 1024, timeout: Optional[float] = None) -> bytes:
        """Up to `max_count` messages back to back in one bytes object, waiting for at least one."""
        buf = ctypes.create_string_buffer(max_count * self.message_size)
        count, h = ctypes.c_size_t(), self._live()
        _blocking(lambda s: lib.shmring_mpmc_pop_batch(h, buf, max_count, s, ctypes.byref(count)), timeout)
        return buf.raw[:count.value * self.message_size]

    def remove_name(self) -> None:
        """Removes the queue's name now; every handle keeps working."""
        check(lib.shmring_mpmc_remove_name(self._live()))


__all__ = ["MPMCQueue", "KINDS", "WAIT_SLICE_SECONDS"]
