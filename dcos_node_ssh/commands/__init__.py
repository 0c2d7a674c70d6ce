"""One module per command, registered here by its verb; each reads its own typed flags
(flags.py), takes its route from route.py, asks the cluster, calls the pure builders and
prints. Commands never import each other: what they share lives below them.

A command module has `parse(opts) -> flags` and `run(flags, environment) -> exit status`,
and may have `usage_hint(problem, environment) -> str`, more to say after a refused
command line. Adding a command is one module and one entry in COMMANDS.
"""

import importlib
from typing import TYPE_CHECKING, Dict, Iterable, Optional, TextIO, Tuple

if TYPE_CHECKING:
    from ..settings import Settings

# verb -> module; "list" also answers the bare noun (`dcos node`).
COMMANDS: Dict[str, str] = {
    "list": "list",
    "ssh": "ssh",
    "run": "run",
    "copy": "copy",
    "fetch": "copy",
    "disconnect": "disconnect",
    "scp": "scp",
    "ssh-config": "ssh_config",
    "tunnel": "tunnel",
}


def load(verb: str):
    """The module of a registered verb (imported only when it runs)."""
    return importlib.import_module(f"{__name__}.{COMMANDS[verb]}")


def configuration(environment) -> Tuple["Settings", Optional[TextIO]]:
    """The configuration, its warning shown; and where debug lines go (DCOS_DEBUG), or None."""
    from ..settings import load_settings

    settings, warning = load_settings(environment.env, environment.home)
    if warning:
        environment.stderr.write(warning + "\n")
    debug = environment.stderr if environment.debug_on() else None
    if debug:
        debug.write(f"debug: configuration from {settings.config_path or 'the environment only'}\n")
    return settings, debug


def lookups(environment, settings, debug):
    from ..cluster.queries import Lookups

    return Lookups(settings, environment.env, debug)


def say(environment, notices: Iterable[str]) -> None:
    """Write the cluster's notices (a fallback it took) on stderr, one line each, once each."""
    for notice in dict.fromkeys(notices):
        environment.stderr.write(notice + "\n")
