"""foreground.py with real children: stderr lines as they come, exit statuses, ending a child
that ignores SIGTERM, the terminal mode (nothing piped), and stop signals as exceptions.
The Windows branch (subprocess.Popen) runs here too: Popen is the same on Linux."""

import os
import signal
import sys
import time

import pytest

from dcos_node_ssh import foreground
from dcos_node_ssh.foreground import Foreground, Stopped, StopSignals

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest.fixture(params=["posix", "windows"])
def branch(request, monkeypatch):
    monkeypatch.setattr(foreground, "POSIX", request.param == "posix")
    return request.param


def wait_exit(child, seconds=10):
    deadline = time.monotonic() + seconds
    while not child.exited():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_lines_come_as_they_are_written_and_the_status_at_the_end(branch):
    child = Foreground(["sh", "-c", "echo one >&2; echo out; sleep 0.3; printf 'two\\r\\n' >&2; exit 3"], ENV)
    assert child.line(5) == "one"  # stdout goes nowhere
    assert child.line(5) == "two"
    wait_exit(child)
    assert child.status == 3 and child.line(0.05) is None
    child.end()
    assert child.said == ["one", "two"]


def test_end_terminates_then_kills_and_keeps_the_last_words(branch):
    child = Foreground(["sh", "-c", "trap 'echo bye >&2; exit 0' TERM; echo up >&2; while :; do sleep 0.05; done"],
                       ENV)
    assert child.line(5) == "up"
    child.end()
    assert child.status == 0 and child.said[-1] == "bye"
    stubborn = Foreground(["sh", "-c", "trap '' TERM; echo up >&2; while :; do sleep 0.05; done"], ENV)
    assert stubborn.line(5) == "up"
    started = time.monotonic()
    stubborn.end(seconds=0.3)
    assert stubborn.status in (-signal.SIGKILL, 1) and time.monotonic() - started < 5


def test_in_terminal_mode_nothing_is_piped(branch, capfd):
    child = Foreground([sys.executable, "-c", "import sys; sys.stderr.write('asked\\n')"], ENV, terminal=True)
    wait_exit(child)
    child.end()
    assert child.line(0.05) is None and child.said == []
    assert "asked" in capfd.readouterr().err


def test_stop_signals_raise_until_quiet_and_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as signals:
        with pytest.raises(Stopped) as stopped:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert stopped.value.number == signal.SIGTERM
        signals.quiet()
        os.kill(os.getpid(), signal.SIGHUP)  # ignored now: the clean-up goes on
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
