"""`dcos node run`'s selection, pure: which nodes a selection names, each as a target
to connect to and a name to show.

Values from the cluster are untrusted: a node is connected to only at an address that
the cluster layer or nodes.agent_address accepts. A node the cluster describes
unusably (a master or an agent alike) is kept with the reason, so that it is reported
and counted rather than silently left out or allowed to stop the others.
"""

from typing import TYPE_CHECKING, List, NamedTuple, Optional, Sequence

from .errors import ClusterDataError, ClusterError
from .flags import Selection
from .hosts import normalize_host
from .nodes import Node, NodeKind, NodeState, agent_address, agent_node, listing_order, match_agent

if TYPE_CHECKING:
    from .cluster.answers import ListedMaster


class Target(NamedTuple):
    """One selected node: where to connect, and how to name it."""

    id: str  # "" for a master
    hostname: str  # "" when the cluster gives none (masters) or an unusable one
    address: str  # "" when the cluster gives no usable address: then `problem` says why
    kind: NodeKind
    problem: Optional[str] = None
    given: str = ""  # an unusable master address as Mesos DNS gave it, escaped: all there is to name it by

    @property
    def name(self) -> str:
        """The name `dcos node` shows: the host name, else the address (else the ID)."""
        return self.hostname or self.address or self.id or self.given


def master_targets(masters: Sequence["ListedMaster"]) -> List[Target]:
    """The masters Mesos DNS lists, named by address."""
    return [Target("", "", master.address, NodeKind.MASTER, master.problem, master.given) for master in masters]


def agent_target(record: dict) -> Optional[Target]:
    """An agent entry as a target; None for an entry without an ID."""
    node = agent_node(record)
    if node is None:
        return None
    try:
        address = agent_address(record)
    except ClusterDataError as error:
        usable = node.hostname if normalize_host(node.hostname) else ""
        return Target(node.id, usable, "", node.kind, str(error))
    return Target(node.id, normalize_host(node.hostname) or "", address, node.kind)


_NAMES = {Selection.ALL: "nodes", Selection.MASTERS: "masters", Selection.AGENTS: "agents",
          Selection.PRIVATE_AGENTS: "private agents", Selection.PUBLIC_AGENTS: "public agents"}
_KINDS = {Selection.PRIVATE_AGENTS: (NodeKind.AGENT,), Selection.PUBLIC_AGENTS: (NodeKind.PUBLIC_AGENT,)}


def select(selection: Selection, values: Sequence[str], masters: Sequence["ListedMaster"], agents: Sequence[dict],
           source: str) -> List[Target]:
    """The targets a selection names, masters first, then agents, then public agents, each
    by address; a node named twice is run on once. Nothing selected is an error."""
    records = {record["id"]: record for record in agents if isinstance(record.get("id"), str)}
    targets = {record_id: target for record_id, target in
               ((record_id, agent_target(record)) for record_id, record in records.items()) if target}
    chosen: List[Target] = []
    if selection.needs_masters:
        chosen += master_targets(masters)
    if selection is Selection.BY_ID:
        nodes = [node for node in map(agent_node, records.values()) if node is not None]
        chosen += [targets[match_agent(nodes, value, source).id] for value in values]
    elif selection.needs_agents:
        kinds = _KINDS.get(selection, (NodeKind.AGENT, NodeKind.PUBLIC_AGENT))
        chosen += [target for target in targets.values() if target.kind in kinds]
    unique = list({(target.id, target.address, target.given): target for target in chosen}.values())
    if not unique:
        raise ClusterError(f"The cluster at {source} has no {_NAMES.get(selection, 'nodes')} to run the command on.")
    return sorted(unique, key=lambda target: (listing_order(_as_node(target)), target.given))


def _as_node(target: Target) -> Node:
    return Node(target.id, target.hostname, target.address, target.kind, NodeState.ACTIVE)
