"""`dcos node ssh-config`: the config text, the aliases, the ~/.ssh/config edit (tables,
in-process), the config as OpenSSH itself reads it (`ssh -G`, no network), and the
command against the loopback cluster API."""

import os
import stat
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import AGENTS, base_env, run_plugin, write_config  # noqa: E402
from dcos_node_ssh.files import write_private_file  # noqa: E402
from dcos_node_ssh.errors import UsageError  # noqa: E402
from dcos_node_ssh.nodes import Node, NodeKind, NodeState, agent_node  # noqa: E402
from dcos_node_ssh.openssh.config import (INCLUDE_NOTE, ConfigPlan, HostEntry, check_prefix, config_text,  # noqa: E402
                                      default_prefix, file_name, include_line, node_entries, with_include)

P = "52.34.108.176"
S0, S1 = "20151002-000353-1695027628-5050-1177-S0", "20151002-000353-1695027628-5050-1177-S1"


def agent(agent_id, hostname, address, kind=NodeKind.AGENT):
    return Node(agent_id, hostname, address, kind, NodeState.ACTIVE)


@pytest.mark.parametrize("value, ok", [
    ("dcos.", True), ("prod-east.", True), ("", True), ("a_b", True),
    ("-x", False), (".x", False), ("a b", False), ("a*", False), ("a\nHost *", False), ("a" * 64, False),
])
def test_check_prefix(value, ok):
    if ok:
        assert check_prefix(value, "--prefix") == value
    else:
        with pytest.raises(UsageError, match="--prefix"):
            check_prefix(value, "--prefix")


@pytest.mark.parametrize("name, prefix, noted", [
    (None, "dcos.", False), ("prod", "prod.", False), ("My Cluster", "dcos.", True), ("a\x1b[2J", "dcos.", True),
])
def test_default_prefix(name, prefix, noted):
    chosen, note = default_prefix(name)
    assert chosen == prefix and bool(note) == noted
    if note:
        assert "\x1b" not in note


def test_file_name():
    assert [file_name(p) for p in ("dcos.", "prod.", "")] == [
        "dcos-node-ssh.dcos.conf", "dcos-node-ssh.prod.conf", "dcos-node-ssh.nodes.conf"]


def test_node_entries_aliases():
    entries, notes = node_entries("dcos.", "10.0.4.1", [
        agent(S1, "10.0.1.21", "10.0.1.21"),
        agent(S0, "dcos-01", "10.0.1.20", NodeKind.PUBLIC_AGENT),
    ])
    assert entries == [
        HostEntry(("dcos.leader",), "10.0.4.1", "the leading master"),
        HostEntry((f"dcos.{S1}", "dcos.10.0.1.21"), "10.0.1.21", f"agent {S1}"),
        HostEntry((f"dcos.{S0}", "dcos.dcos-01", "dcos.10.0.1.20"), "10.0.1.20", f"public agent {S0}"),
    ]
    assert notes == []


def test_node_entries_leave_out_what_is_unsafe_or_ambiguous_and_say_so():
    entries, notes = node_entries("dcos.", "10.0.4.1", [
        agent("S\x1b[2J;rm", "ok-name", "10.0.1.30"),  # an ID no alias may hold
        agent("S7", "bad name\nHost *", "10.0.1.31"),  # a host name that is none
        agent("S8", "twin", "10.0.1.32"),
        agent("S9", "twin", "10.0.1.33"),  # the same host name twice: neither gets it
        agent("S10", "leader", "10.0.1.34"),  # would shadow dcos.leader
        agent("S11", "x", ""),  # no address
    ])
    aliases = {alias for entry in entries for alias in entry.aliases}
    assert aliases == {"dcos.leader", "dcos.ok-name", "dcos.10.0.1.30", "dcos.S7", "dcos.10.0.1.31",
                       "dcos.S8", "dcos.10.0.1.32", "dcos.S9", "dcos.10.0.1.33", "dcos.S10", "dcos.10.0.1.34"}
    assert [entry.address for entry in entries if "dcos.leader" in entry.aliases] == ["10.0.4.1"]
    text = "\n".join(notes)
    assert "S11 has no usable address" in text and "dcos.twin" in text and "bad name\\nHost *" in text
    assert "S\\x1b[2J;rm" in text and "\x1b" not in text and "\n".join(notes).count("dcos.twin") == 1
    assert "\x1b" not in config_text(ConfigPlan("dcos.", "core", tuple(entries), P))


