"""The command line: the docopt text of every command, and everything derived from it.

Which options take a value, which flags exclude each other, which words start a
remote command: all of it is read from USAGE, so there is no second list of flags
to keep in step with the text.
"""

import enum
import re
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .errors import shown

USAGE = """\
SSH to the leading master or any agent of a DC/OS cluster, list the nodes, run
commands and copy files on many of them, and hand plain ssh a config.

Usage:
    dcos node [list] [--json | --field=<path>...] [--mesos-id=<id>]
    dcos node --info
    dcos node --version
    dcos node --config-schema
    dcos node ssh [--leader | --master | --mesos-id=<id> | --slave=<id> | --private-ip=<ip>]
                  [--attribute=<name:value>...] [--region=<name>...] [--zone=<name>...]
                  [--host=<glob>...] [--task=<task>...] [--framework=<name>...]
                  [--exclude=<kind:value>...] [--pick=<n>]
                  [--master-proxy | --proxy-ip=<host>] [--jump] [--user=<user>]
                  [--option=<SSHOPT=VAL>...] [--proxy-option=<SSHOPT=VAL>...]
                  [--config-file=<path>] [--ssh-client=<name>]
                  [--dry-run | --check [--json]] [--] [<command>...]
    dcos node run [--all | --masters | --agents | --private-agents | --public-agents | --mesos-id=<id>...]
                  [--attribute=<name:value>...] [--region=<name>...] [--zone=<name>...]
                  [--host=<glob>...] [--task=<task>...] [--framework=<name>...]
                  [--exclude=<kind:value>...] [--pick=<n>]
                  [--master-proxy | --proxy-ip=<host>] [--user=<user>] [--option=<SSHOPT=VAL>...]
                  [--proxy-option=<SSHOPT=VAL>...] [--config-file=<path>] [--ssh-client=<name>]
                  [--parallel=<n>] [--timeout=<seconds>] [--batch=<n>] [--max-fail=<n>]
                  [--pause=<seconds>] [--gather | --json | --output-dir=<dir>] [--warm=<seconds>]
                  (--list | [--] <command>...)
    dcos node copy [--all | --masters | --agents | --private-agents | --public-agents | --mesos-id=<id>...]
                  [--attribute=<name:value>...] [--region=<name>...] [--zone=<name>...]
                  [--host=<glob>...] [--task=<task>...] [--framework=<name>...]
                  [--exclude=<kind:value>...] [--pick=<n>]
                  [-r] [-p] [--master-proxy | --proxy-ip=<host>] [--user=<user>] [--option=<SSHOPT=VAL>...]
                  [--proxy-option=<SSHOPT=VAL>...] [--config-file=<path>] [--ssh-client=<name>]
                  [--parallel=<n>] [--timeout=<seconds>] [--json] [--warm=<seconds>] [--] <path> <path>...
    dcos node fetch [--all | --masters | --agents | --private-agents | --public-agents | --mesos-id=<id>...]
                  [--attribute=<name:value>...] [--region=<name>...] [--zone=<name>...]
                  [--host=<glob>...] [--task=<task>...] [--framework=<name>...]
                  [--exclude=<kind:value>...] [--pick=<n>]
                  [-r] [-p] [--master-proxy | --proxy-ip=<host>] [--user=<user>] [--option=<SSHOPT=VAL>...]
                  [--proxy-option=<SSHOPT=VAL>...] [--config-file=<path>] [--ssh-client=<name>]
                  [--parallel=<n>] [--timeout=<seconds>] [--json] [--warm=<seconds>] [--] <path> <path>...
    dcos node disconnect
    dcos node scp [-r] [-p] [--master-proxy | --proxy-ip=<host>] [--user=<user>]
                  [--option=<SSHOPT=VAL>...] [--proxy-option=<SSHOPT=VAL>...] [--] <path> <path>...
    dcos node ssh-config [--master-proxy | --proxy-ip=<host>] [--user=<user>]
                  [--option=<SSHOPT=VAL>...] [--prefix=<prefix>] [--write]
                  [--attribute=<name:value>...] [--region=<name>...] [--zone=<name>...]
                  [--host=<glob>...] [--task=<task>...] [--framework=<name>...]
                  [--exclude=<kind:value>...] [--pick=<n>]
    dcos node tunnel socks [--port=<n>] [--pac=<file>]
                  [--master-proxy | --proxy-ip=<host>] [--user=<user>]
                  [--option=<SSHOPT=VAL>...] [--proxy-option=<SSHOPT=VAL>...]
                  [--config-file=<path>] [--ssh-client=<name>] [--check [--json]]
    dcos node tunnel forward [--task=<task>] [--port-index=<n> | --port-name=<name>]
                  [--local-port=<n>] [--master-proxy | --proxy-ip=<host>] [--user=<user>]
                  [--option=<SSHOPT=VAL>...] [--proxy-option=<SSHOPT=VAL>...]
                  [--config-file=<path>] [--ssh-client=<name>] [--check [--json]] [<forward>...]
    dcos node (-h | --help)

`dcos node` (or `dcos node list`) lists the masters and every agent, as a
table or, with --json, as JSON: each agent as Mesos reports it, with the keys
of the DC/OS CLI's own listing and this plugin's (address, state, kind) added.
With --mesos-id=<id> it lists that node alone.

The verbs of the DC/OS CLI's own node command that this plugin does not have
are handed on to the CLI's core plugin (`dcos node log --leader`):
    deactivate, decommission, diagnostics, dns, drain, list-components, log,
    metrics, reactivate
    and, under `dcos node`, any other verb.

Target of dcos node ssh (one of these, or selectors that leave one node):
    --leader                  The leading master.
    --master                  The same as --leader.
    --mesos-id=<id>           An agent: its Mesos ID, a unique part of the start or
                              end of the ID (`S3`), its host name or its address.
    --slave=<id>              The same as --mesos-id.
    --private-ip=<ip>         The node at this address (or host name), found
                              without asking the cluster.

Selection of dcos node run, copy and fetch (at most one, or --mesos-id repeated):
    --all                     Every master and every agent.
    --masters                 Every master that Mesos DNS lists (master.mesos).
    --agents                  Every agent, private and public.
    --private-agents          Every private agent.
    --public-agents           Every public agent.

Selectors (dcos node run, copy, fetch, ssh, ssh-config):
    They narrow the selection (without one, `run` chooses among every node, and
    `ssh-config` among the agents). Every kind given must hold; repeating one
    gives alternatives, but every --attribute must hold. A selector or an
    exclusion that matches no node is an error.
    --attribute=<name:value>  Agents whose Mesos attribute has this value (rack:r1):
                              text whole or as a glob, a scalar as a number, a
                              number within a range, a member of a set; a name
                              alone: any value.
    --region=<name>           Nodes in this fault domain region (a glob).
    --zone=<name>             Nodes in this fault domain zone (a glob).
    --host=<glob>             Nodes whose host name or address matches (fleet-1*).
    --task=<task>             The agents running a task of this ID or name (whole,
                              or a glob), from Mesos' task state; running tasks
                              only. `tunnel forward`: also forward a port of this
                              task (its ID, name or a unique part of its ID).
    --framework=<name>        The agents running tasks of this framework: its name
                              (whole, or a glob) or its ID.
    --exclude=<kind:value>    Leave out the nodes a selector matches: host:<glob>,
                              attribute:<name:value>, region:, zone:, task:,
                              framework:, or mesos-id:<id>; repeatable.
    --pick=<n>                Only n of the nodes (or n%), ranked by a digest of
                              each node's ID: the same ones on every run.
    --list                    `run`: print the nodes selected as `dcos node` lists
                              them (with --json, as JSON), and connect to nothing.

Rolling runs (dcos node run):
    --batch=<n>               Run the nodes in batches of n (or n%, rounded down,
                              at least 1; 1,5,25% grows, the last size repeated),
                              each once the one before has finished.
    --max-fail=<n>            Start no further node once more than n (or n% of the
                              nodes selected, rounded down) have failed; running
                              ones finish, the others are reported as not started.
    --pause=<seconds>         Wait this long between batches.

Output of dcos node run (at most one of --gather, --json, --output-dir):
    --gather                  Each distinct output once, under the nodes that gave it.
    --output-dir=<dir>        Each node's stdout, stderr and status in
                              <dir>/<agent ID, or a master's address>/. The
                              folder must be new or empty: an earlier run's
                              results there would pass for this run's.

Tunnels (dcos node tunnel socks, dcos node tunnel forward):
    --port=<n>                `socks`: the SOCKS5 proxy's port on 127.0.0.1 (default
                              1080; 0: a free one, printed).
    --pac=<file>              `socks`: also write a proxy auto-config file there, that
                              sends only the cluster's names and private networks
                              through the proxy.
    --port-index=<n>          `forward --task`: the task's port at this position, from
                              0 (default: its first port).
    --port-name=<name>        `forward --task`: the task's port of this name.
    --local-port=<n>          `forward --task`: the local port for it (default: a free
                              one, printed).

Proxy (without one: the configured ssh_proxy_ip, else a direct connection):
    --master-proxy            Hop through the master's public address.
    --proxy-ip=<host>         Hop through this bastion host instead.
    --jump                    `ssh`: connect from here to the node through the proxy
                              (`ssh -W`, as ProxyJump does), forwarding no agent: the
                              proxy never holds your keys. Without it (and unless
                              node.proxy_mode is jump), `ssh` forwards your ssh-agent
                              to the proxy and runs ssh there. `run`, `copy`,
                              `fetch`, `scp` and `ssh-config` always cross the proxy
                              as --jump does.

Options:
    --user=<user>             Log in as this user on every hop (else node.ssh_user,
                              core.ssh_user, the User of --config-file, or core).
    --option=<SSHOPT=VAL>     An OpenSSH option (-o) for every hop; repeat it for more.
                              `ssh-config` writes it in every Host entry.
    --proxy-option=<SSHOPT=VAL>  An OpenSSH option for the connection to the proxy
                              only (the first hop, or the jump connection).
    --config-file=<path>      An ssh config file (-F) for the connections made from
                              here: never the second hop, where the path is unknown.
    --ssh-client=<name>       The first hop's client, by name or path: OpenSSH `ssh`
                              (the default) or PuTTY's `plink`. On Windows, plink
                              when it is on PATH and ssh is not. The second hop,
                              on the proxy, is always OpenSSH.
    --dry-run                 Print the ssh command line on stdout and exit without
                              connecting.
    --check                   Check every prerequisite of this connection, without
                              opening a shell (or a tunnel), and print a checklist
                              with fixes.
    --parallel=<n>            `run`, `copy`, `fetch`: how many nodes at once [default: 32].
    --timeout=<seconds>       `run`, `copy`, `fetch`: end a node's command (or copy)
                              after this long.
    --warm=<seconds>          `run`, `copy`, `fetch`: keep a connection to each node
                              (and the proxy) open until it has been unused this long,
                              and reach the nodes through the ones already open, so
                              that a series of commands logs in once. `dcos node
                              disconnect` closes them all.
    -r                        `scp`, `copy`, `fetch`: copy directories and what they hold.
    -p                        `scp`, `copy`, `fetch`: keep each file's modification time
                              and mode.
    --prefix=<prefix>         `ssh-config`: begin every Host alias with this (default:
                              the cluster's name and a dot, else `dcos.`); not
                              empty with --write.
    --write                   `ssh-config`: keep the config in ~/.ssh/ and Include it
                              from ~/.ssh/config, instead of printing it; each file
                              only once OpenSSH (`ssh -G`) reads it without complaint.
    --json                    `list`: the nodes as JSON. `ssh --check`, `tunnel
                              --check`: the checks as JSON. `run`, `copy`, `fetch`: a
                              JSON object for each node, on a line of its own.
    --field=<path>            Add a column to the listing with this value of each
                              agent, a dotted path into the agent as Mesos reports
                              it (used_resources.disk, attributes.rack); repeat it
                              for more.
    --info                    Print a one-line description of this subcommand.
    --version                 Print the version.
    --config-schema           Print the JSON schema of the [nodes] config section.
    -h --help                 Print this text.

<command> runs on the target exactly as with `ssh host <command>`: its words are
joined with spaces and run by the target's shell. The first word that is not one
of the options above starts it, and everything after it belongs to it
(`dcos node ssh --leader df -h`); put `--` before a command whose first word
starts with '-'.

`dcos node run` runs <command> on every node selected, as `dcos node ssh --jump`
would, through one shared connection to the proxy (when there is one) and without
a terminal; it prints each line as `<node>: <line>`, or with --json one JSON
object per node per line, and then a summary on stderr. With --batch it runs them
batch by batch, each once the one before has ended, and with --max-fail it starts
no further node once more have failed; the summary names the batches that ran and
the nodes not started. It exits 0 only when every node selected ran it and
exited 0; Ctrl-C, SIGTERM and SIGHUP end every node, and it exits with 128 + the
signal. `run --list` prints the nodes selected, as `dcos node` lists them, and
connects to nothing.

`dcos node copy` copies local files (the <path>s but the last) to the last <path> on
every node selected, and `dcos node fetch` copies remote paths (the <path>s but the
last) from every node selected into a folder of each node's own in the last <path>
(<dir>/<agent ID, or a master's address>/), which must be new or empty. Both copy as
`dcos node scp` does, through one shared connection to the proxy as `run` does,
and print the nodes that failed and a summary (with --json, a JSON object for each
node); they exit 0 only when every node was copied to (or from). With --warm,
`run`, `copy` and `fetch` leave a connection to each node open (OpenSSH's
ControlPersist) and use it next time; `dcos node disconnect` closes every one
that is open.

`dcos node scp` copies with OpenSSH's scp (SFTP; with its sftp where scp is older
than 8.7), through the proxy as jump mode connects: the last <path> is the
destination, the others are the sources; a remote one is <node>:<path>, where
<node> is `leader` (or `master`) or what --mesos-id takes. `dcos node ssh-config`
prints an OpenSSH config with a Host entry for the proxy (<prefix>proxy), the
leader (<prefix>leader) and each agent (<prefix><ID>, <prefix><host name>,
<prefix><address>), for ssh, scp, sftp and rsync with `-F <file>`; with --write,
~/.ssh/config includes it, and plain `ssh <prefix>leader` works. A read-only
~/.ssh/config is left alone, with the two lines to add by hand.

`dcos node tunnel socks` runs a SOCKS5 proxy on 127.0.0.1 (OpenSSH's -D) and
`dcos node tunnel forward` forwards local ports (-L) to <node>:<port> (a node as
`dcos node ssh` names it), to <name>:<port> for a name the proxy resolves
(marathon.mesos:8080, a VIP), or to a task's port; a <forward> is
[<local port>:]<destination>:<port>, its local port chosen when left out or 0.
Both connect to the proxy only (the master's public address unless --proxy-ip
or ssh_proxy_ip names another), which opens every connection and resolves every
name, as socks5h://127.0.0.1:<port> does. Once the proxy has shown that it
forwards, they print how to use them and run until Ctrl-C, which ends them with
exit status 0.

Exit status: `ssh` exits with the remote command's status, and 255 when ssh
itself fails (not reached, not logged in); `run`, `copy` and `fetch` exit 0 when
every node did its part, else 1, and a failed --check exits 1; 125 is this
plugin's own failure (a refused command line, a cluster that cannot be asked, a
node that cannot be found), which a remote command rarely uses; a stop signal
gives 128 + its number (130 for Ctrl-C).
"""

