"""What the commands on many nodes (`run`, `copy`, `fetch`) share: the flow from the
command line to every node's result.

`prepare`: refuse what cannot work (Windows, plink), ask the cluster for the proxy and
the nodes (selection), settle the user and the client, fit the window to the limit on
open files. `announce`: what is refused, then what runs. `execute`: with stop signals
noted (proc.signals), the connection to the proxy that every node's ssh shares, and one
child per node in a window (proc.window), each child's bytes and end given to `Nodes`,
which turns them into results for the output handler (outputs). With --warm, each node
gets a connection of its own first, unless it has one up already (warm.py), and the
children reach the nodes through it.
"""

import os
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Set

from .errors import ExitStatus, NodeSshError, SshSetupError, UsageError, printable, shown
from .flags import Choice, Count, RouteFlags
from .route import PROXY_COMMAND_SHELL, Route, direct_notice, host_key_alias

if TYPE_CHECKING:
    from .fanout import NodeResult
    from .openssh.shared import Shared
    from .outputs import Handler
    from .proc.signals import Signals
    from .proc.window import Ending
    from .selection import Target

PROXY_SECONDS = 300.0  # the connection to the proxy may ask for a passphrase or a host key
EXIT_SECONDS = 5.0
OPEN_SECONDS = 120.0  # a node's warm connection, when no --timeout bounds it
# The connection to the proxy lives as long as any node's warm connection through it, and
# this long after the last one (or, shorter, --warm's time).
PROXY_GRACE_SECONDS = 10


class Fleet(NamedTuple):
    """The nodes selected and how to reach them, before anything connects."""

    route: Route
    proxy: Optional[str]
    cluster: Optional[str]  # the cluster's identity, for the nodes' HostKeyAlias
    targets: List["Target"]  # every node selected, refused ones included
    reachable: List["Target"]  # those the cluster describes usably
    plan: "Shared"
    env: Dict[str, str]
    width: int
    sizes: List[int]  # the batches' sizes, in order: one batch of every reachable node without --batch

    def alias(self, target: "Target") -> Optional[str]:
        return host_key_alias(self.route, self.proxy, self.cluster, target.address)


def prepare(route_flags: RouteFlags, choice: Choice, parallel: int, environment, verb: str,
            batches: Sequence[Count] = ()) -> Fleet:
    """Everything up to the first connection: the route, the cluster's answers (the proxy,
    the nodes selected: only the requests the choice needs, at once), the user and the
    client, the batches, and how many nodes run at once."""
    from . import selecting
    from .commands import configuration, lookups, say
    from .openssh.shared import Shared
    from .proc.programs import find_client
    from .route import resolve, route_of, settle_user
    from .settings import DEFAULT_SSH_USER

    refuse_where_it_cannot_run(route_flags, verb)
    settings, debug = configuration(environment)
    route = route_of(route_flags, settings, jump=True)
    cluster = lookups(environment, settings, debug)
    hop, targets = resolve(route, settings, cluster, None, then=lambda: selecting.targets(cluster, choice))
    say(environment, hop.notices)
    proxy = hop.proxy
    reachable = [target for target in targets if not target.problem]
    route = settle_user(route, proxy or next((target.address for target in reachable), None), environment.env)
    client = find_client(route.client, False)
    from .rolling import batch_sizes

    sizes = batch_sizes(batches, len(reachable))
    width = fit(min(parallel, max(sizes, default=1)), parallel, environment.stderr, verb)
    plan = Shared(user=route.user or DEFAULT_SSH_USER, options=route.options, proxy_options=route.proxy_options,
                  config_file=route.config_file, client=client, proxy=proxy)
    env = dict(environment.env, **PROXY_COMMAND_SHELL)  # for the ProxyCommand, quoted for a POSIX shell
    return Fleet(route, proxy, hop.cluster, targets, reachable, plan, env, width, sizes)


