"""`dcos node ssh --check`, a mode of `ssh`: every prerequisite of a connection, checked
without opening a shell.

The checklist is a list of small steps. Each declares the checks it needs; a step
whose need failed (or was itself skipped for that reason) is skipped and names the
cause, so that one fault shows as one failure. Everything a step does to the world
goes through `Probes`, which tests replace, so every step is tested without root.
"""

import enum
import glob
import json
import os
import socket
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .errors import ClusterAuthError, ClusterUnreachable, ConfigError, NodeSshError, shown
from .flags import SshFlags, TargetKind
from .proc import programs, spawn
from .route import Hop, ProxyKind, Route, named_address, settle_user, target_lookup
from .sshagent import check_agent

STEP_SECONDS = 5  # each connection attempt; a whole ssh probe gets a few of these


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"  # the command should work, after something only the user can do (accept a host key)
    FAIL = "fail"
    SKIP = "skip"


class Check(NamedTuple):
    name: str
    status: Status
    detail: str
    fix: str = ""
    blocked: bool = False  # skipped because a check it needs did not pass

    def as_json(self) -> Dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def fail(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.FAIL, detail, fix)


def skip(name: str, detail: str) -> Check:
    return Check(name, Status.SKIP, detail)


def warn(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.WARN, detail, fix)


def ssh_banner(host: str, port: int) -> Tuple[bool, str]:
    """Whether host:port answers as an SSH server; (False, why) otherwise."""
    try:
        with socket.create_connection((host, port), timeout=STEP_SECONDS) as connection:
            connection.settimeout(STEP_SECONDS)
            line = connection.recv(256).split(b"\n")[0].strip().decode("ascii", "replace")
    except socket.timeout:
        return False, "no answer within %d seconds" % STEP_SECONDS
    except OSError as error:
        return False, error.strerror or str(error)
    if not line.startswith("SSH-"):
        return False, f"something other than an SSH server answers ({shown(line, 60)})"
    return True, shown(line, 120)


class Probes(NamedTuple):
    """What the checks do outside this process; tests pass their own."""

    run: Callable[..., spawn.Finished] = spawn.run
    banner: Callable[[str, int], Tuple[bool, str]] = ssh_banner
    agent: Callable[..., str] = check_agent
    find_client: Callable[[str, bool], str] = programs.find_client
    ssh_folder: Callable[[], str] = lambda: os.path.join(os.path.expanduser("~"), ".ssh")


class Context:
    """What the steps share: the flags and the route, and the facts found so far."""

    def __init__(self, flags: SshFlags, route: Route, settings, cluster, env, probes: Probes, noun: str):
        self.flags = flags
        self.noun = noun  # as the user reached the plugin, for the commands its messages name
        self.route = route
        self.settings = settings
        self.cluster = cluster
        self.env = env
        self.probes = probes
        self.proxy: Optional[str] = route.proxy_host
        self.proxy_source: str = route.proxy_kind.value  # for --master-proxy, what the cluster says
        self.target: Optional[str] = named_address(flags.target)
        self.notices: List[str] = []  # what the cluster said about its answers, for stderr
        self.proxy_error: Optional[NodeSshError] = None
        self.target_error: Optional[NodeSshError] = None
        self.client_path: Optional[str] = None

    @property
    def proxied(self) -> bool:
        return self.route.proxied

    def finders(self):
        """(find the proxy, find the target): a lookup to make (it returns a
        cluster.queries.Found), or None when the flags say."""
        find_proxy = self.cluster.master_public_address if self.route.proxy_kind is ProxyKind.MASTER else None
        return find_proxy, target_lookup(self.flags.target, self.cluster, self.flags.nodes, self.noun)


class Step(NamedTuple):
    needs: Tuple[str, ...]
    names: Tuple[str, ...]  # the checks it reports, in order
    run: Callable[[Context], List[Check]]


# -- the steps -----------------------------------------------------------------------


