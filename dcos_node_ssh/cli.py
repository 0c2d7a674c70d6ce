"""`dcos node ssh`: the entry point the DC/OS CLI runs as `dcos-node node <args>`."""

import os
import sys
from typing import List, Mapping, NamedTuple, Optional, TextIO, Tuple

from . import __version__
from .errors import ClusterAuthError, ClusterError, ClusterUnreachable, NodeSshError, UsageError, shown
from .lookups import Lookups, concurrently

USAGE = """\
SSH to the leading master or to any agent of a DC/OS cluster.

Usage:
    dcos node [list] [--json]
    dcos node --info
    dcos node --version
    dcos node --config-schema
    dcos node ssh (--leader | --master | --mesos-id=<id> | --slave=<id> | --private-ip=<ip>)
                  [--master-proxy | --proxy-ip=<host>] [--jump] [--user=<user>]
                  [--option=<SSHOPT=VAL>...] [--proxy-option=<SSHOPT=VAL>...]
                  [--config-file=<path>] [--ssh-client=<name>]
                  [--dry-run | --check [--json]] [--] [<command>...]
    dcos node (-h | --help)

`dcos node` (or `dcos node list`) lists the leading master and every agent,
as a table or, with --json, as JSON.

Targets (choose one):
    --leader                  The leading master.
    --master                  The same as --leader.
    --mesos-id=<id>           An agent: its Mesos ID, a unique part of the start or
                              end of the ID (`S3`), its host name or its address.
    --slave=<id>              The same as --mesos-id.
    --private-ip=<ip>         The node at this address; no cluster lookup.

Proxies (without one: the configured ssh_proxy_ip, else a direct connection):
    --master-proxy            Hop through the master's public address; your ssh-agent
                              is forwarded so the master can reach private agents.
    --proxy-ip=<host>         Hop through this bastion host instead.
    --jump                    Reach the node through the proxy with `ssh -W`
                              (ProxyJump), forwarding no agent: the proxy never
                              holds your keys. Default: node.proxy_mode, else the
                              agent is forwarded and ssh runs on the proxy.

Options:
    --user=<user>             Log in as this user on every hop (else node.ssh_user,
                              core.ssh_user, or core).
    --option=<SSHOPT=VAL>     An OpenSSH option (-o) for every hop; repeat it for more.
    --proxy-option=<SSHOPT=VAL>  An OpenSSH option for the connection to the proxy
                              only (the first hop, or the jump connection).
    --config-file=<path>      An ssh config file (-F) for the connections made from
                              here: never the second hop, where the path is unknown.
    --ssh-client=<name>       The first hop's client, by name or path: OpenSSH `ssh`
                              (the default) or PuTTY's `plink`. On Windows, plink
                              when it is on PATH and ssh is not. The second hop,
                              on the proxy, is always OpenSSH.
    --dry-run                 Print the ssh command line and exit without connecting.
    --check                   Check every prerequisite of this connection, without
                              opening a shell, and print a checklist with fixes.
    --json                    List the nodes, or the checks, as JSON.
    --info                    Print a one-line description of this subcommand.
    --version                 Print the version.
    --config-schema           Print the JSON schema of the [node] config section.
    -h --help                 Print this text.

<command> runs on the target exactly as with `ssh host <command>`: its words are
joined with spaces and run by the target's shell. Put `--` before a command
whose words start with '-'.
"""

INFO = "SSH to the leading master or any agent of a DC/OS cluster, directly or through a proxy"

_TARGET_FLAGS = ("--leader", "--master", "--mesos-id", "--slave", "--private-ip")
_PROXY_FLAGS = ("--master-proxy", "--proxy-ip")


