"""End-to-end: `dcos node tunnel socks` and `forward` through the simulated cluster's real
master, fetched by real curl: an HTTP server on a private agent (tests/webserver.py),
which this host cannot reach but through the master, and a name that only the master
resolves (its namespace has a hosts file of its own); a task's port from the cluster API
stand-in's task state; the master's second sshd, which forwards nothing; a local port in
use; and Ctrl-C, SIGTERM and SIGHUP, after which no process and no folder is left.
"""

import glob
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time

import pytest

import simcluster
from helpers import config_for, snapshot

(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS
PORT = simcluster.WEB_PORT
HIDDEN = simcluster.MASTER_ONLY_NAME
HELLO = f"hello from {AGENT1}\n"


@pytest.fixture(scope="module")
def web(sim_cluster):
    return sim_cluster.start_web().start_no_forwarding_sshd()


@pytest.fixture
def cluster(web):
    web.write_scenario(web.default_scenario())
    return web


class Tunnel:
    """The plugin's tunnel as an operator starts it at a terminal: in a session of its own,
    so that a signal to its process group is what the terminal's Ctrl-C sends."""

    def __init__(self, cluster, dcos_node, home, args):
        config_for(home, cluster.dcos_url)
        self.home_before = snapshot(home)
        self.home = home
        env = cluster.client_env(home)
        self.process = subprocess.Popen(cluster.client_argv([dcos_node, "node", "tunnel"] + args), env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.read = {self.process.stdout: b"", self.process.stderr: b""}

    def _until(self, stream, done, seconds):
        deadline = time.monotonic() + seconds
        while not done(self.read[stream]):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and self.process.poll() is None, (self.read, self.finish()[1])
            readable, _, _ = select.select(list(self.read), [], [], remaining)
            for each in readable:
                self.read[each] += os.read(each.fileno(), 65536)

    def ready(self, lines, seconds=60):
        """The first `lines` lines it prints on stdout (it prints them once ready)."""
        self._until(self.process.stdout, lambda out: out.count(b"\n") >= lines, seconds)
        return self.read[self.process.stdout].decode().splitlines()[:lines]

    def said(self, text, seconds=30):
        """Wait until it has written `text` on stderr."""
        self._until(self.process.stderr, lambda err: text.encode() in err, seconds)

    def stop(self, number, group=True):
        (os.killpg if group else os.kill)(self.process.pid, number)
        return self.finish()

    def finish(self, seconds=30):
        out, err = self.process.communicate(timeout=seconds)
        assert snapshot(self.home) == self.home_before, "the plugin changed the user's files"
        return (self.process.returncode, (self.read[self.process.stderr] + err).decode(),
                (self.read[self.process.stdout] + out).decode())


def control_folder(stderr):
    """The private folder of the tunnel's control socket, from its Running line."""
    return re.search(r"ControlPath=(/\S+)/proxy", stderr).group(1)


def assert_nothing_left(stderr):
    folder = control_folder(stderr)
    assert not os.path.exists(folder)
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as stream:
                assert folder.encode() not in stream.read(), f"a process is left: {path}"
        except OSError:
            pass


def curl(*args):
    result = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "20"] + list(args),
                            capture_output=True, text=True, timeout=30)
    return result.stdout if result.returncode == 0 else f"curl failed ({result.returncode}): {result.stderr}"


def test_socks_reaches_a_private_agent_and_names_only_the_master_resolves(cluster, dcos_node, home, tmp_path):
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(HIDDEN, PORT)  # this host cannot resolve it; the master can
    pac = tmp_path / "cluster.pac"
    tunnel = Tunnel(cluster, dcos_node, home, ["socks", "--port=0", f"--pac={pac}"])
    lines = tunnel.ready(4)
    port = int(re.search(r"SOCKS5 proxy on 127\.0\.0\.1:(\d+), through core@198\.51\.100\.10", lines[0]).group(1))
    assert lines[1] == f"  curl:    curl --proxy socks5h://127.0.0.1:{port} http://leader.mesos:5050/version"
    assert lines[3].startswith(f"  PAC:     file://{pac} ")
    proxy = f"socks5h://127.0.0.1:{port}"
    assert curl("--proxy", proxy, f"http://{HIDDEN}:{PORT}/hello") == HELLO
    assert curl("--proxy", proxy, f"http://{AGENT1_IP}:{PORT}/hello") == HELLO
    assert curl("--proxy", proxy, f"http://{AGENT1}:{PORT}/hello") == HELLO
    text = pac.read_text()
    assert f'"SOCKS5 127.0.0.1:{port}; SOCKS 127.0.0.1:{port}"' in text and '"dcos-agent-1"' in text
    assert 'isInNet(host, "198.18.0.0", "255.255.255.0")' in text
    assert oct(pac.stat().st_mode & 0o777) == "0o644"
    status, stderr, _ = tunnel.stop(signal.SIGINT)
    assert status == 0, stderr
    assert stderr.startswith("No proxy is named (--master-proxy, --proxy-ip or ssh_proxy_ip): the tunnel goes "
                             "through the master's public address"), stderr
    assert "Running `ssh -N -T -o ForwardAgent=no -o ExitOnForwardFailure=yes" in stderr.replace("/usr/bin/ssh", "ssh")
    assert stderr.endswith("Tunnel closed.\n")
    assert "Traceback" not in stderr
    assert_nothing_left(stderr)


