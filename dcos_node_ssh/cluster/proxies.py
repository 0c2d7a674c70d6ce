"""Which HTTP proxy a request goes through, from the environment, as curl and requests
choose it (pure: the environment is a mapping, nothing is resolved or connected).

https_proxy (or HTTPS_PROXY) for https, http_proxy (or HTTP_PROXY) for http; the
lower-case variable wins when it is set, even empty (which means no proxy), as in curl.
no_proxy (or NO_PROXY) lists the hosts reached directly.
"""

from collections.abc import Mapping
from typing import Any, NamedTuple, Optional
from urllib.parse import unquote_to_bytes, urlsplit

from ..errors import ConfigError, shown
from .urls import bracketed, digits, hide_credentials, visible_ascii


class Proxy(NamedTuple):
    host: str
    port: int
    authorization: Optional[str]  # a Proxy-Authorization value ("Basic ..."), or None
    display: str  # the proxy's URL without credentials
    variable: str  # the environment variable it came from


def proxy_for(scheme: str, host: str, port: int, env: Mapping[str, str]) -> Optional[Proxy]:
    """The proxy for a request to scheme://host:port, or None to connect directly. A
    variable that names no usable proxy is a ConfigError, but only when it is used."""
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        return None
    variable, value = _variable(env, scheme + "_proxy")
    if variable is None or not value:
        return None
    if bypassed(host, port, env):
        return None
    return _parse_proxy(value, variable)


def _variable(env: Mapping[str, str], name: str) -> tuple[Optional[str], str]:
    for variable in (name, name.upper()):
        if variable in env:
            return variable, env[variable].strip()
    return None, ""


def _parse_proxy(value: str, variable: str) -> Proxy:
    def refuse(why: str) -> ConfigError:
        return ConfigError(
            f"{variable} is '{shown(hide_credentials(value))}', which {why}. Write it as "
            "http://proxy:port, or http://user:password@proxy:port for a proxy that wants a "
            "password (https goes through an http:// proxy with CONNECT)."
        )

    if not visible_ascii(value):
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
    return Proxy(host, port, authorization, f"http://{bracketed(host)}:{port}", variable)


def bypassed(host: str, port: int, env: Mapping[str, str]) -> bool:
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
        if rest.startswith(":") and digits(rest[1:]):
            return inside, int(rest[1:])
        return "", None
    if entry.count(":") == 1:  # an IPv6 address holds two or more
        name, _, port = entry.partition(":")
        return (name, int(port)) if digits(port) else ("", None)
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
