"""The cluster's nodes as plain records: the model, kinds and states, forgiving agent
matching, and the one rule for which agents no command connects to (`agent_node`'s problem).

Pure functions of API answers. Values from the cluster are untrusted: they are
escaped before they reach a terminal, and an address is used only when it is a
plain IP address or host name.
"""

import enum
import ipaddress
import re
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .errors import ClusterDataError, ClusterError, shown
from .hosts import endpoint_host, normalize_host

# A full Mesos agent ID: `<master ID>-S<n>`.
_FULL_ID = re.compile(r"^[0-9a-fA-F]{8}-\d{6}-\d+-\d+-\d+-S\d+$|^[0-9a-fA-F-]{36}-S\d+$")


class NodeKind(enum.Enum):
    """What a node is; the value is what the listing and --json say."""

    MASTER = "master"
    AGENT = "agent"
    PUBLIC_AGENT = "public agent"


class NodeState(enum.Enum):
    LEADER = "leader"
    STANDBY = "standby"  # a master that does not lead
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # by an operator (`dcos node deactivate`)
    INACTIVE = "inactive"  # not connected to the master
    DRAINING = "draining"
    DRAINED = "drained"


_KIND_ORDER = {NodeKind.MASTER: 0, NodeKind.AGENT: 1, NodeKind.PUBLIC_AGENT: 2}


class Node(NamedTuple):
    """One row of `dcos node`: what an operator needs to pick and reach a node."""

    id: str
    hostname: str
    address: str  # the host of its pid; "" when the cluster gives no usable one
    kind: NodeKind
    state: NodeState
    problem: Optional[str] = None  # why no command connects to it (agent_node decides); None: they may


def looks_like_full_id(value: str) -> bool:
    """Whether a value can be a whole agent ID, worth asking the master for by itself."""
    return bool(_FULL_ID.fullmatch(value))


def _examined(agent: dict) -> Tuple[str, Optional[str], str]:
    """The one rule for what is refused, whichever command asks (ssh, scp, run, ssh-config,
    the listing): (the agent's address from its Mesos pid, "" when there is none; why no
    command may connect to it, None when they may; what the user can do instead).

    An agent registered with a pid or host name that is not a plain IP address or host
    name is refused whole: the host name is not used to connect, but a registration this
    malformed is not to be trusted."""
    agent_id = shown(agent.get("id", "?"))
    pid = agent.get("pid")
    if not isinstance(pid, str) or "@" not in pid:
        return "", (f"The cluster describes agent {agent_id} without a usable pid (got {shown(pid)}), so its "
                    "address is unknown."), "Use --private-ip=<ip> instead."
    address = normalize_host(endpoint_host(pid.rpartition("@")[2])) or ""
    if not address:
        return "", (f"The cluster gives agent {agent_id} the pid '{shown(pid)}', whose host part is not an IP "
                    "address or host name."), "Refusing to connect to it."
    hostname = agent.get("hostname")
    if hostname is not None and normalize_host(hostname) is None:
        quoted = f"'{shown(hostname)}'" if isinstance(hostname, str) else shown(hostname)
        return address, (f"The cluster gives agent {agent_id} the hostname {quoted}, which is not an IP "
                         "address or host name."), "Refusing to connect to it."
    return address, None, ""


def agent_address(agent: dict) -> str:
    """The private address of an agent, from its Mesos pid (`slave(1)@10.0.1.23:5051`), or
    ClusterDataError saying why no command connects to it."""
    address, problem, instead = _examined(agent)
    if problem is not None:
        raise ClusterDataError(f"{problem} {instead}")
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



