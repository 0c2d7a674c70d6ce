"""The probes of --check, with real child processes."""

import os
import time

from dcos_node_ssh.check import _port, _run


def test_a_probe_that_closes_its_output_before_exiting_keeps_its_status():
    """ssh may close stdout a moment before it exits: its status must still be read."""
    status, line, _ = _run(["sh", "-c", "exec >&-; sleep 0.3; exit 3"], os.environ, 10, first_line_only=True)
    assert (status, line) == (3, "")


def test_a_probe_that_answers_and_stays_open_is_ended_at_once():
    started = time.monotonic()
    status, line, _ = _run(["sh", "-c", "echo SSH-2.0-OpenSSH_9.2; exec sleep 30"], os.environ, 10,
                           first_line_only=True)
    assert (status, line) == (None, "SSH-2.0-OpenSSH_9.2")
    assert time.monotonic() - started < 5


def test_a_probe_that_never_ends_is_bounded():
    status, _, _ = _run(["sleep", "30"], os.environ, 0.5)
    assert status is None


def test_a_probe_keeps_its_stderr():
    status, _, errors = _run(["sh", "-c", "echo 'Permission denied (publickey).' >&2; exit 255"], os.environ, 10)
    assert status == 255 and "Permission denied" in errors


def test_port_from_options():
    assert _port([]) == 22
    assert _port(["StrictHostKeyChecking=no", "Port=2222", "port=2200"]) == 2222
