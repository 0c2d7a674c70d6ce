"""`dcos node scp`'s core: `<node>:<path>` operands, and the argument list of OpenSSH's
scp, or of its sftp where scp is too old for SFTP mode.

Pure functions of plain data. No shell reads any of it: the argument list goes to
`execvp`, and scp runs in SFTP mode (`-s`), so a remote path is a file name sent
in an SFTP request, never a command line for the node's shell (the legacy
protocol ran `scp -f <path>` through it). Sources are globbed by scp itself
(remote_glob, not a shell), so their glob characters are escaped here; a path
that starts with '-' comes after `--`, or after `user@host:`.

scp has SFTP mode from OpenSSH 8.7 on. An older scp (8.2 on Ubuntu 20.04, 8.0 on
RHEL 8, 7.4 on CentOS 7) copies with `sftp -b -` instead: the same connection, and
batch commands that sftp's own parser reads (sftp.c's makeargv), each path quoted
for it; that parser is the same from 7.4 to today.
"""

import enum
import os
import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

from ..errors import NodeSshError, UsageError, shown
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
    preserve: bool = False  # keep modes and times (-p)


def remote_word(plan: ScpPlan, path: str) -> str:
    host = f"[{plan.target}]" if ":" in plan.target else plan.target
    return f"{plan.user}@{host}:{path}"


def _node_to_node(plan: ScpPlan) -> bool:
    *sources, destination = plan.operands
    return destination.place is Place.REMOTE and any(source.place is Place.REMOTE for source in sources)


def _connection_words(plan: ScpPlan) -> List[str]:
    """The connection's options, the same for scp and sftp: through the proxy, the jump
    mode ProxyCommand of `dcos node ssh --jump` (with every --option, and the
    --proxy-options) and the node's HostKeyAlias; every --option for the node too."""
    words: List[str] = []
    if plan.proxy is not None:
        jump = SshPlan(target=plan.target, user=plan.user, proxy=plan.proxy, options=plan.options,
                       proxy_options=plan.proxy_options, client=plan.ssh_client, jump=True)
        words += ["-o", "ProxyCommand=" + proxy_command(jump)] + host_key_words(plan.host_key_alias)
    for option in plan.options:
        words += ["-o", option]
    return words


def scp_argv(plan: ScpPlan) -> List[str]:
    """OpenSSH scp in SFTP mode, connected as _connection_words says."""
    argv = [plan.client, "-s"]
    if plan.recursive:
        argv.append("-r")
    if plan.preserve:
        argv.append("-p")
    *sources, destination = plan.operands
    if _node_to_node(plan):
        argv.append("-3")  # node to node through here: nothing runs on the node (the default since 9.0)
    argv += _connection_words(plan)
    argv.append("--")
    for operand in sources:
        argv.append(operand.path if operand.place is Place.LOCAL else remote_word(plan, glob_escaped(operand.path)))
    argv.append(destination.path if destination.place is Place.LOCAL else remote_word(plan, destination.path))
    return argv


# -- scp's SFTP mode, and sftp where scp has none ----------------------------------------

SFTP_MODE_SINCE = "8.7"  # the OpenSSH release whose scp has -s
_USAGE_FLAGS = re.compile(r"usage: scp \[-([0-9A-Za-z]+)\]")


def scp_has_sftp_mode(usage: str) -> Optional[bool]:
    """Whether an scp has SFTP mode (-s), from the usage text it prints when run without
    operands (`usage: scp [-346ABCOpqRrsTv] ...` from 8.7 on, `[-346BCpqrTv]` in 8.2,
    `[-12346BCpqrv]` in 7.4); None when the text is not OpenSSH's."""
    match = _USAGE_FLAGS.search(usage)
    return None if match is None else "s" in match.group(1)


def openssh_release(version_line: str) -> Optional[str]:
    """The release `ssh -V` names ("8.2" from "OpenSSH_8.2p1 Ubuntu-4ubuntu0.5, OpenSSL ..."),
    or None."""
    match = re.match(r"OpenSSH_for_Windows_([0-9]+\.[0-9]+)|OpenSSH_([0-9]+\.[0-9]+)", version_line.strip())
    return None if match is None else match.group(1) or match.group(2)


