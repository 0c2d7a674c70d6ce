"""The entry point the DC/OS CLI runs as `dcos-node node <args>`: an Environment in, an
exit status out. It parses the command line, hands over to the command's module and
turns every failure into one paragraph and an exit status; nothing else.
"""

import os
import sys
from typing import List, Mapping, NamedTuple, Optional, TextIO

from . import usage
from .errors import NodeSshError, UsageError, shown

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as `cat` ends when its reader goes away


class OutputClosed(Exception):
    """Standard output cannot be written (closed, or a full disk)."""


class Output:
    """A standard stream as the commands see it. Text a terminal cannot encode is
    escaped rather than fatal; a closed stdout is an error the user can act on, a
    closed stderr loses diagnostics only (ssh still runs, as plain ssh does)."""

    def __init__(self, stream: Optional[TextIO], required: bool):
        if stream is not None:
            try:
                stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
            except (AttributeError, ValueError):
                pass
        self._stream = stream
        self._required = required

    def write(self, text: str) -> None:
        if self._stream is None and self._required:
            raise OutputClosed("standard output is closed")
        self._guarded(lambda stream: stream.write(text))

    def flush(self) -> None:
        self._guarded(lambda stream: stream.flush())

    def _guarded(self, operation) -> None:
        """A broken pipe goes up as it is (the reader left); any other failure is an
        OutputClosed for stdout, and nothing for stderr."""
        if self._stream is None:
            return
        try:
            operation(self._stream)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as error:
            if self._required:
                raise OutputClosed(getattr(error, "strerror", None) or str(error)) from None

    def write_bytes(self, data: bytes) -> None:
        """Bytes exactly as given (a remote command's output), after any text written before."""
        if self._stream is None or not hasattr(self._stream, "buffer"):
            self.write(data.decode("utf-8", "backslashreplace"))
            return

        def flush_then_write(stream) -> None:
            stream.flush()
            stream.buffer.write(data)

        self._guarded(flush_then_write)

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError("closed")
        return self._stream.fileno()


class Environment(NamedTuple):
    """What a command may touch of the world outside its arguments."""

    env: Mapping[str, str]
    home: str
    stdin: Optional[TextIO]
    stdout: Output
    stderr: Output

    @classmethod
    def of_this_process(cls) -> "Environment":
        return cls(os.environ, os.path.expanduser("~"), sys.stdin, Output(sys.stdout, required=True),
                   Output(sys.stderr, required=False))

    def debug_on(self) -> bool:
        return self.env.get("DCOS_DEBUG", "").lower() not in ("", "0", "false", "no")

    def stdin_is_terminal(self) -> bool:
        try:
            return self.stdin is not None and self.stdin.isatty()
        except (AttributeError, ValueError):
            return False


# The nouns the plugin is reached as: `nodes` everywhere; `node` on the Go DC/OS CLI (and
# from pip as `dcos-node`), where core's other `node` verbs are handed on.
NOUNS = ("nodes", "node")


def main(argv: Optional[List[str]] = None, environment: Optional[Environment] = None) -> int:
    """Run with the given arguments (without the program name); return the exit status."""
    environment = environment or Environment.of_this_process()
    args = list(sys.argv[1:] if argv is None else argv)
    # The DC/OS CLI repeats the noun (`dcos-nodes nodes ssh ...`); run by hand it may be absent.
    noun = args.pop(0) if args and args[0] in NOUNS else "node"
    args.insert(0, "node")  # the usage text's noun
    verb = args[1] if len(args) > 1 and not args[1].startswith("-") else None
    name = f"dcos {noun} {verb}" if verb else f"dcos {noun}"
    stderr = environment.stderr
    try:
        if verb is not None and verb not in usage.VERBS:
            return _hand_on(noun, verb, args, environment)
        status = _dispatch(args, environment, noun)
        environment.stdout.flush()
        return status
    except UsageError as error:
        stderr.write(f"{name}: {error}\n\n{usage.usage_section(noun)}\n")
        return 1
    except NodeSshError as error:
        stderr.write(f"{name}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()  # the reader is gone: nothing to say, and nothing left to flush
        return EXIT_BROKEN_PIPE
    except OutputClosed as error:
        stderr.write(f"{name}: cannot write to standard output ({error}).\n")
        return 1
    except Exception as error:  # a bug: still one paragraph, the traceback only on request
        if environment.debug_on():
            raise
        stderr.write(
            f"{name}: internal error ({type(error).__name__}: {shown(str(error), 300)}). Run again with "
            "DCOS_DEBUG=1 to see where, and report it.\n"
        )
        return 1
    finally:
        stderr.flush()


def _hand_on(noun: str, verb: str, args: List[str], environment: Environment) -> int:
    """A verb of core's `dcos node` (any unknown verb under `node`) goes to the core plugin."""
    from .core_plugin import CORE_VERBS, hand_on

    if noun != "node" and verb not in CORE_VERBS:
        raise UsageError(f"Unknown command '{shown(verb)}'.")
    return hand_on(args, environment, f"dcos node {verb}")


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):
        pass


def _dispatch(args: List[str], environment: Environment, noun: str) -> int:
    from docopt import DocoptExit, docopt

    args = usage.separate_remote_command(args)
    if usage.wants_help(args):
        environment.stdout.write(usage.help_text(noun))
        return 0
    try:
        opts = usage.complete(docopt(usage.doc_for(args), argv=args, default_help=False))
    except DocoptExit:
        problem = usage.diagnose(args)
        if problem.startswith("Say which node"):
            from .commands.ssh import agent_examples

            problem += agent_examples(environment, noun)
        raise UsageError(problem) from None
    stdout = environment.stdout
    if opts["--info"]:
        stdout.write(usage.INFO + "\n")
        return 0
    if opts["--version"]:
        from . import __version__

        stdout.write(f"dcos-node-ssh version {__version__}\n")
        return 0
    if opts["--config-schema"]:
        import json

        from .settings import config_schema

        stdout.write(json.dumps(config_schema(), indent=2, sort_keys=True) + "\n")
        return 0
    if opts["ssh"]:
        from .commands import ssh

        return ssh.run(opts, environment)
    if opts["scp"]:
        from .commands import scp

        return scp.run(opts, environment)
    if opts["ssh-config"]:
        from .commands import ssh_config

        return ssh_config.run(opts, environment)
    if opts["run"]:
        from .commands import run

        return run.run(opts, environment)
    from .commands import list as listing

    return listing.run(opts, environment)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
