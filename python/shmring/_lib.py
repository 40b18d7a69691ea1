"""Loads libshmring.so and declares the C signatures used by the package."""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)


class Options(ctypes.Structure):
    """struct shmring_options (include/shmring.h)."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("permissions", ctypes.c_uint32),
        ("directory", ctypes.c_char_p),
        ("open_timeout_seconds", ctypes.c_double),
        ("wait_for_creation_seconds", ctypes.c_double),
        ("prefault", ctypes.c_int32),
        ("reclaim_stale", ctypes.c_int32),
    ]


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    found = []
    if os.environ.get("SHMRING_LIBRARY"):
        found.append(Path(os.environ["SHMRING_LIBRARY"]))
    found.append(here / "libshmring.so")
    found.append(here.parent.parent / ".build-cabi" / "release" / "libshmring.so")
    return found


def _load() -> ctypes.CDLL:
    for path in _candidates():
        if path.is_file():
            # CDLL (not PyDLL): every call releases the GIL.
            return ctypes.CDLL(str(path))
    raise OSError("libshmring.so not found: run `make python-package` in the ShmRing repository, "
                  "or set SHMRING_LIBRARY to its path")


lib = _load()

#: The SHMRING_ABI_VERSION this package was written against (include/shmring.h):
#: the library's major part must be the same and its minor at least this one's.
ABI_VERSION = (1 << 16) | 4
lib.shmring_abi_version.restype = ctypes.c_uint32
if lib.shmring_abi_version() >> 16 != ABI_VERSION >> 16 or lib.shmring_abi_version() < ABI_VERSION:
    raise OSError(f"libshmring.so has ABI version {lib.shmring_abi_version() >> 16}.{lib.shmring_abi_version() & 0xFFFF}; "
                  f"this package needs {ABI_VERSION >> 16}.{ABI_VERSION & 0xFFFF} or a later minor: rebuild it (make python-package)")

_I, _P, _S, _D = ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_double
_OPT = ctypes.POINTER(Options)
_U64P = ctypes.POINTER(ctypes.c_uint64)
_SIGNATURES = {
    "shmring_abi_version": (ctypes.c_uint32, []),
    "shmring_layout_version": (ctypes.c_uint32, []),
    "shmring_status_name": (ctypes.c_char_p, [_I]),
    "shmring_last_error_code": (_I, []),
    "shmring_last_error_message": (ctypes.c_char_p, []),
    "shmring_last_error_errno": (_I, []),
    "shmring_last_error_call": (ctypes.c_char_p, []),
    "shmring_last_error_pid": (ctypes.c_int32, []),
    "shmring_remove": (_I, [_I, ctypes.c_char_p, _OPT]),
    "shmring_spsc_create": (_I, [_I, ctypes.c_char_p, _S, _S, _OPT, c_void_pp]),
    "shmring_spsc_open": (_I, [_I, ctypes.c_char_p, _OPT, c_void_pp]),
    "shmring_spsc_capacity": (_I, [_P, c_size_p, c_size_p]),
    "shmring_spsc_free": (None, [_P]),
    "shmring_spsc_claim_producer": (_I, [_P, _I, c_void_pp]),
    "shmring_spsc_claim_consumer": (_I, [_P, _I, c_void_pp]),
    "shmring_spsc_try_push": (_I, [_P, _P, _S]),
    "shmring_spsc_push": (_I, [_P, _P, _S, _D]),
    "shmring_spsc_push_batch": (_I, [_P, _P, _S, _D, c_size_p]),
    "shmring_spsc_producer_close": (_I, [_P]),
    "shmring_spsc_producer_free": (None, [_P]),
    "shmring_spsc_try_pop": (_I, [_P, _P, _S]),
    "shmring_spsc_pop": (_I, [_P, _P, _S, _D]),
    "shmring_spsc_pop_batch": (_I, [_P, _P, _S, _D, c_size_p]),
    "shmring_spsc_consumer_free": (None, [_P]),
    "shmring_record_create": (_I, [_I, ctypes.c_char_p, _S, _S, _OPT, c_void_pp]),
    "shmring_record_open": (_I, [_I, ctypes.c_char_p, _OPT, c_void_pp]),
    "shmring_record_capacity": (_I, [_P, c_size_p, c_size_p]),
    "shmring_record_free": (None, [_P]),
    "shmring_record_claim_producer": (_I, [_P, _I, c_void_pp]),
    "shmring_record_claim_consumer": (_I, [_P, _I, c_void_pp]),
    "shmring_record_try_write": (_I, [_P, _P, _S]),
    "shmring_record_try_read": (_I, [_P, _P, _S, c_size_p]),
    "shmring_record_write": (_I, [_P, _P, _S, _D]),
    "shmring_record_write_many": (_I, [_P, _P, _P, _S, _D, c_size_p]),  # lengths: an address (array of size_t)
    "shmring_record_producer_close": (_I, [_P]),
    "shmring_record_producer_abort": (_I, [_P, ctypes.c_int32]),
    "shmring_record_producer_free": (None, [_P]),
    "shmring_record_try_peek": (_I, [_P, c_void_pp, c_size_p]),
    "shmring_record_peek": (_I, [_P, _D, c_void_pp, c_size_p]),
    "shmring_record_release": (_I, [_P]),
    "shmring_record_read": (_I, [_P, _P, _S, _D, c_size_p]),
    "shmring_record_read_many": (_I, [_P, _P, _S, _P, _S, _D, c_size_p]),  # lengths: an address (array of size_t)
    "shmring_record_consumer_abort": (_I, [_P]),
    "shmring_record_consumer_free": (None, [_P]),
    "shmring_mpmc_create": (_I, [_I, _I, ctypes.c_char_p, _S, _S, _OPT, c_void_pp]),
    "shmring_mpmc_open": (_I, [_I, _I, ctypes.c_char_p, _OPT, c_void_pp]),
    "shmring_mpmc_capacity": (_I, [_P, c_size_p, c_size_p]),
    "shmring_mpmc_try_push": (_I, [_P, _P, _S]),
    "shmring_mpmc_push": (_I, [_P, _P, _S, _D]),
    "shmring_mpmc_try_pop": (_I, [_P, _P, _S]),
    "shmring_mpmc_pop": (_I, [_P, _P, _S, _D]),
    "shmring_mpmc_try_push_batch": (_I, [_P, _P, _S, c_size_p]),
    "shmring_mpmc_push_batch": (_I, [_P, _P, _S, _D]),
    "shmring_mpmc_try_pop_batch": (_I, [_P, _P, _S, c_size_p]),
    "shmring_mpmc_pop_batch": (_I, [_P, _P, _S, _D, c_size_p]),
    "shmring_mpmc_remove_name": (_I, [_P]),
    "shmring_mpmc_free": (None, [_P]),
    "shmring_exchange_create": (_I, [_I, ctypes.c_char_p, _S, _I, _OPT, c_void_pp]),
    "shmring_exchange_open": (_I, [_I, ctypes.c_char_p, _OPT, c_void_pp]),
    "shmring_exchange_max_message": (_I, [_P, c_size_p]),
    "shmring_exchange_free": (None, [_P]),
    "shmring_exchange_claim_client": (_I, [_P, _I, c_void_pp]),
    "shmring_exchange_claim_server": (_I, [_P, _I, c_void_pp]),
    "shmring_exchange_call": (_I, [_P, _P, _S, _P, _S, _D, c_size_p]),
    "shmring_exchange_client_close": (_I, [_P]),
    "shmring_exchange_client_free": (None, [_P]),
    "shmring_exchange_receive": (_I, [_P, _P, _S, _D, c_size_p]),
    "shmring_exchange_respond": (_I, [_P, _P, _S]),
    "shmring_exchange_server_free": (None, [_P]),
    "shmring_journal_open_producer": (_I, [ctypes.c_char_p, _P, c_void_pp]),
    "shmring_journal_write": (_I, [_P, _P, _S]),
    "shmring_journal_reserve": (_I, [_P, _S, c_void_pp]),
    "shmring_journal_commit": (_I, [_P]),
    "shmring_journal_next_sequence": (_I, [_P, ctypes.POINTER(ctypes.c_uint64)]),
    "shmring_journal_producer_close": (_I, [_P]),
    "shmring_journal_producer_free": (None, [_P]),
    "shmring_journal_open_tailer": (_I, [ctypes.c_char_p, _I, ctypes.c_uint64, _I, _I, c_void_pp]),
    "shmring_journal_read": (_I, [_P, _P, _S, _D, _P]),
    "shmring_journal_read_many": (_I, [_P, _P, _S, _P, _S, _D, c_size_p]),  # records: an array of shmring_journal_record
    "shmring_journal_peek": (_I, [_P, _D, c_void_pp, _P]),  # record: a shmring_journal_record
    "shmring_journal_release": (_I, [_P]),
    "shmring_journal_tailer_free": (None, [_P]),
    "shmring_broadcast_create": (_I, [_I, ctypes.c_char_p, _S, _S, _S, _I, _D, _OPT, c_void_pp]),
    "shmring_broadcast_open": (_I, [_I, ctypes.c_char_p, _OPT, c_void_pp]),
    "shmring_broadcast_capacity": (_I, [_P, c_size_p, c_size_p]),
    "shmring_broadcast_free": (None, [_P]),
    "shmring_broadcast_claim_producer": (_I, [_P, _I, c_void_pp]),
    "shmring_broadcast_join": (_I, [_P, _I, _I, c_void_pp]),
    "shmring_broadcast_write": (_I, [_P, _P, _S, _D]),
    "shmring_broadcast_reserve": (_I, [_P, _S, _D, c_void_pp]),
    "shmring_broadcast_commit": (_I, [_P]),
    "shmring_broadcast_producer_close": (_I, [_P]),
    "shmring_broadcast_producer_free": (None, [_P]),
    "shmring_broadcast_read": (_I, [_P, _P, _S, _D, c_size_p, _U64P]),
    "shmring_broadcast_read_many": (_I, [_P, _P, _S, _P, _S, _D, c_size_p, _U64P]),  # lengths: an address
    "shmring_broadcast_peek": (_I, [_P, _D, c_void_pp, c_size_p, _U64P]),
    "shmring_broadcast_release": (_I, [_P, _U64P]),
    "shmring_broadcast_consumer_free": (None, [_P]),
}
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes


def _load_fastpath():
    """The compiled one-record-per-call fast path (`_fastpath.c`), bound to
    this library's entry points; None when it was not built (the package then
    makes every call through ctypes) or SHMRING_NO_FASTPATH is set."""
    if os.environ.get("SHMRING_NO_FASTPATH"):
        return None
    try:
        from . import _fastpath
    except ImportError:
        return None
    address = lambda f: ctypes.cast(f, ctypes.c_void_p).value  # noqa: E731
    try:
        _fastpath.bind(address(lib.shmring_record_try_write), address(lib.shmring_record_try_read),
                       address(lib.shmring_record_try_peek), address(lib.shmring_record_release))
    except TypeError:
        return None  # a module compiled from an older _fastpath.c: ctypes instead
    if not hasattr(_fastpath, "record_try_read_many"):
        return None  # compiled from an older _fastpath.c (before the batch read)
    return _fastpath


fast = _load_fastpath()