def test_config_text():
    entries, _ = node_entries("dcos.", "10.0.4.1", [agent(S0, "dcos-01", "10.0.1.20")])
    text = config_text(ConfigPlan("dcos.", "centos", tuple(entries), P, ("ServerAliveInterval=30",), "c1",
                                  "the DC/OS cluster at 52.34.108.176"))
    assert text == f"""\
# The nodes of the DC/OS cluster at 52.34.108.176, for OpenSSH (ssh, scp, sftp, rsync -e ssh).
# Written by `dcos node ssh-config`; run it again to refresh it as agents come and go.

Host dcos.proxy
    HostName {P}
    User centos
    ServerAliveInterval=30

# the leading master
Host dcos.leader
    HostName 10.0.4.1
    User centos
    HostKeyAlias dcos-c1-10.0.4.1
    ProxyJump dcos.proxy
    ServerAliveInterval=30

# agent {S0}
Host dcos.{S0} dcos.dcos-01 dcos.10.0.1.20
    HostName 10.0.1.20
    User centos
    HostKeyAlias dcos-c1-10.0.1.20
    ProxyJump dcos.proxy
    ServerAliveInterval=30
"""


def test_config_text_direct_has_no_jump_and_no_alias():
    text = config_text(ConfigPlan("dcos.", "core", (HostEntry(("dcos.leader",), "10.0.4.1", "x"),), None, (), "c1"))
    assert "ProxyJump" not in text and "HostKeyAlias" not in text and "dcos.proxy" not in text