def test_forwards_to_a_node_a_name_and_a_task(cluster, dcos_node, home):
    tunnel = Tunnel(cluster, dcos_node, home, ["forward", "--master-proxy", "S0:8000", f"0:{HIDDEN}:{PORT}",
                                               "--task=web", "--port-name=http"])
    lines = tunnel.ready(4)
    assert lines[0] == "Forwarding through core@198.51.100.10, which resolves the names. Ctrl-C ends it."
    forwards = [re.fullmatch(r"  127\.0\.0\.1:(\d+) -> (\S+)", line).groups() for line in lines[1:]]
    assert [destination for _, destination in forwards] == [f"{AGENT1_IP}:{PORT}", f"{HIDDEN}:{PORT}",
                                                            f"{AGENT1_IP}:{PORT}"]
    for local, _ in forwards:
        assert curl(f"http://127.0.0.1:{local}/hello") == HELLO
    status, stderr, _ = tunnel.stop(signal.SIGTERM, group=False)  # to the plugin alone: it ends ssh itself
    assert status == 0, stderr
    local = [port for port, _ in forwards]
    assert (f"Forward 127.0.0.1:{local[0]} -> {AGENT1_IP}:{PORT}: agent {AGENT1_ID} (dcos-agent-1) at "
            f"{AGENT1_IP}.") in stderr
    assert f"Forward 127.0.0.1:{local[1]} -> {HIDDEN}:{PORT}: a name the proxy resolves (no agent has it)." in stderr
    assert (f"Forward 127.0.0.1:{local[2]} -> {AGENT1_IP}:{PORT}: port {PORT} (http) of task "
            f"{simcluster.WEB_TASK_ID} (web) on agent {AGENT1_ID} at {AGENT1_IP}.") in stderr
    assert_nothing_left(stderr)


def test_a_large_download_arrives_whole(cluster, dcos_node, home, tmp_path):
    tunnel = Tunnel(cluster, dcos_node, home, ["forward", "leader:22", f"{AGENT1_IP}:{PORT}"])
    _, _, line = tunnel.ready(3)
    local = re.fullmatch(r"  127\.0\.0\.1:(\d+) -> .*", line).group(1)
    target = tmp_path / "download"
    size = 64 * 1024 * 1024 + 12345
    assert curl("--output", str(target), f"http://127.0.0.1:{local}/bytes/{size}") == ""
    import webserver

    assert target.read_bytes() == webserver.pattern_bytes(size)
    status, stderr, _ = tunnel.stop(signal.SIGHUP)
    assert status == 0, stderr
    assert_nothing_left(stderr)


def test_a_proxy_that_forwards_nothing_is_refused_before_ready(cluster, dcos_node, home):
    tunnel = Tunnel(cluster, dcos_node, home, ["socks", "--port=0", "--master-proxy",
                                               f"--proxy-option=Port={simcluster.NO_FORWARDING_PORT}"])
    status, stderr, stdout = tunnel.finish(60)
    assert status == 255 and stdout == ""
    paragraph = stderr.splitlines()[-1]
    assert paragraph.startswith("dcos node tunnel: The proxy 198.51.100.10 refuses TCP forwarding (\"administratively "
                                "prohibited\": its sshd has AllowTcpForwarding no")
    assert "Traceback" not in stderr
    assert_nothing_left(stderr)


