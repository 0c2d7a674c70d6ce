"""`dcos node <verb>` for the verbs this plugin does not implement: handed on to the DC/OS
CLI's core plugin, whose own `node` command answers them.

On the Go DC/OS CLI this plugin answers `dcos node` (its folder sorts before the core
plugin's), so core's other verbs (`log`, `metrics`, `drain`, …) come here first. They are
run by the core plugin's `node` command as plugin.toml names it, with the same arguments,
environment and standard streams; never through $DCOS_CLI_EXECUTABLE_PATH, which would
come back here.
"""

import os
import sys
from typing import Any, Optional, Sequence

from .errors import ConfigError, NodeSshError, printable, shown

CORE_PLUGIN = "dcos-core-cli"
# core's `dcos node` verbs (dcos-core-cli pkg/cmd/node) other than the two this plugin has
# (list, ssh); handed on under both nouns. Under `dcos node`, any verb unknown here is too.
CORE_VERBS = ("deactivate", "decommission", "diagnostics", "dns", "drain", "list-components", "log", "metrics",
              "reactivate")
# Set for the core plugin's process: a core plugin whose `node` is this plugin again would
# otherwise hand the verb on for ever.
HANDED_ON = "DCOS_NODE_SSH_HANDED_ON"


def node_command(plugin_toml: Any, env_dir: str) -> Optional[str]:
    """The path of the `node` command that a parsed plugin.toml declares: absolute as written,
    or relative to the plugin's env/ folder; None when it declares none."""
    commands = plugin_toml.get("commands") if isinstance(plugin_toml, dict) else None
    for command in commands if isinstance(commands, list) else ():
        if isinstance(command, dict) and command.get("name") == "node":
            path = command.get("path")
            if isinstance(path, str) and path.strip():
                return path if os.path.isabs(path) else os.path.join(env_dir, path)
    return None


def plugin_toml_path(config_path: Optional[str]) -> Optional[str]:
    """Where the core plugin of the cluster whose config file this is keeps its plugin.toml:
    `<cluster folder>/subcommands/dcos-core-cli/env/plugin.toml`."""
    if not config_path:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(config_path)), "subcommands", CORE_PLUGIN, "env",
                        "plugin.toml")


def _not_here(command: str, where: Optional[str], why: str) -> ConfigError:
    looked = f"{why}: {printable(where)}" if where else why
    verb = command.split()[-1]
    if verb in CORE_VERBS:
        what = (f"`{command}` is a command of the DC/OS CLI's core plugin ({CORE_PLUGIN}), to which this plugin "
                f"hands it on, and the core plugin cannot be found ({looked}).")
    else:
        from .commands import COMMANDS

        what = (f"'{shown(verb)}' is not a command of this plugin ({', '.join(COMMANDS)}); it would be handed on to "
                f"the DC/OS CLI's core plugin ({CORE_PLUGIN}), which cannot be found ({looked}).")
    return ConfigError(
        f"{what} With the DC/OS CLI 1.x, `dcos plugin list` shows the installed plugins and `dcos package "
        f"install {CORE_PLUGIN} --cli` installs the core plugin; with the CLI 0.x, `dcos node {shown(verb)} …` is "
        "the CLI's own command."
    )


def find_node_command(env, home: str, command: str) -> str:  # pragma: no mutate block, I/O
    """The core plugin's `node` program for the attached cluster, or a ConfigError saying
    what is missing."""
    from .settings import find_config_file

    config_path = find_config_file(env, home)
    toml_path = plugin_toml_path(config_path)
    if toml_path is None:
        raise _not_here(command, None, "no DC/OS cluster is attached")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with open(toml_path, "rb") as stream:
            parsed = tomllib.loads(stream.read().decode("utf-8"))
    except FileNotFoundError:
        raise _not_here(command, toml_path, "no such file") from None
    except OSError as error:
        raise _not_here(command, toml_path, error.strerror or "unreadable") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        raise _not_here(command, toml_path, "not a valid plugin.toml") from None
    path = node_command(parsed, os.path.dirname(toml_path))
    if path is None:
        raise _not_here(command, toml_path, "it declares no `node` command")
    return path


def hand_on(args: Sequence[str], environment, command: str) -> int:  # pragma: no mutate block, I/O
    """Run the core plugin's `node` with `args` (`node <verb> …`): exec'd on POSIX, so its
    exit status and signals are its own; a child whose status is returned on Windows."""
    from .proc.handover import exec_program

    if environment.env.get(HANDED_ON):
        raise NodeSshError(
            f"`{command}` was handed on to the core plugin's `node` command, which handed it back: the "
            f"{CORE_PLUGIN} plugin's plugin.toml names this plugin as its `node`. Reinstall {CORE_PLUGIN}."
        )
    path = find_node_command(environment.env, environment.home, command)
    if not os.path.isfile(path):
        raise _not_here(command, path, "its `node` program is missing")
    try:
        return exec_program([path] + list(args), {HANDED_ON: "1"})
    except OSError as error:
        raise NodeSshError(f"Could not run the core plugin's `node` ({shown(path)}): {error.strerror}.") from None
