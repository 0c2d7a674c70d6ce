"""Writing results without surprises: an empty folder that they go into without ever
following a link or opening anything that was already there (`dcos node run
--output-dir`, and the folders `dcos node fetch` copies into).
"""

import errno
import os
from typing import Sequence, Tuple


class EmptyFolder:
    """A folder, created if missing, that must be empty and writable when it is opened.

    It is opened once and everything goes in through that descriptor: each `write`
    creates a sub-folder of its own and new files in it (O_EXCL, O_NOFOLLOW). So nothing
    that appears in the folder meanwhile, a link, a FIFO or an earlier run's files, is
    written through, blocks, or is taken for what was written here: a name that exists
    already is an error (EEXIST) for that write alone.
    """

    def __init__(self, path: str):
        os.makedirs(path, exist_ok=True)
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if os.listdir(self.fd):
                raise OSError(errno.ENOTEMPTY, os.strerror(errno.ENOTEMPTY), path)
            probe = f".dcos-node-probe-{os.getpid()}"  # writable for real, whoever we are
            os.mkdir(probe, 0o700, dir_fd=self.fd)
            os.rmdir(probe, dir_fd=self.fd)
        except BaseException:
            os.close(self.fd)
            raise

    def make(self, folder: str) -> None:
        """Create `folder` in it, new: one that exists already (planted there) is an error."""
        os.mkdir(folder, dir_fd=self.fd)

    def write(self, folder: str, files: Sequence[Tuple[str, bytes]]) -> None:
        """Create `folder` in it, and in that the files, each with its bytes."""
        self.make(folder)
        inside = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            for name, data in files:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                with os.fdopen(os.open(name, flags, 0o666, dir_fd=inside), "wb") as stream:
                    stream.write(data)
        finally:
            os.close(inside)

    def close(self) -> None:
        os.close(self.fd)
