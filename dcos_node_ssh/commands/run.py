"""`dcos node run`: one command on many nodes, through one shared connection to the proxy.

The flow: refuse what cannot work (Windows, plink); ask the cluster for the proxy and
the nodes (selection); fit --parallel to the limit on open files; set up the output
(outputs; --output-dir's folder is checked here); then, with stop signals noted
(proc.signals), open the shared connection, run the nodes in a window of children
(proc.window), show what they do, and end with the summary. The argument lists come
from openssh.shared, the formats from fanout.
"""

import os
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Dict, Iterator, List, Mapping, Optional, Sequence

from ..errors import ExitStatus, NodeSshError, SshSetupError, UsageError, printable, shown
from ..flags import RunFlags
from ..route import PROXY_COMMAND_SHELL, direct_notice, host_key_alias, resolve, route_of, settle_user
from ..settings import DEFAULT_SSH_USER
from . import configuration, lookups, say

if TYPE_CHECKING:
    from ..fanout import NodeResult
    from ..openssh.shared import Shared
    from ..outputs import Handler
    from ..proc.signals import Signals
    from ..proc.window import Ending
    from ..selection import Target

PROXY_SECONDS = 300.0  # the connection to the proxy may ask for a passphrase or a host key
EXIT_SECONDS = 5.0


def parse(opts) -> RunFlags:
    return RunFlags.of(opts)


def run(flags: RunFlags, environment) -> int:
    from .. import fanout, outputs
    from ..openssh.shared import Shared, forwarding_refused_message, node_argv
    from ..proc.programs import find_client
    from ..proc.signals import Signals
    from ..proc.window import run_window

    _refuse_where_it_cannot_run(flags)
    settings, debug = configuration(environment)
    route = route_of(flags.route, settings, jump=True)
    cluster = lookups(environment, settings, debug)
    hop, targets = resolve(route, settings, cluster, None, then=lambda: _select(flags, cluster))
    say(environment, hop.notices)
    proxy = hop.proxy
    reachable = [target for target in targets if not target.problem]
    route = settle_user(route, proxy or next((target.address for target in reachable), None), environment.env)
    client = find_client(route.client, False)
    width = _fit(min(flags.parallel, max(1, len(reachable))), flags.parallel, environment.stderr)
    show = outputs.for_mode(flags, environment, targets)
    stderr = environment.stderr
    _announce(targets, len(reachable), proxy, width, stderr)

    plan = Shared(user=route.user or DEFAULT_SSH_USER, options=route.options, proxy_options=route.proxy_options,
                  config_file=route.config_file, client=client, proxy=proxy, command=flags.command)
    env = dict(environment.env, **PROXY_COMMAND_SHELL)  # for the ProxyCommand, quoted for a POSIX shell
    with Signals() as signals:
        nodes = _Nodes(reachable, show)
        if reachable:
            with _shared_connection(plan, env, signals) as connected:
                if connected is not None:
                    nodes.proxy_log = connected.master_log
                    argvs = [node_argv(connected, target.address,
                                       host_key_alias(route, proxy, hop.cluster, target.address))
                             for target in reachable]
                    run_window(argvs, env, width, flags.timeout, nodes, signals)
        results = nodes.complete(targets)
        show.finish(results)
        environment.stdout.flush()
        if nodes.refused_forwarding and proxy is not None:
            stderr.write(forwarding_refused_message(proxy) + "\n")
        unrecorded = show.unrecorded()
        stderr.write(fanout.summary(results, flags.timeout, unrecorded))
    stopped = signals.exit_status()
    if stopped is not None:
        return stopped
    return ExitStatus.OK if fanout.succeeded(results) and not unrecorded else ExitStatus.FAILED


def _announce(targets: Sequence["Target"], reachable: int, proxy: Optional[str], width: int, stderr) -> None:
    """What is refused and why, then what runs, before anything does."""
    for target in targets:
        if target.problem:
            stderr.write(f"{printable(target.name)}: {target.problem}\n")
    noun = "node" if reachable == 1 else "nodes"
    stderr.write(f"Running on {reachable} {noun} {f'through {proxy}' if proxy else 'directly'}, {width} at a time.\n")
    if proxy is None:
        stderr.write(direct_notice("the nodes") + "\n")
    stderr.flush()


def _refuse_where_it_cannot_run(flags: RunFlags) -> None:
    from ..openssh.hops import is_plink
    from ..proc import POSIX
    from ..proc.programs import choose_client

    if not POSIX:
        raise SshSetupError(
            "`dcos node run` shares one OpenSSH connection among all nodes (ControlMaster), which the "
            "Windows ssh clients cannot do. Run it from Linux or macOS (or WSL), or use `dcos node ssh`."
        )
    if is_plink(choose_client(flags.route.ssh_client)):
        raise UsageError(
            "`dcos node run` needs OpenSSH's ssh: it shares one connection to the proxy among all nodes "
            "(ControlMaster) and reaches each node with `ssh -W` through it, which plink cannot do. Leave "
            "out --ssh-client=plink (or name an OpenSSH ssh), or use `dcos node ssh --ssh-client=plink` "
            "one node at a time."
        )


