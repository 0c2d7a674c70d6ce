"""`dcos node tunnel socks` and `dcos node tunnel forward`: a SOCKS5 proxy, or local ports
forwarded, through the proxy (the master's public address, or a bastion), with ssh as
this process's child in the foreground until Ctrl-C.

A tunnel ends on the proxy: ssh listens on 127.0.0.1 here (-D, -L) and the proxy's sshd
opens every connection and resolves every name. Before "ready" is said, one channel
through the same connection (`ssh -W` to the proxy's own sshd, through the control
socket) proves that the proxy forwards; the argument lists and what ssh's words mean are
the pure functions of openssh/tunnel.py.
"""

import os
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ..errors import ExitStatus, NodeSshError, printable, shown
from ..flags import TunnelFlags, TunnelKind
from ..route import ProxyKind, resolve, route_of, settle_user
from . import configuration, lookups, say

PROXY_SECONDS = 300.0  # the connection to the proxy may ask for a passphrase or a host key
PROBE_SECONDS = 15.0
REFUSAL_SECONDS = 1.0  # how long the control master may take to log a channel the proxy refused

THROUGH_MASTER = (
    "No proxy is named (--master-proxy, --proxy-ip or ssh_proxy_ip): the tunnel goes through the master's public "
    "address, as with --master-proxy, since the private network has no other way in."
)


def parse(opts) -> TunnelFlags:
    return TunnelFlags.of(opts)


class TaskDestination(NamedTuple):
    host: str
    port: int
    what: str


class Wanted(NamedTuple):
    """What the cluster said the tunnel needs: each forward's destination, in the order
    given; the task's; and for --pac the cluster's host names and private networks."""

    destinations: Tuple = ()  # openssh.tunnel.Destination
    task: Optional[TaskDestination] = None
    pac_names: Tuple[str, ...] = ()
    pac_networks: Tuple = ()
    notices: Tuple[str, ...] = ()


def run(flags: TunnelFlags, environment) -> int:
    from ..settings import ProxyMode

    settings, debug = configuration(environment)
    route_flags = flags.route
    through_master = not route_flags.master_proxy and route_flags.proxy_ip is None and not settings.ssh_proxy_ip
    if through_master:
        route_flags = route_flags._replace(master_proxy=True)
    # A tunnel ends on the proxy: it neither forwards the agent nor jumps to a node, whatever
    # node.proxy_mode says (so plink, which cannot jump, is not refused for it).
    route = route_of(route_flags, settings._replace(proxy_mode=ProxyMode.FORWARD))
    stderr = environment.stderr
    if through_master:
        stderr.write(THROUGH_MASTER + "\n")
    cluster = lookups(environment, settings, debug)
    if flags.check:
        return _check(flags, route, settings, cluster, environment)
    if flags.pac is not None:
        _check_pac_path(flags.pac)
    hop, wanted = resolve(route, settings, cluster, None, then=lambda: _look_up(flags, cluster))
    say(environment, hop.notices + wanted.notices)
    route = settle_user(hop.route, hop.proxy, environment.env)
    socks_port, forwards = _listeners(flags, wanted)
    for forward, what in zip(forwards, _whats(wanted)):
        stderr.write(f"Forward {forward.listener} -> {forward.destination}: {what}.\n")
    from ..proc.programs import find_client

    # Refused now, before anything runs; the argument list keeps the name as given.
    find_client(route.client, route.plink, search=environment.env.get("PATH", os.defpath))
    return _tunnel(flags, route, hop.proxy or "", route.client, socks_port, forwards, wanted, environment)


