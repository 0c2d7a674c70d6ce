"""The nodes a command reaches, as DC/OS describes them, pure: the kind of node to start from
(flags.Selection: every node, the masters, the agents, the private or public ones, the agents
--mesos-id names), the selectors that narrow them (Mesos agent attributes, the fault domain's
region and zone, the agents running a task or a framework's tasks, host names and addresses
by glob), the exclusions, and a stable --pick; each node as a target to connect to and a
name to show. `needs` says which of the cluster's answers a choice reads, so that only those
are asked; `select` makes the choice over them.

How selectors combine: different kinds must all hold; values of one kind are alternatives (a
node has one region, one host name), except attributes, which must all hold (an agent has
many). Masters are described by Mesos DNS (an address) and the leader's master_info (its
region, which is every master's, and its own zone), so only --host, --region and --zone can
match them. A selector or an exclusion that matches nothing is an error that names it, never
a silent no-op: an exclusion with a typo would leave in the node it was meant to keep out.

Values from the cluster are untrusted: a node is connected to only at an address that the
cluster layer or nodes.agent_address accepts; names and values are only compared, and
escaped wherever they are printed. A node the cluster describes unusably (a master or an
agent alike) is kept with the reason, so that it is reported and counted rather than
silently left out or allowed to stop the others.
"""

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set

from .errors import ClusterDataError, ClusterError, shown
from .flags import Choice, Count, Selection, Selector, SelectorKind
from .hosts import normalize_host
from .nodes import Node, NodeKind, NodeState, agent_address, agent_named, agent_node, listing_order, match_agent

if TYPE_CHECKING:
    from .cluster.answers import ListedMaster
    from .tasks import Task


class Target(NamedTuple):
    """One selected node: where to connect, and how to name it."""

    id: str  # "" for a master
    hostname: str  # "" when the cluster gives none (masters) or an unusable one
    address: str  # "" when the cluster gives no usable address: then `problem` says why
    kind: NodeKind
    problem: Optional[str] = None
    given: str = ""  # an unusable master address as Mesos DNS gave it, escaped: all there is to name it by

    @property
    def name(self) -> str:
        """The name `dcos node` shows: the host name, else the address (else the ID)."""
        return self.hostname or self.address or self.id or self.given

    def describe(self) -> str:
        """The node in a message, escaped: `<ID> (<host name>, <address>)`, a master by address."""
        if not self.id:
            return f"master {shown(self.address or self.given, 60)}"
        return f"{shown(self.id, 100)} ({shown(self.hostname or '-', 60)}, {self.address or 'no usable address'})"


def master_targets(masters: Sequence["ListedMaster"]) -> List[Target]:
    """The masters Mesos DNS lists, named by address."""
    return [Target("", "", master.address, NodeKind.MASTER, master.problem, master.given) for master in masters]


def agent_target(record: dict) -> Optional[Target]:
    """An agent entry as a target; None for an entry without an ID."""
    node = agent_node(record)
    if node is None:
        return None
    try:
        address = agent_address(record)
    except ClusterDataError as error:
        usable = node.hostname if normalize_host(node.hostname) else ""
        return Target(node.id, usable, "", node.kind, str(error))
    return Target(node.id, normalize_host(node.hostname) or "", address, node.kind)


class Answers(NamedTuple):
    """What the cluster said that a choice reads (`needs` says which parts are asked)."""

    source: str  # the cluster, as messages name it
    masters: Sequence["ListedMaster"] = ()
    agents: Sequence[dict] = ()  # state-summary's agents (cluster.queries keeps their essentials)
    tasks: Sequence["Task"] = ()  # the master's task state
    frameworks: Any = None  # state-summary's "frameworks" array, as sent
    master_info: Optional[dict] = None  # the leader's (GET_MASTER): the masters' region, the leader's zone


class Needs(NamedTuple):
    masters: bool = False
    agents: bool = False
    tasks: bool = False
    frameworks: bool = False
    master_info: bool = False


