"""`dcos node scp`: operands, the exact scp argument list, and the command against the
loopback cluster API (no root: nothing is copied here; tests/test_e2e_files.py copies).

What stops before scp runs is run in-process (helpers.cli); what reaches scp runs the
installed console script, since scp is exec'd, with a stand-in scp that prints its words.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from clusterdata import agent_entry
from dcos_node_ssh.errors import NodeSshError, UsageError
from dcos_node_ssh.openssh.copy import (Operand, Place, ScpPlan, glob_escaped, no_sftp_mode_notice, node_names,
                                        openssh_release, parse_operand, parse_operands, scp_argv, scp_has_sftp_mode,
                                        sftp_argv, sftp_commands)
from dcos_node_ssh.openssh.hops import cluster_key
from helpers import base_env, config_for, in_process, openssh_8_2_scp, unchanged_home

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
    ("a/b:c/d", Operand(L, "a/b:c/d")),  # the first '/' comes before the ':'
    ("a:x", Operand(R, "x", "a")),  # a one-letter node
    ("[a]:x", Operand(R, "x", "a")),
    ("[fd00::1]:/a]b", Operand(R, "/a]b", "fd00::1")),  # the address ends at the first ']'
])
def test_parse_operand(word, expected):
    assert parse_operand(word) == expected


@pytest.mark.parametrize("words, message", [
    (["a", "b"], "None of the paths names a node"),
    (["core@S1:/x", "."], "give the node alone"),
    (["S1:/x"], "at least one source"),
])
def test_parse_operands_refuses(words, message):
    with pytest.raises(UsageError, match=message):
        parse_operands(words)


@pytest.mark.parametrize("words, message", [
    (["a", "b"], "None of the paths names a node. A remote path is <node>:<path>, where <node> is `leader` (or "
                 "`master`), an agent's ID or a unique part of it, its host name or its address; for a local copy, "
                 "use cp."),
    (["x", "core@S1:/x"], "'core@S1' names a user and a node; give the node alone (`<node>:<path>`) and the user "
                          "with --user=<user>."),
    (["S1:/x"], "Give at least one source and a destination."),
    ([], "Give at least one source and a destination."),
])
def test_operands_refused_are_said_in_full(words, message):
    with pytest.raises(UsageError) as caught:
        parse_operands(words)
    assert str(caught.value) == message


def test_a_user_at_a_local_path_is_only_a_file_name():
    assert parse_operands(["me@home", "S1:/x"])[0] == Operand(L, "me@home")


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
    pytest.param(["x", "S1:y"], dict(proxy=None, host_key_alias=None, recursive=True, preserve=True),
                 ["scp", "-s", "-r", "-p", "--", "x", f"core@{T}:y"], id="recursive-keeping-modes-and-times"),
    pytest.param(["x", "S1:y"], dict(client="/opt/openssh/bin/scp", ssh_client="/opt/openssh/bin/ssh"),
                 ["/opt/openssh/bin/scp", "-s", "-o", f"ProxyCommand=/opt/openssh/bin/ssh -W '[%h]:%p' core@{P}",
                  "-o", ALIAS, "--", "x", f"core@{T}:y"], id="the-clients-named"),
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

# The agents of conftest's loopback API (clusterdata.scenario): S1 is at 10.0.1.21.
S1 = "20151002-000353-1695027628-5050-1177-S1"
LEADER = "10.0.4.1"


@pytest.fixture
def fake_scp(tmp_path):
    """An `scp` first on PATH that prints its arguments, one per line, and exits 3."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "scp"
    script.write_text("#!/bin/sh\nprintf '%s\\n' \"SHELL=$SHELL\" \"$@\"\nexit 3\n")
    script.chmod(0o755)
    return str(folder)


