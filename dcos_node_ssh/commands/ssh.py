"""`dcos node ssh`: one node, reached directly or through a proxy, with ssh exec'd at the end."""

import enum
import os
from typing import Callable, NamedTuple, Optional, Tuple

from ..errors import NodeSshError, UsageError, shown
from ..settings import DEFAULT_SSH_USER, ProxyMode, Settings
from . import configuration, lookups


class ProxyKind(enum.Enum):
    NONE = "none"  # a direct connection
    MASTER = "--master-proxy"  # the master's public address, from the cluster
    FLAG = "--proxy-ip"
    CONFIG = "ssh_proxy_ip in the configuration"


class TargetKind(enum.Enum):
    LEADER = "the leading master"
    AGENT = "agent"
    ADDRESS = "--private-ip"


class Choices(NamedTuple):
    """What the flags and the configuration ask for, checked, before anything is looked up."""

    user: Optional[str]  # None until settled: configured nowhere, so a --config-file may choose
    options: Tuple[str, ...]
    proxy_options: Tuple[str, ...]
    config_file: Optional[str]
    client: str
    plink: bool
    mode: ProxyMode
    command: Tuple[str, ...]
    proxy_kind: ProxyKind
    proxy_host: Optional[str]  # for FLAG and CONFIG
    target_kind: TargetKind
    target_value: Optional[str]  # the agent as named, or the address

    @property
    def jump(self) -> bool:
        return self.mode is ProxyMode.JUMP

    @property
    def forwarding(self) -> bool:
        """Whether the agent is forwarded to a proxy (and so must hold a key)."""
        return self.proxy_kind is not ProxyKind.NONE and not self.jump

    def plan(self, proxy: Optional[str], target: str, tty: bool, host_key_alias: Optional[str] = None):
        """The ssh plan for these choices, once the hosts are known."""
        from ..ssh_args import SshPlan

        return SshPlan(target=target, user=self.user or DEFAULT_SSH_USER, proxy=proxy, options=self.options,
                       config_file=self.config_file, command=self.command, tty=tty, client=self.client,
                       proxy_options=self.proxy_options, jump=self.jump, host_key_alias=host_key_alias)

    def asks_cluster(self) -> bool:
        """Whether these choices involve the cluster at all (else nothing is looked up)."""
        return self.proxy_kind is ProxyKind.MASTER or self.target_kind is not TargetKind.ADDRESS

    def shell(self, proxy: Optional[str]) -> Optional[str]:
        """The SHELL ssh must see: OpenSSH runs a ProxyCommand with it, and ours is quoted
        for a POSIX shell."""
        return "/bin/sh" if self.jump and proxy is not None else None


def source_of(settings: Settings, key: str) -> str:
    where = settings.config_path or "the environment"
    return f"the {key} setting ({where}, DCOS_NODES_{key.upper()} or DCOS_NODE_{key.upper()})"


