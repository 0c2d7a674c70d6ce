"""`dcos node tunnel`'s core, pure: the forward specs a user writes, the argument lists of
the tunnel (OpenSSH's or plink's `-D`/`-L` to the proxy) and of the probe that proves the
proxy forwards, what ssh's words mean, and the PAC file.

A tunnel ends on the proxy: every connection through it is opened by the proxy's sshd,
so names are resolved there (socks5h), as `*.mesos` and VIP names need. Nothing here is
read by a shell: the lists go to posix_spawn as they are.
"""

import enum
import ipaddress
import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..errors import UsageError, shown
from .hops import is_plink, plink_translation

LOOPBACK = "127.0.0.1"  # every listener: never reachable from another machine
DEFAULT_SOCKS_PORT = 1080  # the SOCKS port of RFC 1928, and dcos-tunnel's default
CONNECT_TIMEOUT = 10  # seconds, unless an --option sets ConnectTimeout
KEEPALIVE = 30  # seconds between keepalives, unless an --option sets ServerAliveInterval

FORWARD_FORM = "[<local port>:]<destination>:<port>"


class ForwardSpec(NamedTuple):
    """A forward as the user wrote it: the destination is resolved later (a node, or a
    name the proxy resolves)."""

    local_port: int  # 0: chosen for you
    destination: str  # a node as `ssh` names it, an address, or a name; checked as a host
    port: int


_DIGITS = re.compile(r"[0-9]{1,5}")


def port_number(text: str, what: str, low: int = 1) -> int:
    """A TCP port from text: ASCII digits only, from `low` to 65535."""
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= 65535:
        raise UsageError(f"{what} must be a port number from {low} to 65535, not '{shown(text)}'.")
    return int(text)


_FORWARD = re.compile(r"(?:([0-9]+):)?(\[[^\]]*\]|[^:\[\]]*):([^:]*)")


def parse_forward(spec: str) -> ForwardSpec:
    """`[<local port>:]<destination>:<port>`; an IPv6 destination in brackets
    (`8080:[fd00::1]:80`). Without a local port, or with 0, one is chosen."""
    from ..hosts import normalize_host

    def refused(why: str) -> UsageError:
        return UsageError(f"The forward '{shown(spec)}' {why}: write {FORWARD_FORM} (for example "
                          "marathon.mesos:8080, 8080:leader:8080 or S1:5051).")

    match = _FORWARD.fullmatch(spec)
    if ":" not in spec:
        raise refused("names no port")
    if match is None:
        raise refused("is not in that form (an IPv6 address goes in brackets)")
    local, host, port = match.groups()
    bracketed = host.startswith("[")
    host = host[1:-1] if bracketed else host
    if not host:
        raise refused("names no destination")
    if not port:
        raise refused("names no port")
    destination = normalize_host(host)
    if destination is None or (bracketed and ":" not in destination):
        raise refused(f"names '{shown(host)}', which is not a node, address or host name")
    return ForwardSpec(port_number(local, f"The local port in '{shown(spec)}'", 0) if local else 0, destination,
                       port_number(port, f"The port in '{shown(spec)}'"))


def endpoint(host: str, port: int) -> str:
    """host:port as ssh and curl write it, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Forward(NamedTuple):
    """A local port (chosen already) to a destination as the proxy will connect to it."""

    local_port: int
    host: str  # an address, or a name the proxy resolves
    port: int

    @property
    def listener(self) -> str:
        return endpoint(LOOPBACK, self.local_port)

    @property
    def destination(self) -> str:
        return endpoint(self.host, self.port)

    def as_ssh(self) -> str:
        """The argument of -L: listen on the loopback address only."""
        return f"{LOOPBACK}:{self.local_port}:{self.destination}"


class Destination(NamedTuple):
    """Where a forward goes, as the proxy will connect to it, and how to say it."""

    host: str  # an address, or a name the proxy resolves
    what: str


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def names_leader(name: str) -> bool:
    from .copy import LEADER_NAMES

    return name.lower() in LEADER_NAMES


def needs_agents(name: str) -> bool:
    """Whether the cluster's agents are needed to tell what a destination names."""
    return not (names_leader(name) or is_address(name))


