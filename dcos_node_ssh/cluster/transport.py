"""HTTP(S) to the cluster API, on the standard library's http.client.

Each request gets one deadline (connecting, a proxy's CONNECT, the TLS handshake,
sending, the status line, the headers and the body all share it) and one cap on
what it reads. Both are enforced on the socket under http.client, so no framing
and no slow or endless answer gets past them. Proxies come from the environment
as curl and requests read them. Every failure becomes a ClusterError (or a
ConfigError, before anything is sent) that names the URL and the fix; URLs are
shown without user:password@, and the access token never appears in a message.

ssl is imported only for https URLs (http.client itself imports it when present,
so this saves nothing today, but costs nothing either).
"""

import http.client
import io
import socket
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional, TextIO, Union
from urllib.parse import unquote_to_bytes, urlsplit

from ..errors import ClusterAuthError, ClusterError, ClusterUnreachable, ConfigError, shown

MAX_BODY = 1 << 30
# What the socket may carry on top of the body: status line, headers, chunk sizes,
# trailers. (A body within the cap but cut into so many tiny chunks that their framing
# passes 1 MiB is refused too; no real server sends that.)
_FRAMING = 1 << 20
_READ_SIZE = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)


class Answer(NamedTuple):
    body: bytes
    content_type: str  # the Content-Type header, or "unknown content"


class Proxy(NamedTuple):
    host: str
    port: int
    authorization: Optional[str]  # a Proxy-Authorization value ("Basic ..."), or None
    display: str  # the proxy's URL without credentials
    variable: str  # the environment variable it came from


# -- proxies from the environment ----------------------------------------------------


def proxy_for(scheme: str, host: str, port: int, env: Mapping[str, str]) -> Optional[Proxy]:
    """The proxy for a request to scheme://host:port, as curl and requests choose it.

    https_proxy (or HTTPS_PROXY) for https, http_proxy (or HTTP_PROXY) for http: the
    lower-case variable wins when it is set, even empty (which means no proxy), as
    in curl. no_proxy (or NO_PROXY) lists hosts reached directly.
    """
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        return None
    variable, value = _variable(env, scheme + "_proxy")
    if variable is None or not value:
        return None
    if _bypassed(host, port, env):
        return None
    return _parse_proxy(value, variable)


def _variable(env: Mapping[str, str], name: str) -> tuple[Optional[str], str]:
    for variable in (name, name.upper()):
        if variable in env:
            return variable, env[variable].strip()
    return None, ""


def _visible_ascii(text: str) -> bool:
    return all("!" <= char <= "~" for char in text)


def _digits(text: str) -> bool:
    return text != "" and all("0" <= char <= "9" for char in text)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _hide_credentials(text: str) -> str:
    """A URL as typed, without what precedes an @ in its authority: for a URL too
    broken to parse, where the password may hold a '/'."""
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    rest = rest.rpartition("@")[2]
    return scheme + separator + rest


def _parse_proxy(value: str, variable: str) -> Proxy:
    def refuse(why: str) -> ConfigError:
        return ConfigError(
            f"{variable} is '{shown(_hide_credentials(value))}', which {why}. Write it as "
            "http://proxy:port, or http://user:password@proxy:port for a proxy that wants a "
            "password (https goes through an http:// proxy with CONNECT)."
        )

    if not _visible_ascii(value):
        raise refuse("holds spaces, control characters or characters outside ASCII (write an "
                      "internationalised host name in its xn-- form and percent-encode the password)")
    text = value if "://" in value else "http://" + value  # no scheme: http://, as curl and requests
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise refuse("is not a proxy URL (check the port, a number from 1 to 65535, and the brackets "
                     "around an IPv6 address)") from None
    if parts.scheme != "http":
        if parts.scheme == "https" or parts.scheme.startswith("socks"):
            raise refuse(f"names a {parts.scheme}:// proxy: only http:// proxies are supported")
        raise refuse("is not an http:// proxy URL")
    host = parts.hostname
    if not host or port == 0:
        raise refuse("is not a proxy URL (no host, or port 0)")
    if port is None:
        port = 80  # what requests (urllib3) uses for an http:// proxy without port; curl would use 1080
    authorization = None
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        pair = unquote_to_bytes(user) + b":" + unquote_to_bytes(password)
        import base64  # only for a proxy that wants a password

        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    return Proxy(host, port, authorization, f"http://{_bracketed(host)}:{port}", variable)


