"""`dcos node ssh-config`: the config text, the aliases, the ~/.ssh/config edit (tables,
in-process), the config as OpenSSH itself reads it (`ssh -G`, no network), and the
command against the loopback cluster API."""

import os
import stat
import subprocess

import pytest

from clusterdata import agent_entry
from dcos_node_ssh import dotssh
from dcos_node_ssh.errors import NodeSshError, UsageError
from dcos_node_ssh.nodes import Node, NodeKind, NodeState, agent_node
from dcos_node_ssh.openssh.config import (INCLUDE_NOTE, ConfigPlan, HostEntry, check_prefix, config_text,
                                          default_prefix, file_name, include_line, node_entries, with_include)
from helpers import config_for, in_process, snapshot

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


def test_the_note_on_a_cluster_name_no_alias_can_hold_says_what_is_used_instead():
    assert default_prefix("My Cluster") == ("dcos.", "The cluster's name 'My Cluster' holds characters a Host alias "
                                                     "cannot; using the prefix dcos. (choose one with --prefix).")


def test_file_name():
    assert [file_name(p) for p in ("dcos.", "prod.", "", "lab-X.")] == [
        "dcos-node-ssh.dcos.conf", "dcos-node-ssh.prod.conf", "dcos-node-ssh.nodes.conf", "dcos-node-ssh.lab-X.conf"]


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


HOSTILE_AGENTS = [
    agent_entry("S\x1b[2J;rm", "ok-name", "10.0.1.30"),  # an ID no alias may hold
    agent_entry("S7", "bad name\nHost *", "10.0.1.31"),  # a host name that is none: no command connects to it
    agent_entry("S8", "twin", "10.0.1.32"),
    agent_entry("S9", "twin", "10.0.1.33"),  # the same host name twice: neither gets it
    agent_entry("S10", "leader", "10.0.1.34"),  # would shadow dcos.leader
    agent_entry("S11", "x", "", pid="nowhere"),  # no address
    agent_entry("S12", "10.0.1.31", "10.0.1.35"),  # its host name is the refused S7's address
    agent_entry("S13", "fine", "", pid="slave(1)@[fd00::1:5051"),  # a '[' never closed: no address
]


def test_node_entries_leave_out_what_is_unsafe_or_ambiguous_and_say_so():
    entries, notes = node_entries("dcos.", "10.0.4.1", [agent_node(entry) for entry in HOSTILE_AGENTS])
    aliases = {alias for entry in entries for alias in entry.aliases}
    assert aliases == {"dcos.leader", "dcos.ok-name", "dcos.10.0.1.30", "dcos.S8", "dcos.10.0.1.32", "dcos.S9",
                       "dcos.10.0.1.33", "dcos.S10", "dcos.10.0.1.34", "dcos.S12", "dcos.10.0.1.35"}
    assert [entry.address for entry in entries if "dcos.leader" in entry.aliases] == ["10.0.4.1"]
    text = "\n".join(notes)
    assert "agent S7 the hostname 'bad name\\nHost *', which is not an IP address or host name. It is left out." in text
    assert "agent S11 without a usable pid (got nowhere), so its address is unknown. It is left out." in text
    assert "agent S13 the pid 'slave(1)@[fd00::1:5051', whose host part is not" in text
    assert "dcos.twin" in text and text.count("dcos.twin") == 1 and "dcos.10.0.1.31" in text
    assert "S\\x1b[2J;rm" in text and "\x1b" not in text
    assert "\x1b" not in config_text(ConfigPlan("dcos.", "core", tuple(entries), P))
    # each said once, in the order met (agents by address, then the aliases left out)
    assert notes == [
        "Agent ID S\\x1b[2J;rm holds characters a Host alias cannot; only its host name and address are aliases.",
        "The cluster gives agent S7 the hostname 'bad name\\nHost *', which is not an IP address or host name. It "
        "is left out.",
        "The cluster describes agent S11 without a usable pid (got nowhere), so its address is unknown. It is left "
        "out.",
        "The cluster gives agent S13 the pid 'slave(1)@[fd00::1:5051', whose host part is not an IP address or host "
        "name. It is left out.",
        "The alias dcos.twin would name more than one node; left out.",
        "The alias dcos.leader would name more than one node; left out.",
        "The alias dcos.10.0.1.31 would name more than one node; left out.",
    ]


