"""Many children at once, for the commands on many nodes: at most `width` running, each
with no input and in a process group of its own, its output read as it comes and ended
at its deadline; and every one of them ended when a stop signal comes (proc.signals).

What happens goes to a handler, as ClusterShell's workers tell an EventHandler: the
bytes as they arrive, then one end per child. Children that leave a daemon behind (an
ssh that puts its connection in the background, `--warm`) write to a log file each
instead, and what they leave is left alone once they exit 0. POSIX only.
"""

import enum
import os
import selectors
import time
from typing import Dict, Mapping, Optional, Protocol, Sequence, Tuple

from .signals import Signals
from .spawn import Spawned, cannot_start, end, spawn


class Ending(enum.Enum):
    """How a child of the window ended; the code that Handler.ended gets says more."""

    EXITED = "exited"  # on its own; the code is its exit status
    KILLED = "killed"  # by a signal that did not come from here (a crash); the code is the signal
    TIMED_OUT = "timed out"  # ended here at its deadline
    INTERRUPTED = "interrupted"  # ended here because a stop signal came
    UNSTARTED = "unstarted"  # it could not be started; the reason came as its stderr


class Handler(Protocol):
    def output(self, index: int, stream: int, chunk: bytes) -> None:
        """Bytes that child `index` wrote to stream 1 (stdout) or 2 (stderr), as they come."""

    def ended(self, index: int, ending: Ending, code: Optional[int]) -> None:
        """Child `index` is over, after all its output."""

    def more(self) -> bool:
        """Whether to start further children."""


# After a child exits, how long what it started (ssh's ProxyCommand) may keep its output open.
LINGER = 1.0
# The descriptors a running child costs: its two pipes here, and about as many in the
# ControlMaster its ssh reaches the proxy through, which inherits this process's limit.
FDS_PER_CHILD = 4
FDS_RESERVED = 32  # the standard streams, the selector, the signal pipe, --output-dir's folder...


