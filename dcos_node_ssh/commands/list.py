"""`dcos node` (`dcos node list`): the leading master and every agent, as a table or JSON.

--json prints each agent as the cluster sent it, with the keys this plugin adds
(address, type, state). The agents are decoded one at a time and each is kept only
as what the output needs: its row, and its JSON text or its --field values.
"""

import json
import os
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from ..errors import ClusterAuthError, ClusterError, ClusterUnreachable
from . import configuration, lookups


def agent_rows(agents, as_json: bool, fields: Sequence[str]) -> List[Tuple[Any, Any]]:
    """(Node, what the output keeps of the agent) for each agent with an ID."""
    from ..nodes import agent_node, field_value

    rows: List[Tuple[Any, Any]] = []
    for agent in agents:
        node = agent_node(agent)
        if node is None:
            continue
        if as_json:
            # The cluster's own keys first, as sent; ours last, and ours win.
            agent.update({"address": node.address, "type": node.kind.value, "state": node.state.value})
            rows.append((node, json.dumps(agent, separators=(",", ":"))))
        else:
            rows.append((node, [field_value(agent, field) for field in fields]))
    return rows


def run(opts: dict, environment) -> int:
    from ..cluster.queries import concurrently
    from ..nodes import listing_order, master_node, table

    settings, debug = configuration(environment)
    cluster = lookups(environment, settings, debug)
    stdout, stderr = environment.stdout, environment.stderr
    as_json, fields = opts["--json"], opts["--field"]

    def leader():
        try:
            return cluster.leader_address()
        except (ClusterUnreachable, ClusterAuthError):
            raise
        except ClusterError as error:
            stderr.write(f"The leading master could not be found ({error}); listing the agents only.\n")
            return None

    def agents():
        top: dict = {"hostname": None}
        rows = agent_rows(cluster.agent_entries(top), as_json, fields)
        return rows, top["hostname"]

    leader_address, (rows, master_hostname) = concurrently(leader, agents)
    rows.sort(key=lambda row: listing_order(row[0]))
    nodes = [node for node, _ in rows]
    extras = [extra for _, extra in rows]
    if leader_address:
        master = master_node(leader_address, master_hostname)
        nodes.insert(0, master)
        extras.insert(0, json.dumps(master.as_json()) if as_json else [""] * len(fields))
    if as_json:
        # One object per line: scripts read it with jq as the DC/OS CLI's output; each line
        # is written as it is joined, so the whole listing is never one string.
        stdout.write("[\n")
        for index, text in enumerate(extras):
            stdout.write(("  " if index == 0 else ",\n  ") + text)
        stdout.write("\n]\n" if extras else "]\n")
        return 0
    tty = stdout.isatty()
    width = columns(environment.env, stdout if tty else None)
    stdout.write(table(nodes, width, colour=tty and not environment.env.get("NO_COLOR"), fit=tty, fields=fields,
                       values=extras))
    return 0


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