def installed(dcos_node, home, api, args, path):
    """The installed console script (scp is exec'd), with `path` first on PATH."""
    config_for(home, api.url)
    env = base_env(home, PATH=path + ":" + base_env(home)["PATH"])
    return unchanged_home(env, lambda: subprocess.run([dcos_node, "node", "scp"] + args, env=env,
                                                      capture_output=True, text=True, timeout=60))


def test_scp_through_the_master_with_the_clusters_identity(dcos_node, home, api, fake_scp):
    result = installed(dcos_node, home, api, ["--master-proxy", "-r", "--", "-local dir", f"{S1}:/tmp/x;y"],
                       fake_scp)
    assert result.returncode == 3, result.stderr  # scp's own status
    key = cluster_key(api.default_scenario()["metadata"]["CLUSTER_ID"], None)
    assert result.stdout.splitlines() == [
        "SHELL=/bin/sh", "-s", "-r", "-o", "ProxyCommand=ssh -W '[%h]:%p' core@52.34.108.176",
        "-o", f"HostKeyAlias=dcos-{key}-10.0.1.21", "--", "-local dir", "core@10.0.1.21:/tmp/x;y"]
    assert "Running `scp -s -r -o" in result.stderr
    # /metadata once: the proxy and the cluster's identity share it.
    assert sorted(entry["path"] for entry in api.requests()) == ["/mesos/master/slaves?slave_id=" + S1, "/metadata"]


def test_scp_to_the_leader_by_proxy_ip_asks_metadata_for_the_identity(dcos_node, home, api, fake_scp):
    result = installed(dcos_node, home, api, ["--proxy-ip=203.0.113.5", "leader:/etc/hosts", "."], fake_scp)
    assert result.returncode == 3, result.stderr
    assert "core@203.0.113.5" in result.stdout and f"core@{LEADER}:/etc/hosts" in result.stdout
    assert sorted(entry["path"] for entry in api.requests()) == ["/mesos_dns/v1/hosts/leader.mesos", "/metadata"]


def test_a_cluster_id_that_utf8_cannot_encode_still_names_the_keys(dcos_node, home, api, fake_scp):
    """A lone surrogate in CLUSTER_ID (JSON "\\ud800") was an internal error; it is a digest
    like any other ID that is not a plain name."""
    scenario = api.default_scenario()
    scenario["metadata"]["CLUSTER_ID"] = "c\ud800"
    api.write_scenario(scenario)
    assert '"c\\ud800"' in json.dumps(scenario["metadata"])  # as the cluster sends it
    result = installed(dcos_node, home, api, ["--master-proxy", "x", "leader:/tmp/"], fake_scp)
    assert result.returncode == 3, result.stderr
    key = cluster_key("c\ud800", None)
    assert f"HostKeyAlias=dcos-{key}-{LEADER}" in result.stdout.splitlines()
    assert re.fullmatch("[0-9a-f]{16}", key) and key != cluster_key("c\ud801", None)


@pytest.mark.parametrize("args, message, usage", [
    (["a", "b"], "None of the paths names a node", True),
    (["-x", "S1:a"], "Unknown option '-x'.", True),
    (["--master-proxy", "--proxy-ip=1.2.3.4", "a", "S1:b"], "Choose one proxy, not --master-proxy and --proxy-ip",
     True),
    (["--option=Host=*", "a", "S1:b"], "is not an option: in a config file Host starts a block", True),
    (["S9:a", "."], "No agent matches 'S9'", False),
])
def test_scp_refuses(home, api, args, message, usage):
    config_for(home, api.url)
    result = in_process(home, ["node", "scp"] + args)
    assert result.returncode == 125 and message in result.stderr, result.stderr
    assert result.stderr.startswith("dcos node scp: ") and ("Usage:" in result.stderr) == usage


def test_two_different_nodes_are_an_error_not_a_usage_text(home, api):
    """It used to print the whole usage after the message, as if the command line were wrong."""
    config_for(home, api.url)
    result = in_process(home, ["node", "scp", f"{S1}:a", "leader:b"])
    assert result.returncode == 125
    assert result.stderr == (
        f"dcos node scp: The paths name different nodes ({S1} at 10.0.1.21, leader at {LEADER}); one copy "
        "reaches one node. Copy through this machine in two steps.\n")