def _select(flags: RunFlags, cluster) -> List["Target"]:
    """The nodes the selection names: the masters and the agents asked at once, when both are needed."""
    from ..cluster.queries import concurrently
    from ..selection import select

    needs = flags.selection

    def masters():
        return cluster.masters() if needs.needs_masters else []

    def agents():
        return cluster.agent_records() if needs.needs_agents else []

    found = concurrently(masters, agents) if needs.needs_masters and needs.needs_agents else (masters(), agents())
    source = cluster.mesos()[0].base_url if needs.needs_agents else cluster.api("core.dcos_url").base_url
    return select(needs, flags.mesos_ids, found[0], found[1], source)


def _fit(width: int, asked: int, stderr) -> int:
    """`width` children at once, or as many as the limit on open files allows, said."""
    from ..proc.window import FDS_PER_CHILD, FDS_RESERVED, fit_width

    fitted, limit = fit_width(width)
    if fitted < 1:
        raise NodeSshError(
            f"The limit on open files (`ulimit -n`: {limit}) is too low for `dcos node run`, which needs "
            f"{FDS_RESERVED + FDS_PER_CHILD} for one node at a time and {FDS_PER_CHILD} more for each further "
            "one. Raise it (`ulimit -n 1024`) and try again."
        )
    if fitted < width:
        stderr.write(f"--parallel={asked} needs more open files than the limit (`ulimit -n`: {limit}) allows: "
                     f"running {fitted} at a time.\n")
    return fitted


# A control socket's path must fit in about 100 bytes; OpenSSH expands '%' in ControlPath
# and splits an option's value at white space, and the ProxyCommand is read by a shell.
_PLAIN_FOLDER = re.compile(r"/[A-Za-z0-9_./-]{0,40}")


def _temporary_root(env: Mapping[str, str]) -> str:
    """Where the private folder goes: TMPDIR when it is a short, plain path, else /tmp."""
    given = env.get("TMPDIR", "").rstrip("/")
    return given if _PLAIN_FOLDER.fullmatch(given) and os.path.isdir(given) else "/tmp"


@contextmanager
def _shared_connection(plan: "Shared", env: Mapping[str, str], signals: "Signals") -> Iterator[Optional["Shared"]]:
    """The one connection to the proxy that every node's ssh shares, its socket and log in
    a private folder: yields the plan that uses it, or None when a stop signal came while
    it was being opened. However the block ends, the connection is closed and the folder
    removed. Without a proxy there is nothing to share: the plan as it is."""
    if plan.proxy is None:
        yield plan
        return
    import tempfile

    from ..openssh.shared import exit_argv, master_argv
    from ..proc.spawn import run, start_detached

    private = tempfile.mkdtemp(prefix="dcos-run-", dir=_temporary_root(env))
    plan = plan._replace(control_path=os.path.join(private, "proxy"), master_log=os.path.join(private, "proxy.log"))
    try:
        status = start_detached(master_argv(plan), env, plan.master_log, PROXY_SECONDS, lambda: signals.stopped)
        if signals.stopped:
            yield None
            return
        if status != 0:
            said = _read(plan.master_log).decode("utf-8", "replace").strip()
            raise NodeSshError(
                f"Could not connect to the proxy {plan.proxy}"
                + (f" (ssh exit status {status})" if status is not None else " (no answer in time)")
                + (f": {shown(said, 600)}" if said else "") + ". No node was run on."
            )
        yield plan
    finally:
        if os.path.exists(plan.control_path):  # up, or forked before it was ended
            run(exit_argv(plan), env, EXIT_SECONDS)
        for name in os.listdir(private):
            try:
                os.remove(os.path.join(private, name))
            except OSError:
                pass
        try:
            os.rmdir(private)
        except OSError:
            pass


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return b""


class _Nodes:
    """The window's handler: each child's bytes and end, as its node's, to the output
    handler; and whether the proxy refuses to forward (then no further node starts)."""

    def __init__(self, targets: Sequence["Target"], show: "Handler"):
        self._targets = targets
        self._show = show
        self._kept: Dict[int, List[List[bytes]]] = {}
        self._done: Dict["Target", "NodeResult"] = {}
        self.proxy_log: Optional[str] = None  # the shared connection's log
        self.refused_forwarding = False

    def output(self, index: int, stream: int, chunk: bytes) -> None:
        self._show.output(self._targets[index], stream, chunk)
        if self._show.keeps_output:
            self._kept.setdefault(index, [[], []])[stream - 1].append(chunk)

    def ended(self, index: int, ending: "Ending", code: Optional[int]) -> None:
        from ..fanout import Result, node_result
        from ..openssh.shared import forwarding_refused

        stdout, stderr = self._kept.pop(index, [[], []])
        result = node_result(self._targets[index], ending, code, b"".join(stdout), b"".join(stderr))
        unreachable = result.result is Result.UNREACHABLE
        if unreachable and self.proxy_log and not self.refused_forwarding:
            self.refused_forwarding = forwarding_refused(_read(self.proxy_log))
        self._done[result.target] = result
        self._show.node_done(result, explained=unreachable and self.refused_forwarding)

    def more(self) -> bool:
        return not self.refused_forwarding

    def complete(self, targets: Sequence["Target"]) -> List["NodeResult"]:
        """Every target's result, in order: those that ran, and the others, which are
        shown now: refused by the cluster's description, or never started."""
        from ..fanout import NodeResult, Result

        results = []
        for target in targets:
            result = self._done.get(target)
            if result is None:
                result = (NodeResult(target, Result.REFUSED, stderr=target.problem.encode() + b"\n")
                          if target.problem else NodeResult(target, Result.NOT_STARTED))
                self._show.node_done(result)
            results.append(result)
        return results
