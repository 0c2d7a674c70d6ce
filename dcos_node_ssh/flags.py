"""docopt's answer as typed flags: the route flags every connecting command shares, and
each command's own, a small immutable record each (NamedTuple: dataclasses would
import inspect before every ssh session). Only this module reads docopt's keys;
a value that docopt cannot check (a number, a folder) is checked here.
"""

import enum
from typing import Any, Mapping, NamedTuple, Optional, Tuple

from .errors import UsageError, shown

Opts = Mapping[str, Any]


def _words(value: Any) -> Tuple[str, ...]:
    """A repeatable option or argument: docopt gives a list (or, outside its own pattern, None)."""
    if value is None or value is False:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


class RouteFlags(NamedTuple):
    """How to reach the nodes, as the command line says; route.py adds the settings."""

    master_proxy: bool = False
    proxy_ip: Optional[str] = None
    jump: bool = False
    user: Optional[str] = None
    options: Tuple[str, ...] = ()
    proxy_options: Tuple[str, ...] = ()
    config_file: Optional[str] = None
    ssh_client: Optional[str] = None

    @classmethod
    def of(cls, opts: Opts) -> "RouteFlags":
        return cls(master_proxy=bool(opts.get("--master-proxy")), proxy_ip=opts.get("--proxy-ip"),
                   jump=bool(opts.get("--jump")), user=opts.get("--user"), options=_words(opts.get("--option")),
                   proxy_options=_words(opts.get("--proxy-option")), config_file=opts.get("--config-file"),
                   ssh_client=opts.get("--ssh-client"))


class TargetKind(enum.Enum):
    """How `dcos node ssh` names its node; the value is how messages name it."""

    LEADER = "the leading master"
    AGENT = "agent"
    ADDRESS = "--private-ip"


class Target(NamedTuple):
    kind: TargetKind
    value: Optional[str] = None  # the agent as named, or the address


def _one_target(opts: Opts) -> Target:
    if opts.get("--private-ip") is not None:
        return Target(TargetKind.ADDRESS, opts["--private-ip"])
    if opts.get("--leader") or opts.get("--master"):
        return Target(TargetKind.LEADER)
    value = opts.get("--mesos-id")
    if isinstance(value, list):  # repeatable in `run`'s pattern: in the whole usage text a list
        value = value[0] if value else None
    return Target(TargetKind.AGENT, value or opts.get("--slave"))


class SshFlags(NamedTuple):
    route: RouteFlags
    target: Target
    command: Tuple[str, ...] = ()
    dry_run: bool = False
    check: bool = False
    json: bool = False

    @classmethod
    def of(cls, opts: Opts) -> "SshFlags":
        return cls(RouteFlags.of(opts), _one_target(opts), _words(opts.get("<command>")), bool(opts.get("--dry-run")),
                   bool(opts.get("--check")), bool(opts.get("--json")))


class ListFlags(NamedTuple):
    json: bool = False
    fields: Tuple[str, ...] = ()
    mesos_id: Optional[str] = None

    @classmethod
    def of(cls, opts: Opts) -> "ListFlags":
        value = opts.get("--mesos-id")
        return cls(bool(opts.get("--json")), _words(opts.get("--field")),
                   value[0] if isinstance(value, list) and value else value or None)


class Selection(enum.Enum):
    """Which nodes `run` reaches; the value is the flag that asks for them."""

    ALL = "--all"
    MASTERS = "--masters"
    AGENTS = "--agents"
    PRIVATE_AGENTS = "--private-agents"
    PUBLIC_AGENTS = "--public-agents"
    BY_ID = "--mesos-id"

    @property
    def needs_masters(self) -> bool:
        return self in (Selection.ALL, Selection.MASTERS)

    @property
    def needs_agents(self) -> bool:
        return self is not Selection.MASTERS


class OutputMode(enum.Enum):
    """How `run` shows what the nodes print."""

    LINES = "lines"  # `<node>: <line>` as it comes
    GATHER = "--gather"
    JSON = "--json"
    FOLDERS = "--output-dir"


DEFAULT_PARALLEL = 32


def number(value: Optional[str], flag: str, low: float, integer: bool) -> Optional[float]:
    """A flag's number, at least `low`; None when the flag is absent. An empty or
    unreadable value is refused, never taken for the default."""
    if value is None:
        return None
    try:
        parsed = int(value) if integer else float(value)
    except ValueError:
        parsed = None
    if parsed is None or not parsed >= low or parsed != parsed or parsed == float("inf"):
        kind = "a whole number" if integer else "a number of seconds"
        raise UsageError(f"{flag} must be {kind} of at least {low:g}, not '{shown(value)}'.")
    return parsed


def _selection(opts: Opts) -> Selection:
    return next((selection for selection in Selection
                 if selection is not Selection.BY_ID and opts.get(selection.value)), Selection.BY_ID)


def _parallel(opts: Opts) -> int:
    parallel = number(opts.get("--parallel"), "--parallel", 1, True)
    return DEFAULT_PARALLEL if parallel is None else int(parallel)


# A day: a warm connection is for a series of commands, not a standing one.
WARM_MAX = 86400


def _warm(opts: Opts) -> Optional[int]:
    """--warm=<seconds>: a whole number from 1 to WARM_MAX."""
    value = opts.get("--warm")
    seconds = number(value, "--warm", 1, True)
    if seconds is not None and seconds > WARM_MAX:
        raise UsageError(f"--warm keeps connections open for at most {WARM_MAX} seconds (a day), not "
                         f"'{shown(value)}'; close them sooner with `dcos node disconnect`.")
    return None if seconds is None else int(seconds)


