"""`dcos node` (`dcos node list`): the masters and every agent, as a table or JSON, in the
DC/OS CLI's own columns and keys (see listing.py), with this plugin's beside them. The
requests and the output are nodelist's, which `--list` of the commands that take a
selection shares.
"""

from typing import Any, Sequence, Tuple

from ..errors import ClusterError, shown
from ..flags import ListFlags
from . import configuration, lookups, say


def parse(opts) -> ListFlags:
    return ListFlags.of(opts)


def run(flags: ListFlags, environment) -> int:
    from ..nodelist import gather, write

    settings, debug = configuration(environment)
    cluster = lookups(environment, settings, debug)
    listing = gather(cluster, environment, flags.json, flags.fields)
    say(environment, listing.notices)
    rows = listing.rows
    if flags.mesos_id is not None:
        rows = [select(rows, flags.mesos_id, cluster)]
    write(rows, environment, flags.json, flags.fields)
    return 0


def select(rows: Sequence[Tuple[Any, Any]], value: str, cluster) -> Tuple[Any, Any]:
    """The one row that --mesos-id names: a master by ID, address or host name, else an
    agent as `dcos node ssh --mesos-id` finds it."""
    from ..nodes import NodeKind, match_agent

    masters = [pair for pair in rows if pair[0].node.kind is NodeKind.MASTER]
    for pair in masters:
        node = pair[0].node
        if value and value in (node.id, node.address, node.hostname):
            return pair
    agents = [pair for pair in rows if pair[0].node.kind is not NodeKind.MASTER]
    if not agents and not masters:
        raise ClusterError(f"The cluster lists no node, so none matches '{shown(value)}'.")
    found = match_agent([pair[0].node for pair in agents], value, cluster.mesos()[0].base_url)
    return next(pair for pair in agents if pair[0].node == found)
