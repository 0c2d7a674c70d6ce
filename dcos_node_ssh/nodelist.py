"""The node listing's requests and output, shared by `dcos node list` and the `--list` of the
commands that take a selection (which print the nodes they would reach as `dcos node` lists
them, and connect to nothing).

Five requests at once: the leader (Mesos DNS), every master (Mesos DNS), the leader's
master_info (its ID, version and fault domain), the nodes' public addresses (the
networking API) and state-summary for the agents; and whatever else the caller needs, in
the same breath. Only the agents and the leader are needed for the listing: the others fill
in columns, and a cluster that cannot answer them lists without, unless the caller needs
them. The agents are decoded one at a time and each is kept only as what the output needs:
its row, and its JSON text or its --field values (and, for a selection, its essentials).
"""

import json
import os
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .errors import ClusterAuthError, ClusterError, ClusterUnreachable


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


class Listing(NamedTuple):
    """The listed nodes, and the answers a selection reads too."""

    rows: List[Tuple[Any, Any]]  # (listing.Row, its JSON text or its field values): masters, then agents
    masters: List[Any]  # cluster.answers.ListedMaster, as Mesos DNS lists them
    master_info: Optional[dict]
    agents: List[dict]  # each agent's essentials (cluster.queries), when asked for
    top: Dict[str, Any]  # state-summary's other members that were asked for ("hostname", ...)
    extra: Dict[str, Any]  # the answers of the caller's own lookups
    notices: Tuple[str, ...] = ()  # what the user should be told of how the leader was found


def gather(cluster, environment, as_json: bool, fields: Sequence[str], top_keys: Sequence[str] = (),
           extra: Optional[Mapping[str, Callable[[], Any]]] = None, masters_needed: bool = False,
           info_needed: bool = False, keep_agents: bool = False) -> Listing:
    """Every node's row, masters first (the leader, then the others Mesos DNS lists), then the
    agents in listing order; with the caller's `extra` lookups made at the same time. The
    masters (and master_info) may fail quietly unless the caller needs them."""
    from .cluster.queries import agent_essentials, concurrently
    from .listing import agent_object, agent_row, field_value, master_object, master_row, public_ips_by_address
    from .nodes import agent_node, listing_order, master_node

    stderr = environment.stderr

    def no_leader(why: str) -> None:
        stderr.write(f"The leading master could not be found ({why}); listing the agents only.\n")

    top: Dict[str, Any] = {"hostname": None, **{key: None for key in top_keys}}
    calls = dict(extra or {})
    found_leader, masters, info, net, entries, *answers = concurrently(
        optional(cluster.leader_address, None, no_leader),
        cluster.masters if masters_needed else optional(cluster.masters, []),
        cluster.master_info if info_needed else optional(cluster.master_info, None),
        optional(cluster.public_ips, None), lambda: cluster.agent_entries(top), *calls.values())
    leader = found_leader.address if found_leader else None
    public_ips = public_ips_by_address(net)

    rows: List[Tuple[Any, Any]] = []
    kept: List[dict] = []
    for entry in entries:
        node = agent_node(entry)
        if node is None:
            continue
        if keep_agents:
            kept.append(agent_essentials(entry) or {})
        row = agent_row(node, entry, public_ips)
        listed = agent_object(row, entry)
        rows.append((row, json.dumps(listed, separators=(",", ":")) if as_json else
                     [field_value(listed, field) for field in fields]))
    del entries
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
    return Listing(master_rows + rows, list(masters), info, kept, top, dict(zip(calls, answers)),
                   found_leader.notices if found_leader else ())


def write(rows: Sequence[Tuple[Any, Any]], environment, as_json: bool, fields: Sequence[str] = ()) -> None:
    """The rows as `dcos node` prints them: a JSON array of one object per line, or the table
    (fitted to a terminal, whole in a pipe)."""
    from .listing import table

    stdout = environment.stdout
    if as_json:
        # One object per line: scripts read it with jq as the DC/OS CLI's output; each line
        # is written as it is joined, so the whole listing is never one string.
        stdout.write("[\n")
        for index, (_, text) in enumerate(rows):
            stdout.write(("  " if index == 0 else ",\n  ") + text)
        stdout.write("\n]\n" if rows else "]\n")
        return
    tty = stdout.isatty()
    width = columns(environment.env, stdout if tty else None)
    stdout.write(table([row for row, _ in rows], width, colour=tty and not environment.env.get("NO_COLOR"), fit=tty,
                       fields=fields, values=[values for _, values in rows]))


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
