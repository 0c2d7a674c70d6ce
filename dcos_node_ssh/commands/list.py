"""`dcos node` (`dcos node list`): the leading master and every agent, as a table or JSON."""

import os
from typing import Mapping, Optional

from ..errors import ClusterAuthError, ClusterError, ClusterUnreachable
from . import configuration, lookups


def run(opts: dict, environment) -> int:
    from ..cluster.queries import concurrently
    from ..nodes import master_node, sort_nodes, table

    settings, debug = configuration(environment)
    cluster = lookups(environment, settings, debug)
    stdout, stderr = environment.stdout, environment.stderr

    def leader():
        try:
            return cluster.leader_address()
        except (ClusterUnreachable, ClusterAuthError):
            raise
        except ClusterError as error:
            stderr.write(f"The leading master could not be found ({error}); listing the agents only.\n")
            return None

    leader_address, (agents, master_hostname) = concurrently(leader, cluster.all_agents)
    nodes = sort_nodes(agents)
    if leader_address:
        nodes.insert(0, master_node(leader_address, master_hostname))
    if opts["--json"]:
        import json

        stdout.write(json.dumps([node.as_json() for node in nodes], indent=2) + "\n")
        return 0
    tty = stdout.isatty()
    width = columns(environment.env, stdout if tty else None)
    stdout.write(table(nodes, width, colour=tty and not environment.env.get("NO_COLOR")))
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
