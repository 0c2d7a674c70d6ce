"""Warm connections (`--warm`), on this machine: the private folder their control sockets
live in (openssh.warm says where and how each is named), which of them are up, and
closing them all (`dcos node disconnect`).

A connection is asked over its control socket, in OpenSSH's own control protocol, as
`ssh -O check` and `ssh -O exit` ask it, without starting an ssh for each of hundreds.
A socket that nothing answers on any more (its ssh was killed) is removed, as ssh
itself removes a stale one. POSIX only.
"""

import enum
import errno
import os
import socket
import stat
import time
from contextlib import contextmanager
from typing import Callable, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from .errors import NodeSshError, shown
from .openssh import warm as protocol

ASK_SECONDS = 2.0  # a connection answers its control socket at once, unless it is stuck
CLOSE_WAIT_SECONDS = 5.0  # for closed connections to remove their sockets


def _problem(folder: str, info: os.stat_result, uid: int) -> Optional[str]:
    """Why a folder is not private to this user, or None."""
    if stat.S_ISLNK(info.st_mode):
        return "a link"
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    if info.st_uid != uid:
        return f"owned by another user (uid {info.st_uid})"
    if info.st_mode & 0o077:
        return f"open to others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def private_folder(env: Mapping[str, str]) -> str:
    """The folder of this user's warm connections, created (0700) when missing: the first
    of openssh.warm.folder_candidates whose parent exists. One that is not this user's
    alone (a link, another user's, open to others) is refused, never used: a socket in
    it would let others reach the nodes as this user."""
    uid = os.geteuid()
    for folder in protocol.folder_candidates(env, uid):
        if not os.path.isdir(os.path.dirname(folder)):
            continue
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError:
            continue  # a parent we may not write in: the next place
        problem = _problem(folder, os.lstat(folder), uid)
        if problem:
            raise NodeSshError(
                f"{shown(folder)} is where --warm keeps its connections' sockets, so it must be a folder that only "
                f"you can open, but it is {problem}. Remove it (or `chmod 700` it, if it is yours) and try again, "
                "or set XDG_RUNTIME_DIR or TMPDIR to a folder of your own."
            )
        return folder
    raise NodeSshError("--warm needs a folder for its connections' sockets under XDG_RUNTIME_DIR, TMPDIR or /tmp "
                       "(a short path of plain characters), and none can be created here.")


def existing_folders(env: Mapping[str, str]) -> List[str]:
    """The private folders of this user's warm connections that exist, wherever another
    shell's environment may have put them; one that is not private is left alone."""
    uid = os.geteuid()
    found = []
    for folder in protocol.folder_candidates(env, uid):
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        if _problem(folder, info, uid) is None:
            found.append(folder)
    return found


@contextmanager
def locked(folder: str, stopped: Callable[[], bool] = lambda: False) -> Iterator[bool]:
    """The folder locked against another command opening connections at the same time (two
    masters for one socket: the second one's would not listen). Yields False, unlocked,
    when `stopped()` came first."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stopped():
                    yield False
                    return
                time.sleep(0.05)
        yield True
    finally:
        os.close(fd)  # and with it the lock


class State(enum.Enum):
    UP = "up"
    ABSENT = "absent"  # no socket, or one nothing answers on (removed)
    STUCK = "stuck"  # a socket that takes the connection but does not answer


def _exchange(path: str, request: bytes, seconds: float, answered_by_closing: bool = False) -> bytes:
    """Send the hello and one request on a control socket; the body of the answer.
    OSError when it cannot be reached, ValueError when it answers nonsense; with
    `answered_by_closing`, _ClosedAfterRequest when it closes the channel after the hello."""
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.settimeout(seconds)
        channel.connect(path)
        channel.sendall(protocol.hello() + request)
        hello = _message(channel, deadline)
        if protocol.words(hello, 1)[0] != protocol.MUX_MSG_HELLO:
            raise ValueError("no hello")
        try:
            return _message(channel, deadline)
        except (ConnectionResetError, BrokenPipeError):
            if answered_by_closing:
                raise _ClosedAfterRequest() from None
            raise


def _message(channel: socket.socket, deadline: float) -> bytes:
    length = int.from_bytes(_exactly(channel, 4, deadline), "big")
    if length > protocol.MESSAGE_MAX:
        raise ValueError("a control message too long")
    return _exactly(channel, length, deadline)


def _exactly(channel: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        channel.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = channel.recv(count - len(data))
        if not chunk:
            raise ConnectionResetError(errno.ECONNRESET, "closed")
        data += chunk
    return data


def ask(path: str, seconds: float = ASK_SECONDS) -> Tuple[State, Optional[int]]:
    """Whether the connection of a control socket is up, and its process ID when it says.
    A socket nothing listens on any more is removed, and so is anything else found under a
    socket's name in the private folder."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return State.ABSENT, None
    if not stat.S_ISSOCK(info.st_mode):
        _remove(path)
        return State.ABSENT, None
    try:
        return State.UP, protocol.alive_pid(_exchange(path, protocol.alive_check(), seconds))
    except (ConnectionRefusedError, FileNotFoundError):
        _remove(path)
        return State.ABSENT, None
    except socket.timeout:
        return State.STUCK, None
    except (OSError, ValueError):
        return State.STUCK, None


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _terminate(path: str) -> bool:
    """Tell a connection to close; False when it refuses. A connection often exits before
    its answer leaves (OpenSSH says so in mux.c), so the channel closing right after the
    request counts as yes, as it does for `ssh -O exit`."""
    try:
        return protocol.terminated(_exchange(path, protocol.terminate(), ASK_SECONDS, answered_by_closing=True))
    except _ClosedAfterRequest:
        return True


class _ClosedAfterRequest(Exception):
    pass


class Closed(NamedTuple):
    nodes: int
    proxies: int
    failed: Tuple[str, ...]  # sockets whose connection did not close


def close_all(env: Mapping[str, str]) -> Closed:
    """Tell every warm connection of this user's to close (as `ssh -O exit` does), wait
    for them to remove their sockets, and remove the folders left empty."""
    asked: List[str] = []
    failed: List[str] = []
    folders = existing_folders(env)
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if not protocol.is_socket_name(name):
                continue
            path = os.path.join(folder, name)
            try:
                if _terminate(path):
                    asked.append(path)
                else:
                    failed.append(path)
            except (ConnectionRefusedError, FileNotFoundError):
                _remove(path)  # stale: its ssh is gone
            except (OSError, ValueError):
                failed.append(path)
    deadline = time.monotonic() + CLOSE_WAIT_SECONDS
    while any(os.path.lexists(path) for path in asked) and time.monotonic() < deadline:
        time.sleep(0.02)
    failed += [path for path in asked if os.path.lexists(path)]
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            pass  # not empty: something of someone else's, or a connection that did not close
    closed = [path for path in asked if path not in failed]
    proxies = sum(1 for path in closed if os.path.basename(path).startswith("p"))
    return Closed(len(closed) - proxies, proxies, tuple(failed))
