"""The cluster API over HTTP(S), with the standard library only.

Every failure becomes a ClusterError that names the URL and the fix; the
access token is sent in a header and never appears in a message.

The plugin runs before every ssh session, so start-up matters: one HTTP/1.1
exchange per request is done here over a socket (http.client would import the
email package and ssl, about 15 ms), and ssl is imported only for https.
"""

import json
import re
import socket
from typing import Any, Dict, Iterator, Optional, TextIO, Tuple, Union
from urllib.parse import quote, urlsplit

from .errors import ClusterAuthError, ClusterDataError, ClusterError, ClusterUnreachable, ConfigError, shown

_REDIRECTS = (301, 302, 303, 307, 308)
# A hostile or broken server cannot make us read without end.
_MAX_LINE = 65536
_MAX_HEADERS = 200
_MAX_BODY = 1 << 30


class _CutOff(Exception):
    """The answer ended before the length it announced."""

    def __init__(self, received: int):
        super().__init__(received)
        self.received = received


class _NotHttp(Exception):
    """What came back is not an HTTP answer."""


class ClusterApi:
    """One base URL (core.dcos_url, or core.mesos_master_url) and how to talk to it."""

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        ssl_verify: Union[bool, str] = True,
        timeout: float = 5.0,
        setting: str = "core.dcos_url",
        debug: Optional[TextIO] = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.ssl_verify = ssl_verify
        self.timeout = timeout
        self.setting = setting
        self.debug = debug  # where to describe each request (DCOS_DEBUG); never the token
        parts = _split(self.base_url, setting)
        self._scheme, self._host, self._port, self._prefix = parts
        # Loading the CA store takes milliseconds: once per client, not once per request.
        self._context = self._tls_context() if self._scheme == "https" else None

    def url(self, path: str) -> str:
        return self.base_url + path

    def get_json(self, path: str) -> Any:
        return self._parse(self._request("GET", path, None), path)

    def post_json(self, path: str, body: Any) -> Any:
        return self._parse(self._request("POST", path, json.dumps(body).encode("utf-8")), path)

    def get_agents(self, path: str, top: Optional[dict] = None) -> Iterator[dict]:
        """The agents of a `{"slaves": [...]}` answer, decoded one at a time.

        A master that ignores `?slave_id=`, or state-summary, sends every agent: tens
        of MB on a large cluster. Decoding each agent alone keeps memory to the text
        itself, and the caller can stop at the one it wants.
        """
        data, kind = self._request("GET", path, None)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self._not_json(path, kind, len(data)) from None
        del data
        return agents_in(text, self.url(path), lambda: self._not_json(path, kind, len(text)), top)

    def _parse(self, answer, path: str) -> Any:
        data, kind = answer
        try:
            return json.loads(data)
        except ValueError:
            raise self._not_json(path, kind, len(data)) from None

    def _not_json(self, path: str, kind: str, size: int) -> ClusterError:
        return ClusterError(
            f"The cluster's answer to {self.url(path)} is not the JSON expected (it sent "
            f"{shown(kind, 80)}, {size} bytes). Check that {self.setting} points at a DC/OS cluster."
        )

    def _tls_context(self):
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

    def _connect(self, url: str) -> socket.socket:
        connection = socket.create_connection((self._host, self._port), timeout=self.timeout)
        if self._scheme == "http":
            return connection
        import ssl

        try:
            return self._context.wrap_socket(connection, server_hostname=self._host)
        except ssl.SSLCertVerificationError as error:
            connection.close()
            raise ClusterUnreachable(
                f"The TLS certificate of {self.base_url} could not be verified "
                f"({error.verify_message}). Set core.ssl_verify to the path of the cluster's CA "
                "bundle (`dcos config set core.ssl_verify /path/to/dcos-ca.crt`), or to false to "
                "skip verification."
            ) from None
        except ssl.SSLError as error:
            connection.close()
            raise ClusterUnreachable(
                f"The TLS handshake with {self.base_url} failed ({error.reason or error}). Check "
                f"that {self.setting} uses https:// only where the cluster speaks TLS."
            ) from None

    def _request(self, method: str, path: str, body: Optional[bytes]) -> Tuple[bytes, str]:
        """(body, content type) of a 200 answer; anything else is a ClusterError."""
        url = self.url(path)
        host = f"[{self._host}]" if ":" in self._host else self._host
        if self._port != (443 if self._scheme == "https" else 80):
            host += f":{self._port}"
        lines = [
            f"{method} {self._prefix + path} HTTP/1.1",
            f"Host: {host}",
            "Accept: application/json",
            "User-Agent: dcos-node-ssh",
            "Connection: close",
        ]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if self.token:
            lines.append("Authorization: token=" + self.token)
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        try:
            connection = self._connect(url)
            try:
                connection.sendall(request)
                with connection.makefile("rb") as stream:
                    status, reason, headers, data = _read_answer(stream, method)
            finally:
                connection.close()
        except (socket.timeout, TimeoutError):
            raise ClusterUnreachable(
                f"The cluster at {url} did not answer within {self.timeout:g} seconds. Check that "
                f"{self.setting} is right and the cluster is up, or raise core.timeout."
            ) from None
        except _CutOff as error:
            raise ClusterError(
                f"The cluster's answer to {url} was cut off after {error.received} bytes. "
                "The cluster or a proxy in between may be overloaded; try again."
            ) from None
        except _NotHttp:
            raise ClusterError(
                f"The cluster closed the connection to {url} without a valid HTTP answer. Check "
                f"that {self.setting} points at the cluster (with https:// where it uses TLS)."
            ) from None
        except (OSError, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise ClusterUnreachable(
                f"Could not reach the cluster at {url}: {reason}. Check that {self.setting} "
                "is right and that this machine can reach the cluster."
            ) from None
        if self.debug:
            self.debug.write(f"debug: {method} {url} -> HTTP {status}, {len(data)} bytes\n")
        self._check_status(status, reason, headers, url)
        return data, headers.get("content-type", "unknown content")

    def _check_status(self, status: int, reason: str, headers: Dict[str, str], url: str) -> None:
        if status == 401:
            raise ClusterAuthError(
                f"The cluster at {self.base_url} refused the request as unauthenticated (HTTP "
                "401): the access token is missing or has expired. Log in with `dcos auth login`."
            )
        if status == 403:
            raise ClusterAuthError(
                f"The cluster refused access to {url} (HTTP 403): your account lacks the "
                "permission. Ask a cluster administrator, or log in as another user with "
                "`dcos auth login`."
            )
        if status in _REDIRECTS:
            raise ClusterError(
                f"The cluster redirected {url} to {shown(headers.get('location', ''))} (HTTP "
                f"{status}) instead of answering, which usually means a login page or a wrong "
                f"{self.setting}. Check {self.setting} (with https:// where the cluster uses it)."
            )
        if status != 200:
            raise ClusterError(
                f"The cluster answered {url} with HTTP {status} {shown(reason, 60)}. "
                "The cluster may be starting or unhealthy; try again later."
            )


def _read_line(stream) -> bytes:
    line = stream.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise _NotHttp()
    return line


def _read_answer(stream, method: str) -> Tuple[int, str, Dict[str, str], bytes]:
    """Status, reason, headers (lower-case names) and body of one HTTP/1.x answer."""
    while True:
        line = _read_line(stream)
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise _NotHttp()
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers: Dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            header = _read_line(stream)
            if header in (b"\r\n", b"\n", b""):
                break
            name, colon, value = header.decode("latin-1").partition(":")
            if not colon:
                raise _NotHttp()
            headers[name.strip().lower()] = value.strip()
        else:
            raise _NotHttp()
        if not 100 <= status < 200:
            break  # an informational answer (100 Continue) precedes the real one
    if method == "HEAD" or status in (204, 304):
        return status, reason, headers, b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, reason, headers, _read_chunked(stream)
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > _MAX_BODY:
            raise _NotHttp()
        data = stream.read(int(length))
        if len(data) < int(length):
            raise _CutOff(len(data))
        return status, reason, headers, data
    data = stream.read(_MAX_BODY + 1)  # no length: the answer ends when the connection does
    if len(data) > _MAX_BODY:
        raise _NotHttp()
    return status, reason, headers, data


def _read_chunked(stream) -> bytes:
    chunks = []
    received = 0
    while True:
        size_line = _read_line(stream).split(b";", 1)[0].strip()
        if not size_line:
            raise _CutOff(received)
        try:
            size = int(size_line, 16)
        except ValueError:
            raise _NotHttp() from None
        if size == 0:
            break
        received += size
        if received > _MAX_BODY:
            raise _NotHttp()
        chunk = stream.read(size)
        if len(chunk) < size:
            raise _CutOff(received - size + len(chunk))
        chunks.append(chunk)
        stream.read(2)  # the CRLF after each chunk
    while _read_line(stream) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(chunks)


def _split(url: str, setting: str):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ConfigError(
            f"{setting} is {url!r}, which is not an http:// or https:// URL. Set it with "
            f"`dcos config set {setting} https://<master address>`."
        )
    host = parts.hostname
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return parts.scheme, host, port, parts.path.rstrip("/")


def agent_query(agent_id: str) -> str:
    return "/master/slaves?slave_id=" + quote(agent_id, safe="")


_SPACE = re.compile(r"[ \t\n\r]*")


def agents_in(text: str, source: str, not_json, top: Optional[dict] = None) -> Iterator[dict]:
    """Yield each element of the top-level "slaves" array of a JSON text, lazily.

    Only one agent is a Python object at a time; the walk stops as soon as the
    caller stops asking. `not_json()` builds the error for text that is not JSON.
    With `top`, the other top-level members whose keys it holds are stored in it,
    and the walk goes on to the end of the text.
    """
    decoder = json.JSONDecoder()

    def after_space(index: int) -> int:
        return _SPACE.match(text, index).end()

    def no_agent_list() -> ClusterError:
        try:
            json.loads(text)
        except ValueError:
            return not_json()
        return ClusterDataError(
            f"The cluster's answer to {source} is not the expected agent list (no \"slaves\" array)."
        )

    found_agents = False
    try:
        index = after_space(0)
        if text[index:index + 1] != "{":
            raise no_agent_list()
        index = after_space(index + 1)
        while text[index] != "}":
            key, index = decoder.raw_decode(text, index)
            index = after_space(index)
            if not isinstance(key, str) or text[index] != ":":
                raise not_json()
            index = after_space(index + 1)
            if key == "slaves" and text[index] == "[":
                index = after_space(index + 1)
                while text[index] != "]":
                    agent, index = decoder.raw_decode(text, index)
                    yield agent
                    index = after_space(index)
                    if text[index] == ",":
                        index = after_space(index + 1)
                    elif text[index] != "]":
                        raise not_json()
                if top is None:
                    return
                found_agents = True
                index = after_space(index + 1)
            else:
                value, index = decoder.raw_decode(text, index)
                if top is not None and key in top:
                    top[key] = value
            index = after_space(index)
            if text[index] == ",":
                index = after_space(index + 1)
            elif text[index] != "}":
                raise not_json()
        if not found_agents:
            raise no_agent_list()
    except (ValueError, IndexError):
        raise not_json() from None
