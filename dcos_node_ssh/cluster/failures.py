"""What each failure of a request to the cluster tells the user (pure): one paragraph
naming the URL, the setting it came from, the proxy it went through (and the variable
that named it) and the fix. URLs are shown without user:password@; the access token and
a proxy's password never appear.

transport.py decides which failure happened; the words are all here.
"""

import enum
from typing import Dict, NamedTuple, Optional, Tuple, Type

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
    unauthenticated: str = ""  # more to say on HTTP 401 (why no token was sent), or nothing


_CHECK_URL = "Check that {setting} points at the cluster (with https:// where it uses TLS)."
_DIRECT = "if this machine reaches the cluster directly, add {host} to NO_PROXY"

# What each failure says. The fields: url, base_url, setting, host, connect (host:port as
# CONNECT names it), seconds, max_body, detail; via (a sentence naming the proxy, or
# nothing), intercepted (a sentence on proxies that inspect TLS, or nothing); proxy and
# variable (for the failures at the proxy, which happen only through one).
_TEXTS: Dict[Failure, Tuple[Type[ClusterError], str]] = {
    Failure.TIMEOUT: (ClusterUnreachable, (
        "The cluster at {url} did not answer within {seconds:g} seconds. Check that {setting} is right and the "
        "cluster is up, or raise core.timeout.{via}")),
    Failure.UNREACHABLE: (ClusterUnreachable, (
        "Could not reach the cluster at {url}: {detail}. Check that {setting} is right and that this machine can "
        "reach the cluster.{via}")),
    Failure.NOT_HTTP: (ClusterError, (
        "The cluster closed the connection to {url} without a valid HTTP answer. " + _CHECK_URL + "{via}")),
    Failure.BAD_LENGTH: (ClusterError, (
        "The cluster's answer to {url} is not valid HTTP (a Content-Length of '{detail}'). " + _CHECK_URL + "{via}")),
    Failure.TOO_LARGE: (ClusterError, (
        "The cluster's answer to {url} is larger than {max_body} bytes, more than this command reads. Check that "
        "{setting} points at the cluster's API.{via}")),
    Failure.CUT_OFF: (ClusterError, (
        "The cluster's answer to {url} was cut off after {detail} bytes. The cluster or a proxy in between may be "
        "overloaded; try again.{via}")),
    Failure.TLS_UNVERIFIED: (ClusterUnreachable, (
        "The TLS certificate of {base_url} could not be verified ({detail}). Set core.ssl_verify to the path of the "
        "cluster's CA bundle (`dcos config set core.ssl_verify /path/to/dcos-ca.crt`), or to false to skip "
        "verification.{via}{intercepted}")),
    Failure.TLS_FAILED: (ClusterUnreachable, (
        "The TLS handshake with {base_url} failed ({detail}). Check that {setting} uses https:// only where the "
        "cluster speaks TLS.{via}")),
    Failure.PROXY_TIMEOUT: (ClusterUnreachable, (
        "The proxy {proxy} (from {variable}) did not answer within {seconds:g} seconds for {url}. Check {variable}, or "
        + _DIRECT + "; or raise core.timeout.")),
    Failure.PROXY_UNREACHABLE: (ClusterUnreachable, (
        "Could not reach the proxy {proxy} (from {variable}) for {url}: {detail}. Check {variable}, or unset it "
        "if this machine reaches the cluster directly (or add {host} to NO_PROXY).")),
    Failure.PROXY_NOT_CONNECT: (ClusterUnreachable, (
        "The proxy {proxy} (from {variable}) did not give a valid answer to CONNECT {connect} for {url}. Check "
        "that {variable} names an HTTP proxy, or " + _DIRECT + ".")),
}


def _via(request: Request) -> str:
    proxy = request.proxy
    return f" The request went through the proxy {proxy.display} (from {proxy.variable})." if proxy else ""


def explain(failure: Failure, request: Request, detail: str = "") -> ClusterError:
    """The error for a failure of the exchange (anything but an HTTP status)."""
    proxy = request.proxy
    if proxy is None and failure in _AT_THE_PROXY:
        failure = Failure.NOT_HTTP  # no proxy to blame: what came back was not HTTP
    kind, text = _TEXTS[failure]
    intercepted = (" A proxy that inspects TLS shows a certificate of its own: then core.ssl_verify must name its "
                   "CA bundle." if proxy else "")
    return kind(text.format(
        url=request.url, base_url=request.base_url, setting=request.setting, host=request.host,
        connect=f"{bracketed(request.host)}:{request.port}", seconds=request.seconds, max_body=request.max_body,
        detail=detail, via=_via(request), intercepted=intercepted,
        proxy=proxy.display if proxy else "", variable=proxy.variable if proxy else ""))


def proxy_refusal(request: Request, proxy: Proxy, status: int, reason: str) -> ClusterError:
    """The error for a proxy that answered a request (or a CONNECT) with a refusal."""
    name = f"The proxy {proxy.display} (from {proxy.variable})"
    answered = f"(HTTP {shown(' '.join(f'{status} {reason}'.split()), 70)})"
    url, variable, direct = request.url, proxy.variable, _DIRECT.format(host=request.host)
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
        if request.unauthenticated:
            return ClusterAuthError(
                f"The cluster at {request.base_url} refused the request as unauthenticated (HTTP 401). "
                f"{request.unauthenticated}{via}"
            )
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
