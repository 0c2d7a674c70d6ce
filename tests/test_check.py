"""The steps of --check, each with its probes injected: no root, no network, no real ssh.
The fake ssh answers with OpenSSH 9.2's own words (LogLevel=DEBUG1), as a real one said them."""

import io
import os
import socket
import threading
import time

import pytest

from dcos_node_ssh import sshagent
from dcos_node_ssh.checklist import Context, Probes, Status, _port, checklist, report, steps
from dcos_node_ssh.errors import SshSetupError
from dcos_node_ssh.flags import RouteFlags, SshFlags, Target, TargetKind
from dcos_node_ssh.openssh.hostkeys import HostKey, KeyState, read_log
from dcos_node_ssh.proc import programs, spawn
from dcos_node_ssh.route import ProxyKind, Route
from dcos_node_ssh.settings import ProxyMode, Settings

FLAGS = SshFlags(RouteFlags(), Target(TargetKind.ADDRESS, "10.0.0.1"))
PROXY, NODE = "203.0.113.5", "10.0.0.1"
FINGERPRINT = "SHA256:6gekXMpUzXI5XFKzBn1LB/DV384OMoq91xYhqenLs98"
NODE_FINGERPRINT = "SHA256:Q1hQ6yUqdbBw9b1uXG2n0u1pRX0cbjyKxAoKzC0X8fs"


def choices(**changes):
    route = Route(user="core", options=(), proxy_options=(), config_file=None, client="ssh", plink=False,
                  mode=ProxyMode.FORWARD, proxy_kind=ProxyKind.FLAG, proxy_host=PROXY)
    return route._replace(**changes)


def reached(host, fingerprint=FINGERPRINT):
    return (f"debug1: Connecting to {host} [{host}] port 22.\r\ndebug1: Connection established.\r\n"
            "debug1: Remote protocol version 2.0, remote software version OpenSSH_9.2p1 Debian-2+deb12u10\r\n"
            f"debug1: Authenticating to {host}:22 as 'core'\r\n"
            f"debug1: Server host key: ssh-ed25519 {fingerprint}\r\n")


def known(host, fingerprint=FINGERPRINT):
    return reached(host, fingerprint) + (f"debug1: Host '{host}' is known and matches the ED25519 host key.\r\n"
                                         "debug1: Found key in /home/me/.ssh/known_hosts:3\r\n")


def unknown(host, fingerprint=FINGERPRINT):
    return reached(host, fingerprint) + (f"No ED25519 host key is known for {host} and you have requested strict "
                                         "checking.\r\nHost key verification failed.\r\n")


def changed(host, fingerprint=FINGERPRINT):
    return reached(host, fingerprint) + f"""\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the ED25519 key sent by the remote host is
{fingerprint}.
Please contact your system administrator.
Add correct host key in /home/me/.ssh/known_hosts to get rid of this message.
Offending ED25519 key in /home/me/.ssh/known_hosts:3
  remove with:
  ssh-keygen -f "/home/me/.ssh/known_hosts" -R "{host}"
Host key for {host} has changed and you have requested strict checking.
Host key verification failed.
"""


class FakeSsh:
    """ssh as it answers each probe: `first` is the first hop's verdict (known, unknown,
    changed, refused), `node` the node's (ok, unknown, changed), `strict` what `ssh -G`
    resolves StrictHostKeyChecking to; every argument list is kept."""

    def __init__(self, first="known", node="ok", strict="ask"):
        self.first, self.node, self.strict = first, node, strict
        self.calls = []

    def __call__(self, argv, env, seconds, first_line_only=False):
        self.calls.append((list(argv), dict(env)))
        if "-V" in argv:
            return spawn.Finished(0, b"", b"OpenSSH_9.2p1\n")
        if "-G" in argv:
            return spawn.Finished(0, f"user core\nstricthostkeychecking {self.strict}\n".encode(), b"")
        host = argv[-2]
        if "PreferredAuthentications=none" in argv:
            host = argv[-2].partition("@")[2]
            if self.first == "refused":
                return spawn.Finished(255, b"", f"debug1: Connecting to {host} [{host}] port 22.\r\nssh: connect to "
                                                f"host {host} port 22: Connection refused\r\n".encode())
            said = {"known": known, "unknown": unknown, "changed": changed}[self.first](host)
            return spawn.Finished(255, b"", (said + "debug1: Authentications that can continue: publickey\r\n"
                                                    f"core@{host}: Permission denied (publickey).\r\n").encode())
        if "-W" in argv:
            return spawn.Finished(None, b"SSH-2.0-OpenSSH_9.2\r\n",
                                  f"Authenticated to {PROXY} ([{PROXY}]:22)\n".encode())
        # the node login
        first = known(PROXY)
        if self.node == "ok":
            return spawn.Finished(0, b"", first.encode())
        verdict = {"unknown": unknown, "changed": changed}[self.node](NODE, NODE_FINGERPRINT)
        return spawn.Finished(255, b"", (first + verdict).encode())

    def first_hop_call(self):
        return next(call for call in self.calls if "PreferredAuthentications=none" in call[0])