def test_check_says_the_proxy_forwards_nothing(cluster, dcos_node, home):
    config_for(home, cluster.dcos_url)
    env = cluster.client_env(home)
    result = cluster.run([dcos_node, "node", "tunnel", "forward", "S1:22", "--check", "--master-proxy",
                          f"--proxy-option=Port={simcluster.NO_FORWARDING_PORT}"], env, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert f"ok    forwards        S1:22 -> agent {AGENT2_ID} (dcos-agent-2) at {AGENT2_IP}" in lines
    assert "ok    proxy login     core@198.51.100.10 accepts your key" in lines
    assert "FAIL  TCP forwarding  198.51.100.10 refuses a channel to 127.0.0.1:2222" in lines
    allowed = cluster.run([dcos_node, "node", "tunnel", "socks", "--check", "--port=0"], env, text=True)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert re.search(r"^ok    TCP forwarding  198\.51\.100\.10 opens a channel to 127\.0\.0\.1:22: its sshd answered "
                     r"\(SSH-2\.0-OpenSSH", allowed.stdout, re.MULTILINE)
    ssh_check = cluster.run([dcos_node, "node", "ssh", "--check", "--master-proxy", "--jump", "--leader",
                             f"--proxy-option=Port={simcluster.NO_FORWARDING_PORT}"], env, text=True)
    assert "AllowTcpForwarding" in ssh_check.stdout and ssh_check.returncode == 1, ssh_check.stdout


@pytest.mark.parametrize("args, what", [
    (["socks", "--port={port}"], "the SOCKS proxy's port"),
    (["forward", "{port}:leader:22", "0:S1:22"], "a forward's local port"),
], ids=["socks", "forward"])
def test_a_local_port_in_use(cluster, dcos_node, home, args, what):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        tunnel = Tunnel(cluster, dcos_node, home, [arg.format(port=port) for arg in args] + ["--master-proxy"])
        status, stderr, stdout = tunnel.finish(60)
    assert status == 255 and stdout == ""
    assert stderr.splitlines()[-1].startswith(f"dcos node tunnel: Could not listen on 127.0.0.1:{port} ({what}): "
                                              "Address already in use. Another program listens there"), stderr
    assert_nothing_left(stderr)


def test_ctrl_c_while_connecting_ends_everything(cluster, dcos_node, home):
    """Ctrl-C while ssh is still connecting (its ProxyCommand waits) is an interruption:
    status 130, nothing said to be ready, and nothing left."""
    tunnel = Tunnel(cluster, dcos_node, home, ["socks", "--port=0", "--proxy-ip=198.51.100.10",
                                               "--option=ProxyCommand=sh -c 'sleep 30; nc %h %p'"])
    tunnel.said("Running `")
    time.sleep(0.5)
    status, stderr, stdout = tunnel.stop(signal.SIGINT)
    assert status == 130 and stdout == "", stderr
    assert "Tunnel closed" not in stderr and "Traceback" not in stderr
    assert_nothing_left(stderr)


def test_plink_at_a_terminal_asks_for_the_host_key_and_ends_on_its_ctrl_c(cluster, dcos_node, home, tmp_path):
    """PuTTY's real plink: no control socket, so the port is checked free first, the tunnel is
    ready once plink listens, and the probe is a plink of its own (-batch -nc). plink asks
    about the master's host key on the terminal, as a user sees it; Ctrl-C is typed there."""
    import pty

    if shutil.which("plink") is None:
        pytest.fail("plink is not installed (Debian package putty-tools); scripts/prepare installs it")
    os.mkdir(os.path.join(home, ".putty"), 0o700)  # PuTTY keeps its state in $HOME/.putty when it exists
    config_for(home, cluster.dcos_url)
    argv = cluster.client_argv([dcos_node, "node", "tunnel", "socks", "--ssh-client=plink", "--port=0",
                                "--master-proxy"])
    pid, terminal = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, cluster.client_env(home))
    output, deadline, answered = b"", time.monotonic() + 60, False
    try:
        while b"Ctrl-C ends it." not in output:
            assert time.monotonic() < deadline, output
            if select.select([terminal], [], [], 0.2)[0]:
                output += os.read(terminal, 65536)
            if not answered and b"Store key in cache? (y/n" in output:
                os.write(terminal, b"y\n")
                answered = True
        port = re.search(rb"SOCKS5 proxy on 127\.0\.0\.1:(\d+)", output).group(1).decode()
        assert curl("--proxy", f"socks5h://127.0.0.1:{port}", f"http://{HIDDEN}:{PORT}/hello") == HELLO
        os.write(terminal, b"\x03")  # the terminal's Ctrl-C, to its foreground group: plink and the plugin
        while True:
            try:
                chunk = os.read(terminal, 65536) if select.select([terminal], [], [], 10)[0] else b""
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    text = output.decode(errors="replace")
    assert answered and os.waitstatus_to_exitcode(status) == 0, text
    assert "plink -N -a -no-antispoof -l core -D 127.0.0.1:" in text and "Tunnel closed." in text
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as stream:
                assert f"127.0.0.1:{port}".encode() not in stream.read(), f"a process is left: {path}"
        except OSError:
            pass


def test_a_tunnel_whose_connection_is_lost_says_so(cluster, dcos_node, home):
    tunnel = Tunnel(cluster, dcos_node, home, ["forward", "--master-proxy", f"{AGENT1_IP}:{PORT}"])
    tunnel.ready(2)
    pids = subprocess.run(["ip", "netns", "pids", cluster.master.namespace], capture_output=True, text=True).stdout
    sessions = []
    for pid in pids.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as stream:
                if stream.read().startswith(b"sshd: core"):
                    sessions.append(int(pid))
        except OSError:
            pass
    assert sessions
    for pid in sessions:  # the master's side of the connection ends, as when the master goes away
        os.kill(pid, signal.SIGKILL)
    status, stderr, _ = tunnel.finish()
    assert status == 255, stderr  # ssh's failure, as ssh itself exits
    assert "closed by remote host. Run the command again to reopen it." in stderr, stderr
    assert stderr.splitlines()[-1].startswith("dcos node tunnel: The tunnel through 198.51.100.10 ended (ssh exit "
                                              "status 255)"), stderr
    assert "Run the command again to reopen it." in stderr
    assert_nothing_left(stderr)
