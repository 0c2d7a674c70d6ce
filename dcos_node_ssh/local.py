"""The one edge for local processes: find a program, run one with a deadline, exec one.

On POSIX this avoids importing subprocess and shutil (a few milliseconds of
start-up before every ssh session): children are started with posix_spawn, in a
process group of their own so that a deadline or Ctrl-C ends all of it. Windows
uses subprocess.
"""

import os
import sys
import time
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

from .errors import SshSetupError

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


def find_client(name: str, plink: bool, posix: bool = POSIX) -> str:
    path = which(name, posix=posix)
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


def _end(pid: int) -> None:
    """Kill a child's whole process group and reap the child."""
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
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
        return 130
