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


class Selection(enum.Enum):
    """Which kind of nodes a selection starts from; the value is the flag that asks for them."""

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


class SelectorKind(enum.Enum):
    """What a selector compares; the value is its flag's name, and its kind in --exclude."""

    ATTRIBUTE = "attribute"
    REGION = "region"
    ZONE = "zone"
    HOST = "host"
    TASK = "task"
    FRAMEWORK = "framework"
    MESOS_ID = "mesos-id"  # in --exclude only: --mesos-id itself names the nodes to start from

    @property
    def agents_only(self) -> bool:
        """Whether only agents can match it: Mesos gives masters no attributes and no tasks."""
        return self in (SelectorKind.ATTRIBUTE, SelectorKind.TASK, SelectorKind.FRAMEWORK, SelectorKind.MESOS_ID)


class Selector(NamedTuple):
    """One condition on a node: `--attribute=rack:r1` is (ATTRIBUTE, "r1", "rack")."""

    kind: SelectorKind
    value: str  # a glob, a task, a framework, an attribute's value (None-like "" only for ATTRIBUTE: any value)
    name: str = ""  # the attribute's name

    def __str__(self) -> str:
        """As the user wrote it, escaped: `--attribute=rack:r1`."""
        text = f"{self.name}:{self.value}" if self.name and self.value else self.name or self.value
        return f"--{self.kind.value}={shown(text, 80)}"

    def excluded(self) -> str:
        """As --exclude names it: `--exclude=attribute:rack:r1`."""
        return f"--exclude={self.kind.value}:{str(self).split('=', 1)[1]}"


SELECTOR_FLAGS = tuple(f"--{kind.value}" for kind in SelectorKind if kind is not SelectorKind.MESOS_ID)


def _selector(kind: SelectorKind, value: str, flag: str) -> Selector:
    if kind is SelectorKind.ATTRIBUTE:
        name, colon, wanted = value.partition(":")
        if not name or (colon and not wanted):
            raise UsageError(f"{flag} takes <name>:<value> (rack:r1), or a name alone for any value; not "
                             f"'{shown(value)}'.")
        return Selector(kind, wanted, name)
    if not value:
        raise UsageError(f"{flag} needs a value, not an empty one.")
    return Selector(kind, value)


def _exclusion(value: str) -> Selector:
    """`--exclude=<kind>:<value>`: a selector's kind and the value its flag would take."""
    kind_name, colon, rest = value.partition(":")
    kind = next((kind for kind in SelectorKind if kind.value == kind_name), None)
    if kind is None or not colon:
        kinds = ", ".join(f"{kind.value}:" for kind in SelectorKind)
        raise UsageError(f"--exclude takes <kind>:<value>, the kind one of {kinds} (--exclude=host:fleet-1*, "
                         f"--exclude=attribute:rack:r1); not '{shown(value)}'.")
    return _selector(kind, rest, f"--exclude={kind_name}:")


