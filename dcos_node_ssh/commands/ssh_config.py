"""`dcos node ssh-config`: an OpenSSH config for every node, printed, or with --write kept
under ~/.ssh and included from ~/.ssh/config.

The only command that writes the user's files, and only with --write: two files, each
replaced whole (dotssh), each only when its content changes, and only once OpenSSH itself
reads it without complaint; a file that cannot be replaced without a surprise (read-only,
hard-linked) is left alone, with the lines to add by hand.
"""

from typing import Callable, Optional

from ..errors import NodeSshError, SshSetupError, UsageError, shown
from ..flags import SshConfigFlags
from ..route import resolve, route_of
from . import configuration, lookups, say


def parse(opts) -> SshConfigFlags:
    return SshConfigFlags.of(opts)


def run(flags: SshConfigFlags, environment) -> int:
    from ..cluster.queries import concurrently
    from ..hosts import host_of_url
    from ..openssh.config import ConfigPlan, check_prefix, config_text, default_prefix, node_entries
    from ..settings import DEFAULT_SSH_USER

    settings, debug = configuration(environment)
    route = route_of(flags.route, settings, jump=True)
    stderr = environment.stderr
    if flags.prefix is not None:
        prefix = check_prefix(flags.prefix, "--prefix")
        if not prefix and flags.write:
            raise UsageError(
                "An empty --prefix makes the agents' own IDs, host names and addresses the aliases, and "
                "~/.ssh/config reads the Include before your own Host entries: an agent that calls itself "
                "github.com would take that name over. Keep a prefix with --write (print the config without "
                "--write to use it with `ssh -F <file>`)."
            )
    else:
        prefix, note = default_prefix(settings.cluster_name)
        if note:
            stderr.write(note + "\n")
    cluster = lookups(environment, settings, debug)
    hop, (leader, agents) = resolve(route, settings, cluster, None,
                                    then=lambda: concurrently(cluster.leader_address, lambda: cluster.all_agents()[0]))
    say(environment, hop.notices + leader.notices)
    entries, notes = node_entries(prefix, leader.address, agents)
    for note in notes:
        stderr.write(note + "\n")
    if hop.proxy is None:
        stderr.write("The entries connect directly to the nodes; for entries that hop through the master, add "
                     "--master-proxy (or --proxy-ip=<bastion>).\n")
    url_host = host_of_url(settings.dcos_url or "")
    title = f"the DC/OS cluster at {url_host}" if url_host else "a DC/OS cluster"
    text = config_text(ConfigPlan(prefix, route.user or DEFAULT_SSH_USER, tuple(entries), hop.proxy, route.options,
                                  hop.cluster, title))
    # An option's bytes that are not UTF-8 (a path in the user's own locale) reach argv, and so
    # the config, as lone surrogates: surrogateescape gives back the bytes the user gave.
    data = text.encode("utf-8", "surrogateescape")
    if not flags.write:
        environment.stdout.write_bytes(data)
        return 0
    return write(data, prefix, leader.address, environment)