def _check(flags: TunnelFlags, route, settings, cluster, environment) -> int:
    """--check: every prerequisite of this tunnel, one line each, and no tunnel: the
    configuration, the proxy and what the forwards name, the local ports, the ssh client,
    the proxy reached as the tunnel reaches it (its ProxyCommand, options, config files)
    with its host key, and one connection (BatchMode: it never prompts) that logs in and
    asks the proxy for the channel the tunnel proves itself with."""
    from ..checklist import Check, Status, display_url, fail, ok, report
    from ..cluster.queries import no_cluster_message
    from ..proc.programs import find_client

    checks: List[Check] = []

    def blocked(name: str, cause: str) -> Check:
        return Check(name, Status.SKIP, f"not tried: {cause} failed", blocked=True)

    def passed(name: str) -> bool:
        return any(check.name == name and check.status is Status.OK for check in checks)

    where = settings.config_path or "no config file (the environment only)"
    asks_cluster = (route.proxy_kind is ProxyKind.MASTER or flags.task is not None or flags.pac is not None
                    or any(_needs_cluster(spec.destination) for spec in flags.forwards))
    configured = bool(settings.dcos_url or settings.mesos_master_url)
    if asks_cluster and not configured:
        checks.append(fail("configuration", where, no_cluster_message(settings)))
    else:
        checks.append(ok("configuration", f"{where}; core.dcos_url = {display_url(settings.dcos_url) or '(none)'}"))
    proxy: Optional[str] = route.proxy_host
    if route.proxy_kind is not ProxyKind.MASTER:
        checks.append(ok("proxy", f"{proxy} ({route.proxy_kind.value})"))
    elif not configured:
        checks.append(blocked("proxy", "configuration"))
    else:
        try:
            found = cluster.master_public_address()
            proxy = found.address
            checks.append(ok("proxy", f"{proxy} ({found.source})"))
        except NodeSshError as error:
            checks.append(fail("proxy", ProxyKind.MASTER.value, str(error)))
    wanted = Wanted()
    if flags.kind is TunnelKind.FORWARD or flags.pac is not None:
        name = "forwards" if flags.kind is TunnelKind.FORWARD else "PAC file"
        if asks_cluster and not configured:
            checks.append(blocked(name, "configuration"))
        else:
            try:
                if flags.pac is not None:
                    _check_pac_path(flags.pac)
                wanted = _look_up(flags, cluster)
                detail = "; ".join(f"{shown(spec.destination)}:{spec.port} -> {what}"
                                   for spec, what in zip(flags.forwards, _whats(wanted)))
                if wanted.task is not None:
                    detail = "; ".join(filter(None, [detail, f"--task={shown(flags.task)} -> {wanted.task.what}"]))
                if flags.pac is not None:
                    detail = (f"{shown(flags.pac)}: {len(wanted.pac_names)} host names and "
                              f"{len(wanted.pac_networks)} private networks of the cluster")
                checks.append(ok(name, detail))
            except NodeSshError as error:
                checks.append(fail(name, "", str(error)))
    checks.append(_ports_check(flags, wanted))
    try:
        client = find_client(route.client, route.plink, search=environment.env.get("PATH", os.defpath))
        checks.append(ok("ssh client", client))
    except NodeSshError as error:
        client = ""
        checks.append(fail("ssh client", route.client, str(error)))
    if proxy is None or not passed("proxy"):
        checks += [blocked("first hop", "proxy"), blocked("proxy login", "proxy"), blocked("TCP forwarding", "proxy")]
        return report(checks, environment.stdout, flags.json)
    if not client:
        checks += [blocked(name, "ssh client") for name in ("first hop", "proxy login", "TCP forwarding")]
        return report(checks, environment.stdout, flags.json)
    from ..checklist import Probes, first_hop_check, not_tried
    from ..route import Hop

    route = settle_user(route, proxy, environment.env)
    search = environment.env.get("PATH", os.defpath)
    first = first_hop_check(Hop(route, proxy, proxy), environment.env,
                            Probes(find_client=lambda name, plink: find_client(name, plink, search=search)),
                            "Check the proxy's address, that its sshd runs, and that its port is open to you.")
    checks.append(first)
    if first.status is not Status.OK:
        checks += [Check(name, Status.SKIP, not_tried("first hop", first), blocked=True)
                   for name in ("proxy login", "TCP forwarding")]
    else:
        checks += _probe_checks(route, proxy, client, environment)
    return report(checks, environment.stdout, flags.json)


def _needs_cluster(destination: str) -> bool:
    from ..openssh.tunnel import is_address

    return not is_address(destination)


