"""Local processes (dcos_node_ssh.proc), with real child processes: finding programs, one
child with a deadline, handing over (exec, and the Windows branch), the window of many
children, and stop signals."""

import os
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest

from dcos_node_ssh import sshagent
from dcos_node_ssh.errors import ExitStatus, SshSetupError
from dcos_node_ssh.proc import handover, programs, spawn
from dcos_node_ssh.proc.signals import Signals
from dcos_node_ssh.proc.window import LINGER, Ending, fit_width, run_window

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def python(code):
    return [sys.executable, "-c", code]


def gone(pid, seconds=10):
    """Whether the process has ended (a zombie waiting for init counts as ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not os.path.isdir("/proc"):  # macOS: no zombie to tell apart
                os.kill(pid, 0)
            else:
                with open(f"/proc/{pid}/stat") as stream:
                    if stream.read().rpartition(")")[2].split()[0] == "Z":
                        return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


# -- handing over ----------------------------------------------------------------------------

def test_windows_branch_returns_the_child_exit_status():
    assert handover.exec_program([sys.executable, "-c", "raise SystemExit(42)"], posix=False) == 42
    assert handover.exec_program([sys.executable, "-c", "pass"], posix=False) == 0


def test_posix_branch_replaces_the_process():
    """execvp: the child's own pid runs ssh's stand-in, and its status is the process's."""
    code = (
        "import os, sys; from dcos_node_ssh.proc import handover; print(os.getpid(), flush=True); "
        "handover.exec_program(['sh', '-c', 'echo $$; exit 7'], posix=True); print('not replaced')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    python_pid, shell_pid = result.stdout.split()
    assert result.returncode == 7 and python_pid == shell_pid


def _handed_over(call, stdin=None):
    """`call` (an exec_program call, as text) in a Python of its own; its result."""
    code = f"from dcos_node_ssh.proc import handover; print('status', {call}, flush=True); print('still here')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, input=stdin,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))


FEEDING = "['sh', '-c', 'cat; echo printed; echo said >&2; exit 4'], stdin=b'fed\\n' * 40000, stdout_to_stderr=True"


@pytest.mark.parametrize("posix", [True, False], ids=["posix", "windows-branch"])
def test_a_program_handed_over_reads_the_bytes_given_and_prints_on_stderr(posix):
    """sftp's commands: 320 kB, more than a pipe holds, read whole; its echo off stdout."""
    result = _handed_over(f"handover.exec_program({FEEDING}, posix={posix})", stdin=b"not this")
    assert result.stderr == b"fed\n" * 40000 + b"printed\nsaid\n"
    if posix:
        assert (result.returncode, result.stdout) == (4, b"")
    else:
        assert (result.returncode, result.stdout) == (0, b"status 4\nstill here\n")


def test_a_failed_exec_gives_the_streams_back():
    """When the program cannot run, this process goes on with its own stdin and stdout."""
    call = "handover.exec_program(['/nonexistent/sftp'], stdin=b'x', stdout_to_stderr=True)"
    code = ("import sys; from dcos_node_ssh.proc import handover\ntry:\n    " + call + "\nexcept OSError as error:\n"
            "    print('failed', error.errno, sys.stdin.read(), flush=True)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, input=b"own stdin",
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"failed 2 own stdin\n", b"")


# -- finding programs ------------------------------------------------------------------------

def test_posix_demands_ssh_auth_sock():
    with pytest.raises(SshSetupError, match="SSH_AUTH_SOCK is not set"):
        sshagent.check_agent({}, "/usr/bin/ssh", posix=True)


def test_find_client_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SshSetupError, match="apt install openssh-client"):
        programs.find_client("ssh", plink=False)