INFO = "SSH to a DC/OS cluster's nodes, directly or through a proxy; commands and copies on many; ssh configs; tunnels"


class ProblemKind(enum.Enum):
    """What is wrong with a refused command line."""

    NO_TARGET = "no target"
    NO_SELECTION = "no selection"
    TWO_OF_A_KIND = "two of a kind"
    UNKNOWN_OPTION = "unknown option"
    OTHER = "other"


class Problem(NamedTuple):
    kind: ProblemKind
    text: str

# The kinds of `dcos node tunnel`.
TUNNEL_KINDS = ("socks", "forward")

# Subcommands whose trailing words are a command for the nodes.
WITH_REMOTE_COMMAND = ("ssh", "run")

# Subcommands that run on a selection of nodes, and what they do there.
ON_MANY = {"run": "run the command on", "copy": "copy to", "fetch": "fetch from"}


def _for_noun(text: str, noun: str) -> str:
    """A text of this module as the user reached the plugin: `dcos nodes …` or `dcos node …`."""
    return text if noun == "node" else text.replace("dcos node ", f"dcos {noun} ").replace("dcos node`",
                                                                                             f"dcos {noun}`")


def usage_section(noun: str = "node") -> str:
    start = USAGE.index("Usage:")
    return _for_noun(USAGE[start:USAGE.index("\n\n", start)], noun)