def test_an_agent_without_a_host_name_has_its_id_and_address_and_no_note():
    entries, notes = node_entries("dcos.", "10.0.4.1", [agent(S0, "", "10.0.1.20")])
    assert entries[1:] == [HostEntry((f"dcos.{S0}", "dcos.10.0.1.20"), "10.0.1.20", f"agent {S0}")] and notes == []


def test_a_host_name_that_is_none_is_no_alias_and_is_said_even_on_a_node_not_refused():
    # agent_node refuses such an agent (Node.problem); a Node made otherwise still gets no such alias.
    entries, notes = node_entries("dcos.", "10.0.4.1", [agent(S0, "bad name\x1b", "10.0.1.20")])
    assert entries[1:] == [HostEntry((f"dcos.{S0}", "dcos.10.0.1.20"), "10.0.1.20", f"agent {S0}")]
    assert notes == [f"Agent {S0} has the host name bad name\\x1b, which is not a host name; it is not an alias."]


def test_an_agent_has_an_entry_exactly_when_the_other_commands_connect_to_it():
    """One rule: nodes.agent_node's verdict, which nodes.agent_address (ssh, scp, run) enforces."""
    from dcos_node_ssh.errors import ClusterDataError
    from dcos_node_ssh.nodes import agent_address

    entries, _ = node_entries("dcos.", "10.0.4.1", [agent_node(entry) for entry in HOSTILE_AGENTS])
    with_entry = {entry.address for entry in entries[1:]}
    for entry in HOSTILE_AGENTS:
        node = agent_node(entry)
        try:
            address = agent_address(entry)
        except ClusterDataError as error:
            assert node.problem is not None and str(error).startswith(node.problem)
            assert node.address not in with_entry
        else:
            assert node.problem is None and address == node.address


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
    # Lines that resemble ours without being ours are the user's: they stay byte for byte.
    pytest.param(f"Include {PATH} \t\nHost a\n", None, id="the-users-include-with-trailing-blanks"),
    pytest.param(f"{INCLUDE_NOTE} \nInclude {PATH}X\n", OURS + f"{INCLUDE_NOTE} \nInclude {PATH}X\n",
                 id="a-note-with-a-trailing-blank-and-an-include-of-another-file"),
])
def test_with_include(before, after):
    result = with_include(before.encode(), PATH, FOLDER, HOME)
    assert result == (after.encode() if after is not None else None)
    if result is not None:
        assert with_include(result, PATH, FOLDER, HOME) is None  # again: nothing changes


def test_include_line_quotes_a_path_with_spaces():
    assert include_line("/home/my user/.ssh/x.conf") == 'Include "/home/my user/.ssh/x.conf"'
    assert with_include(b"", "/home/my user/.ssh/x.conf", "/home/my user/.ssh", "/home/my user") == (
        INCLUDE_NOTE + '\nInclude "/home/my user/.ssh/x.conf"\n').encode()
    assert with_include((INCLUDE_NOTE + '\nInclude "/home/my user/.ssh/x.conf"\n').encode(),
                        "/home/my user/.ssh/x.conf", "/home/my user/.ssh", "/home/my user") is None


@pytest.mark.parametrize("home", ['/home/a"b', "/home/a\nb", "/home/[me]", "/home/me*", "/home/m?"])
def test_include_line_refuses_a_path_openssh_would_read_otherwise(home):
    """OpenSSH reads an Include's path as a glob pattern: `[me]` would match `m` or `e`."""
    with pytest.raises(NodeSshError, match="cannot be written in an ssh config Include line"):
        include_line(home + "/.ssh/x.conf")


def test_include_line_takes_any_other_path_as_it_is():
    assert include_line("/home/Xavier/.ssh/x.conf") == "Include /home/Xavier/.ssh/x.conf"


def test_a_path_an_include_line_cannot_hold_is_said_in_full():
    with pytest.raises(NodeSshError) as caught:
        include_line("/home/[me]/.ssh/x.conf")
    assert str(caught.value) == ("The path /home/[me]/.ssh/x.conf cannot be written in an ssh config Include line: "
                                 "OpenSSH would read '*', '?' and '[' as a pattern, and '\"' or a line break ends "
                                 "the path.")


# -- OpenSSH's verdict (`ssh -G`, real) ------------------------------------------------