def destination_of(name: str, leader: Optional[str], agents: Sequence) -> Destination:
    """What a forward's destination names, as `dcos node ssh` and `scp` name nodes: `leader`
    (or `master`), an address, or an agent (by ID, a unique part of it, its host name);
    anything else is a name for the proxy to resolve (`marathon.mesos`, a VIP). `agents`
    are nodes.Node records; one the cluster describes unusably is refused, as every
    command refuses it."""
    from ..errors import ClusterDataError
    from ..nodes import agent_named

    if names_leader(name):
        return Destination(leader or "", f"the leading master at {leader}")
    if is_address(name):
        return Destination(name, "an address, connected to from the proxy")
    agent = agent_named(agents, name)
    if agent is None:
        return Destination(name, "a name the proxy resolves (no agent has it)")
    if agent.problem is not None:
        raise ClusterDataError(f"{agent.problem} Refusing to forward to it.")
    host = f" ({shown(agent.hostname, 60)})" if agent.hostname and agent.hostname != agent.address else ""
    return Destination(agent.address, f"agent {shown(agent.id)}{host} at {agent.address}")


class TunnelPlan(NamedTuple):
    """The connection to the proxy that carries the tunnel. With a control path (OpenSSH
    on POSIX) it also serves the probe through its control socket; without one (plink,
    Windows) the probe connects on its own."""

    client: str
    user: str
    proxy: str
    options: Tuple[str, ...] = ()
    proxy_options: Tuple[str, ...] = ()
    config_file: Optional[str] = None
    socks_port: Optional[int] = None
    forwards: Tuple[Forward, ...] = ()
    control_path: Optional[str] = None  # in a private folder; a path without '%' or white space

    @property
    def plink(self) -> bool:
        return is_plink(self.client)

    @property
    def listeners(self) -> Tuple[int, ...]:
        """The local ports the tunnel listens on."""
        return ((self.socks_port,) if self.socks_port is not None else ()) + tuple(
            forward.local_port for forward in self.forwards)


def _keys(options: Iterable[str]) -> set:
    return {option.split("=", 1)[0].lower() for option in options}


# First, so that they win over the user's options and any ssh config: the agent is never
# forwarded (nothing runs on the proxy), and a port that cannot be listened on ends ssh
# instead of leaving a tunnel that silently lacks it.
TUNNEL_OWN = ("ForwardAgent=no", "ExitOnForwardFailure=yes")


def _defaults(plan: TunnelPlan) -> Tuple[str, ...]:
    """After the user's, so theirs win: give up on a proxy that does not answer, and keep
    an idle tunnel alive through NAT and firewalls (and notice one that died)."""
    given = _keys(plan.proxy_options + plan.options)
    return tuple(option for option in (f"ConnectTimeout={CONNECT_TIMEOUT}", f"ServerAliveInterval={KEEPALIVE}")
                 if option.split("=", 1)[0].lower() not in given)


def tunnel_argv(plan: TunnelPlan) -> List[str]:
    """The tunnel: `ssh -N` to the proxy with a SOCKS listener (-D) and forwards (-L), all
    on 127.0.0.1; with a control path it is also the master of a control socket. plink
    takes -D and -L as OpenSSH does; it forwards no agent (-a)."""
    listeners: List[str] = []
    if plan.socks_port is not None:
        listeners += ["-D", endpoint(LOOPBACK, plan.socks_port)]
    for forward in plan.forwards:
        listeners += ["-L", forward.as_ssh()]
    if plan.plink:
        flags, _ = plink_translation(plan.proxy_options + plan.options)
        # -no-antispoof: no "Press Return to begin session" for a tunnel, which has no session.
        return [plan.client, "-N", "-a", "-no-antispoof", "-l", plan.user] + flags + listeners + [plan.proxy]
    argv = [plan.client, "-N", "-T"]
    if plan.config_file:
        argv += ["-F", plan.config_file]
    own: Tuple[str, ...] = TUNNEL_OWN
    if plan.control_path:
        own += ("ControlMaster=yes", f"ControlPath={plan.control_path}", "ControlPersist=no")
    for option in own + plan.proxy_options + plan.options + _defaults(plan):
        argv += ["-o", option]
    return argv + listeners + [f"{plan.user}@{plan.proxy}"]


def ssh_port(options: Sequence[str], default: int = 22) -> int:
    """The port an OpenSSH option list asks for (the first Port wins, as in ssh)."""
    for option in options:
        key, _, value = option.partition("=")
        if key.lower() == "port" and _DIGITS.fullmatch(value) and 0 < int(value) < 65536:
            return int(value)
    return default


def probe_target(plan: TunnelPlan) -> str:
    """What the probe asks the proxy to connect to: its own sshd, on its loopback address.
    It touches no service of the cluster: at most the proxy's sshd sends its banner."""
    return endpoint(LOOPBACK, ssh_port(plan.proxy_options + plan.options))


