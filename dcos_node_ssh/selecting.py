"""The cluster asked for what a selection reads, and the selection made (selection.select),
for every command that takes one: `run`, the copies to and from many nodes, `ssh-config`
(which agents get entries) and `ssh` (its one node); and `--list`, which prints the
selection as `dcos node` lists it and connects to nothing.

Only the requests a choice needs are made (selection.needs: no task state unless a task or
a framework is named), all at once.
"""

from typing import TYPE_CHECKING, Any, Callable, Dict, List

from .flags import Choice

if TYPE_CHECKING:
    from .cluster.queries import Found
    from .selection import Answers, Target


def _source(cluster, agents: bool) -> str:
    """The cluster as messages name it: Mesos' URL when the agents are asked, else the cluster's."""
    from .cluster.queries import DCOS_URL

    return cluster.mesos()[0].base_url if agents else cluster.api(DCOS_URL).base_url


def answers(cluster, choice: Choice) -> "Answers":
    """What `select` reads of this choice, each request made only when needed, all at once."""
    from .cluster.queries import concurrently
    from .selection import Answers, needs

    need = needs(choice)
    top: Dict[str, Any] = {"frameworks": None}
    calls: Dict[str, Callable[[], Any]] = {}
    if need.masters:
        calls["masters"] = cluster.masters
    if need.agents:
        calls["agents"] = (lambda: cluster.agent_records(top)) if need.frameworks else cluster.agent_records
    if need.tasks:
        calls["tasks"] = cluster.tasks
    if need.master_info:
        calls["master_info"] = cluster.master_info
    found = dict(zip(calls, concurrently(*calls.values()))) if calls else {}
    return Answers(_source(cluster, need.agents), found.get("masters", ()), found.get("agents", ()),
                   found.get("tasks", ()), top["frameworks"], found.get("master_info"))


def targets(cluster, choice: Choice) -> List["Target"]:
    """The nodes the choice names (selection.select)."""
    from .selection import select

    return select(choice, answers(cluster, choice))


def one_found(cluster, choice: Choice, noun: str) -> "Found":
    """The one node a selection names, as `dcos node ssh` finds a target: several are listed
    (escaped) with the way to name one; one the cluster describes unusably is refused."""
    from .cluster.queries import Found
    from .errors import ClusterDataError
    from .selection import describe_choice, only_one

    target = only_one(targets(cluster, choice), choice, noun)
    if target.problem:
        raise ClusterDataError(target.problem)
    return Found(target.address, f"{target.describe()}, the one node {describe_choice(choice)} selects")


def print_list(cluster, choice: Choice, environment, as_json: bool) -> int:
    """--list: the nodes the choice names, as `dcos node` (or `dcos node --json`) lists them,
    with the listing's requests and the selection's made at once; nothing is connected to.
    A node the cluster describes unusably is said on stderr, as the commands refuse it."""
    from .errors import printable
    from .nodelist import gather, write
    from .nodes import NodeKind
    from .selection import Answers, needs, select

    need = needs(choice)
    extra: Dict[str, Callable[[], Any]] = {"tasks": cluster.tasks} if need.tasks else {}
    listing = gather(cluster, environment, as_json, (), top_keys=("frameworks",) if need.frameworks else (),
                     extra=extra, masters_needed=need.masters, info_needed=need.master_info,
                     keep_agents=need.agents)
    for notice in dict.fromkeys(listing.notices):
        environment.stderr.write(notice + "\n")
    chosen = select(choice, Answers(_source(cluster, need.agents), listing.masters if need.masters else (),
                                    listing.agents, listing.extra.get("tasks", ()), listing.top.get("frameworks"),
                                    listing.master_info))
    for target in chosen:
        if target.problem:
            environment.stderr.write(f"{printable(target.name)}: {target.problem}\n")
    agents = {target.id for target in chosen if target.kind is not NodeKind.MASTER}
    masters = {target.address for target in chosen if target.kind is NodeKind.MASTER}
    rows = [pair for pair in listing.rows if (pair[0].node.address in masters if pair[0].node.kind is NodeKind.MASTER
                                              else pair[0].node.id in agents)]
    write(rows, environment, as_json)
    return 0
