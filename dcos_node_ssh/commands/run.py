"""`dcos node run`: one command on many nodes, through one shared connection to the proxy.

The flow is fleet.py's (the nodes, the shared connection, the window of children, --warm);
this module adds the command, the output modes (outputs; --output-dir's folder is checked
before anything connects) and the summary, whose formats are fanout's.
"""

from ..flags import RunFlags


def parse(opts) -> RunFlags:
    return RunFlags.of(opts)


def run(flags: RunFlags, environment) -> int:
    from .. import fanout, fleet, outputs
    from ..openssh.shared import forwarding_refused_message, node_argv
    from ..proc.signals import Signals

    nodes_of = fleet.prepare(flags.route, flags.selection, flags.mesos_ids, flags.parallel, environment, "run")
    show = outputs.for_mode(flags, environment, nodes_of.targets)
    fleet.announce(nodes_of, environment.stderr, "Running on")
    nodes_of = nodes_of._replace(plan=nodes_of.plan._replace(command=flags.command))
    stderr = environment.stderr
    with Signals() as signals:
        nodes = fleet.Nodes(show)
        fleet.execute(nodes_of, signals, nodes,
                      lambda plan, target, alias, control: node_argv(plan, target.address, alias, control),
                      flags.timeout, flags.warm, stderr)
        results = nodes.complete(nodes_of.targets)
        show.finish(results)
        environment.stdout.flush()
        if nodes.refused_forwarding and nodes_of.proxy is not None:
            stderr.write(forwarding_refused_message(nodes_of.proxy) + "\n")
        unrecorded = show.unrecorded()
        stderr.write(fanout.summary(results, flags.timeout, unrecorded))
    return fleet.exit_status(signals, results, unrecorded)
