"""Exceptions mirroring ShmError: one class per status code of include/shmring.h."""
from __future__ import annotations

from ._lib import lib


class ShmRingError(Exception):
    """A failed ShmRing call: `code` (negative status), `errno`, `call`, `pid`."""
    code = 0

    def __init__(self, message: str, code: int, errno: int = 0, call: str = "", pid: int = 0) -> None:
        super().__init__(message)
        self.code, self.errno, self.call, self.pid = code, errno, call, pid


def _make(name: str, code: int, doc: str) -> type:
    return type(name, (ShmRingError,), {"code": code, "__doc__": doc})


SystemCallError = _make("SystemCallError", -1, "A system call failed (see errno and call).")
NoSuchRegion = _make("NoSuchRegion", -2, "Nothing by this name.")
PermissionDenied = _make("PermissionDenied", -3, "The region exists but may not be opened.")
NotARing = _make("NotARing", -4, "The object is not a ShmRing region.")
IncompatibleVersion = _make("IncompatibleVersion", -5, "The region's layout version is not this library's.")
SizeMismatch = _make("SizeMismatch", -6, "The mapping's size differs from its header's.")
CorruptedHeader = _make("CorruptedHeader", -7, "A header field is out of range or its checksum is wrong.")
WrongStructure = _make("WrongStructure", -8, "The region holds another kind of structure.")
NotReady = _make("NotReady", -9, "The creator did not publish the region in time.")
SemaphoresNotReady = _make("SemaphoresNotReady", -10, "A semaphore set was never initialised.")
CorruptRing = _make("CorruptRing", -11, "An index or length in shared memory is impossible.")
InvalidArgument = _make("InvalidArgument", -12, "A caller-supplied argument is invalid.")
TimedOut = _make("TimedOut", -13, "A blocking call gave up.")
AlreadyExists = _make("AlreadyExists", -14, "The name is taken.")
UntrustedOwner = _make("UntrustedOwner", -15, "The object belongs to an untrusted uid.")
UnsafePermissions = _make("UnsafePermissions", -16, "Group or others may write the object.")
OutOfSpace = _make("OutOfSpace", -17, "The file system has no room for the region.")
SemaphoresRemoved = _make("SemaphoresRemoved", -18, "The semaphore set was removed while in use.")
EndpointTaken = _make("EndpointTaken", -19, "Another live process holds this end (pid).")
PeerDied = _make("PeerDied", -20, "The other end died without closing (pid).")
ForkedHandle = _make("ForkedHandle", -21, "A handle inherited across fork.")
ProducerFailed = _make("ProducerFailed", -22, "The record ring's producer aborted the stream.")
StreamConsumed = _make("StreamConsumed", -23, "Another consumer already read the stream to its end.")
ClosedHandle = _make("ClosedHandle", -24, "The handle's end was closed.")
Evicted = _make("Evicted", -25, "A broadcast ring under evict dropped this consumer; join again.")

_BY_CODE = {cls.code: cls for cls in ShmRingError.__subclasses__()}


class Overrun(ShmRingError):
    """A zero-copy read whose record the producer overwrote while it was read (a broadcast
    ring under "overwrite", found when the read ended): discard everything taken from it.
    `lost` records are gone, that one included; the consumer continues at the oldest intact one.
    Not an error status: SHMRING_OVERRUN (3) of shmring_broadcast_release."""
    code = 3

    def __init__(self, lost: int) -> None:
        super().__init__(f"the record read in place was overwritten meanwhile: discard it ({lost} records lost)", self.code)
        self.lost = lost


def last_error(status: int) -> ShmRingError:
    """The exception for a failed call's status, from the thread's last error."""
    cls = _BY_CODE.get(status, ShmRingError)
    return cls(lib.shmring_last_error_message().decode(errors="replace"), status,
               lib.shmring_last_error_errno(), lib.shmring_last_error_call().decode(errors="replace"),
               lib.shmring_last_error_pid())


def check(status: int) -> int:
    """Raises for a negative status; returns the others (OK, AGAIN, END)."""
    if status < 0:
        raise last_error(status)
    return status
