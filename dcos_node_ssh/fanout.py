"""`dcos node run`, the pure part of its results: how each node ended, and every format
they are shown in (prefixed lines, gather, a JSON line, the files of --output-dir, the
summary).

Functions of plain data only: the command (commands/run.py) and the output handlers
(outputs.py) do the I/O. Every name from the cluster is escaped before it is printed.
"""

import base64
import enum
import json
import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from .errors import ExitStatus, printable
from .hosts import normalize_host
from .proc.window import Ending
from .selection import Target


class Result(enum.Enum):
    """How a node's run ended; the value is what --json says (and, with '-' for ' ', the
    status file). The order is the order of the summary's lines."""

    EXITED = "exited"
    UNREACHABLE = "unreachable"  # ssh's own failure (exit status 255): not reached, or not logged in
    KILLED = "killed"  # the local ssh was killed by a signal (a crash, or someone else's kill)
    TIMED_OUT = "timed out"
    INTERRUPTED = "interrupted"  # ended by a stop signal (Ctrl-C, SIGTERM, SIGHUP)
    NOT_STARTED = "not started"  # a stop signal came first, the proxy refused forwarding, or ssh could not start
    REFUSED = "refused"  # the cluster gives it no usable address


class NodeResult(NamedTuple):
    target: Target
    result: Result
    status: Optional[int] = None  # the exit status, when it exited
    stdout: bytes = b""
    stderr: bytes = b""
    signal: Optional[int] = None  # what killed the local ssh (KILLED)


_RESULTS = {Ending.TIMED_OUT: Result.TIMED_OUT, Ending.INTERRUPTED: Result.INTERRUPTED,
            Ending.KILLED: Result.KILLED, Ending.UNSTARTED: Result.NOT_STARTED}


def node_result(target: Target, ending: Ending, code: Optional[int], stdout: bytes = b"",
                stderr: bytes = b"") -> NodeResult:
    """What a child's ending (proc.window) means for its node: an exit status of 255 is
    ssh's own failure; a signal is the local ssh's, not the command's."""
    if ending is Ending.EXITED:
        result = Result.UNREACHABLE if code == ExitStatus.SSH_FAILED else Result.EXITED
        return NodeResult(target, result, code, stdout, stderr)
    return NodeResult(target, _RESULTS[ending], None, stdout, stderr, code if ending is Ending.KILLED else None)


# -- lines ------------------------------------------------------------------------------

class Lines:
    """Splits one stream into whole lines as chunks arrive; `end()` gives the unfinished
    last line, completed with a newline. Each byte is copied a bounded number of times,
    however long a line grows before its newline."""

    def __init__(self) -> None:
        self._pending: List[bytes] = []

    def feed(self, chunk: bytes) -> List[bytes]:
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            self._pending.append(chunk)
            return []
        whole = b"".join(self._pending) + chunk[:cut] if self._pending else chunk[:cut]
        self._pending = [chunk[cut:]] if cut < len(chunk) else []
        return whole.splitlines(keepends=True)

    def end(self) -> List[bytes]:
        rest, self._pending = b"".join(self._pending), []
        return [rest + b"\n"] if rest else []


def prefixed(name: str, lines: Iterable[bytes]) -> bytes:
    """Each line as `<node>: <line>`, the line's bytes as they came."""
    prefix = printable(name).encode("utf-8") + b": "
    return b"".join(prefix + line for line in lines)


# -- words ------------------------------------------------------------------------------

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


def signal_name(number: Optional[int]) -> str:
    import signal

    try:
        return signal.Signals(number or 0).name
    except ValueError:
        return f"signal {number}"


def describe(result: NodeResult, timeout: Optional[float] = None, program: str = "") -> str:
    """What happened on a node, in a few words; `program` names what exited, when it is
    not the command (`scp`)."""
    if result.result is Result.EXITED:
        return f"{program} exit status {result.status}".lstrip()
    if result.result is Result.UNREACHABLE:
        return f"could not be reached or logged in to (ssh exit status {ExitStatus.SSH_FAILED:d})"
    if result.result is Result.KILLED:
        return f"the local ssh was killed by {signal_name(result.signal)} (signal {result.signal})"
    if result.result is Result.TIMED_OUT:
        return f"timed out after {timeout:g} s" if timeout else "timed out"
    if result.result is Result.INTERRUPTED:
        return "interrupted"
    if result.result is Result.NOT_STARTED:
        return "not started"
    return "refused: no usable address from the cluster"


def _order(result: NodeResult) -> Tuple[int, int, int]:
    """Results sort as the summary lists them: by kind, then exit status or signal."""
    return (_ORDER[result.result], result.status or 0, result.signal or 0)


_ORDER = {result: position for position, result in enumerate(Result)}


# -- --gather ---------------------------------------------------------------------------

RULE = "-" * 15


