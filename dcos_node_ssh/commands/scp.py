"""`dcos node scp`: files to and from a node, with OpenSSH's scp exec'd at the end.

Also what `ssh-config` shares with it: the connection flags (user, options, proxy),
and finding the proxy and the cluster's identity.
"""

from typing import Callable, List, NamedTuple, Optional, Tuple

from ..errors import NodeSshError, SshSetupError, UsageError, shown
from ..settings import DEFAULT_SSH_USER, Settings
from . import configuration, lookups
from .ssh import ProxyKind, proxy_choice, source_of, ssh_options


class Connection(NamedTuple):
    """The flags and settings every connection of scp and ssh-config follows, checked."""

    user: str
    options: Tuple[str, ...]
    proxy_options: Tuple[str, ...]
    proxy_kind: ProxyKind
    proxy_host: Optional[str]  # for FLAG and CONFIG


def connection(opts: dict, settings: Settings) -> Connection:
    from ..hosts import check_user

    options, proxy_options = ssh_options(opts, settings)
    proxy_kind, proxy_host = proxy_choice(opts, settings)
    if proxy_kind is ProxyKind.NONE and proxy_options:
        raise UsageError("--proxy-option is about the connection to a proxy, and there is none: add "
                         "--master-proxy or --proxy-ip=<host>.")
    if opts["--user"] is not None:
        user = check_user(opts["--user"], "--user")
    elif settings.ssh_user is not None:
        user = check_user(settings.ssh_user, source_of(settings, "ssh_user"))
    else:
        user = DEFAULT_SSH_USER
    return Connection(user, options, proxy_options, proxy_kind, proxy_host)


def proxy_and_cluster(chosen: Connection, cluster, then: Callable[[], object]):
    """((the proxy or None, the cluster's identity or None), then()), the lookups at the
    same time: /metadata gives both the master's public address and the cluster's ID."""
    from ..cluster.queries import concurrently

    if chosen.proxy_kind is ProxyKind.MASTER:
        return concurrently(lambda: (cluster.master_public_address(), cluster.cluster_key()), then)
    if chosen.proxy_kind is ProxyKind.NONE:
        return (None, None), then()
    key, value = concurrently(cluster.cluster_key, then)
    return (chosen.proxy_host, key), value


def direct_notice(stderr, what: str) -> None:
    stderr.write(f"Connecting directly to {what}. If it cannot be reached from here, add --master-proxy "
                 "to go through the master, or --proxy-ip=<bastion>.\n")


def node_address(cluster, name: str) -> str:
    from ..scp_args import LEADER_NAMES

    return cluster.leader_address() if name in LEADER_NAMES else cluster.agent_address(name)


def run(opts: dict, environment) -> int:
    from .. import local
    from ..scp_args import ScpPlan, node_names, parse_operands, scp_argv
    from ..ssh_args import display, host_key_alias

    settings, debug = configuration(environment)
    chosen = connection(opts, settings)
    operands = parse_operands(opts["<path>"])
    names = node_names(operands)
    cluster = lookups(environment, settings, debug)

    def addresses() -> List[str]:
        return [node_address(cluster, name) for name in names]

    (proxy, key), found = proxy_and_cluster(chosen, cluster, addresses)
    if len(set(found)) > 1:
        raise UsageError(
            "The paths name different nodes (" + ", ".join(f"{shown(name)} at {address}" for name, address
                                                           in zip(names, found))
            + "); one copy reaches one node. Copy through this machine in two steps."
        )
    target = found[0]
    program = local.which("scp")
    if program is None:
        raise SshSetupError("No `scp` program was found on PATH. Install an OpenSSH client (Debian and Ubuntu: "
                            "`apt install openssh-client`; RHEL: `yum install openssh-clients`).")
    plan = ScpPlan(operands, target, chosen.user, proxy, chosen.options, chosen.proxy_options, bool(opts["-r"]),
                   host_key_alias(key, target) if proxy else None)
    argv = scp_argv(plan)
    stderr = environment.stderr
    if proxy is None:
        direct_notice(stderr, target)
    stderr.write(f"Running `{display(argv)}`\n")
    try:
        # OpenSSH runs the ProxyCommand with $SHELL, and it is quoted for a POSIX shell.
        return local.exec_program(argv, {"SHELL": "/bin/sh"} if proxy else None)
    except OSError as error:
        raise NodeSshError(f"Could not run {program}: {error.strerror}.") from None
