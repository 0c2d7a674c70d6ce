"""Finding programs: on PATH as a shell finds them, and which ssh client to use."""

import os
from typing import Mapping, Optional

from ..errors import SshSetupError, shown
from . import POSIX


def which(name: str, path: Optional[str] = None, posix: bool = POSIX) -> Optional[str]:
    """The program `name` on PATH, as a shell would find it, or None. A name holding a
    path separator is taken as a path."""
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
    """The client's path, looked up in `search` (the command's PATH; None: this process's),
    or an error that says how to install one."""
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


def find_scp(env: Mapping[str, str]) -> str:
    """OpenSSH's scp on the user's PATH, or an error that says how to install it."""
    program = which("scp", env.get("PATH", os.defpath))
    if program is None:
        raise SshSetupError("No `scp` program was found on PATH. Install an OpenSSH client (Debian and Ubuntu: "
                            "`apt install openssh-client`; RHEL: `yum install openssh-clients`).")
    return program