def write(data: bytes, prefix: str, leader: str, environment) -> int:
    """The config kept as ~/.ssh/dcos-node-ssh.<prefix>.conf and Included from ~/.ssh/config,
    each file checked by OpenSSH (`ssh -G` must take <prefix>leader to `leader`) before it is
    final: a file OpenSSH refuses would break every ssh command on this machine."""
    import os

    from .. import dotssh
    from ..openssh.config import INCLUDE_NOTE, LEADER, file_name, include_line, with_include

    home = dotssh.ssh_home(environment)
    folder = os.path.join(home, ".ssh")
    path = os.path.join(folder, file_name(prefix))
    config = os.path.join(folder, "config")
    alias = prefix + LEADER
    check = _checker(environment.env, alias, leader)
    include = include_line(path)
    stderr = environment.stderr
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        generated = dotssh.examine(path, follow_link=False)
        if generated.data != data and generated.obstacle:
            raise NodeSshError(f"{path} {generated.obstacle}, so nothing was written. Make it a writable file of "
                               "its own (or delete it) and run again.")
        generated = generated._replace(mode=0o600)  # ours: private, whatever mode it was left with
        current = dotssh.examine(config, follow_link=True)
        changed = with_include(current.data or b"", path, folder, home)
        with dotssh.Staging() as staging:
            new_file = _staged_and_checked(staging, generated, data, check) if generated.data != data else None
            if changed is not None and current.obstacle:
                if new_file:
                    staging.commit(new_file, generated)
                    stderr.write(f"Wrote {path} (checked with `ssh -G`).\n")
                raise NodeSshError(f"{config} {current.obstacle}, so it was left alone. For plain ssh to find the "
                                   "nodes, add these two lines at its top, before any Host or Match line:\n"
                                   f"    {INCLUDE_NOTE}\n    {include}")
            if new_file or changed is not None:
                _commit_checked(staging, generated, new_file, current, changed, check)
    except OSError as error:
        where = error.filename if isinstance(error.filename, str) else folder
        raise NodeSshError(f"Cannot write {where}: {error.strerror or error}.") from None
    stderr.write(f"Wrote {path} (checked with `ssh -G`).\n" if new_file else f"{path} is up to date.\n")
    if changed is not None:
        stderr.write(f"Added `{include}` to {config}, before any Host or Match line.\n")
    else:
        stderr.write(f"{config} includes it already.\n")
    if os.path.abspath(environment.home) != os.path.abspath(home):
        stderr.write(f"(OpenSSH reads ~/.ssh from {home}, your home in the password database, not $HOME.)\n")
    stderr.write(f"Try `ssh {alias}`. To undo: delete {path} and the two lines about it at the top of {config}.\n")
    return 0


# OpenSSH's verdict on a config file; with True, it must also take <prefix>leader to the leader.
Check = Callable[[str, bool], Optional[str]]


def _checker(env, alias: str, leader: str) -> Check:
    """OpenSSH's verdict on a config file (dotssh.openssh_verdict), found on PATH."""
    import os

    from .. import dotssh
    from ..proc.programs import which

    program = which("ssh", env.get("PATH", os.defpath))
    if program is None:
        raise SshSetupError(
            "--write has OpenSSH check the config (`ssh -G`) before ~/.ssh changes, and no `ssh` program was "
            "found on PATH. Install an OpenSSH client, or leave out --write and keep the printed config yourself."
        )

    def check(file: str, to_leader: bool) -> Optional[str]:
        return dotssh.openssh_verdict(program, file, alias, env, leader if to_leader else None)
    return check


def _staged_and_checked(staging, generated, data: bytes, check: Check) -> str:
    """The new generated file, staged beside the old one, once OpenSSH reads it alone."""
    staged = staging.stage(generated, data)
    said = check(staged, True)
    if said:
        raise NodeSshError(
            f"OpenSSH does not accept the config this would write: `ssh -G` {_named(said, staged, generated.path)}. "
            "Nothing was written. Check the --option values (and ssh_options in the configuration): each must be "
            "an option OpenSSH knows, with a value it takes (`man ssh_config`)."
        )
    return staged


def _commit_checked(staging, generated, new_file: Optional[str], current, changed: Optional[bytes],
                    check: Check) -> None:
    """The new generated file in place, then ~/.ssh/config as ssh will read it (with the Include
    added, or as it is) checked: the config replaced when it passes; else both as they were."""
    candidate = staging.stage(current, changed) if changed is not None else current.real
    if new_file:
        staging.commit(new_file, generated)
    said = check(candidate, True)
    if not said:
        if changed is not None:
            staging.commit(candidate, current)
        return
    if new_file:
        staging.put_back(generated)
    config = current.path
    before = check(current.real, False) if current.data is not None else None
    if before:
        raise NodeSshError(f"OpenSSH does not accept {config} as it is, before any change: `ssh -G` "
                           f"{_named(before, current.real, config)}. Nothing was written; fix it first, since every "
                           "ssh command on this machine reads it.")
    what = "with the Include added" if changed is not None else f"with the new {generated.path}, which it includes"
    raise NodeSshError(f"OpenSSH does not accept {config} {what}: `ssh -G` {_named(said, candidate, config)}. "
                       "Nothing was written.")


def _named(said: str, temporary: str, path: str) -> str:
    """What OpenSSH said, naming the file by the name it will have, not the temporary one's."""
    return shown(said.replace(temporary, path), 600)
