"""How to reach a node: the one place that turns flags and settings into a route, and a
route and the cluster's answers into a resolved hop.

A `Route` is what the command line and the configuration ask for, checked before
anything is looked up: the user, the options for each connection, which proxy and how
it is crossed (forwarding the agent, or jump mode: `ssh -W` through it), the ssh config
file and the client. A `Hop` is a route with its addresses: the proxy's, the target's,
and the cluster's identity, from which every command derives the same HostKeyAlias.

Every command takes its route from here; none builds one of its own.
"""

import enum
import os
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple

from .errors import NodeSshError, UsageError, shown
from .flags import RouteFlags, Target, TargetKind
from .settings import DEFAULT_SSH_USER, ProxyMode, Settings

# OpenSSH hands a ProxyCommand to $SHELL -c; ours is quoted for a POSIX shell.
PROXY_COMMAND_SHELL = {"SHELL": "/bin/sh"}


class ProxyKind(enum.Enum):
    """Where the proxy comes from; the value is how messages name it."""

    NONE = "none"  # a direct connection
    MASTER = "--master-proxy"  # the master's public address, from the cluster
    FLAG = "--proxy-ip"
    CONFIG = "ssh_proxy_ip in the configuration"


class Route(NamedTuple):
    """What the flags and the configuration ask for, checked, before anything is looked up."""

    user: Optional[str]  # None until settled: configured nowhere, so a --config-file may choose
    options: Tuple[str, ...]  # for every connection
    proxy_options: Tuple[str, ...]  # for the connection to the proxy only
    config_file: Optional[str]  # -F, for the connections made from this machine
    client: str  # the first hop's program
    plink: bool
    mode: ProxyMode
    proxy_kind: ProxyKind
    proxy_host: Optional[str]  # for FLAG and CONFIG

    @property
    def proxied(self) -> bool:
        return self.proxy_kind is not ProxyKind.NONE

    @property
    def jump(self) -> bool:
        return self.mode is ProxyMode.JUMP

    @property
    def forwarding(self) -> bool:
        """Whether the agent is forwarded to a proxy (and so must hold a key)."""
        return self.proxied and not self.jump


def source_of(settings: Settings, key: str) -> str:
    where = settings.config_path or "the environment"
    return f"the {key} setting ({where}, DCOS_NODES_{key.upper()} or DCOS_NODE_{key.upper()})"


def route_of(flags: RouteFlags, settings: Settings, *, jump: bool = False,
             choose_client: Optional[Callable[[Optional[str]], str]] = None) -> Route:
    """The route the flags and settings ask for, checked. With `jump`, the command always
    reaches nodes through the proxy in jump mode (run, scp, ssh-config): this machine
    connects to the node itself, and the agent is never forwarded."""
    from .hosts import check_host_flag, check_user
    from .openssh.hops import check_option, is_plink, merge_options

    options = merge_options(
        [check_option(option, "--option") for option in flags.options],
        [check_option(option, source_of(settings, "ssh_options")) for option in settings.ssh_options],
    )
    proxy_options = tuple(check_option(option, "--proxy-option") for option in flags.proxy_options)
    config_file = flags.config_file
    if config_file is not None and not os.path.isfile(config_file):
        raise UsageError(f"--config-file names '{shown(config_file)}', which is not a file.")

    if flags.master_proxy:
        proxy_kind, proxy_host = ProxyKind.MASTER, None
    elif flags.proxy_ip is not None:
        proxy_kind, proxy_host = ProxyKind.FLAG, check_host_flag("--proxy-ip", flags.proxy_ip)
    elif settings.ssh_proxy_ip:
        proxy_kind = ProxyKind.CONFIG
        proxy_host = check_host_flag(source_of(settings, "ssh_proxy_ip"), settings.ssh_proxy_ip)
    else:
        proxy_kind, proxy_host = ProxyKind.NONE, None
    if proxy_kind is ProxyKind.NONE and (flags.jump or proxy_options):
        raise UsageError(
            f"{'--jump' if flags.jump else '--proxy-option'} is about the connection to a proxy, and there is "
            "none: add --master-proxy or --proxy-ip=<host>."
        )

    if choose_client is None:
        from .proc import programs

        choose_client = programs.choose_client
    client = choose_client(flags.ssh_client)
    plink = is_plink(client)
    mode = ProxyMode.JUMP if jump or flags.jump else settings.proxy_mode
    if mode is ProxyMode.JUMP and plink and proxy_kind is not ProxyKind.NONE:
        raise UsageError(
            "Jump mode needs OpenSSH's ssh for the first hop (plink cannot pass options to the jump "
            "connection); leave out --ssh-client=plink, or use agent forwarding."
        )

    if flags.user is not None:
        user: Optional[str] = check_user(flags.user, "--user")
    elif settings.ssh_user is not None:
        user = check_user(settings.ssh_user, source_of(settings, "ssh_user"))
    else:
        user = None
    return Route(user, options, proxy_options, config_file, client, plink, mode, proxy_kind, proxy_host)


def settle_user(route: Route, first_hop: Optional[str], env: Mapping[str, str]) -> Route:
    """The route with its user: as configured; else the User that --config-file sets for
    the first hop, as both earlier DC/OS CLIs let it choose; else core."""
    if route.user is not None:
        return route
    from .hosts import check_user

    user = file_user(route.client, route.plink, route.config_file, first_hop, env)
    return route._replace(user=check_user(user, f"the User of {route.config_file}") if user else DEFAULT_SSH_USER)


