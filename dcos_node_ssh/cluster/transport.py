"""HTTP(S) to the cluster API, on the standard library's http.client.

Each request gets one deadline (connecting, a proxy's CONNECT, the TLS handshake,
sending, the status line, the headers and the body all share it) and one cap on what
it reads, both enforced on the socket under http.client (guard.py). Proxies come from
the environment as curl and requests read them (proxies.py); https goes through them
with a CONNECT of our own (tunnel.py). Every failure becomes a ClusterError (or a
ConfigError, before anything is sent) whose words are in failures.py; this module only
decides which failure it was, from the error and the phase it interrupted.

ssl is imported only for https URLs (http.client itself imports it when present,
so this saves nothing today, but costs nothing either).
"""

import enum
import http.client
import socket
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional, TextIO, Tuple, Union

from ..errors import ClusterError, ConfigError, shown
from .failures import Failure, Request, explain, proxy_refusal, status_failure
from .guard import ExchangeFailure, Guarded, Limits, TooLarge
from .proxies import proxy_for
from .tunnel import Refused, open_tunnel
from .urls import digits, split_base, visible_ascii

MAX_BODY = 1 << 30
# What the socket may carry on top of the body: status line, headers, chunk sizes,
# trailers. (A body within the cap but cut into so many tiny chunks that their framing
# passes 1 MiB is refused too; no real server sends that.)
_FRAMING = 1 << 20
_READ_SIZE = 64 * 1024


class Answer(NamedTuple):
    body: bytes
    content_type: str  # the Content-Type header, or "unknown content"


class Phase(enum.Enum):
    """What a failure interrupted."""

    CONNECT = "connect"  # to the cluster, or to the proxy
    TUNNEL = "tunnel"  # the proxy's CONNECT
    TLS = "tls"
    SEND = "send"
    ANSWER = "answer"  # the status line and the headers
    BODY = "body"


class _CutOff(ExchangeFailure):
    """The answer ended before the length it announced."""

    def __init__(self, received: int):
        super().__init__(received)
        self.received = received


class _BadLength(ExchangeFailure):
    """A Content-Length that is not a plain decimal number."""


class _TlsFailure(ExchangeFailure):
    def __init__(self, unverified: bool, detail: str):
        super().__init__(detail)
        self.unverified = unverified
        self.detail = detail


class _Tunnel(NamedTuple):
    host: str
    port: int
    authorization: Optional[str]


