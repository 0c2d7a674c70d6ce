"""The seed's Windows half: PuTTY's plink as the first hop, and Windows' agents.

The argument lists are exact; the Windows branches run with the platform and
the Windows agent probes passed in (they cannot run here), never with the code
under test replaced.
"""

import os

import pytest

from dcos_node_ssh import sshagent
from dcos_node_ssh.proc import programs
from dcos_node_ssh.errors import SshSetupError
from dcos_node_ssh.openssh.hops import SshPlan, build_argv, is_plink, plink_translation

P, T = "52.34.108.176", "10.0.1.23"


@pytest.mark.parametrize("fields, expected", [
    pytest.param(dict(proxy=P), ["plink", "-A", "-t", "-l", "core", P, "ssh", "-A", "-t", f"core@{T}"],
                 id="proxied-login"),
    pytest.param(dict(proxy=P, command=("hostname",), tty=False),
                 ["plink", "-A", "-T", "-l", "core", P, "ssh", "-A", "-T", f"core@{T}", "hostname"],
                 id="proxied-command"),
    pytest.param(dict(proxy=P, command=("echo", "$HOME;", "exit 3"), tty=False),
                 ["plink", "-A", "-T", "-l", "core", P, "ssh", "-A", "-T", f"core@{T}", "'echo $HOME; exit 3'"],
                 id="proxied-quoted-for-the-proxy"),
    pytest.param(dict(proxy=P, user="centos"),
                 ["plink", "-A", "-t", "-l", "centos", P, "ssh", "-A", "-t", f"centos@{T}"], id="user"),
    pytest.param(dict(proxy=P, options=("Port=2222", "StrictHostKeyChecking=no")),
                 ["plink", "-A", "-t", "-l", "core", "-P", "2222", P, "ssh", "-A", "-t", "-o", "Port=2222",
                  "-o", "StrictHostKeyChecking=no", f"core@{T}"], id="options-reach-the-openssh-hop"),
    pytest.param(dict(proxy=P, options=("IdentityFile=C:\\keys\\cluster.ppk", "User=admin")),
                 ["plink", "-A", "-t", "-l", "core", "-i", "C:\\keys\\cluster.ppk", "-l", "admin", P, "ssh", "-A",
                  "-t", "-o", "'IdentityFile=C:\\keys\\cluster.ppk'", "-o", "User=admin", f"core@{T}"],
                 id="identity-and-user"),
    pytest.param(dict(), ["plink", "-A", "-t", "-l", "core", T], id="direct-login"),
    pytest.param(dict(command=("uptime",), tty=False), ["plink", "-A", "-T", "-l", "core", T, "uptime"],
                 id="direct-command"),
    pytest.param(dict(command=("-V",), tty=False), ["plink", "-A", "-T", "-l", "core", T, " -V"],
                 id="direct-command-starting-with-a-dash"),
    pytest.param(dict(proxy=P, command=("-V",), tty=False),
                 ["plink", "-A", "-T", "-l", "core", P, "ssh", "-A", "-T", "--", f"core@{T}", "-V"],
                 id="proxied-command-starting-with-a-dash"),
    pytest.param(dict(proxy=P, config_file="C:\\Users\\me\\.ssh\\config"),
                 ["plink", "-A", "-t", "-l", "core", P, "ssh", "-A", "-t", f"core@{T}"],
                 id="no-openssh-config-for-plink"),
])
def test_plink_argument_lists(fields, expected):
    fields = {"user": "core", **fields}  # a copy: the parameter is shared by every run of the test
    assert build_argv(SshPlan(target=T, client="plink", **fields)) == expected


def test_plink_path_is_kept_on_the_first_hop():
    argv = build_argv(SshPlan(target=T, user="core", proxy=P, client="C:\\Program Files\\PuTTY\\plink.exe"))
    assert argv[0] == "C:\\Program Files\\PuTTY\\plink.exe" and argv[6] == "ssh"


@pytest.mark.parametrize("client, plink", [
    ("plink", True), ("plink.exe", True), ("PLINK.EXE", True), ("C:\\Program Files\\PuTTY\\plink.exe", True),
    ("/usr/bin/plink", True), ("ssh", False), ("ssh.exe", False), ("/opt/plinkish/ssh", False),
])
def test_is_plink(client, plink):
    assert is_plink(client) is plink


