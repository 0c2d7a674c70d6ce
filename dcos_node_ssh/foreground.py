"""A long-running child in the foreground (the tunnel's ssh): started in this process's
group and terminal, so that it can ask for a passphrase or a host key there; its stderr
read line by line as it comes; ended on request, whatever happens, with nothing left
behind. And stop signals (SIGINT, SIGTERM, SIGHUP) turned into an exception that the
caller handles like Ctrl-C, so that it can end the child and clean up before exiting.

A thread reads the child's stderr, so the same code waits on POSIX and on Windows.
"""

import os
import queue
import signal
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .proc import POSIX
from .proc.programs import which

END_SECONDS = 5.0  # how long the child gets to end on SIGTERM before it is killed


class Stopped(Exception):
    """A stop signal (SIGTERM, SIGHUP) came; SIGINT stays KeyboardInterrupt."""

    def __init__(self, number: int):
        super().__init__(number)
        self.number = number


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopSignals:
    """While entered, SIGTERM and SIGHUP raise Stopped in the main thread, as SIGINT raises
    KeyboardInterrupt; `quiet()` then keeps any further signal from interrupting the
    clean-up. Signals that were ignored when we started (nohup) stay ignored."""

    def __init__(self) -> None:
        self._before: Dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        for number in _STOP_SIGNALS:
            before = signal.getsignal(number)
            if before is signal.SIG_IGN:
                continue
            self._before[number] = signal.SIG_DFL if before is None else before
            signal.signal(number, _raise_stopped)
        self._before.setdefault(signal.SIGINT, signal.getsignal(signal.SIGINT))
        return self

    def quiet(self) -> None:
        for number in self._before:
            signal.signal(number, signal.SIG_IGN)

    def __exit__(self, *_) -> None:
        for number, before in self._before.items():
            signal.signal(number, before)  # type: ignore[arg-type]
        self._before.clear()


def _raise_stopped(number: int, _frame) -> None:
    raise Stopped(number)


class Foreground:
    """A child whose stdout goes nowhere and whose stderr lines come through `line()`.

    With `terminal` it keeps this process's stdin and stderr instead, since plink asks its
    questions there (a host key, without a line end) and reads the answer from stdin; then
    nothing comes through `line()`. Otherwise its stdin is /dev/null (OpenSSH asks on
    /dev/tty)."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], terminal: bool = False):
        self.argv = list(argv)
        self.said: List[str] = []  # every line it has written to stderr, in order
        self.status: Optional[int] = None  # its exit status, once it has exited and been reaped
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._pid = -1
        self._process: Any = None  # Windows: the subprocess.Popen
        if POSIX:
            stream = self._spawn_posix(env, terminal)
        else:
            stream = self._spawn_windows(env, terminal)
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        if stream is not None:
            self._reader.start()
        else:
            self._lines.put(None)

    def _spawn_posix(self, env: Mapping[str, str], terminal: bool):
        actions: List[tuple] = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
        read, write = (-1, -1) if terminal else os.pipe()
        if not terminal:
            actions += [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, write, 2)]
        program = self.argv[0] if os.sep in self.argv[0] else which(self.argv[0], env.get("PATH", os.defpath))
        try:
            # No process group of its own: it must be able to ask at the terminal. Python
            # ignores SIGPIPE, which the child would inherit; it gets the default.
            self._pid = os.posix_spawn(program or self.argv[0], self.argv, dict(env), file_actions=actions,
                                       setsigdef=(signal.SIGPIPE,))
        except BaseException:
            if not terminal:
                os.close(read)
            raise
        finally:
            if not terminal:
                os.close(write)
        return None if terminal else os.fdopen(read, "rb")

    def _spawn_windows(self, env: Mapping[str, str], terminal: bool):
        import subprocess

        self._process = subprocess.Popen(self.argv, env=dict(env), stdout=subprocess.DEVNULL,
                                         stdin=None if terminal else subprocess.DEVNULL,
                                         stderr=None if terminal else subprocess.PIPE)
        return self._process.stderr

    def _read(self, stream) -> None:
        try:
            for raw in stream:
                self._lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        finally:
            stream.close()
            self._lines.put(None)

    def line(self, seconds: float) -> Optional[str]:
        """Its next line of stderr, waiting at most `seconds`; None when there is none yet
        (or no more: it closed its stderr)."""
        try:
            text = self._lines.get(timeout=max(seconds, 0.0)) if seconds > 0 else self._lines.get_nowait()
        except queue.Empty:
            return None
        if text is None:
            self._lines.put(None)  # stays at the end for every later call
            time.sleep(min(seconds, 0.05))
            return None
        self.said.append(text)
        return text

    def lines(self, seconds: float) -> List[str]:
        """Every line that comes within `seconds`."""
        deadline = time.monotonic() + seconds
        found = []
        while True:
            text = self.line(max(0.0, deadline - time.monotonic()))
            if text is not None:
                found.append(text)
            elif time.monotonic() >= deadline:
                return found

    def exited(self) -> bool:
        """Whether it has exited (it is then reaped, and `status` set)."""
        if self.status is not None:
            return True
        if self._process is not None:
            code = self._process.poll()
            if code is None:
                return False
            self.status = code
            return True
        done, status = os.waitpid(self._pid, os.WNOHANG)
        if not done:
            return False
        self.status = os.waitstatus_to_exitcode(status)
        return True

    def end(self, seconds: float = END_SECONDS) -> None:
        """End it: SIGTERM (ssh closes its connection and removes its control socket), and
        after `seconds` SIGKILL; it is reaped, and its stderr read to the end."""
        if not self.exited():
            self._terminate(kill=False)
            deadline = time.monotonic() + seconds
            while not self.exited() and time.monotonic() < deadline:
                time.sleep(0.01)
            if not self.exited():
                self._terminate(kill=True)
                self._wait()
        if self._reader.is_alive():
            self._reader.join(seconds)
        while self.line(0) is not None:  # keep what it said last
            pass

    def _terminate(self, kill: bool) -> None:
        try:
            if self._process is not None:
                (self._process.kill if kill else self._process.terminate)()
            else:
                os.kill(self._pid, signal.SIGKILL if kill else signal.SIGTERM)
        except OSError:
            pass

    def _wait(self) -> None:
        if self._process is not None:
            self.status = self._process.wait()
        else:
            try:
                _, status = os.waitpid(self._pid, 0)
                self.status = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                pass
