"""The edge that runs ssh: the Windows branch runs here with a real child process."""

import os
import subprocess
import sys

import pytest

from dcos_node_ssh import runner
from dcos_node_ssh.errors import SshSetupError


def test_windows_branch_returns_the_child_exit_status():
    assert runner.run_ssh([sys.executable, "-c", "raise SystemExit(42)"], posix=False) == 42
    assert runner.run_ssh([sys.executable, "-c", "pass"], posix=False) == 0


def test_posix_branch_replaces_the_process():
    """execvp: the child's own pid runs ssh's stand-in, and its status is the process's."""
    code = (
        "import os, sys; from dcos_node_ssh import runner; print(os.getpid(), flush=True); "
        "runner.run_ssh(['sh', '-c', 'echo $$; exit 7'], posix=True); print('not replaced')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    python_pid, shell_pid = result.stdout.split()
    assert result.returncode == 7 and python_pid == shell_pid


def test_posix_demands_ssh_auth_sock():
    with pytest.raises(SshSetupError, match="SSH_AUTH_SOCK is not set"):
        runner.check_agent({}, "/usr/bin/ssh", posix=True)


def test_find_client_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SshSetupError, match="apt install openssh-client"):
        runner.find_client("ssh", plink=False)
