"""`dcos node ssh-config`'s core: the OpenSSH config text for a cluster's nodes, and the
edit that makes `~/.ssh/config` include it.

Pure functions of plain data. Nothing from the cluster reaches the text unless it is
a validated address or host name (hosts.normalize_host), or an agent ID of a safe
character set; whatever is left out is said in a note. The proxy is a Host entry of
its own, reached with the user's options, and every node entry jumps through it
(ProxyJump), so no ProxyCommand (and no shell) is involved and `ssh -F <file>` passes
the file on to the jump connection.
"""

import os
import re
import shlex
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from ..errors import NodeSshError, UsageError, shown
from ..hosts import normalize_host
from ..nodes import Node, sort_nodes
from .hops import host_key_alias

DEFAULT_PREFIX = "dcos."
_PREFIX = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,62})?$")
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
LEADER = "leader"
PROXY = "proxy"


def check_prefix(value: str, source: str) -> str:
    if not _PREFIX.fullmatch(value):
        raise UsageError(
            f"The prefix from {source} must be at most 63 letters, digits, '_', '.' and '-' (not "
            f"starting with '-' or '.'), not '{shown(value)}'."
        )
    return value


def default_prefix(cluster_name: Optional[str]) -> Tuple[str, Optional[str]]:
    """(the prefix, a note): the cluster's name and a dot, `dcos.` without a usable name."""
    if not cluster_name:
        return DEFAULT_PREFIX, None
    prefix = cluster_name + "."
    if _PREFIX.fullmatch(prefix):
        return prefix, None
    return DEFAULT_PREFIX, (f"The cluster's name '{shown(cluster_name)}' holds characters a Host alias "
                            f"cannot; using the prefix {DEFAULT_PREFIX} (choose one with --prefix).")


def file_name(prefix: str) -> str:
    """The generated file's name under ~/.ssh, one per prefix so clusters live side by side."""
    return f"dcos-node-ssh.{prefix.rstrip('.') or 'nodes'}.conf"


class HostEntry(NamedTuple):
    aliases: Tuple[str, ...]
    address: str
    about: str  # a comment line: only safe values


def node_entries(prefix: str, leader: str, agents: Iterable[Node]) -> Tuple[List[HostEntry], List[str]]:
    """(the leader's entry then each agent's, notes on what was left out).

    Aliases: <prefix>leader; per agent <prefix><ID>, <prefix><host name>, <prefix><address>.
    An agent that no command connects to (Node.problem, the rule every command follows)
    has no entry. An alias that two nodes would share (a refused one included), or that a
    reserved one (leader, proxy) has, is left out, since ssh would take the first entry for
    both."""
    notes: List[str] = []
    leader_entry = HostEntry((prefix + LEADER,), leader, "the leading master")
    candidates: List[Tuple[Node, List[str]]] = []
    owners: Dict[str, Set[int]] = {}
    for index, node in enumerate(sort_nodes(agents)):
        names = []
        if _AGENT_ID.fullmatch(node.id):
            names.append(node.id)
        elif node.problem is None:
            notes.append(f"Agent ID {shown(node.id)} holds characters a Host alias cannot; only its host "
                         "name and address are aliases.")
        hostname = normalize_host(node.hostname) if node.hostname else None
        if hostname is not None:
            names.append(hostname)
        elif node.hostname and node.problem is None:
            notes.append(f"Agent {shown(node.id)} has the host name {shown(node.hostname)}, which is not a "
                         "host name; it is not an alias.")
        if node.address:
            names.append(node.address)
        aliases: List[str] = []
        for name in names:
            if prefix + name not in aliases:
                aliases.append(prefix + name)
        for alias in aliases:
            owners.setdefault(alias, set()).add(index)
        if node.problem is not None:
            notes.append(f"{node.problem} It is left out.")
        else:
            candidates.append((node, aliases))
    reserved = {prefix + LEADER, prefix + PROXY}
    entries = [leader_entry]
    for node, aliases in candidates:
        kept = []
        for alias in aliases:
            if alias in reserved or len(owners[alias]) > 1:
                notes.append(f"The alias {shown(alias)} would name more than one node; left out.")
            else:
                kept.append(alias)
        if kept:
            about = f"{node.kind.value} {node.id}" if _AGENT_ID.fullmatch(node.id) else node.kind.value
            entries.append(HostEntry(tuple(kept), node.address, about))
    return entries, sorted(set(notes), key=notes.index)


