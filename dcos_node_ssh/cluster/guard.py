"""One request's limits, enforced on the socket: a deadline that connecting, a proxy's
CONNECT, the TLS handshake, sending and every byte of the answer share, and a cap on
the bytes read.

Everything above the socket (http.client's parsing of status lines, headers, chunks
and 100 Continue; the CONNECT of tunnel.py) reads and writes through `Guarded`, so no
framing and no slow or endless answer gets past either limit, whatever it parses.
"""

import io
import socket
import time
from typing import Any, Optional


class ExchangeFailure(Exception):
    """A failure of the exchange that the socket and http.client do not describe (or
    describe too vaguely); transport.py says what it means to the user."""


class TooLarge(ExchangeFailure):
    """More bytes came than the request allows."""


class Limits:
    """One request's deadline and the bytes it may still receive."""

    def __init__(self, seconds: float, budget: int):
        self.deadline = time.monotonic() + seconds
        self.budget = budget
        self.received = 0

    def left(self) -> float:
        """The seconds left; socket.timeout once there are none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        return left

    def count(self, size: int) -> None:
        self.received += size
        if self.received > self.budget:
            raise TooLarge()


class Guarded:
    """A connected socket (plain or TLS) as http.client uses it, under a request's limits:
    before each read or write its timeout becomes the time left, and every byte read is
    counted. http.client reads through makefile("rb"), so its reads come here too."""

    def __init__(self, sock: Any, limits: Limits):
        self._sock = sock
        self._limits = limits
        self._files = 0
        self._closed = False

    def makefile(self, mode: str = "rb", buffering: Optional[int] = None, **_ignored: Any) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError("only binary reading is supported")
        self._files += 1
        return io.BufferedReader(_Reader(self))

    def recv_into(self, buffer: Any) -> int:
        self._sock.settimeout(self._limits.left())
        size: int = self._sock.recv_into(buffer)
        self._limits.count(size)
        return size

    def sendall(self, data: Any) -> None:
        # send() in a loop, not sendall(): an SSL socket's sendall gives each send the whole timeout.
        view = memoryview(data).cast("B")
        while view:
            self._sock.settimeout(self._limits.left())
            sent = self._sock.send(view)
            view = view[sent:]

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def close(self) -> None:
        # As a socket does: the descriptor stays open while a file made from it is (http.client
        # closes the connection and keeps reading the answer through the response's file).
        self._closed = True
        self._release()

    def file_closed(self) -> None:
        self._files -= 1
        self._release()

    def _release(self) -> None:
        if self._closed and self._files <= 0:
            self._sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, guarded: Guarded):
        super().__init__()
        self._guarded = guarded

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._guarded.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._guarded.file_closed()
