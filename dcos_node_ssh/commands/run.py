"""`dcos node run`: one command on many nodes, through one shared connection to the proxy.

The nodes, the ssh argument lists and everything printed come from the pure
functions of `fanout`; this module asks the cluster, runs the children through
local.run_window and writes what they print.
"""

import os
from typing import Dict, List, Optional

from ..errors import ExitStatus, NodeSshError, SshSetupError, UsageError, printable, shown
from ..flags import OutputMode, RunFlags
from ..route import direct_notice, host_key_alias, resolve, route_of, settle_user
from . import configuration, lookups, say

PROXY_SECONDS = 300.0  # the connection to the proxy may ask for a passphrase or a host key


def parse(opts) -> RunFlags:
    return RunFlags.of(opts)


def run(flags: RunFlags, environment) -> int:
    from .. import fanout, local
    from ..cluster.queries import concurrently

    if not local.POSIX:
        raise SshSetupError(
            "`dcos node run` shares one OpenSSH connection among all nodes (ControlMaster), which the "
            "Windows ssh clients cannot do. Run it from Linux or macOS (or WSL), or use `dcos node ssh`."
        )
    parallel, timeout = flags.parallel, flags.timeout
    settings, debug = configuration(environment)
    from ..openssh.hops import is_plink

    if is_plink(local.choose_client(flags.route.ssh_client)):
        raise UsageError(
            "`dcos node run` needs OpenSSH's ssh: it shares one connection to the proxy among all nodes "
            "(ControlMaster) and reaches each node with `ssh -W` through it, which plink cannot do. Leave "
            "out --ssh-client=plink (or name an OpenSSH ssh), or use `dcos node ssh --ssh-client=plink` "
            "one node at a time."
        )
    route = route_of(flags.route, settings, jump=True)
    selection = flags.selection
    cluster = lookups(environment, settings, debug)

    def find_nodes():
        def masters():
            return cluster.masters() if selection.needs_masters else []

        def agents():
            return cluster.agent_records() if selection.needs_agents else []

        if selection.needs_masters and selection.needs_agents:
            return concurrently(masters, agents)
        return masters(), agents()

    hop, (masters, agents) = resolve(route, settings, cluster, None, then=find_nodes)
    say(environment, hop.notices)
    proxy = hop.proxy
    source = cluster.mesos()[0].base_url if selection.needs_agents else cluster.api("core.dcos_url").base_url
    targets = fanout.select(selection, flags.mesos_ids, masters, agents, source)
    route = settle_user(route, proxy or targets[0].address, environment.env)
    client = local.find_client(route.client, False)
    output_dir = flags.output_dir
    if output_dir is not None:
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as error:
            raise NodeSshError(f"Cannot create --output-dir {shown(output_dir)}: {error.strerror}.") from None

    stderr = environment.stderr
    for target in targets:
        if target.problem:
            stderr.write(f"{printable(target.name)}: {target.problem}\n")
    reachable = [index for index, target in enumerate(targets) if not target.problem]
    how = f"through {proxy}" if proxy else "directly"
    noun = "node" if len(reachable) == 1 else "nodes"
    stderr.write(f"Running on {len(reachable)} {noun} {how}, {min(parallel, max(1, len(reachable)))} at a time.\n")
    if proxy is None:
        stderr.write(direct_notice("the nodes") + "\n")
    stderr.flush()

    import tempfile

    # A short path: a control socket's path must fit in about 100 bytes.
    private = tempfile.mkdtemp(prefix="dcos-run-", dir="/tmp" if len(tempfile.gettempdir()) > 40 else None)
    plan = fanout.Fanout(user=route.user or "core", options=route.options, proxy_options=route.proxy_options,
                         config_file=route.config_file, client=client, proxy=proxy,
                         control_path=os.path.join(private, "proxy"), command=flags.command,
                         master_log=os.path.join(private, "proxy.log"))
    aliases = [host_key_alias(route, proxy, hop.cluster, target.address) for target in targets]
    # ssh hands the ProxyCommand to $SHELL, and its words are quoted for a POSIX shell.
    env = dict(environment.env, SHELL="/bin/sh")
    master_log = plan.master_log
    master_up = False
    try:
        if proxy is not None:
            status = local.start_detached(fanout.master_argv(plan), env, master_log, PROXY_SECONDS)
            master_up = status == 0
            if not master_up:
                said = _read(master_log).decode("utf-8", "replace").strip()
                raise NodeSshError(
                    f"Could not connect to the proxy {proxy}"
                    + (f" (ssh exit status {status})" if status is not None else " (no answer in time)")
                    + (f": {shown(said, 600)}" if said else "") + ". No node was run on."
                ) from None
        results, interrupted, refused = _fan_out(plan, targets, aliases, reachable, parallel, timeout, flags,
                                                 environment, env, master_log)
    finally:
        if master_up:
            local.run(fanout.exit_argv(plan), env, 5.0)
        for name in os.listdir(private):
            try:
                os.remove(os.path.join(private, name))
            except OSError:
                pass
        try:
            os.rmdir(private)
        except OSError:
            pass

    stdout = environment.stdout
    if flags.output is OutputMode.GATHER:
        stdout.write_bytes(fanout.gather(results, timeout))
    stdout.flush()
    if refused and proxy is not None:
        stderr.write(fanout.forwarding_refused_message(proxy) + "\n")
    stderr.write(fanout.summary(results, timeout))
    if interrupted:
        return ExitStatus.INTERRUPTED
    return 0 if fanout.succeeded(results) else 1


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return b""