def test_openssh_verdict(tmp_path):
    config = tmp_path / "config"
    config.write_text("Host dcos.leader\n    HostName 10.9.9.9\n")
    assert dotssh.openssh_verdict("ssh", str(config), "dcos.leader", base_ssh_env()) is None
    assert dotssh.openssh_verdict("ssh", str(config), "dcos.leader", base_ssh_env(), "10.9.9.9") is None
    assert dotssh.openssh_verdict("ssh", str(config), "dcos.leader", base_ssh_env(), "10.0.4.1") == (
        "reads it, but takes dcos.leader to 10.9.9.9, not to 10.0.4.1")
    config.write_text("Host dcos.leader\n    HostName 10.9.9.9\nHost other\n    Bogus yes\n")
    said = dotssh.openssh_verdict("ssh", str(config), "dcos.leader", base_ssh_env(), "10.9.9.9")
    assert said.startswith('says "') and f"{config}: line 4: Bad configuration option: bogus" in said


def base_ssh_env():
    return {"PATH": "/usr/bin:/bin"}


# -- the command, against the loopback cluster API -----------------------------------------

AGENT_IDS = [f"20151002-000353-1695027628-5050-1177-S{n}" for n in range(3)]  # conftest's loopback API


def ssh_config(home, api, *args, extra="", **env):
    config_for(home, api.url, extra)
    return in_process(home, ["node", "ssh-config", *args], **env)


def test_ssh_config_prints_every_node(home, api):
    result = ssh_config(home, api, "--master-proxy", "--user=centos", "--option=ServerAliveInterval=30",
                        extra='[cluster]\nname = "prod"\n')
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Host prod.proxy\n    HostName 52.34.108.176\n    User centos\n    ServerAliveInterval=30\n" in text
    assert "Host prod.leader\n    HostName 10.0.4.1\n" in text
    for entry in api.default_scenario()["slaves"]:
        node = agent_node(entry)
        assert f"Host prod.{node.id} " in text and f"prod.{node.address}" in text
    assert "Host prod.20151002-000353-1695027628-5050-1177-S0 prod.dcos-01 prod.10.0.1.20\n" in text
    assert text.count("ProxyJump prod.proxy") == 4 and text.count("HostKeyAlias dcos-") == 4
    # the proxy's address and the cluster's ID share one /metadata
    assert sorted(entry["path"] for entry in api.requests()) == [
        "/mesos/master/state-summary", "/mesos_dns/v1/hosts/leader.mesos", "/metadata"]


def test_ssh_config_says_it_connects_to_nothing(home, api):
    """It used to say "Connecting directly to … If it cannot be reached", though it connects nowhere."""
    result = ssh_config(home, api)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("The entries connect directly to the nodes; for entries that hop through the master, "
                             "add --master-proxy (or --proxy-ip=<bastion>).\n")


def test_ssh_config_leaves_out_hostile_names_and_says_so(home, api):
    scenario = api.default_scenario()
    scenario["slaves"] = scenario["slaves"] + [
        agent_entry("S-\x1b]0;owned\x07", "fine-name", "10.0.1.40"),
        agent_entry("S-ok", "evil\nHost *\n  ProxyCommand touch /tmp/x", "10.0.1.41")]
    api.write_scenario(scenario)
    result = ssh_config(home, api, "--proxy-ip=203.0.113.5", "--prefix=")
    assert result.returncode == 0, result.stderr
    assert "Host fine-name 10.0.1.40\n" in result.stdout
    assert "S-ok" not in result.stdout and "10.0.1.41" not in result.stdout  # ssh refuses it: no entry either
    assert "\x1b" not in result.stdout and "evil" not in result.stdout and "touch" not in result.stdout
    assert "\x1b" not in result.stderr and "S-\\x1b]0;owned\\x07" in result.stderr
    assert ("The cluster gives agent S-ok the hostname 'evil\\nHost *\\n  ProxyCommand touch /tmp/x', which is not "
            "an IP address or host name. It is left out.\n") in result.stderr