def test_an_agent_the_other_commands_refuse_is_refused_for_the_same_reason(home, api):
    scenario = api.default_scenario()
    scenario["slaves"] = scenario["slaves"] + [agent_entry("S-odd", "odd name", "10.0.1.41")]
    api.write_scenario(scenario)
    config_for(home, api.url)
    reason = "The cluster gives agent S-odd the hostname 'odd name', which is not an IP address or host name."
    copied = in_process(home, ["node", "scp", "--master-proxy", "x", "S-odd:/tmp/"])
    reached = in_process(home, ["node", "ssh", "--master-proxy", "--mesos-id=S-odd", "--dry-run"])
    assert copied.returncode == reached.returncode == 125
    assert copied.stderr == f"dcos node scp: {reason} Refusing to connect to it.\n"
    assert reached.stderr == f"dcos node ssh: {reason} Refusing to connect to it.\n"


# -- an scp without SFTP mode: sftp instead -------------------------------------------------

# Each release's usage, as its scp.c prints it (V_7_4_P1, V_8_2_P1, V_8_7_P1, V_9_0_P1).
USAGE_7_4 = ("usage: scp [-12346BCpqrv] [-c cipher] [-F ssh_config] [-i identity_file]\n"
             "           [-l limit] [-o ssh_option] [-P port] [-S program]\n"
             "           [[user@]host1:]file1 ... [[user@]host2:]file2\n")
USAGE_8_2 = ("usage: scp [-346BCpqrTv] [-c cipher] [-F ssh_config] [-i identity_file]\n"
             "            [-J destination] [-l limit] [-o ssh_option] [-P port]\n"
             "            [-S program] source ... target\n")
USAGE_8_7 = ("usage: scp [-346ABCOpqRrsTv] [-c cipher] [-D sftp_server_path] [-F ssh_config]\n"
             "           [-i identity_file] [-J destination] [-l limit]\n"
             "           [-o ssh_option] [-P port] [-S program] source ... target\n")


@pytest.mark.parametrize("usage, expected", [
    (USAGE_7_4, False), ("unknown option -- s\r\n" + USAGE_8_2, False), (USAGE_8_2, False), (USAGE_8_7, True),
    ("", None), ("scp: command not found\n", None), ("SHELL=/bin/sh\n", None),
])
def test_scp_has_sftp_mode_by_its_usage(usage, expected):
    assert scp_has_sftp_mode(usage) is expected


def test_this_machines_scp_is_read_as_it_is():
    """The usage text of the scp installed here, read the way the command reads it."""
    real = subprocess.run(["scp"], capture_output=True, text=True)
    version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr
    release = openssh_release(version)
    assert release is not None, version
    expected = tuple(int(part) for part in release.split(".")) >= (8, 7)
    assert real.returncode == 1 and scp_has_sftp_mode(real.stderr) is expected


@pytest.mark.parametrize("line, release", [
    ("OpenSSH_8.2p1 Ubuntu-4ubuntu0.5, OpenSSL 1.1.1f  31 Mar 2020", "8.2"),
    ("OpenSSH_7.4p1, OpenSSL 1.0.2k-fips  26 Jan 2017\n", "7.4"),
    ("OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2", "8.1"),
    ("plink: Release 0.78", None),
])
def test_openssh_release(line, release):
    assert openssh_release(line) == release


def test_the_notice_names_the_release_or_the_program():
    assert no_sftp_mode_notice("/usr/bin/scp", "8.2", "/usr/bin/sftp") == (
        "This scp (OpenSSH 8.2) has no SFTP mode (-s, OpenSSH 8.7 and later): copying with sftp (/usr/bin/sftp), "
        "which keeps the node's shell out of it too.")
    assert no_sftp_mode_notice("/opt/bin/scp", None, "sftp").startswith("This scp (/opt/bin/scp) has no SFTP mode")