def help_text(noun: str = "node") -> str:
    text = USAGE if noun == "node" else USAGE.replace("    and, under `dcos node`, any other verb.\n", "")
    return _for_noun(text, noun)


# The selectors' options, as the patterns of `ssh`, `run` and `ssh-config` write them. They are
# taken out of the command line before docopt sees it and given back after (`options`):
# docopt's matching costs the square of a pattern's elements on every branch of it, and
# these eight would triple what every ssh session waits for.
_SELECTOR_GROUP = re.compile(r" ?\[--(?:attribute|region|zone|host|task|framework|exclude)=<[^>]*>\.\.\.\]"
                             r"| ?\[--pick=<n>\]")
SELECTOR_OPTIONS = ("--attribute", "--region", "--zone", "--host", "--task", "--framework", "--exclude", "--pick")


def doc_for(args: Sequence[str]) -> str:
    """USAGE with only the usage patterns that can match these arguments: those of their
    subcommand, or those without one, and without the selectors' options (see `options`).
    docopt's matching grows with the square of the patterns it is given, and every ssh
    session waits for it."""
    start = USAGE.index("Usage:\n") + len("Usage:\n")
    end = USAGE.index("\n\n", start)
    patterns: List[Tuple[Optional[str], str]] = []  # (subcommand, line)
    for line in USAGE[start:end].splitlines():
        words = line.split()
        if words[0] == "dcos":
            subcommand = words[2] if len(words) > 2 and words[2][0].isalpha() else None
        patterns.append((subcommand, line))
    wanted = args[1] if len(args) > 1 and any(args[1] == name for name, _ in patterns) else None
    kept = [_SELECTOR_GROUP.sub("", line) for name, line in patterns if name == wanted]
    return USAGE[:start] + "\n".join(line for line in kept if line.strip()) + USAGE[end:]