def needs(choice: Choice) -> Needs:
    """Which answers `select` reads for this choice: no task state unless a task or a framework
    is named, no master_info unless masters may be compared by region or zone."""
    kinds = {selector.kind for selector in choice.include + choice.exclude}
    masters = choice.masters_may_match
    return Needs(masters, choice.agents_may_match, bool(kinds & {SelectorKind.TASK, SelectorKind.FRAMEWORK}),
                 SelectorKind.FRAMEWORK in kinds, masters and bool(kinds & {SelectorKind.REGION, SelectorKind.ZONE}))


class _Described(NamedTuple):
    """A node with what selectors compare."""

    target: Target
    attributes: Dict[str, Any]
    region: str
    zone: str


_NAMES = {Selection.ALL: "nodes", Selection.MASTERS: "masters", Selection.AGENTS: "agents",
          Selection.PRIVATE_AGENTS: "private agents", Selection.PUBLIC_AGENTS: "public agents",
          Selection.BY_ID: "agents --mesos-id names"}
_KINDS = {Selection.PRIVATE_AGENTS: (NodeKind.AGENT,), Selection.PUBLIC_AGENTS: (NodeKind.PUBLIC_AGENT,)}


def select(choice: Choice, answers: Answers) -> List[Target]:
    """The targets a choice names, masters first, then agents, then public agents, each by
    address; a node named twice is reached once. Nothing selected is an error that says which
    selector left nothing."""
    everyone = _masters(answers) + _agents(answers)
    base = _base(choice, everyone, answers)
    what = _NAMES[choice.kind] if choice.kind else "nodes" if choice.masters_may_match else "agents"
    if not base:
        raise ClusterError(f"The cluster at {answers.source} has no {what}.")
    context = _Context(answers, [_as_node(node.target) for node in everyone if node.target.kind is not NodeKind.MASTER])
    chosen = _narrowed(base, choice.include, context, what, answers.source)
    chosen = _without(chosen, choice.exclude, everyone, context, answers.source)
    targets = [node.target for node in chosen]
    if choice.pick is not None:
        targets = pick(targets, choice.pick)
    return sorted(targets, key=lambda target: (listing_order(_as_node(target)), target.given))


def _as_node(target: Target) -> Node:
    return Node(target.id, target.hostname, target.address, target.kind, NodeState.ACTIVE)


def _masters(answers: Answers) -> List[_Described]:
    """The masters, with the region of the leader's master_info (Mesos keeps every master in
    one region) and, for the leader, its zone."""
    from .listing import fault_domain

    region, zone = fault_domain(answers.master_info)
    info = answers.master_info if isinstance(answers.master_info, dict) else {}
    address = info.get("address")
    leader = normalize_host(address.get("ip")) if isinstance(address, dict) else None
    return [_Described(target, {}, region, zone if leader and target.address == leader else "")
            for target in master_targets(answers.masters)]


def _agents(answers: Answers) -> List[_Described]:
    from .listing import fault_domain

    described: Dict[str, _Described] = {}
    for record in answers.agents:
        target = agent_target(record)
        if target is not None and target.id not in described:
            attributes = record.get("attributes")
            described[target.id] = _Described(target, attributes if isinstance(attributes, dict) else {},
                                              *fault_domain(record))
    return list(described.values())


def _base(choice: Choice, everyone: List[_Described], answers: Answers) -> List[_Described]:
    """The nodes of the kind asked for (every node the selectors allow, without one), each once."""
    kind = choice.kind or Selection.ALL
    masters = [node for node in everyone if node.target.kind is NodeKind.MASTER] if choice.masters_may_match else []
    agents = [node for node in everyone if node.target.kind is not NodeKind.MASTER]
    if kind is Selection.BY_ID:
        by_id = {node.target.id: node for node in agents}
        records = [node for node in map(agent_node, answers.agents) if node is not None]
        agents = [by_id[match_agent(records, value, answers.source).id] for value in choice.mesos_ids]
    elif not kind.needs_agents:
        agents = []
    else:
        kinds = _KINDS.get(kind, (NodeKind.AGENT, NodeKind.PUBLIC_AGENT))
        agents = [node for node in agents if node.target.kind in kinds]
    unique = {(node.target.id, node.target.address, node.target.given): node for node in masters + agents}
    return list(unique.values())


