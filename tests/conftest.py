"""Fixtures: the installed `dcos-node`, a loopback cluster API, the simulated cluster.
This file also puts tests/ on sys.path, so test files import helpers.py, clusterdata.py,
simcluster.py without doing it themselves.

With DCOS_NODE_SSH_REQUIRE_E2E=1 (set by .ci/run) a test that would be skipped
fails instead, so CI cannot pass without running the end-to-end tests.
"""

import hashlib
import os
import shutil
import signal
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
from helpers import AGENTS  # noqa: E402

# Test files import what they share from helpers.py; these names stay importable from
# conftest only for the files not yet moved over (test_scp, test_ssh_config, test_run,
# test_e2e_run, test_e2e_files). Remove once none imports from conftest.
from helpers import base_env, run_plugin, snapshot, unchanged_home, write_config  # noqa: E402,F401

REQUIRE_E2E = os.environ.get("DCOS_NODE_SSH_REQUIRE_E2E") == "1"


def pytest_sessionstart(session):
    # Some tests send a child SIGINT or SIGHUP. A signal ignored here (mutmut's workers ignore
    # SIGINT, nohup SIGHUP) stays ignored through exec in every child, so the test would wait
    # for nothing: take them back.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


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


@pytest.fixture
def home(tmp_path):
    """A fresh HOME (a path as text), as a user with no DC/OS CLI configuration has."""
    path = tmp_path / "home"
    path.mkdir()
    return str(path)


class LoopbackApi(clusterapi.LoopbackStandIn):
    """tests/clusterapi.py on 127.0.0.1, answering for helpers.AGENTS."""

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
