"""The ssh-agent that a proxy hop forwards: is it there, does it answer, does it hold keys.

On Windows no agent sets SSH_AUTH_SOCK: plink forwards Pageant, and OpenSSH's ssh
the OpenSSH agent service's named pipe.
"""

import os
from typing import Mapping

from .errors import SshSetupError
from .proc import POSIX, programs, spawn

AGENT_SECONDS = 5.0  # a live agent answers in milliseconds

_ADD_KEY_FIX = (
    "Add your cluster's key to the agent with `ssh-add ~/.ssh/<key>.pem` "
    "(after `chmod 600 ~/.ssh/<key>.pem`)"
)
_START_OPENSSH_AGENT = (
    "In an administrator PowerShell run `Get-Service ssh-agent | Set-Service -StartupType Manual; "
    "Start-Service ssh-agent`, then `ssh-add $HOME\\.ssh\\<key>.pem`"
)
_START_PAGEANT = (
    "Convert your key with PuTTYgen (File > Load private key, choose <key>.pem; Save private "
    "key as <key>.ppk), start Pageant, click Add Key and choose the .ppk"
)


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

            return bool(ctypes.windll.user32.FindWindowW("Pageant", "Pageant"))  # type: ignore[attr-defined]
        except (ImportError, AttributeError, OSError):
            return False


def check_agent(env: Mapping[str, str], client_path: str, plink: bool = False, posix: bool = POSIX,
                windows=WindowsAgents) -> str:
    """What the agent holds ("2 keys at /tmp/agent.sock"), or an SshSetupError saying
    how to start one or add a key: without a key in it, the hop from the proxy asks for
    a password."""
    if not posix and plink:
        if not windows.pageant():
            raise SshSetupError(
                "A proxy hop forwards your keys from Pageant to reach the node, but Pageant is not "
                "running. " + _START_PAGEANT + "; then try again."
            )
        return "Pageant is running"  # Pageant is not asked for its keys here; plink reports what it finds.
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
    where = env.get("SSH_AUTH_SOCK") or WindowsAgents.OPENSSH_PIPE
    ssh_add = (programs.which("ssh-add", path=os.path.dirname(client_path), posix=posix)
               or programs.which("ssh-add", env.get("PATH", os.defpath), posix=posix))
    if not ssh_add:
        return f"at {where}"  # Nothing to ask the agent with; ssh will report what it finds.
    start = "`eval \"$(ssh-agent)\"`, then " + _ADD_KEY_FIX if posix else _START_OPENSSH_AGENT
    listing = spawn.run([ssh_add, "-l"], env, AGENT_SECONDS, posix=posix)
    if listing.status is None:
        raise SshSetupError(
            f"The ssh-agent at {where} did not answer within {AGENT_SECONDS:g} seconds: it may be stuck. "
            f"Start a new one: {start}."
        )
    if listing.status == 1:
        raise SshSetupError(
            "Your ssh-agent holds no keys, so the hop from the proxy to the node would ask for "
            "a password. " + _ADD_KEY_FIX + ", then try again."
        )
    if listing.status != 0:
        raise SshSetupError(f"Cannot talk to the ssh-agent at {where}: it may have exited. Start a new one: {start}.")
    keys = [line for line in listing.stdout.splitlines() if line.strip()]
    return f"{len(keys)} key{'s' if len(keys) != 1 else ''} at {where}"