def refuse_where_it_cannot_run(route_flags: RouteFlags, verb: str) -> None:
    from .openssh.hops import is_plink
    from .proc import POSIX
    from .proc.programs import choose_client

    if not POSIX:
        raise SshSetupError(
            f"`dcos node {verb}` shares one OpenSSH connection among all nodes (ControlMaster), which the "
            "Windows ssh clients cannot do. Run it from Linux or macOS (or WSL), or use `dcos node ssh`."
        )
    if is_plink(choose_client(route_flags.ssh_client)):
        raise UsageError(
            f"`dcos node {verb}` needs OpenSSH's ssh: it shares one connection to the proxy among all nodes "
            "(ControlMaster) and reaches each node with `ssh -W` through it, which plink cannot do. Leave "
            "out --ssh-client=plink (or name an OpenSSH ssh), or use `dcos node ssh --ssh-client=plink` "
            "one node at a time."
        )


def fit(width: int, asked: int, stderr, verb: str) -> int:
    """`width` children at once, or as many as the limit on open files allows, said."""
    from .proc.window import FDS_PER_CHILD, FDS_RESERVED, fit_width

    fitted, limit = fit_width(width)
    if fitted < 1:
        raise NodeSshError(
            f"The limit on open files (`ulimit -n`: {limit}) is too low for `dcos node {verb}`, which needs "
            f"{FDS_RESERVED + FDS_PER_CHILD} for one node at a time and {FDS_PER_CHILD} more for each further "
            "one. Raise it (`ulimit -n 1024`) and try again."
        )
    if fitted < width:
        stderr.write(f"--parallel={asked} needs more open files than the limit (`ulimit -n`: {limit}) allows: "
                     f"running {fitted} at a time.\n")
    return fitted


def announce(fleet: Fleet, stderr, doing: str, rolling_plan: str = "") -> None:
    """What is refused and why, then what runs (`doing`: "Running on", "Copying to"; and
    rolling.plan's words), before anything does."""
    for target in fleet.targets:
        if target.problem:
            stderr.write(f"{printable(target.name)}: {target.problem}\n")
    count = len(fleet.reachable)
    noun = "node" if count == 1 else "nodes"
    way = f"through {fleet.proxy}" if fleet.proxy else "directly"
    stderr.write(f"{doing} {count} {noun} {way}, {fleet.width} at a time{rolling_plan}.\n")
    if fleet.proxy is None:
        stderr.write(direct_notice("the nodes") + "\n")
    stderr.flush()


# A control socket's path must fit in about 100 bytes; OpenSSH expands '%' in ControlPath
# and splits an option's value at white space, and the ProxyCommand is read by a shell.
_PLAIN_FOLDER = re.compile(r"/[A-Za-z0-9_./-]{0,40}")


def _temporary_root(env: Mapping[str, str]) -> str:
    """Where the private folder goes: TMPDIR when it is a short, plain path, else /tmp."""
    given = env.get("TMPDIR", "").rstrip("/")
    return given if _PLAIN_FOLDER.fullmatch(given) and os.path.isdir(given) else "/tmp"


@contextmanager
def _private_folder(env: Mapping[str, str]) -> Iterator[str]:
    """A private folder of this run's: the cold connection's socket, and the logs. Removed
    at the end, whatever is in it."""
    import tempfile

    private = tempfile.mkdtemp(prefix="dcos-run-", dir=_temporary_root(env))
    try:
        yield private
    finally:
        for name in os.listdir(private):
            try:
                os.remove(os.path.join(private, name))
            except OSError:
                pass
        try:
            os.rmdir(private)
        except OSError:
            pass


