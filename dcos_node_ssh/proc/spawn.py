"""One child process: started (`spawn`), ended with what it started (`end`), waited for
(`wait`), each written once; and what is built on them: a probe that runs a program
with a deadline and keeps its output (`run`), and an ssh that leaves a daemon behind
(`start_detached`).
"""

import os
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from ..errors import ExitStatus
from . import POSIX
from .programs import which

_OUTPUT_CAP = 1 << 20  # a probe's output kept, per stream; the rest is read and dropped


class Finished(NamedTuple):
    """How a probe ended: its exit status (None when it did not end in time and was
    killed; negative when a signal ended it), and what it wrote."""

    status: Optional[int]
    stdout: bytes
    stderr: bytes

    @property
    def first_line(self) -> str:
        return self.stdout.split(b"\n")[0].decode("utf-8", "replace").strip()

    @property
    def errors(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class Spawned(NamedTuple):
    """A started child: its pid, and the read ends of its stdout and stderr pipes (-1
    when its output goes elsewhere)."""

    pid: int
    stdout: int = -1
    stderr: int = -1


def spawn(argv: Sequence[str], env: Mapping[str, str], *, log: Optional[str] = None,
          own_group: bool = True) -> Spawned:
    """Start a program with no input. Its stdout and stderr are pipes, whose read ends
    only this process holds; with `log`, its stdout goes nowhere and its stderr is
    appended to that file. With `own_group` it leads a process group of its own, so that
    `end` ends whatever it started too and the terminal's signals do not reach it;
    without, it shares this process's group and terminal (where ssh may ask for a
    passphrase). It gets the default SIGPIPE, which Python ignores. Raises OSError
    when it cannot be started."""
    import signal

    actions: List[tuple] = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
    # os.pipe's descriptors are not inherited; dup2 gives the child its own copies.
    ours: List[int] = []
    theirs: List[int] = []
    if log is None:
        for stream in (1, 2):
            read, write = os.pipe()
            ours.append(read)
            theirs.append(write)
            actions.append((os.POSIX_SPAWN_DUP2, write, stream))
    else:
        actions += [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)]
    program = argv[0] if os.sep in argv[0] else which(argv[0], env.get("PATH", os.defpath)) or argv[0]
    group: Dict[str, Any] = {"setpgroup": 0} if own_group else {}  # posix_spawn takes no None for "leave it"
    try:
        pid = os.posix_spawn(program, list(argv), dict(env), file_actions=actions, setsigdef=(signal.SIGPIPE,),
                             **group)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    return Spawned(pid, *ours) if ours else Spawned(pid)


def end(pid: int, *, group: bool = True, reaped: bool = False) -> None:
    """Kill a child (with its whole process group, when it leads one) and reap it. Once
    it has been reaped, only what it left running in its group is killed."""
    import signal

    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except OSError:
        pass
    if not reaped:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def wait(pid: int, deadline: Optional[float], stopped: Callable[[], bool] = lambda: False) -> Optional[int]:
    """The child's wait status once it exits (it is then reaped); None, with the child
    left running, when the deadline (time.monotonic) passes or `stopped()` is true first."""
    pause = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        now = time.monotonic()
        if stopped() or (deadline is not None and now >= deadline):
            return None
        time.sleep(pause if deadline is None else min(pause, deadline - now))
        pause = min(pause * 2, 0.02)


def cannot_start(argv: Sequence[str], error: OSError) -> str:
    """Why a program could not be started, as a shell says it."""
    return f"{argv[0]}: {error.strerror or error}"


def run(argv: Sequence[str], env: Mapping[str, str], seconds: float, *, first_line_only: bool = False,
        posix: bool = POSIX) -> Finished:
    """Run a program with no input, collecting its output, for at most `seconds`.

    With `first_line_only` it is ended as soon as it has written a line to stdout (a
    probe that would otherwise hold a tunnel open). A program that cannot be started
    ends with status 127 and the reason on stderr, as a shell reports it. Ctrl-C ends
    the child before it reaches the caller.
    """
    if not posix:
        return _run_windows(argv, env, seconds)
    try:
        child = spawn(argv, env)
    except OSError as error:
        return Finished(ExitStatus.CANNOT_RUN, b"", cannot_start(argv, error).encode())
    deadline = time.monotonic() + seconds
    try:
        stdout, stderr, answered = _collect(child, deadline, first_line_only)
        # It may close its output a moment before exiting: wait for the rest of its time.
        status = None if answered else wait(child.pid, deadline)
        if status is None:  # it answered (what it holds open is not needed), or its time is up
            end(child.pid)
            return Finished(None, stdout, stderr)
        return Finished(os.waitstatus_to_exitcode(status), stdout, stderr)
    except BaseException:
        end(child.pid)  # Ctrl-C, or anything else: leave no child behind
        raise
    finally:
        os.close(child.stdout)
        os.close(child.stderr)


def _collect(child: Spawned, deadline: float, first_line_only: bool):
    """(stdout, stderr, whether it answered a line that was all we wanted), read until
    both streams close or the deadline."""
    import select

    output = {child.stdout: [], child.stderr: []}  # type: dict
    kept = {child.stdout: 0, child.stderr: 0}
    open_fds = [child.stdout, child.stderr]
    answered = False
    while open_fds and not answered:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select(open_fds, [], [], remaining)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
            elif kept[fd] < _OUTPUT_CAP:
                output[fd].append(chunk)
                kept[fd] += len(chunk)
            answered = answered or (first_line_only and fd == child.stdout and b"\n" in chunk)
    return b"".join(output[child.stdout]), b"".join(output[child.stderr]), answered


def _run_windows(argv: Sequence[str], env: Mapping[str, str], seconds: float) -> Finished:
    import subprocess

    try:
        result = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=seconds)
    except subprocess.TimeoutExpired as expired:
        return Finished(None, expired.stdout or b"", expired.stderr or b"")
    except OSError as error:
        return Finished(ExitStatus.CANNOT_RUN, b"", cannot_start(argv, error).encode())
    return Finished(result.returncode, result.stdout, result.stderr)


def start_detached(argv: Sequence[str], env: Mapping[str, str], log_path: str, seconds: float,
                   stopped: Callable[[], bool] = lambda: False) -> Optional[int]:
    """Run a program that leaves a daemon behind (`ssh -f`) and return its exit status,
    or None when it did not end within `seconds` or `stopped()` came first (then it is
    killed). Its stdout goes nowhere and its stderr, the daemon's included, to
    `log_path`; it keeps this process's terminal, so that ssh can ask for a passphrase
    or a host key there."""
    try:
        pid = spawn(argv, env, log=log_path, own_group=False).pid
    except OSError as error:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(cannot_start(argv, error) + "\n")
        return ExitStatus.CANNOT_RUN
    try:
        status = wait(pid, time.monotonic() + seconds, stopped)
    except BaseException:
        end(pid, group=False)
        raise
    if status is None:
        end(pid, group=False)
        return None
    return os.waitstatus_to_exitcode(status)
