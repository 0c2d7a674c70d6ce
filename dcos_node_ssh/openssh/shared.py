"""The argument lists of the commands on many nodes (`run`, `copy`, `fetch`), pure: one
connection to the proxy that every node's ssh shares (OpenSSH ControlMaster), each node
reached through it as jump mode reaches one (a ProxyCommand `ssh -W` over the shared
connection), or directly; and, with --warm, a connection of each node's own that stays
open (ControlMaster with ControlPersist) and that the commands reach the node through.
"""

from typing import Iterable, List, NamedTuple, Optional, Sequence, Tuple

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
# forwarded, and a node's own connection is never multiplexed unless --warm says so.
NEVER_FORWARD = ("ForwardAgent=no",)
NODE_OWN = NEVER_FORWARD + ("ControlMaster=no", "ControlPath=none")


def master_argv(shared: Shared, persist: Optional[int] = None) -> List[str]:
    """The one connection to the proxy: authenticated, then in the background (-f),
    running nothing (-N), serving the others through its control socket. It may prompt
    (a passphrase, a new host key), as it runs at the user's terminal. In the background
    it would log nowhere: -E keeps what it says, such as a channel the proxy refused.
    With `persist` (--warm) it closes that many seconds after its last channel, else
    when told (`exit_argv`)."""
    argv = [shared.client, "-f", "-N", "-T"] + (["-E", shared.master_log] if shared.master_log else [])
    if shared.config_file:
        argv += ["-F", shared.config_file]
    lasting = f"ControlPersist={persist}s" if persist else "ControlPersist=no"
    own = ("ControlMaster=yes", f"ControlPath={shared.control_path}", lasting) + NEVER_FORWARD
    for option in own + shared.proxy_options + shared.options + _defaults(shared, batch=False):
        argv += ["-o", option]
    return argv + [f"{shared.user}@{shared.proxy}"]


def exit_argv(shared: Shared) -> List[str]:
    """Close the connection to the proxy (`-O exit`)."""
    return [shared.client, "-O", "exit", "-o", f"ControlPath={shared.control_path}", f"{shared.user}@{shared.proxy}"]


def _route(shared: Shared, address: str, host_key_alias: Optional[str]) -> List[str]:
    """The words that take a node's ssh there: -F, and through the proxy jump mode's
    ProxyCommand (`ssh -W` over the shared connection) and the node's HostKeyAlias
    (route.host_key_alias), under which its key is kept."""
    from .hops import SshPlan, host_key_words, proxy_command

    words = ["-F", shared.config_file] if shared.config_file else []
    if shared.proxy is not None:
        plan = SshPlan(target=address, user=shared.user, proxy=shared.proxy,
                       options=NODE_OWN + shared.options + _defaults(shared, batch=True),
                       config_file=shared.config_file, client=shared.client, tty=False,
                       proxy_options=("ControlMaster=no", f"ControlPath={shared.control_path}") + shared.proxy_options,
                       jump=True)
        words += ["-o", "ProxyCommand=" + proxy_command(plan)] + host_key_words(host_key_alias)
    return words


def _options(shared: Shared, control: Sequence[str]) -> List[str]:
    """The node's own options: never the agent, how it uses a control socket, the user's,
    then the defaults (BatchMode: many nodes cannot all ask at one terminal)."""
    words: List[str] = []
    for option in NEVER_FORWARD + tuple(control) + shared.options + _defaults(shared, batch=True):
        words += ["-o", option]
    return words


def client_control(control_path: Optional[str]) -> Tuple[str, ...]:
    """How a node's ssh uses a control socket: none of its own (cold), or the node's warm
    connection's, as a client only; should that connection have closed meanwhile, ssh
    connects by itself, as cold."""
    return ("ControlMaster=no", f"ControlPath={control_path or 'none'}")


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def node_argv(shared: Shared, address: str, host_key_alias: Optional[str] = None,
              control_path: Optional[str] = None) -> List[str]:
    """One node's ssh running the command: no terminal, no agent; through the node's warm
    connection when `control_path` names it."""
    from .hops import remote_command

    command = remote_command(shared.command)
    argv = [shared.client, "-T"] + _route(shared, address, host_key_alias) + _options(shared,
                                                                                     client_control(control_path))
    if command is not None and command.startswith("-"):
        argv.append("--")
    return argv + [f"{shared.user}@{address}"] + ([command] if command is not None else [])


def opener_argv(shared: Shared, address: str, host_key_alias: Optional[str], control_path: str,
                persist: int) -> List[str]:
    """A node's warm connection: authenticated, serving its control socket, running
    nothing (-N). ControlPersist makes ssh put it in the background once it is up (this
    ssh then exits 0) and close it `persist` seconds after its last session."""
    control = ("ControlMaster=yes", f"ControlPath={control_path}", f"ControlPersist={persist}s")
    return ([shared.client, "-N", "-T"] + _route(shared, address, host_key_alias) + _options(shared, control)
            + [f"{shared.user}@{address}"])


class Copy(NamedTuple):
    """What `copy` or `fetch` copies on every node: local sources to a remote path, or
    remote sources to a local folder (each node's own, given per node)."""

    sources: Tuple[str, ...]
    destination: str = ""  # the remote path (`copy`); `fetch` gives each node's folder
    fetch: bool = False
    recursive: bool = False
    preserve: bool = False


def local_word(path: str) -> str:
    """A local path as scp takes it for local, whatever it holds: scp reads `a:b` as a
    host and a path, and a leading `./` (a path, lexically the same) stops it."""
    return path if path.startswith("/") else "./" + path


def scp_argv(shared: Shared, copy: Copy, address: str, host_key_alias: Optional[str] = None,
             control_path: Optional[str] = None, folder: str = "", scp: str = "scp") -> List[str]:
    """OpenSSH scp in SFTP mode (-s: a remote path is a file name in an SFTP request, no
    shell reads it) for one node, with the node's ssh (-S, the same client as every
    connection) connected as `node_argv`'s; remote sources escaped for scp's own glob.
    `folder` is the node's local folder for `fetch`."""
    from .copy import glob_escaped

    argv = [scp, "-s"] + (["-r"] if copy.recursive else []) + (["-p"] if copy.preserve else [])
    argv += ["-S", shared.client] + _route(shared, address, host_key_alias) + _options(shared,
                                                                                   client_control(control_path))
    remote = f"{shared.user}@{_host(address)}:"
    if copy.fetch:
        return argv + ["--"] + [remote + glob_escaped(source) for source in copy.sources] + [local_word(folder)]
    return argv + ["--"] + [local_word(source) for source in copy.sources] + [remote + copy.destination]


FORWARDING_REFUSED = b"administratively prohibited"


def forwarding_refused(log: bytes) -> bool:
    """Whether the connection to the proxy logged a channel refused by policy
    (AllowTcpForwarding no), rather than a node that could not be reached."""
    return FORWARDING_REFUSED in log


def forwarding_refused_message(proxy: str, verb: str = "run") -> str:
    return (
        f"The proxy {proxy} refuses to forward connections to the nodes (\"administratively prohibited\": "
        f"its sshd has AllowTcpForwarding no, or forbids it for your user), so `dcos node {verb}` cannot reach "
        "them through it. Ask its administrator to allow TCP forwarding (AllowTcpForwarding yes or local "
        "in its sshd_config) for your user, or hop through another host with --proxy-ip=<host>."
    )