def _ports_check(flags: TunnelFlags, wanted: Wanted):
    from ..checklist import fail, ok
    from ..openssh.tunnel import DEFAULT_SOCKS_PORT, LOOPBACK, BindFailure, bind_failure_message

    socks = (DEFAULT_SOCKS_PORT if flags.socks_port is None else flags.socks_port) if flags.kind is TunnelKind.SOCKS \
        else None
    named = ([socks] if socks is not None else []) + [spec.local_port for spec in flags.forwards] + (
        [flags.local_port] if flags.task is not None else [])
    failures = [BindFailure(port, reason) for port, reason in ((port, _bind_error(port)) for port in named if port)
                if reason]
    if failures:
        return fail("local ports", ", ".join(str(failure.port) for failure in failures),
                    bind_failure_message(failures, socks))
    free = [f"{LOOPBACK}:{port}" for port in named if port]
    chosen = sum(1 for port in named if not port)
    parts = ([", ".join(free) + " free"] if free else []) + ([f"{chosen} chosen when the tunnel starts"] if chosen
                                                               else [])
    return ok("local ports", "; ".join(parts))


def _probe_checks(route, proxy: str, client: str, environment):
    """The tunnel's probe as a connection of its own: does the proxy take the key, and does
    it open a channel to its own sshd?"""
    from ..checklist import STEP_SECONDS, Check, Status, fail, last_line, login_fix, ok
    from ..openssh.tunnel import (Forwarding, TunnelPlan, forwarding_refused_message, forwarding_verdict, probe_argv,
                                  probe_target)
    from ..proc import spawn
    from ..settings import DEFAULT_SSH_USER

    route = settle_user(route, proxy, environment.env)
    plan = TunnelPlan(client, route.user or DEFAULT_SSH_USER, proxy, route.options, route.proxy_options,
                      route.config_file)
    argv = probe_argv(plan, verbose=True)
    if not plan.plink:
        # As every --check probe: nothing written to known_hosts (the first hop's key was just found known).
        argv[1:1] = ["-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no"]
    probe = spawn.run(argv, environment.env, 3 * STEP_SECONDS, first_line_only=True)
    verdict = forwarding_verdict(probe.first_line, probe.errors)
    who = f"{plan.user}@{proxy}"
    logged_in = "Authenticated to" in probe.errors or verdict is not Forwarding.UNKNOWN
    if not logged_in:
        why = "no answer in time" if probe.status is None else last_line(probe.errors)
        return [fail("proxy login", f"{who}: {why}", login_fix(probe.errors, "the proxy", "This machine")),
                Check("TCP forwarding", Status.SKIP, "not tried: proxy login failed", blocked=True)]
    target = probe_target(plan)
    login = ok("proxy login", f"{who} accepts your key")
    if verdict is Forwarding.REFUSED:
        return [login, fail("TCP forwarding", f"{proxy} refuses a channel to {target}",
                            forwarding_refused_message(proxy, ""))]
    if verdict is Forwarding.ALLOWED:
        answer = f"its sshd answered ({shown(probe.first_line, 80)})" if probe.first_line else "it tried to connect"
        return [login, ok("TCP forwarding", f"{proxy} opens a channel to {target}: {answer}")]
    return [login, fail("TCP forwarding", f"{proxy}: no answer to a channel to {target}",
                        f"ssh said: {last_line(probe.errors) or 'nothing'}")]


def _whats(wanted: Wanted) -> List[str]:
    return [destination.what for destination in wanted.destinations] + ([wanted.task.what] if wanted.task else [])


def _listeners(flags: TunnelFlags, wanted: Wanted):
    """(the SOCKS port or None, the forwards), every local port chosen."""
    from ..openssh.tunnel import DEFAULT_SOCKS_PORT, Forward

    targets = [(spec.local_port, destination.host, spec.port)
               for spec, destination in zip(flags.forwards, wanted.destinations)]
    if wanted.task is not None:
        targets.append((flags.local_port, wanted.task.host, wanted.task.port))
    socks = flags.kind is TunnelKind.SOCKS
    ports = _local_ports(([DEFAULT_SOCKS_PORT if flags.socks_port is None else flags.socks_port] if socks else [])
                         + [local_port for local_port, _, _ in targets])
    socks_port = ports.pop(0) if socks else None
    return socks_port, tuple(Forward(port, host, remote) for port, (_, host, remote) in zip(ports, targets))