class _Connection(http.client.HTTPConnection):
    """One request's connection, to the cluster or to a proxy (tunnelling with CONNECT for
    https), with TLS done here so that the handshake is under the deadline too. It opens
    its own socket (connect() is the documented place to do so, as HTTPSConnection does);
    http.client then writes the request and reads the answer through the guard."""

    def __init__(self, host: str, port: int, limits: Limits, tls: Any = None, tls_host: str = "",
                 tunnel: Optional[_Tunnel] = None):
        super().__init__(host, port)
        self.limits = limits
        self.phase = Phase.CONNECT
        self.body_received = 0
        self._tls = tls
        self._tls_host = tls_host
        self._tunnel_to = tunnel
        self._sockets: list[Any] = []

    def connect(self) -> None:
        self.phase = Phase.CONNECT
        raw = self._open()
        self.sock = Guarded(raw, self.limits)
        if self._tunnel_to is not None:
            self.phase = Phase.TUNNEL
            open_tunnel(self.sock, *self._tunnel_to)
        if self._tls is not None:
            self.phase = Phase.TLS
            self._start_tls(raw)
        self.phase = Phase.SEND

    def _open(self) -> socket.socket:
        """A TCP connection to the first address of the host that accepts one, in the time left.
        (The name lookup itself cannot be given a timeout.)"""
        failure: Optional[OSError] = None
        # The host is ASCII (checked with the URL): as bytes, getaddrinfo skips the IDNA codec
        # and the import of encodings.idna, a few milliseconds before every ssh session.
        host = self.host.encode("ascii")
        for family, kind, protocol, _, address in socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, protocol)
            self._sockets.append(sock)
            try:
                sock.settimeout(self.limits.left())
                sock.connect(address)
                return sock
            except socket.timeout:
                raise
            except OSError as error:
                sock.close()
                failure = error
        raise failure or OSError(f"no address found for {self.host}")

    def _start_tls(self, raw: socket.socket) -> None:
        import ssl

        raw.settimeout(self.limits.left())  # the handshake keeps to one timeout in all
        try:
            secure = self._tls.wrap_socket(raw, server_hostname=self._tls_host)
        except ssl.SSLCertVerificationError as error:
            raise _TlsFailure(True, error.verify_message or str(error)) from None
        except ssl.SSLError as error:
            raise _TlsFailure(False, error.reason or str(error)) from None
        self._sockets.append(secure)
        self.sock = Guarded(secure, self.limits)

    def release(self) -> None:
        self.close()
        for sock in self._sockets:
            sock.close()


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def classify(error: BaseException, phase: Phase, proxied: bool, body_received: int) -> Tuple[Failure, str]:
    """(which failure, its detail) for an error that interrupted `phase`."""
    timed_out = isinstance(error, socket.timeout)
    if proxied and phase in (Phase.CONNECT, Phase.TUNNEL):
        if timed_out:
            return Failure.PROXY_TIMEOUT, ""
        if phase is Phase.TUNNEL:
            return Failure.PROXY_NOT_CONNECT, ""
        return Failure.PROXY_UNREACHABLE, _reason(error)
    if isinstance(error, TooLarge):
        # Before the body, the bytes went into a head without end: not HTTP.
        return (Failure.TOO_LARGE, "") if phase is Phase.BODY else (Failure.NOT_HTTP, "")
    if isinstance(error, _CutOff):
        return Failure.CUT_OFF, str(error.received)
    if phase is Phase.BODY and isinstance(error, OSError) and not timed_out:
        return Failure.CUT_OFF, str(body_received)
    if isinstance(error, _BadLength):
        return Failure.BAD_LENGTH, str(error)
    if isinstance(error, _TlsFailure):
        return (Failure.TLS_UNVERIFIED if error.unverified else Failure.TLS_FAILED), error.detail
    if timed_out:
        return Failure.TIMEOUT, ""
    if isinstance(error, http.client.HTTPException):
        return Failure.NOT_HTTP, ""
    return Failure.UNREACHABLE, _reason(error)


# -- the client ----------------------------------------------------------------------