def _bypassed(host: str, port: int, env: Mapping[str, str]) -> bool:
    """Whether no_proxy (or NO_PROXY) says to reach host:port directly.

    Comma-separated entries, case-insensitive, each optionally with :port: `*` (every
    host), a host name (itself and its subdomains, with or without a leading dot), an
    IP address, or a CIDR block (IPv4 or IPv6). Names are not resolved, as in curl.
    """
    _, value = _variable(env, "no_proxy")
    if not value:
        return False
    host = host.lower().rstrip(".")
    address = _address(host)
    for entry in value.lower().split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        name, entry_port = _entry_parts(entry)
        if not name or (entry_port is not None and entry_port != port):
            continue
        if _entry_matches(name, host, address):
            return True
    return False


def _entry_parts(entry: str) -> tuple[str, Optional[int]]:
    """(host part, port or None) of a no_proxy entry; ("", None) when it cannot be read."""
    if entry.startswith("["):
        inside, closing, rest = entry[1:].partition("]")
        if not closing:
            return "", None
        if not rest:
            return inside, None
        if rest.startswith(":") and _digits(rest[1:]):
            return inside, int(rest[1:])
        return "", None
    if entry.count(":") == 1:  # an IPv6 address holds two or more
        name, _, port = entry.partition(":")
        return (name, int(port)) if _digits(port) else ("", None)
    return entry, None


