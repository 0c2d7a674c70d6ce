"""The cluster API over HTTP(S), with the standard library only.

Every failure becomes a ClusterError that names the URL and the fix; the
access token is sent in a header and never appears in a message.
"""

import http.client
import json
import re
import socket
import ssl
from typing import Any, Iterator, Optional, TextIO, Union
from urllib.parse import quote, urlsplit

from .errors import ClusterAuthError, ClusterDataError, ClusterError, ClusterUnreachable, ConfigError, shown

_REDIRECTS = (301, 302, 303, 307, 308)


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

    def url(self, path: str) -> str:
        return self.base_url + path

    def get_json(self, path: str) -> Any:
        return self._parse(self._request("GET", path, None), path)

    def post_json(self, path: str, body: Any) -> Any:
        return self._parse(self._request("POST", path, json.dumps(body).encode("utf-8")), path)

    def get_agents(self, path: str) -> Iterator[dict]:
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
        return agents_in(text, self.url(path), lambda: self._not_json(path, kind, len(text)))

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

    def _connection(self) -> http.client.HTTPConnection:
        if self._scheme == "http":
            return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return http.client.HTTPSConnection(
            self._host, self._port, timeout=self.timeout, context=self._tls_context()
        )

    def _tls_context(self) -> ssl.SSLContext:
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

    def _request(self, method: str, path: str, body: Optional[bytes]):
        """(body, content type) of a 200 answer; anything else is a ClusterError."""
        url = self.url(path)
        headers = {"Accept": "application/json", "User-Agent": "dcos-node-ssh"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "token=" + self.token
        connection = self._connection()
        try:
            connection.request(method, self._prefix + path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            if self.debug:
                self.debug.write(f"debug: {method} {url} -> HTTP {response.status}, {len(data)} bytes\n")
        except ssl.SSLCertVerificationError as error:
            raise ClusterUnreachable(
                f"The TLS certificate of {self.base_url} could not be verified "
                f"({error.verify_message}). Set core.ssl_verify to the path of the cluster's CA "
                "bundle (`dcos config set core.ssl_verify /path/to/dcos-ca.crt`), or to false to "
                "skip verification."
            ) from None
        except (socket.timeout, TimeoutError):
            raise ClusterUnreachable(
                f"The cluster at {url} did not answer within {self.timeout:g} seconds. Check that "
                f"{self.setting} is right and the cluster is up, or raise core.timeout."
            ) from None
        except http.client.IncompleteRead as error:
            raise ClusterError(
                f"The cluster's answer to {url} was cut off after {len(error.partial)} bytes. "
                "The cluster or a proxy in between may be overloaded; try again."
            ) from None
        except (http.client.RemoteDisconnected, http.client.BadStatusLine):
            raise ClusterError(
                f"The cluster closed the connection to {url} without a valid HTTP answer. Check "
                f"that {self.setting} points at the cluster (with https:// where it uses TLS)."
            ) from None
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise ClusterUnreachable(
                f"Could not reach the cluster at {url}: {reason}. Check that {self.setting} "
                "is right and that this machine can reach the cluster."
            ) from None
        finally:
            connection.close()
        return self._decode(response, data, url)

    def _decode(self, response: http.client.HTTPResponse, data: bytes, url: str) -> Any:
        status = response.status
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
            location = response.getheader("Location", "")
            raise ClusterError(
                f"The cluster redirected {url} to {shown(location)} (HTTP {status}) instead of "
                f"answering, which usually means a login page or a wrong {self.setting}. Check "
                f"{self.setting} (with https:// where the cluster uses it)."
            )
        if status != 200:
            raise ClusterError(
                f"The cluster answered {url} with HTTP {status} {shown(response.reason, 60)}. "
                "The cluster may be starting or unhealthy; try again later."
            )
        return data, response.getheader("Content-Type", "unknown content")


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
    return parts.scheme, host, port, parts.path.rstrip("/")


def agent_query(agent_id: str) -> str:
    return "/master/slaves?slave_id=" + quote(agent_id, safe="")


_SPACE = re.compile(r"[ \t\n\r]*")


def agents_in(text: str, source: str, not_json) -> Iterator[dict]:
    """Yield each element of the top-level "slaves" array of a JSON text, lazily.

    Only one agent is a Python object at a time; the walk stops as soon as the
    caller stops asking. `not_json()` builds the error for text that is not JSON.
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

    try:
        index = after_space(0)
        if text[index:index + 1] != "{":
            raise no_agent_list()
        index = after_space(index + 1)
        while text[index] != "}":
            key, index = decoder.raw_decode(text, index)
            index = after_space(index)
            if text[index] != ":":
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
                return
            _, index = decoder.raw_decode(text, index)
            index = after_space(index)
            if text[index] == ",":
                index = after_space(index + 1)
            elif text[index] != "}":
                raise not_json()
        raise no_agent_list()
    except (ValueError, IndexError):
        raise not_json() from None