def _configuration(context: Context) -> List[Check]:
    from .cluster.queries import no_cluster_message

    settings = context.settings
    where = settings.config_path or "no config file (the environment only)"
    if _needs_cluster(context) and not (settings.dcos_url or settings.mesos_master_url):
        return [fail("configuration", where, no_cluster_message(settings))]
    return [ok("configuration", f"{where}; core.dcos_url = {display_url(settings.dcos_url) or '(none)'}")]


def _needs_cluster(context: Context) -> bool:
    return any(context.finders())


def _cluster_api(context: Context) -> List[Check]:
    if not _needs_cluster(context):
        return [skip("cluster API", "not needed: the node and the proxy are named by address")]
    find_proxy, find_target = context.finders()
    if find_target:
        try:
            found = find_target()
            context.target = found.address
            context.notices += found.notices
        except NodeSshError as error:
            context.target_error = error
    if find_proxy:
        try:
            found = find_proxy()
            context.proxy, context.proxy_source = found.address, found.source
            context.notices += found.notices
        except NodeSshError as error:
            context.proxy_error = error
    settings = context.settings
    url = display_url(settings.dcos_url or settings.mesos_master_url)
    unreachable = next((error for error in (context.target_error, context.proxy_error)
                        if isinstance(error, (ClusterUnreachable, ClusterAuthError, ConfigError))), None)
    if unreachable:
        return [fail("cluster API", url, str(unreachable))]
    return [ok("cluster API", f"{url} answered" + (" (with your token)" if settings.acs_token else ""))]


def _target(context: Context) -> List[Check]:
    target = context.flags.target
    if target.kind is TargetKind.SELECTED and context.flags.nodes is not None:
        from .selection import describe_choice

        named = f"the one node {describe_choice(context.flags.nodes)} selects"
    else:
        named = f"agent {shown(target.value)}" if target.kind is TargetKind.AGENT else target.kind.value
    if context.target_error:
        what = named if target.kind is TargetKind.SELECTED else f"{target.kind.value} {target.value or ''}".strip()
        return [fail("target", what, str(context.target_error))]
    return [ok("target", f"{named} at {context.target}")]


def _proxy(context: Context) -> List[Check]:
    route = context.route
    if route.proxy_kind is ProxyKind.NONE:
        return [ok("proxy", "none: a direct connection")]
    if context.proxy_error:
        return [fail("proxy", route.proxy_kind.value, str(context.proxy_error))]
    mode = "jump mode (ssh -W)" if route.jump else "agent forwarding"
    return [ok("proxy", f"{context.proxy} ({context.proxy_source}); {mode}")]


def _ssh_client(context: Context) -> List[Check]:
    try:
        context.client_path = context.probes.find_client(context.route.client, context.route.plink)
    except NodeSshError as error:
        return [fail("ssh client", context.route.client, str(error))]
    version = context.probes.run([context.client_path, "-V"], context.env, STEP_SECONDS)
    return [ok("ssh client", f"{context.client_path} ({version.first_line or last_line(version.errors)})")]


def _ssh_agent(context: Context) -> List[Check]:
    try:
        return [ok("ssh-agent", context.probes.agent(context.env, context.client_path, context.route.plink))]
    except NodeSshError as error:
        if context.route.forwarding:
            return [fail("ssh-agent", "needed: the proxy hop forwards it", str(error))]
        return [ok("ssh-agent", "not needed here (no agent forwarding); keys come from your ssh config or "
                                "--option IdentityFile")]