# -- comparing ----------------------------------------------------------------------------

def _glob(pattern: str, fold: bool = False) -> Callable[[str], bool]:
    """A test of a value against a shell-style glob (`*`, `?`, `[...]`), whole, or equal to it
    (a value may hold a `[` itself: `[31000-31999]`); `fold`: as DNS compares host names,
    without case and a final dot."""
    from fnmatch import fnmatchcase

    if fold:
        pattern = pattern.lower().rstrip(".")
    is_glob = any(char in pattern for char in "*?[")

    def matches(value: str) -> bool:
        if fold:
            value = value.lower().rstrip(".")
        return value == pattern or (is_glob and fnmatchcase(value, pattern))
    return matches


def _number(text: str) -> Optional[float]:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def attribute_holds(value: Any, wanted: str) -> bool:
    """Whether an agent's attribute, as Mesos' JSON gives it, has the value wanted.

    A scalar (a JSON number) compares as a number, to Mesos' three decimals (`level:2` holds
    for 2 and 2.0). A range (`[31000-32000, 33000-33000]`) holds for a number inside it, and a
    set (`{ssd,gpu}`) for one of its members; either also for its text whole. Text compares
    whole, or with a glob (`rack:r1*`). An empty `wanted`: any value."""
    if not wanted:
        return True
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, (int, float)):
        number = _number(wanted)
        return number is not None and round(float(value) * 1000) == round(number * 1000)
    if not isinstance(value, str):
        return False
    if _glob(wanted)(value):
        return True
    inside = value[1:-1]
    if value.startswith("[") and value.endswith("]"):
        number = _number(wanted)
        for part in inside.split(","):
            low, dash, high = part.strip().partition("-")
            bounds = (_number(low), _number(high)) if dash else (None, None)
            if number is not None and bounds[0] is not None and bounds[1] is not None and \
                    bounds[0] <= number <= bounds[1]:
                return True
        return False
    if value.startswith("{") and value.endswith("}"):
        return any(_glob(wanted)(member.strip()) for member in inside.split(","))
    return False


class _Context:
    """What selectors look up beyond a node itself: which running tasks, and so which agents,
    a --task or --framework value names; which agent an excluded --mesos-id names. Each
    worked out once per selector."""

    def __init__(self, answers: Answers, agents: Sequence[Node]):
        self.answers = answers
        self._nodes = agents
        self._agents: Dict[Selector, Set[str]] = {}

    def agent_id(self, selector: Selector) -> Optional[str]:
        """The agent a --mesos-id value names (nodes.agent_named: several are an error), or None."""
        if selector not in self._agents:
            found = agent_named(self._nodes, selector.value)
            self._agents[selector] = {found.id} if found else set()
        return next(iter(self._agents[selector]), None)

    def running(self) -> List["Task"]:
        return [task for task in self.answers.tasks if task.running]

    def tasks(self, selector: Selector) -> List["Task"]:
        """The running tasks a --task value names: by ID or name, whole or by glob."""
        matches = _glob(selector.value)
        return [task for task in self.running() if matches(task.id) or matches(task.name)]

    def frameworks(self, selector: Selector) -> Dict[str, str]:
        """{ID: name} of the frameworks a --framework value names: by name, whole or by glob, or
        by ID; an ID that running tasks carry counts even where state-summary does not list it."""
        matches = _glob(selector.value)
        found = {framework_id: name for framework_id, name in _frameworks(self.answers.frameworks).items()
                 if matches(name) or framework_id == selector.value}
        if any(task.framework_id == selector.value for task in self.running()):
            found.setdefault(selector.value, "")
        return found

    def agents(self, selector: Selector) -> Set[str]:
        """The IDs of the agents that run what the selector names."""
        if selector not in self._agents:
            if selector.kind is SelectorKind.TASK:
                tasks = self.tasks(selector)
            else:
                ids = self.frameworks(selector)
                tasks = [task for task in self.running() if task.framework_id in ids]
            self._agents[selector] = {task.agent_id for task in tasks}
        return self._agents[selector]


