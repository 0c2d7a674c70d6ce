"""The ssh argument list: a pure function of hosts, user, options and command.

No local shell ever sees these words: they go to `execvp` as a list. Only two
shells interpret anything, both remote:

* the proxy's login shell runs the second hop; each word of the second hop is
  quoted for it, so it rebuilds exactly the argument list built here;
* the target's shell runs the user's command, joined with spaces, exactly as
  plain `ssh host <command>` does.
"""

import re
import shlex
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

from ..errors import UsageError

_OPTION = re.compile(r"^([A-Za-z][A-Za-z0-9]*)=(.*)$", re.DOTALL)


class SshPlan(NamedTuple):
    """What to run: the hosts are already validated addresses or names."""

    target: str
    user: str
    proxy: Optional[str] = None
    options: Tuple[str, ...] = ()  # "Key=Value", for every hop
    config_file: Optional[str] = None  # -F, first hop only: the path is local
    command: Tuple[str, ...] = ()
    tty: bool = True
    client: str = "ssh"  # the first hop's program: OpenSSH `ssh`, or PuTTY's `plink`, by name or path
    proxy_options: Tuple[str, ...] = ()  # "Key=Value", for the connection to the proxy only
    jump: bool = False  # reach the target through the proxy with `ssh -W`, forwarding no agent
    host_key_alias: Optional[str] = None  # jump mode: the name the target's host key is kept under


def is_plink(client: str) -> bool:
    """Whether a client name or path is PuTTY's plink (`plink`, `C:\\PuTTY\\plink.exe`)."""
    name = client.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return name in ("plink", "plink.exe")


# Keywords that are not options: in a config file Host and Match start a block and Include
# reads another file; `ssh -o` refuses them too.
_NOT_OPTIONS = ("host", "match", "include")


def check_option(value: str, source: str) -> str:
    """An ssh option must be Key=Value on one line (it may become a line of a config
    file: ssh-config); the value is the user's own and may hold spaces."""
    match = _OPTION.match(value)
    if not match:
        raise UsageError(
            f"The ssh option {value!r} from {source} is not of the form Key=Value "
            "(for example --option StrictHostKeyChecking=accept-new)."
        )
    if any(char in value for char in "\n\r\0"):
        raise UsageError(
            f"The ssh option {value!r} from {source} holds a line break or a NUL: an ssh option is Key=Value "
            "on one line (in a config file, a line break would start another)."
        )
    key = match.group(1)
    if key.lower() in _NOT_OPTIONS:
        what = "reads another file" if key.lower() == "include" else "starts a block of its own"
        raise UsageError(
            f"The ssh option {value!r} from {source} is not an option: in a config file {key} {what}, "
            "and `ssh -o` refuses it too."
        )
    return value


def merge_options(from_flags: Sequence[str], from_config: Sequence[str]) -> Tuple[str, ...]:
    """Flag options first; a config option is dropped when a flag sets the same key.

    ssh keeps the first value it sees for a key, so order alone would already make
    flags win; dropping the shadowed ones keeps the command line readable.
    """
    flag_keys = {option.split("=", 1)[0].lower() for option in from_flags}
    kept = [option for option in from_config if option.split("=", 1)[0].lower() not in flag_keys]
    return tuple(from_flags) + tuple(kept)


def remote_command(words: Sequence[str]) -> Optional[str]:
    """The command as plain ssh would send it: its words joined with spaces."""
    return " ".join(words) if words else None


def _hop(program: str, plan: SshPlan, host: str, command: Optional[str], *, local: bool, to_proxy: bool,
         forward: bool, transport: Sequence[str] = ()) -> List[str]:
    """One OpenSSH connection: `local` ones may use the local -F file; the one `to_proxy`
    gets the proxy's own options; `forward` forwards the agent."""
    argv = [program] + (["-A"] if forward else []) + ["-t" if plan.tty else "-T"]
    if local and plan.config_file:
        argv += ["-F", plan.config_file]
    argv += list(transport)
    for option in (plan.proxy_options if to_proxy else ()) + plan.options:
        argv += ["-o", option]
    # OpenSSH reads options after the destination too; `--` keeps a command
    # that starts with '-' a command.
    if command is not None and command.startswith("-"):
        argv.append("--")
    argv.append(f"{plan.user}@{host}")
    if command is not None:
        argv.append(command)
    return argv


JUMP_TARGET = "[%h]:%p"  # ssh fills in the target; brackets keep an IPv6 address whole