def _key_files(context: Context) -> List[Check]:
    if os.name != "posix":
        return [ok("key files", "not checked on Windows (file permissions are ACLs there)")]
    folder = context.probes.ssh_folder()
    pems = sorted(glob.glob(os.path.join(glob.escape(folder), "*.pem")))
    if not pems:
        return [ok("key files", f"no .pem files in {folder}")]
    open_to_others, unreadable = [], []
    for path in pems:
        try:
            if os.stat(path).st_mode & 0o077:
                open_to_others.append(path)
        except OSError as error:  # a dangling link, say: nothing ssh could use either
            unreadable.append(f"{path} ({error.strerror})")
    if open_to_others:
        return [fail("key files", "readable by others: " + ", ".join(open_to_others),
                     "ssh refuses private keys others can read. Run `chmod 600 " + " ".join(open_to_others) + "`.")]
    note = f"; cannot be read: {', '.join(unreadable)}" if unreadable else ""
    usable = len(pems) - len(unreadable)
    return [ok("key files", f"{usable} .pem file{'s' if usable != 1 else ''} in {folder}, readable only by you"
               + note)]


def _first_hop_host(context: Context) -> Optional[str]:
    return context.proxy if context.proxied else context.target


def _hop_of(context: Context) -> Hop:
    return Hop(context.route, context.proxy, context.target or "", _cluster_key(context))


def _first_hop(context: Context) -> List[Check]:
    host = _first_hop_host(context)
    if host is None:
        return [skip("first hop", "no address to try")]
    return [first_hop_check(_hop_of(context), context.env, context.probes, _port_fix(context, host))]


# Every probe: never a prompt, never a key written to known_hosts (the user's files stay as
# they were: an unknown key is reported, not accepted), never longer than a step.
PROBE_OPTIONS = ("BatchMode=yes", f"ConnectTimeout={STEP_SECONDS}", "StrictHostKeyChecking=yes", "UpdateHostKeys=no")
# ssh says what it met (the server's version, each host key and its verdict) from DEBUG1 on;
# the first hop's probe stops at the login (no method but "none").
KEYS_OPTIONS = PROBE_OPTIONS + ("LogLevel=DEBUG1",)
FIRST_HOP_OPTIONS = KEYS_OPTIONS + ("PreferredAuthentications=none",)


def first_hop_check(hop: Hop, env: Mapping[str, str], probes: "Probes", unreached_fix: str) -> Check:
    """The connection the command makes first (to the proxy, or to the node), made as it
    makes it, through whatever its -F file, options and ~/.ssh/config say (a ProxyCommand,
    a ProxyJump), up to the login: does an SSH server answer, and is its host key the one
    known? With plink, whose configuration is PuTTY's, the port alone."""
    from .openssh.hops import first_hop_argv
    from .openssh.hostkeys import read_log

    route = hop.route
    host = hop.proxy or hop.target
    who = f"{route.user}@{host}"
    if route.plink:
        port = _port(route.proxy_options + route.options) if hop.proxy else _port(route.options)
        reachable, detail = probes.banner(host, port)
        if reachable:
            return ok("first hop", f"{host}:{port} answers as an SSH server ({detail})")
        return fail("first hop", f"{host}:{port}: {detail}", unreached_fix)
    plan = hop.plan(tty=False)
    env = dict(env, **hop.env_changes)
    probe = probes.run(first_hop_argv(plan, FIRST_HOP_OPTIONS), env, 3 * STEP_SECONDS)
    log = read_log(probe.errors)
    if not log.reached:
        why = "no answer in time" if probe.status is None else last_line(probe.errors)
        if log.proxy_command:
            unreached_fix = (f"ssh could not reach {host} through the ProxyCommand it ran ({log.proxy_command}); "
                             "check that command, which comes from --proxy-option, --option or your ssh config.")
        return fail("first hop", f"{who}: {why}", unreached_fix)
    how = "through its ProxyCommand" if log.proxy_command else f"at {log.address}" if log.address else ""
    answers = f"{who} answers ({log.software}{', ' + how if how else ''})"
    verdict = key_verdict("first hop", answers, log.key, lambda: _strictness(probes, first_hop_argv(plan), env))
    if verdict is not None:
        return verdict
    return fail("first hop", f"{answers}, but ssh stopped: {last_line(probe.errors)}",
                f"ssh said: {last_line(probe.errors)}")


