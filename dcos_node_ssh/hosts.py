"""Host names, addresses and user names: what may reach an ssh command line.

Everything the cluster answers is untrusted (an agent chooses its own hostname and
pid), and so are flags. A value is used only once it is a plain IP address or DNS
name, so that it can never become an option or shell syntax on either hop.
"""

import ipaddress
import re
from typing import Any, Optional
from urllib.parse import urlsplit

from .errors import UsageError, shown

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def normalize_host(value: Any) -> Optional[str]:
    """The host as an IP address or DNS name, or None when it is neither."""
    # No IPv6 zone index (`fe80::1%eth0`): ipaddress accepts any text after '%'.
    if not isinstance(value, str) or not value or len(value) > 253 or "%" in value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if all(_LABEL.fullmatch(label) for label in labels) and not name.replace(".", "").isdigit():
        return name
    return None


_PORT = re.compile(r"^[0-9]{1,5}$")


def endpoint_host(endpoint: str) -> str:
    """The host of `host`, `host:port` or `[IPv6]:port`, as in a Mesos pid after the '@';
    "" when the endpoint is malformed (a '[' never closed, anything but a port after the
    host), so that a half-read value can never pass for an address (`[fd00::1:5051`)."""
    if endpoint.startswith("["):
        host, closed, rest = endpoint[1:].partition("]")
        if not closed or (rest and not (rest[:1] == ":" and _PORT.fullmatch(rest[1:]))):
            return ""
        return host
    if ":" not in endpoint:
        return endpoint
    host, _, port = endpoint.rpartition(":")
    return host if _PORT.fullmatch(port) else ""


def check_host_flag(flag: str, value: str) -> str:
    host = normalize_host(value)
    if host is None:
        raise UsageError(f"{flag} must be an IP address or a host name, not '{shown(value)}'.")
    return host


def check_user(value: str, source: str) -> str:
    if not _USER.fullmatch(value or ""):
        raise UsageError(
            f"The SSH user from {source} must be a plain user name (letters, digits, "
            f"'_', '.', '-'; not starting with '-'), not '{shown(value)}'."
        )
    return value


def host_of_url(url: str) -> Optional[str]:
    try:
        return normalize_host(urlsplit(url).hostname or "")
    except ValueError:
        return None
