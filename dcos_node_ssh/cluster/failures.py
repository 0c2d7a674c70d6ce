"""What each failure of a request to the cluster tells the user (pure): one paragraph
naming the URL, the setting it came from, the proxy it went through (and the variable
that named it) and the fix. URLs are shown without user:password@; the access token and
a proxy's password never appear.

transport.py decides which failure happened; the words are all here.
"""

import enum
from typing import NamedTuple, Optional

from ..errors import ClusterAuthError, ClusterError, ClusterUnreachable, shown
from .proxies import Proxy
from .urls import bracketed

REDIRECTS = (301, 302, 303, 307, 308)
PROXY_CREDENTIALS = "http://user:password@proxy:port, percent-encoded"


class Failure(enum.Enum):
    """What went wrong in one exchange, as far as the user can act on it."""

    TIMEOUT = "the deadline passed"
    UNREACHABLE = "no connection"  # detail: why
    NOT_HTTP = "no valid HTTP answer"
    BAD_LENGTH = "a Content-Length that is not a number"  # detail: the value, shown
    TOO_LARGE = "a body over the cap"
    CUT_OFF = "a body shorter than announced"  # detail: the bytes received
    TLS_UNVERIFIED = "a certificate that could not be verified"  # detail: why
    TLS_FAILED = "a TLS handshake that failed"  # detail: why
    PROXY_TIMEOUT = "the proxy did not answer in time"
    PROXY_UNREACHABLE = "no connection to the proxy"  # detail: why
    PROXY_NOT_CONNECT = "no valid answer to CONNECT"


_AT_THE_PROXY = (Failure.PROXY_TIMEOUT, Failure.PROXY_UNREACHABLE, Failure.PROXY_NOT_CONNECT)


class Request(NamedTuple):
    """What a failure's text names."""

    url: str  # the request's URL, without credentials
    base_url: str  # the setting's URL, without credentials
    setting: str  # core.dcos_url or core.mesos_master_url
    host: str  # the cluster's host, as CONNECT and NO_PROXY name it
    port: int
    proxy: Optional[Proxy]
    seconds: float  # the request's deadline
    max_body: int  # the cap on the body, in bytes


def _via(request: Request) -> str:
    proxy = request.proxy
    return f" The request went through the proxy {proxy.display} (from {proxy.variable})." if proxy else ""


def _check_url(request: Request) -> str:
    return f"Check that {request.setting} points at the cluster (with https:// where it uses TLS)."


def _direct(request: Request) -> str:
    return f"if this machine reaches the cluster directly, add {request.host} to NO_PROXY"


def explain(failure: Failure, request: Request, detail: str = "") -> ClusterError:
    """The error for a failure of the exchange (anything but an HTTP status)."""
    url, setting, via = request.url, request.setting, _via(request)
    if request.proxy is not None and failure in _AT_THE_PROXY:
        return _proxy_failure(failure, request, request.proxy, detail)
    if failure is Failure.TOO_LARGE:
        return ClusterError(
            f"The cluster's answer to {url} is larger than {request.max_body} bytes, more than this "
            f"command reads. Check that {setting} points at the cluster's API.{via}"
        )
    if failure is Failure.CUT_OFF:
        return ClusterError(
            f"The cluster's answer to {url} was cut off after {detail} bytes. "
            f"The cluster or a proxy in between may be overloaded; try again.{via}"
        )
    if failure is Failure.BAD_LENGTH:
        return ClusterError(
            f"The cluster's answer to {url} is not valid HTTP (a Content-Length of '{detail}'). "
            f"{_check_url(request)}{via}"
        )
    if failure is Failure.TLS_UNVERIFIED:
        intercepted = (" A proxy that inspects TLS shows a certificate of its own: then core.ssl_verify "
                       "must name its CA bundle." if request.proxy else "")
        return ClusterUnreachable(
            f"The TLS certificate of {request.base_url} could not be verified "
            f"({detail}). Set core.ssl_verify to the path of the cluster's CA "
            "bundle (`dcos config set core.ssl_verify /path/to/dcos-ca.crt`), or to false to "
            f"skip verification.{via}{intercepted}"
        )
    if failure is Failure.TLS_FAILED:
        return ClusterUnreachable(
            f"The TLS handshake with {request.base_url} failed ({detail}). Check "
            f"that {setting} uses https:// only where the cluster speaks TLS.{via}"
        )
    if failure is Failure.TIMEOUT:
        return ClusterUnreachable(
            f"The cluster at {url} did not answer within {request.seconds:g} seconds. Check that "
            f"{setting} is right and the cluster is up, or raise core.timeout.{via}"
        )
    if failure is Failure.UNREACHABLE:
        return ClusterUnreachable(
            f"Could not reach the cluster at {url}: {detail}. Check that {setting} "
            f"is right and that this machine can reach the cluster.{via}"
        )
    return ClusterError(f"The cluster closed the connection to {url} without a valid HTTP answer. "
                        f"{_check_url(request)}{via}")