def plan_of(words, **fields):
    fields.setdefault("target", T)
    fields.setdefault("user", "core")
    fields.setdefault("proxy", P)
    fields.setdefault("host_key_alias", f"dcos-c1-{fields['target']}")
    return ScpPlan(parse_operands(words), **fields)


@pytest.mark.parametrize("words, fields, batch", [
    pytest.param(["notes.txt", "S1:/tmp/"], {}, b'put -- "notes.txt" "/tmp/"\n', id="upload"),
    pytest.param(["S1:/var/log/*.log", "."], dict(recursive=True, preserve=True),
                 b'get -R -p -- "/var/log/*.log" "."\n', id="download-quoted-so-the-glob-is-a-name"),
    pytest.param(["a", "b c", "S1:~/x"], {}, b'put -- "a" "x/"\nput -- "b c" "x/"\n',
                 id="several-sources-need-a-folder-home-relative"),
    pytest.param(["S1:", "S1:~", "here"], {}, b'get -- "." "here/"\nget -- "." "here/"\n', id="the-home"),
    pytest.param(["notes.txt", "S1:~/"], {}, b'put -- "notes.txt" "."\n', id="the-home-with-a-slash"),
    pytest.param(["S1:a", "S1:b", "/tmp/dl/"], {}, b'get -- "a" "/tmp/dl/"\nget -- "b" "/tmp/dl/"\n',
                 id="a-folder-already-ending-in-a-slash-gets-no-second-one"),
    # `~` is the node's home only: a local path is taken as written, as scp takes it
    pytest.param(["~/notes.txt", "S1:/tmp/"], {}, b'put -- "~/notes.txt" "/tmp/"\n', id="a-local-source-under-tilde"),
    pytest.param(["S1:/tmp/x", "~/dl"], {}, b'get -- "/tmp/x" "~/dl"\n', id="a-local-destination-under-tilde"),
    pytest.param(["-dash", 'q"uo\\te\'#', "S1:-rf"], {},
                 b'put -- "-dash" "-rf/"\nput -- "q\\"uo\\\\te\'#" "-rf/"\n', id="dashes-quotes-backslashes"),
])
def test_sftp_commands(words, fields, batch):
    assert sftp_commands(plan_of(words, **fields)) == batch


@pytest.mark.parametrize("words, message", [
    (["S1:a", "S1:b"], "sftp cannot copy from a node to a node"),
    (["a", "S1:b", "c"], "sftp copies between this machine and a node only"),
    (["S1:~other/x", "."], "names another user's home"),
    (["a\nb", "S1:x"], "holds a line break"),
    (["a", "S1:b\nc"], "holds a line break"),
    (["a" * 2030, "S1:/tmp/"], "too long for one sftp command"),
])
def test_sftp_refuses_what_it_cannot_do(words, message):
    with pytest.raises(NodeSshError, match=message):
        sftp_commands(plan_of(words))


@pytest.mark.parametrize("words, message", [
    (["a", "S1:b", "c"], "This scp has no SFTP mode, and sftp copies between this machine and a node only: copy the "
                         "local paths with cp, or use OpenSSH 8.7 or later."),
    (["S1:~other/x", "."], "'~other/x' names another user's home, which sftp cannot expand (scp in SFTP mode asks "
                           "the server, with OpenSSH 8.7 and later): write the path in full."),
    (["a\nb", "S1:x"], "'a\\nb' holds a line break, which sftp's commands cannot carry (they are lines): rename "
                       "it, or use OpenSSH 8.7 or later."),
    (["a" * 2030, "S1:/tmp/"], f"The paths of '{'a' * 117}...' are too long for one sftp command (2047 bytes, at "
                               "most 2046): use shorter ones, or OpenSSH 8.7 or later."),
])
def test_what_sftp_cannot_do_is_said_in_full(words, message):
    with pytest.raises(NodeSshError) as caught:
        sftp_commands(plan_of(words))
    assert str(caught.value) == message


