"""`dcos node ssh`: one node, reached directly or through a proxy, with ssh exec'd at the
end; with --check, every prerequisite of that connection checked instead (check.py)."""

import os

from ..errors import NodeSshError, shown
from ..flags import SshFlags
from ..route import Route, direct_notice, named_address, resolve, route_of, settle_user, target_lookup
from . import configuration, lookups, say


def parse(opts) -> SshFlags:
    return SshFlags.of(opts)


def run(flags: SshFlags, environment) -> int:
    from ..proc.handover import exec_program
    from ..proc.programs import find_client
    from ..openssh.hops import build_argv, display
    from ..sshagent import check_agent

    settings, debug = configuration(environment)
    route = route_of(flags.route, settings)
    address = named_address(flags.target)
    cluster = lookups(environment, settings, debug)
    if flags.check:
        from ..checklist import run_checks

        return run_checks(flags, route, settings, cluster, environment)
    hop, _ = resolve(route, settings, cluster, target_lookup(flags.target, cluster), address)
    hop = hop._replace(route=settle_user(hop.route, hop.proxy or hop.target, environment.env))
    say(environment, hop.notices)
    stderr = environment.stderr
    if hop.route.plink:
        _plink_notices(hop.route, hop.proxy is not None, stderr)
    # A pty would turn \n into \r\n in piped output; plain ssh decides the same way.
    tty = not flags.command or (environment.stdin_is_terminal() and environment.stdout.isatty())
    argv = build_argv(hop.plan(tty, flags.command))
    if not flags.dry_run:
        # Everything that can refuse is asked before the Running line: it means ssh runs.
        client_path = find_client(route.client, route.plink, search=environment.env.get("PATH", os.defpath))
        if route.forwarding:
            check_agent(environment.env, client_path, route.plink)
    if hop.proxy is None:
        stderr.write(direct_notice(hop.target) + "\n")
    if flags.dry_run:
        environment.stdout.write(display(argv) + "\n")
        return 0
    stderr.write(f"Running `{display(argv)}`\n")
    try:
        return exec_program(argv, hop.env_changes or None)
    except OSError as error:
        raise NodeSshError(f"Could not run {client_path}: {error.strerror}.") from None


def _plink_notices(route: Route, proxied: bool, stderr) -> None:
    """Say what plink, the first hop, cannot do of what was asked."""
    from ..openssh.hops import plink_translation

    _, unexpressed = plink_translation(route.proxy_options + route.options)
    if unexpressed:
        where = "they apply to the second hop only" if proxied else "they are left out"
        stderr.write(f"plink cannot express these ssh options, so {where}: {', '.join(unexpressed)}.\n")
    if route.config_file:
        stderr.write(f"plink reads no OpenSSH config file: --config-file={route.config_file} is left out.\n")


EXAMPLES_SECONDS = 1.0  # a usage error must come at once: examples only if the cluster is quick


def usage_hint(problem, environment) -> str:
    """After "Say which node to reach": a few agents to choose from, when the cluster can say
    within a second; else nothing."""
    from ..environment import Output
    from ..nodes import sort_nodes, unique_suffixes
    from ..usage import ProblemKind

    if problem.kind is not ProblemKind.NO_TARGET:
        return ""
    quiet = environment._replace(stderr=Output(None, required=False))  # drops what is written
    try:
        settings, _ = configuration(quiet)
        cluster = lookups(quiet, settings, None)
        agents = sort_nodes(node for node in cluster.all_agents(timeout=min(EXAMPLES_SECONDS, settings.timeout))[0]
                            if node.problem is None)  # never an example that would be refused
    except NodeSshError:
        return ""
    if not agents:
        return ""
    noun = environment.noun
    short = unique_suffixes([agent.id for agent in agents])
    lines = [f"  dcos {noun} ssh --master-proxy --mesos-id={shown(short[agent.id], 40):<10}  # "
             f"{shown(agent.hostname, 40)} {agent.address or '-'} ({agent.kind.value}, {agent.state.value})"
             for agent in agents[:5]]
    more = f"\n  ... and {len(agents) - 5} more: see `dcos {noun}`." if len(agents) > 5 else ""
    return f" For example:\n  dcos {noun} ssh --master-proxy --leader\n" + "\n".join(lines) + more
