"""The one edge for local processes: find a program, run one with a deadline, exec one.

On POSIX this avoids importing subprocess and shutil (a few milliseconds of
start-up before every ssh session): children are started with posix_spawn, in a
process group of their own so that a deadline or Ctrl-C ends all of it. Windows
uses subprocess.
"""

import enum
import os
import sys
import time
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from .errors import SshSetupError, shown

POSIX = os.name == "posix"
_OUTPUT_CAP = 1 << 20  # a probe's output kept, per stream; the rest is read and dropped


class Finished(NamedTuple):
    """How a child ended: its exit status (None when it did not end in time and was
    killed), and what it wrote."""

    status: Optional[int]
    stdout: bytes
    stderr: bytes

    @property
    def first_line(self) -> str:
        return self.stdout.split(b"\n")[0].decode("utf-8", "replace").strip()

    @property
    def errors(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def which(name: str, path: Optional[str] = None, posix: bool = POSIX) -> Optional[str]:
    """The program `name` on PATH, as a shell would find it, or None."""
    if not posix:
        import shutil

        return shutil.which(name, path=path)
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    search = os.environ.get("PATH", os.defpath) if path is None else path
    for folder in search.split(os.pathsep):
        candidate = os.path.join(folder or os.curdir, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def choose_client(requested: Optional[str], posix: bool = POSIX, find=which) -> str:
    """The first hop's program: as requested; else `ssh`, or on Windows `plink` when it is
    on PATH and `ssh` is not (PuTTY users, as the seed's Windows half assumes)."""
    if requested:
        return requested
    if not posix and find("ssh", posix=False) is None and find("plink", posix=False) is not None:
        return "plink"
    return "ssh"


def find_client(name: str, plink: bool, posix: bool = POSIX, search: Optional[str] = None) -> str:
    """The client's path, looked up in `search` (the command's PATH; None: this process's)."""
    path = which(name, search, posix=posix)
    if path is None and (os.sep in name or "/" in name):
        # A path (only --ssh-client gives one): PATH was not searched.
        what = "is not an executable file" if os.path.exists(name) else "does not exist"
        raise SshSetupError(f"--ssh-client names {shown(name)}, which {what}. Name the client's path, or leave out "
                            "--ssh-client to use ssh from PATH.")
    if path is None:
        if plink:
            raise SshSetupError(
                f"No `{name}` program was found. Install PuTTY (Debian and Ubuntu: `apt install "
                "putty-tools`; Windows: the PuTTY installer, which puts plink.exe on PATH), or "
                "name plink's path with --ssh-client=<path>."
            )
        raise SshSetupError(
            f"No `{name}` program was found on PATH. Install an OpenSSH client (Debian and "
            "Ubuntu: `apt install openssh-client`; RHEL and CentOS: `yum install "
            "openssh-clients`; Windows: the optional feature \"OpenSSH Client\", or PuTTY with "
            "--ssh-client=plink) and try again."
        )
    return path


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
    program = argv[0] if os.sep in argv[0] else which(argv[0], env.get("PATH", os.defpath))
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)]
    try:
        pid = os.posix_spawn(program or argv[0], list(argv), dict(env), file_actions=actions, setpgroup=0)
    except OSError as error:
        for fd in (out_read, out_write, err_read, err_write):
            os.close(fd)
        return Finished(127, b"", f"{argv[0]}: {error.strerror or error}".encode())
    os.close(out_write)
    os.close(err_write)
    try:
        return _collect(pid, out_read, err_read, time.monotonic() + seconds, first_line_only)
    except BaseException:
        _end(pid)  # Ctrl-C, or anything else: leave no child behind
        raise
    finally:
        os.close(out_read)
        os.close(err_read)