def main(argv: Optional[List[str]] = None) -> int:
    """Run with the given arguments (without the program name); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    # The DC/OS CLI repeats the noun (`dcos-node node ssh ...`); run by hand it may be absent.
    if not args or args[0] != "node":
        args.insert(0, "node")
    name = "dcos node ssh" if args[1:2] == ["ssh"] else "dcos node"
    try:
        return _dispatch(args, os.environ, sys.stdin, sys.stdout, sys.stderr)
    except UsageError as error:
        sys.stderr.write(f"{name}: {error}\n\n{_usage_section()}\n")
        return 1
    except NodeSshError as error:
        sys.stderr.write(f"{name}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except Exception as error:  # a bug: still one paragraph, the traceback only on request
        if _debug_on(os.environ):
            raise
        sys.stderr.write(
            f"{name}: internal error ({type(error).__name__}: {error}). Run again with "
            "DCOS_DEBUG=1 to see where, and report it.\n"
        )
        return 1


def _usage_section() -> str:
    start = USAGE.index("Usage:")
    return USAGE[start:USAGE.index("\n\n", start)]


def _dispatch(args: List[str], env: Mapping[str, str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    from docopt import DocoptExit, docopt

    words = args[: args.index("--")] if "--" in args else args
    if "-h" in words or "--help" in words:
        stdout.write(USAGE)
        return 0
    try:
        opts = docopt(USAGE, argv=args, default_help=False)
    except DocoptExit:
        problem = _usage_problem(args)
        if problem.startswith("Say which node"):
            problem += _agent_examples(env)
        raise UsageError(problem) from None
    if opts["--info"]:
        stdout.write(INFO + "\n")
        return 0
    if opts["--version"]:
        stdout.write(f"dcos-node-ssh version {__version__}\n")
        return 0
    if opts["--config-schema"]:
        import json

        from .config import CONFIG_SCHEMA

        stdout.write(json.dumps(CONFIG_SCHEMA, indent=2, sort_keys=True) + "\n")
        return 0
    if not opts["ssh"]:
        return _list(opts, env, stdout, stderr)
    return _ssh(opts, env, stdin, stdout, stderr)


def _usage_problem(args: List[str]) -> str:
    """Say what is wrong with a command line docopt refused, as precisely as we can."""
    words = args[: args.index("--")] if "--" in args else args
    if len(words) > 1 and words[1] == "ssh":
        names = [word.split("=", 1)[0] for word in words[2:]]
        targets = [name for name in names if name in _TARGET_FLAGS]
        proxies = [name for name in names if name in _PROXY_FLAGS]
        if not targets:
            return (
                "Say which node to reach: --leader (the leading master), --mesos-id=<id> (alias "
                "--slave: an agent by ID, a unique part of its ID, its host name or address) or "
                "--private-ip=<ip>."
            )
        if len(targets) > 1:
            return f"Choose one target, not {' and '.join(targets)}."
        if len(proxies) > 1:
            return "Choose one proxy: --master-proxy or --proxy-ip=<host>, not both."
        unknown = [word for word in words[2:] if word.startswith("-") and word.split("=", 1)[0] not in _KNOWN]
        if unknown:
            return (
                f"Unknown option {unknown[0]!r}. To pass options to a remote command, put `--` "
                "before the command."
            )
    return "The command line does not match the usage below."


_KNOWN = _TARGET_FLAGS + _PROXY_FLAGS + ("--jump", "--user", "--option", "--proxy-option", "--config-file",
                                         "--ssh-client", "--dry-run", "--check", "--json")


class Choices(NamedTuple):
    """What the flags and the configuration ask for, checked, before anything is looked up."""

    user: str
    options: Tuple[str, ...]
    proxy_options: Tuple[str, ...]
    config_file: Optional[str]
    client: str
    plink: bool
    jump: bool
    command: Tuple[str, ...]
    proxy_kind: Optional[str]  # "master" (--master-proxy), "flag" (--proxy-ip), "config", or None
    proxy_host: Optional[str]  # for "flag" and "config"
    target_kind: str  # "leader", "agent" or "address"
    target_value: Optional[str]  # the agent as named, or the address

    def plan(self, proxy: Optional[str], target: str, tty: bool):
        """The ssh plan for these choices, once the hosts are known."""
        from .sshcmd import SshPlan

        return SshPlan(target=target, user=self.user, proxy=proxy, options=self.options,
                       config_file=self.config_file, command=self.command, tty=tty, client=self.client,
                       proxy_options=self.proxy_options, jump=self.jump)


def _choices(opts: dict, settings) -> Choices:
    from . import runner
    from .sshcmd import check_option, is_plink, merge_options
    from .target import check_host_flag, check_user

    if opts["--user"] is not None:
        user = check_user(opts["--user"], "--user")
    else:
        user = check_user(settings.ssh_user, _source(settings, "ssh_user"))
    options = merge_options(
        [check_option(option, "--option") for option in opts["--option"]],
        [check_option(option, _source(settings, "ssh_options")) for option in settings.ssh_options],
    )
    proxy_options = tuple(check_option(option, "--proxy-option") for option in opts["--proxy-option"])
    config_file = opts["--config-file"]
    if config_file is not None and not os.path.isfile(config_file):
        raise UsageError(f"--config-file names {config_file!r}, which is not a file.")

    if opts["--master-proxy"]:
        proxy_kind, proxy_host = "master", None
    elif opts["--proxy-ip"] is not None:
        proxy_kind, proxy_host = "flag", check_host_flag("--proxy-ip", opts["--proxy-ip"])
    elif settings.ssh_proxy_ip:
        proxy_kind = "config"
        proxy_host = check_host_flag(_source(settings, "ssh_proxy_ip"), settings.ssh_proxy_ip)
    else:
        proxy_kind, proxy_host = None, None

    if opts["--private-ip"] is not None:
        target_kind, target_value = "address", check_host_flag("--private-ip", opts["--private-ip"])
    elif opts["--leader"] or opts["--master"]:
        target_kind, target_value = "leader", None
    else:
        target_kind, target_value = "agent", opts["--mesos-id"] or opts["--slave"]

    client = runner.choose_client(opts["--ssh-client"])
    plink = is_plink(client)
    jump = opts["--jump"] or settings.proxy_mode == "jump"
    if proxy_kind is None and (opts["--jump"] or proxy_options):
        raise UsageError(
            f"{'--jump' if opts['--jump'] else '--proxy-option'} is about the hop through a proxy, and "
            "there is none: add --master-proxy or --proxy-ip=<host>."
        )
    if jump and plink and proxy_kind is not None:
        raise UsageError(
            "--jump needs OpenSSH's ssh for the first hop (plink cannot pass options to the jump "
            "connection); leave out --ssh-client=plink, or use agent forwarding."
        )
    return Choices(user, options, proxy_options, config_file, client, plink, jump, tuple(opts["<command>"]),
                   proxy_kind, proxy_host, target_kind, target_value)


def _finders(choices: Choices, lookups: Lookups):
    """(find the proxy, find the target): a lookup to make, or None when the flags say."""
    find_proxy = lookups.master_public_address if choices.proxy_kind == "master" else None
    if choices.target_kind == "leader":
        find_target = lookups.leader_address
    elif choices.target_kind == "agent":
        find_target = lambda: lookups.agent_address(choices.target_value)  # noqa: E731
    else:
        find_target = None
    return find_proxy, find_target


def _resolve(choices: Choices, lookups: Lookups) -> Tuple[Optional[str], str]:
    """(proxy, target) addresses, asking the cluster only what the flags leave open."""
    find_proxy, find_target = _finders(choices, lookups)
    if find_proxy and find_target:
        return concurrently(find_proxy, find_target)  # two round trips at the same time
    proxy = find_proxy() if find_proxy else choices.proxy_host
    target = find_target() if find_target else choices.target_value
    return proxy, target


def _ssh(opts: dict, env: Mapping[str, str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    from . import runner
    from .sshcmd import build_argv, display

    settings, debug = _settings(env, stderr)
    choices = _choices(opts, settings)
    lookups = Lookups(settings, stderr, debug)
    if opts["--check"]:
        from .check import run_checks

        return run_checks(choices, settings, lookups, _finders(choices, lookups), env, stdout, opts["--json"])
    proxy, target = _resolve(choices, lookups)
    if choices.plink:
        _plink_notices(choices.proxy_options + choices.options, choices.config_file, proxy is not None, stderr)
    # A pty would turn \n into \r\n in piped output; plain ssh decides the same way.
    plan = choices.plan(proxy, target, tty=not choices.command or (_isatty(stdin) and _isatty(stdout)))
    argv = build_argv(plan)
    if proxy is None:
        stderr.write(
            f"Connecting directly to {target}. If it cannot be reached from here, add "
            "--master-proxy to hop through the master, or --proxy-ip=<bastion>.\n"
        )
    stderr.write(f"Running `{display(argv)}`\n")
    if opts["--dry-run"]:
        return 0
    client_path = runner.find_client(choices.client, choices.plink)
    if proxy is not None and not choices.jump:
        runner.check_agent(env, client_path, choices.plink)
    try:
        # OpenSSH runs a ProxyCommand with $SHELL: make it the POSIX shell it is quoted for.
        return runner.run_ssh(argv, shell="/bin/sh" if choices.jump and proxy is not None else None)
    except OSError as error:
        raise NodeSshError(f"Could not run {client_path}: {error.strerror}.") from None


def _plink_notices(options, config_file, proxied: bool, stderr: TextIO) -> None:
    """Say what plink, the first hop, cannot do of what was asked."""
    from .sshcmd import plink_translation

    _, unexpressed = plink_translation(options)
    if unexpressed:
        where = "they apply to the second hop only" if proxied else "they are left out"
        stderr.write(f"plink cannot express these ssh options, so {where}: {', '.join(unexpressed)}.\n")
    if config_file:
        stderr.write(f"plink reads no OpenSSH config file: --config-file={config_file} is left out.\n")


def _debug_on(env: Mapping[str, str]) -> bool:
    return env.get("DCOS_DEBUG", "").lower() not in ("", "0", "false", "no")


def _settings(env: Mapping[str, str], stderr: TextIO):
    """The configuration, its warning shown; and where debug lines go (DCOS_DEBUG), or None."""
    from .config import load_settings

    settings, warning = load_settings(env, os.path.expanduser("~"))
    if warning:
        stderr.write(warning + "\n")
    debug = stderr if _debug_on(env) else None
    if debug:
        debug.write(f"debug: configuration from {settings.config_path or 'the environment only'}\n")
    return settings, debug


def _list(opts: dict, env: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    """`dcos node`: the leading master and every agent, as a table or JSON."""
    from .nodes import master_node, sort_nodes, table

    settings, debug = _settings(env, stderr)
    lookups = Lookups(settings, stderr, debug)

    def leader():
        try:
            return lookups.leader_address()
        except (ClusterUnreachable, ClusterAuthError):
            raise
        except ClusterError as error:
            stderr.write(f"The leading master could not be found ({error}); listing the agents only.\n")
            return None

    leader_address, (agents, master_hostname) = concurrently(leader, lookups.all_agents)
    nodes = sort_nodes(agents)
    if leader_address:
        nodes.insert(0, master_node(leader_address, master_hostname))
    if opts["--json"]:
        import json

        stdout.write(json.dumps([node.as_json() for node in nodes], indent=2) + "\n")
        return 0
    tty = _isatty(stdout)
    width = _columns(env, stdout if tty else None)
    stdout.write(table(nodes, width, colour=tty and not env.get("NO_COLOR")))
    return 0


def _columns(env: Mapping[str, str], terminal) -> int:
    """COLUMNS when set, else the terminal's width, else 80."""
    try:
        return max(40, int(env.get("COLUMNS", "")))
    except ValueError:
        pass
    if terminal is not None:
        try:
            return max(40, os.get_terminal_size(terminal.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            pass
    return 80


def _agent_examples(env: Mapping[str, str]) -> str:
    """A few agents to choose from, when the cluster can say; nothing when it cannot."""
    import io

    from .nodes import sort_nodes, unique_suffixes

    try:
        settings, _ = _settings(env, io.StringIO())
        agents = sort_nodes(Lookups(settings, io.StringIO(), None).all_agents()[0])
    except NodeSshError:
        return ""
    if not agents:
        return ""
    short = unique_suffixes([agent.id for agent in agents])
    lines = [f"  dcos node ssh --master-proxy --mesos-id={short[agent.id]:<10}  # {shown(agent.hostname, 40)} "
             f"{agent.address or '-'} ({agent.type}, {agent.state})" for agent in agents[:5]]
    more = f"\n  ... and {len(agents) - 5} more: see `dcos node`." if len(agents) > 5 else ""
    return " For example:\n  dcos node ssh --master-proxy --leader\n" + "\n".join(lines) + more


def _isatty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _source(settings, key: str) -> str:
    where = settings.config_path or "the environment"
    return f"the {key} setting ({where} or DCOS_NODE_{key.upper()})"


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
