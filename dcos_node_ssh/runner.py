"""The thin edge that touches the local ssh: finding it, checking the agent, running it."""

import os
import shutil
import subprocess
import sys
from typing import Mapping, Sequence

from .errors import SshSetupError

_ADD_KEY_FIX = (
    "Add your cluster's key to the agent with `ssh-add ~/.ssh/<key>.pem` "
    "(after `chmod 600 ~/.ssh/<key>.pem`)"
)


def find_ssh(name: str = "ssh") -> str:
    path = shutil.which(name)
    if path is None:
        raise SshSetupError(
            f"No `{name}` program was found on PATH. Install an OpenSSH client (Debian and "
            "Ubuntu: `apt install openssh-client`; RHEL and CentOS: `yum install "
            "openssh-clients`; Windows: the optional feature \"OpenSSH Client\") and try again."
        )
    return path


POSIX = os.name == "posix"


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
        ssh_add = shutil.which("ssh-add") or ""
    if not ssh_add:
        return  # Nothing to ask the agent with; ssh will report what it finds.
    try:
        result = subprocess.run(
            [ssh_add, "-l"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return
    if result.returncode == 1:
        raise SshSetupError(
            "Your ssh-agent holds no keys, so the hop from the proxy to the node would ask for "
            "a password. " + _ADD_KEY_FIX + ", then try again."
        )
    if result.returncode != 0:
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
    try:
        return subprocess.call(list(argv))
    except KeyboardInterrupt:
        # Ctrl-C reached ssh too; its exit status is what the user wants to see.
        return 130