def probe_argv(plan: TunnelPlan, verbose: bool = False) -> List[str]:
    """One channel to the proxy's own sshd (`ssh -W`): its banner comes back when the
    proxy forwards TCP. Through the control socket when there is one (nothing to log in
    again); otherwise a connection of its own that never prompts (BatchMode). `verbose`
    lets ssh say when it has logged in (`Authenticated to`), for --check."""
    target = probe_target(plan)
    if plan.plink:
        flags, _ = plink_translation(plan.proxy_options + plan.options)
        return [plan.client, "-batch", "-a", "-l", plan.user] + flags + ["-nc", target, plan.proxy]
    argv = [plan.client, "-T"]
    if plan.config_file:
        argv += ["-F", plan.config_file]
    if plan.control_path:
        # BatchMode: should the control socket be gone, ssh would log in again rather than
        # fail; then it must never ask anything.
        own: Tuple[str, ...] = ("ControlMaster=no", f"ControlPath={plan.control_path}", "BatchMode=yes")
    else:
        own = ("ControlMaster=no", "ControlPath=none", "BatchMode=yes") + TUNNEL_OWN[:1]
    if verbose:
        own += ("LogLevel=VERBOSE",)
    for option in own + plan.proxy_options + plan.options + _defaults(plan):
        argv += ["-o", option]
    return argv + ["-W", target, f"{plan.user}@{plan.proxy}"]


class Forwarding(enum.Enum):
    """What the probe says about the proxy."""

    ALLOWED = "allowed"  # a channel was opened (the banner came back, or the proxy tried to connect)
    REFUSED = "refused"  # "administratively prohibited": AllowTcpForwarding no, or PermitOpen
    UNKNOWN = "unknown"  # nothing conclusive: the probe could not log in, or had no answer


_PROHIBITED = re.compile(r"administratively prohibited", re.IGNORECASE)
# The proxy tried to connect, so it forwards (OpenSSH's and plink's words for it).
_TRIED = re.compile(r"open failed: connect failed|Connection refused|Network (is )?unreachable", re.IGNORECASE)


def forwarding_verdict(first_line: str, said: str) -> Forwarding:
    """The probe's verdict from the first line it received and what ssh said (the probe's
    stderr, and the control master's, which logs a channel the proxy refused)."""
    if _PROHIBITED.search(said):
        return Forwarding.REFUSED
    if first_line.startswith("SSH-") or _TRIED.search(said):
        return Forwarding.ALLOWED
    return Forwarding.UNKNOWN


def forwarding_refused_message(proxy: str, how: str) -> str:
    return (
        f"The proxy {proxy} refuses TCP forwarding (\"administratively prohibited\": its sshd has "
        "AllowTcpForwarding no, or DisableForwarding, or a PermitOpen that leaves this out, for your user), so no "
        f"tunnel can pass through it. Ask its administrator to allow it (AllowTcpForwarding yes or local in its "
        f"sshd_config), or tunnel through another host with --proxy-ip=<host>{how}."
    )


_BIND_FAILED = re.compile(r"bind \[?([^\]\s]*)\]?:([0-9]+): ([^\r\n]+)")
_CANNOT_LISTEN = re.compile(r"cannot listen to port: ([0-9]+)")


class BindFailure(NamedTuple):
    port: int
    reason: str  # as the system says it: "Address already in use", "Permission denied"


def bind_failures(said: str) -> List[BindFailure]:
    """The local ports ssh could not listen on, from its own words (with
    ExitOnForwardFailure it then exits)."""
    found: Dict[int, str] = {}
    for match in _BIND_FAILED.finditer(said):
        found.setdefault(int(match.group(2)), match.group(3).strip())
    for match in _CANNOT_LISTEN.finditer(said):
        found.setdefault(int(match.group(1)), "cannot listen")
    return [BindFailure(port, reason) for port, reason in found.items()]


def bind_failure_message(failures: Sequence[BindFailure], socks_port: Optional[int]) -> str:
    """One paragraph for the ports that could not be listened on."""
    parts = []
    for failure in failures:
        what = "the SOCKS proxy's port" if failure.port == socks_port else "a forward's local port"
        parts.append(f"{endpoint(LOOPBACK, failure.port)} ({what}): {failure.reason}")
    in_use = any("in use" in failure.reason.lower() for failure in failures)
    low = any(failure.port < 1024 for failure in failures)
    fixes = []
    if in_use:
        fixes.append("another program listens there: choose another port, or 0 to have a free one chosen "
                     "(--port=0; a forward's local port 0, or none: 0:marathon.mesos:8080, marathon.mesos:8080)")
    if low:
        fixes.append("ports below 1024 need root: choose one from 1024 up")
    return (f"Could not listen on {', '.join(parts)}. " + ("; ".join(fixes).capitalize() + "." if fixes else
                                                          "Choose another port.")).strip()