@contextmanager
def _proxy_connection(plan: "Shared", env: Mapping[str, str], signals: "Signals", private: str,
                      warm_path: Optional[str] = None, persist: Optional[int] = None) -> Iterator[Optional["Shared"]]:
    """The one connection to the proxy that every node's ssh shares: yields the plan that
    uses it, or None when a stop signal came while it was being opened. Cold, its socket
    is in the private folder and it is closed at the end, however the block ends. Warm
    (`warm_path`), one that is up is used, and one opened here stays for `persist`
    seconds after its last channel. Without a proxy there is nothing to share: the plan
    as it is."""
    if plan.proxy is None:
        yield plan
        return
    from .openssh.shared import exit_argv, master_argv
    from .proc.spawn import run, start_detached

    if warm_path is not None:
        from .warm import State, ask

        if ask(warm_path)[0] is not State.ABSENT:
            yield plan._replace(control_path=warm_path)
            return
    plan = plan._replace(control_path=warm_path or os.path.join(private, "proxy"),
                         master_log=os.path.join(private, "proxy.log"))
    try:
        status = start_detached(master_argv(plan, persist if warm_path else None), env, plan.master_log,
                                PROXY_SECONDS, lambda: signals.stopped)
        if signals.stopped:
            yield None
            return
        if status != 0:
            said = _read(plan.master_log).decode("utf-8", "replace").strip()
            raise NodeSshError(
                f"Could not connect to the proxy {plan.proxy}"
                + (f" (ssh exit status {status})" if status is not None else " (no answer in time)")
                + (f": {shown(said, 600)}" if said else "") + ". No node was reached."
            )
        yield plan
    finally:
        if warm_path is None and os.path.exists(plan.control_path):  # up, or forked before it was ended
            run(exit_argv(plan), env, EXIT_SECONDS)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return b""


# (the plan, the node, its HostKeyAlias, its warm connection's socket or None) -> its child's argv
ArgvOf = Callable[["Shared", "Target", Optional[str], Optional[str]], List[str]]


class Rolling(NamedTuple):
    """How the batches follow each other: each said as it starts (--batch), and a wait before each but the first."""

    batched: bool = False
    pause: float = 0.0


def execute(fleet: Fleet, signals: "Signals", nodes: "Nodes", argv_of: ArgvOf, timeout: Optional[float],
            stderr, warm: Optional[int] = None, rolling: Optional[Rolling] = None) -> None:
    """Run a child per reachable node (argv_of), batch by batch (fleet.sizes), at most
    fleet.width at once, each for at most `timeout` seconds, through the connection to the
    proxy; with `warm` (seconds), through each node's warm connection, opened first (for
    every node, before the first batch) where none is up, said on `stderr`."""
    if not fleet.reachable or not nodes.more():
        return
    rolling = rolling or Rolling()
    with _private_folder(fleet.env) as private:
        if warm is None:
            with _proxy_connection(fleet.plan, fleet.env, signals, private) as connected:
                if connected is not None:
                    nodes.proxy_log = connected.master_log
                    _roll(fleet, signals, nodes, argv_of, timeout, connected, {}, set(), rolling, stderr)
        else:
            _warm(fleet, signals, nodes, argv_of, timeout, warm, private, rolling, stderr)


def _roll(fleet: Fleet, signals: "Signals", nodes: "Nodes", argv_of: ArgvOf, timeout: Optional[float],
          plan: "Shared", sockets: Mapping["Target", str], left_out: Set["Target"], rolling: Rolling, stderr) -> None:
    """Each batch in a window of its own, once the one before has ended, rolling.pause apart;
    no further batch once a stop signal came, the failure budget is spent or the proxy
    refuses to forward. `left_out`: nodes already over (their warm connection could not be opened)."""
    from .proc.window import run_window
    from .rolling import batch_line

    start = 0
    for number, size in enumerate(fleet.sizes, 1):
        batch, start = fleet.reachable[start:start + size], start + size
        if signals.stopped or not nodes.more():
            return
        if number > 1 and rolling.pause:
            stderr.write(f"Pausing {rolling.pause:g} s before batch {number}.\n")
            stderr.flush()
            if signals.wait(rolling.pause):
                return
        if rolling.batched:
            stderr.write(batch_line(number, len(fleet.sizes), batch))
            stderr.flush()
        ready = [target for target in batch if target not in left_out]
        if ready:
            argvs = [argv_of(plan, target, fleet.alias(target), sockets.get(target)) for target in ready]
            run_window(argvs, fleet.env, min(fleet.width, len(ready)), timeout, nodes.children(ready), signals)


# In the connection to the proxy, each node's warm connection holds a control connection
# and the two streams of its `ssh -W`, for as long as it lasts; and that connection to the
# proxy may come to carry the nodes of later commands too.
WARM_FDS_PER_NODE = 3
WARM_FILES = 16384