def key_verdict(name: str, answers: str, key, strictness: Callable[[], str],
                on_master: bool = False) -> Optional[Check]:
    """The check for ssh's verdict on a host key (openssh.hostkeys.HostKey), or None when
    it gave none. `strictness` says the real command's StrictHostKeyChecking; `on_master`:
    ssh on the master checks this key, in the master's known_hosts (agent forwarding)."""
    from .openssh.hostkeys import KeyState, key_file_hint

    asker, here = ("ssh on the master", "there") if on_master else ("ssh", "here")
    host_own = (f"the host's own (on the host: `ssh-keygen -lf {key_file_hint(key.kind)}`, or ask the cluster's "
                "administrator)")
    if key.state is KeyState.KNOWN:
        return ok(name, f"{answers}; its {key.shown()} is the one known")
    if key.state is KeyState.UNKNOWN:
        strict = strictness()
        unknown = f"{answers}; its host key is not known {here} yet"
        if strict == "true":
            return fail(name, f"{unknown}, and StrictHostKeyChecking yes refuses it ({key.shown()})",
                        f"Compare it with {host_own}, then accept it once with --option "
                        "StrictHostKeyChecking=accept-new (a key that changes later is still refused).")
        if strict == "accept-new":
            return warn(name, f"{unknown}: {asker} will accept {key.shown()} and remember it "
                        "(StrictHostKeyChecking accept-new)", f"Compare it with {host_own}.")
        if strict == "false":
            return warn(name, f"{unknown}: {asker} will accept {key.shown()} without asking and without "
                        "remembering it (StrictHostKeyChecking no)", f"Compare it with {host_own}. --option "
                        "StrictHostKeyChecking=accept-new would remember it, and refuse a change.")
        return warn(name, f"{unknown}: {asker} will ask you to accept {key.shown()} (at a terminal; without one "
                    "it refuses)", f"Compare it with {host_own} before you answer yes. --option "
                    "StrictHostKeyChecking=accept-new accepts a new key without asking and still refuses a changed "
                    "one.")
    if key.state is KeyState.CHANGED:
        where = f" -f '{key.offending}'" if key.offending else ""
        remove = f"`ssh-keygen -R '{key.name}'{where}`" if key.name else "`ssh-keygen -R <host>`"
        return fail(name, f"{answers}; its host key has changed: it now offers {key.shown()}",
                    f"{asker} refuses a host whose key changed: someone may be in the middle, or the host was "
                    "reinstalled. Ask the cluster's administrator; only if the new key is that host's, remove the old "
                    f"one{' on the master' if on_master else ''} with {remove} and connect again (ssh then asks "
                    "about the new one).")
    if key.state is KeyState.REVOKED:
        return fail(name, f"{answers}; its {key.shown()} is marked as revoked in a known_hosts {here}",
                    "A revoked key may be a stolen one: do not connect; ask the cluster's administrator.")
    return None


def _strictness(probes: "Probes", argv: Sequence[str], env: Mapping[str, str]) -> str:
    """StrictHostKeyChecking as the connection `argv` makes it has it (`ssh -G`: its
    options, its -F file or ~/.ssh/config): "ask", "true", "accept-new" or "false"."""
    resolved = probes.run(list(argv[:1]) + ["-G"] + list(argv[1:]), env, STEP_SECONDS).stdout
    for line in resolved.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if key == "stricthostkeychecking":
            return _strictness_word(value)
    return "ask"


def _strictness_word(value: str) -> str:
    value = value.strip().lower()
    return {"yes": "true", "no": "false", "off": "false"}.get(value, value)


def _option_strictness(options: Sequence[str]) -> str:
    """StrictHostKeyChecking as --option gives it (the first wins), for ssh on the master."""
    for option in options:
        key, _, value = option.partition("=")
        if key.lower() == "stricthostkeychecking":
            return _strictness_word(value)
    return "ask"


