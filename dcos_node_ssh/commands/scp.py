"""`dcos node scp`: files to and from a node, with OpenSSH's scp exec'd at the end, through
the proxy in jump mode (this machine connects to the node, through `ssh -W` on the proxy);
with its sftp, reading its commands from stdin, where scp has no SFTP mode (before 8.7)."""

import os
from typing import List, Tuple

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
    from ..openssh.copy import ScpPlan, node_names, parse_operands, scp_argv, scp_has_sftp_mode, sftp_argv
    from ..proc.handover import exec_program
    from ..proc.programs import find_scp
    from ..proc.spawn import run as run_probe
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
    program = find_scp(environment.env)
    plan = ScpPlan(operands, hop.target, route.user or DEFAULT_SSH_USER, hop.proxy, route.options,
                   route.proxy_options, flags.recursive, hop.host_key_alias, preserve=flags.preserve)
    stderr = environment.stderr
    batch = None
    if scp_has_sftp_mode(run_probe([program], environment.env, PROBE_SECONDS).errors) is False:
        program, batch = _sftp_instead(plan, program, environment.env.get("PATH", os.defpath), environment)
        argv = sftp_argv(plan)
    else:
        argv = scp_argv(plan)
    if hop.proxy is None:
        stderr.write(direct_notice(hop.target) + "\n")
    stderr.write(f"Running `{display(argv)}`\n")
    try:
        # sftp echoes each command it reads ("sftp> put ..."): on stderr, beside the Running line.
        return exec_program(argv, hop.env_changes or None, stdin=batch, stdout_to_stderr=batch is not None)
    except OSError as error:
        raise NodeSshError(f"Could not run {program}: {error.strerror}.") from None


PROBE_SECONDS = 5.0  # scp without operands prints its usage at once


def _sftp_instead(plan, scp_program: str, search: str, environment) -> Tuple[str, bytes]:
    """(sftp's path, its batch) for an scp without SFTP mode, said once on stderr; refused
    when there is no sftp or it cannot do this copy."""
    from ..openssh.copy import SFTP_MODE_SINCE, no_sftp_mode_notice, openssh_release, sftp_commands
    from ..proc.programs import which
    from ..proc.spawn import run as run_probe

    sftp = which("sftp", search)
    if sftp is None:
        raise SshSetupError(f"This scp ({scp_program}) has no SFTP mode (-s, OpenSSH {SFTP_MODE_SINCE} and later), "
                            "and no `sftp` was found on PATH to copy with instead. Install OpenSSH's sftp (it comes "
                            f"with scp in most packages), or OpenSSH {SFTP_MODE_SINCE} or later.")
    batch = sftp_commands(plan)
    # scp runs no `ssh -V` of its own; the ssh installed beside it is of its release.
    beside = os.path.join(os.path.dirname(scp_program), "ssh")
    release = None
    if which(beside) is not None:
        release = openssh_release(run_probe([beside, "-V"], environment.env, PROBE_SECONDS).errors)
    environment.stderr.write(no_sftp_mode_notice(scp_program, release, sftp) + "\n")
    return sftp, batch