def test_a_cluster_id_that_utf8_cannot_encode_still_names_the_keys(home, api):
    """A lone surrogate in CLUSTER_ID (JSON "\\udc80") was an internal error."""
    from dcos_node_ssh.openssh.hops import cluster_key

    scenario = api.default_scenario()
    scenario["metadata"]["CLUSTER_ID"] = "\udc80"
    api.write_scenario(scenario)
    result = ssh_config(home, api, "--master-proxy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(f"HostKeyAlias dcos-{cluster_key(chr(0xdc80), None)}-") == 4
    jump = in_process(home, ["node", "ssh", "--master-proxy", "--jump", "--leader", "--dry-run"])
    assert jump.returncode == 0, jump.stderr
    assert f"HostKeyAlias=dcos-{cluster_key(chr(0xdc80), None)}-10.0.4.1" in jump.stdout


def test_ssh_config_refuses_a_bad_prefix(home, api):
    result = ssh_config(home, api, "--prefix=a b")
    assert result.returncode == 125 and "The prefix from --prefix must be at most 63 letters" in result.stderr


# -- --write: ~/.ssh, as OpenSSH reads it ------------------------------------------------


@pytest.fixture
def openssh_home(tmp_path, monkeypatch):
    """The home OpenSSH reads ~/.ssh from (the password database's, not $HOME): a folder of
    the test's, as if it were this user's passwd home. Only that lookup is replaced; ssh -G
    is the real one."""
    folder = tmp_path / "passwd-home"
    (folder / ".ssh").mkdir(parents=True, mode=0o700)
    monkeypatch.setattr(dotssh, "ssh_home", lambda environment: str(folder))
    return folder


MINE = b"# my own config\r\nServerAliveInterval 15\nHost github.com\n    User git\n"


def error_of(result):
    """The error paragraph, after the notes that come before it."""
    return result.stderr[result.stderr.index("dcos node ssh-config: "):]


def users_config(openssh_home, data=MINE, mode=0o600):
    path = openssh_home / ".ssh" / "config"
    path.write_bytes(data)
    path.chmod(mode)
    return path


def included(openssh_home, prefix="dcos."):
    name = openssh_home / ".ssh" / file_name(prefix)
    return f"{INCLUDE_NOTE}\nInclude {name}\n".encode()


def test_write_includes_the_config_once_and_changes_nothing_the_second_time(home, api, openssh_home):
    config = users_config(openssh_home)
    first = ssh_config(home, api, "--master-proxy", "--write")
    assert first.returncode == 0, first.stderr
    assert config.read_bytes() == included(openssh_home) + MINE
    generated = openssh_home / ".ssh" / "dcos-node-ssh.dcos.conf"
    assert stat.S_IMODE(generated.stat().st_mode) == 0o600 and "Host dcos.leader" in generated.read_text()
    assert first.stdout == "" and f"Wrote {generated} (checked with `ssh -G`).\n" in first.stderr
    assert f"(OpenSSH reads ~/.ssh from {openssh_home}" in first.stderr and "To undo" in first.stderr
    # OpenSSH itself finds the nodes through the Include, and the user's own entries as they were.
    assert (ssh_resolves(str(config), "dcos.leader")["hostname"], ssh_resolves(str(config), "github.com")["user"]) == (
        "10.0.4.1", "git")
    after_first = snapshot(str(openssh_home))
    second = ssh_config(home, api, "--master-proxy", "--write")
    assert second.returncode == 0, second.stderr
    assert snapshot(str(openssh_home)) == after_first
    assert f"{generated} is up to date.\n" in second.stderr and "includes it already" in second.stderr


@pytest.mark.parametrize("option, said", [
    ("--option=StrictHostKeyCheking=no", "line 8: Bad configuration option: stricthostkeycheking"),
    ("--option=StrictHostKeyChecking=maybe", 'line 8: unsupported option "maybe".'),
    ("--option=User=two words", "line 8: keyword user extra arguments at end of line"),
])
def test_write_refuses_a_config_openssh_refuses(home, api, openssh_home, option, said):
    """One misspelled --option used to be written, and then every ssh command on the machine
    (`ssh github.com` too) failed on it."""
    config = users_config(openssh_home)
    before = snapshot(str(openssh_home))
    result = ssh_config(home, api, option, "--write")
    assert result.returncode == 125
    generated = openssh_home / ".ssh" / "dcos-node-ssh.dcos.conf"
    assert error_of(result).startswith("dcos node ssh-config: OpenSSH does not accept the config this would write: "
                                       f'`ssh -G` says "{generated}')
    assert said in result.stderr
    assert "Nothing was written." in result.stderr and ".tmp" not in result.stderr
    assert snapshot(str(openssh_home)) == before
    assert ssh_resolves(str(config), "github.com")["user"] == "git"


@pytest.mark.parametrize("option", ["--option=Host=*", "--option=match=all", "--option=Include=/etc/passwd",
                                    "--option=User=me\rHost *", "--option=ProxyCommand=nc %h %p\nHost *"])
@pytest.mark.parametrize("write", [[], ["--write"]])
def test_an_option_that_cannot_be_a_config_line_is_refused_before_anything(home, api, openssh_home, option, write):
    before = snapshot(str(openssh_home))
    result = ssh_config(home, api, "--master-proxy", option, *write)
    assert result.returncode == 125 and result.stdout == ""
    assert result.stderr.startswith("dcos node ssh-config: The ssh option ")
    assert "is not an option" in result.stderr or "holds a line break" in result.stderr
    assert api.requests() == [] and snapshot(str(openssh_home)) == before


def test_an_empty_prefix_is_refused_for_write_only(home, api, openssh_home):
    before = snapshot(str(openssh_home))
    refused = ssh_config(home, api, "--prefix=", "--write")
    assert refused.returncode == 125
    assert refused.stderr.startswith("dcos node ssh-config: An empty --prefix makes the agents' own IDs, host names "
                                     "and addresses the aliases")
    assert api.requests() == [] and snapshot(str(openssh_home)) == before
    printed = ssh_config(home, api, "--prefix=")  # for `ssh -F <file>`, the user's to place
    assert printed.returncode == 0 and "Host leader\n" in printed.stdout


def test_write_keeps_an_options_own_bytes(home, api, openssh_home):
    """A path in the user's own locale (latin-1 bytes, not UTF-8) reaches argv as lone
    surrogates; it was an internal error, and is written as the bytes the user gave."""
    result = ssh_config(home, api, "--option=IdentityFile=/keys/cl\udce9.pem", "--write")
    assert result.returncode == 0, result.stderr
    generated = (openssh_home / ".ssh" / "dcos-node-ssh.dcos.conf").read_bytes()
    assert b"    IdentityFile=/keys/cl\xe9.pem\n" in generated


def test_write_keeps_the_mode_of_a_writable_config(home, api, openssh_home):
    config = users_config(openssh_home, mode=0o644)
    result = ssh_config(home, api, "--write")
    assert result.returncode == 0, result.stderr
    assert config.read_bytes() == included(openssh_home) + MINE and stat.S_IMODE(config.stat().st_mode) == 0o644


def test_a_read_only_config_is_left_alone_with_the_lines_to_add(home, api, openssh_home):
    config = users_config(openssh_home, mode=0o400)
    result = ssh_config(home, api, "--write")
    assert result.returncode == 125
    generated = openssh_home / ".ssh" / "dcos-node-ssh.dcos.conf"
    assert result.stderr.endswith(
        f"dcos node ssh-config: {config} is read-only (mode 0400), so it was left alone. For plain ssh to find the "
        "nodes, add these two lines at its top, before any Host or Match line:\n"
        f"    {INCLUDE_NOTE}\n    Include {generated}\n")
    assert config.read_bytes() == MINE and stat.S_IMODE(config.stat().st_mode) == 0o400
    assert "Host dcos.leader" in generated.read_text()
    # Once the user has added them, the Include is found and nothing more is asked.
    config.chmod(0o600)
    config.write_bytes(included(openssh_home) + MINE)
    config.chmod(0o400)
    again = ssh_config(home, api, "--write")
    assert again.returncode == 0 and "includes it already" in again.stderr, again.stderr


def test_a_hard_linked_config_is_left_alone(home, api, openssh_home, tmp_path):
    """Replacing it would leave its other name with the old text."""
    config = users_config(openssh_home)
    other = tmp_path / "dotfiles-config"
    os.link(config, other)
    result = ssh_config(home, api, "--write")
    assert result.returncode == 125
    assert f"{config} has 2 names (hard links), and replacing it would leave the others with the old text, so it " \
           "was left alone." in result.stderr
    assert config.read_bytes() == other.read_bytes() == MINE and os.path.samefile(config, other)


def test_a_linked_config_stays_a_link_and_its_target_changes(home, api, openssh_home, tmp_path):
    """Dotfiles keep ~/.ssh/config as a link: the file it points to is the one that changes."""
    target = tmp_path / "dotfiles" / "ssh_config"
    target.parent.mkdir()
    target.write_bytes(MINE)
    target.chmod(0o640)
    config = openssh_home / ".ssh" / "config"
    config.symlink_to(target)
    result = ssh_config(home, api, "--write")
    assert result.returncode == 0, result.stderr
    assert os.readlink(config) == str(target)
    assert target.read_bytes() == included(openssh_home) + MINE and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(target.parent)) == ["ssh_config"]  # no temporary file left


