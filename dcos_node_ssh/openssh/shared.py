"""The argument lists of `dcos node run`, pure: one connection to the proxy that every
node's ssh shares (OpenSSH ControlMaster), each node reached through it as jump mode
reaches one (a ProxyCommand `ssh -W` over the shared connection), or directly.
"""

from typing import Iterable, List, NamedTuple, Optional, Tuple

CONNECT_TIMEOUT = 10  # seconds, unless an --option sets ConnectTimeout


class Shared(NamedTuple):
    """How every node is reached: the settled user and options, and the proxy (None:
    directly) with the control socket of the one connection to it that all share."""

    user: str
    options: Tuple[str, ...] = ()
    proxy_options: Tuple[str, ...] = ()
    config_file: Optional[str] = None
    client: str = "ssh"
    proxy: Optional[str] = None
    control_path: str = ""  # a path without '%' or white space: OpenSSH reads both in it
    command: Tuple[str, ...] = ()
    master_log: str = ""  # where the connection to the proxy logs (-E): why it failed, or refused a channel


def _keys(options: Iterable[str]) -> set:
    return {option.split("=", 1)[0].lower() for option in options}


def _defaults(shared: Shared, batch: bool) -> Tuple[str, ...]:
    """Options that come after the user's, so that theirs win: no prompt from many nodes
    at once, and a connect timeout so that an unreachable node is reported while the
    others go on."""
    given = _keys(shared.proxy_options + shared.options)
    defaults = [f"ConnectTimeout={CONNECT_TIMEOUT}"] + (["BatchMode=yes"] if batch else [])
    return tuple(option for option in defaults if option.split("=", 1)[0].lower() not in given)


# First, so that they win over the user's and any ssh config: the agent is never
# forwarded, and a node's own connection is never multiplexed.
NEVER_FORWARD = ("ForwardAgent=no",)
NODE_OWN = NEVER_FORWARD + ("ControlMaster=no", "ControlPath=none")


def master_argv(shared: Shared) -> List[str]:
    """The one connection to the proxy: authenticated, then in the background (-f),
    running nothing (-N), serving the others through its control socket. It may prompt
    (a passphrase, a new host key), as it runs at the user's terminal. In the background
    it would log nowhere: -E keeps what it says, such as a channel the proxy refused."""
    argv = [shared.client, "-f", "-N", "-T"] + (["-E", shared.master_log] if shared.master_log else [])
    if shared.config_file:
        argv += ["-F", shared.config_file]
    own = ("ControlMaster=yes", f"ControlPath={shared.control_path}", "ControlPersist=no") + NEVER_FORWARD
    for option in own + shared.proxy_options + shared.options + _defaults(shared, batch=False):
        argv += ["-o", option]
    return argv + [f"{shared.user}@{shared.proxy}"]


def exit_argv(shared: Shared) -> List[str]:
    """Close the connection to the proxy (`-O exit`)."""
    return [shared.client, "-O", "exit", "-o", f"ControlPath={shared.control_path}", f"{shared.user}@{shared.proxy}"]


def node_argv(shared: Shared, address: str, host_key_alias: Optional[str] = None) -> List[str]:
    """One node's connection: in jump mode's way through the proxy (a ProxyCommand
    `ssh -W` that uses the shared connection), or directly; no terminal, no agent. Through
    the proxy the node's key is kept under its HostKeyAlias (route.host_key_alias)."""
    from .hops import SshPlan, build_argv

    options = NODE_OWN + shared.options + _defaults(shared, batch=True)
    proxy_options: Tuple[str, ...] = ()
    if shared.proxy is not None:
        proxy_options = ("ControlMaster=no", f"ControlPath={shared.control_path}") + shared.proxy_options
    plan = SshPlan(target=address, user=shared.user, proxy=shared.proxy, options=options,
                   config_file=shared.config_file, command=shared.command, tty=False, client=shared.client,
                   proxy_options=proxy_options, jump=True,  # jump: no agent forwarded, even directly
                   host_key_alias=host_key_alias if shared.proxy is not None else None)
    return build_argv(plan)


FORWARDING_REFUSED = b"administratively prohibited"


def forwarding_refused(log: bytes) -> bool:
    """Whether the connection to the proxy logged a channel refused by policy
    (AllowTcpForwarding no), rather than a node that could not be reached."""
    return FORWARDING_REFUSED in log


def forwarding_refused_message(proxy: str) -> str:
    return (
        f"The proxy {proxy} refuses to forward connections to the nodes (\"administratively prohibited\": "
        "its sshd has AllowTcpForwarding no, or forbids it for your user), so `dcos node run` cannot reach "
        "them through it. Ask its administrator to allow TCP forwarding (AllowTcpForwarding yes or local "
        "in its sshd_config) for your user, or hop through another host with --proxy-ip=<host>."
    )
