"""The thin edge that touches the local ssh: finding it, checking the agent, running it.

On POSIX this avoids importing subprocess and shutil (a few milliseconds of
start-up before every ssh session); Windows uses them.
"""

import os
import sys
import time
from typing import Mapping, Optional, Sequence

from .errors import SshSetupError

POSIX = os.name == "posix"

_ADD_KEY_FIX = (
    "Add your cluster's key to the agent with `ssh-add ~/.ssh/<key>.pem` "
    "(after `chmod 600 ~/.ssh/<key>.pem`)"
)
_AGENT_CHECK_SECONDS = 10.0


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


def find_ssh(name: str = "ssh") -> str:
    path = which(name)
    if path is None:
        raise SshSetupError(
            f"No `{name}` program was found on PATH. Install an OpenSSH client (Debian and "
            "Ubuntu: `apt install openssh-client`; RHEL and CentOS: `yum install "
            "openssh-clients`; Windows: the optional feature \"OpenSSH Client\") and try again."
        )
    return path


def _exit_status_quietly(argv: Sequence[str], env: Mapping[str, str], seconds: float) -> Optional[int]:
    """Run argv with no input or output; its exit status, or None if it could not run in time."""
    devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    try:
        pid = os.posix_spawn(argv[0], list(argv), dict(env), file_actions=devnull)
    except OSError:
        return None
    deadline = time.monotonic() + seconds
    pause = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def check_agent(env: Mapping[str, str], ssh_path: str, posix: bool = POSIX) -> None:
    """Proxy modes forward the agent: without a key in it the second hop asks for a password."""
    if not posix:
        return  # Windows agents (Pageant, the OpenSSH service) do not set SSH_AUTH_SOCK.
    if not env.get("SSH_AUTH_SOCK"):
        raise SshSetupError(
            "A proxy hop forwards your ssh-agent to reach the node, but no agent is running "
            "here (SSH_AUTH_SOCK is not set). Start one with `eval \"$(ssh-agent)\"`, then "
            + _ADD_KEY_FIX + "."
        )
    ssh_add = os.path.join(os.path.dirname(ssh_path), "ssh-add")
    if not os.access(ssh_add, os.X_OK):
        ssh_add = which("ssh-add") or ""
    if not ssh_add:
        return  # Nothing to ask the agent with; ssh will report what it finds.
    status = _exit_status_quietly([ssh_add, "-l"], env, _AGENT_CHECK_SECONDS)
    if status == 1:
        raise SshSetupError(
            "Your ssh-agent holds no keys, so the hop from the proxy to the node would ask for "
            "a password. " + _ADD_KEY_FIX + ", then try again."
        )
    if status not in (0, None):
        raise SshSetupError(
            f"Cannot talk to the ssh-agent at SSH_AUTH_SOCK={env['SSH_AUTH_SOCK']}: it may have "
            "exited. Start a new one with `eval \"$(ssh-agent)\"`, then " + _ADD_KEY_FIX + "."
        )


def run_ssh(argv: Sequence[str], posix: bool = POSIX) -> int:
    """Hand over to ssh: on POSIX it replaces this process, owning the terminal and signals;
    on Windows, which has no exec, it runs as a child whose exit status is returned."""
    sys.stdout.flush()
    sys.stderr.flush()
    if posix:
        os.execvp(argv[0], list(argv))
    import subprocess

    try:
        return subprocess.call(list(argv))
    except KeyboardInterrupt:
        # Ctrl-C reached ssh too; its exit status is what the user wants to see.
        return 130