def takes_selectors(subcommand: str) -> bool:
    return "[--attribute=" in _patterns(subcommand)


def take_selectors(args: Sequence[str]) -> Tuple[List[str], Dict[str, Any]]:
    """(the arguments without the selectors' options, those options as docopt would give
    them: a list of values each, --pick's one value), for a subcommand that takes them. Only
    the plugin's own words are read: the remote command, after `--`, keeps its own."""
    from .errors import UsageError

    taken: Dict[str, Any] = {}
    if len(args) < 2 or args[1] not in _subcommands() or not takes_selectors(args[1]):
        return list(args), taken
    options = _long_options()
    kept = list(args[:2])
    index = 2
    while index < len(args):
        word = args[index]
        index += 1
        name = _option_named(word, options) if word.startswith("--") and word != "--" else None
        if word == "--":
            kept += args[index - 1:]
            break
        if name not in SELECTOR_OPTIONS:
            kept.append(word)
            continue
        if "=" in word:
            value = word.split("=", 1)[1]
        elif index < len(args) and args[index] != "--":
            value, index = args[index], index + 1
        else:
            raise UsageError(f"{name} needs a value.")
        if name == "--pick":
            if "--pick" in taken:
                raise UsageError("--pick is given twice; give it once.")
            taken[name] = value
        else:
            taken.setdefault(name, []).append(value)
    return kept, taken