def _look_up(flags: TunnelFlags, cluster) -> Wanted:
    """Everything the tunnel needs from the cluster, asked at once: the leader and the agents
    when a forward names them, the task, and for --pac the masters and agents."""
    from ..cluster.queries import concurrently
    from ..openssh.tunnel import destination_of, names_leader, needs_agents

    names = [spec.destination for spec in flags.forwards]
    calls: Dict[str, Any] = {}
    if any(names_leader(name) for name in names):
        calls["leader"] = cluster.leader_address
    if flags.pac is not None or any(needs_agents(name) for name in names):
        calls["agents"] = cluster.all_agents
    if flags.pac is not None:
        calls["masters"] = cluster.masters
    if flags.task is not None:
        calls["task"] = lambda: _task(flags, cluster)
    found = dict(zip(calls, concurrently(*calls.values()))) if calls else {}
    leader = found.get("leader")
    agents, leader_name = found.get("agents", ([], None))
    destinations = [destination_of(name, leader.address if leader else None, agents) for name in names]
    notices = leader.notices if leader else ()
    task, task_notices = found.get("task", (None, ()))
    notices += task_notices
    if flags.pac is None:
        return Wanted(tuple(destinations), task, notices=notices)
    from ..hosts import normalize_host
    from ..openssh.tunnel import private_networks

    names_found = [node.hostname for node in agents if node.problem is None] + [leader_name]
    pac_names = tuple(name for name in (normalize_host(each) for each in names_found) if name)
    addresses = list(found["masters"]) + [node.address for node in agents if node.address]
    return Wanted(tuple(destinations), task, pac_names, tuple(private_networks(addresses)), notices)


def _task(flags: TunnelFlags, cluster):
    """(the task's destination, notices): its port, at its agent's address (or its own)."""
    from ..tasks import find_task, task_endpoint

    api, _ = cluster.mesos()
    task = find_task(cluster.tasks(), flags.task or "", api.base_url)
    agent = cluster.agent_address(task.agent_id)
    endpoint = task_endpoint(task, shown(task.agent_id), agent.address, flags.port_index, flags.port_name)
    return TaskDestination(endpoint.host, endpoint.port, endpoint.what), agent.notices


def _local_ports(wanted: List[int]) -> List[int]:
    """The local ports, each 0 replaced by a free one (OpenSSH chooses none for -L 0; no two
    named the same, flags.TunnelFlags saw to that)."""
    import socket

    from ..openssh.tunnel import LOOPBACK

    held = []
    try:
        chosen = []
        for port in wanted:
            if port:
                chosen.append(port)
                continue
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(listener)  # held until all are chosen, so that no two are the same
            listener.bind((LOOPBACK, 0))
            chosen.append(listener.getsockname()[1])
        return chosen
    finally:
        for listener in held:
            listener.close()


def _check_pac_path(path: str) -> None:
    """Refuse, before connecting, a --pac path that names a link, a folder or anything but a
    file, or a file in a folder that does not exist."""
    import stat

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise NodeSshError(f"--pac names {shown(path)}, in a folder that does not exist ({shown(folder)}).")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise NodeSshError(f"--pac names {shown(path)}, which cannot be examined: {error.strerror}.") from None
    if stat.S_ISLNK(info.st_mode):
        raise NodeSshError(f"--pac names {shown(path)}, which is a symbolic link: the PAC file is never written "
                           "through a link. Name the file itself, or a new one.")
    if not stat.S_ISREG(info.st_mode):
        raise NodeSshError(f"--pac names {shown(path)}, which is not a file: name a file (it is replaced whole).")