def gather(results: Sequence[NodeResult], timeout: Optional[float] = None) -> bytes:
    """Output grouped as `clush -b` does: each distinct (stdout, stderr, ending) once, under
    the folded names of the nodes that gave it and their count; the groups by size, the
    largest first. Output bytes as they came; stderr, when any, after a `stderr:` line."""
    groups: Dict[Tuple[bytes, bytes, Tuple[int, int, int]], List[NodeResult]] = {}
    for result in results:
        groups.setdefault((result.stdout, result.stderr, _order(result)), []).append(result)
    out = []
    for (stdout, stderr, _), members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0][2])):
        names = [member.target.name for member in members]
        header = f"{RULE}\n{fold(names)} ({len(names)}): {describe(members[0], timeout)}\n{RULE}\n"
        out.append(header.encode("utf-8") + _ended(stdout))
        if stderr:
            out.append(b"stderr:\n" + _ended(stderr))
    return b"".join(out)


def _ended(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


# -- --json -----------------------------------------------------------------------------

def _text(data: bytes, key: str) -> Dict[str, Optional[str]]:
    """A stream for --json: the text when it is UTF-8; else null, and the bytes in base64."""
    try:
        return {key: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {key: None, key + "_base64": base64.b64encode(data).decode("ascii")}


def json_line(result: NodeResult, extra: Optional[Dict[str, str]] = None) -> str:
    """One node as one line of JSON; `extra` keys after the node's (fetch's folder)."""
    target = result.target
    entry = {"id": target.id, "hostname": target.hostname, "address": target.address, "type": target.kind.value,
             "result": result.result.value, "status": result.status}
    entry.update(extra or {})
    if result.result is Result.KILLED:
        entry["signal"] = result.signal
    entry.update(_text(result.stdout, "stdout"))
    entry.update(_text(result.stderr, "stderr"))
    if target.problem:
        entry["error"] = target.problem
    return json.dumps(entry) + "\n"


# -- --output-dir -----------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}")


def folder_of(target: Target) -> str:
    """A node's own folder name under --output-dir: its agent ID, or a master's address;
    `unnamed-<address>` for an ID that is no plain file name (a '/', a newline, '..')."""
    if target.id and _SAFE_NAME.fullmatch(target.id):
        return target.id
    if target.id or not target.address:
        return "unnamed-" + (target.address or target.kind.name.lower())
    return target.address


def folder_names(targets: Sequence[Target]) -> List[str]:
    """Every target's folder, one per node: its own name (folder_of); when an earlier node
    has that name already (also as a file system that ignores case sees it), the name
    and `~2`, `~3`…, which neither an ID nor an address can hold."""
    seen: Dict[str, int] = {}
    names = []
    for target in targets:
        name = folder_of(target)
        count = seen[name.casefold()] = seen.get(name.casefold(), 0) + 1
        names.append(name if count == 1 else f"{name}~{count}")
    return names


def status_file(result: NodeResult) -> bytes:
    """The `status` file of --output-dir, one line: the exit status when ssh ended on its
    own (255: ssh could not connect or log in), else what happened."""
    if result.result in (Result.EXITED, Result.UNREACHABLE):
        return f"{result.status}\n".encode()
    if result.result is Result.KILLED:
        return f"killed-by-{signal_name(result.signal).replace(' ', '-')}\n".encode()
    return result.result.value.replace(" ", "-").encode() + b"\n"


# -- the summary ------------------------------------------------------------------------

def succeeded(results: Sequence[NodeResult]) -> bool:
    return all(result.result is Result.EXITED and result.status == 0 for result in results)


def summary(results: Sequence[NodeResult], timeout: Optional[float] = None,
            unrecorded: Sequence[Target] = (), copied: Optional[str] = None) -> str:
    """How many nodes ran the command and how many exited 0 (`copy` and `fetch`: how many
    were copied to or from, which is scp exiting 0, said by `copied`: "Copied to {done} of
    {nodes}." gives "Copied to 250 of 252 nodes."); then, by name, every node that did not: each
    exit status, unreachable, timed out, not run; and the nodes whose results could not
    be written to --output-dir."""
    ran = [result for result in results if result.result is Result.EXITED]
    zero = sum(1 for result in ran if result.status == 0)
    noun = "node" if len(results) == 1 else "nodes"
    if copied is None:
        lines = [f"{len(results)} {noun}: {len(ran)} ran the command, {zero} exited 0."]
    else:
        lines = [copied.replace("{done}", str(zero)).replace("{nodes}", f"{len(results)} {noun}")]
    program = "scp" if copied else ""
    groups: Dict[Tuple[Tuple[int, int, int], str], List[str]] = {}
    for result in results:
        if not (result.result is Result.EXITED and result.status == 0):
            groups.setdefault((_order(result), describe(result, timeout, program)), []).append(result.target.name)
    for (_, what), names in sorted(groups.items()):
        lines.append(f"  {what} ({len(names)}): {fold(names)}")
    if unrecorded:
        lines.append(f"  not recorded in --output-dir ({len(unrecorded)}): {fold([t.name for t in unrecorded])}")
    return "\n".join(lines) + "\n"