def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def agent_node(agent: Any) -> Optional[Node]:
    """The row for one entry of a "slaves" array; None for an entry without an ID."""
    if not isinstance(agent, dict) or not isinstance(agent.get("id"), str):
        return None
    address, problem, _ = _examined(agent)
    attributes, reserved, drain = (_mapping(agent.get(key)) for key in ("attributes", "reserved_resources",
                                                                         "drain_info"))
    public = str(attributes.get("public_ip", "")).lower() == "true" or "slave_public" in reserved
    drain_state = _text(drain.get("state")).upper()
    if drain_state == "DRAINING":
        state = NodeState.DRAINING
    elif drain_state == "DRAINED":
        state = NodeState.DRAINED
    elif agent.get("deactivated") is True:
        state = NodeState.DEACTIVATED
    elif agent.get("active") is False:
        state = NodeState.INACTIVE
    else:
        state = NodeState.ACTIVE
    return Node(agent["id"], _text(agent.get("hostname")), address,
                NodeKind.PUBLIC_AGENT if public else NodeKind.AGENT, state, problem)


def _address_key(address: str) -> Tuple[int, Any]:
    try:
        parsed = ipaddress.ip_address(address)
        return (parsed.version, int(parsed))
    except ValueError:
        return (9, address)


def listing_order(node: Node) -> Tuple[int, Tuple[int, Any], str]:
    """Masters first, then agents, then public agents; each by address, then ID."""
    return (_KIND_ORDER[node.kind], _address_key(node.address), node.id)


def sort_nodes(nodes: Iterable[Node]) -> List[Node]:
    return sorted(nodes, key=listing_order)


def master_node(address: str, hostname: Any, leader: bool = True, master_id: Any = "") -> Node:
    return Node(_text(master_id), _text(hostname) or address, address, NodeKind.MASTER,
                NodeState.LEADER if leader else NodeState.STANDBY)


def match_agent(agents: Sequence[Node], value: str, source: str) -> Node:
    """The one agent that `value` names: exact ID; else exact address or host name;
    else a unique ID prefix or suffix. Ambiguous or unknown values are errors that
    list the candidates or the closest matches."""
    node = agent_named(agents, value)
    if node is None:
        raise ClusterError(
            f"No agent matches '{shown(value)}' (by ID, a unique part of the start or end of an ID, host "
            f"name or address) among the {len(agents)} agents of the cluster at {source}."
            + _closest(agents, value)
            + " List the agents with `dcos node`."
        )
    return node


def agent_named(agents: Sequence[Node], value: str) -> Optional[Node]:
    """match_agent's rule, with None when no agent fits; several that fit are an error
    that lists them."""
    exact = [node for node in agents if node.id == value]
    if exact:
        return exact[0]
    folded = value.lower().rstrip(".")
    by_name = [node for node in agents
               if node.address == value or (node.hostname and node.hostname.lower().rstrip(".") == folded)]
    if len(by_name) == 1:
        return by_name[0]
    candidates = by_name or [node for node in agents
                             if value and (node.id.endswith(value) or node.id.startswith(value))]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        listed = "; ".join(_describe(node) for node in sort_nodes(candidates)[:10])
        more = f"; and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        raise ClusterError(
            f"'{shown(value)}' matches {len(candidates)} agents: {listed}{more}. Give more of the ID, "
            "or the agent's address."
        )
    return None


def _describe(node: Node) -> str:
    return f"{shown(node.id)} ({shown(node.hostname, 60)}, {node.address or 'no address'})"


def _closest(agents: Sequence[Node], value: str) -> str:
    import difflib

    names: Dict[str, Node] = {}
    for node in agents:
        for name in (node.id, node.hostname, node.address):
            if name:
                names.setdefault(name, node)
    close = difflib.get_close_matches(value, list(names), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Closest: " + "; ".join(_describe(names[name]) for name in close) + "."


def unique_suffixes(ids: Sequence[str]) -> Dict[str, str]:
    """For each ID, its shortest unique ending that starts after a '-' (`S3`, `1177-S3`)."""
    def endings(agent_id):
        parts = agent_id.split("-")
        return ["-".join(parts[start:]) for start in range(len(parts) - 1, -1, -1)]

    counts: Dict[str, int] = {}
    for agent_id in ids:
        for ending in endings(agent_id):
            counts[ending] = counts.get(ending, 0) + 1
    return {agent_id: next((ending for ending in endings(agent_id) if counts[ending] == 1), agent_id)
            for agent_id in ids}