class HttpClient:
    """One base URL (core.dcos_url, or core.mesos_master_url) and how to talk to it.

    Safe to share between threads: each request has its own connection.
    """

    def __init__(self, base_url: str, *, token: Optional[str] = None, ssl_verify: Union[bool, str] = True,
                 timeout: float = 5.0, setting: str = "core.dcos_url", env: Mapping[str, str] = {},
                 debug: Optional[TextIO] = None, max_body: int = MAX_BODY, unauthenticated: str = ""):
        self.setting = setting
        self.unauthenticated = unauthenticated  # more to say on HTTP 401, when a token was withheld
        self.timeout = timeout
        self.ssl_verify = ssl_verify
        self.debug = debug  # where to describe each request (DCOS_DEBUG); never the token
        self.max_body = max_body
        self._base = split_base(base_url, setting)
        self.base_url = self._base.display
        if token and not visible_ascii(token):
            # Never shown: it is a credential. CR or LF would end the header and start another.
            raise ConfigError(
                f"The access token for {self.base_url} holds characters that cannot be sent in an HTTP "
                "header (spaces, line breaks, control or non-ASCII characters), so it is not sent. Log in "
                "again with `dcos auth login`."
            )
        self._token = token or None
        self.proxy = proxy_for(self._base.scheme, self._base.host, self._base.port, env)
        # Loading the CA store takes milliseconds: once per client, not once per request.
        self._context = self._tls_context() if self._base.scheme == "https" else None

    def url(self, path: str) -> str:
        """The URL of a path, for display (without credentials)."""
        return self.base_url + path

    def _tls_context(self) -> Any:
        import ssl

        if self.ssl_verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if self.ssl_verify is True:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cafile=self.ssl_verify)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(
                f"core.ssl_verify names the CA bundle {self.ssl_verify}, which cannot be used "
                f"({getattr(error, 'strerror', None) or error}). Set core.ssl_verify to the path "
                "of a PEM file holding the cluster's CA certificate."
            ) from None

    # -- a request ---------------------------------------------------------------------

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                timeout: Optional[float] = None) -> Answer:
        """The body of a 200 answer; anything else is a ClusterError. `timeout` (seconds,
        for the whole request) overrides the client's for this request."""
        seconds = self.timeout if timeout is None else timeout
        url = self.url(path)
        if not visible_ascii(path) or not visible_ascii(method):
            raise ConfigError(f"The request {shown(method)} {shown(url)} cannot be sent: its path must be "
                              "percent-encoded ASCII.")
        named = Request(url, self.base_url, self.setting, self._base.host, self._base.port, self.proxy, seconds,
                        self.max_body, self.unauthenticated)
        connection = self._connection(Limits(seconds, self.max_body + _FRAMING))
        response: Optional[http.client.HTTPResponse] = None
        try:
            try:
                self._send(connection, method, path, body)
                connection.phase = Phase.ANSWER
                response = connection.getresponse()
                connection.phase = Phase.BODY
                data = self._read_body(connection, response, method)
            except (OSError, http.client.HTTPException, ExchangeFailure) as error:
                raise self._failure(error, connection, named) from None
            status, reason, headers = response.status, response.reason, response.msg
        finally:
            if response is not None:
                response.close()
            connection.release()
        if self.debug:
            via = f" via proxy {self.proxy.display}" if self.proxy else ""
            self.debug.write(f"debug: {method} {url} -> HTTP {status}, {len(data)} bytes{via}\n")
        refused = status_failure(named, status, reason, headers.get("location", ""),
                                 headers.get("www-authenticate", ""))
        if refused is not None:
            raise refused
        return Answer(data, headers.get("content-type", "unknown content"))

    def _connection(self, limits: Limits) -> _Connection:
        base, proxy = self._base, self.proxy
        if proxy is None:
            return _Connection(base.host, base.port, limits, self._context, base.host)
        if self._context is None:
            return _Connection(proxy.host, proxy.port, limits)
        # The token goes only inside TLS: the proxy sees CONNECT and the host, nothing else.
        return _Connection(proxy.host, proxy.port, limits, self._context, base.host,
                           tunnel=_Tunnel(base.host, base.port, proxy.authorization))

    def _send(self, connection: _Connection, method: str, path: str, body: Optional[bytes]) -> None:
        base = self._base
        target = (base.prefix + path) or "/"
        if self.proxy and self._context is None:
            target = f"http://{base.authority}{target}"  # a plain-HTTP proxy takes the whole URL
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", base.authority)
        connection.putheader("Accept", "application/json")
        connection.putheader("User-Agent", "dcos-node-ssh")
        connection.putheader("Connection", "close")
        if body is not None:
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(body)))
        if self._token:
            connection.putheader("Authorization", "token=" + self._token)
        if self.proxy and self.proxy.authorization and self._context is None:
            connection.putheader("Proxy-Authorization", self.proxy.authorization)
        connection.endheaders(body)  # connects first

    def _read_body(self, connection: _Connection, response: http.client.HTTPResponse, method: str) -> bytes:
        expected = None
        status = response.status
        has_body = method != "HEAD" and status not in (204, 304) and not 100 <= status < 200
        lengths = response.msg.get_all("content-length") or []
        if has_body and lengths and not response.chunked:
            values = {value.strip() for value in lengths}
            value = values.pop()
            if values or not digits(value):
                raise _BadLength(shown(lengths[0], 40))
            expected = int(value)
            if expected > self.max_body:
                raise TooLarge()
        pieces = []
        while True:
            try:
                piece = response.read1(_READ_SIZE)
            except http.client.IncompleteRead:
                raise _CutOff(connection.body_received) from None
            if not piece:
                break
            connection.body_received += len(piece)
            if connection.body_received > self.max_body:
                raise TooLarge()
            pieces.append(piece)
        if expected is not None and connection.body_received < expected:
            raise _CutOff(connection.body_received)
        return b"".join(pieces)

    def _failure(self, error: BaseException, connection: _Connection, named: Request) -> ClusterError:
        if isinstance(error, Refused) and self.proxy is not None:
            return proxy_refusal(named, self.proxy, error.status, error.reason)
        failure, detail = classify(error, connection.phase, self.proxy is not None, connection.body_received)
        return explain(failure, named, detail)
