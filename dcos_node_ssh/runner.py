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


class WindowsAgents:
    """Where Windows keeps ssh agents. Tests, which do not run on Windows, pass their own."""

    OPENSSH_PIPE = r"\\.\pipe\openssh-ssh-agent"

    @classmethod
    def openssh_agent(cls) -> bool:
        return os.path.exists(cls.OPENSSH_PIPE)

    @staticmethod
    def pageant() -> bool:
        try:
            import ctypes

            return bool(ctypes.windll.user32.FindWindowW("Pageant", "Pageant"))
        except (ImportError, AttributeError, OSError):
            return False


_START_OPENSSH_AGENT = (
    "In an administrator PowerShell run `Get-Service ssh-agent | Set-Service -StartupType Manual; "
    "Start-Service ssh-agent`, then `ssh-add $HOME\\.ssh\\<key>.pem`"
)
_START_PAGEANT = (
    "Convert your key with PuTTYgen (File > Load private key, choose <key>.pem; Save private "
    "key as <key>.ppk), start Pageant, click Add Key and choose the .ppk"
)


def _exit_status_quietly(argv: Sequence[str], env: Mapping[str, str], seconds: float,
                         posix: bool = POSIX) -> Optional[int]:
    """Run argv with no input or output; its exit status, or None if it could not run in time."""
    if not posix:
        import subprocess

        try:
            return subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=seconds).returncode
        except (OSError, subprocess.TimeoutExpired):
            return None
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


def check_agent(env: Mapping[str, str], client_path: str, plink: bool = False, posix: bool = POSIX,
                windows=WindowsAgents) -> None:
    """Proxy modes forward the agent: without a key in it the second hop asks for a password.

    On Windows no agent sets SSH_AUTH_SOCK: plink forwards Pageant, and OpenSSH's ssh
    the OpenSSH agent service's named pipe.
    """
    if not posix and plink:
        if not windows.pageant():
            raise SshSetupError(
                "A proxy hop forwards your keys from Pageant to reach the node, but Pageant is not "
                "running. " + _START_PAGEANT + "; then try again."
            )
        return  # Pageant is not asked for its keys here; plink reports what it finds.
    if not posix and not env.get("SSH_AUTH_SOCK") and not windows.openssh_agent():
        raise SshSetupError(
            "A proxy hop forwards your ssh-agent to reach the node, but the Windows OpenSSH agent "
            f"is not running (no {WindowsAgents.OPENSSH_PIPE}). " + _START_OPENSSH_AGENT
            + ". Or use PuTTY: --ssh-client=plink, with your key in Pageant."
        )
    if posix and not env.get("SSH_AUTH_SOCK"):
        raise SshSetupError(
            "A proxy hop forwards your ssh-agent to reach the node, but no agent is running "
            "here (SSH_AUTH_SOCK is not set). Start one with `eval \"$(ssh-agent)\"`, then "
            + _ADD_KEY_FIX + "."
        )
    ssh_add = which("ssh-add", path=os.path.dirname(client_path), posix=posix) or which("ssh-add", posix=posix)
    if not ssh_add:
        return  # Nothing to ask the agent with; ssh will report what it finds.
    status = _exit_status_quietly([ssh_add, "-l"], env, _AGENT_CHECK_SECONDS, posix)
    if status == 1:
        raise SshSetupError(
            "Your ssh-agent holds no keys, so the hop from the proxy to the node would ask for "
            "a password. " + _ADD_KEY_FIX + ", then try again."
        )
    if status not in (0, None):
        where = env.get("SSH_AUTH_SOCK") or WindowsAgents.OPENSSH_PIPE
        start = "`eval \"$(ssh-agent)\"`, then " + _ADD_KEY_FIX if posix else _START_OPENSSH_AGENT
        raise SshSetupError(f"Cannot talk to the ssh-agent at {where}: it may have exited. Start a new one: {start}.")


def run_ssh(argv: Sequence[str], posix: bool = POSIX, shell: Optional[str] = None) -> int:
    """Hand over to ssh: on POSIX it replaces this process, owning the terminal and signals;
    on Windows, which has no exec, it runs as a child whose exit status is returned.
    `shell`, when given, is the SHELL ssh sees (it runs a ProxyCommand with it)."""
    sys.stdout.flush()
    sys.stderr.flush()
    env = dict(os.environ, SHELL=shell) if shell and posix else None
    if posix:
        if env is not None:
            os.execvpe(argv[0], list(argv), env)
        os.execvp(argv[0], list(argv))
    import subprocess

    try:
        return subprocess.call(list(argv))
    except KeyboardInterrupt:
        # Ctrl-C reached ssh too; its exit status is what the user wants to see.
        return 130