def _through_proxy(context: Context) -> List[Check]:
    """Log in to the proxy with the key only (BatchMode), and ask it for a tunnel to the
    node's port (ssh -W) without running anything there: two verdicts from one probe."""
    chosen, proxy, target = context.route, context.proxy, context.target
    who = f"{chosen.user}@{proxy}"
    if chosen.plink:
        argv = [context.client_path, "-batch", "-T", "-l", chosen.user or "", proxy or "", "true"]
        probe = context.probes.run(argv, context.env, 3 * STEP_SECONDS)
        login = ok("proxy login", f"{who} accepts your key") if probe.status == 0 else fail(
            "proxy login", f"{who}: {last_line(probe.errors)}", login_fix(probe.errors, "the proxy", "This machine"))
        return [login, skip("node port", "not tested with plink; the node login below tries the path")]
    node_port = _port(chosen.options)
    argv = [context.client_path, "-T", "-o", "LogLevel=VERBOSE"]
    if chosen.config_file:
        argv += ["-F", chosen.config_file]
    for option in PROBE_OPTIONS + chosen.proxy_options + chosen.options:
        argv += ["-o", option]
    argv += ["-W", f"[{target}]:{node_port}", f"{chosen.user}@{proxy}"]
    probe = context.probes.run(argv, context.env, 3 * STEP_SECONDS, first_line_only=True)
    errors = probe.errors
    if "Authenticated to" not in errors:
        blocked = Check("node port", Status.SKIP, "not tried: proxy login failed", blocked=True)
        if probe.status is None:
            return [fail("proxy login", f"{who}: no answer in time", "Check that the proxy's sshd is "
                         "healthy; a firewall may drop the connection after the handshake."), blocked]
        return [fail("proxy login", f"{who}: {last_line(errors)}", login_fix(errors, "the proxy", "This machine")),
                blocked]
    checks = [ok("proxy login", f"{who} accepts your key")]
    where = f"{target}:{node_port}"
    banner = probe.first_line
    if banner.startswith("SSH-"):
        checks.append(ok("node port", f"{where} answers through the proxy ({shown(banner)})"))
    elif "administratively prohibited" in errors:
        refused = (f"{where}: the proxy's sshd refuses TCP forwarding (\"administratively prohibited\": "
                   "AllowTcpForwarding no)")
        if chosen.jump:
            checks.append(fail("node port", refused, "Jump mode reaches the node through a channel of the proxy, "
                               "and so do `dcos node run`, `scp` and `tunnel`. Ask the proxy's administrator to "
                               "allow TCP forwarding (AllowTcpForwarding yes or local), or use agent forwarding "
                               "(leave out --jump)."))
        else:
            checks.append(skip("node port", f"{refused}, so this cannot be tested without a shell there; agent "
                               "forwarding does not need it (`dcos node run`, `scp`, `tunnel` and --jump do); the "
                               "node login below tries the path"))
    else:
        reason = last_line(errors) if errors.strip() else "no answer in time"
        checks.append(fail("node port", f"{where} through the proxy: {reason}",
                           f"Nothing answers on port {node_port} of {target} from the proxy: sshd on the node "
                           "may be stopped, or a firewall (security group) closes the port to the masters."))
    return checks


