"""`dcos node scp`: operands, the exact scp argument list, and the command against the
loopback cluster API (no root: nothing is copied here; tests/test_e2e_files.py copies)."""

import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import AGENTS, base_env, run_plugin, write_config  # noqa: E402
from dcos_node_ssh.errors import UsageError  # noqa: E402
from dcos_node_ssh.openssh.copy import (Operand, Place, RemoteKind, ScpPlan, glob_escaped, node_names,  # noqa: E402
                                    parse_operand, parse_operands, scp_argv)

P, T = "52.34.108.176", "10.0.1.23"
L, R = Place.LOCAL, Place.REMOTE


@pytest.mark.parametrize("word, expected", [
    ("S1:/var/log/x", Operand(R, "/var/log/x", "S1")),
    ("leader:", Operand(R, "", "leader")),
    ("master:~/a b", Operand(R, "~/a b", "master")),
    ("dcos-agent-1:rel/path", Operand(R, "rel/path", "dcos-agent-1")),
    ("10.0.1.21:/tmp/a:b", Operand(R, "/tmp/a:b", "10.0.1.21")),
    ("[2001:db8::5]:/tmp/x", Operand(R, "/tmp/x", "2001:db8::5")),
    ("S1:-rf", Operand(R, "-rf", "S1")),
    ("S1:a;b 'c' \"d\" $(e)", Operand(R, "a;b 'c' \"d\" $(e)", "S1")),
    # local: no ':', a '/' before it, or a leading ':' (as scp reads them)
    ("notes.txt", Operand(L, "notes.txt")),
    ("./a:b", Operand(L, "./a:b")),
    ("/tmp/a:b", Operand(L, "/tmp/a:b")),
    (":odd", Operand(L, ":odd")),
    ("-rf", Operand(L, "-rf")),
    ("[not-closed:x", Operand(L, "[not-closed:x")),
    ("[]:x", Operand(L, "[]:x")),
])
def test_parse_operand(word, expected):
    assert parse_operand(word) == expected


def test_node_kinds():
    assert [parse_operand(word).kind for word in ("leader:x", "master:x", "S1:x", "x")] == [
        RemoteKind.LEADER, RemoteKind.LEADER, RemoteKind.AGENT, None]


@pytest.mark.parametrize("words, message", [
    (["a", "b"], "None of the paths names a node"),
    (["core@S1:/x", "."], "give the node alone"),
    (["S1:/x"], "at least one source"),
])
def test_parse_operands_refuses(words, message):
    with pytest.raises(UsageError, match=message):
        parse_operands(words)


def test_node_names_once_each_in_order():
    assert node_names(parse_operands(["S1:a", "b", "leader:c", "S1:d"])) == ["S1", "leader"]


@pytest.mark.parametrize("path, escaped", [
    ("/var/log/plain.log", "/var/log/plain.log"),
    ("a*b?c[d]e", "a\\*b\\?c\\[d]e"),
    ("back\\slash", "back\\\\slash"),
    ("sp ace 'q' \"dq\" ;semi $(x) `y` -dash ~t", "sp ace 'q' \"dq\" ;semi $(x) `y` -dash ~t"),
])
def test_glob_escaped(path, escaped):
    assert glob_escaped(path) == escaped


def _fnmatch_like_scp(pattern, name):
    """What a glob(3) pattern with backslash escapes matches, for a single name."""
    regex, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            regex += re.escape(pattern[index + 1])
            index += 2
            continue
        regex += {"*": ".*", "?": "."}.get(char, re.escape(char))
        index += 1
    return re.fullmatch(regex, name, re.DOTALL) is not None


@pytest.mark.parametrize("name", ["a*b", "x?", "back\\slash", "*", "plain", "[abc]"])
def test_an_escaped_source_matches_itself_only(name):
    assert _fnmatch_like_scp(glob_escaped(name), name)
    assert not _fnmatch_like_scp(glob_escaped(name), name + "x")


PC = f"ProxyCommand=ssh -W '[%h]:%p' core@{P}"
ALIAS = f"HostKeyAlias=dcos-c1-{T}"


@pytest.mark.parametrize("words, fields, expected", [
    pytest.param(["notes.txt", "S1:/tmp/"], dict(),
                 ["scp", "-s", "-o", PC, "-o", ALIAS, "--", "notes.txt", f"core@{T}:/tmp/"], id="upload"),
    pytest.param(["S1:/var/log/*.log", "."], dict(),
                 ["scp", "-s", "-o", PC, "-o", ALIAS, "--", f"core@{T}:/var/log/\\*.log", "."],
                 id="download-a-source-is-a-path-not-a-pattern"),
    pytest.param(["S1:a b/*", "S1:c d*"], dict(),
                 ["scp", "-s", "-3", "-o", PC, "-o", ALIAS, "--", f"core@{T}:a b/\\*", f"core@{T}:c d*"],
                 id="node-to-node-through-here-destination-unescaped"),
    pytest.param(["-dash", "S1:-dash"], dict(recursive=True, user="centos"),
                 ["scp", "-s", "-r", "-o", f"ProxyCommand=ssh -W '[%h]:%p' centos@{P}", "-o", ALIAS, "--",
                  "-dash", f"centos@{T}:-dash"], id="dashes-are-operands"),
    pytest.param(["x", "S1:y"], dict(options=("StrictHostKeyChecking=yes", "IdentityFile=/k/a b"),
                                     proxy_options=("Port=2222",)),
                 ["scp", "-s", "-o", "ProxyCommand=ssh -o Port=2222 -o StrictHostKeyChecking=yes -o "
                  "'IdentityFile=/k/a b' -W '[%h]:%p' core@" + P, "-o", ALIAS,
                  "-o", "StrictHostKeyChecking=yes", "-o", "IdentityFile=/k/a b", "--", "x", f"core@{T}:y"],
                 id="options-on-both-connections-proxy-options-on-the-proxys"),
    pytest.param(["x", "S1:y"], dict(proxy=None, host_key_alias=None),
                 ["scp", "-s", "--", "x", f"core@{T}:y"], id="direct"),
    pytest.param(["x", "S1:y"], dict(target="2001:db8::5", host_key_alias="dcos-c1-2001:db8::5"),
                 ["scp", "-s", "-o", PC, "-o", "HostKeyAlias=dcos-c1-2001:db8::5", "--", "x",
                  "core@[2001:db8::5]:y"], id="ipv6"),
])
def test_scp_argument_lists(words, fields, expected):
    fields.setdefault("target", T)
    fields.setdefault("user", "core")
    fields.setdefault("proxy", P)
    fields.setdefault("host_key_alias", f"dcos-c1-{fields['target']}")
    assert scp_argv(ScpPlan(parse_operands(words), **fields)) == expected


