"""`dcos node ssh-config`: an OpenSSH config for every node, printed, or with --write kept
under ~/.ssh and included from ~/.ssh/config.

The only command that writes the user's files, and only with --write: two files, each
replaced atomically, and each only when its content changes.
"""

import os
from typing import Optional

from ..errors import NodeSshError
from ..flags import SshConfigFlags
from ..route import resolve, route_of
from . import configuration, lookups, say


def parse(opts) -> SshConfigFlags:
    return SshConfigFlags.of(opts)


def ssh_home(environment) -> str:
    """The home OpenSSH reads ~/.ssh from: the password database's, not $HOME (which the
    rest of the plugin uses, as the DC/OS CLI does, for ~/.dcos)."""
    if os.name == "posix":
        import pwd

        try:
            return pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            pass
    return environment.home


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
    if not flags.write:
        environment.stdout.write(text)
        return 0
    return write(text, prefix, environment)


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise NodeSshError(f"Cannot read {path}: {error.strerror}.") from None


def write(text: str, prefix: str, environment) -> int:
    from .. import local
    from ..openssh.config import file_name, include_line, with_include

    home = ssh_home(environment)
    folder = os.path.join(home, ".ssh")
    path = os.path.join(folder, file_name(prefix))
    config = os.path.join(folder, "config")
    real_config = os.path.realpath(config)  # a link (dotfiles) stays a link; its target changes
    stderr = environment.stderr
    data = text.encode("utf-8")
    try:
        if _read(path) != data:
            local.write_private_file(path, data)
            stderr.write(f"Wrote {path}.\n")
        else:
            stderr.write(f"{path} is up to date.\n")
        changed = with_include(_read(real_config) or b"", path, folder, home)
        if changed is not None:
            local.write_private_file(real_config, changed)
            stderr.write(f"Added `{include_line(path)}` to {config}, before any Host or Match line.\n")
        else:
            stderr.write(f"{config} includes it already.\n")
    except OSError as error:
        raise NodeSshError(f"Cannot write under {folder}: {error.strerror or error}.") from None
    if os.path.abspath(environment.home) != os.path.abspath(home):
        stderr.write(f"(OpenSSH reads ~/.ssh from {home}, your home in the password database, not $HOME.)\n")
    stderr.write(f"Try `ssh {prefix}leader`. To undo: delete {path} and the two lines about it at the top of "
                 f"{config}.\n")
    return 0