def test_which_takes_a_name_with_a_separator_as_a_path(tmp_path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    assert programs.which(str(tool)) is None  # not executable
    tool.chmod(0o755)
    assert programs.which(str(tool)) == str(tool) and programs.which("tool", str(tmp_path)) == str(tool)


# -- one child with a deadline ---------------------------------------------------------------

def test_a_probe_that_closes_its_output_before_exiting_keeps_its_status():
    """ssh may close stdout a moment before it exits: its status must still be read."""
    finished = spawn.run(["sh", "-c", "exec >&-; sleep 0.3; exit 3"], os.environ, 10, first_line_only=True)
    assert (finished.status, finished.first_line) == (3, "")


def test_a_probe_that_answers_and_stays_open_is_ended_at_once():
    started = time.monotonic()
    finished = spawn.run(["sh", "-c", "echo SSH-2.0-OpenSSH_9.2; exec sleep 30"], os.environ, 10,
                         first_line_only=True)
    assert (finished.status, finished.first_line) == (None, "SSH-2.0-OpenSSH_9.2")
    assert time.monotonic() - started < 5


def test_a_child_that_never_ends_is_bounded_with_what_it_left_running():
    """The deadline ends the whole process group: a grandchild holding the output too."""
    started = time.monotonic()
    finished = spawn.run(["sh", "-c", "sleep 30 & echo started; sleep 30"], os.environ, 0.5)
    assert finished.status is None and finished.first_line == "started"
    assert time.monotonic() - started < 5


def test_a_child_keeps_its_stderr_and_status():
    finished = spawn.run(["sh", "-c", "echo 'Permission denied (publickey).' >&2; exit 255"], os.environ, 10)
    assert finished.status == 255 and "Permission denied" in finished.errors


def test_a_missing_program_is_127_with_the_reason():
    finished = spawn.run(["/nonexistent/ssh", "-V"], os.environ, 10)
    assert finished.status == ExitStatus.CANNOT_RUN == 127 and "No such file" in finished.errors


def test_ctrl_c_ends_the_child_and_reaches_the_caller():
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        spawn.run(["sh", "-c", "echo $$; exec sleep 30"], os.environ, 20)
    assert time.monotonic() - started < 5


def test_a_detached_program_gets_the_terminal_s_group_and_logs_its_stderr(tmp_path):
    log = tmp_path / "log"
    code = "import os, sys; sys.stderr.write(str(os.getpgid(0) == int(sys.argv[1]))); sys.exit(5)"
    assert spawn.start_detached(python(code) + [str(os.getpgid(0))], ENV, str(log), 30) == 5
    assert log.read_text() == "True"
    assert spawn.start_detached(["/nonexistent/ssh"], ENV, str(log), 30) == ExitStatus.CANNOT_RUN
    assert "/nonexistent/ssh: No such file" in log.read_text()


def test_a_detached_program_is_ended_when_asked_to_stop(tmp_path):
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert spawn.start_detached(["sleep", "30"], ENV, str(tmp_path / "log"), 30, stop.is_set) is None
    assert time.monotonic() - started < 10


# -- the window of many children -------------------------------------------------------------

class Recorder:
    """A window handler that keeps what it is told."""

    def __init__(self, more=lambda ends: True, on_output=lambda index: None):
        self.chunks = {}
        self.ends = {}
        self._more = more
        self._on_output = on_output

    def output(self, index, stream, chunk):
        self.chunks.setdefault((index, stream), []).append(chunk)
        self._on_output(index)

    def ended(self, index, ending, code):
        assert index not in self.ends, "one end per child"
        self.ends[index] = (ending, code)

    def more(self):
        return self._more(self.ends)

    def bytes(self, index, stream):
        return b"".join(self.chunks.get((index, stream), []))


def test_the_window_bounds_the_children_in_flight_and_keeps_bytes(tmp_path):
    marker = str(tmp_path / "running")
    code = ("import os, sys, time\n"
            f"path = {marker!r} + str(os.getpid())\n"
            "open(path, 'w').close()\n"
            f"count = len([n for n in os.listdir({str(tmp_path)!r}) if n.startswith('running')])\n"
            "time.sleep(0.05)\n"
            "os.remove(path)\n"
            "sys.stdout.buffer.write(b'\\xff' + str(count).encode() + b'\\r\\n')\n"
            "sys.stderr.write('e')\n"
            "sys.exit(int(sys.argv[1]))\n")
    recorder = Recorder()
    assert not run_window([python(code) + [str(i % 3)] for i in range(12)], ENV, 3, None, recorder)
    assert recorder.ends == {i: (Ending.EXITED, i % 3) for i in range(12)}
    for i in range(12):
        data = recorder.bytes(i, 1)
        assert data.startswith(b"\xff") and data.endswith(b"\r\n") and int(data[1:-2]) <= 3
        assert recorder.bytes(i, 2) == b"e"


def test_the_window_times_out_each_child_and_goes_on():
    recorder = Recorder()
    run_window([python("import time; time.sleep(30)"), python("print('quick')")], ENV, 2, 0.5, recorder)
    assert recorder.ends == {0: (Ending.TIMED_OUT, None), 1: (Ending.EXITED, 0)}


def test_the_window_stops_starting_when_the_handler_wants_no_more():
    recorder = Recorder(more=lambda ends: len(ends) < 2)
    run_window([python("pass")] * 5, ENV, 1, None, recorder)
    assert sorted(recorder.ends) == [0, 1]


def test_the_window_reports_a_program_that_cannot_start_and_goes_on():
    recorder = Recorder()
    run_window([["/nonexistent/ssh"], python("pass")], ENV, 1, None, recorder)
    assert recorder.ends == {0: (Ending.UNSTARTED, None), 1: (Ending.EXITED, 0)}
    assert recorder.bytes(0, 2) == b"/nonexistent/ssh: No such file or directory\n"


def test_a_child_killed_by_a_signal_is_reported_as_killed_not_as_an_exit_status():
    recorder = Recorder()
    run_window([python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")], ENV, 1, None, recorder)
    assert recorder.ends == {0: (Ending.KILLED, signal.SIGKILL)}


def test_what_a_child_leaves_holding_its_output_is_ended_after_a_grace(tmp_path):
    pid_file = tmp_path / "pid"
    recorder = Recorder()
    started = time.monotonic()
    run_window([["sh", "-c", f"sleep 60 & echo $! > {pid_file}; echo out; exit 4"]], ENV, 1, None, recorder)
    assert time.monotonic() - started < LINGER + 10
    assert recorder.ends == {0: (Ending.EXITED, 4)} and recorder.bytes(0, 1) == b"out\n"
    assert gone(int(pid_file.read_text()))


@pytest.mark.parametrize("signals", [
    [signal.SIGINT], [signal.SIGINT, signal.SIGINT], [signal.SIGTERM], [signal.SIGHUP], [signal.SIGTERM, signal.SIGINT],
])
def test_a_stop_signal_ends_every_running_child_and_starts_no_more(tmp_path, signals):
    """The first one counts; another right after it changes nothing."""
    def on_output(index):
        for number in signals:
            signal.raise_signal(number)

    argvs = [["sh", "-c", f"echo $$ > {tmp_path}/$$; echo up; exec sleep 30"]] * 2 + [python("pass")] * 3
    recorder = Recorder(on_output=on_output)
    with Signals() as caught:
        started = time.monotonic()
        assert run_window(argvs, ENV, 2, None, recorder, caught)
    assert time.monotonic() - started < 10
    assert caught.caught == signals[0]
    assert caught.exit_status() == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}[signals[0]]
    assert set(recorder.ends) <= {0, 1} and set(recorder.ends.values()) == {(Ending.INTERRUPTED, None)}
    assert all(gone(int(name)) for name in os.listdir(tmp_path))


def test_signals_leaves_a_signal_ignored_as_it_was():
    """Under nohup SIGHUP is ignored: it stays ignored, and is no stop."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with Signals() as caught:
            signal.raise_signal(signal.SIGHUP)
        assert caught.caught is None and caught.exit_status() is None
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def fitted(width, soft, hard):
    """fit_width in a process whose limit on open files is (soft, hard)."""
    code = ("import resource, sys; from dcos_node_ssh.proc.window import fit_width\n"
            f"print(*fit_width({width}), resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    result = subprocess.run(python(code), capture_output=True, text=True, check=True,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    return tuple(map(int, result.stdout.split()))


def test_the_window_is_fitted_to_the_limit_on_open_files():
    assert fitted(100, 64, 1024) == (100, 432, 432)  # the soft limit raised to what 100 need
    assert fitted(100, 64, 64) == (8, 64, 64)  # the hard limit allows 8
    assert fitted(100, 32, 32) == (0, 32, 32)
    assert fit_width(1)[0] == 1


def test_children_that_write_to_logs_leave_what_they_started_only_when_they_succeed(tmp_path):
    """As an ssh that puts its warm connection in the background: exit 0 leaves the daemon
    (and whatever else is in the child's process group) running; a failure, a timeout or a
    program that cannot start leave nothing, and say why in the log."""
    script = ("sleep 60 & echo $! > {pid}; echo 'said on stderr' >&2; echo 'not on stdout'; exit {status}")
    argvs = [["sh", "-c", script.format(pid=tmp_path / "kept", status=0)],
             ["sh", "-c", script.format(pid=tmp_path / "ended", status=255)],
             ["sh", "-c", f"sleep 60 & echo $! > {tmp_path / 'late'}; exec sleep 60"],
             ["/nonexistent/ssh"]]
    logs = [str(tmp_path / f"log-{index}") for index in range(len(argvs))]
    recorder = Recorder()
    try:
        assert not run_window(argvs, ENV, 4, 2.0, recorder, logs=logs)
        assert recorder.ends == {0: (Ending.EXITED, 0), 1: (Ending.EXITED, 255), 2: (Ending.TIMED_OUT, None),
                                 3: (Ending.UNSTARTED, None)}
        assert recorder.chunks == {}  # the output is in the logs
        assert [open(log).read() for log in logs[:2]] == ["said on stderr\n"] * 2
        assert open(logs[3]).read() == "/nonexistent/ssh: No such file or directory\n"
        assert not gone(int((tmp_path / "kept").read_text()), seconds=0.5)
        assert gone(int((tmp_path / "ended").read_text())) and gone(int((tmp_path / "late").read_text()))
    finally:
        os.kill(int((tmp_path / "kept").read_text()), signal.SIGKILL)