def _proxy_failure(failure: Failure, request: Request, proxy: Proxy, detail: str) -> ClusterError:
    name = f"the proxy {proxy.display} (from {proxy.variable})"
    if failure is Failure.PROXY_TIMEOUT:
        return ClusterUnreachable(
            f"{name[0].upper() + name[1:]} did not answer within {request.seconds:g} seconds for {request.url}. "
            f"Check {proxy.variable}, or {_direct(request)}; or raise core.timeout."
        )
    if failure is Failure.PROXY_NOT_CONNECT:
        return ClusterUnreachable(
            f"{name[0].upper() + name[1:]} did not give a valid answer to CONNECT "
            f"{bracketed(request.host)}:{request.port} for {request.url}. Check that {proxy.variable} names an "
            f"HTTP proxy, or {_direct(request)}."
        )
    return ClusterUnreachable(
        f"Could not reach {name} for {request.url}: {detail}. Check {proxy.variable}, or unset it if "
        f"this machine reaches the cluster directly (or add {request.host} to NO_PROXY)."
    )


def proxy_refusal(request: Request, proxy: Proxy, status: int, reason: str) -> ClusterError:
    """The error for a proxy that answered a request (or a CONNECT) with a refusal."""
    name = f"The proxy {proxy.display} (from {proxy.variable})"
    answered = f"(HTTP {shown(' '.join(f'{status} {reason}'.split()), 70)})"
    url, variable, direct = request.url, proxy.variable, _direct(request)
    # 407 is the standard answer; some proxies (tinyproxy) answer 401 to a wrong password.
    if status in (401, 407) and proxy.authorization:
        return ClusterUnreachable(
            f"{name} refused the user and password in {variable} for {url} {answered}. Check "
            f"them: {variable} holds them as {PROXY_CREDENTIALS}. Or, {direct}."
        )
    if status in (401, 407):
        return ClusterUnreachable(
            f"{name} wants a user and password for {url} {answered}. Put them in {variable} as "
            f"{PROXY_CREDENTIALS}. Or, {direct}."
        )
    if 500 <= status < 600:
        return ClusterUnreachable(
            f"{name} could not reach {url} {answered}. Check that {request.setting} is right and that "
            f"the cluster is up. Or, {direct}."
        )
    return ClusterUnreachable(
        f"{name} refused to reach {url} {answered}. It may not allow this host or port: ask its "
        f"administrator, or check {variable} (credentials go in it as {PROXY_CREDENTIALS}). Or, {direct}."
    )


def status_failure(request: Request, status: int, reason: str, location: str,
                   www_authenticate: str) -> Optional[ClusterError]:
    """The error for an answer whose status is not 200, or None for 200. `location` and
    `www_authenticate` are those headers ("" when absent)."""
    proxy, url, setting, via = request.proxy, request.url, request.setting, _via(request)
    if proxy is not None and (status == 407 or (
            status == 401 and proxy.authorization and www_authenticate.lower().startswith("basic"))):
        # A proxy's refusal: DC/OS itself asks for a token (acsjwt), never for Basic credentials.
        return proxy_refusal(request, proxy, status, reason)
    if status == 401:
        return ClusterAuthError(
            f"The cluster at {request.base_url} refused the request as unauthenticated (HTTP "
            f"401): the access token is missing or has expired. Log in with `dcos auth login`.{via}"
        )
    if status == 403:
        return ClusterAuthError(
            f"The cluster refused access to {url} (HTTP 403): your account lacks the "
            "permission. Ask a cluster administrator, or log in as another user with "
            f"`dcos auth login`.{via}"
        )
    if status in REDIRECTS:
        return ClusterError(
            f"The cluster redirected {url} to {shown(location)} (HTTP "
            f"{status}) instead of answering, which usually means a login page or a wrong "
            f"{setting}. Check {setting} (with https:// where the cluster uses it).{via}"
        )
    if status != 200:
        return ClusterError(
            f"The cluster answered {url} with HTTP {status} {shown(reason, 60)}. "
            f"The cluster may be starting or unhealthy; try again later.{via}"
        )
    return None