def write_pac(path: str, text: str) -> None:
    """Replace the file at `path` with the PAC text, atomically: a new file beside it (never
    opened through a link, and removed on failure), then renamed over it, which replaces a
    link planted meanwhile rather than writing through it."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            os.chmod(temporary, 0o644)  # a browser may read it as another user
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# -- the tunnel ------------------------------------------------------------------------


def _tunnel(flags: TunnelFlags, route, proxy: str, client: str, socks_port: Optional[int], forwards, wanted: Wanted,
            environment) -> int:
    import shutil
    import tempfile

    from ..openssh.hops import display
    from ..openssh.tunnel import TunnelPlan, tunnel_argv
    from ..proc import POSIX
    from ..settings import DEFAULT_SSH_USER

    shared = POSIX and not route.plink  # Windows' OpenSSH has no ControlMaster, plink none at all
    private = None
    if shared:
        # A short path: a control socket's path must fit in about 100 bytes.
        private = tempfile.mkdtemp(prefix="dcos-tunnel-", dir="/tmp" if len(tempfile.gettempdir()) > 40 else None)
    plan = TunnelPlan(client, route.user or DEFAULT_SSH_USER, proxy, route.options, route.proxy_options,
                      route.config_file, socks_port, forwards, os.path.join(private, "proxy") if private else None)
    stderr = environment.stderr
    try:
        if not shared:
            _check_ports_free(plan)
        argv = tunnel_argv(plan)
        stderr.write(f"Running `{display(argv)}`\n")
        stderr.flush()
        return _run_tunnel(flags, plan, argv, environment, wanted)
    finally:
        if private:
            shutil.rmtree(private, ignore_errors=True)


def _check_ports_free(plan) -> None:
    """Without a control socket nothing says when ssh listens, and plink does not exit when a
    port is taken: so the ports must be free before it starts (and then taken means ready)."""
    from ..openssh.tunnel import BindFailure, bind_failure_message

    failures = []
    for port in plan.listeners:
        reason = _bind_error(port)
        if reason:
            failures.append(BindFailure(port, reason))
    if failures:
        raise NodeSshError(bind_failure_message(failures, plan.socks_port))


def _bind_error(port: int) -> Optional[str]:
    """Why 127.0.0.1:port cannot be listened on now (as ssh would try it), or None."""
    import socket

    from ..openssh.tunnel import LOOPBACK

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # as ssh does: a port that only lingers in TIME_WAIT is free
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, port))
        return None
    except OSError as error:
        return error.strerror or str(error)
    finally:
        listener.close()


class _Ended(NodeSshError):
    """ssh ended before the tunnel was ready, or after: its failure (not reached, a port it
    could not listen on, forwarding refused), so 255 as ssh itself exits, not the plugin's 125."""

    exit_code = ExitStatus.SSH_FAILED


def _run_tunnel(flags: TunnelFlags, plan, argv: List[str], environment, wanted: Wanted) -> int:
    from ..foreground import Foreground, Stopped, StopSignals

    stderr = environment.stderr
    ready = False
    with StopSignals() as signals:
        child = None
        try:
            child = Foreground(argv, environment.env, terminal=plan.plink)
            _wait_until_listening(plan, child)
            _prove_forwarding(plan, child, environment)
            if flags.pac is not None:
                _write_pac(flags.pac, plan, wanted)
            _say_ready(flags, plan, environment)
            ready = True
            for said in _probe_free(child.said):
                stderr.write(printable(said) + "\n")
            while True:
                text = child.line(0.5)
                if text is not None:
                    stderr.write(printable(text) + "\n")
                    stderr.flush()
                elif child.exited():
                    raise _Ended(_ended_message(plan, child))
        except (KeyboardInterrupt, Stopped) as stop:
            signals.quiet()
            if child is not None:
                child.end()
            if ready:
                stderr.write("\nTunnel closed.\n")
                return ExitStatus.OK
            if isinstance(stop, KeyboardInterrupt):
                raise
            return 128 + stop.number
        finally:
            signals.quiet()
            if child is not None:
                child.end()