def healthy(argv, env, seconds, first_line_only=False):
    return FakeSsh()(argv, env, seconds, first_line_only)


def no_banner(host, port):
    raise AssertionError("the first hop is reached through ssh, not by a TCP connection of its own")


def probes(tmp_path, banner=no_banner, run=healthy, agent_says="1 key at /tmp/agent"):
    def fake_agent(env, client_path, plink):
        if isinstance(agent_says, Exception):
            raise agent_says
        return agent_says

    return Probes(run=run, banner=banner, agent=fake_agent,
                  find_client=lambda name, plink: "/usr/bin/ssh", ssh_folder=lambda: str(tmp_path))


def run_checklist(route, tmp_path, **probe_changes):
    context = Context(FLAGS, route, Settings(), cluster=None, env={"SHELL": "/bin/zsh"},
                      probes=probes(tmp_path, **probe_changes), noun="node")
    return {check.name: check for check in checklist(context, steps(FLAGS, route))}


def reported(checks):
    out = io.StringIO()
    return report(list(checks.values()), out, False), out.getvalue()


def test_everything_passes_in_order(tmp_path):
    checks = run_checklist(choices(), tmp_path)
    assert list(checks) == ["configuration", "cluster API", "target", "proxy", "ssh client", "ssh-agent",
                            "key files", "first hop", "proxy login", "node port", "node login"]
    assert checks["cluster API"].status is Status.SKIP  # nothing to look up: not a failure
    assert all(check.status is Status.OK for name, check in checks.items() if name != "cluster API")
    assert checks["first hop"].detail == (
        f"core@{PROXY} answers (OpenSSH_9.2p1 Debian-2+deb12u10, at {PROXY} port 22); its ED25519 key "
        f"{FINGERPRINT} is the one known")


def test_a_failed_first_hop_skips_what_needs_it_and_names_it(tmp_path):
    checks = run_checklist(choices(), tmp_path, run=FakeSsh(first="refused"))
    assert [name for name, check in checks.items() if check.status is Status.FAIL] == ["first hop"]
    assert checks["first hop"].detail == f"core@{PROXY}: ssh: connect to host {PROXY} port 22: Connection refused"
    for name in ("proxy login", "node port", "node login"):
        assert checks[name].status is Status.SKIP and checks[name].detail == "not tried: first hop failed"


@pytest.mark.parametrize("mode, shell", [(ProxyMode.FORWARD, "/bin/zsh"), (ProxyMode.JUMP, "/bin/sh")])
def test_the_first_hop_is_reached_as_the_command_reaches_it(tmp_path, mode, shell):
    """The same -F file, the proxy's options (a ProxyCommand among them) and every option, the
    user's ~/.ssh/config (no -F: ssh reads it) and the shell a ProxyCommand gets; the probe's
    own options first, since ssh keeps the first value."""
    ssh = FakeSsh()
    proxy_command = "ProxyCommand=ssh -W %h:%p bastion"
    run_checklist(choices(mode=mode, config_file="/home/me/dcos.conf", proxy_options=(proxy_command,),
                          options=("Port=2222",)), tmp_path, run=ssh)
    argv, env = ssh.first_hop_call()
    assert argv == ["ssh", "-T", "-F", "/home/me/dcos.conf", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                    "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no", "-o", "LogLevel=DEBUG1",
                    "-o", "PreferredAuthentications=none", "-o", proxy_command, "-o", "Port=2222",
                    f"core@{PROXY}", "true"]
    assert env["SHELL"] == shell


def test_directly_the_first_hop_is_the_node():
    ssh = FakeSsh()
    route = choices(proxy_kind=ProxyKind.NONE, proxy_host=None)
    context = Context(FLAGS, route, Settings(), cluster=None, env={}, probes=probes("/nonexistent", run=ssh),
                      noun="node")
    checks = {check.name: check for check in checklist(context, steps(FLAGS, route))}
    assert checks["first hop"].status is Status.OK and ssh.first_hop_call()[0][-2:] == [f"core@{NODE}", "true"]


def test_an_unknown_first_hop_key_is_a_warning_with_its_fingerprint(tmp_path):
    checks = run_checklist(choices(), tmp_path, run=FakeSsh(first="unknown"))
    first = checks["first hop"]
    assert first.status is Status.WARN
    assert first.detail.endswith(f"its host key is not known here yet: ssh will ask you to accept ED25519 key "
                                 f"{FINGERPRINT} (at a terminal; without one it refuses)")
    assert "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" in first.fix and "accept-new" in first.fix
    # No probe logs in to a host whose key is not known: what needs it waits.
    for name in ("proxy login", "node port", "node login"):
        assert checks[name].status is Status.SKIP
        assert checks[name].detail == "not tried: first hop waits for you to accept its host key"
    status, text = reported(checks)
    assert status == 0 and text.splitlines()[-1] == (
        "No check failed (1 with a warning): the connection should work once you accept the host key above. Run "
        "the check again after connecting once, to try the proxy login, node port, node login too.")
    assert "WARN  first hop" in text and "note: Compare it" in text