@pytest.mark.parametrize("options, flags, unexpressed", [
    (["Port=22"], ["-P", "22"], []),
    (["IdentityFile=~/.ssh/key.pem"], [], ["IdentityFile=~/.ssh/key.pem"]),
    (["IdentityFile=key.PPK"], ["-i", "key.PPK"], []),
    (["Compression=yes", "BatchMode=yes", "AddressFamily=inet6"], ["-C", "-batch", "-6"], []),
    (["ProxyCommand=nc -X connect -x proxy:3128 %h %p"], ["-proxycmd", "nc -X connect -x proxy:3128 %h %p"], []),
    (["ServerAliveInterval=30", "port=2200"], ["-P", "2200"], ["ServerAliveInterval=30"]),
    # the key ends at the first '='; the value may hold more
    (["ProxyCommand=ssh -o Port=22 gw -W %h:%p"], ["-proxycmd", "ssh -o Port=22 gw -W %h:%p"], []),
    (["Port=2222", "IdentityFile=C:\\keys\\a.ppk", "User=ops"], ["-P", "2222", "-i", "C:\\keys\\a.ppk", "-l", "ops"],
     []),
    (["Compression=no", "BatchMode=no", "ProxyCommand=none", "AddressFamily=any"], [], []),
    (["AddressFamily=inet"], ["-4"], []),
])
def test_plink_translation(options, flags, unexpressed):
    assert plink_translation(options) == (flags, unexpressed)


# -- choosing the client ----------------------------------------------------------


def finder(*present):
    return lambda name, posix=True: f"C:\\bin\\{name}.exe" if name in present else None


@pytest.mark.parametrize("requested, posix, present, chosen", [
    (None, True, ("plink",), "ssh"),  # POSIX: OpenSSH unless asked
    (None, False, ("ssh", "plink"), "ssh"),
    (None, False, ("plink",), "plink"),  # Windows with PuTTY only
    (None, False, (), "ssh"),  # nothing: ssh, whose absence is then reported
    ("plink", True, ("ssh",), "plink"),
    ("D:\\tools\\plink.exe", False, (), "D:\\tools\\plink.exe"),
])
def test_choose_client(requested, posix, present, chosen):
    assert programs.choose_client(requested, posix, finder(*present)) == chosen


def test_missing_plink_says_how_to_install_it(tmp_path):
    with pytest.raises(SshSetupError, match="Install PuTTY"):
        programs.find_client("plink", plink=True, search=str(tmp_path))


# -- agents by platform -------------------------------------------------------------


class FakeWindowsAgents:
    def __init__(self, openssh=False, pageant=False):
        self._openssh, self._pageant = openssh, pageant

    def openssh_agent(self):
        return self._openssh

    def pageant(self):
        return self._pageant


def test_windows_plink_needs_pageant_and_says_how_to_start_it():
    with pytest.raises(SshSetupError) as caught:
        sshagent.check_agent({}, "C:\\PuTTY\\plink.exe", plink=True, posix=False, windows=FakeWindowsAgents())
    message = str(caught.value)
    assert "Pageant is not running" in message and "PuTTYgen" in message and ".ppk" in message
    sshagent.check_agent({}, "C:\\PuTTY\\plink.exe", plink=True, posix=False, windows=FakeWindowsAgents(pageant=True))


def test_windows_openssh_without_any_agent():
    with pytest.raises(SshSetupError) as caught:
        sshagent.check_agent({}, "C:\\Windows\\System32\\OpenSSH\\ssh.exe", posix=False, windows=FakeWindowsAgents())
    message = str(caught.value)
    assert "\\\\.\\pipe\\openssh-ssh-agent" in message and "Start-Service ssh-agent" in message
    assert "SSH_AUTH_SOCK" not in message.split("(")[0]  # no demand for the POSIX variable


@pytest.fixture
def fake_ssh_add(tmp_path):
    """An `ssh-add` next to the client whose exit status is chosen by the test."""
    def make(status):
        folder = tmp_path / "bin"
        folder.mkdir(exist_ok=True)
        script = folder / "ssh-add"
        script.write_text(f"#!/bin/sh\nexit {status}\n")
        script.chmod(0o755)
        return str(folder / "ssh")
    return make


@pytest.mark.parametrize("status, says", [(0, None), (1, "holds no keys"), (2, "Cannot talk to the ssh-agent")])
def test_windows_openssh_agent_pipe_is_accepted_and_asked_for_keys(fake_ssh_add, status, says):
    client = fake_ssh_add(status)  # ssh-add is found next to the client, as on Windows
    agents = FakeWindowsAgents(openssh=True)
    if says is None:
        sshagent.check_agent({"PATH": os.path.dirname(client)}, client, posix=False, windows=agents)
    else:
        with pytest.raises(SshSetupError, match=says):
            sshagent.check_agent({"PATH": os.path.dirname(client)}, client, posix=False, windows=agents)


def test_posix_plink_uses_the_openssh_agent_like_ssh():
    with pytest.raises(SshSetupError, match="SSH_AUTH_SOCK is not set"):
        sshagent.check_agent({}, "/usr/bin/plink", plink=True, posix=True)