def options(args: Sequence[str]) -> Dict[str, Any]:
    """docopt's answer for a command line, the selectors' options included; DocoptExit when
    docopt refuses it."""
    from docopt import docopt

    rest, taken = take_selectors(args)
    opts = dict(docopt(doc_for(rest), argv=rest, default_help=False))
    if len(rest) > 1 and rest[1] in _subcommands() and takes_selectors(rest[1]):
        for name in SELECTOR_OPTIONS:
            opts[name] = taken.get(name, None if name == "--pick" else [])
    return opts


def _patterns(*subcommand: str) -> str:
    """The usage pattern of one subcommand (`run`, or `tunnel socks`), its continuation
    lines included."""
    lines = usage_section().splitlines()
    pattern: List[str] = []
    start = ["dcos", "node", *subcommand]
    for line in lines:
        words = line.split()
        if words[:len(start)] == start:
            pattern.append(line)
        elif pattern and words and words[0] != "dcos":
            pattern.append(line)
        elif pattern:
            break
    return " ".join(pattern)


_LONG = re.compile(r"(--[a-z][a-z-]*)(=<)?")


def _long_options() -> Dict[str, bool]:
    """Every long option of USAGE, and whether it takes a value."""
    found: Dict[str, bool] = {}
    for name, value in _LONG.findall(USAGE):
        found[name] = found.get(name, False) or bool(value)
    return found


