"""`dcos node` (`dcos node list`): the masters and every agent, as a table or JSON, in the
DC/OS CLI's own columns and keys (see listing.py), with this plugin's beside them.

Five requests at once: the leader (Mesos DNS), every master (Mesos DNS), the leader's
master_info (its ID, version and fault domain), the nodes' public addresses (the
networking API) and state-summary for the agents. Only the agents and the leader are
needed: the others fill in columns, and a cluster that cannot answer them lists without.
The agents are decoded one at a time and each is kept only as what the output needs:
its row, and its JSON text or its --field values.
"""

import json
import os
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

from ..errors import ClusterAuthError, ClusterError, ClusterUnreachable, shown
from ..flags import ListFlags
from . import configuration, lookups, say


def parse(opts) -> ListFlags:
    return ListFlags.of(opts)


def optional(lookup: Callable[[], Any], default: Any, complain: Optional[Callable[[str], None]] = None):
    """A lookup whose answer only adds to the listing: its failure (other than an unreachable
    cluster or a refused token, which stop everything) leaves `default`."""
    def call() -> Any:
        try:
            return lookup()
        except (ClusterUnreachable, ClusterAuthError):
            raise
        except ClusterError as error:
            if complain:
                complain(str(error))
            return default
    return call


def run(flags: ListFlags, environment) -> int:
    from ..cluster.queries import concurrently
    from ..listing import (agent_object, agent_row, field_value, master_object, master_row, public_ips_by_address,
                           table)
    from ..nodes import agent_node, listing_order, master_node

    settings, debug = configuration(environment)
    cluster = lookups(environment, settings, debug)
    stdout, stderr = environment.stdout, environment.stderr
    as_json, fields, wanted = flags.json, flags.fields, flags.mesos_id

    def no_leader(why: str) -> None:
        stderr.write(f"The leading master could not be found ({why}); listing the agents only.\n")

    top: dict = {"hostname": None}
    found_leader, masters, info, net, entries = concurrently(
        optional(cluster.leader_address, None, no_leader), optional(cluster.masters, []),
        optional(cluster.master_info, None), optional(cluster.public_ips, None),
        lambda: cluster.agent_entries(top))
    leader = found_leader.address if found_leader else None
    if found_leader:
        say(environment, found_leader.notices)
    public_ips = public_ips_by_address(net)

    rows: List[Tuple[Any, Any]] = []  # (Row, its JSON text or its field values)
    for entry in entries:
        node = agent_node(entry)
        if node is None:
            continue
        row = agent_row(node, entry, public_ips)
        listed = agent_object(row, entry)
        rows.append((row, json.dumps(listed, separators=(",", ":")) if as_json else
                     [field_value(listed, field) for field in fields]))
    rows.sort(key=lambda pair: listing_order(pair[0].node))
    info = info if isinstance(info, dict) else None
    master_rows = []
    others = [master.address for master in masters if master.address and master.address != leader]  # usable ones
    for address in ([leader] if leader else []) + others:
        is_leader = address == leader
        node = master_node(address, top["hostname"] if is_leader else None, is_leader,
                           info.get("id", "") if is_leader and info else "")
        row = master_row(node, info, public_ips)
        listed = master_object(row, info)
        master_rows.append((row, json.dumps(listed, separators=(",", ":")) if as_json else
                            [field_value(listed, field) for field in fields]))
    rows = master_rows + rows
    if wanted is not None:
        rows = [select(rows, wanted, cluster)]

    if as_json:
        # One object per line: scripts read it with jq as the DC/OS CLI's output; each line
        # is written as it is joined, so the whole listing is never one string.
        stdout.write("[\n")
        for index, (_, text) in enumerate(rows):
            stdout.write(("  " if index == 0 else ",\n  ") + text)
        stdout.write("\n]\n" if rows else "]\n")
        return 0
    tty = stdout.isatty()
    width = columns(environment.env, stdout if tty else None)
    stdout.write(table([row for row, _ in rows], width, colour=tty and not environment.env.get("NO_COLOR"), fit=tty,
                       fields=fields, values=[values for _, values in rows]))
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


def columns(env: Mapping[str, str], terminal: Optional[object]) -> int:
    """COLUMNS when set, else the terminal's width, else 80."""
    try:
        return max(40, int(env.get("COLUMNS", "")))
    except ValueError:
        pass
    if terminal is not None:
        try:
            return max(40, os.get_terminal_size(terminal.fileno()).columns)  # type: ignore[attr-defined]
        except (OSError, ValueError, AttributeError):
            pass
    return 80
