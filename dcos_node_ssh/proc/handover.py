"""Handing this process over to a program: `dcos node ssh` ends as ssh (or scp, or the
core plugin) with the terminal, the signals and the exit status its own."""

import os
import sys
from typing import Mapping, Optional, Sequence

from ..errors import ExitStatus
from . import POSIX


def exec_program(argv: Sequence[str], env_changes: Optional[Mapping[str, str]] = None,
                 posix: bool = POSIX) -> int:
    """Hand over to a program: on POSIX it replaces this process, owning the terminal
    and signals; on Windows, which has no exec, it runs as a child whose exit status is
    returned. `env_changes` are set in its environment."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream must not keep ssh from running
    if posix:
        import signal

        # Python ignores SIGPIPE, and an ignored signal stays ignored across exec: give
        # ssh the default, so `dcos node ssh … | head` ends it as it ends plain ssh.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if env_changes:
            os.execvpe(argv[0], list(argv), dict(os.environ, **env_changes))
        os.execvp(argv[0], list(argv))
    import subprocess

    try:
        return subprocess.call(list(argv), env=dict(os.environ, **env_changes) if env_changes else None)
    except KeyboardInterrupt:
        # Ctrl-C reached the child too; its exit status is what the user wants to see.
        return ExitStatus.INTERRUPTED