def test_a_dangling_link_is_left_alone(home, api, openssh_home, tmp_path):
    missing = tmp_path / "nowhere" / "config"
    config = openssh_home / ".ssh" / "config"
    config.symlink_to(missing)
    result = ssh_config(home, api, "--write")
    assert result.returncode == 125
    assert f"{config} is a link to {missing}, which does not exist, so it was left alone." in result.stderr
    assert os.readlink(config) == str(missing) and not os.path.exists(tmp_path / "nowhere")


def test_the_generated_file_is_never_written_through_a_link(home, api, openssh_home, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    link = openssh_home / ".ssh" / "dcos-node-ssh.dcos.conf"
    link.symlink_to(victim)
    before = snapshot(str(openssh_home))
    result = ssh_config(home, api, "--write")
    assert result.returncode == 125
    assert error_of(result) == (f"dcos node ssh-config: {link} is a symbolic link, and ssh-config writes its own file "
                             "only as a file of its own, so nothing was written. Make it a writable file of its own "
                             "(or delete it) and run again.\n")
    assert victim.read_bytes() == b"precious\n" and snapshot(str(openssh_home)) == before


def test_a_config_openssh_refuses_already_is_named_as_such(home, api, openssh_home):
    config = users_config(openssh_home, MINE + b"Host x\n    Bogus yes\n")
    before = snapshot(str(openssh_home))
    result = ssh_config(home, api, "--write")
    assert result.returncode == 125
    assert error_of(result).startswith(
        f"dcos node ssh-config: OpenSSH does not accept {config} as it is, before any change: `ssh -G` says "
        f'"{config}: line 6: Bad configuration option: bogus')
    assert result.stderr.endswith("Nothing was written; fix it first, since every ssh command on this machine "
                                  "reads it.\n")
    assert snapshot(str(openssh_home)) == before


def test_an_ssh_folder_that_is_no_folder_is_an_error(home, api, tmp_path, monkeypatch):
    openssh_home = tmp_path / "passwd-home"
    openssh_home.mkdir()
    (openssh_home / ".ssh").write_text("not a folder")
    monkeypatch.setattr(dotssh, "ssh_home", lambda environment: str(openssh_home))
    result = ssh_config(home, api, "--write")
    assert result.returncode == 125
    assert error_of(result) == f"dcos node ssh-config: Cannot write {openssh_home / '.ssh'}: File exists.\n"


def test_write_needs_openssh_to_check_the_config(home, api, openssh_home):
    import sys

    before = snapshot(str(openssh_home))
    result = ssh_config(home, api, "--write", PATH=os.path.dirname(sys.executable))
    assert result.returncode == 125
    assert "--write has OpenSSH check the config (`ssh -G`) before ~/.ssh changes, and no `ssh` program was found " \
           "on PATH." in result.stderr
    assert snapshot(str(openssh_home)) == before


def test_a_refused_prefix_is_said_with_the_rule():
    with pytest.raises(UsageError) as caught:
        check_prefix("-oProxyCommand=x", "--prefix")
    assert str(caught.value) == ("The prefix from --prefix must be at most 63 letters, digits, '_', '.' and '-' (not "
                                 "starting with '-' or '.'), not '-oProxyCommand=x'.")


def test_an_include_line_ssh_could_not_read_is_not_taken_for_ours():
    before = f'Include "{PATH}\n'  # an unterminated quote: no path at all
    assert with_include(before.encode(), PATH, FOLDER, HOME) == (OURS + before).encode()


def test_an_include_of_ours_inside_a_bare_host_line_block_moves_to_the_top():
    assert with_include(f"Host\nInclude {PATH}\n".encode(), PATH, FOLDER, HOME) == (OURS + "Host\n").encode()


def test_a_config_with_bytes_that_are_not_utf8_is_edited_around_them():
    before = b"# caf\xe9\nHost a\n"
    assert with_include(before, PATH, FOLDER, HOME) == OURS.encode() + before


def test_an_include_of_ours_inside_a_match_block_moves_to_the_top():
    assert with_include(f"Match host x\nInclude {PATH}\n".encode(), PATH, FOLDER, HOME) == (
        OURS + "Match host x\n").encode()
