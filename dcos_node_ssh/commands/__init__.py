"""One module per command (ssh, list, check); each reads its flags, asks the core, prints.

What every command needs first lives here: the configuration and the cluster lookups.
"""

from typing import TYPE_CHECKING, Optional, TextIO, Tuple

if TYPE_CHECKING:
    from ..settings import Settings


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

    return Lookups(settings, environment.env, environment.stderr, debug)