def _frameworks(answer: Any) -> Dict[str, str]:
    """{ID: name} of state-summary's frameworks; entries without a text ID are left out."""
    found: Dict[str, str] = {}
    for entry in answer if isinstance(answer, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            name = entry.get("name")
            found[entry["id"]] = name if isinstance(name, str) else ""
    return found


def _matches(selector: Selector, node: _Described, context: _Context) -> bool:
    target = node.target
    kind = selector.kind
    if kind is SelectorKind.HOST:
        return (bool(target.hostname) and _glob(selector.value, fold=True)(target.hostname)) or (
            bool(target.address) and _glob(selector.value, fold=True)(target.address))
    if kind is SelectorKind.REGION:
        return bool(node.region) and _glob(selector.value)(node.region)
    if kind is SelectorKind.ZONE:
        return bool(node.zone) and _glob(selector.value)(node.zone)
    if target.kind is NodeKind.MASTER:
        return False
    if kind is SelectorKind.ATTRIBUTE:
        return selector.name in node.attributes and attribute_holds(node.attributes[selector.name], selector.value)
    if kind is SelectorKind.MESOS_ID:
        return context.agent_id(selector) == target.id
    return target.id in context.agents(selector)


# -- narrowing, excluding -------------------------------------------------------------------

def _narrowed(base: List[_Described], include: Sequence[Selector], context: _Context, what: str,
              source: str) -> List[_Described]:
    """The nodes that every kind of selector holds for: any value of a kind, every attribute.
    A selector that holds for none of them is named in the error."""
    for selector in include:
        if not any(_matches(selector, node, context) for node in base):
            raise ClusterError(_matches_none(selector, base, context, what, source))
    groups: Dict[SelectorKind, List[Selector]] = {}
    for selector in include:
        groups.setdefault(selector.kind, []).append(selector)

    def holds(node: _Described) -> bool:
        return all((all if kind is SelectorKind.ATTRIBUTE else any)(_matches(selector, node, context)
                                                                    for selector in selectors)
                   for kind, selectors in groups.items())

    chosen = [node for node in base if holds(node)]
    if not chosen:
        raise ClusterError(f"No node matches {' and '.join(map(str, include))} together: each holds for some of "
                           f"the {len(base)} {what} of the cluster at {source}, none for all.")
    return chosen


def _without(chosen: List[_Described], exclude: Sequence[Selector], everyone: List[_Described],
             context: _Context, source: str) -> List[_Described]:
    """The nodes no exclusion matches. An exclusion that matches no node of the cluster is an
    error: a typo in it would leave in the node it was meant to keep out."""
    if not exclude:
        return chosen
    for selector in exclude:
        if not any(_matches(selector, node, context) for node in everyone):
            raise ClusterError(f"{selector.excluded()} matches no node of the cluster at {source}. Check it: an "
                               "exclusion that names nothing would leave in the nodes it is meant to keep out.")
    kept = [node for node in chosen if not any(_matches(selector, node, context) for selector in exclude)]
    if not kept:
        raise ClusterError(f"Nothing is left: {' and '.join(selector.excluded() for selector in exclude)} exclude "
                           f"every one of the {len(chosen)} nodes selected.")
    return kept


def _listed(values: Iterable[str], limit: int = 10) -> str:
    distinct = sorted(set(values))
    more = f", and {len(distinct) - limit} more" if len(distinct) > limit else ""
    return ", ".join(shown(value, 60) for value in distinct[:limit]) + more


def _matches_none(selector: Selector, base: List[_Described], context: _Context, what: str, source: str) -> str:
    """Why a selector selects nothing, and what there is instead."""
    among = f"the {len(base)} {what} of the cluster at {source}"
    kind = selector.kind
    if kind is SelectorKind.ATTRIBUTE:
        values = [_attribute_text(node.attributes[selector.name]) for node in base
                  if selector.name in node.attributes]
        known = (f"; their {shown(selector.name, 60)} values: {_listed(values)}" if values else
                 f"; none has an attribute {shown(selector.name, 60)} (attributes they have: "
                 f"{_listed(name for node in base for name in node.attributes) or 'none'})")
        return f"{selector} matches none of {among}{known}. See them with `dcos node --field=attributes`."
    if kind in (SelectorKind.REGION, SelectorKind.ZONE):
        values = [node.region if kind is SelectorKind.REGION else node.zone for node in base]
        plural = "regions" if kind is SelectorKind.REGION else "zones"
        known = f"; their {plural}: {_listed(value for value in values if value)}" if any(values) else \
            "; none has a fault domain (Mesos' --domain)"
        return f"{selector} matches none of {among}{known}."
    if kind is SelectorKind.HOST:
        return f"{selector} matches no host name or address of {among}. See them with `dcos node`."
    if kind is SelectorKind.TASK:
        named = context.tasks(selector)
        if not named:
            ended = [task for task in context.answers.tasks if _glob(selector.value)(task.id)
                     or _glob(selector.value)(task.name)]
            said = (f"; {ended[-1].describe()} is {shown(ended[-1].state, 40)}" if ended else "")
            return (f"No running task matches {selector} (by ID or name, whole or as a glob) among the "
                    f"{len(context.running())} running tasks at {source}{said}. See them with `dcos task`.")
        return (f"The {len(named)} running task{'s' if len(named) != 1 else ''} that {selector} names run on none "
                f"of {among}.")
    frameworks = context.frameworks(selector)
    if not frameworks:
        names = _frameworks(context.answers.frameworks).values()
        return (f"No framework matches {selector} (by name, whole or as a glob, or by ID) at {source}; its "
                f"frameworks: {_listed(name for name in names if name) or 'none'}. See them with `dcos service`.")
    which = ", ".join(shown(name or framework_id, 60) for framework_id, name in sorted(frameworks.items()))
    if not context.agents(selector):
        return f"{selector} names the framework {which}, which has no running task."
    return f"The running tasks of {which} ({selector}) run on none of {among}."


def _attribute_text(value: Any) -> str:
    """An attribute's value as a message shows it (Mesos gives text or a number)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, (int, float)) else "(neither text nor a number)"


# -- --pick and one node --------------------------------------------------------------------

def pick_key(target: Target) -> bytes:
    """Where a node ranks for --pick: a digest of its agent ID (a master's address). The same
    nodes rank the same on every run, and a node joining or leaving moves no other node."""
    import hashlib

    # surrogatepass: an ID from JSON can hold a lone surrogate ("\ud800"), which UTF-8 cannot encode
    return hashlib.sha256((target.id or target.address).encode("utf-8", "surrogatepass")).digest()


def pick(targets: Sequence[Target], wanted: Count) -> List[Target]:
    """--pick: the first nodes by pick_key among those that can be connected to (a canary must
    run); `n%` of them rounded down, at least one."""
    usable = [target for target in targets if not target.problem]
    if not usable:
        raise ClusterError(f"--pick={wanted} chooses among the nodes that can be connected to, and none of the "
                           f"{len(targets)} selected can: {targets[0].problem}")
    return sorted(usable, key=lambda target: (pick_key(target), target.address))[:wanted.of(len(usable), 1)]


def describe_choice(choice: Choice) -> str:
    """The flags of a choice, as the user gave them (escaped)."""
    words = [choice.kind.value if choice.kind and choice.kind is not Selection.BY_ID else ""]
    words += [f"--mesos-id={shown(value, 80)}" for value in choice.mesos_ids]
    words += [str(selector) for selector in choice.include] + [selector.excluded() for selector in choice.exclude]
    words += [f"--pick={choice.pick}"] if choice.pick else []
    return " ".join(word for word in words if word)


def only_one(targets: Sequence[Target], choice: Choice, noun: str = "node") -> Target:
    """The one node `dcos node ssh` reaches: several that fit are listed (escaped) with the
    way to name one."""
    if len(targets) == 1:
        return targets[0]
    listed = "; ".join(target.describe() for target in targets[:10])
    more = f"; and {len(targets) - 10} more" if len(targets) > 10 else ""
    raise ClusterError(
        f"{describe_choice(choice)} selects {len(targets)} nodes: {listed}{more}. `dcos {noun} ssh` reaches one: "
        "name it with --mesos-id=<ID> (a master with --private-ip=<address>), or add --pick=1 to have one chosen, "
        "the same one each time."
    )
