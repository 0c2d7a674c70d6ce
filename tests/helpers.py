"""What many test files share: the whole CLI run in-process (`app.main` with a test
Environment), the DC/OS config a test user has, and the check that the plugin left the
user's files alone.

In-process is for everything that stops before ssh runs (listings, --dry-run, errors);
what runs ssh, or needs a terminal of its own, runs the installed console script.
"""

import hashlib
import io
import os
import sys
import time
from typing import Dict, List, NamedTuple, Optional

from dcos_node_ssh import app
from dcos_node_ssh.environment import Environment, Output


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


class _NoExec(AssertionError):
    pass


def _refuse_exec(*args, **kwargs):
    raise _NoExec("an in-process test reached exec: run the installed console script for what runs ssh")


def cli(args: List[str], env: Dict[str, str], stdin: str = "", check_home: bool = True) -> Ran:
    """`dcos-node <args>` in this process: app.main with an Environment of these variables,
    HOME, and captured streams. exec is refused, since it would replace the test runner."""
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    environment = Environment(env, env.get("HOME", ""), io.StringIO(stdin), Output(stdout, required=True),
                              Output(stderr, required=False))

    def run() -> Ran:
        saved = os.execvp, os.execvpe, os.execv
        os.execvp = os.execvpe = os.execv = _refuse_exec  # type: ignore[assignment]
        try:
            status = app.main(list(args), environment)
        finally:
            os.execvp, os.execvpe, os.execv = saved
        stdout.flush()
        stderr.flush()
        return Ran(int(status), out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))

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
