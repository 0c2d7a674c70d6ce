"""`dcos node copy` (local files and trees to every node selected) and `dcos node fetch`
(remote paths from every node selected, each node's into a folder of its own): OpenSSH's
scp in SFTP mode for each node, through the shared connection to the proxy (or each
node's warm connection) and in the window of children that `run` uses (fleet.py).

Nothing runs on the nodes but their sshd's SFTP server: no shell reads a path, and
no helper program needs to be there. What is wrong with the command line or the local
side (a source that is missing, a folder without -r, a destination folder that is not
empty) is said once, before any node is connected to, not once per node.
"""

import os
import stat
from typing import TYPE_CHECKING, Dict, Sequence

from ..errors import NodeSshError, shown
from ..flags import CopyFlags

if TYPE_CHECKING:
    from ..selection import Target


def parse(opts) -> CopyFlags:
    return CopyFlags.of(opts)


def run(flags: CopyFlags, environment) -> int:
    from .. import fanout, fleet, outputs
    from ..openssh.shared import Copy, forwarding_refused_message, scp_argv
    from ..proc.programs import find_scp
    from ..proc.signals import Signals

    verb = "fetch" if flags.fetch else "copy"
    if not flags.fetch:
        check_sources(flags.sources, flags.recursive)
    scp = find_scp(environment.env)
    nodes_of = fleet.prepare(flags.route, flags.nodes, flags.parallel, environment, verb)
    stderr = environment.stderr
    folders: Dict["Target", str] = {}
    if flags.fetch:
        folders = _node_folders(flags.destination, nodes_of.reachable, stderr)
    show = (outputs.JsonLines(environment, {target: {"folder": path} for target, path in folders.items()})
            if flags.json else outputs.PrefixedLines(environment))
    fleet.announce(nodes_of, stderr, "Fetching from" if flags.fetch else "Copying to")
    copy = Copy(flags.sources, "" if flags.fetch else flags.destination, flags.fetch, flags.recursive,
                flags.preserve)

    def argv_of(plan, target, alias, control):
        return scp_argv(plan, copy, target.address, alias, control, folders.get(target, ""), scp)

    with Signals() as signals:
        nodes = fleet.Nodes(show)
        fleet.execute(nodes_of, signals, nodes, argv_of, flags.timeout, stderr, flags.warm)
        results = nodes.complete(nodes_of.targets)
        show.finish(results)
        environment.stdout.flush()
        if nodes.refused_forwarding and nodes_of.proxy is not None:
            stderr.write(forwarding_refused_message(nodes_of.proxy, verb) + "\n")
        done = (f"Fetched from {{done}} of {{nodes}} into {shown(flags.destination)}." if flags.fetch
                else "Copied to {done} of {nodes}.")
        stderr.write(fanout.summary(results, flags.timeout, copied=done))
    return fleet.exit_status(signals, results, ())


def check_sources(paths: Sequence[str], recursive: bool) -> None:
    """Every local source can be copied: it exists, it can be read, and a folder comes with
    -r (scp would refuse it on every node, one by one)."""
    for path in paths:
        try:
            is_folder = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError as error:
            raise NodeSshError(f"Cannot copy {shown(path)}: {error.strerror or error}.") from None
        if is_folder and not recursive:
            raise NodeSshError(f"{shown(path)} is a folder: add -r to copy it and what it holds.")
        if not os.access(path, os.R_OK | (os.X_OK if is_folder else 0)):
            raise NodeSshError(f"Cannot copy {shown(path)}: you may not read it.")


def _node_folders(destination: str, targets: Sequence["Target"], stderr) -> Dict["Target", str]:
    """A new folder for each node in the destination, which must be new or empty, checked
    and made before any node is connected to; the folders' paths."""
    from ..outputs import empty_folder, folder_names

    folder = empty_folder(destination, "The destination", "files of an earlier fetch beside this one's would be "
                                                           "taken for this one's")
    try:
        names = folder_names(stderr, destination, targets, "files")
        for name in names.values():
            try:
                folder.make(name)
            except OSError as error:
                raise NodeSshError(f"Cannot make {shown(os.path.join(destination, name))}: "
                                   f"{error.strerror or error}.") from None
    finally:
        folder.close()
    return {target: os.path.join(destination, name) for target, name in names.items()}