def _option_named(word: str, options: Dict[str, bool]) -> Optional[str]:
    """The option a word names: exactly, or as the unique prefix docopt accepts."""
    name = word.split("=", 1)[0]
    if name in options:
        return name
    candidates = [option for option in options if option.startswith(name)]
    return candidates[0] if len(candidates) == 1 else None


def separate_remote_command(args: Sequence[str]) -> List[str]:
    """The arguments with `--` before the remote command, so that options in it (`df -h`)
    stay its own, as they do for `ssh host df -h`."""
    args = list(args)
    if len(args) < 2 or args[1] not in WITH_REMOTE_COMMAND:
        return args
    options = _long_options()
    index = 2
    while index < len(args):
        word = args[index]
        if word == "--":
            return args
        if not word.startswith("-") or word == "-":
            return args[:index] + ["--"] + args[index:]
        name = _option_named(word, options)
        if name is not None and options[name] and "=" not in word:
            index += 1  # its value is the next word
        index += 1
    return args


def own_words(args: Sequence[str]) -> List[str]:
    """The words that are the plugin's own, not the remote command's."""
    return list(args[: args.index("--")]) if "--" in args else list(args)


def wants_help(args: Sequence[str]) -> bool:
    return any(word in ("-h", "--help") for word in own_words(separate_remote_command(args)))


def _exclusive_groups(subcommand: str) -> List[Tuple[str, ...]]:
    """The flags of each `[ a | b ]` group of a subcommand's pattern, of which one may be
    given. (None is required there: what one must choose, unchosen checks after docopt.)"""
    return [tuple(name for name, _ in _LONG.findall(inside))
            for inside in re.findall(r"\[([^()\[\]]*\|[^()\[\]]*)\]", _patterns(subcommand))]


# Groups that share their section with other options, named by what they choose: "Tunnels"
# explains the tunnels, of which --port-index and --port-name choose a task's port.
_GROUP_NOUNS: Dict[Tuple[str, ...], str] = {("--port-index", "--port-name"): "port"}


def _group_noun(flags: Tuple[str, ...]) -> str:
    """The section of the options list that explains a group: "Target", "Proxy"."""
    section = ""
    for line in USAGE.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            section = line.split()[0].rstrip(":")
        elif line.strip().startswith(flags[0]):
            return section.lower()
    return "option"


NO_TARGET_TEXT = (
    "Say which node to reach: --leader (the leading master), --mesos-id=<id> (alias --slave: an agent by ID, a "
    "unique part of its ID, its host name or address), --private-ip=<ip>, or selectors that leave one node "
    "(--task=<task>, --host=<glob>, --attribute=<name:value>..., with --pick=1 to have one chosen).")
def no_selection_text(subcommand: str) -> str:
    return (f"Say which nodes to {ON_MANY[subcommand]}: --all, --masters, --agents, --private-agents, "
            "--public-agents, or --mesos-id=<id> (repeatable: an agent by ID, a unique part of its ID, its host name "
            "or address); or selectors, which choose among every node (--attribute=<name:value>, --region, --zone, "
            "--host=<glob>, --task=<task>, --framework=<name>).")


_KIND_FLAGS = ("--all", "--masters", "--agents", "--private-agents", "--public-agents", "--mesos-id")

