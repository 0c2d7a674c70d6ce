"""Handing this process over to a program: `dcos node ssh` ends as ssh (or scp, or the
core plugin) with the terminal, the signals and the exit status its own."""

import os
import sys
from typing import List, Mapping, Optional, Sequence, Tuple

from ..errors import ExitStatus
from . import POSIX


def exec_program(argv: Sequence[str], env_changes: Optional[Mapping[str, str]] = None,
                 posix: bool = POSIX, *, stdin: Optional[bytes] = None, stdout_to_stderr: bool = False) -> int:
    """Hand over to a program: on POSIX it replaces this process, owning the terminal
    and signals; on Windows, which has no exec, it runs as a child whose exit status is
    returned. `env_changes` are set in its environment. With `stdin`, the program reads
    those bytes as its standard input (from an unlinked temporary file: any size, and
    nothing left behind); with `stdout_to_stderr`, what it prints goes to stderr."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream must not keep ssh from running
    env = dict(os.environ, **env_changes) if env_changes else None
    if posix:
        import signal

        # Python ignores SIGPIPE, and an ignored signal stays ignored across exec: give
        # ssh the default, so `dcos node ssh … | head` ends it as it ends plain ssh.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        saved = _handed_streams(stdin, stdout_to_stderr)
        try:
            if env is not None:
                os.execvpe(argv[0], list(argv), env)
            os.execvp(argv[0], list(argv))
        except BaseException:
            # exec failed (or a test refused it): this process goes on with its own streams.
            for fd, copy in saved:
                if copy < 0:
                    os.close(fd)
                else:
                    os.dup2(copy, fd)
                    os.close(copy)
            raise
    import subprocess

    feed = _unlinked_file(stdin) if stdin is not None else None
    try:
        return subprocess.call(list(argv), env=env, stdin=feed, stdout=2 if stdout_to_stderr else None)
    except KeyboardInterrupt:
        # Ctrl-C reached the child too; its exit status is what the user wants to see.
        return ExitStatus.INTERRUPTED
    finally:
        if feed is not None:
            feed.close()


def _unlinked_file(data: bytes):
    import tempfile

    held = tempfile.TemporaryFile()
    held.write(data)
    held.flush()
    held.seek(0)
    return held


def _handed_streams(stdin: Optional[bytes], stdout_to_stderr: bool) -> List[Tuple[int, int]]:
    """Point fd 0 at `stdin`'s bytes and fd 1 at stderr, as asked; (fd, its saved copy, or -1
    when it was closed) for each, to undo it should exec fail."""
    saved = []
    for fd, wanted in ((0, stdin is not None), (1, stdout_to_stderr)):
        if wanted:
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:
                saved.append((fd, -1))
    if stdin is not None:
        with _unlinked_file(stdin) as held:
            os.dup2(held.fileno(), 0)
    if stdout_to_stderr:
        os.dup2(2, 1)
    return saved
