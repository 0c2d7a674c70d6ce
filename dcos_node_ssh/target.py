"""Which host to reach: pure functions of flags and cluster API answers.

Everything the cluster answers is untrusted: an agent chooses its own hostname
and pid. A value is used only once it is a plain IP address or DNS name, so
that it can never become an option or shell syntax on either hop.
"""

import ipaddress
import re
from typing import Any, Iterable, Optional
from urllib.parse import urlsplit

from .errors import ClusterDataError, UsageError, shown

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
# A full Mesos agent ID: `<master ID>-S<n>`.
_FULL_ID = re.compile(r"^[0-9a-fA-F]{8}-\d{6}-\d+-\d+-\d+-S\d+$|^[0-9a-fA-F-]{36}-S\d+$")


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


def endpoint_host(endpoint: str) -> str:
    """The host of `host:port` or `[IPv6]:port`, as in a Mesos pid after the '@'."""
    if endpoint.startswith("["):
        return endpoint[1:].partition("]")[0]
    return endpoint.rpartition(":")[0] if ":" in endpoint else endpoint


def looks_like_full_id(value: str) -> bool:
    """Whether a value can be a whole agent ID, worth asking the master for by itself."""
    return bool(_FULL_ID.fullmatch(value))


def check_host_flag(flag: str, value: str) -> str:
    host = normalize_host(value)
    if host is None:
        raise UsageError(
            f"{flag} must be an IP address or a host name, not {value!r}."
        )
    return host


def check_user(value: str, source: str) -> str:
    if not _USER.fullmatch(value or ""):
        raise UsageError(
            f"The SSH user from {source} must be a plain user name (letters, digits, "
            f"'_', '.', '-'; not starting with '-'), not {value!r}."
        )
    return value


def agent_address(agent: dict) -> str:
    """The private address of an agent, from its Mesos pid: `slave(1)@10.0.1.23:5051`."""
    agent_id = shown(agent.get("id", "?"))
    pid = agent.get("pid")
    if not isinstance(pid, str) or "@" not in pid:
        raise ClusterDataError(
            f"The cluster describes agent {agent_id} without a usable pid "
            f"(got {shown(pid)}), so its address is unknown. Use --private-ip=<ip> instead."
        )
    hostname = agent.get("hostname")
    if hostname is not None and normalize_host(hostname) is None:
        # Not used to connect, but a registration this malformed is not to be trusted.
        raise ClusterDataError(
            f"The cluster gives agent {agent_id} the hostname {shown(hostname)}, which is not an "
            "IP address or host name. Refusing to connect to it."
        )
    address = normalize_host(endpoint_host(pid.rpartition("@")[2]))
    if address is None:
        raise ClusterDataError(
            f"The cluster gives agent {agent_id} the pid {shown(pid)}, whose host part is not "
            "an IP address or host name. Refusing to connect to it."
        )
    return address


def find_agent(agents: Iterable[Any], agent_id: str) -> Optional[dict]:
    """The agent with exactly this ID, or None; stops reading at the first match.

    Masters before Mesos 1.1 ignore `?slave_id=` and return every agent, so the
    ID is always matched here too.
    """
    for agent in agents:
        if isinstance(agent, dict) and agent.get("id") == agent_id:
            return agent
    return None


def leader_from_mesos_dns(answer: Any, source: str) -> str:
    """The leader's address from Mesos DNS: `[{"host": "leader.mesos.", "ip": "10.0.4.1"}]`."""
    if not (isinstance(answer, list) and answer and isinstance(answer[0], dict) and "ip" in answer[0]):
        raise ClusterDataError(f"Mesos DNS answered {source} without an \"ip\" for the leader.")
    return _checked_address(answer[0]["ip"], source, "leading master")


def leader_from_master_info(answer: Any, source: str) -> str:
    """The leader's address from the operator API's GET_MASTER answer."""
    get_master = answer.get("get_master") if isinstance(answer, dict) else None
    info = get_master.get("master_info") if isinstance(get_master, dict) else None
    if not isinstance(info, dict):
        raise ClusterDataError(f"The Mesos master answered {source} without master_info.")
    address = info.get("address")
    if isinstance(address, dict) and address.get("ip"):
        return _checked_address(address["ip"], source, "leading master")
    pid = info.get("pid")
    if isinstance(pid, str) and "@" in pid:
        return _checked_address(endpoint_host(pid.rpartition("@")[2]), source, "leading master")
    raise ClusterDataError(f"The Mesos master answered {source} without the leader's address.")


def public_ip_from_metadata(answer: Any, source: str) -> Optional[str]:
    """PUBLIC_IPV4 from /metadata, or None when the cluster leaves it empty."""
    if not isinstance(answer, dict):
        raise ClusterDataError(f"The cluster's answer to {source} is not a JSON object.")
    value = answer.get("PUBLIC_IPV4")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _checked_address(value, source, "master's public address (PUBLIC_IPV4)")


def host_of_url(url: str) -> Optional[str]:
    try:
        return normalize_host(urlsplit(url).hostname or "")
    except ValueError:
        return None


def _checked_address(value: Any, source: str, what: str) -> str:
    address = normalize_host(value.strip() if isinstance(value, str) else value)
    if address is None:
        raise ClusterDataError(
            f"The cluster's answer to {source} gives the {what} as {shown(value)}, which is not "
            "an IP address or host name. Refusing to connect to it."
        )
    return address