# -- the PAC file ----------------------------------------------------------------------

# The names only the cluster resolves: Mesos DNS (`leader.mesos`, `<app>.marathon.mesos`)
# and DC/OS DNS (`<vip>.marathon.l4lb.thisdcos.directory`, `*.dcos.thisdcos.directory`).
CLUSTER_DOMAINS = (".mesos", ".thisdcos.directory", ".dcos.directory")


def private_networks(addresses: Iterable[str], prefix: int = 24) -> List[ipaddress.IPv4Network]:
    """The private IPv4 networks (each address's /24, merged) of the cluster's nodes: where
    its agents, and the tasks on them, are. A narrower net than the private block (10/8)
    keeps this machine's own private network (an office's 10.x, a home's 192.168.x) direct."""
    networks: List[ipaddress.IPv4Network] = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv4Address) and address.is_private and not address.is_loopback:
            networks.append(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False))
    return list(ipaddress.collapse_addresses(networks))


def pac_text(port: int, host_names: Iterable[str], networks: Iterable[ipaddress.IPv4Network]) -> str:
    """A proxy auto-config file that sends the cluster's names and private networks through
    the SOCKS proxy, and everything else directly. Host names must already be checked
    (hosts.normalize_host): they are written inside JavaScript strings. An address is
    matched only when the URL names it, so no name is ever looked up here (isInNet would)."""
    proxy = f"SOCKS5 {LOOPBACK}:{port}; SOCKS {LOOPBACK}:{port}"
    names = sorted(set(host_names))
    lines = [
        f"// dcos node tunnel socks: the cluster's names and private networks through {LOOPBACK}:{port},",
        "// everything else directly. Written anew by each run with --pac.",
        "function FindProxyForURL(url, host) {",
        f'  var tunnel = "{proxy}";',
        "  host = host.toLowerCase();",
        "  var domains = [" + ", ".join(f'"{domain}"' for domain in CLUSTER_DOMAINS) + "];",
        "  for (var i = 0; i < domains.length; i++) {",
        "    if (dnsDomainIs(host, domains[i])) return tunnel;",
        "  }",
        "  var hosts = [" + ", ".join(f'"{name.lower()}"' for name in names) + "];",
        "  for (var j = 0; j < hosts.length; j++) {",
        "    if (host == hosts[j]) return tunnel;",
        "  }",
        "  if (/^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$/.test(host)) {",
    ]
    for network in networks:
        lines.append(f'    if (isInNet(host, "{network.network_address}", "{network.netmask}")) return tunnel;')
    lines += ["  }", '  return "DIRECT";', "}", ""]
    return "\n".join(lines)


# -- what is printed -------------------------------------------------------------------

EXAMPLE_URL = "http://leader.mesos:5050/version"


def ready_text(plan: TunnelPlan, pac_path: Optional[str] = None) -> str:
    """How to use the tunnel, once it is ready (stdout): the SOCKS proxy with a curl line, a
    browser's settings and the PAC file; or each forward, `127.0.0.1:<port> -> <destination>`."""
    via = f"{plan.user}@{plan.proxy}"
    lines = []
    if plan.socks_port is not None:
        address = endpoint(LOOPBACK, plan.socks_port)
        lines += [
            f"SOCKS5 proxy on {address}, through {via}, which resolves the names. Ctrl-C ends it.",
            f"  curl:    curl --proxy socks5h://{address} {EXAMPLE_URL}",
            f"  browser: SOCKS host {LOOPBACK}, port {plan.socks_port}, SOCKS v5, names resolved by the proxy "
            f"(Firefox: \"Proxy DNS when using SOCKS v5\"; Chrome: --proxy-server=socks5://{address})",
        ]
        if pac_path:
            from pathlib import Path

            lines.append(f"  PAC:     {Path(pac_path).as_uri()} (sends only the cluster's names and private "
                         "networks through the proxy)")
    if plan.forwards:
        lines.append(f"Forwarding through {via}, which resolves the names. Ctrl-C ends it.")
        lines += [f"  {forward.listener} -> {forward.destination}" for forward in plan.forwards]
    return "\n".join(lines) + "\n"