def test_an_sftp_command_of_the_longest_line_sftp_reads_whole_is_written():
    batch = sftp_commands(plan_of(["a" * 2029, "S1:/tmp/"]))
    assert batch == b'put -- "' + b"a" * 2029 + b'" "/tmp/"\n' and len(batch) == 2046 + 1


def test_sftp_connects_as_scp_would():
    """The same ProxyCommand, HostKeyAlias and options; BatchMode back off after the user's
    options (sftp -b turns it on); the destination after `--`, an IPv6 address in brackets."""
    options = dict(options=("StrictHostKeyChecking=yes",), proxy_options=("Port=2222",))
    scp = scp_argv(plan_of(["x", "S1:y"], **options))
    assert sftp_argv(plan_of(["x", "S1:y"], **options)) == ["sftp"] + scp[2:scp.index("--")] + [
        "-o", "BatchMode=no", "-b", "-", "--", f"core@{T}"]
    assert sftp_argv(plan_of(["x", "S1:y"], proxy=None, host_key_alias=None, target="2001:db8::5")) == [
        "sftp", "-o", "BatchMode=no", "-b", "-", "--", "core@[2001:db8::5]"]


SFTP_SERVER = next((path for path in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                                      "/usr/lib/sftp-server") if os.path.exists(path)), None)
HOSTILE = ["plain.txt", "with  two spaces", "it's \"quoted\"", "-leading-dash", "--also", "semi;colon #hash",
           "$(touch PWNED)`id`&|<>", "glob*?[ab].txt", "back\\slash", "trailing\\", "\\*", "ünïcödé ☃", "~tilde",
           "trailing space ", "tab\there", "cr\rhere"]


def sftp_locally(batch, cwd):
    """OpenSSH's own sftp, reading the batch as it would through the node, with a local
    sftp-server for the node (`sftp -D`): the real parser, and no network."""
    if SFTP_SERVER is None or shutil.which("sftp") is None:
        pytest.skip("sftp and sftp-server are not installed (Debian packages openssh-client, openssh-sftp-server)")
    return subprocess.run(["sftp", "-D", SFTP_SERVER, "-b", "-"], input=batch, capture_output=True, cwd=cwd)


def test_each_hostile_name_goes_and_comes_back_through_the_real_sftp(tmp_path):
    """Each name arrives as written, and only that file is fetched: a glob in a name matches
    that name alone (a sibling it would match is there), and nothing runs."""
    up, node, down = tmp_path / "up", tmp_path / "node", tmp_path / "down"
    for folder in (up, node, down):
        folder.mkdir()
    (node / "globXab.txt").write_bytes(b"a sibling the glob would match")
    (node / "a").write_bytes(b"what \\* would match")
    for name in HOSTILE:
        (up / name).write_bytes(name.encode() * 3)
        put = sftp_commands(plan_of([str(up / name), f"S1:{node / name}"]))
        get = sftp_commands(plan_of([f"S1:{node / name}", str(down / name)]))
        result = sftp_locally(put + get, tmp_path)
        assert result.returncode == 0, (name, result.stderr)
        assert (node / name).read_bytes() == (down / name).read_bytes() == name.encode() * 3
    assert sorted(os.listdir(down)) == sorted(HOSTILE) and not (tmp_path / "PWNED").exists()


