"""The edge for local processes, with real child processes (the Windows branch too)."""

import os
import subprocess
import sys

import signal
import threading
import time

import pytest

from dcos_node_ssh import local, sshagent
from dcos_node_ssh.errors import SshSetupError


def test_windows_branch_returns_the_child_exit_status():
    assert local.exec_program([sys.executable, "-c", "raise SystemExit(42)"], posix=False) == 42
    assert local.exec_program([sys.executable, "-c", "pass"], posix=False) == 0


def test_posix_branch_replaces_the_process():
    """execvp: the child's own pid runs ssh's stand-in, and its status is the process's."""
    code = (
        "import os, sys; from dcos_node_ssh import local; print(os.getpid(), flush=True); "
        "local.exec_program(['sh', '-c', 'echo $$; exit 7'], posix=True); print('not replaced')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    python_pid, shell_pid = result.stdout.split()
    assert result.returncode == 7 and python_pid == shell_pid


def _handed_over(call, stdin=None):
    """`call` (an exec_program call, as text) in a Python of its own; its result."""
    code = f"from dcos_node_ssh import local; print('status', {call}, flush=True); print('still here')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, input=stdin,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))


FEEDING = "['sh', '-c', 'cat; echo printed; echo said >&2; exit 4'], stdin=b'fed\\n' * 40000, stdout_to_stderr=True"


@pytest.mark.parametrize("posix", [True, False], ids=["posix", "windows-branch"])
def test_a_program_handed_over_reads_the_bytes_given_and_prints_on_stderr(posix):
    """sftp's commands: 320 kB, more than a pipe holds, read whole; its echo off stdout."""
    result = _handed_over(f"local.exec_program({FEEDING}, posix={posix})", stdin=b"not this")
    assert result.stderr == b"fed\n" * 40000 + b"printed\nsaid\n"
    if posix:
        assert (result.returncode, result.stdout) == (4, b"")
    else:
        assert (result.returncode, result.stdout) == (0, b"status 4\nstill here\n")


def test_a_failed_exec_gives_the_streams_back():
    """When the program cannot run, this process goes on with its own stdin and stdout."""
    call = "local.exec_program(['/nonexistent/sftp'], stdin=b'x', stdout_to_stderr=True)"
    code = ("import sys; from dcos_node_ssh import local\ntry:\n    " + call + "\nexcept OSError as error:\n"
            "    print('failed', error.errno, sys.stdin.read(), flush=True)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, input=b"own stdin",
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"failed 2 own stdin\n", b"")


def test_posix_demands_ssh_auth_sock():
    with pytest.raises(SshSetupError, match="SSH_AUTH_SOCK is not set"):
        sshagent.check_agent({}, "/usr/bin/ssh", posix=True)


def test_find_client_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SshSetupError, match="apt install openssh-client"):
        local.find_client("ssh", plink=False)


def test_a_probe_that_closes_its_output_before_exiting_keeps_its_status():
    """ssh may close stdout a moment before it exits: its status must still be read."""
    finished = local.run(["sh", "-c", "exec >&-; sleep 0.3; exit 3"], os.environ, 10, first_line_only=True)
    assert (finished.status, finished.first_line) == (3, "")


def test_a_probe_that_answers_and_stays_open_is_ended_at_once():
    started = time.monotonic()
    finished = local.run(["sh", "-c", "echo SSH-2.0-OpenSSH_9.2; exec sleep 30"], os.environ, 10,
                         first_line_only=True)
    assert (finished.status, finished.first_line) == (None, "SSH-2.0-OpenSSH_9.2")
    assert time.monotonic() - started < 5


def test_a_child_that_never_ends_is_bounded_with_what_it_left_running():
    """The deadline ends the whole process group: a grandchild holding the output too."""
    started = time.monotonic()
    finished = local.run(["sh", "-c", "sleep 30 & echo started; sleep 30"], os.environ, 0.5)
    assert finished.status is None and finished.first_line == "started"
    assert time.monotonic() - started < 5


def test_a_child_keeps_its_stderr_and_status():
    finished = local.run(["sh", "-c", "echo 'Permission denied (publickey).' >&2; exit 255"], os.environ, 10)
    assert finished.status == 255 and "Permission denied" in finished.errors


def test_a_missing_program_is_127_with_the_reason():
    finished = local.run(["/nonexistent/ssh", "-V"], os.environ, 10)
    assert finished.status == 127 and "No such file" in finished.errors


def test_ctrl_c_ends_the_child_and_reaches_the_caller():
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        local.run(["sh", "-c", "echo $$; exec sleep 30"], os.environ, 20)
    assert time.monotonic() - started < 5