def test_the_proxy_command_is_jump_modes_and_survives_the_shell(tmp_path):
    """The ProxyCommand, as /bin/sh reads it after ssh's %-expansion, gives the jump
    connection exactly its words, whatever the options hold."""
    hostile = "SetEnv=X=\"$(touch /tmp/never)\" `id` ; rm -rf ~ & | > < * ? [a] ~ ! # %d %%"
    argv = scp_argv(ScpPlan(parse_operands(["a", "S1:b"]), target=T, user="core", proxy=P, options=(hostile,)))
    command = argv[argv.index("-o") + 1][len("ProxyCommand="):]
    expanded = re.sub(r"%([hp%])", lambda m: {"h": T, "p": "22", "%": "%"}[m.group(1)], command)
    result = subprocess.run(["sh", "-c", "set -- " + expanded + '; for w in "$@"; do printf "%s\\0" "$w"; done'],
                            capture_output=True, cwd=tmp_path)
    assert result.stdout.decode().split("\0")[:-1] == ["ssh", "-o", hostile, "-W", f"[{T}]:22", f"core@{P}"]
    assert not os.path.exists("/tmp/never")


# -- the command, against the loopback cluster API -----------------------------------

S1 = AGENTS[1]["id"]


def configure(home, api):
    write_config(f"{home}/.dcos/dcos.toml", f'[core]\ndcos_url = "{api.url}"\n')


@pytest.fixture
def fake_scp(tmp_path):
    """An `scp` first on PATH that prints its arguments, one per line, and exits 3."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "scp"
    script.write_text("#!/bin/sh\nprintf '%s\\n' \"SHELL=$SHELL\" \"$@\"\nexit 3\n")
    script.chmod(0o755)
    return str(folder)


def test_scp_through_the_master_with_the_clusters_identity(dcos_node, home, api, fake_scp):
    configure(home, api)
    env = base_env(home, PATH=fake_scp + ":" + base_env(home)["PATH"])
    result = run_plugin(dcos_node, ["node", "scp", "--master-proxy", "-r", "--", "-local dir", f"{S1}:/tmp/x;y"], env)
    assert result.returncode == 3, result.stderr  # scp's own status
    from dcos_node_ssh.openssh.hops import cluster_key

    import clusterdata
    key = cluster_key(clusterdata.fixture("metadata.json")["CLUSTER_ID"], None)
    assert result.stdout.splitlines() == [
        "SHELL=/bin/sh", "-s", "-r", "-o", "ProxyCommand=ssh -W '[%h]:%p' core@52.34.108.176",
        "-o", f"HostKeyAlias=dcos-{key}-10.0.1.21", "--", "-local dir", "core@10.0.1.21:/tmp/x;y"]
    assert "Running `scp -s -r -o" in result.stderr
    # /metadata once: the proxy and the cluster's identity share it.
    assert sorted(entry["path"] for entry in api.requests()) == ["/mesos/master/slaves?slave_id=" + S1, "/metadata"]


def test_scp_to_the_leader_by_proxy_ip_asks_metadata_for_the_identity(dcos_node, home, api, fake_scp):
    configure(home, api)
    env = base_env(home, PATH=fake_scp + ":" + base_env(home)["PATH"])
    result = run_plugin(dcos_node, ["node", "scp", "--proxy-ip=203.0.113.5", "leader:/etc/hosts", "."], env)
    assert result.returncode == 3, result.stderr
    assert "core@203.0.113.5" in result.stdout and "core@10.0.4.1:/etc/hosts" in result.stdout
    assert sorted(entry["path"] for entry in api.requests()) == ["/mesos_dns/v1/hosts/leader.mesos", "/metadata"]


@pytest.mark.parametrize("args, message", [
    (["a", "b"], "None of the paths names a node"),
    ([f"{S1}:a", "leader:b"], "name different nodes"),
    (["S9:a", "."], "No agent matches 'S9'"),
    (["-x", "S1:a"], "Unknown option '-x'."),
    (["--master-proxy", "--proxy-ip=1.2.3.4", "a", "S1:b"], "Choose one proxy, not --master-proxy and --proxy-ip"),
])
def test_scp_refuses(dcos_node, home, api, fake_scp, args, message):
    configure(home, api)
    env = base_env(home, PATH=fake_scp + ":" + base_env(home)["PATH"])
    result = run_plugin(dcos_node, ["node", "scp"] + args, env)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert result.stderr.startswith("dcos node scp: ") and "SHELL=" not in result.stdout