def ssh_resolves(config, host):
    result = subprocess.run(["ssh", "-G", "-F", config, host], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return {key: value for key, _, value in (line.partition(" ") for line in result.stdout.splitlines())}


def test_openssh_reads_the_config_as_meant(tmp_path):
    """Every alias resolves to its node, through the proxy entry, with the options, and the
    proxy entry has the options too; a user's ProxyCommand reaches the proxy only."""
    entries, _ = node_entries("dcos.", "10.0.4.1", [agent(S0, "dcos-01", "10.0.1.20"),
                                                     agent(S1, "dcos-02", "2001:db8::21")])
    # (a value is read as -o reads it: quotes for spaces; "it's" is refused by both alike)
    options = ("StrictHostKeyChecking=yes", 'IdentityFile="/keys/my key.pem"',
               "ProxyCommand=nc -X connect -x proxy.example.com:3128 %h %p")
    config = tmp_path / "config"
    config.write_text(config_text(ConfigPlan("dcos.", "centos", tuple(entries), P, options, "c1")))
    for alias, address in [("dcos.leader", "10.0.4.1"), (f"dcos.{S0}", "10.0.1.20"), ("dcos.dcos-01", "10.0.1.20"),
                           ("dcos.10.0.1.20", "10.0.1.20"), ("dcos.dcos-02", "2001:db8::21"),
                           ("dcos.2001:db8::21", "2001:db8::21")]:
        seen = ssh_resolves(str(config), alias)
        assert (seen["hostname"], seen["user"], seen["proxyjump"], seen["hostkeyalias"]) == (
            address, "centos", "dcos.proxy", f"dcos-c1-{address}"), alias
        assert seen["stricthostkeychecking"] == "true" and seen["identityfile"] == "/keys/my key.pem"
        assert "proxycommand" not in seen
    proxy = ssh_resolves(str(config), "dcos.proxy")
    assert (proxy["hostname"], proxy["user"], proxy["stricthostkeychecking"]) == (P, "centos", "true")
    assert proxy["proxycommand"].startswith("nc -X connect") and "hostkeyalias" not in proxy


# -- the ~/.ssh/config edit ---------------------------------------------------------------

HOME = "/home/me"
FOLDER = HOME + "/.ssh"
PATH = FOLDER + "/dcos-node-ssh.dcos.conf"
OURS = f"{INCLUDE_NOTE}\nInclude {PATH}\n"


@pytest.mark.parametrize("before, after", [
    pytest.param("", OURS, id="empty"),
    pytest.param("Host *\n    ServerAliveInterval 30\n", OURS + "Host *\n    ServerAliveInterval 30\n",
                 id="before-the-first-host"),
    pytest.param("# mine\r\nUser me\r\nMatch host x\r\n  Port 2\r\n", OURS + "# mine\r\nUser me\r\nMatch host x\r\n"
                 "  Port 2\r\n", id="crlf-and-match-kept-byte-for-byte"),
    pytest.param("Host a\n  Port 2", OURS + "Host a\n  Port 2", id="no-final-newline"),
    pytest.param(f"Host a\n  Port 2\nInclude {PATH}\n", OURS + "Host a\n  Port 2\n", id="ours-inside-a-block-moves"),
    pytest.param(f"User me\n{OURS}{OURS}Host a\n", f"User me\n{OURS}Host a\n", id="duplicates-of-ours-removed"),
    pytest.param(f"Include {PATH}\nHost a\n", None, id="already-there"),
    pytest.param(f"User me\n{OURS}Host a\n", None, id="already-there-with-its-note"),
    pytest.param("Include ~/.ssh/dcos-node-ssh.dcos.conf\nHost a\n", None, id="the-users-own-spelling"),
    pytest.param("include dcos-node-ssh.dcos.conf other.conf\n", None, id="relative-to-ssh-folder"),
    pytest.param(f"Include ~/.ssh/dcos-node-ssh.dcos.conf\n{OURS}", "Include ~/.ssh/dcos-node-ssh.dcos.conf\n",
                 id="the-users-include-wins-over-ours"),
    pytest.param("Include other.conf\nHost a\n  Include dcos-node-ssh.dcos.conf\n",
                 OURS + "Include other.conf\nHost a\n  Include dcos-node-ssh.dcos.conf\n",
                 id="the-users-include-inside-a-block-stays-and-ours-goes-on-top"),
])
def test_with_include(before, after):
    result = with_include(before.encode(), PATH, FOLDER, HOME)
    assert result == (after.encode() if after is not None else None)
    if result is not None:
        assert with_include(result, PATH, FOLDER, HOME) is None  # again: nothing changes


def test_include_line_quotes_a_path_with_spaces():
    assert include_line("/home/my user/.ssh/x.conf") == 'Include "/home/my user/.ssh/x.conf"'
    with pytest.raises(UsageError):
        include_line('/home/a"b/.ssh/x.conf')
    assert with_include(b"", "/home/my user/.ssh/x.conf", "/home/my user/.ssh", "/home/my user") == (
        INCLUDE_NOTE + '\nInclude "/home/my user/.ssh/x.conf"\n').encode()
    assert with_include((INCLUDE_NOTE + '\nInclude "/home/my user/.ssh/x.conf"\n').encode(),
                        "/home/my user/.ssh/x.conf", "/home/my user/.ssh", "/home/my user") is None


def test_write_private_file(tmp_path):
    path = tmp_path / "new" / "file.conf"
    write_private_file(str(path), b"one\n")
    assert path.read_bytes() == b"one\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    write_private_file(str(path), b"two\n")
    assert path.read_bytes() == b"two\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["file.conf"]  # no temporary file left


# -- the command, against the loopback cluster API -----------------------------------------


def configure(home, api, extra=""):
    write_config(f"{home}/.dcos/dcos.toml", f'[core]\ndcos_url = "{api.url}"\n{extra}')


def test_ssh_config_prints_every_node(dcos_node, home, api):
    configure(home, api, '[cluster]\nname = "prod"\n')
    result = run_plugin(dcos_node, ["node", "ssh-config", "--master-proxy", "--user=centos",
                                    "--option=ServerAliveInterval=30"], base_env(home))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Host prod.proxy\n    HostName 52.34.108.176\n    User centos\n    ServerAliveInterval=30\n" in text
    assert "Host prod.leader\n    HostName 10.0.4.1\n" in text
    for entry in AGENTS:
        node = agent_node(entry)
        assert f"Host prod.{node.id} " in text and f"prod.{node.address}" in text
    assert "Host prod.20151002-000353-1695027628-5050-1177-S0 prod.dcos-01 prod.10.0.1.20\n" in text
    assert text.count("ProxyJump prod.proxy") == 4 and text.count("HostKeyAlias dcos-") == 4
    # the proxy's address and the cluster's ID share one /metadata
    assert sorted(entry["path"] for entry in api.requests()) == [
        "/mesos/master/state-summary", "/mesos_dns/v1/hosts/leader.mesos", "/metadata"]


def test_ssh_config_leaves_out_hostile_names_and_says_so(dcos_node, home, api):
    from clusterdata import agent_entry

    configure(home, api)
    scenario = api.default_scenario()
    scenario["slaves"] = scenario["slaves"] + [
        agent_entry("S-\x1b]0;owned\x07", "fine-name", "10.0.1.40"),
        agent_entry("S-ok", "evil\nHost *\n  ProxyCommand touch /tmp/x", "10.0.1.41")]
    api.write_scenario(scenario)
    result = run_plugin(dcos_node, ["node", "ssh-config", "--proxy-ip=203.0.113.5", "--prefix="], base_env(home))
    assert result.returncode == 0, result.stderr
    assert "Host fine-name 10.0.1.40\n" in result.stdout and "Host S-ok 10.0.1.41\n" in result.stdout
    assert "\x1b" not in result.stdout and "evil" not in result.stdout and "touch" not in result.stdout
    assert "\x1b" not in result.stderr and "S-\\x1b]0;owned\\x07" in result.stderr
    assert "evil\\nHost *" in result.stderr


def test_ssh_config_refuses_a_bad_prefix(dcos_node, home, api):
    configure(home, api)
    result = run_plugin(dcos_node, ["node", "ssh-config", "--prefix=a b"], base_env(home))
    assert result.returncode == 1 and "The prefix from --prefix must be letters" in result.stderr