def _collect(pid: int, out_read: int, err_read: int, deadline: float, first_line_only: bool) -> Finished:
    import select

    output: Dict[int, List[bytes]] = {out_read: [], err_read: []}
    kept = {out_read: 0, err_read: 0}
    open_fds = [out_read, err_read]
    while open_fds and not (first_line_only and b"\n" in b"".join(output[out_read])):
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
    stdout, stderr = b"".join(output[out_read]), b"".join(output[err_read])
    if first_line_only and b"\n" in stdout:
        _end(pid)  # it answered; what it holds open is not needed
        return Finished(None, stdout, stderr)
    # It may close its output a moment before exiting: wait for the rest of its time.
    pause = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return Finished(os.waitstatus_to_exitcode(status), stdout, stderr)
        if time.monotonic() >= deadline:
            _end(pid)
            return Finished(None, stdout, stderr)
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _end(pid: int, group: bool = True) -> None:
    """Kill a child (with its whole process group, when it leads one) and reap it."""
    import signal

    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _run_windows(argv: Sequence[str], env: Mapping[str, str], seconds: float) -> Finished:
    import subprocess

    try:
        result = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=seconds)
    except subprocess.TimeoutExpired as expired:
        return Finished(None, expired.stdout or b"", expired.stderr or b"")
    except OSError as error:
        return Finished(127, b"", f"{argv[0]}: {error.strerror or error}".encode())
    return Finished(result.returncode, result.stdout, result.stderr)