def test_a_tree_keeps_its_modes_and_times_with_p_and_lands_inside_an_existing_folder(tmp_path):
    up = tmp_path / "up tree"
    (up / "sub dir").mkdir(parents=True)
    for index, name in enumerate(["x", "sub dir/-y", "sub dir/z*"]):
        (up / name).write_bytes(os.urandom(100 + index))
        os.chmod(up / name, 0o640 + index)
        os.utime(up / name, (1_000_000_000 + index, 1_000_000_000 + index))
    (tmp_path / "node").mkdir()
    put = sftp_commands(plan_of([str(up), f"S1:{tmp_path / 'node'}"], recursive=True, preserve=True))
    get = sftp_commands(plan_of([f"S1:{tmp_path / 'node' / 'up tree'}", str(tmp_path / "down")], recursive=True,
                                preserve=True))
    result = sftp_locally(put + get, tmp_path)
    assert result.returncode == 0, result.stderr
    for copy in (tmp_path / "node" / "up tree", tmp_path / "down"):
        for name in ["x", "sub dir/-y", "sub dir/z*"]:
            mine, theirs = os.stat(up / name), os.stat(copy / name)
            assert (copy / name).read_bytes() == (up / name).read_bytes()
            assert (theirs.st_mode, int(theirs.st_mtime)) == (mine.st_mode, int(mine.st_mtime))


def test_a_missing_source_stops_sftp_with_status_1(tmp_path):
    result = sftp_locally(sftp_commands(plan_of(["S1:missing", "S1:also", str(tmp_path)])), tmp_path)
    assert result.returncode == 1 and b"not found" in result.stderr


@pytest.fixture
def old_scp_and_sftp(tmp_path):
    """OpenSSH 8.2's scp (helpers.openssh_8_2_scp) and an `sftp` stand-in that prints its
    words and then what it reads on stdin, and exits 3; both first on PATH."""
    folder = openssh_8_2_scp(tmp_path / "old")
    sftp = os.path.join(folder, "sftp")
    with open(sftp, "w") as stream:
        stream.write("#!/bin/sh\nprintf '%s\\n' \"SHELL=$SHELL\" \"$@\" '-- stdin:'\ncat\nexit 3\n")
    os.chmod(sftp, 0o755)
    return folder


def test_an_scp_without_sftp_mode_copies_with_sftp(dcos_node, home, api, old_scp_and_sftp):
    result = installed(dcos_node, home, api, ["--master-proxy", "-r", "-p", "--", "-local dir", f"{S1}:/tmp/x;y"],
                       old_scp_and_sftp)
    assert result.returncode == 3, result.stderr  # sftp's own status
    key = cluster_key(api.default_scenario()["metadata"]["CLUSTER_ID"], None)
    notice, running, *printed = result.stderr.splitlines()
    assert notice == (f"This scp ({old_scp_and_sftp}/scp) has no SFTP mode (-s, OpenSSH 8.7 and later): copying "
                      f"with sftp ({old_scp_and_sftp}/sftp), which keeps the node's shell out of it too.")
    assert running.startswith("Running `sftp -o \"ProxyCommand=ssh -W '[%h]:%p' core@52.34.108.176\"")
    # What sftp prints goes to stderr (sftp echoes each command it reads there), stdout stays empty.
    assert result.stdout == "" and printed == [
        "SHELL=/bin/sh", "-o", "ProxyCommand=ssh -W '[%h]:%p' core@52.34.108.176", "-o",
        f"HostKeyAlias=dcos-{key}-10.0.1.21", "-o", "BatchMode=no", "-b", "-", "--", "core@10.0.1.21",
        "-- stdin:", 'put -R -p -- "-local dir" "/tmp/x;y"']


def test_an_scp_without_sftp_mode_says_what_sftp_cannot_do(home, api, tmp_path):
    """Refused before anything runs: in-process, where exec would fail the test."""
    config_for(home, api.url)
    folder = openssh_8_2_scp(tmp_path / "old")
    result = in_process(home, ["node", "scp", f"{S1}:a", f"{S1}:b"], PATH=folder + ":" + base_env(home)["PATH"])
    assert result.returncode == 125 and "Running" not in result.stderr
    assert result.stderr.endswith("dcos node scp: This scp has no SFTP mode, and sftp cannot copy from a node to a "
                                  "node (scp's -3): copy to this machine, then to the node, in two commands, or use "
                                  "OpenSSH 8.7 or later.\n")