def _fan_out(plan, targets, aliases, reachable: List[int], parallel: int, timeout: Optional[float], flags: RunFlags,
             environment, env: Dict[str, str], master_log: str):
    """Run every reachable target, printing as the output mode says; (results in the
    targets' order, whether Ctrl-C came, whether the proxy refused forwarding)."""
    from .. import fanout, local

    stdout, stderr = environment.stdout, environment.stderr
    streaming = flags.output is OutputMode.LINES
    results: List[Optional[fanout.NodeResult]] = [None] * len(targets)
    for index, target in enumerate(targets):
        if target.problem:
            results[index] = fanout.NodeResult(target, fanout.Result.REFUSED, stderr=target.problem.encode() + b"\n")
    collected: Dict[int, List[List[bytes]]] = {}
    lines: Dict[int, List[fanout.Lines]] = {}
    # In the default mode a node's stderr lines wait for its first stdout or its end: when the
    # proxy refuses forwarding, ssh's words for it are dropped and the reason said once.
    held: Dict[int, List[bytes]] = {}
    flowing = set()  # the nodes that have written to stdout
    refused = [False]

    def show(index: int, stream: int, chunks: List[bytes]) -> None:
        data = fanout.prefixed(targets[index].name, chunks)
        if data:
            (stdout if stream == 1 else stderr).write_bytes(data)
            (stdout if stream == 1 else stderr).flush()

    def on_output(position: int, stream: int, chunk: bytes) -> None:
        index = reachable[position]
        if not streaming:
            collected.setdefault(index, [[], []])[stream - 1].append(chunk)
            return
        whole = lines.setdefault(index, [fanout.Lines(), fanout.Lines()])[stream - 1].feed(chunk)
        if stream == 1:
            if index in held:
                show(index, 2, held.pop(index))
            flowing.add(index)
            show(index, 1, whole)
        elif index in flowing:
            show(index, 2, whole)
        else:
            held.setdefault(index, []).extend(whole)

    def on_end(position: int, status: Optional[int], ending) -> None:
        index = reachable[position]
        result_kind = fanout.result_of(status, ending.value)
        if (result_kind is fanout.Result.UNREACHABLE and plan.proxy is not None and not refused[0]
                and fanout.forwarding_refused(_read(master_log))):
            refused[0] = True
        if streaming:
            tails = lines.pop(index, [fanout.Lines(), fanout.Lines()])
            show(index, 1, tails[0].end())
            waiting = held.pop(index, []) + tails[1].end()
            flowing.discard(index)
            if not (refused[0] and result_kind is fanout.Result.UNREACHABLE):
                show(index, 2, waiting)
        out, err = collected.pop(index, [[], []])
        result = fanout.NodeResult(targets[index], result_kind, status, b"".join(out), b"".join(err))
        results[index] = result
        _record(result, flags, environment)

    argvs = [fanout.node_argv(plan, targets[index].address, aliases[index]) for index in reachable]
    interrupted = local.run_window(argvs, env, parallel, timeout, on_output, on_end, stop=lambda: refused[0])
    for index, target in enumerate(targets):
        result = results[index]
        if result is None:
            results[index] = result = fanout.NodeResult(target, fanout.Result.NOT_STARTED)
            _record(result, flags, environment)
        elif result.result is fanout.Result.REFUSED:
            _record(result, flags, environment)
    return [result for result in results if result is not None], interrupted, refused[0]


def _record(result, flags: RunFlags, environment) -> None:
    """What is written as soon as a node is done: its JSON line, or its files."""
    from .. import fanout

    if flags.output is OutputMode.JSON:
        environment.stdout.write(fanout.json_line(result))
        environment.stdout.flush()
    elif flags.output_dir is not None:
        folder = os.path.join(flags.output_dir, result.target.folder)
        try:
            os.makedirs(folder, exist_ok=True)
            for name, data in (("stdout", result.stdout), ("stderr", result.stderr),
                               ("status", fanout.status_file(result))):
                with open(os.path.join(folder, name), "wb") as stream:
                    stream.write(data)
        except OSError as error:
            raise NodeSshError(f"Cannot write to {shown(folder)}: {error.strerror}.") from None