def _warm(fleet: Fleet, signals: "Signals", nodes: "Nodes", argv_of: ArgvOf, timeout: Optional[float],
          persist: int, private: str, rolling: Rolling, stderr) -> None:
    """Each node through a warm connection of its own: those up are used as they are; the
    others are opened first (a window of their own, the folder locked meanwhile, so that
    two commands do not open one twice), through the proxy's warm connection, which is
    opened only when some node's is. A node whose connection cannot be opened is reported
    as one that cannot be reached, and runs nothing."""
    from . import warm
    from .openssh.shared import opener_argv
    from .openssh.warm import node_socket, proxy_socket
    from .proc.window import run_window

    plan = fleet.plan
    folder = warm.private_folder(fleet.env)
    sockets = {target: node_socket(folder, plan.user, target.address, plan.proxy, fleet.alias(target), plan.options,
                                   plan.proxy_options, plan.config_file) for target in fleet.reachable}
    proxy_path = None
    if plan.proxy is not None:
        proxy_path = proxy_socket(folder, plan.user, plan.proxy, plan.options, plan.proxy_options, plan.config_file)
        plan = plan._replace(control_path=proxy_path)
    failed: Set["Target"] = set()
    with warm.locked(folder, lambda: signals.stopped) as locked:
        if not locked:
            return
        closed = [target for target in fleet.reachable if warm.ask(sockets[target])[0] is warm.State.ABSENT]
        _say_warm(stderr, len(fleet.reachable) - len(closed), len(closed), persist)
        if closed:
            _files_for(len(closed))
            grace = min(persist, PROXY_GRACE_SECONDS)
            with _proxy_connection(plan, fleet.env, signals, private, proxy_path, grace) as connected:
                if connected is None:
                    return
                nodes.proxy_log = connected.master_log
                logs = [os.path.join(private, f"node-{index}.log") for index in range(len(closed))]
                argvs = [opener_argv(connected, target.address, fleet.alias(target), sockets[target], persist)
                         for target in closed]
                opening = _Opening(nodes, closed, logs)
                run_window(argvs, fleet.env, fleet.width, timeout or OPEN_SECONDS, opening, signals, logs)
                failed = set(closed) - set(opening.up)
    if signals.stopped:
        return
    _roll(fleet, signals, nodes, argv_of, timeout, plan, sockets, failed, rolling, stderr)


def _say_warm(stderr, up: int, opening: int, persist: int) -> None:
    if stderr is None:
        return
    if up:
        stderr.write(f"Using the warm connection{'s' if up != 1 else ''} to {up} node{'s' if up != 1 else ''}.\n")
    if opening:
        stderr.write(f"Opening a connection to {opening} node{'s' if opening != 1 else ''}, kept until unused for "
                     f"{persist} s (`dcos node disconnect` closes them).\n")
    stderr.flush()


def _files_for(count: int) -> None:
    """Raise the limit on open files, which the connection to the proxy inherits, so that it
    can carry `count` nodes' warm connections (and more later); refuse when it cannot."""
    from .proc.window import FDS_RESERVED, files_limit

    needed = FDS_RESERVED + WARM_FDS_PER_NODE * count
    limit = files_limit(max(needed, WARM_FILES))
    if 0 <= limit < needed:
        raise NodeSshError(
            f"--warm keeps a channel through the connection to the proxy open for each of the {count} nodes, which "
            f"needs about {needed} open files, and the limit on open files (`ulimit -n`: {limit}) cannot be raised "
            "that far. Raise it (`ulimit -n 4096`), or warm fewer nodes at once."
        )


