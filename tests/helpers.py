"""What many test files share: the whole CLI run in-process (`app.main` with a test
Environment), the installed console script run as the DC/OS CLI runs it, the DC/OS config
a test user has, the checks every refusal passes, and the check that the plugin left the
user's files alone.

In-process is for everything that stops before ssh runs (listings, --dry-run, errors);
what runs ssh, or needs a terminal, a signal, a closed stream or a process of its own,
runs the installed console script (run_plugin, sim_ssh). Test files import from here,
never from each other; pytest fixtures live in conftest.py.
"""

import hashlib
import io
import os
import signal
import struct
import subprocess
import sys
import time
from typing import Dict, List, NamedTuple, Optional

import clusterdata
from dcos_node_ssh import app
from dcos_node_ssh.environment import Environment, Output

# The agents of the loopback stand-in of the cluster API (conftest's `api` fixture).
AGENTS = [
    clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S0", "dcos-01", "10.0.1.20"),
    clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S1", "10.0.1.21", "10.0.1.21"),
    clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S2", "10.0.1.22", "10.0.1.22", public=True),
]

# Remote commands whose words a shell reads in surprising ways: each must behave through
# the plugin's hops as with plain `ssh host <words>`.
TRICKY_COMMANDS = [
    ["echo", "a  b", "c"],
    ["echo", "'a  b'", '"$HOME"'],
    ["printf", "'%s|'", "one two", "'three four'"],
    ["echo $(echo inner); echo", "second; exit 3"],
    ["echo", "`echo backtick`", "&&", "echo", "and"],
    ["echo 'unterminated"],
    ["cd /; echo", "*", "| wc -w"],
    ["echo", "~", "~core", "#", "comment"],
    ["test", "-n", "\"$SSH_CONNECTION\"", "&&", "echo", "connected"],
]


class Ran(NamedTuple):
    """An in-process run, as a subprocess.CompletedProcess reads: status and text."""

    returncode: int
    stdout: str
    stderr: str


def base_env(home, **extra) -> Dict[str, str]:
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return {key: value for key, value in env.items() if value is not None}


def write_config(path, text, mode=0o600) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(path, mode)
    return path


def config_for(home, url, extra="") -> str:
    """~/.dcos/dcos.toml naming the cluster at `url`, as a user of the DC/OS CLI has it."""
    return write_config(os.path.join(home, ".dcos", "dcos.toml"), f'[core]\ndcos_url = "{url}"\n{extra}')


def dry_run_line(result) -> str:
    """--dry-run prints the command line alone on stdout; no Running line, since nothing runs."""
    assert "Running" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, (result.stdout, result.stderr)
    return lines[0]


def assert_clean_error(result, *fragments) -> None:
    """One paragraph on stderr, exit 125 (the plugin's own failure), no traceback, nothing on stdout; each fragment in
    that paragraph."""
    assert result.returncode == 125, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    first = result.stderr.split("\n\n")[0]
    assert first.startswith(("dcos node ssh: ", "dcos node: ", "dcos node list: ")), result.stderr
    assert first.count("\n") <= 1, result.stderr
    for fragment in fragments:
        assert fragment in first, (fragment, result.stderr)


def snapshot(root) -> Dict[str, tuple]:
    """Every file and folder under root with its content hash and mode."""
    state = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
                with open(path, "rb") as stream:
                    digest = hashlib.sha256(stream.read()).hexdigest()
            state[os.path.relpath(path, root)] = (digest, info.st_mode)
    return state


def unchanged_home(env, run):
    """Run, and check that the user's files (HOME, DCOS_CONFIG) are byte-identical after."""
    roots = [env["HOME"]] + ([os.path.dirname(env["DCOS_CONFIG"])] if env.get("DCOS_CONFIG") else [])
    before = [snapshot(root) for root in roots]
    result = run()
    assert [snapshot(root) for root in roots] == before, "the plugin changed the user's files"
    return result


def run_plugin(dcos_node, args, env, **kwargs) -> subprocess.CompletedProcess:
    """The installed console script `dcos-node <args>`, as the DC/OS CLI runs it: for what
    needs a process of its own (exec'd ssh, the core plugin, signals, closed streams)."""
    kwargs.setdefault("timeout", 60)
    return unchanged_home(env, lambda: subprocess.run([dcos_node] + list(args), env=env, capture_output=True,
                                                      text=True, **kwargs))


def sim_ssh(sim, dcos_node, home, args, env=None, **kwargs) -> subprocess.CompletedProcess:
    """`dcos-node node ssh <args>` as an operator runs it against the simulated cluster
    (tests/simcluster.py), through real OpenSSH hops; the user's files left alone."""
    return sim_node(sim, dcos_node, home, ["ssh"] + list(args), env, **kwargs)


def sim_node(sim, dcos_node, home, args, env=None, **kwargs) -> subprocess.CompletedProcess:
    """`dcos-node node <args>` as sim_ssh runs `ssh`."""
    kwargs.setdefault("text", True)
    env = env or sim.client_env(home)
    return unchanged_home(env, lambda: sim.run([dcos_node, "node"] + list(args), env, **kwargs))


