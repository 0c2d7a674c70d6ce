"""The steps of --check, each with its probes injected: no root, no network, no real ssh."""

import os
import socket
import threading
import time

import pytest

from dcos_node_ssh import sshagent
from dcos_node_ssh.checklist import Context, Probes, Status, _port, checklist, steps
from dcos_node_ssh.errors import SshSetupError
from dcos_node_ssh.flags import RouteFlags, SshFlags, Target, TargetKind
from dcos_node_ssh.proc import programs, spawn
from dcos_node_ssh.route import ProxyKind, Route
from dcos_node_ssh.settings import ProxyMode, Settings

FLAGS = SshFlags(RouteFlags(), Target(TargetKind.ADDRESS, "10.0.0.1"))


def choices(**changes):
    route = Route(user="core", options=(), proxy_options=(), config_file=None, client="ssh", plink=False,
                  mode=ProxyMode.FORWARD, proxy_kind=ProxyKind.FLAG, proxy_host="203.0.113.5")
    return route._replace(**changes)


def healthy(argv, env, seconds, first_line_only=False):
    """ssh as it answers when everything works: the -W probe gets the node's banner."""
    if "-W" in argv:
        return spawn.Finished(None, b"SSH-2.0-OpenSSH_9.2\r\n", b"Authenticated to 203.0.113.5 ([203.0.113.5]:22)\n")
    return spawn.Finished(0, b"", b"OpenSSH_9.2p1\n")


def probes(tmp_path, banner=(True, "SSH-2.0-OpenSSH_9.2"), run=healthy, agent_says="1 key at /tmp/agent"):
    def fake_agent(env, client_path, plink):
        if isinstance(agent_says, Exception):
            raise agent_says
        return agent_says

    return Probes(run=run,
                  banner=lambda host, port: banner, agent=fake_agent,
                  find_client=lambda name, plink: "/usr/bin/ssh", ssh_folder=lambda: str(tmp_path))


def run_checklist(route, tmp_path, **probe_changes):
    context = Context(FLAGS, route, Settings(), cluster=None, env={}, probes=probes(tmp_path, **probe_changes))
    return {check.name: check for check in checklist(context, steps(FLAGS, route))}


def test_everything_passes_in_order(tmp_path):
    checks = run_checklist(choices(), tmp_path)
    assert list(checks) == ["configuration", "cluster API", "target", "proxy", "ssh client", "ssh-agent",
                            "key files", "first hop port", "proxy login", "node port", "node login"]
    assert checks["cluster API"].status is Status.SKIP  # nothing to look up: not a failure
    assert all(check.status is Status.OK for name, check in checks.items() if name != "cluster API")


def test_a_failed_first_hop_skips_what_needs_it_and_names_it(tmp_path):
    checks = run_checklist(choices(), tmp_path, banner=(False, "Connection refused"))
    assert [name for name, check in checks.items() if check.status is Status.FAIL] == ["first hop port"]
    for name in ("proxy login", "node port", "node login"):
        assert checks[name].status is Status.SKIP and checks[name].detail == "not tried: first hop port failed"


def test_the_agent_is_needed_only_when_forwarded(tmp_path):
    refused = SshSetupError("no agent")
    forwarding = run_checklist(choices(), tmp_path, agent_says=refused)
    assert forwarding["ssh-agent"].status is Status.FAIL
    assert forwarding["node login"].detail == "not tried: ssh-agent failed"
    jumping = run_checklist(choices(mode=ProxyMode.JUMP), tmp_path, agent_says=refused)
    assert jumping["ssh-agent"].status is Status.OK and jumping["node login"].status is Status.OK


def refusing_forwarding(argv, env, seconds, first_line_only=False):
    if "-W" in argv:
        return spawn.Finished(None, b"", b"Authenticated to 203.0.113.5\nchannel 0: open failed: "
                                            b"administratively prohibited: open failed\n")
    return spawn.Finished(0, b"", b"")


def test_a_proxy_without_tcp_forwarding_blocks_nothing_when_the_agent_is_forwarded(tmp_path):
    checks = run_checklist(choices(), tmp_path, run=refusing_forwarding)
    assert checks["node port"].status is Status.SKIP
    assert "refuses TCP forwarding" in checks["node port"].detail and "AllowTcpForwarding" in checks["node port"].detail
    assert checks["node login"].status is Status.OK


def test_a_proxy_without_tcp_forwarding_fails_jump_mode(tmp_path):
    checks = run_checklist(choices(mode=ProxyMode.JUMP), tmp_path, run=refusing_forwarding)
    assert checks["node port"].status is Status.FAIL and "AllowTcpForwarding" in checks["node port"].detail
    assert "`tunnel`" in checks["node port"].fix
    assert checks["node login"].detail == "not tried: node port failed"


def test_a_dangling_key_link_is_named_not_fatal(tmp_path):
    os.symlink(tmp_path / "gone.pem", tmp_path / "cluster.pem")
    checks = run_checklist(choices(), tmp_path)
    assert checks["key files"].status is Status.OK and "cluster.pem" in checks["key files"].detail
    assert "cannot be read" in checks["key files"].detail


def test_a_key_others_can_read_fails_with_the_chmod(tmp_path):
    key = tmp_path / "cluster.pem"
    key.write_text("key")
    key.chmod(0o644)
    checks = run_checklist(choices(), tmp_path)
    assert checks["key files"].status is Status.FAIL and f"chmod 600 {key}" in checks["key files"].fix


@pytest.fixture
def silent_agent(tmp_path):
    """An ssh-agent socket that accepts connections and never answers."""
    path = str(tmp_path / "agent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_an_agent_that_never_answers_is_a_clear_error_in_bounded_time(silent_agent, monkeypatch):
    if programs.which("ssh-add") is None:
        pytest.skip("ssh-add is not installed (Debian package openssh-client)")
    monkeypatch.setattr(sshagent, "AGENT_SECONDS", 0.2)
    env = {"SSH_AUTH_SOCK": silent_agent, "PATH": os.environ["PATH"]}
    started = time.monotonic()
    with pytest.raises(SshSetupError, match="did not answer within 0.2 seconds"):
        sshagent.check_agent(env, programs.which("ssh"), posix=True)
    assert time.monotonic() - started < 5


def test_port_from_options():
    assert _port([]) == 22
    assert _port(["StrictHostKeyChecking=no", "Port=2222", "port=2200"]) == 2222
    assert _port(["Port=２２"]) == 22  # not ASCII digits: not a port
