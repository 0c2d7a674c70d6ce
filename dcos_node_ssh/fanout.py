"""`dcos node run`, the pure part: which nodes, the ssh argument lists, and what is printed.

Functions of plain data only; the command (commands/run.py) does the I/O. Values
from the cluster are untrusted: an agent is connected to only at an address that
nodes.agent_address accepts, and every name is escaped before it is printed.
"""

import base64
import enum
import json
import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .errors import ClusterDataError, ClusterError, printable
from .flags import Selection
from .hosts import normalize_host
from .nodes import NodeKind, agent_address, agent_node, match_agent, sort_nodes


_SAFE_FOLDER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")


class Target(NamedTuple):
    """One selected node: where to connect, and how to name it."""

    id: str  # "" for a master
    hostname: str  # "" when the cluster gives none (masters) or an unusable one
    address: str  # "" when the cluster gives no usable address: then `problem` says why
    kind: NodeKind
    problem: Optional[str] = None

    @property
    def name(self) -> str:
        """The name `dcos node` shows: the host name, else the address (else the ID)."""
        return self.hostname or self.address or self.id

    @property
    def folder(self) -> str:
        """Its folder under --output-dir: the agent ID, or the address for a master (or an ID
        that is not a safe file name)."""
        if self.id and _SAFE_FOLDER.match(self.id) and ".." not in self.id:
            return self.id
        return self.address or "unnamed-" + re.sub(r"[^A-Za-z0-9_.-]", "_", self.id)[:100]


def master_targets(addresses: Sequence[str]) -> List[Target]:
    """The masters Mesos DNS lists (already checked addresses), named by address."""
    return [Target("", "", address, NodeKind.MASTER) for address in addresses]


def agent_target(record: dict) -> Optional[Target]:
    """An agent entry as a target; one the cluster describes unusably is kept, with the
    reason, so that it is reported rather than silently left out."""
    node = agent_node(record)
    if node is None:
        return None
    try:
        address = agent_address(record)
    except ClusterDataError as error:
        usable = node.hostname if normalize_host(node.hostname) else ""
        return Target(node.id, usable, "", node.kind, str(error))
    return Target(node.id, normalize_host(node.hostname) or "", address, node.kind)