class RunFlags(NamedTuple):
    route: RouteFlags
    selection: Selection
    mesos_ids: Tuple[str, ...] = ()
    parallel: int = DEFAULT_PARALLEL
    timeout: Optional[float] = None
    output: OutputMode = OutputMode.LINES
    output_dir: Optional[str] = None
    command: Tuple[str, ...] = ()
    warm: Optional[int] = None  # seconds each node's connection stays open after its last use

    @classmethod
    def of(cls, opts: Opts) -> "RunFlags":
        selection = _selection(opts)
        output = next((mode for mode in (OutputMode.GATHER, OutputMode.JSON) if opts.get(mode.value)),
                      OutputMode.LINES)
        output_dir = opts.get("--output-dir")
        if output_dir is not None:
            if not output_dir:
                raise UsageError("--output-dir needs a folder, not an empty value.")
            output = OutputMode.FOLDERS
        return cls(RouteFlags.of(opts), selection, _words(opts.get("--mesos-id")), _parallel(opts),
                   number(opts.get("--timeout"), "--timeout", 0.001, False), output, output_dir,
                   _words(opts.get("<command>")), _warm(opts))


class CopyFlags(NamedTuple):
    """`copy` (local paths to every node) and `fetch` (remote paths from every node into a
    local folder of each node's own): the last path is the destination."""

    route: RouteFlags
    selection: Selection
    fetch: bool
    sources: Tuple[str, ...]
    destination: str
    mesos_ids: Tuple[str, ...] = ()
    recursive: bool = False
    preserve: bool = False
    parallel: int = DEFAULT_PARALLEL
    timeout: Optional[float] = None
    json: bool = False
    warm: Optional[int] = None

    @classmethod
    def of(cls, opts: Opts) -> "CopyFlags":
        *sources, destination = _words(opts.get("<path>"))
        fetch = bool(opts.get("fetch"))
        if not all(sources + [destination]):
            raise UsageError("A path is empty: name a file or a folder (on the nodes, `~` is the home folder).")
        return cls(RouteFlags.of(opts), _selection(opts), fetch, tuple(sources), destination,
                   _words(opts.get("--mesos-id")), bool(opts.get("-r")), bool(opts.get("-p")), _parallel(opts),
                   number(opts.get("--timeout"), "--timeout", 0.001, False), bool(opts.get("--json")), _warm(opts))


class ScpFlags(NamedTuple):
    route: RouteFlags
    paths: Tuple[str, ...]
    recursive: bool = False

    @classmethod
    def of(cls, opts: Opts) -> "ScpFlags":
        return cls(RouteFlags.of(opts), _words(opts.get("<path>")), bool(opts.get("-r")))


class SshConfigFlags(NamedTuple):
    route: RouteFlags
    prefix: Optional[str] = None
    write: bool = False

    @classmethod
    def of(cls, opts: Opts) -> "SshConfigFlags":
        return cls(RouteFlags.of(opts), opts.get("--prefix"), bool(opts.get("--write")))


class TunnelKind(enum.Enum):
    """Which tunnel; the value is its word on the command line."""

    SOCKS = "socks"
    FORWARD = "forward"


def _port_flag(value: Optional[str], flag: str, low: int) -> Optional[int]:
    from .openssh.tunnel import port_number

    return None if value is None else port_number(value, flag, low)


class TunnelFlags(NamedTuple):
    route: RouteFlags
    kind: TunnelKind
    socks_port: Optional[int] = None  # None: the default; 0: chosen
    pac: Optional[str] = None
    forwards: Tuple = ()  # openssh.tunnel.ForwardSpec, in the order given
    task: Optional[str] = None
    port_index: Optional[int] = None
    port_name: Optional[str] = None
    local_port: int = 0  # the task's; 0: chosen
    check: bool = False
    json: bool = False

    @classmethod
    def of(cls, opts: Opts) -> "TunnelFlags":
        from .openssh.tunnel import parse_forward

        kind = TunnelKind.SOCKS if opts.get("socks") else TunnelKind.FORWARD
        task = opts.get("--task")
        if task is not None and not task:
            raise UsageError("--task needs a task's ID or name, not an empty value.")
        for flag in ("--port-index", "--port-name", "--local-port"):
            if opts.get(flag) is not None and task is None:
                raise UsageError(f"{flag} is about the port of a task: add --task=<ID or name>.")
        forwards = tuple(parse_forward(spec) for spec in _words(opts.get("<forward>")))
        if kind is TunnelKind.FORWARD and not forwards and task is None:
            raise UsageError("Say what to forward: one or more [<local port>:]<destination>:<port> (a node as "
                             "`dcos node ssh` names it, or a name the master resolves: S1:5051, "
                             "marathon.mesos:8080), or --task=<ID or name>.")
        pac = opts.get("--pac")
        if pac is not None and not pac:
            raise UsageError("--pac needs the path of the file to write, not an empty value.")
        port_index = number(opts.get("--port-index"), "--port-index", 0, True)
        socks_port = _port_flag(opts.get("--port"), "--port", 0)
        local_port = _port_flag(opts.get("--local-port"), "--local-port", 0) or 0
        named = [port for port in [socks_port or 0] + [spec.local_port for spec in forwards] + [local_port] if port]
        twice = sorted({port for port in named if named.count(port) > 1})
        if twice:
            raise UsageError(f"The local port {twice[0]} is named twice; each listener needs a port of its own.")
        return cls(RouteFlags.of(opts), kind, socks_port, pac, forwards, task,
                   None if port_index is None else int(port_index), opts.get("--port-name"), local_port,
                   bool(opts.get("--check")), bool(opts.get("--json")))