class Nodes:
    """The nodes' results as their children end, each given to the output handler; and
    whether the proxy refuses to forward, or more nodes have failed than --max-fail allows
    (then no further node starts)."""

    def __init__(self, show: "Handler", allowed: Optional[int] = None, refused: int = 0):
        self._show = show
        self._kept: Dict["Target", List[List[bytes]]] = {}
        self.done: Dict["Target", "NodeResult"] = {}
        self.proxy_log: Optional[str] = None  # the shared connection's log
        self.refused_forwarding = False
        self._allowed = allowed  # --max-fail: how many nodes may fail before no further one starts
        self.failures = refused  # the nodes the cluster's description refused have failed already

    @property
    def budget_spent(self) -> bool:
        return self._allowed is not None and self.failures > self._allowed

    def output(self, target: "Target", stream: int, chunk: bytes) -> None:
        self._show.output(target, stream, chunk)
        if self._show.keeps_output:
            self._kept.setdefault(target, [[], []])[stream - 1].append(chunk)

    def ended(self, target: "Target", ending: "Ending", code: Optional[int], said: bytes = b"") -> None:
        """A node is over; `said`: what its connection logged, when not as its stderr."""
        from .fanout import Result, node_result
        from .openssh.shared import forwarding_refused
        from .rolling import failed

        stdout, stderr = self._kept.pop(target, [[], []])
        result = node_result(target, ending, code, b"".join(stdout), b"".join(stderr))
        unreachable = result.result is Result.UNREACHABLE
        if unreachable and not self.refused_forwarding:
            self.refused_forwarding = forwarding_refused(said) or bool(
                self.proxy_log and forwarding_refused(_read(self.proxy_log)))
        self.failures += failed(result)
        self.done[result.target] = result
        self._show.node_done(result, explained=unreachable and self.refused_forwarding)

    def more(self) -> bool:
        return not self.refused_forwarding and not self.budget_spent

    def children(self, targets: Sequence["Target"]) -> "_Children":
        """The window's handler for children that run on these targets, in this order."""
        return _Children(self, targets)

    def complete(self, targets: Sequence["Target"]) -> List["NodeResult"]:
        """Every target's result, in order: those that ran, and the others, which are
        shown now: refused by the cluster's description, or never started."""
        from .fanout import NodeResult, Result

        results = []
        for target in targets:
            result = self.done.get(target)
            if result is None:
                result = (NodeResult(target, Result.REFUSED, stderr=target.problem.encode() + b"\n")
                          if target.problem else NodeResult(target, Result.NOT_STARTED))
                self._show.node_done(result)
            results.append(result)
        return results


class _Children:
    """proc.window's handler: child `index` is the node targets[index]."""

    def __init__(self, nodes: Nodes, targets: Sequence["Target"]):
        self._nodes = nodes
        self._targets = targets

    def output(self, index: int, stream: int, chunk: bytes) -> None:
        self._nodes.output(self._targets[index], stream, chunk)

    def ended(self, index: int, ending: "Ending", code: Optional[int]) -> None:
        self._nodes.ended(self._targets[index], ending, code)

    def more(self) -> bool:
        return self._nodes.more()


class _Opening(_Children):
    """proc.window's handler for the ssh that opens each node's warm connection, writing to
    a log each: opened (it exited 0), the node's ssh has more to do; else the node is
    over, as one that could not be reached, with what ssh said."""

    def __init__(self, nodes: Nodes, targets: Sequence["Target"], logs: Sequence[str]):
        super().__init__(nodes, targets)
        self._logs = logs
        self.up: List["Target"] = []

    def ended(self, index: int, ending: "Ending", code: Optional[int]) -> None:
        from .proc.window import Ending

        target, said = self._targets[index], _read(self._logs[index])
        if said:
            self._nodes.output(target, 2, said)  # ssh's warnings, or why it failed
        if ending is Ending.EXITED and code == 0:
            self.up.append(target)
        else:
            self._nodes.ended(target, ending, ExitStatus.SSH_FAILED if ending is Ending.EXITED else code, said)


def exit_status(signals: "Signals", results: Sequence["NodeResult"], unrecorded: Sequence["Target"]) -> int:
    """128 + the stop signal that came; else 0 only when every node did its part."""
    from .fanout import succeeded

    stopped = signals.exit_status()
    if stopped is not None:
        return stopped
    return ExitStatus.OK if succeeded(results) and not unrecorded else ExitStatus.FAILED