def select(selection: Selection, values: Sequence[str], masters: Sequence[str], agents: Sequence[dict],
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
        for value in values:
            chosen.append(targets[match_agent(nodes, value, source).id])
    elif selection.needs_agents:
        wanted = {Selection.PRIVATE_AGENTS: (NodeKind.AGENT,), Selection.PUBLIC_AGENTS: (NodeKind.PUBLIC_AGENT,)}.get(
            selection, (NodeKind.AGENT, NodeKind.PUBLIC_AGENT))
        chosen += [target for target in targets.values() if target.kind in wanted]
    unique = {(target.id, target.address): target for target in reversed(chosen)}  # the first one named
    result = [unique[(node.id, node.address)] for node in sort_nodes(map(_as_node, unique.values()))]
    if not result:
        what = {Selection.ALL: "nodes", Selection.MASTERS: "masters", Selection.AGENTS: "agents",
                Selection.PRIVATE_AGENTS: "private agents", Selection.PUBLIC_AGENTS: "public agents"}
        raise ClusterError(f"The cluster at {source} has no {what.get(selection, 'nodes')} to run the command on.")
    return result


def _as_node(target: Target):
    from .nodes import Node, NodeState

    return Node(target.id, target.hostname, target.address, target.kind, NodeState.ACTIVE)


# -- the ssh argument lists ------------------------------------------------------------

CONNECT_TIMEOUT = 10  # seconds, unless an --option sets ConnectTimeout


class Fanout(NamedTuple):
    """How every node is reached: the settled user and options, and the proxy (None:
    directly) with the control socket of the one connection to it that all share."""

    user: str
    options: Tuple[str, ...] = ()
    proxy_options: Tuple[str, ...] = ()
    config_file: Optional[str] = None
    client: str = "ssh"
    proxy: Optional[str] = None
    control_path: str = ""
    command: Tuple[str, ...] = ()
    master_log: str = ""  # where the connection to the proxy logs (-E): why it failed, or refused a channel


def _keys(options: Iterable[str]) -> set:
    return {option.split("=", 1)[0].lower() for option in options}


def _defaults(fanout: Fanout, batch: bool) -> Tuple[str, ...]:
    """Options that come after the user's, so that theirs win: no prompt from many nodes
    at once, and a connect timeout so that an unreachable node is reported while the
    others go on."""
    given = _keys(fanout.proxy_options + fanout.options)
    defaults = [f"ConnectTimeout={CONNECT_TIMEOUT}"] + (["BatchMode=yes"] if batch else [])
    return tuple(option for option in defaults if option.split("=", 1)[0].lower() not in given)


# First, so that they win over the user's and any ssh config: the agent is never
# forwarded, and a node's own connection is never multiplexed.
NEVER_FORWARD = ("ForwardAgent=no",)
NODE_OWN = NEVER_FORWARD + ("ControlMaster=no", "ControlPath=none")


def master_argv(fanout: Fanout) -> List[str]:
    """The one connection to the proxy: authenticated, then in the background (-f),
    running nothing (-N), serving the others through its control socket. It may prompt
    (a passphrase, a new host key), as it runs at the user's terminal. In the background
    it would log nowhere: -E keeps what it says, such as a channel the proxy refused."""
    argv = [fanout.client, "-f", "-N", "-T"] + (["-E", fanout.master_log] if fanout.master_log else [])
    if fanout.config_file:
        argv += ["-F", fanout.config_file]
    own = ("ControlMaster=yes", f"ControlPath={fanout.control_path}", "ControlPersist=no") + NEVER_FORWARD
    for option in own + fanout.proxy_options + fanout.options + _defaults(fanout, batch=False):
        argv += ["-o", option]
    return argv + [f"{fanout.user}@{fanout.proxy}"]


def exit_argv(fanout: Fanout) -> List[str]:
    """Close the connection to the proxy (`-O exit`)."""
    return [fanout.client, "-O", "exit", "-o", f"ControlPath={fanout.control_path}", f"{fanout.user}@{fanout.proxy}"]


def node_argv(fanout: Fanout, address: str, host_key_alias: Optional[str] = None) -> List[str]:
    """One node's connection: in jump mode's way through the proxy (a ProxyCommand
    `ssh -W` that uses the shared connection), or directly; no terminal, no agent. Through
    the proxy the node's key is kept under its HostKeyAlias (route.host_key_alias)."""
    from .openssh.hops import SshPlan, build_argv

    options = NODE_OWN + fanout.options + _defaults(fanout, batch=True)
    proxy_options: Tuple[str, ...] = ()
    if fanout.proxy is not None:
        proxy_options = ("ControlMaster=no", f"ControlPath={fanout.control_path}") + fanout.proxy_options
    plan = SshPlan(target=address, user=fanout.user, proxy=fanout.proxy, options=options,
                   config_file=fanout.config_file, command=fanout.command, tty=False, client=fanout.client,
                   proxy_options=proxy_options, jump=True,  # jump: no agent forwarded, even directly
                   host_key_alias=host_key_alias if fanout.proxy is not None else None)
    return build_argv(plan)


# -- what each node did ----------------------------------------------------------------

class Result(enum.Enum):
    """How a node's run ended; the value is what --json and the status file say."""

    EXITED = "exited"
    UNREACHABLE = "unreachable"  # ssh's own failure (exit status 255): not reached, or not logged in
    TIMED_OUT = "timed out"
    INTERRUPTED = "interrupted"  # ended by Ctrl-C
    NOT_STARTED = "not started"  # Ctrl-C came first, or the proxy refused forwarding
    REFUSED = "refused"  # the cluster gives it no usable address


SSH_FAILURE = 255


class NodeResult(NamedTuple):
    target: Target
    result: Result
    status: Optional[int] = None
    stdout: bytes = b""
    stderr: bytes = b""


def result_of(status: Optional[int], ending: str) -> Result:
    """What a runner's ending (local.Ending's value) and exit status mean for a node."""
    if ending == "timed out":
        return Result.TIMED_OUT
    if ending == "interrupted":
        return Result.INTERRUPTED
    return Result.UNREACHABLE if status == SSH_FAILURE else Result.EXITED


FORWARDING_REFUSED = b"administratively prohibited"


def forwarding_refused(log: bytes) -> bool:
    """Whether the connection to the proxy logged a channel refused by policy
    (AllowTcpForwarding no), rather than a node that could not be reached."""
    return FORWARDING_REFUSED in log


def forwarding_refused_message(proxy: str) -> str:
    return (
        f"The proxy {proxy} refuses to forward connections to the nodes (\"administratively prohibited\": "
        "its sshd has AllowTcpForwarding no, or forbids it for your user), so `dcos node run` cannot reach "
        "them through it. Ask its administrator to allow TCP forwarding (AllowTcpForwarding yes or local "
        "in its sshd_config) for your user, or hop through another host with --proxy-ip=<host>."
    )


# -- output ----------------------------------------------------------------------------

class Lines:
    """Splits one stream into whole lines as chunks arrive; `end()` gives the unfinished
    last line, completed with a newline."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> List[bytes]:
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        return data[:cut].splitlines(keepends=True) if cut else []

    def end(self) -> List[bytes]:
        rest, self._pending = self._pending, b""
        return [rest + b"\n"] if rest else []


def prefixed(name: str, lines: Iterable[bytes]) -> bytes:
    """Each line as `<node>: <line>`, the line's bytes as they came."""
    prefix = printable(name).encode("utf-8") + b": "
    return b"".join(prefix + line for line in lines)


def fold(names: Sequence[str]) -> str:
    """Names folded as clush and pdsh fold them (`fleet-[0-199]`), with ClusterShell's
    NodeSet. Names that are not plain host names or addresses are listed as they are,
    escaped."""
    plain = sorted({name for name in names if normalize_host(name) == name})
    others = sorted({printable(name) for name in names if normalize_host(name) != name})
    parts = []
    if plain:
        from ClusterShell.NodeSet import RESOLVER_NOGROUP, NodeSet

        parts.append(str(NodeSet.fromlist(plain, resolver=RESOLVER_NOGROUP)))
    return ",".join(parts + others)


def describe(result: NodeResult, timeout: Optional[float] = None) -> str:
    """What happened on a node, in a few words."""
    if result.result is Result.EXITED:
        return f"exit status {result.status}"
    if result.result is Result.UNREACHABLE:
        return f"could not be reached or logged in to (ssh exit status {SSH_FAILURE})"
    if result.result is Result.TIMED_OUT:
        return f"timed out after {timeout:g} s" if timeout else "timed out"
    if result.result is Result.INTERRUPTED:
        return "interrupted"
    if result.result is Result.NOT_STARTED:
        return "not started"
    return "refused: no usable address from the cluster"


RULE = "-" * 15


def gather(results: Sequence[NodeResult], timeout: Optional[float] = None) -> bytes:
    """Output grouped as `clush -b` does: each distinct (stdout, stderr, ending) once, under
    the folded names of the nodes that gave it and their count; the groups by size, the
    largest first. Output bytes as they came; stderr, when any, after a `stderr:` line."""
    groups: Dict[Tuple[bytes, bytes, int, int], List[NodeResult]] = {}
    order = list(Result)
    for result in results:
        key = (result.stdout, result.stderr, order.index(result.result), result.status or 0)
        groups.setdefault(key, []).append(result)
    out = []
    for (stdout, stderr, _, _), members in sorted(groups.items(),
                                                           key=lambda item: (-len(item[1]), item[0][2:])):
        names = [member.target.name for member in members]
        header = f"{RULE}\n{fold(names)} ({len(names)}): {describe(members[0], timeout)}\n{RULE}\n"
        out.append(header.encode("utf-8") + _ended(stdout))
        if stderr:
            out.append(b"stderr:\n" + _ended(stderr))
    return b"".join(out)


def _ended(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


def _text(data: bytes, key: str) -> Dict[str, Optional[str]]:
    """A stream for --json: the text when it is UTF-8; else null, and the bytes in base64."""
    try:
        return {key: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {key: None, key + "_base64": base64.b64encode(data).decode("ascii")}


def json_line(result: NodeResult) -> str:
    """One node as one line of JSON."""
    target = result.target
    entry = {"id": target.id, "hostname": target.hostname, "address": target.address, "type": target.kind.value,
             "result": result.result.value, "status": result.status}
    entry.update(_text(result.stdout, "stdout"))
    entry.update(_text(result.stderr, "stderr"))
    if target.problem:
        entry["error"] = target.problem
    return json.dumps(entry) + "\n"


def status_file(result: NodeResult) -> bytes:
    """The `status` file of --output-dir: the exit status when ssh ended on its own (255:
    ssh could not connect or log in), else what happened, as one line."""
    if result.result in (Result.EXITED, Result.UNREACHABLE):
        return f"{result.status}\n".encode()
    return result.result.value.replace(" ", "-").encode() + b"\n"


def succeeded(results: Sequence[NodeResult]) -> bool:
    return all(result.result is Result.EXITED and result.status == 0 for result in results)


def summary(results: Sequence[NodeResult], timeout: Optional[float] = None) -> str:
    """How many nodes ran the command and how many exited 0; then, by name, every node
    that did not: each exit status, unreachable, timed out, not run."""
    ran = [result for result in results if result.result is Result.EXITED]
    zero = sum(1 for result in ran if result.status == 0)
    noun = "node" if len(results) == 1 else "nodes"
    lines = [f"{len(results)} {noun}: {len(ran)} ran the command, {zero} exited 0."]
    groups: Dict[Tuple[int, int, str], List[str]] = {}
    order = list(Result)
    for result in results:
        if result.result is Result.EXITED and result.status == 0:
            continue
        key = (order.index(result.result), result.status or 0, describe(result, timeout))
        groups.setdefault(key, []).append(result.target.name)
    for (_, _, what), names in sorted(groups.items()):
        lines.append(f"  {what} ({len(names)}): {fold(names)}")
    return "\n".join(lines) + "\n"