class Count(NamedTuple):
    """A number of nodes as --batch, --max-fail and --pick take it: `n`, or `n%` of the nodes."""

    number: int
    percent: bool = False

    def of(self, total: int, at_least: int) -> int:
        """How many nodes of `total`: a percentage rounded down, as Ansible's `serial` does, and
        never below `at_least`."""
        return max(at_least, total * self.number // 100 if self.percent else self.number)

    def __str__(self) -> str:
        return f"{self.number}{'%' if self.percent else ''}"


def count(value: Optional[str], flag: str, low: int) -> Optional[Count]:
    """`n` (at least `low`) or `n%` (from `low` to 100); None when the flag is absent."""
    if value is None:
        return None
    digits = value[:-1] if value.endswith("%") else value
    if digits.isascii() and digits.isdigit() and len(digits) < 10:
        parsed = Count(int(digits), value.endswith("%"))
        if parsed.number >= low and (not parsed.percent or parsed.number <= 100):
            return parsed
    raise UsageError(f"{flag} takes a whole number of nodes of at least {low}, or a percentage of them "
                     f"({max(low, 1)}% to 100%); not '{shown(value)}'.")


class Choice(NamedTuple):
    """The nodes a command is to reach, as its flags say: the kind to start from (None: every
    node the selectors allow), the agents --mesos-id names, the selectors that narrow them,
    the exclusions and --pick."""

    kind: Optional[Selection] = None
    mesos_ids: Tuple[str, ...] = ()
    include: Tuple[Selector, ...] = ()
    exclude: Tuple[Selector, ...] = ()
    pick: Optional[Count] = None

    @property
    def narrowed(self) -> bool:
        """Whether any selector, exclusion or --pick narrows the kind's nodes."""
        return bool(self.include or self.exclude or self.pick)

    @property
    def masters_may_match(self) -> bool:
        """Whether masters can be among the nodes: their kind is asked for, or every node is,
        and no selector that only agents can match narrows them."""
        kind = self.kind or Selection.ALL
        return kind.needs_masters and not any(selector.kind.agents_only for selector in self.include)

    @property
    def agents_may_match(self) -> bool:
        return (self.kind or Selection.ALL).needs_agents

    @classmethod
    def of(cls, opts: Opts, kind: Optional[Selection] = None, mesos_ids: Tuple[str, ...] = ()) -> "Choice":
        include = tuple(_selector(kind_, value, f"--{kind_.value}") for kind_ in SelectorKind
                        for value in _words(opts.get(f"--{kind_.value}")) if kind_ is not SelectorKind.MESOS_ID)
        exclude = tuple(_exclusion(value) for value in _words(opts.get("--exclude")))
        if kind is Selection.MASTERS:
            about_agents = next((selector for selector in include + exclude if selector.kind.agents_only), None)
            if about_agents is not None:
                raise UsageError(f"--{about_agents.kind.value} describes agents only (Mesos gives masters no "
                                 "attributes and no tasks): leave out --masters, or the selector.")
        return cls(kind, mesos_ids, include, exclude, count(opts.get("--pick"), "--pick", 1))


def run_choice(opts: Opts) -> Choice:
    """`run`'s (and the copies') selection: a kind flag, or --mesos-id, and the selectors."""
    mesos_ids = _words(opts.get("--mesos-id"))
    kind = next((selection for selection in Selection
                 if selection is not Selection.BY_ID and opts.get(selection.value)),
                Selection.BY_ID if mesos_ids else None)
    return Choice.of(opts, kind, mesos_ids)


class TargetKind(enum.Enum):
    """How `dcos node ssh` names its node; the value is how messages name it."""

    LEADER = "the leading master"
    AGENT = "agent"
    ADDRESS = "--private-ip"
    SELECTED = "the selection"  # the one node the selectors leave (SshFlags.nodes)


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
    flag, value = ("--mesos-id", value) if value is not None else ("--slave", opts.get("--slave"))
    if value == "":
        raise UsageError(f"{flag} needs an agent's ID, or a unique part of it; not an empty value.")
    return Target(TargetKind.AGENT, value) if value is not None else Target(TargetKind.SELECTED)


def _one_choice(opts: Opts, target: Target) -> Optional[Choice]:
    """`ssh`'s selection, when selectors name its node: among every node, or narrowing the
    agent --mesos-id names. The leader and --private-ip are nodes already."""
    choice = Choice.of(opts)
    if not choice.narrowed:
        return None
    if target.kind in (TargetKind.LEADER, TargetKind.ADDRESS):
        flag = "--private-ip" if target.kind is TargetKind.ADDRESS else "--leader"
        raise UsageError(f"{flag} names the node itself; the selectors ({', '.join(SELECTOR_FLAGS)}, --exclude, "
                         "--pick) choose among the nodes of the cluster. Use one or the other.")
    if target.kind is TargetKind.AGENT:
        return choice._replace(kind=Selection.BY_ID, mesos_ids=(target.value or "",))
    return choice


class SshFlags(NamedTuple):
    route: RouteFlags
    target: Target
    command: Tuple[str, ...] = ()
    dry_run: bool = False
    check: bool = False
    json: bool = False
    nodes: Optional[Choice] = None  # the selection that names the node, when selectors do

    @classmethod
    def of(cls, opts: Opts) -> "SshFlags":
        target = _one_target(opts)
        nodes = _one_choice(opts, target)
        if nodes is not None:
            target = Target(TargetKind.SELECTED)
        return cls(RouteFlags.of(opts), target, _words(opts.get("<command>")), bool(opts.get("--dry-run")),
                   bool(opts.get("--check")), bool(opts.get("--json")), nodes)


class ListFlags(NamedTuple):
    json: bool = False
    fields: Tuple[str, ...] = ()
    mesos_id: Optional[str] = None

    @classmethod
    def of(cls, opts: Opts) -> "ListFlags":
        value = opts.get("--mesos-id")
        return cls(bool(opts.get("--json")), _words(opts.get("--field")),
                   value[0] if isinstance(value, list) and value else value or None)


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
    nodes: Choice
    parallel: int = DEFAULT_PARALLEL
    timeout: Optional[float] = None
    output: OutputMode = OutputMode.LINES
    output_dir: Optional[str] = None
    command: Tuple[str, ...] = ()
    batches: Tuple[Count, ...] = ()  # --batch's sizes in order, the last repeated; () for one batch
    max_fail: Optional[Count] = None
    pause: float = 0.0
    list: bool = False
    warm: Optional[int] = None  # seconds each node's connection stays open after its last use

    @classmethod
    def of(cls, opts: Opts) -> "RunFlags":
        output = next((mode for mode in (OutputMode.GATHER, OutputMode.JSON) if opts.get(mode.value)),
                      OutputMode.LINES)
        output_dir = opts.get("--output-dir")
        if output_dir is not None:
            if not output_dir:
                raise UsageError("--output-dir needs a folder, not an empty value.")
            output = OutputMode.FOLDERS
        batch = opts.get("--batch")
        batches = tuple(count(size, "--batch", 1) for size in batch.split(",")) if batch is not None else ()
        pause = number(opts.get("--pause"), "--pause", 0, False)
        if pause is not None and not batches:
            raise UsageError("--pause is the wait between batches: add --batch=<n or n%>.")
        if opts.get("--list"):
            # --pause comes only with --batch (refused above otherwise), which is named first.
            running = [flag for flag in ("--gather", "--output-dir", "--batch", "--max-fail", "--timeout", "--warm")
                       if opts.get(flag) not in (None, False)]
            if running:
                raise UsageError(f"--list prints the nodes selected and runs nothing, so {running[0]} has nothing to "
                                 "do: leave it out, or --list.")
        return cls(RouteFlags.of(opts), run_choice(opts), _parallel(opts),
                   number(opts.get("--timeout"), "--timeout", 0.001, False), output, output_dir,
                   _words(opts.get("<command>")), batches,  # type: ignore[arg-type]  # count() of a value
                   count(opts.get("--max-fail"), "--max-fail", 0), pause or 0.0, bool(opts.get("--list")),
                   _warm(opts))


class CopyFlags(NamedTuple):
    """`copy` (local paths to every node) and `fetch` (remote paths from every node into a
    local folder of each node's own): the last path is the destination."""

    route: RouteFlags
    nodes: Choice
    fetch: bool
    sources: Tuple[str, ...]
    destination: str
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
        return cls(RouteFlags.of(opts), run_choice(opts), fetch, tuple(sources), destination, bool(opts.get("-r")),
                   bool(opts.get("-p")), _parallel(opts), number(opts.get("--timeout"), "--timeout", 0.001, False),
                   bool(opts.get("--json")), _warm(opts))


class ScpFlags(NamedTuple):
    route: RouteFlags
    paths: Tuple[str, ...]
    recursive: bool = False
    preserve: bool = False

    @classmethod
    def of(cls, opts: Opts) -> "ScpFlags":
        return cls(RouteFlags.of(opts), _words(opts.get("<path>")), bool(opts.get("-r")), bool(opts.get("-p")))


class SshConfigFlags(NamedTuple):
    route: RouteFlags
    prefix: Optional[str] = None
    write: bool = False
    nodes: Optional[Choice] = None  # the agents that get entries, when selectors narrow them

    @classmethod
    def of(cls, opts: Opts) -> "SshConfigFlags":
        choice = Choice.of(opts, Selection.AGENTS)
        return cls(RouteFlags.of(opts), opts.get("--prefix"), bool(opts.get("--write")),
                   choice if choice.narrowed else None)


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