def file_user(client: str, plink: bool, config_file: Optional[str], host: Optional[str],
              env: Mapping[str, str]) -> Optional[str]:  # pragma: no mutate block, I/O
    """The User an ssh config file sets for a host, or None when it sets none.

    `ssh -G` resolves the file as ssh will (Host and Match blocks, Include); a file that
    sets no User resolves to the same user as an empty file does.
    """
    if not config_file or plink or not host:
        return None
    from .proc import programs, spawn

    program = programs.which(client, env.get("PATH", os.defpath))
    if program is None:
        return None
    resolved = [spawn.run([program, "-G", "-F", path, "--", host], env, 5.0) for path in (config_file, os.devnull)]
    users = [_user_line(result.stdout) for result in resolved]
    if resolved[0].status != 0 or users[0] is None or users[0] == users[1]:
        return None
    return users[0]


def _user_line(output: bytes) -> Optional[str]:
    for line in output.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if key == "user":
            return value.strip()
    return None


class Hop(NamedTuple):
    """A route with its addresses: where the proxy is (None: directly), the target, and
    the cluster's identity (None when no cluster is configured or it cannot say); and
    what the cluster said about finding them, for the command to write."""

    route: Route
    proxy: Optional[str]
    target: str
    cluster: Optional[str] = None
    notices: Tuple[str, ...] = ()

    @property
    def host_key_alias(self) -> Optional[str]:
        return host_key_alias(self.route, self.proxy, self.cluster, self.target)

    @property
    def env_changes(self) -> Dict[str, str]:
        """What ssh's environment needs: the shell for a jump mode ProxyCommand."""
        return dict(PROXY_COMMAND_SHELL) if self.proxy is not None and self.route.jump else {}

    def plan(self, tty: bool, command: Tuple[str, ...] = ()):
        """The ssh argument plan for this hop."""
        from .openssh.hops import SshPlan

        route = self.route
        return SshPlan(target=self.target, user=route.user or DEFAULT_SSH_USER, proxy=self.proxy,
                       options=route.options, config_file=route.config_file, command=command, tty=tty,
                       client=route.client, proxy_options=route.proxy_options, jump=route.jump,
                       host_key_alias=self.host_key_alias)


def host_key_alias(route: Route, proxy: Optional[str], cluster: Optional[str], address: str) -> Optional[str]:
    """The one rule for every command: when this machine checks a node's host key through a
    proxy (jump mode), the key is kept under the cluster's identity and the node's address,
    since private addresses repeat across clusters. Directly, the address is the node's own;
    forwarding, the proxy checks the node's key in its own known_hosts."""
    if proxy is None or not route.jump or not cluster:
        return None
    from .openssh.hops import host_key_alias as alias

    return alias(cluster, address)


def direct_notice(what: str) -> str:
    """The line said when a command connects to nodes directly: they often cannot be reached."""
    return (f"Connecting directly to {what}. If it cannot be reached from here, add --master-proxy to hop through "
            "the master, or --proxy-ip=<bastion>.")


Lookup = Optional[Callable[[], Any]]


def target_lookup(target: Target, cluster, nodes, noun: str) -> Lookup:
    """The lookup that finds a target named by kind (the leader, an agent, the one node
    `nodes`, a flags.Choice, selects), or None when it is named by its address; it returns a
    cluster.queries.Found."""
    if target.kind is TargetKind.LEADER:
        return cluster.leader_address
    if target.kind is TargetKind.AGENT:
        value = target.value or ""
        return lambda: cluster.agent_address(value)
    if target.kind is TargetKind.SELECTED:
        from .selecting import one_found

        return lambda: one_found(cluster, nodes, noun)
    return None


def named_address(target: Target) -> Optional[str]:
    """The target's address when it is named by one (--private-ip), checked."""
    from .hosts import check_host_flag

    if target.kind is TargetKind.ADDRESS:
        return check_host_flag("--private-ip", target.value or "")
    return None


def needs_cluster_key(route: Route, settings: Settings) -> bool:
    """Whether the cluster's identity is wanted: for a HostKeyAlias, when a cluster is configured."""
    return route.proxied and route.jump and bool(settings.dcos_url)


def resolve(route: Route, settings: Settings, cluster, find_target: Lookup, target: Optional[str] = None,
            then: Lookup = None) -> Tuple[Hop, Any]:  # pragma: no mutate block, I/O
    """(the hop, then()): the cluster asked, all at once, only what the route leaves open:
    the master's public address (--master-proxy), the target (unless named by address), the
    cluster's identity (jump mode through a proxy) and whatever else the command needs (`then`).
    `find_target` returns a Found; the hop carries the notices of the proxy's and the target's."""
    from .cluster.queries import concurrently

    lookups: Dict[str, Callable[[], Any]] = {}
    if route.proxy_kind is ProxyKind.MASTER:
        lookups["proxy"] = cluster.master_public_address
    if find_target is not None:
        lookups["target"] = find_target
    if then is not None:
        lookups["then"] = then
    if needs_cluster_key(route, settings):
        lookups["cluster"] = _cluster_key(cluster, required=bool(lookups))
    found = dict(zip(lookups, concurrently(*lookups.values()))) if lookups else {}
    proxy, node = found.get("proxy"), found.get("target")
    hop = Hop(route, proxy.address if proxy else route.proxy_host, node.address if node else target or "",
              found.get("cluster"), tuple(notice for each in (proxy, node) if each for notice in each.notices))
    return hop, found.get("then")


def _cluster_key(cluster, required: bool) -> Callable[[], Optional[str]]:  # pragma: no mutate block, I/O
    """The cluster's identity. When nothing else is asked of the cluster (a node and a proxy
    named by address), a cluster that cannot say leaves the node's key under its address."""
    def lookup() -> Optional[str]:
        if required:
            return cluster.cluster_key()
        try:
            return cluster.cluster_key()
        except NodeSshError:
            return None
    return lookup