def proxy_command(plan: SshPlan) -> str:
    """The ProxyCommand of jump mode: `ssh -W` to the target through the proxy, with the
    same options (which ProxyJump, -J, would not pass on) and the proxy's own.

    OpenSSH hands a ProxyCommand to `$SHELL -c` after expanding its %-tokens, so each
    word is quoted for a POSIX shell (the ssh command sets SHELL=/bin/sh) and its '%'
    doubled; only JUMP_TARGET is left for ssh to fill in, in single quotes too, since
    brackets are a glob to the shell.
    """
    words = [plan.client]
    if plan.config_file:
        words += ["-F", plan.config_file]
    for option in plan.proxy_options + plan.options:
        words += ["-o", option]
    words += ["-W", JUMP_TARGET, f"{plan.user}@{plan.proxy}"]
    return " ".join(f"'{word}'" if word == JUMP_TARGET else shlex.quote(word.replace("%", "%%")) for word in words)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def cluster_key(cluster_id: Any, url_host: Optional[str]) -> Optional[str]:
    """The cluster's part of a HostKeyAlias: its CLUSTER_ID (from /metadata) when that is
    a plain name, else a digest of it (an AWS ARN holds ':' and '/'); without an ID, the
    host of core.dcos_url; None when there is neither. Never the raw untrusted text."""
    if isinstance(cluster_id, str) and cluster_id.strip():
        cluster_id = cluster_id.strip()
        if _SAFE_NAME.fullmatch(cluster_id):
            return cluster_id
        import hashlib

        # surrogatepass: JSON can carry a lone surrogate ("\ud800"), which UTF-8 cannot
        # encode; each distinct ID still gets a digest of its own.
        return hashlib.sha256(cluster_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return url_host


def host_key_alias(cluster: Optional[str], address: str) -> Optional[str]:
    """The name a node's host key is kept under in known_hosts: the cluster's identity and the
    node's private address, which repeats across clusters (10.0.x.y) but not within one.
    `address` is a validated address or host name; None when the cluster is unknown."""
    return f"dcos-{cluster}-{address}" if cluster else None


def host_key_words(alias: Optional[str]) -> List[str]:
    return ["-o", f"HostKeyAlias={alias}"] if alias else []


# OpenSSH options plink can express, as plink flags: key (lower case) -> value -> flags.
_PLINK_FLAGS = {
    "port": lambda value: ["-P", value],
    "user": lambda value: ["-l", value],
    "compression": lambda value: ["-C"] if value.lower() == "yes" else [],
    "batchmode": lambda value: ["-batch"] if value.lower() == "yes" else [],
    "proxycommand": lambda value: ["-proxycmd", value] if value.lower() != "none" else [],
    "addressfamily": lambda value: {"inet": ["-4"], "inet6": ["-6"]}.get(value.lower(), []),
}


def plink_translation(options: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(plink flags for the options it can express, the options it cannot).

    IdentityFile becomes -i only for a PuTTY key (.ppk); plink reads no OpenSSH key.
    """
    flags: List[str] = []
    unexpressed: List[str] = []
    for option in options:
        key, _, value = option.partition("=")
        if key.lower() == "identityfile" and value.lower().endswith(".ppk"):
            flags += ["-i", value]
        elif key.lower() in _PLINK_FLAGS:
            flags += _PLINK_FLAGS[key.lower()](value)
        else:
            unexpressed.append(option)
    return flags, unexpressed


def _plink_hop(plan: SshPlan, host: str, command_words: List[str]) -> List[str]:
    flags, _ = plink_translation(plan.proxy_options + plan.options)
    # An explicit User option names the user of this hop; plink keeps the last -l.
    argv = [plan.client, "-A", "-t" if plan.tty else "-T", "-l", plan.user] + flags + [host]
    if command_words and command_words[0].startswith("-"):
        # plink reads options after the host and knows no `--`: a leading space keeps
        # the command a command, and the remote shell ignores it.
        command_words = [" " + command_words[0]] + command_words[1:]
    return argv + command_words


def first_hop_argv(plan: SshPlan, own: Sequence[str] = ()) -> List[str]:
    """The first connection the real command makes from this machine, on its own, with
    the `own` options before everything else (ssh keeps the first value): to the proxy
    with its -F, --proxy-option and --option values, as both the agent-forwarding hop
    and jump mode's ProxyCommand make it; or, without a proxy, to the target. It forwards
    nothing and runs `true`. OpenSSH only (plink has no such options)."""
    if plan.proxy is None:
        return _hop(plan.client, plan._replace(options=tuple(own) + plan.options, tty=False), plan.target, "true",
                    local=True, to_proxy=False, forward=False)
    return _hop(plan.client, plan._replace(proxy_options=tuple(own) + plan.proxy_options, tty=False), plan.proxy,
                "true", local=True, to_proxy=True, forward=False)


def build_argv(plan: SshPlan) -> List[str]:
    """The local argument list for `execvp`. The second hop is OpenSSH on the proxy,
    whatever runs the first."""
    command = remote_command(plan.command)
    plink = is_plink(plan.client)
    if plan.proxy is None:
        if plink:
            return _plink_hop(plan, plan.target, [command] if command is not None else [])
        return _hop(plan.client, plan, plan.target, command, local=True, to_proxy=False, forward=not plan.jump)
    if plan.jump:
        transport = ["-o", "ProxyCommand=" + proxy_command(plan)] + host_key_words(plan.host_key_alias)
        return _hop(plan.client, plan, plan.target, command, local=True, to_proxy=False, forward=False,
                    transport=transport)
    second = _hop("ssh", plan, plan.target, command, local=False, to_proxy=False, forward=True)
    quoted = [shlex.quote(word) for word in second]
    if plink:
        return _plink_hop(plan, plan.proxy, quoted)
    return _hop(plan.client, plan, plan.proxy, None, local=True, to_proxy=True, forward=True) + quoted


def display_word(word: str) -> str:
    """One word quoted for a POSIX shell, readably.

    A word holding single quotes (every quoted second-hop word) reads better in
    double quotes, which are safe unless it holds '!' (history expansion when
    pasted into an interactive bash).
    """
    if "'" not in word or "!" in word:
        return shlex.quote(word)
    escaped = "".join("\\" + char if char in '\\$`"' else char for char in word)
    return '"' + escaped + '"'


def display(argv: Sequence[str]) -> str:
    """The argument list as a POSIX shell line that runs the same thing when pasted."""
    return " ".join(display_word(word) for word in argv)