class _NoExec(BaseException):
    """Not an Exception, so that app.main cannot report it as an internal error: the test
    stops here, saying why."""


def _refuse_exec(*args, **kwargs):
    raise _NoExec("an in-process test reached exec: run the installed console script for what runs ssh")


class _Terminal:
    """A real pseudo-terminal of `columns` columns, as a command's stdout: what the command
    writes is read from the other side as it comes (a full terminal would block it)."""

    def __init__(self, columns: int):
        import fcntl
        import pty
        import termios
        import threading

        self._controller, self._terminal = pty.openpty()
        fcntl.ioctl(self._terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.stream = io.TextIOWrapper(io.FileIO(self._terminal, "w", closefd=False), encoding="utf-8",
                                       write_through=True)
        self._read: List[bytes] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._controller, 65536)
            except OSError:  # EIO: the terminal side is closed and everything was read
                return
            if not data:
                return
            self._read.append(data)

    def text(self) -> str:
        """Everything written, as the terminal shows it (its CR LF line ends read as LF)."""
        self.stream.flush()
        os.close(self._terminal)
        self._reader.join(10)
        os.close(self._controller)
        return b"".join(self._read).decode("utf-8").replace("\r\n", "\n")


def cli(args: List[str], env: Dict[str, str], stdin: str = "", check_home: bool = True,
        terminal: Optional[int] = None) -> Ran:
    """`dcos-node <args>` in this process: app.main with an Environment of these variables,
    HOME, and captured streams; with `terminal`, stdout is a real pseudo-terminal of that
    many columns. exec is refused, since it would replace the test runner."""
    out, err = io.BytesIO(), io.BytesIO()
    screen = _Terminal(terminal) if terminal else None
    stdout = screen.stream if screen else io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    environment = Environment(env, env.get("HOME", ""), io.StringIO(stdin), Output(stdout, required=True),
                              Output(stderr, required=False))

    def run() -> Ran:
        saved = os.execvp, os.execvpe, os.execv
        # exec_program gives SIGPIPE its default just before exec: the test runner keeps its own.
        sigpipe = signal.getsignal(signal.SIGPIPE)
        os.execvp = os.execvpe = os.execv = _refuse_exec  # type: ignore[assignment]
        try:
            status = app.main(list(args), environment)
        finally:
            os.execvp, os.execvpe, os.execv = saved
            signal.signal(signal.SIGPIPE, sigpipe)
            written = screen.text() if screen else None
        stdout.flush()
        stderr.flush()
        return Ran(int(status), out.getvalue().decode("utf-8") if written is None else written,
                   err.getvalue().decode("utf-8"))

    return unchanged_home(env, run) if check_home else run()


def in_process(home, args: List[str], stdin: str = "", **env: Optional[str]) -> Ran:
    """cli() with base_env(home, **env)."""
    return cli(args, base_env(home, **env), stdin)


def marker() -> str:
    """A path no other request uses, to find this request in a cluster API stand-in's log."""
    return f"/metadata?marker={time.monotonic_ns()}"


def logged(server, path, seconds=3.0, requests=None) -> dict:
    """The stand-in's log entry for path (it logs just after answering: wait for it);
    `requests` lists the log, the server's own by default."""
    deadline = time.monotonic() + seconds
    while True:
        entries = [entry for entry in (requests or server.requests)() if entry["path"] == path]
        if entries or time.monotonic() > deadline:
            assert entries, f"{path} is not in the stand-in's request log"
            return entries[-1]
        time.sleep(0.02)


# OpenSSH 8.2's scp (Ubuntu 20.04), as it answers what decides the protocol (scp.c and the
# getopt of openbsd-compat at V_8_2_P1): an option it lacks, such as -s, is "unknown option --
# s" and the usage text, exit 1; too few operands, the usage alone. Anything else is this
# machine's scp in the legacy protocol (-O), the only one 8.2 speaks.
OPENSSH_8_2_SCP = """#!/bin/sh
usage() {
    printf '%s\\n' 'usage: scp [-346BCpqrTv] [-c cipher] [-F ssh_config] [-i identity_file]' \\
        '            [-J destination] [-l limit] [-o ssh_option] [-P port]' \\
        '            [-S program] source ... target' >&2
    exit 1
}
while getopts ':dfl:prtTvBCc:i:P:q12346S:o:F:J:' flag; do
    case $flag in
        '?') printf 'unknown option -- %s\\r\\n' "$OPTARG" >&2; usage ;;
        ':') printf 'option requires an argument -- %s\\r\\n' "$OPTARG" >&2; usage ;;
    esac
done
[ $(($# - OPTIND + 1)) -ge 2 ] || usage
exec {real} -O "$@"
"""


def openssh_8_2_scp(folder) -> str:
    """A folder holding an `scp` that answers as OpenSSH 8.2's (OPENSSH_8_2_SCP), to put
    first on PATH; the folder, as text."""
    import shlex
    import shutil

    real = shutil.which("scp")
    assert real, "scp is not installed (Debian package openssh-client)"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "scp")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(OPENSSH_8_2_SCP.replace("{real}", shlex.quote(real)))
    os.chmod(path, 0o755)
    return str(folder)
