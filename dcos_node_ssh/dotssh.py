"""~/.ssh as OpenSSH reads it, and the only writing the plugin does there (`ssh-config
--write`): which home OpenSSH reads, OpenSSH's own verdict on a config file (`ssh -G`),
and files replaced whole, never through a link, keeping their mode.

A file is replaced by a temporary file beside it, flushed, then renamed over it, so a
reader (ssh) sees the old content or the new, never a part. What cannot be replaced that
way without a surprise is left alone, and the caller says so: a read-only file (its
owner made it so), a file with other names (hard links would keep the old text), a link
(other than ~/.ssh/config, whose target changes: dotfiles keep it as a link), anything
that is not a regular file.
"""

import os
import stat
from typing import List, NamedTuple, Optional

CHECK_SECONDS = 10.0  # `ssh -G` reads files and runs no network; a Match exec may take a moment


def ssh_home(environment) -> str:
    """The home OpenSSH reads ~/.ssh from: the password database's, not $HOME (which the
    rest of the plugin uses, as the DC/OS CLI does, for ~/.dcos)."""
    if os.name == "posix":
        import pwd

        try:
            return pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            pass
    return environment.home


def openssh_verdict(program: str, path: str, host: str, env, expected: Optional[str] = None) -> Optional[str]:
    """What OpenSSH holds against the config file at `path`, read as ssh reads its own
    (`ssh -G -F <path> <host>`: every line parsed, every Include followed, nothing connected
    to), as a clause after "`ssh -G`"; None when it reads it without complaint and, given
    `expected`, takes `host` to that address."""
    from .proc import spawn

    # -T: with stdin not a terminal, ssh -G would also say that it allocates none.
    result = spawn.run([program, "-G", "-T", "-F", path, "--", host], env, CHECK_SECONDS)
    if result.status is None:
        return f"gave no answer within {CHECK_SECONDS:g} seconds"
    if result.status != 0:
        lines = [line.strip() for line in result.errors.splitlines() if line.strip()]
        if not lines:
            return f"exits with status {result.status}"
        # It complains once per line, and the same option is on every Host entry: the first says it.
        return f'says "{lines[0]}"' + (f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else "")
    if expected is None:
        return None
    resolved = next((line[len("hostname "):].strip() for line in result.stdout.decode("utf-8", "replace").splitlines()
                     if line.startswith("hostname ")), "")
    if resolved.lower() == expected.lower():
        return None
    return f"reads it, but takes {host} to {resolved or 'no address'}, not to {expected}"


class FileState(NamedTuple):
    """A file that may be replaced, as it is now."""

    path: str  # as named
    real: str  # the file that changes: a link's target, else `path`
    data: Optional[bytes]  # None: there is no such file yet
    mode: int  # the permission bits its replacement keeps (0600 for a new file)
    obstacle: Optional[str]  # why it must be left alone (a clause after its name); None: it may be replaced


def examine(path: str, follow_link: bool) -> FileState:
    """The file at `path`; with `follow_link`, a link's target is the file that changes.
    Raises OSError only when the file cannot be looked at or read."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return FileState(path, path, None, 0o600, None)
    real = path
    if stat.S_ISLNK(info.st_mode):
        if not follow_link:
            return FileState(path, path, None, 0, "is a symbolic link, and ssh-config writes its own file only as "
                                                  "a file of its own")
        real = os.path.realpath(path)
        try:
            info = os.stat(real)
        except FileNotFoundError:
            return FileState(path, real, None, 0, f"is a link to {real}, which does not exist")
    mode = stat.S_IMODE(info.st_mode)
    obstacle = None
    if not stat.S_ISREG(info.st_mode):
        obstacle = "is not a regular file" if real == path else f"is a link to {real}, which is not a regular file"
    elif not mode & stat.S_IWUSR:
        obstacle = f"is read-only (mode {mode:04o})"
    elif not os.access(real, os.W_OK):
        obstacle = f"is not writable by you (mode {mode:04o})"
    elif info.st_nlink > 1:
        obstacle = (f"has {info.st_nlink} names (hard links), and replacing it would leave the others with the "
                    "old text")
    if not stat.S_ISREG(info.st_mode):
        return FileState(path, real, None, mode, obstacle)
    with open(real, "rb") as stream:
        return FileState(path, real, stream.read(), mode, obstacle)


class Staging:
    """Temporary files, each beside the file it will replace; whatever is not committed is
    removed on leaving the `with` block."""

    def __init__(self) -> None:
        self._pending: List[str] = []

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc_info) -> None:
        for temporary in self._pending:
            try:
                os.unlink(temporary)
            except OSError:
                pass

    def stage(self, target: FileState, data: bytes) -> str:
        """A temporary file holding `data`, with the mode `target` keeps, flushed to disk."""
        import tempfile

        folder, name = os.path.split(target.real)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        self._pending.append(temporary)
        with os.fdopen(descriptor, "wb") as stream:
            os.chmod(temporary, target.mode)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        return temporary

    def commit(self, temporary: str, target: FileState) -> None:
        os.replace(temporary, target.real)
        self._pending.remove(temporary)

    def put_back(self, target: FileState) -> None:
        """`target` as it was when examined: its old content, or no file."""
        if target.data is None:
            os.unlink(target.real)
        else:
            self.commit(self.stage(target, target.data), target)
