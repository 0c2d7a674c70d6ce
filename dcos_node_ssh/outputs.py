"""Where `dcos node run` shows what the nodes did: one small handler per output mode
(flags.OutputMode), each told the same three things: a node's output as it arrives, a
node's end, and the end of the run. The formats are fanout's pure functions.
"""

import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Set

from . import fanout
from .errors import NodeSshError, printable, shown
from .fanout import NodeResult
from .flags import OutputMode, RunFlags
from .selection import Target

if TYPE_CHECKING:
    from .environment import Environment
    from .files import EmptyFolder


class Handler:
    """What every output mode is told; a mode overrides what it needs."""

    # Whether each node's bytes are kept for its result (gather, JSON, folders need them;
    # the default mode prints them as they come, and keeps nothing).
    keeps_output = True

    def output(self, target: Target, stream: int, chunk: bytes) -> None:
        """Bytes a node wrote to stream 1 (stdout) or 2 (stderr), as they arrive."""

    def node_done(self, result: NodeResult, explained: bool = False) -> None:
        """A node is over (or was never started). `explained`: its ssh's complaint is
        said once for all elsewhere (a proxy that refuses forwarding)."""

    def finish(self, results: Sequence[NodeResult]) -> None:
        """Every node is over."""

    def unrecorded(self) -> List[Target]:
        """The nodes whose results could not be kept as asked."""
        return []


def for_mode(flags: RunFlags, environment: "Environment", targets: Sequence[Target]) -> Handler:
    """The handler of the output mode asked for; --output-dir's folder is checked here,
    before any node is connected to."""
    if flags.output is OutputMode.GATHER:
        return Gather(environment, flags.timeout)
    if flags.output is OutputMode.JSON:
        return JsonLines(environment)
    if flags.output is OutputMode.FOLDERS:
        return Folders(environment, flags.output_dir or "", targets)
    return PrefixedLines(environment)


class PrefixedLines(Handler):
    """Each line as it comes, as `<node>: <line>`, stdout on stdout and stderr on stderr.
    A node's stderr waits for its first stdout, or its end: when the proxy refuses to
    forward, ssh's words for it are dropped and the reason said once."""

    keeps_output = False

    def __init__(self, environment: "Environment"):
        self._streams = {1: environment.stdout, 2: environment.stderr}
        self._lines: Dict[Target, List[fanout.Lines]] = {}
        self._held: Dict[Target, List[bytes]] = {}  # stderr lines of nodes that have not written to stdout
        self._flowing: Set[Target] = set()  # nodes that have written to stdout

    def _show(self, target: Target, stream: int, lines: List[bytes]) -> None:
        data = fanout.prefixed(target.name, lines)
        if data:
            self._streams[stream].write_bytes(data)
            self._streams[stream].flush()

    def output(self, target: Target, stream: int, chunk: bytes) -> None:
        lines = self._lines.setdefault(target, [fanout.Lines(), fanout.Lines()])[stream - 1].feed(chunk)
        if stream == 1:
            self._show(target, 2, self._held.pop(target, []))
            self._flowing.add(target)
            self._show(target, 1, lines)
        elif target in self._flowing:
            self._show(target, 2, lines)
        else:
            self._held.setdefault(target, []).extend(lines)

    def node_done(self, result: NodeResult, explained: bool = False) -> None:
        target = result.target
        stdout, stderr = self._lines.pop(target, [fanout.Lines(), fanout.Lines()])
        self._show(target, 1, stdout.end())
        waiting = self._held.pop(target, []) + stderr.end()
        self._flowing.discard(target)
        if not explained:
            self._show(target, 2, waiting)


class Gather(Handler):
    """Each distinct output once, under the nodes that gave it, after the last node."""

    def __init__(self, environment: "Environment", timeout: Optional[float]):
        self._stdout = environment.stdout
        self._timeout = timeout

    def finish(self, results: Sequence[NodeResult]) -> None:
        self._stdout.write_bytes(fanout.gather(results, self._timeout))


class JsonLines(Handler):
    """One JSON object per node, as each node ends; `extra` adds keys of a node's own
    (fetch's folder)."""

    def __init__(self, environment: "Environment", extra: Optional[Dict[Target, Dict[str, str]]] = None):
        self._stdout = environment.stdout
        self._extra = extra or {}

    def node_done(self, result: NodeResult, explained: bool = False) -> None:
        self._stdout.write(fanout.json_line(result, self._extra.get(result.target)))
        self._stdout.flush()


class Folders(Handler):
    """Each node's stdout, stderr and status in a folder of its own, in a folder that
    must be new or empty: an earlier run's results beside this run's would be taken for
    this run's (`cat DIR/*/status`). Nothing already there is ever written through (a
    link, a FIFO): a node whose folder cannot be written is reported and counted, and
    the others go on."""

    def __init__(self, environment: "Environment", path: str, targets: Sequence[Target]):
        self._stderr = environment.stderr
        self._path = path
        self._folder = empty_folder(path, "--output-dir")
        self._names = folder_names(self._stderr, path, targets, "results")
        self._failed: List[Target] = []

    def _where(self, name: str) -> str:
        return os.path.join(self._path, name)

    def node_done(self, result: NodeResult, explained: bool = False) -> None:
        name = self._names[result.target]
        try:
            self._folder.write(name, (("stdout", result.stdout), ("stderr", result.stderr),
                                      ("status", fanout.status_file(result))))
        except OSError as error:
            self._failed.append(result.target)
            self._stderr.write(f"{printable(result.target.name)}: not recorded: cannot write "
                               f"{shown(self._where(name))}: {error.strerror or error}.\n")

    def finish(self, results: Sequence[NodeResult]) -> None:
        self._folder.close()

    def unrecorded(self) -> List[Target]:
        return list(self._failed)


def empty_folder(path: str, what: str, earlier: str = "results of an earlier run beside this run's would be taken "
                 "for this run's") -> "EmptyFolder":
    """The folder the nodes' results go to, opened (files.EmptyFolder); one that is not
    empty or cannot be written is refused, before any node is connected to. `what` names
    it in the messages ("--output-dir"), `earlier` says why it must be empty."""
    from .files import EmptyFolder

    try:
        return EmptyFolder(path)
    except OSError as error:
        raise NodeSshError(_unusable(path, error, what, earlier)) from None


def folder_names(stderr, path: str, targets: Sequence[Target], what: str) -> Dict[Target, str]:
    """Each node's folder name in it (fanout.folder_names); where that is not the node's
    own ID or address, said on stderr (`what`: "results", "files")."""
    names = dict(zip(targets, fanout.folder_names(targets)))
    for target, name in names.items():
        if name != (target.id or target.address):
            kind = "agent ID" if target.id else "address"
            stderr.write(f"{printable(target.name)}: its {what} go to {shown(os.path.join(path, name))} (its "
                         f"{kind} cannot name a folder of its own).\n")
    return names


def _unusable(path: str, error: OSError, what: str, earlier: str) -> str:
    import errno

    if error.errno == errno.ENOTEMPTY:
        return f"{what} {shown(path)} is not empty. Name a new or empty folder: {earlier}."
    return f"Cannot write to {what} {shown(path)}: {error.strerror or error}."