def _probe_free(lines: List[str]) -> List[str]:
    """What ssh said before the tunnel was ready, but the probe's channel (whose failure to
    connect is no news to the user)."""
    return [text for text in lines if not (text.startswith("channel ") and "open failed" in text)]


def _wait_until_listening(plan, child) -> None:
    """Until ssh listens on every port (its control socket appears only once it does, and
    once it has logged in), or ends; it may ask at the terminal meanwhile."""
    import time

    deadline = time.monotonic() + PROXY_SECONDS
    while True:
        child.lines(0.02)
        if plan.control_path and os.path.exists(plan.control_path):
            return
        if not plan.control_path and all(_bind_error(port) for port in plan.listeners):
            return
        if child.exited():
            child.end()
            raise _Ended(_failed_message(plan, child))
        if time.monotonic() >= deadline:
            child.end()
            raise _Ended(f"The connection to the proxy {plan.proxy} was not ready within {PROXY_SECONDS:g} seconds"
                         + _said(child) + ".")


def _prove_forwarding(plan, child, environment) -> None:
    """One channel through the tunnel's connection to the proxy's own sshd: refused by
    policy is an error; anything else inconclusive is said, and the tunnel goes on."""
    from ..openssh.tunnel import Forwarding, forwarding_refused_message, forwarding_verdict, probe_argv
    from ..proc import spawn

    probe = spawn.run(probe_argv(plan), environment.env, PROBE_SECONDS, first_line_only=True)
    said = "\n".join(child.said + child.lines(0.05)) + "\n" + probe.errors
    verdict = forwarding_verdict(probe.first_line, said)
    if verdict is Forwarding.UNKNOWN:  # the control master logs a refused channel a moment later
        said += "\n" + "\n".join(child.lines(REFUSAL_SECONDS))
        verdict = forwarding_verdict(probe.first_line, said)
    if verdict is Forwarding.REFUSED:
        child.end()
        raise _Ended(forwarding_refused_message(plan.proxy, ""))
    if verdict is Forwarding.UNKNOWN:
        last = _last_line(probe.errors) or "no answer"
        environment.stderr.write(f"Could not confirm that the proxy {plan.proxy} forwards TCP connections (the check "
                                 f"through it said: {last}); the tunnel is up, but a connection through it may "
                                 "be refused.\n")


def _write_pac(path: str, plan, wanted: Wanted) -> None:
    from ..openssh.tunnel import pac_text

    try:
        write_pac(path, pac_text(plan.socks_port or 0, wanted.pac_names, wanted.pac_networks))
    except OSError as error:
        raise NodeSshError(f"Could not write the PAC file {shown(path)}: {error.strerror or error}.") from None


def _say_ready(flags: TunnelFlags, plan, environment) -> None:
    from ..openssh.tunnel import ready_text

    environment.stdout.write(ready_text(plan, os.path.abspath(flags.pac) if flags.pac else None))
    environment.stdout.flush()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return shown(lines[-1], 300) if lines else ""


def _said(child) -> str:
    """What ssh said, for an error: its last lines."""
    lines = [text.strip() for text in child.said if text.strip()]
    return (": " + shown(" / ".join(lines[-3:]), 600).rstrip(".")) if lines else ""  # a period of ours follows


def _failed_message(plan, child) -> str:
    """Why ssh ended before it listened: a port it could not listen on, or the connection."""
    from ..openssh.tunnel import bind_failure_message, bind_failures

    failures = bind_failures("\n".join(child.said))
    if failures:
        return bind_failure_message(failures, plan.socks_port)
    return f"Could not open the tunnel through the proxy {plan.proxy} ({_how(child)})" + _said(child) + "."


def _ended_message(plan, child) -> str:
    return (f"The tunnel through {plan.proxy} ended ({_how(child)})" + _said(child)
            + ". Run the command again to reopen it.")


def _how(child) -> str:
    """How ssh ended: its exit status, or the signal that killed it."""
    if child.status is not None and child.status < 0:
        return f"{os.path.basename(child.argv[0])} was killed by signal {-child.status}"
    return f"ssh exit status {child.status}"


