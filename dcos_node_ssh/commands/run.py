"""`dcos node run`: one command on many nodes, through one shared connection to the proxy.

The flow is fleet.py's (the nodes, the shared connection, the batches, the window of
children, --warm); this module adds the command, the output modes (outputs; --output-dir's
folder is checked before anything connects), the failure budget and the summary, whose
formats are fanout's and rolling's. --list prints the selection and connects to nothing.
"""

from typing import List, Sequence

from ..flags import OutputMode, RunFlags
from . import configuration, lookups


def parse(opts) -> RunFlags:
    return RunFlags.of(opts)


def run(flags: RunFlags, environment) -> int:
    from .. import fanout, fleet, outputs, rolling, selecting
    from ..openssh.shared import forwarding_refused_message, node_argv
    from ..proc.signals import Signals

    if flags.list:
        settings, debug = configuration(environment)
        return selecting.print_list(lookups(environment, settings, debug), flags.nodes, environment,
                                    flags.output is OutputMode.JSON)
    nodes_of = fleet.prepare(flags.route, flags.nodes, flags.parallel, environment, "run", flags.batches)
    targets, reachable = nodes_of.targets, nodes_of.reachable
    allowed = rolling.allowance(flags.max_fail, len(targets))
    show = outputs.for_mode(flags, environment, targets)
    stderr = environment.stderr
    fleet.announce(nodes_of, stderr, "Running on",
                   rolling.plan(nodes_of.sizes, bool(flags.batches), allowed, flags.max_fail))
    nodes_of = nodes_of._replace(plan=nodes_of.plan._replace(command=flags.command))
    with Signals() as signals:
        nodes = fleet.Nodes(show, allowed, refused=len(targets) - len(reachable))
        fleet.execute(nodes_of, signals, nodes,
                      lambda plan, target, alias, control: node_argv(plan, target.address, alias, control),
                      flags.timeout, stderr, flags.warm, fleet.Rolling(bool(flags.batches), flags.pause))
        budget_stopped = nodes.budget_spent and len(nodes.done) < len(reachable)
        results = nodes.complete(targets)
        show.finish(results)
        environment.stdout.flush()
        if nodes.refused_forwarding and nodes_of.proxy is not None:
            stderr.write(forwarding_refused_message(nodes_of.proxy) + "\n")
        unrecorded = show.unrecorded()
        stderr.write(fanout.summary(results, flags.timeout, unrecorded))
        batches = [reachable[start:start + size] for start, size in zip(_starts(nodes_of.sizes), nodes_of.sizes)]
        stderr.write(rolling.summary(batches, results, bool(flags.batches), budget_stopped, allowed,
                                     flags.max_fail))
    return fleet.exit_status(signals, results, unrecorded)


def _starts(sizes: Sequence[int]) -> List[int]:
    """Where each batch starts among the nodes."""
    return [sum(sizes[:number]) for number in range(len(sizes))]