def _node_login(context: Context) -> List[Check]:
    from .openssh.hops import build_argv, display
    from .openssh.hostkeys import KeyState, read_log

    chosen = context.route
    hop = _hop_of(context)
    plan = hop.plan(tty=False, command=("true",))
    argv = build_argv(plan._replace(options=KEYS_OPTIONS + chosen.options))
    env = dict(context.env, **hop.env_changes)
    probe = context.probes.run(argv, env, 4 * STEP_SECONDS)
    who = f"{chosen.user}@{context.target}"
    shown_argv = display(build_argv(plan._replace(options=PROBE_OPTIONS + chosen.options)))
    if probe.status == 0:
        return [ok("node login", f"{who} accepts your key (`{shown_argv}`)")]
    if probe.status is None:
        return [fail("node login", f"{who}: no answer in time", "The node or the proxy is slow or drops the "
                     "connection; try again, or check the node's sshd.")]
    log = read_log(probe.errors)
    if log.key.state in (KeyState.UNKNOWN, KeyState.CHANGED, KeyState.REVOKED):
        # The first hop's key was checked before: a verdict now is the node's.
        if chosen.forwarding:
            verdict = key_verdict("node login", f"{who}, from the master", log.key,
                                  lambda: _option_strictness(chosen.options), on_master=True)
        else:
            verdict = key_verdict("node login", f"{who} answers", log.key,
                                  lambda: _strictness(context.probes, build_argv(plan), env))
        if verdict is not None:
            return [verdict]
    where = "The master" if chosen.forwarding else "This machine"
    return [fail("node login", f"{who}: {last_line(probe.errors)}", login_fix(probe.errors, "the node", where))]


def _cluster_key(context: Context) -> Optional[str]:
    """The cluster's identity for the node's HostKeyAlias, as the real command asks for it;
    None when the cluster cannot say (its own check reports that)."""
    from .route import needs_cluster_key

    if context.cluster is None or not needs_cluster_key(context.route, context.settings):
        return None
    try:
        return context.cluster.cluster_key()
    except NodeSshError:
        return None


def steps(flags: SshFlags, route: Route) -> List[Step]:
    """The checklist for this route, each step with what it needs."""
    from_cluster = ("cluster API",)
    connection = ("ssh client", "first hop", "target") + (("ssh-agent",) if route.forwarding else ())
    proxied = route.proxied
    return [
        Step((), ("configuration",), _configuration),
        Step(("configuration",), ("cluster API",), _cluster_api),
        Step(from_cluster if flags.target.kind is not TargetKind.ADDRESS else (), ("target",), _target),
        Step(from_cluster if route.proxy_kind is ProxyKind.MASTER else (), ("proxy",), _proxy),
        Step((), ("ssh client",), _ssh_client),
        Step(("ssh client",), ("ssh-agent",), _ssh_agent),
        Step((), ("key files",), _key_files),
        Step(("ssh client",) + (("proxy",) if proxied else ("target",)), ("first hop",), _first_hop),
    ] + ([Step(connection, ("proxy login", "node port"), _through_proxy)] if proxied else []) + [
        Step(connection + (("proxy login", "node port") if proxied else ()), ("node login",), _node_login),
    ]


def checklist(context: Context, plan: Sequence[Step]) -> List[Check]:
    """Run the steps in order; a step whose need did not pass is skipped, naming it."""
    done: Dict[str, Check] = {}
    for step in plan:
        cause = next((name for name in step.needs if name in done and _blocks(done[name])), None)
        results = ([Check(name, Status.SKIP, not_tried(cause, done[cause]), blocked=True) for name in step.names]
                   if cause else step.run(context))
        for check in results:
            done[check.name] = check
        if context.route.user is None and "proxy" in done and "target" in done:
            context.route = settle_user(context.route, _first_hop_host(context), context.env)
    return list(done.values())


def _blocks(check: Check) -> bool:
    """A failure stops what needs it; so does a host key still to accept, since the probes
    never accept one."""
    return check.status in (Status.FAIL, Status.WARN) or check.blocked


def not_tried(cause: str, check: Check) -> str:
    if check.status is Status.WARN:
        return f"not tried: {cause} waits for you to accept its host key"
    return f"not tried: {cause} failed"


def run_checks(flags: SshFlags, route: Route, settings, cluster, environment, probes: Optional[Probes] = None) -> int:
    context = Context(flags, route, settings, cluster, environment.env, probes or _probes_of(environment),
                      environment.noun)
    checks = checklist(context, steps(flags, route))
    for notice in dict.fromkeys(context.notices):
        environment.stderr.write(notice + "\n")
    return report(checks, environment.stdout, flags.json)


