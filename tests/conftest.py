"""Fixtures: the installed `dcos-node`, a loopback cluster API, the simulated cluster.

With DCOS_NODE_SSH_REQUIRE_E2E=1 (set by .ci/run) a test that would be skipped
fails instead, so CI cannot pass without running the end-to-end tests.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import clusterapi  # noqa: E402
import clusterdata  # noqa: E402
import realcli  # noqa: E402
import simcluster  # noqa: E402

REQUIRE_E2E = os.environ.get("DCOS_NODE_SSH_REQUIRE_E2E") == "1"

AGENTS = [
    clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S0", "dcos-01", "10.0.1.20"),
    clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S1", "10.0.1.21", "10.0.1.21"),
    clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S2", "10.0.1.22", "10.0.1.22", public=True),
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_E2E and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, but DCOS_NODE_SSH_REQUIRE_E2E=1 forbids skips: {reason}"


@pytest.fixture(scope="session")
def dcos_node():
    """The console script installed with the package, as the DC/OS CLI runs it."""
    path = shutil.which("dcos-node", path=os.path.dirname(sys.executable))
    if path is None:
        pytest.fail("dcos-node is not installed next to this Python; run `pip install .` first")
    return path


def snapshot(root):
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


def run_plugin(dcos_node, args, env, **kwargs):
    kwargs.setdefault("timeout", 60)
    return unchanged_home(env, lambda: subprocess.run([dcos_node] + list(args), env=env, capture_output=True,
                                                      text=True, **kwargs))


@pytest.fixture
def home(tmp_path):
    """A fresh HOME (a path as text), as a user with no DC/OS CLI configuration has."""
    path = tmp_path / "home"
    path.mkdir()
    return str(path)


def write_config(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(path, mode)
    return path


def base_env(home, **extra):
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return {key: value for key, value in env.items() if value is not None}


class LoopbackApi(clusterapi.LoopbackStandIn):
    """tests/clusterapi.py on 127.0.0.1, answering for the agents above."""

    def __init__(self, workdir, cert=None, key=None):
        super().__init__(workdir, self.default_scenario(), cert, key)

    @staticmethod
    def default_scenario(**changes):
        result = clusterdata.scenario(public_ip="52.34.108.176", leader_ip="10.0.4.1", agents=AGENTS)
        result.update(changes)
        return result


@pytest.fixture(scope="module")
def loopback_api():
    workdir = tempfile.mkdtemp(prefix="dcos-node-ssh-api-")
    api = LoopbackApi(workdir)
    yield api
    api.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def api(loopback_api):
    """The loopback API reset to the default scenario, with an empty request log."""
    loopback_api.write_scenario(loopback_api.default_scenario())
    if os.path.exists(loopback_api.log):
        os.remove(loopback_api.log)
    return loopback_api


@pytest.fixture(scope="module")
def tls_api(tmp_path_factory):
    """The loopback stand-in behind HTTPS, with a certificate from a CA the system does not know."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (Debian package openssl)")
    workdir = tmp_path_factory.mktemp("tls-api")
    cert, key = str(workdir / "cert.pem"), str(workdir / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=dcos-node-ssh test CA", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    server = LoopbackApi(str(workdir), cert=cert, key=key)
    server.cert = cert
    yield server
    server.stop()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """cli/build.py's artifacts (out folder, its package/ folder), with the URLs under which
    the simulated cluster's package service serves them: http://<master>/artifacts/."""
    out = tmp_path_factory.mktemp("dist")
    realcli.build(str(out), f"http://{simcluster.MASTER_PUBLIC}/artifacts")
    return str(out), str(out / "package")


@pytest.fixture(scope="session")
def sim_cluster():
    reason = simcluster.unavailable_reason()
    if reason:
        pytest.skip(f"end-to-end tests need the simulated cluster, but {reason}")
    cluster = simcluster.SimCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def sim(sim_cluster):
    """The simulated cluster with its default scenario restored."""
    sim_cluster.write_scenario(sim_cluster.default_scenario())
    return sim_cluster


@pytest.fixture(scope="session")
def blob(sim_cluster):
    """A binary file of just over 1 MiB, readable on the agents (they see this host's files)."""
    path = os.path.join(sim_cluster.workdir, "blob.bin")
    data = os.urandom(1024 * 1024 + 4099) + bytes(range(256)) + b"\r\n\n\r"
    with open(path, "wb") as stream:
        stream.write(data)
    os.chmod(path, 0o644)
    return path, hashlib.sha256(data).hexdigest()