def no_sftp_mode_notice(scp_path: str, release: Optional[str], sftp_path: str) -> str:
    """The line said once when sftp copies instead of scp."""
    which = f"OpenSSH {release}" if release else scp_path
    return (f"This scp ({which}) has no SFTP mode (-s, OpenSSH {SFTP_MODE_SINCE} and later): copying with sftp "
            f"({sftp_path}), which keeps the node's shell out of it too.")


# sftp reads a batch line with fgets into a buffer of 2048 bytes; a longer line would be
# split, and its rest read as another command.
SFTP_LINE_BYTES = 2046


def sftp_quoted(path: str) -> str:
    """A path as one argument of an sftp command, whatever it holds: in double quotes,
    with each backslash and double quote escaped. Inside quotes sftp's parser escapes
    `*`, `?` and `[` for glob(3) itself, so the argument is a pattern that matches this
    path only (for a source, which sftp globs), and sftp unescapes it again for a
    destination, which it does not glob."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sftp_remote(path: str) -> str:
    """A remote path as scp's SFTP mode reads it: `~` and `~/` are the user's home, where
    sftp starts, so they become relative paths; empty is the home itself."""
    if path in ("", "~"):
        return "."
    if path.startswith("~/"):
        return path[2:] or "."
    if path.startswith("~"):
        raise NodeSshError(
            f"'{shown(path)}' names another user's home, which sftp cannot expand (scp in SFTP mode "
            f"asks the server, with OpenSSH {SFTP_MODE_SINCE} and later): write the path in full."
        )
    return path


def sftp_commands(plan: ScpPlan) -> bytes:
    """The batch for `sftp -b -`: a `put` per local source, or a `get` per remote one.
    With several sources the destination must be a folder, as with scp: a trailing '/'
    makes sftp fail otherwise, where it would copy each source over the last."""
    *sources, destination = plan.operands
    if _node_to_node(plan):
        raise NodeSshError(
            "This scp has no SFTP mode, and sftp cannot copy from a node to a node (scp's -3): copy to this "
            f"machine, then to the node, in two commands, or use OpenSSH {SFTP_MODE_SINCE} or later."
        )
    verb = "get" if destination.place is Place.LOCAL else "put"
    if any((source.place is Place.LOCAL) == (verb == "get") for source in sources):
        raise NodeSshError(
            "This scp has no SFTP mode, and sftp copies between this machine and a node only: copy the local "
            f"paths with cp, or use OpenSSH {SFTP_MODE_SINCE} or later."
        )
    target = _sftp_remote(destination.path) if destination.place is Place.REMOTE else destination.path
    if len(sources) > 1 and not target.endswith("/"):
        target += "/"
    flags = " -R" if plan.recursive else ""
    flags += " -p" if plan.preserve else ""
    lines = []
    for source in sources:
        path = _sftp_remote(source.path) if source.place is Place.REMOTE else source.path
        for each in (path, target):
            if "\n" in each:
                raise NodeSshError(f"'{shown(each)}' holds a line break, which sftp's commands cannot carry (they "
                                   f"are lines): rename it, or use OpenSSH {SFTP_MODE_SINCE} or later.")
        line = f"{verb}{flags} -- {sftp_quoted(path)} {sftp_quoted(target)}"
        encoded = os.fsencode(line)
        if len(encoded) > SFTP_LINE_BYTES:
            raise NodeSshError(f"The paths of '{shown(path)}' are too long for one sftp command ({len(encoded)} "
                               f"bytes, at most {SFTP_LINE_BYTES}): use shorter ones, or OpenSSH "
                               f"{SFTP_MODE_SINCE} or later.")
        lines.append(encoded + b"\n")
    return b"".join(lines)


def sftp_argv(plan: ScpPlan, client: str = "sftp") -> List[str]:
    """OpenSSH sftp reading its commands from stdin (-b -), connected as scp would be.
    `-b` turns BatchMode on for its ssh; BatchMode=no, after every --option (ssh keeps
    the first value), lets ssh ask for a passphrase or a new host key as scp's would,
    unless an --option says otherwise."""
    host = f"[{plan.target}]" if ":" in plan.target else plan.target
    return [client] + _connection_words(plan) + ["-o", "BatchMode=no", "-b", "-", "--", f"{plan.user}@{host}"]
