"""`dcos node scp`: files to and from a node, with OpenSSH's scp exec'd at the end, through
the proxy in jump mode (this machine connects to the node, through `ssh -W` on the proxy)."""

from typing import List

from ..errors import NodeSshError, SshSetupError, shown
from ..flags import ScpFlags
from ..route import direct_notice, resolve, route_of
from . import configuration, lookups, say


def parse(opts) -> ScpFlags:
    return ScpFlags.of(opts)


def node_address(cluster, name: str):
    """The node a path names, as a cluster.queries.Found."""
    from ..openssh.copy import LEADER_NAMES

    return cluster.leader_address() if name in LEADER_NAMES else cluster.agent_address(name)


def run(flags: ScpFlags, environment) -> int:
    from ..proc.handover import exec_program
    from ..proc.programs import which
    from ..openssh.copy import ScpPlan, node_names, parse_operands, scp_argv
    from ..openssh.hops import display
    from ..settings import DEFAULT_SSH_USER

    settings, debug = configuration(environment)
    route = route_of(flags.route, settings, jump=True)
    operands = parse_operands(flags.paths)
    names = node_names(operands)
    cluster = lookups(environment, settings, debug)

    found: List = []  # a Found for each name

    def target():
        found.extend(node_address(cluster, name) for name in names)
        return found[0]

    hop, _ = resolve(route, settings, cluster, target)
    say(environment, hop.notices + tuple(notice for each in found for notice in each.notices))
    if len({each.address for each in found}) > 1:
        raise NodeSshError(
            "The paths name different nodes (" + ", ".join(f"{shown(name)} at {each.address}" for name, each
                                                           in zip(names, found))
            + "); one copy reaches one node. Copy through this machine in two steps."
        )
    program = which("scp")
    if program is None:
        raise SshSetupError("No `scp` program was found on PATH. Install an OpenSSH client (Debian and Ubuntu: "
                            "`apt install openssh-client`; RHEL: `yum install openssh-clients`).")
    plan = ScpPlan(operands, hop.target, route.user or DEFAULT_SSH_USER, hop.proxy, route.options,
                   route.proxy_options, flags.recursive, hop.host_key_alias)
    argv = scp_argv(plan)
    stderr = environment.stderr
    if hop.proxy is None:
        stderr.write(direct_notice(hop.target) + "\n")
    stderr.write(f"Running `{display(argv)}`\n")
    try:
        return exec_program(argv, hop.env_changes or None)
    except OSError as error:
        raise NodeSshError(f"Could not run {program}: {error.strerror}.") from None
