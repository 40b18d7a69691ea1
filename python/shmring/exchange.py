"""Exchange: request/response between one client and one server process."""
from __future__ import annotations

import ctypes
from typing import Callable, Iterator, Optional

from ._lib import lib
from .errors import check
from .rings import BACKINGS, END, OK, WAIT_SLICE_SECONDS, WAITS, Buffer, _call, _Handle, _options


class Exchange(_Handle):
    """One client sends a request and waits for its response; one server answers.

    A request of up to 56 bytes travels in the same cache line as its signal.
    ``with shmring.Exchange.create("rpc", 256) as ex, ex.server() as s: ...``
    """
    _free = lib.shmring_exchange_free

    @classmethod
    def create(cls, name: Optional[str], max_message: int, shared_line: bool = False, backing: str = "mmap",
               directory: Optional[str] = None, prefault: bool = True) -> "Exchange":
        """Creates an exchange for requests and responses of up to `max_message` bytes."""
        out = ctypes.c_void_p()
        check(lib.shmring_exchange_create(BACKINGS[backing], name.encode() if name else None, max_message, 1 if shared_line else 0,
                                          ctypes.byref(_options(directory, 0, 5, prefault)), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def open(cls, name: str, backing: str = "mmap", wait_for_creation: float = 0.0,
             directory: Optional[str] = None, open_timeout: float = 5.0) -> "Exchange":
        """Opens an exchange another process created."""
        out = ctypes.c_void_p()
        check(lib.shmring_exchange_open(BACKINGS[backing], name.encode(),
                                        ctypes.byref(_options(directory, wait_for_creation, open_timeout, True)), ctypes.byref(out)))
        return cls(out)

    @property
    def max_message(self) -> int:
        m = ctypes.c_size_t()
        check(lib.shmring_exchange_max_message(self._live(), ctypes.byref(m)))
        return m.value

    def client(self, wait: str = "park") -> "Client":
        return self._claim(lib.shmring_exchange_claim_client, wait, Client, self.max_message)

    def server(self, wait: str = "park") -> "Server":
        return self._claim(lib.shmring_exchange_claim_server, wait, Server, self.max_message)


class Client(_Handle):
    """The client role. `close()` ends the stream: the server's loop then stops."""
    _free = lib.shmring_exchange_client_free

    def __init__(self, handle: ctypes.c_void_p, max_message: int) -> None:
        super().__init__(handle)
        self._response = ctypes.create_string_buffer(max(max_message, 1))
        self._length = ctypes.c_size_t()
        self._length_ref = ctypes.byref(self._length)

    def call(self, request: Buffer, timeout: Optional[float] = None) -> bytes:
        """Sends `request` and returns the response (waits; the GIL is released)."""
        h, buf, size, ref = self._live(), self._response, len(self._response), self._length_ref
        data = request if type(request) is bytes else bytes(request)
        if timeout is None and lib.shmring_exchange_call(h, data, len(data), buf, size, WAIT_SLICE_SECONDS, ref) == OK:
            return buf[:self._length.value]  # the common case: one call (a slice that timed out is redone below)
        _call(lambda s: lib.shmring_exchange_call(h, data, len(data), buf, size, s, ref), timeout)
        return buf[:self._length.value]

    def close(self) -> None:
        """Ends the stream: the server answers what was sent, then sees the end."""
        check(lib.shmring_exchange_client_close(self._live()))
        self.free()


class Server(_Handle):
    """The server role: `receive()` + `respond()`, or `serve(handler)`, until the client closes."""
    _free = lib.shmring_exchange_server_free

    def __init__(self, handle: ctypes.c_void_p, max_message: int) -> None:
        super().__init__(handle)
        self._request = ctypes.create_string_buffer(max(max_message, 1))
        self._length = ctypes.c_size_t()
        self._length_ref = ctypes.byref(self._length)

    def receive(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next request (a copy), or None once the client closed; answer it with `respond`."""
        h, buf, size, ref = self._live(), self._request, len(self._request), self._length_ref
        if timeout is None and lib.shmring_exchange_receive(h, buf, size, WAIT_SLICE_SECONDS, ref) == OK:
            return buf[:self._length.value]  # the common case: one call
        status = _call(lambda s: lib.shmring_exchange_receive(h, buf, size, s, ref), timeout)
        return None if status == END else buf[:self._length.value]

    def respond(self, response: Buffer) -> None:
        """Answers the request `receive` returned."""
        data = response if type(response) is bytes else bytes(response)
        check(lib.shmring_exchange_respond(self._live(), data, len(data)))

    def __iter__(self) -> Iterator[bytes]:
        """Each request until the client closes; respond to each before the next."""
        while (request := self.receive()) is not None:
            yield request

    def serve(self, handler: Callable[[bytes], Buffer], timeout: Optional[float] = None) -> bool:
        """Answers one request with `handler(request) -> response`; False once the client closed."""
        request = self.receive(timeout)
        if request is None:
            return False
        self.respond(handler(request))
        return True


__all__ = ["Exchange", "Client", "Server"]
