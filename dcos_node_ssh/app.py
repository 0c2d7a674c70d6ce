"""The entry point the DC/OS CLI runs as `dcos-nodes nodes <args>` (or `dcos-node node
<args>`): an Environment in, an exit status out. It parses the command line, looks the
command up in the registry (a verb it does not have goes to the core plugin), and turns
every failure into one paragraph and an exit status; nothing else.
"""

import os
import sys
from typing import List, Optional

from . import usage
from .environment import Environment, OutputClosed
from .errors import ExitStatus, NodeSshError, UsageError, shown

# The nouns the plugin is reached as: `nodes` everywhere; `node` on the Go DC/OS CLI (and
# from pip as `dcos-node`), where core's other `node` verbs are handed on.
NOUNS = ("nodes", "node")


def main(argv: Optional[List[str]] = None, environment: Optional[Environment] = None) -> int:
    """Run with the given arguments (without the program name); return the exit status."""
    environment = environment or Environment.of_this_process()
    args = list(sys.argv[1:] if argv is None else argv)
    # The DC/OS CLI repeats the noun (`dcos-nodes nodes ssh ...`); run by hand it may be absent.
    noun = args.pop(0) if args and args[0] in NOUNS else "node"
    environment = environment._replace(noun=noun)
    args.insert(0, "node")  # the usage text's noun
    verb = args[1] if len(args) > 1 and not args[1].startswith("-") else None
    name = f"dcos {noun} {verb}" if verb else f"dcos {noun}"
    stderr = environment.stderr
    try:
        status = _dispatch(args, verb, environment)
        environment.stdout.flush()
        return status
    except UsageError as error:
        stderr.write(f"{name}: {error}\n\n{usage.usage_section(noun)}\n")
        return error.exit_code
    except NodeSshError as error:
        stderr.write(f"{name}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        stderr.write("\n")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()  # the reader is gone: nothing to say, and nothing left to flush
        return ExitStatus.BROKEN_PIPE
    except OutputClosed as error:
        stderr.write(f"{name}: cannot write to standard output ({error}).\n")
        return ExitStatus.PLUGIN_FAILED
    except Exception as error:  # a bug: still one paragraph, the traceback only on request
        if environment.debug_on():
            raise
        stderr.write(
            f"{name}: internal error ({type(error).__name__}: {shown(str(error), 300)}). Run again with "
            "DCOS_DEBUG=1 to see where, and report it.\n"
        )
        return ExitStatus.PLUGIN_FAILED
    finally:
        stderr.flush()


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):
        pass


def _dispatch(args: List[str], verb: Optional[str], environment: Environment) -> int:
    from docopt import DocoptExit

    from . import commands

    if verb is not None and verb not in commands.COMMANDS:
        return _hand_on(verb, args, environment)
    command = commands.load(verb or "list")
    args = usage.separate_remote_command(args)
    if usage.wants_help(args):
        environment.stdout.write(usage.help_text(environment.noun))
        return ExitStatus.OK
    problem: Optional[usage.Problem] = None
    try:
        opts = usage.options(args)
    except DocoptExit:
        problem = usage.diagnose(args)
    else:
        problem = usage.unchosen(args, opts)
    if problem is not None:
        hint = getattr(command, "usage_hint", None)
        raise UsageError(problem.text + (hint(problem, environment) if hint else "")) from None
    if verb is None:
        told = _plugin_protocol(opts, environment)
        if told is not None:
            return told
    return command.run(command.parse(opts), environment)


def _plugin_protocol(opts, environment: Environment) -> Optional[int]:
    """What every DC/OS CLI asks a subcommand: --info, --version, --config-schema."""
    stdout = environment.stdout
    if opts.get("--info"):
        stdout.write(usage.INFO + "\n")
    elif opts.get("--version"):
        from . import __version__

        stdout.write(f"dcos-node-ssh version {__version__}\n")
    elif opts.get("--config-schema"):
        import json

        from .settings import config_schema

        stdout.write(json.dumps(config_schema(), indent=2, sort_keys=True) + "\n")
    else:
        return None
    return ExitStatus.OK


def _hand_on(verb: str, args: List[str], environment: Environment) -> int:
    """A verb of core's `dcos node` (any unknown verb under `node`) goes to the core plugin."""
    from .core_plugin import CORE_VERBS, hand_on

    if environment.noun != "node" and verb not in CORE_VERBS:
        raise UsageError(f"Unknown command '{shown(verb)}'.")
    return hand_on(args, environment, f"dcos node {verb}")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