# -- helpers -------------------------------------------------------------------------


def _probes_of(environment) -> Probes:
    """The real probes, looking where the command's environment says: its PATH, its home."""
    search = environment.env.get("PATH", os.defpath)
    return Probes(find_client=lambda name, plink: programs.find_client(name, plink, search=search),
                  ssh_folder=lambda: os.path.join(environment.home, ".ssh"))


def display_url(url: Optional[str]) -> str:
    """A URL without any user:password@."""
    if not url:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _port(options: Sequence[str], default: int = 22) -> int:
    """The port an OpenSSH option list asks for (the first Port wins, as in ssh)."""
    for option in options:
        key, _, value = option.partition("=")
        if key.lower() == "port" and value.isascii() and value.isdigit():
            return int(value)
    return default


def last_line(text: str) -> str:
    """The last thing ssh said, its debug lines (LogLevel=DEBUG1) aside."""
    lines = [line.strip() for line in text.strip().splitlines()
             if line.strip() and not line.startswith(("debug1:", "debug2:", "debug3:"))]
    return shown(lines[-1], 200) if lines else "no message"


def login_fix(stderr: str, who: str, where: str) -> str:
    if "Host key verification failed" in stderr:
        return (f"{where} does not know {who}'s host key, or it changed. Connect once by hand and "
                "check the fingerprint it shows, or pass --option StrictHostKeyChecking=accept-new.")
    if "Permission denied" in stderr:
        return (f"{who} does not accept any key you offer. Add the cluster's key to your agent with "
                "`ssh-add ~/.ssh/<key>.pem`, and check the user (--user, or node.ssh_user).")
    return f"ssh said: {last_line(stderr)}"


def _port_fix(context: Context, host: str) -> str:
    kind = context.route.proxy_kind
    if kind is ProxyKind.MASTER:
        return (f"Nothing answers as an SSH server at {host}, which the plugin took from "
                f"{context.proxy_source}. If that is not the master's public address (it may be a private "
                "one, or a stopped host), name the right one with --proxy-ip=<address>, or set node.ssh_proxy_ip; "
                "else check that sshd runs on the master and that port 22 is open to you.")
    if kind is not ProxyKind.NONE:
        return (f"Nothing answers as an SSH server at {host}: check the proxy's address, that its sshd runs "
                "and that its port 22 is open to you.")
    return (f"Nothing answers as an SSH server at {host} from here: the node may be reachable only "
            "through a master; add --master-proxy (or --proxy-ip=<bastion>).")


def report(checks: List[Check], stdout: Any, as_json: bool) -> int:
    failures = [check for check in checks if check.status is Status.FAIL]
    if as_json:
        stdout.write(json.dumps({"ok": not failures, "checks": [check.as_json() for check in checks]}, indent=2)
                     + "\n")
        return 1 if failures else 0
    width = max(len(check.name) for check in checks)
    for check in checks:
        label = check.status.value.upper() if check.status in (Status.FAIL, Status.WARN) else check.status.value
        stdout.write(f"{label:<5} {check.name:<{width}}  {check.detail}\n")
        if check.fix:
            stdout.write(f"{'':<5} {'':<{width}}  {'fix' if check.status is Status.FAIL else 'note'}: {check.fix}\n")
    if failures:
        stdout.write(f"\n{len(failures)} of {len(checks)} checks failed.\n")
        return 1
    warnings = [check for check in checks if check.status is Status.WARN]
    if warnings:
        waiting = [check.name for check in checks if check.blocked]
        later = (f" Run the check again after connecting once, to try the {', '.join(waiting)} too." if waiting
                 else "")
        keys = "key" if len(warnings) == 1 else "keys"
        stdout.write(f"\nNo check failed ({len(warnings)} with a warning): the connection should work once you "
                     f"accept the host {keys} above.{later}\n")
        return 0
    stdout.write(f"\nAll {len(checks)} checks passed (or were not needed): the connection should work.\n")
    return 0