# What a subcommand needs one of, beyond what docopt can require ("one of these, or any number of
# those"): ssh a target or a selector; run and the copies a selection or a selector.
_CHOICES = {
    "ssh": (("--leader", "--master", "--mesos-id", "--slave", "--private-ip"), ProblemKind.NO_TARGET, NO_TARGET_TEXT),
    **{verb: (_KIND_FLAGS, ProblemKind.NO_SELECTION, no_selection_text(verb)) for verb in ON_MANY},
}


def unchosen(args: Sequence[str], opts) -> Optional[Problem]:
    """What is missing from a command line docopt accepted: the node `ssh` reaches, or the
    nodes `run` runs on (a kind of node, --mesos-id, or a selector)."""
    from .flags import SELECTOR_FLAGS

    wanted = _CHOICES.get(args[1] if len(args) > 1 else "")
    if wanted is None:
        return None
    flags, kind, text = wanted
    if any(opts.get(flag) not in (None, False, []) for flag in flags + SELECTOR_FLAGS):
        return None
    return Problem(kind, text)


def diagnose(args: Sequence[str]) -> Problem:
    """Say what is wrong with a command line docopt refused, as precisely as we can."""
    words = own_words(args)
    if len(words) > 1 and words[1] == "tunnel" and (len(words) < 3 or words[2] not in TUNNEL_KINDS):
        return Problem(ProblemKind.OTHER, (
            "Say which tunnel: `socks` (a SOCKS5 proxy on 127.0.0.1 into the cluster) or `forward` (local "
            "ports to <node>:<port>, <name>:<port> or a task's port)."))
    if len(words) > 1 and words[1] in _subcommands():
        options = _long_options()
        named = [_option_named(word, options) if word.startswith("--") else None for word in words[2:]]
        for flags in _exclusive_groups(words[1]):
            present = [name for name in named if name in flags]
            if len(present) > 1:
                noun = _GROUP_NOUNS.get(flags) or _group_noun(flags)
                return Problem(ProblemKind.TWO_OF_A_KIND, f"Choose one {noun}, not {' and '.join(present)}.")
        command = words[1:3] if words[1] == "tunnel" else words[1:2]
        own = {option for option, _ in _LONG.findall(_patterns(*command))}
        foreign = [name for name in named if name is not None and name not in own]
        if foreign:
            return Problem(ProblemKind.UNKNOWN_OPTION,
                           f"{foreign[0]} is not an option of `dcos node {' '.join(command)}`.")
        unknown = [word for word, name in zip(words[2:], named) if word.startswith("-") and name is None]
        if unknown:
            return Problem(ProblemKind.UNKNOWN_OPTION, (
                f"Unknown option '{shown(unknown[0])}'. To pass options to a remote command, put `--` "
                "before the command.") if words[1] in WITH_REMOTE_COMMAND else
                f"Unknown option '{shown(unknown[0])}'.")
        if words[1] == "run" and "--list" in named and len(words) < len(args):
            return Problem(ProblemKind.OTHER, "--list prints the nodes selected and runs nothing: leave out the "
                                              "command, or --list.")
        if words[1] == "run" and len(words) == len(args) and "--list" not in named:
            return Problem(ProblemKind.OTHER, "Say what to run on the nodes, after the options (put `--` before a "
                                              "command that starts with '-'), or --list to see the nodes selected.")
        paths = [word for word in args[2:] if word == "-" or not word.startswith("-")]
        if words[1] in _PATHS and len(paths) < 2:
            return Problem(ProblemKind.OTHER, f"Name what to copy and where: {_PATHS[words[1]]}.")
    return Problem(ProblemKind.OTHER, "The command line does not match the usage below.")


# What the paths of the commands that copy are.
_PATHS = {
    "copy": "one or more local files (folders with -r), then the path on the nodes to copy them to",
    "fetch": "one or more paths on the nodes (folders with -r), then a new or empty local folder to fetch into",
    "scp": "one or more sources, then the destination; a path on a node is <node>:<path>",
}


def _subcommands() -> List[str]:
    """The subcommands that USAGE's patterns name."""
    return re.findall(r"^ {4}dcos node ([a-z][a-z-]*)", usage_section(), re.MULTILINE)