class ConfigPlan(NamedTuple):
    prefix: str
    user: str
    entries: Tuple[HostEntry, ...]  # the leader's, then the agents'
    proxy: Optional[str] = None  # None: direct connections
    options: Tuple[str, ...] = ()  # "Key=Value", for every connection, the proxy's included
    cluster: Optional[str] = None  # the cluster's identity (openssh.hops.cluster_key), for HostKeyAlias
    title: str = "a DC/OS cluster"  # safe text, for the first comment


def _block(aliases: Sequence[str], lines: Sequence[str], options: Sequence[str]) -> List[str]:
    # A `-o Key=Value` and a config line `Key=Value` are read by the same parser: each
    # option means here what it means on a command line.
    return ["Host " + " ".join(aliases)] + ["    " + line for line in list(lines) + list(options)] + [""]


def config_text(plan: ConfigPlan) -> str:
    out = [
        f"# The nodes of {plan.title}, for OpenSSH (ssh, scp, sftp, rsync -e ssh).",
        "# Written by `dcos node ssh-config`; run it again to refresh it as agents come and go.",
        "",
    ]
    jump: List[str] = []
    if plan.proxy is not None:
        out += _block([plan.prefix + PROXY], [f"HostName {plan.proxy}", f"User {plan.user}"], plan.options)
        jump = [f"ProxyJump {plan.prefix}{PROXY}"]
    for entry in plan.entries:
        lines = [f"HostName {entry.address}", f"User {plan.user}"]
        alias = host_key_alias(plan.cluster, entry.address) if plan.proxy is not None else None
        if alias:
            lines.append(f"HostKeyAlias {alias}")
        out += [f"# {entry.about}"] + _block(entry.aliases, lines + jump, plan.options)
    return "\n".join(out)


# -- ~/.ssh/config -------------------------------------------------------------------

INCLUDE_NOTE = "# Added by `dcos node ssh-config --write`: remove this line and the next to undo."


def include_line(path: str) -> str:
    """`Include <path>`, quoted when it holds a space. OpenSSH reads an Include's path as a
    glob pattern, and no quoting makes a '"' or a line break part of it."""
    if any(char in path for char in '"\n\r*?['):
        raise NodeSshError(f"The path {shown(path)} cannot be written in an ssh config Include line: OpenSSH would "
                           "read '*', '?' and '[' as a pattern, and '\"' or a line break ends the path.")
    return f'Include "{path}"' if any(char.isspace() for char in path) else f"Include {path}"


def _keyword(line: bytes) -> Tuple[str, str]:
    text = line.decode("utf-8", "replace").strip()
    match = re.match(r"^([A-Za-z]+)(?:\s*=\s*|\s+)(.*)$", text)
    return (match.group(1).lower(), match.group(2)) if match else (text.lower(), "")


def _includes(arguments: str, path: str, ssh_folder: str, home: str) -> bool:
    try:
        words = shlex.split(arguments)
    except ValueError:
        return False
    for word in words:
        if word.startswith("~/"):
            word = os.path.join(home, word[2:])
        elif not os.path.isabs(word):
            word = os.path.join(ssh_folder, word)
        if os.path.normpath(word) == os.path.normpath(path):
            return True
    return False


def with_include(config: bytes, path: str, ssh_folder: str, home: str) -> Optional[bytes]:
    """`~/.ssh/config` with one Include of `path` before any Host or Match line (an
    Include after one belongs to that block), or None when it has one already. Only
    the lines this function writes are ever moved or removed; every other line stays
    byte for byte."""
    ours = {include_line(path).encode("utf-8"), INCLUDE_NOTE.encode("utf-8")}
    lines = config.splitlines(keepends=True)
    first_block = next((index for index, line in enumerate(lines) if _keyword(line)[0] in ("host", "match")),
                       len(lines))
    top = [index for index, line in enumerate(lines[:first_block])
           if _keyword(line)[0] == "include" and _includes(_keyword(line)[1], path, ssh_folder, home)]
    own_top = [index for index in top if lines[index].rstrip(b"\r\n") in ours]
    users_top = [index for index in top if index not in own_top]
    note = INCLUDE_NOTE.encode("utf-8")
    keep = set()
    if own_top and not users_top:  # keep the first of ours, and its note
        keep = {own_top[0]} | ({own_top[0] - 1} if own_top[0] and lines[own_top[0] - 1].rstrip(b"\r\n") == note
                               else set())
    kept = [line for index, line in enumerate(lines) if index in keep or line.rstrip(b"\r\n") not in ours]
    if not top:
        kept = [note + b"\n", include_line(path).encode("utf-8") + b"\n"] + kept
    result = b"".join(kept)
    return None if result == config else result