def _address(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _entry_matches(name: str, host: str, address: Any) -> bool:
    if "/" in name:
        import ipaddress

        try:
            network = ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
        return address is not None and address.version == network.version and address in network
    entry_address = _address(name)
    if entry_address is not None:
        return address is not None and address == entry_address
    if address is not None:
        return False
    if name.startswith("*."):
        name = name[1:]
    name = name.strip(".")
    return bool(name) and (host == name or host.endswith("." + name))


# -- one request's limits, enforced on the socket --------------------------------------


class _Failure(Exception):
    """A failure of the exchange that http.client does not describe (or describes too vaguely)."""


class _TooLarge(_Failure):
    """More bytes came than the request allows."""


class _CutOff(_Failure):
    """The answer ended before the length it announced."""

    def __init__(self, received: int):
        super().__init__(received)
        self.received = received


class _BadLength(_Failure):
    """A Content-Length that is not a plain decimal number."""


class _TlsFailure(_Failure):
    def __init__(self, unverified: bool, detail: str):
        super().__init__(detail)
        self.unverified = unverified
        self.detail = detail


class _Limits:
    """One request's deadline and the bytes it may still receive."""

    def __init__(self, seconds: float, budget: int):
        self.deadline = time.monotonic() + seconds
        self.budget = budget
        self.received = 0

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        return left

    def count(self, size: int) -> None:
        self.received += size
        if self.received > self.budget:
            raise _TooLarge()


class _Guarded:
    """A connected socket (plain or TLS) as http.client uses it, under a request's limits:
    before each read or write its timeout becomes the time left, and every byte read is
    counted. http.client reads through makefile("rb"), so its reads come here too."""

    def __init__(self, sock: Any, limits: _Limits):
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
    def __init__(self, guarded: _Guarded):
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


class _Connection(http.client.HTTPConnection):
    """One request's connection, to the cluster or to a proxy (tunnelling with CONNECT for
    https), with TLS done here so that the handshake is under the deadline too."""

    def __init__(self, host: str, port: int, limits: _Limits, tls: Any = None, tls_host: str = "",
                 tunnel: Optional[tuple[str, int, dict[str, str]]] = None):
        super().__init__(host, port)
        self.limits = limits
        self.phase = "connect"  # then tunnel, tls, send, answer, body: what a failure interrupted
        self.body_received = 0
        self._tls = tls
        self._tls_host = tls_host
        self._tunnelling = tunnel is not None
        self._sockets: list[Any] = []
        if tunnel is not None:
            self.set_tunnel(*tunnel)

    def connect(self) -> None:
        self.phase = "connect"
        raw = self._open()
        self.sock = _Guarded(raw, self.limits)
        if self._tunnelling:
            self.phase = "tunnel"
            self._tunnel()  # type: ignore[attr-defined]  # http.client's CONNECT, through the guard
        if self._tls is not None:
            self.phase = "tls"
            self._start_tls(raw)
        self.phase = "send"

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
        self.sock = _Guarded(secure, self.limits)

    def release(self) -> None:
        self.close()
        for sock in self._sockets:
            sock.close()


# -- the client ----------------------------------------------------------------------


class HttpClient:
    """One base URL (core.dcos_url, or core.mesos_master_url) and how to talk to it.

    Safe to share between threads: each request has its own connection.
    """

    def __init__(self, base_url: str, *, token: Optional[str] = None, ssl_verify: Union[bool, str] = True,
                 timeout: float = 5.0, setting: str = "core.dcos_url", env: Mapping[str, str] = {},
                 debug: Optional[TextIO] = None, max_body: int = MAX_BODY):
        self.setting = setting
        self.timeout = timeout
        self.ssl_verify = ssl_verify
        self.debug = debug  # where to describe each request (DCOS_DEBUG); never the token
        self.max_body = max_body
        self._scheme, self._host, self._port, self._prefix, self.base_url = self._split(base_url)
        if token and not _visible_ascii(token):
            # Never shown: it is a credential. CR or LF would end the header and start another.
            raise ConfigError(
                f"The access token for {self.base_url} holds characters that cannot be sent in an HTTP "
                "header (spaces, line breaks, control or non-ASCII characters), so it is not sent. Log in "
                "again with `dcos auth login`."
            )
        self._token = token or None
        default_port = 443 if self._scheme == "https" else 80
        self._authority = _bracketed(self._host) + (f":{self._port}" if self._port != default_port else "")
        self.proxy = proxy_for(self._scheme, self._host, self._port, env)
        # Loading the CA store takes milliseconds: once per client, not once per request.
        self._context = self._tls_context() if self._scheme == "https" else None

    def url(self, path: str) -> str:
        """The URL of a path, for display (without credentials)."""
        return self.base_url + path

    def _split(self, url: str) -> tuple[str, str, int, str, str]:
        if not url.isascii():
            raise ConfigError(
                f"{self.setting} is '{shown(_hide_credentials(url))}', which holds characters outside "
                "ASCII. Write an internationalised host name in its xn-- form (as `idn2` or a browser's "
                "address bar shows it), and percent-encode the path."
            )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            parts, port = urlsplit(""), -1
        if (parts.scheme not in ("http", "https") or not parts.hostname or port in (-1, 0)
                or not _visible_ascii(url)):
            raise ConfigError(
                f"{self.setting} is {_hide_credentials(url)!r}, which is not an http:// or https:// URL. "
                f"Set it with `dcos config set {self.setting} https://<master address>`."
            )
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        path = parts.path.rstrip("/")
        display = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"
        return parts.scheme, parts.hostname, port, path, display

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
        if not _visible_ascii(path) or not _visible_ascii(method):
            raise ConfigError(f"The request {shown(method)} {shown(url)} cannot be sent: its path must be "
                              "percent-encoded ASCII.")
        connection = self._connection(_Limits(seconds, self.max_body + _FRAMING))
        response: Optional[http.client.HTTPResponse] = None
        try:
            try:
                self._send(connection, method, path, body)
                connection.phase = "answer"
                response = connection.getresponse()
                connection.phase = "body"
                data = self._read_body(connection, response, method)
            except (OSError, http.client.HTTPException, _Failure) as error:
                raise self._failure(error, connection, url, seconds) from None
            status, reason, headers = response.status, response.reason, response.msg
        finally:
            if response is not None:
                response.close()
            connection.release()
        if self.debug:
            via = f" via proxy {self.proxy.display}" if self.proxy else ""
            self.debug.write(f"debug: {method} {url} -> HTTP {status}, {len(data)} bytes{via}\n")
        self._check_status(status, reason, headers, url)
        return Answer(data, headers.get("content-type", "unknown content"))

    def _connection(self, limits: _Limits) -> _Connection:
        proxy = self.proxy
        if proxy is None:
            return _Connection(self._host, self._port, limits, self._context, self._host)
        if self._context is None:
            return _Connection(proxy.host, proxy.port, limits)
        # The token goes only inside TLS: the proxy sees CONNECT and the host, nothing else.
        headers = {"Host": f"{_bracketed(self._host)}:{self._port}"}
        if proxy.authorization:
            headers["Proxy-Authorization"] = proxy.authorization
        return _Connection(proxy.host, proxy.port, limits, self._context, self._host,
                           tunnel=(self._host, self._port, headers))

    def _send(self, connection: _Connection, method: str, path: str, body: Optional[bytes]) -> None:
        target = (self._prefix + path) or "/"
        if self.proxy and self._context is None:
            target = f"http://{self._authority}{target}"  # a plain-HTTP proxy takes the whole URL
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", self._authority)
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
            if values or not _digits(value):
                raise _BadLength(shown(lengths[0], 40))
            expected = int(value)
            if expected > self.max_body:
                raise _TooLarge()
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
                raise _TooLarge()
            pieces.append(piece)
        if expected is not None and connection.body_received < expected:
            raise _CutOff(connection.body_received)
        return b"".join(pieces)

    # -- what went wrong -------------------------------------------------------------

    def _via(self) -> str:
        proxy = self.proxy
        return f" The request went through the proxy {proxy.display} (from {proxy.variable})." if proxy else ""

    def _failure(self, error: Exception, connection: _Connection, url: str, seconds: float) -> ClusterError:
        phase = connection.phase
        proxy = self.proxy
        if proxy is not None and phase in ("connect", "tunnel"):
            return self._proxy_failure(error, proxy, phase, url, seconds)
        not_http = ClusterError(
            f"The cluster closed the connection to {url} without a valid HTTP answer. Check "
            f"that {self.setting} points at the cluster (with https:// where it uses TLS).{self._via()}"
        )
        if isinstance(error, _TooLarge):
            if phase != "body":
                return not_http  # headers without end
            return ClusterError(
                f"The cluster's answer to {url} is larger than {self.max_body} bytes, more than this "
                f"command reads. Check that {self.setting} points at the cluster's API.{self._via()}"
            )
        if isinstance(error, _CutOff) or (phase == "body" and isinstance(error, OSError)
                                          and not isinstance(error, socket.timeout)):
            received = error.received if isinstance(error, _CutOff) else connection.body_received
            return ClusterError(
                f"The cluster's answer to {url} was cut off after {received} bytes. "
                f"The cluster or a proxy in between may be overloaded; try again.{self._via()}"
            )
        if isinstance(error, _BadLength):
            return ClusterError(
                f"The cluster's answer to {url} is not valid HTTP (a Content-Length of '{error}'). Check "
                f"that {self.setting} points at the cluster (with https:// where it uses TLS).{self._via()}"
            )
        if isinstance(error, _TlsFailure):
            if error.unverified:
                intercepted = (" A proxy that inspects TLS shows a certificate of its own: then core.ssl_verify "
                               "must name its CA bundle." if proxy else "")
                return ClusterUnreachable(
                    f"The TLS certificate of {self.base_url} could not be verified "
                    f"({error.detail}). Set core.ssl_verify to the path of the cluster's CA "
                    "bundle (`dcos config set core.ssl_verify /path/to/dcos-ca.crt`), or to false to "
                    f"skip verification.{self._via()}{intercepted}"
                )
            return ClusterUnreachable(
                f"The TLS handshake with {self.base_url} failed ({error.detail}). Check "
                f"that {self.setting} uses https:// only where the cluster speaks TLS.{self._via()}"
            )
        if isinstance(error, socket.timeout):
            return ClusterUnreachable(
                f"The cluster at {url} did not answer within {seconds:g} seconds. Check that "
                f"{self.setting} is right and the cluster is up, or raise core.timeout.{self._via()}"
            )
        if isinstance(error, http.client.HTTPException):
            return not_http
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return ClusterUnreachable(
            f"Could not reach the cluster at {url}: {reason}. Check that {self.setting} "
            f"is right and that this machine can reach the cluster.{self._via()}"
        )

    def _proxy_failure(self, error: Exception, proxy: Proxy, phase: str, url: str,
                       seconds: float) -> ClusterError:
        name = f"the proxy {proxy.display} (from {proxy.variable})"
        direct = f"if this machine reaches the cluster directly, add {self._host} to NO_PROXY"
        if isinstance(error, socket.timeout):
            return ClusterUnreachable(
                f"{name[0].upper() + name[1:]} did not answer within {seconds:g} seconds for {url}. "
                f"Check {proxy.variable}, or {direct}; or raise core.timeout."
            )
        refused = str(error).partition("Tunnel connection failed:")[2].strip()
        if phase == "tunnel" and isinstance(error, OSError) and refused:
            status, _, reason = refused.partition(" ")
            return self._proxy_refusal(proxy, status, reason, url)
        if phase == "tunnel":
            return ClusterUnreachable(
                f"{name[0].upper() + name[1:]} did not give a valid answer to CONNECT "
                f"{self._host}:{self._port} for {url}. Check that {proxy.variable} names an HTTP proxy, "
                f"or {direct}."
            )
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return ClusterUnreachable(
            f"Could not reach {name} for {url}: {reason}. Check {proxy.variable}, or unset it if "
            f"this machine reaches the cluster directly (or add {self._host} to NO_PROXY)."
        )

    def _proxy_refusal(self, proxy: Proxy, status: str, reason: str, url: str) -> ClusterError:
        name = f"The proxy {proxy.display} (from {proxy.variable})"
        answered = f"(HTTP {shown(' '.join((status + ' ' + reason).split()), 70)})"
        direct = f"if this machine reaches the cluster directly, add {self._host} to NO_PROXY"
        form = "http://user:password@proxy:port, percent-encoded"
        # 407 is the standard answer; some proxies (tinyproxy) answer 401 to a wrong password.
        if status in ("401", "407") and proxy.authorization:
            return ClusterUnreachable(
                f"{name} refused the user and password in {proxy.variable} for {url} {answered}. Check "
                f"them: {proxy.variable} holds them as {form}. Or, {direct}."
            )
        if status in ("401", "407"):
            return ClusterUnreachable(
                f"{name} wants a user and password for {url} {answered}. Put them in {proxy.variable} as "
                f"{form}. Or, {direct}."
            )
        if status.startswith("5"):
            return ClusterUnreachable(
                f"{name} could not reach {url} {answered}. Check that {self.setting} is right and that "
                f"the cluster is up. Or, {direct}."
            )
        return ClusterUnreachable(
            f"{name} refused to reach {url} {answered}. It may not allow this host or port: ask its "
            f"administrator, or check {proxy.variable} (credentials go in it as {form}). Or, {direct}."
        )

    def _check_status(self, status: int, reason: str, headers: Any, url: str) -> None:
        if self.proxy is not None and (status == 407 or (
                status == 401 and self.proxy.authorization
                and headers.get("www-authenticate", "").lower().startswith("basic"))):
            # A proxy's refusal: DC/OS itself asks for a token (acsjwt), never for Basic credentials.
            raise self._proxy_refusal(self.proxy, str(status), reason, url)
        if status == 401:
            raise ClusterAuthError(
                f"The cluster at {self.base_url} refused the request as unauthenticated (HTTP "
                f"401): the access token is missing or has expired. Log in with `dcos auth login`.{self._via()}"
            )
        if status == 403:
            raise ClusterAuthError(
                f"The cluster refused access to {url} (HTTP 403): your account lacks the "
                "permission. Ask a cluster administrator, or log in as another user with "
                f"`dcos auth login`.{self._via()}"
            )
        if status in _REDIRECTS:
            raise ClusterError(
                f"The cluster redirected {url} to {shown(headers.get('location', ''))} (HTTP "
                f"{status}) instead of answering, which usually means a login page or a wrong "
                f"{self.setting}. Check {self.setting} (with https:// where the cluster uses it).{self._via()}"
            )
        if status != 200:
            raise ClusterError(
                f"The cluster answered {url} with HTTP {status} {shown(reason, 60)}. "
                f"The cluster may be starting or unhealthy; try again later.{self._via()}"
            )
