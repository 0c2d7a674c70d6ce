"""CONNECT through an HTTP proxy, written here over the request's guarded socket.

http.client can tunnel (set_tunnel), but it sends the CONNECT from a private method,
_tunnel(), which its own connect() calls on a socket it opened itself, outside the
request's deadline. A connection that opens (and guards) its own socket must call
_tunnel() by name, and nothing promises its name, its signature or how it reads the
proxy's answer (Python 3.12 changed that); its refusal is an OSError whose text has to
be parsed for the status; and before 3.12 it writes an IPv6 host without brackets
(`CONNECT 2001:db8::5:443`), which proxies refuse. The exchange itself is small: one
request, a status line and headers back, then nothing from the proxy until TLS starts.
"""

from typing import Any, Optional, Tuple, Union

from .guard import ExchangeFailure
from .urls import bracketed, digits

HEAD_LIMIT = 64 * 1024  # a proxy's answer to CONNECT is a few hundred bytes
_READ_SIZE = 4096


class Refused(ExchangeFailure):
    """The proxy answered CONNECT with a status other than 2xx."""

    def __init__(self, status: int, reason: str):
        super().__init__(status, reason)
        self.status = status
        self.reason = reason


class NotAnAnswer(ExchangeFailure):
    """What the proxy sent is not an HTTP answer to CONNECT."""


def connect_request(host: str, port: int, authorization: Optional[str]) -> bytes:
    """The CONNECT request for host:port (host is checked ASCII, as in the cluster's URL);
    the cluster's token never goes in it, only the proxy's own credentials."""
    authority = f"{bracketed(host)}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", "User-Agent: dcos-node-ssh"]
    if authorization:
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def status_of(line: bytes) -> Tuple[int, str]:
    """(status, reason) of a status line such as `HTTP/1.1 200 Connection established`;
    NotAnAnswer for anything else (an SSH banner, a status that is not three digits)."""
    text = line.decode("latin-1").rstrip("\r\n")
    version, _, rest = text.partition(" ")
    code, _, reason = rest.partition(" ")
    if not (version.startswith("HTTP/") and len(code) == 3 and digits(code) and code[0] != "0"):
        raise NotAnAnswer()
    return int(code), reason.strip()


def head_end(data: Union[bytes, bytearray], start: int = 0) -> int:
    """Where the head in data ends (after its empty line, CRLF or bare LF), or -1 while it
    has not; the search begins at `start`, so reading byte by byte stays linear."""
    index = data.find(b"\n", max(0, start))
    while index != -1:
        after = index + 1
        if data[after:after + 1] == b"\n":
            return after + 1
        if data[after:after + 2] == b"\r\n":
            return after + 2
        index = data.find(b"\n", after)
    return -1


def open_tunnel(sock: Any, host: str, port: int, authorization: Optional[str]) -> None:
    """Ask the proxy at the other end of sock for a tunnel to host:port; return once it is
    open. Refused when the proxy says no (at its status line: the rest is not waited for),
    NotAnAnswer when it does not speak HTTP, closes early or says more than an answer to
    CONNECT holds."""
    sock.sendall(connect_request(host, port, authorization))
    received = bytearray()
    buffer = bytearray(_READ_SIZE)
    status_checked = False
    searched = 0  # where the next search for a line's end begins: each byte is searched once
    while True:
        if not status_checked:
            line_end = received.find(b"\n", searched)
            if line_end == -1:
                searched = len(received)
            else:
                status, reason = status_of(bytes(received[:line_end + 1]))
                if not 200 <= status < 300:
                    raise Refused(status, reason)
                status_checked = True
                searched = line_end
        if status_checked:
            end = head_end(received, searched)
            if end != -1:
                if end < len(received):
                    raise NotAnAnswer()  # the proxy spoke before TLS did: not a tunnel
                return
            searched = max(searched, len(received) - 2)  # a "\n" or "\n\r" at the end may begin the empty line
        if len(received) >= HEAD_LIMIT:
            raise NotAnAnswer()
        size = sock.recv_into(buffer)
        if not size:
            raise NotAnAnswer()
        received += buffer[:size]
