"""`dcos node scp`'s core: `<node>:<path>` operands and OpenSSH's scp argument list.

Pure functions of plain data. No shell reads any of it: the argument list goes to
`execvp`, and scp runs in SFTP mode (`-s`), so a remote path is a file name sent
in an SFTP request, never a command line for the node's shell (the legacy
protocol ran `scp -f <path>` through it). Sources are globbed by scp itself
(remote_glob, not a shell), so their glob characters are escaped here; a path
that starts with '-' comes after `--`, or after `user@host:`.
"""

import enum
from typing import List, NamedTuple, Optional, Sequence, Tuple

from ..errors import UsageError, shown
from .hops import SshPlan, host_key_words, proxy_command

LEADER_NAMES = ("leader", "master")


class Place(enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"


class Operand(NamedTuple):
    place: Place
    path: str
    node: Optional[str] = None  # as written before the ':', for a remote operand


def parse_operand(word: str) -> Operand:
    """`<node>:<path>` is remote, as scp reads `host:path`: a ':' before any '/', not
    first; `[<address>]:<path>` for an IPv6 address. Anything else is a local path
    (write `./a:b` for a local file whose name holds a ':')."""
    if word.startswith("["):
        close = word.find("]")
        if close > 1 and word[close + 1:close + 2] == ":":
            return Operand(Place.REMOTE, word[close + 2:], word[1:close])
        return Operand(Place.LOCAL, word)
    colon = word.find(":")
    slash = word.find("/")
    if colon <= 0 or 0 <= slash < colon:
        return Operand(Place.LOCAL, word)
    return Operand(Place.REMOTE, word[colon + 1:], word[:colon])


def parse_operands(words: Sequence[str]) -> Tuple[Operand, ...]:
    """The operands, sources first and the destination last, checked: at least one
    names a node, and no node is written as `user@node` (use --user)."""
    if len(words) < 2:
        raise UsageError("Give at least one source and a destination.")
    operands = tuple(parse_operand(word) for word in words)
    for operand in operands:
        if operand.place is Place.REMOTE and "@" in (operand.node or ""):
            raise UsageError(
                f"'{shown(operand.node)}' names a user and a node; give the node alone "
                "(`<node>:<path>`) and the user with --user=<user>."
            )
    if all(operand.place is Place.LOCAL for operand in operands):
        raise UsageError(
            "None of the paths names a node. A remote path is <node>:<path>, where <node> is "
            "`leader` (or `master`), an agent's ID or a unique part of it, its host name or "
            "its address; for a local copy, use cp."
        )
    return operands


def node_names(operands: Sequence[Operand]) -> List[str]:
    """The nodes named, each once, in order."""
    names: List[str] = []
    for operand in operands:
        if operand.place is Place.REMOTE and operand.node not in names:
            names.append(operand.node or "")
    return names


_GLOB = "\\*?["


def glob_escaped(path: str) -> str:
    """A path as a pattern that matches exactly that path: scp globs its remote
    sources (`*`, `?`, `[`), and a backslash makes each of them (and itself) plain."""
    return "".join("\\" + char if char in _GLOB else char for char in path)


class ScpPlan(NamedTuple):
    """What to copy, once the node's address is known (a validated address or name)."""

    operands: Tuple[Operand, ...]  # sources, then the destination
    target: str
    user: str
    proxy: Optional[str] = None
    options: Tuple[str, ...] = ()  # "Key=Value", for every connection
    proxy_options: Tuple[str, ...] = ()  # "Key=Value", for the connection to the proxy only
    recursive: bool = False
    host_key_alias: Optional[str] = None
    client: str = "scp"
    ssh_client: str = "ssh"  # the proxy connection's program, in the ProxyCommand


def remote_word(plan: ScpPlan, path: str) -> str:
    host = f"[{plan.target}]" if ":" in plan.target else plan.target
    return f"{plan.user}@{host}:{path}"


def scp_argv(plan: ScpPlan) -> List[str]:
    """OpenSSH scp in SFTP mode; through the proxy, the jump mode ProxyCommand of
    `dcos node ssh --jump` (with every --option, and the --proxy-options) and the node's
    HostKeyAlias; every --option for the connection to the node too."""
    argv = [plan.client, "-s"]
    if plan.recursive:
        argv.append("-r")
    *sources, destination = plan.operands
    if destination.place is Place.REMOTE and any(source.place is Place.REMOTE for source in sources):
        argv.append("-3")  # node to node through here: nothing runs on the node (the default since 9.0)
    if plan.proxy is not None:
        jump = SshPlan(target=plan.target, user=plan.user, proxy=plan.proxy, options=plan.options,
                       proxy_options=plan.proxy_options, client=plan.ssh_client, jump=True)
        argv += ["-o", "ProxyCommand=" + proxy_command(jump)] + host_key_words(plan.host_key_alias)
    for option in plan.options:
        argv += ["-o", option]
    argv.append("--")
    for operand in sources:
        argv.append(operand.path if operand.place is Place.LOCAL else remote_word(plan, glob_escaped(operand.path)))
    argv.append(destination.path if destination.place is Place.LOCAL else remote_word(plan, destination.path))
    return argv
