"""`dcos node disconnect`: close every connection that --warm left open, to the nodes and
to the proxies, wherever it was opened from (warm.py)."""

from typing import Any


def parse(opts) -> Any:
    return None


def run(_flags, environment) -> int:
    from ..errors import ExitStatus, NodeSshError, shown
    from ..proc import POSIX
    from ..warm import close_all

    if not POSIX:
        raise NodeSshError("There are no warm connections on Windows: `--warm` needs OpenSSH's ControlMaster.")
    closed = close_all(environment.env)
    nodes = f"{closed.nodes} node{'' if closed.nodes == 1 else 's'}"
    proxies = f"{closed.proxies} prox{'y' if closed.proxies == 1 else 'ies'}"
    if closed.nodes or closed.proxies:
        environment.stderr.write(f"Closed the warm connections to {nodes} and {proxies}.\n")
    elif not closed.failed:
        environment.stderr.write("No warm connection was open.\n")
    for path in closed.failed:
        environment.stderr.write(f"The warm connection of {shown(path)} did not close; its ssh may be stuck: "
                                 "end it with `kill`.\n")
    return ExitStatus.FAILED if closed.failed else ExitStatus.OK