def ssh_options(opts: dict, settings: Settings) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(the options for every connection, the proxy connection's own), checked: flags
    first, then node.ssh_options whose keys no flag sets."""
    from ..ssh_args import check_option, merge_options

    options = merge_options(
        [check_option(option, "--option") for option in opts["--option"]],
        [check_option(option, source_of(settings, "ssh_options")) for option in settings.ssh_options],
    )
    return options, tuple(check_option(option, "--proxy-option") for option in opts["--proxy-option"])


def proxy_choice(opts: dict, settings: Settings) -> Tuple[ProxyKind, Optional[str]]:
    """Which proxy the flags and the configuration ask for, and its host when they name it."""
    from ..hosts import check_host_flag

    if opts["--master-proxy"]:
        return ProxyKind.MASTER, None
    if opts["--proxy-ip"] is not None:
        return ProxyKind.FLAG, check_host_flag("--proxy-ip", opts["--proxy-ip"])
    if settings.ssh_proxy_ip:
        return ProxyKind.CONFIG, check_host_flag(source_of(settings, "ssh_proxy_ip"), settings.ssh_proxy_ip)
    return ProxyKind.NONE, None


def choices(opts: dict, settings: Settings, environment) -> Choices:
    from .. import local
    from ..hosts import check_host_flag, check_user
    from ..ssh_args import is_plink

    options, proxy_options = ssh_options(opts, settings)
    config_file = opts["--config-file"]
    if config_file is not None and not os.path.isfile(config_file):
        raise UsageError(f"--config-file names '{shown(config_file)}', which is not a file.")
    proxy_kind, proxy_host = proxy_choice(opts, settings)

    if opts["--private-ip"] is not None:
        target_kind, target_value = TargetKind.ADDRESS, check_host_flag("--private-ip", opts["--private-ip"])
    elif opts["--leader"] or opts["--master"]:
        target_kind, target_value = TargetKind.LEADER, None
    else:
        # `dcos node run` shares these choices and repeats --mesos-id, so there it is a list.
        mesos_id = opts["--mesos-id"]
        if isinstance(mesos_id, list):
            mesos_id = mesos_id[0] if mesos_id else None
        target_kind, target_value = TargetKind.AGENT, mesos_id or opts["--slave"]

    client = local.choose_client(opts["--ssh-client"])
    plink = is_plink(client)
    mode = ProxyMode.JUMP if opts["--jump"] else settings.proxy_mode
    if proxy_kind is ProxyKind.NONE and (opts["--jump"] or proxy_options):
        raise UsageError(
            f"{'--jump' if opts['--jump'] else '--proxy-option'} is about the hop through a proxy, and "
            "there is none: add --master-proxy or --proxy-ip=<host>."
        )
    if mode is ProxyMode.JUMP and plink and proxy_kind is not ProxyKind.NONE:
        raise UsageError(
            "--jump needs OpenSSH's ssh for the first hop (plink cannot pass options to the jump "
            "connection); leave out --ssh-client=plink, or use agent forwarding."
        )

    if opts["--user"] is not None:
        user: Optional[str] = check_user(opts["--user"], "--user")
    elif settings.ssh_user is not None:
        user = check_user(settings.ssh_user, source_of(settings, "ssh_user"))
    else:
        user = None
    return Choices(user, options, proxy_options, config_file, client, plink, mode, tuple(opts["<command>"]),
                   proxy_kind, proxy_host, target_kind, target_value)


def settle_user(chosen: Choices, first_hop: Optional[str], env) -> Choices:
    """The choices with their user: as configured; else the User that --config-file sets
    for the first hop, as both earlier DC/OS CLIs let it choose; else core."""
    if chosen.user is not None:
        return chosen
    from ..hosts import check_user

    user = file_user(chosen.client, chosen.plink, chosen.config_file, first_hop, env)
    return chosen._replace(user=check_user(user, f"the User of {chosen.config_file}") if user else DEFAULT_SSH_USER)


def file_user(client: str, plink: bool, config_file: Optional[str], host: Optional[str], env) -> Optional[str]:
    """The User an ssh config file sets for a host, or None when it sets none.

    `ssh -G` resolves the file as ssh will (Host and Match blocks, Include); a file that
    sets no User resolves to the same user as an empty file does.
    """
    if not config_file or plink or not host:
        return None
    from .. import local

    program = local.which(client)
    if program is None:
        return None
    resolved = [local.run([program, "-G", "-F", path, "--", host], env, 5.0) for path in (config_file, os.devnull)]
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


Finder = Optional[Callable[[], str]]


def finders(chosen: Choices, cluster) -> Tuple[Finder, Finder]:
    """(find the proxy, find the target): a lookup to make, or None when the flags say."""
    find_proxy = cluster.master_public_address if chosen.proxy_kind is ProxyKind.MASTER else None
    if chosen.target_kind is TargetKind.LEADER:
        find_target: Finder = cluster.leader_address
    elif chosen.target_kind is TargetKind.AGENT:
        value = chosen.target_value or ""
        find_target = lambda: cluster.agent_address(value)  # noqa: E731
    else:
        find_target = None
    return find_proxy, find_target


def resolve(chosen: Choices, cluster) -> Tuple[Optional[str], str]:
    """(proxy, target) addresses, asking the cluster only what the flags leave open."""
    from ..cluster.queries import concurrently

    find_proxy, find_target = finders(chosen, cluster)
    if find_proxy and find_target:
        return concurrently(find_proxy, find_target)  # two round trips at the same time
    proxy = find_proxy() if find_proxy else chosen.proxy_host
    target = find_target() if find_target else chosen.target_value
    return proxy, target or ""


def run(opts: dict, environment) -> int:
    from .. import local
    from ..agent import check_agent
    from ..ssh_args import build_argv, display

    settings, debug = configuration(environment)
    chosen = choices(opts, settings, environment)
    cluster = lookups(environment, settings, debug)
    if opts["--check"]:
        from .check import run_checks

        return run_checks(chosen, settings, cluster, environment, opts["--json"])
    proxy, target = resolve(chosen, cluster)
    chosen = settle_user(chosen, proxy or target, environment.env)
    stderr = environment.stderr
    if chosen.plink:
        _plink_notices(chosen.proxy_options + chosen.options, chosen.config_file, proxy is not None, stderr)
    # A pty would turn \n into \r\n in piped output; plain ssh decides the same way.
    tty = not chosen.command or (environment.stdin_is_terminal() and environment.stdout.isatty())
    argv = build_argv(chosen.plan(proxy, target, tty, jump_host_key_alias(chosen, cluster, proxy, target)))
    if not opts["--dry-run"]:
        # Everything that can refuse is asked before the Running line: it means ssh runs.
        client_path = local.find_client(chosen.client, chosen.plink)
        if chosen.forwarding:
            check_agent(environment.env, client_path, chosen.plink)
    if proxy is None:
        stderr.write(
            f"Connecting directly to {target}. If it cannot be reached from here, add "
            "--master-proxy to hop through the master, or --proxy-ip=<bastion>.\n"
        )
    if opts["--dry-run"]:
        environment.stdout.write(display(argv) + "\n")
        return 0
    stderr.write(f"Running `{display(argv)}`\n")
    shell = chosen.shell(proxy)
    try:
        return local.exec_program(argv, {"SHELL": shell} if shell else None)
    except OSError as error:
        raise NodeSshError(f"Could not run {client_path}: {error.strerror}.") from None


def jump_host_key_alias(chosen: Choices, cluster, proxy: Optional[str], target: str) -> Optional[str]:
    """In jump mode this machine checks the node's host key itself: keep it under the
    cluster's and the node's identity, since private addresses repeat across clusters.
    With --private-ip and --proxy-ip the cluster is not asked, and the address names it."""
    if not chosen.jump or proxy is None or not chosen.asks_cluster():
        return None
    from ..ssh_args import host_key_alias

    return host_key_alias(cluster.cluster_key(), target)


def _plink_notices(options, config_file, proxied: bool, stderr) -> None:
    """Say what plink, the first hop, cannot do of what was asked."""
    from ..ssh_args import plink_translation

    _, unexpressed = plink_translation(options)
    if unexpressed:
        where = "they apply to the second hop only" if proxied else "they are left out"
        stderr.write(f"plink cannot express these ssh options, so {where}: {', '.join(unexpressed)}.\n")
    if config_file:
        stderr.write(f"plink reads no OpenSSH config file: --config-file={config_file} is left out.\n")


EXAMPLES_SECONDS = 1.0  # a usage error must come at once: examples only if the cluster is quick


def agent_examples(environment, noun: str = "node") -> str:
    """A few agents to choose from, when the cluster can say within a second; else nothing."""
    from ..nodes import sort_nodes, unique_suffixes

    quiet = environment._replace(stderr=_Discard())
    try:
        settings, _ = configuration(quiet)
        cluster = lookups(quiet, settings, None)
        agents = sort_nodes(cluster.all_agents(timeout=min(EXAMPLES_SECONDS, settings.timeout))[0])
    except NodeSshError:
        return ""
    if not agents:
        return ""
    short = unique_suffixes([agent.id for agent in agents])
    lines = [f"  dcos {noun} ssh --master-proxy --mesos-id={shown(short[agent.id], 40):<10}  # "
             f"{shown(agent.hostname, 40)} {agent.address or '-'} ({agent.kind.value}, {agent.state.value})"
             for agent in agents[:5]]
    more = f"\n  ... and {len(agents) - 5} more: see `dcos {noun}`." if len(agents) > 5 else ""
    return f" For example:\n  dcos {noun} ssh --master-proxy --leader\n" + "\n".join(lines) + more


class _Discard:
    """A stream that drops what is written to it."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