def write_private_file(path: str, data: bytes) -> None:
    """Replace a file with `data`, readable and writable by its owner only (0600), atomically:
    a temporary file in the same folder, flushed, then renamed over it, so a reader (ssh)
    sees the old content or the new, never a part. The folder is created (0700) if missing."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    import tempfile

    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            os.chmod(temporary, 0o600)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


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
        return 130
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


def _handed_streams(stdin: Optional[bytes], stdout_to_stderr: bool) -> List[tuple]:
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


class Ending(enum.Enum):
    """How a child of run_window ended."""

    EXITED = "exited"  # on its own, with an exit status
    TIMED_OUT = "timed out"  # killed at its deadline
    INTERRUPTED = "interrupted"  # killed because of Ctrl-C


class _Child:
    def __init__(self, index: int, pid: int, fds: Dict[int, int], deadline: Optional[float]):
        self.index = index
        self.pid = pid
        self.fds = fds  # fd -> 1 (stdout) or 2 (stderr), while open
        self.deadline = deadline
        self.status: Optional[int] = None  # once reaped
        self.reaped_at: Optional[float] = None


# After a child exits, how long what it started may keep its output open.
_LINGER = 1.0


def run_window(argvs: Sequence[Sequence[str]], env: Mapping[str, str], window: int, seconds: Optional[float],
               on_output: Callable[[int, int, bytes], None],
               on_end: Callable[[int, Optional[int], Ending], None],
               stop: Callable[[], bool] = lambda: False) -> bool:
    """Run many programs, at most `window` at a time, each with no input and for at most
    `seconds` (None: no limit), in the order given.

    Output comes as it arrives, `on_output(index, 1 or 2, bytes)`, and each end as
    `on_end(index, exit status or None, how)`. No new program starts once `stop()` is
    true. Ctrl-C ends every running program (`Ending.INTERRUPTED`) and returns True;
    the programs not started then get no call. Each program runs in a process group
    of its own, which is killed whole at its deadline. POSIX only.
    """
    import selectors
    import signal

    _allow_descriptors(2 * window + 64)
    selector = selectors.DefaultSelector()
    running: Dict[int, _Child] = {}  # pid -> child
    next_index = 0

    def start(index: int) -> None:
        argv = argvs[index]
        program = argv[0] if os.sep in argv[0] else which(argv[0], env.get("PATH", os.defpath))
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)]
        for fd in (out_read, err_read):
            os.set_inheritable(fd, False)
        try:
            pid = os.posix_spawn(program or argv[0], list(argv), dict(env), file_actions=actions, setpgroup=0,
                                 setsigdef=(signal.SIGPIPE, signal.SIGINT))
        except OSError as error:
            for fd in (out_read, out_write, err_read, err_write):
                os.close(fd)
            on_output(index, 2, f"{argv[0]}: {error.strerror or error}\n".encode())
            on_end(index, 127, Ending.EXITED)
            return
        os.close(out_write)
        os.close(err_write)
        child = _Child(index, pid, {out_read: 1, err_read: 2}, None if seconds is None else time.monotonic() + seconds)
        running[pid] = child
        for fd in child.fds:
            selector.register(fd, selectors.EVENT_READ, child)

    def close(child: _Child) -> None:
        for fd in list(child.fds):
            selector.unregister(fd)
            os.close(fd)
        child.fds.clear()

    def kill(child: _Child) -> None:
        if child.status is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(child.pid, 0)
            except ChildProcessError:
                pass
        else:  # it has exited; end what it left holding its output
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        close(child)
        del running[child.pid]

    try:
        pause = 0.0005
        while True:
            while next_index < len(argvs) and len(running) < window and not stop():
                start(next_index)
                next_index += 1
            if not running:
                if next_index >= len(argvs) or stop():
                    return False
                continue
            now = time.monotonic()
            waits = [0.1]  # a child may exit while something it started keeps its output open
            waits += [child.deadline - now for child in running.values() if child.deadline is not None]
            waits += [child.reaped_at + _LINGER - now for child in running.values() if child.reaped_at]
            if any(not child.fds and child.status is None for child in running.values()):
                waits.append(pause)  # its output is closed: it is about to exit
                pause = min(pause * 2, 0.02)
            else:
                pause = 0.0005
            for key, _ in selector.select(max(0.0, min(waits))):
                child = key.data
                chunk = os.read(key.fd, 65536)
                if chunk:
                    on_output(child.index, child.fds[key.fd], chunk)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    del child.fds[key.fd]
            now = time.monotonic()
            for child in list(running.values()):
                if child.status is None:
                    done, status = os.waitpid(child.pid, os.WNOHANG)
                    if done:
                        child.status = os.waitstatus_to_exitcode(status)
                        child.reaped_at = now
                if child.status is not None and (not child.fds or now >= (child.reaped_at or now) + _LINGER):
                    kill(child)
                    on_end(child.index, child.status, Ending.EXITED)
                elif child.deadline is not None and now >= child.deadline:
                    kill(child)
                    on_end(child.index, None, Ending.TIMED_OUT)
    except KeyboardInterrupt:
        for child in list(running.values()):
            kill(child)
            on_end(child.index, None, Ending.INTERRUPTED)
        return True
    except BaseException:
        for child in list(running.values()):
            kill(child)
        raise
    finally:
        selector.close()


def _allow_descriptors(needed: int) -> None:
    """Raise this process's soft limit on open files towards `needed`, within the hard limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


def start_detached(argv: Sequence[str], env: Mapping[str, str], log_path: str, seconds: float) -> Optional[int]:
    """Run a program that leaves a daemon behind (`ssh -f`) and return its exit status,
    or None when it did not end within `seconds` (then it is killed). Its stdout goes
    nowhere and its stderr, the daemon's included, to `log_path`; it keeps this
    process's terminal, so that ssh can ask for a passphrase or a host key there."""
    import signal

    program = argv[0] if os.sep in argv[0] else which(argv[0], env.get("PATH", os.defpath))
    actions = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
               (os.POSIX_SPAWN_OPEN, 2, log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)]
    try:
        pid = os.posix_spawn(program or argv[0], list(argv), dict(env), file_actions=actions,
                             setsigdef=(signal.SIGPIPE,))
    except OSError as error:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{argv[0]}: {error.strerror or error}\n")
        return 127
    deadline = time.monotonic() + seconds
    pause = 0.0005
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() >= deadline:
                _end(pid, group=False)
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
    except BaseException:
        _end(pid, group=False)
        raise