def fit_width(width: int) -> Tuple[int, int]:
    """(the most children at once, up to `width`, that the limit on open files allows; that
    limit, -1 for none). The soft limit is first raised towards what `width` needs, within
    the hard limit."""
    soft = files_limit(FDS_RESERVED + FDS_PER_CHILD * width)
    if soft < 0:
        return width, -1
    return min(width, max(0, (soft - FDS_RESERVED) // FDS_PER_CHILD)), soft


def files_limit(needed: int) -> int:
    """The limit on open files (the soft one, which children inherit), first raised towards
    `needed` within the hard limit; -1 for none."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return -1 if soft == resource.RLIM_INFINITY else soft
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    except (ValueError, OSError):
        pass  # macOS refuses more than its own per-process maximum: make do with the limit we have
    return soft


def run_window(argvs: Sequence[Sequence[str]], env: Mapping[str, str], width: int, seconds: Optional[float],
               handler: Handler, signals: Optional[Signals] = None, logs: Optional[Sequence[str]] = None) -> bool:
    """Run every program, at most `width` at a time, each for at most `seconds` (None: no
    limit), in the order given. True when a stop signal ended the run: the running children
    were ended, and those not started get no `ended`. With no `signals` given, the window
    notes stop signals itself while it runs.

    With `logs` (a path per program), each program's stdout goes nowhere and its stderr to
    its log, and the handler gets no output; what a program that exits 0 leaves running
    in its process group (the daemon it started, its ProxyCommand) is left running."""
    if signals is None:
        with Signals() as own:
            return Window(argvs, env, width, seconds, handler, own, logs).run()
    return Window(argvs, env, width, seconds, handler, signals, logs).run()


class _Child:
    __slots__ = ("index", "pid", "streams", "deadline", "status", "exited_at")

    def __init__(self, index: int, spawned: Spawned, deadline: Optional[float]):
        self.index = index
        self.pid = spawned.pid
        # its pipes still open -> 1 or 2 (none for a child that writes to a log)
        self.streams = {fd: stream for fd, stream in ((spawned.stdout, 1), (spawned.stderr, 2)) if fd >= 0}
        self.deadline = deadline
        self.status: Optional[int] = None  # its wait status, once reaped
        self.exited_at = 0.0


def _exit_of(status: int) -> Tuple[Ending, int]:
    if os.WIFSIGNALED(status):
        return Ending.KILLED, os.WTERMSIG(status)
    return Ending.EXITED, os.WEXITSTATUS(status)


class Window:
    def __init__(self, argvs: Sequence[Sequence[str]], env: Mapping[str, str], width: int,
                 seconds: Optional[float], handler: Handler, signals: Signals,
                 logs: Optional[Sequence[str]] = None):
        self._argvs = argvs
        self._logs = logs
        self._env = env
        self._width = width
        self._seconds = seconds
        self._handler = handler
        self._signals = signals
        self._next = 0
        self._running: Dict[int, _Child] = {}  # pid -> child
        self._selector = selectors.DefaultSelector()

    def run(self) -> bool:
        # A signal (SIGCHLD too) writes to the signal pipe: the selector wakes for it.
        self._selector.register(self._signals.fd, selectors.EVENT_READ, None)
        try:
            while not self._signals.stopped:
                self._start_more()
                if not self._running:
                    return False
                self._read(self._timeout())
                self._settle()
            self._end_all(Ending.INTERRUPTED)
            return True
        except BaseException:
            self._end_all(None)
            raise
        finally:
            self._selector.close()

    def _start_more(self) -> None:
        while (self._next < len(self._argvs) and len(self._running) < self._width and self._handler.more()
               and not self._signals.stopped):
            index, argv = self._next, self._argvs[self._next]
            self._next += 1
            try:
                spawned = spawn(argv, self._env, log=self._logs[index] if self._logs else None)
            except OSError as error:
                self._cannot_start(index, cannot_start(argv, error) + "\n")
                self._handler.ended(index, Ending.UNSTARTED, None)
                continue
            deadline = None if self._seconds is None else time.monotonic() + self._seconds
            child = _Child(index, spawned, deadline)
            self._running[child.pid] = child
            for fd in child.streams:
                self._selector.register(fd, selectors.EVENT_READ, child)

    def _cannot_start(self, index: int, reason: str) -> None:
        if self._logs:
            with open(self._logs[index], "a", encoding="utf-8") as log:
                log.write(reason)
        else:
            self._handler.output(index, 2, reason.encode())

    def _timeout(self) -> Optional[float]:
        """Until the next deadline, or the end of an exited child's grace; None: until
        something happens (output, a child's exit, a signal)."""
        moments = [child.deadline for child in self._running.values()
                   if child.status is None and child.deadline is not None]
        moments += [child.exited_at + LINGER for child in self._running.values() if child.status is not None]
        return max(0.0, min(moments) - time.monotonic()) if moments else None

    def _read(self, timeout: Optional[float]) -> None:
        for key, _ in self._selector.select(timeout):
            child = key.data
            if child is None:
                self._signals.drain()
                continue
            chunk = os.read(key.fd, 65536)
            if chunk:
                self._handler.output(child.index, child.streams[key.fd], chunk)
            else:
                self._close(child, key.fd)

    def _settle(self) -> None:
        """Reap the children that exited; end those that are done (their output closed, or
        their grace over) and those whose time is up."""
        now = time.monotonic()
        for child in list(self._running.values()):
            if child.status is None:
                done, status = os.waitpid(child.pid, os.WNOHANG)
                if done:
                    child.status, child.exited_at = status, now
            if child.status is not None:
                if not child.streams or now >= child.exited_at + LINGER:
                    self._discard(child)
                    self._handler.ended(child.index, *_exit_of(child.status))
            elif child.deadline is not None and now >= child.deadline:
                self._discard(child)
                self._handler.ended(child.index, Ending.TIMED_OUT, None)

    def _discard(self, child: _Child) -> None:
        """End the child with whatever it left in its process group (unless it is a daemon's
        starter that succeeded), and forget it."""
        if not (self._logs and child.status is not None and os.WIFEXITED(child.status)
                and os.WEXITSTATUS(child.status) == 0):
            end(child.pid, reaped=child.status is not None)
        for fd in list(child.streams):
            self._close(child, fd)
        del self._running[child.pid]

    def _close(self, child: _Child, fd: int) -> None:
        self._selector.unregister(fd)
        os.close(fd)
        del child.streams[fd]

    def _end_all(self, ending: Optional[Ending]) -> None:
        """End every running child first, then report each (unless `ending` is None): an
        exited one as it exited, the others with `ending`."""
        children = list(self._running.values())
        for child in children:
            self._discard(child)
        if ending is not None:
            for child in children:
                if child.status is not None:
                    self._handler.ended(child.index, *_exit_of(child.status))
                else:
                    self._handler.ended(child.index, ending, None)