@pytest.mark.parametrize("strict, status, words", [
    ("accept-new", Status.WARN, "ssh will accept ED25519 key"),
    ("false", Status.WARN, "without asking and without remembering it"),
    ("true", Status.FAIL, "StrictHostKeyChecking yes refuses it"),
])
def test_an_unknown_key_is_read_with_the_users_strict_host_key_checking(tmp_path, strict, status, words):
    ssh = FakeSsh(first="unknown", strict=strict)
    checks = run_checklist(choices(options=("StrictHostKeyChecking=accept-new",)), tmp_path, run=ssh)
    assert checks["first hop"].status is status and words in checks["first hop"].detail
    resolved = next(argv for argv, _ in ssh.calls if "-G" in argv)
    # The user's own setting is asked, without the probe's StrictHostKeyChecking=yes before it.
    assert resolved[:2] == ["ssh", "-G"] and "StrictHostKeyChecking=yes" not in resolved
    assert "StrictHostKeyChecking=accept-new" in resolved


def test_a_changed_first_hop_key_fails_with_the_line_to_remove(tmp_path):
    checks = run_checklist(choices(), tmp_path, run=FakeSsh(first="changed"))
    first = checks["first hop"]
    assert first.status is Status.FAIL and f"its host key has changed: it now offers ED25519 key {FINGERPRINT}" in (
        first.detail)
    assert f"`ssh-keygen -R '{PROXY}' -f '/home/me/.ssh/known_hosts'`" in first.fix
    assert reported(checks)[0] == 1


@pytest.mark.parametrize("mode, asker", [(ProxyMode.JUMP, "ssh will ask"), (ProxyMode.FORWARD, "ssh on the master "
                                                                                              "will ask")])
def test_an_unknown_node_key_is_a_warning_and_the_connection_should_work(tmp_path, mode, asker):
    checks = run_checklist(choices(mode=mode), tmp_path, run=FakeSsh(node="unknown"))
    login = checks["node login"]
    assert login.status is Status.WARN and f"{asker} you to accept ED25519 key {NODE_FINGERPRINT}" in login.detail
    assert all(check.status is not Status.FAIL for check in checks.values())
    status, text = reported(checks)
    assert status == 0 and "the connection should work once you accept the host key above." in text


def test_a_changed_node_key_fails(tmp_path):
    checks = run_checklist(choices(mode=ProxyMode.JUMP), tmp_path, run=FakeSsh(node="changed"))
    assert checks["node login"].status is Status.FAIL and "has changed" in checks["node login"].detail
    assert f"`ssh-keygen -R '{NODE}' -f '/home/me/.ssh/known_hosts'`" in checks["node login"].fix


def test_plink_keeps_the_port_check(tmp_path):
    """plink reads PuTTY's settings, not OpenSSH's: the port alone, as before."""
    checks = run_checklist(choices(client="plink", plink=True), tmp_path, banner=lambda host, port: (True, "SSH-2.0-x"))
    assert checks["first hop"].status is Status.OK and checks["first hop"].detail == (
        f"{PROXY}:22 answers as an SSH server (SSH-2.0-x)")


def test_read_log_of_each_verdict():
    assert read_log(known(PROXY)).key == HostKey(KeyState.KNOWN, "ED25519", FINGERPRINT, PROXY)
    assert read_log(unknown("dcos-c1-10.0.0.1")).key == HostKey(KeyState.UNKNOWN, "ED25519", FINGERPRINT,
                                                                 "dcos-c1-10.0.0.1")
    assert read_log(changed("[10.0.0.1]:2222")).key == HostKey(KeyState.CHANGED, "ED25519", FINGERPRINT,
                                                                "[10.0.0.1]:2222", "/home/me/.ssh/known_hosts", "3")
    # Without debug lines (LogLevel INFO), the changed key's fingerprint still comes from the warning.
    plain = "\n".join(line for line in changed(PROXY).splitlines() if not line.startswith("debug1"))
    assert read_log(plain).key.fingerprint == FINGERPRINT
    # Two connections (the first hop's, then the node's on the session's stderr): the verdict is the last key's.
    both = read_log(known(PROXY) + unknown(NODE, NODE_FINGERPRINT))
    assert both.key.fingerprint == NODE_FINGERPRINT and both.key.name == NODE
    assert read_log(reached(PROXY)).key.state is KeyState.UNSEEN and read_log(reached(PROXY)).reached
    assert not read_log("ssh: connect to host x port 22: Connection refused").reached


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
    return healthy(argv, env, seconds, first_line_only)


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
