"""`dcos node copy` and `dcos node fetch`: the scp argument list of each node and the words of
the summary as tables of plain data; the command line and the command in-process
(tests/helpers.py) against the loopback cluster API, where it stops before scp runs or where
a real scp reaches nothing but a closed port on 127.0.0.x. Copies through a real master to
nodes with disks of their own are tests/test_e2e_copy.py's.
"""

import json
import os

import pytest

import clusterdata
from dcos_node_ssh import commands, fanout, usage
from dcos_node_ssh.fanout import NodeResult, Result
from dcos_node_ssh.nodes import NodeKind
from dcos_node_ssh.openssh import shared
from dcos_node_ssh.selection import Target
from helpers import config_for, in_process

PLAN = shared.Shared(user="core", options=("StrictHostKeyChecking=yes",), client="/usr/bin/ssh", proxy="52.1.2.3",
                     control_path="/tmp/dcos-run-x/proxy")
VIA = ["-S", "/usr/bin/ssh", "-o",
       "ProxyCommand=/usr/bin/ssh -o ControlMaster=no -o ControlPath=/tmp/dcos-run-x/proxy -o ForwardAgent=no -o "
       "ControlMaster=no -o ControlPath=none -o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o BatchMode=yes "
       "-W '[%h]:%p' core@52.1.2.3", "-o", "HostKeyAlias=dcos-c-10.0.1.20"]
NODE = ["-o", "ForwardAgent=no", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o",
        "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes"]


@pytest.mark.parametrize("copy, folder, expected", [
    # local paths as scp reads them for local whatever they hold; the remote path as given
    (shared.Copy(("notes.txt", "-rf", "a:b", "/abs/x y", "[x]:y"), "/tmp/dest dir/"), "",
     ["scp", "-s"] + VIA + NODE + ["--", "./notes.txt", "./-rf", "./a:b", "/abs/x y", "./[x]:y",
                                   "core@10.0.1.20:/tmp/dest dir/"]),
    (shared.Copy(("conf",), "~/x", recursive=True, preserve=True), "",
     ["scp", "-s", "-r", "-p"] + VIA + NODE + ["--", "./conf", "core@10.0.1.20:~/x"]),
    # fetch: remote sources escaped for scp's own glob, into the node's folder
    (shared.Copy(("/var/log/*.log", "a\\b", "-x", "~/[1]?"), fetch=True), "out/S1",
     ["scp", "-s"] + VIA + NODE + ["--", "core@10.0.1.20:/var/log/\\*.log", "core@10.0.1.20:a\\\\b",
                                   "core@10.0.1.20:-x", "core@10.0.1.20:~/\\[1]\\?", "./out/S1"]),
    (shared.Copy(("/etc",), fetch=True, recursive=True), "/abs/out:1/S1",
     ["scp", "-s", "-r"] + VIA + NODE + ["--", "core@10.0.1.20:/etc", "/abs/out:1/S1"]),
])
def test_scp_argv(copy, folder, expected):
    assert shared.scp_argv(PLAN, copy, "10.0.1.20", "dcos-c-10.0.1.20", None, folder, "scp") == expected


def test_scp_argv_directly_through_a_warm_connection_and_to_ipv6():
    plan = PLAN._replace(proxy=None, options=())
    argv = shared.scp_argv(plan, shared.Copy(("f",), "/tmp/"), "fd00::5", None, "/w/n1", "", "/usr/bin/scp")
    assert argv == ["/usr/bin/scp", "-s", "-S", "/usr/bin/ssh", "-o", "ForwardAgent=no", "-o", "ControlMaster=no",
                    "-o", "ControlPath=/w/n1", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "--", "./f",
                    "core@[fd00::5]:/tmp/"]


@pytest.mark.parametrize("path, word", [
    ("a", "./a"), ("a:b", "./a:b"), ("-r", "./-r"), ("./x", "././x"), ("/x:y", "/x:y"), ("~/x", "./~/x"),
])
def test_local_word(path, word):
    assert shared.local_word(path) == word


TARGET = Target("S1", "a-1", "10.0.1.20", NodeKind.AGENT)
OTHER = Target("S2", "a-2", "10.0.1.21", NodeKind.AGENT)


def test_the_summary_of_a_copy_counts_the_nodes_copied_to_and_names_the_others():
    results = [NodeResult(TARGET, Result.EXITED, 0), NodeResult(OTHER, Result.EXITED, 1),
               NodeResult(TARGET._replace(id="S3", hostname="a-3"), Result.UNREACHABLE, 255)]
    assert fanout.summary(results, copied="Copied to {done} of {nodes}.") == (
        "Copied to 1 of 3 nodes.\n  scp exit status 1 (1): a-2\n"
        "  could not be reached or logged in to (ssh exit status 255) (1): a-3\n")
    assert fanout.summary(results[:1], copied="Fetched from {done} of {nodes} into {x}.") == \
        "Fetched from 1 of 1 node into {x}.\n"


def test_a_json_line_carries_the_nodes_folder():
    entry = json.loads(fanout.json_line(NodeResult(TARGET, Result.EXITED, 0), {"folder": "out/S1"}))
    assert list(entry)[:7] == ["id", "hostname", "address", "type", "result", "status", "folder"]
    assert entry["folder"] == "out/S1"


# -- the command line -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["copy", "a", "/tmp/"], "Say which nodes to copy to: --all, --masters"),
    (["fetch", "/x", "out"], "Say which nodes to fetch from: --all"),
    (["copy", "--agents", "a"], "Name what to copy and where: one or more local files (folders with -r), then the "
                                "path on the nodes to copy them to."),
    (["copy", "--agents", "--masters", "a", "b"], "Choose one selection, not --agents and --masters."),
    (["fetch", "--agents", "--warm=0", "/x", "out"], "--warm must be a whole number of at least 1, not '0'."),
    (["fetch", "--agents", "--warm=1.5", "/x", "out"], "--warm must be a whole number of at least 1, not '1.5'."),
    (["run", "--agents", "--warm=86401", "--", "true"], "--warm keeps connections open for at most 86400 seconds (a "
                                                        "day), not '86401'; close them sooner with `dcos node "
                                                        "disconnect`.\n"),
    (["copy", "--agents", "--parallel=0", "a", "b"], "--parallel must be a whole number of at least 1"),
    (["fetch", "--agents", "--timeout=0", "/x", "out"], "--timeout must be a number of seconds of at least 0.001, not "
                                                        "'0'."),
    (["copy", "--agents", "a", ""], "A path is empty: name a file or a folder (on the nodes, `~` is the home"),
    (["copy", "--agents", "--gather", "a", "b"], "--gather is not an option of `dcos node copy`."),
    (["disconnect", "--agents"], "--agents is not an option of `dcos node disconnect`."),
    (["copy", "--agents", "--bogus", "a", "b"], "Unknown option '--bogus'."),
])
def test_usage_errors(home, args, message):
    result = in_process(home, ["node"] + args)
    assert result.returncode == 125 and result.stdout == ""
    assert result.stderr.startswith(f"dcos node {args[0]}: {message}"), result.stderr


@pytest.mark.parametrize("args, expected", [
    # (fetch, sources, destination, -r, -p, --parallel, --timeout, --json, --warm)
    (["copy", "--agents", "a", "b", "/tmp/"], (False, ("a", "b"), "/tmp/", False, False, 32, None, False, None)),
    (["copy", "--masters", "-r", "-p", "--parallel=2", "--timeout=0.5", "--json", "--warm=60", "conf", "~/x"],
     (False, ("conf",), "~/x", True, True, 2, 0.5, True, 60)),
    (["fetch", "--all", "-p", "/var/log/syslog", "out"], (True, ("/var/log/syslog",), "out", False, True, 32, None,
                                                          False, None)),
    (["fetch", "--all", "-r", "--timeout=0.001", "--warm=86400", "/etc", "out"],
     (True, ("/etc",), "out", True, False, 32, 0.001, False, 86400)),  # a day at most
])
def test_the_flags_of_a_copy_as_given(args, expected):
    flags = commands.load(args[0]).parse(usage.options(["node"] + args))
    assert (flags.fetch, flags.sources, flags.destination, flags.recursive, flags.preserve, flags.parallel,
            flags.timeout, flags.json, flags.warm) == expected


# -- the command, against the loopback API ---------------------------------------------------------

CLOSED = "--option=Port=1"  # nodes on loopback addresses, whose port 1 is closed: scp fails there at once


def loopback_cluster(api, home, agents=()):
    scenario = api.default_scenario()
    scenario["masters_dns"] = [{"host": "master.mesos.", "ip": "127.0.0.1"}]
    scenario["slaves"] = list(agents)
    api.write_scenario(scenario)
    config_for(home, api.url)


AGENTS = [clusterdata.agent_entry("S9", "loop-2", "127.0.0.2"), clusterdata.agent_entry("a/b", "loop-3", "127.0.0.3")]


@pytest.mark.parametrize("make, recursive, message", [
    (lambda path: None, False, "Cannot copy {path}: No such file or directory."),
    (lambda path: os.mkdir(path), False, "{path} is a folder: add -r to copy it and what it holds."),
])
def test_a_source_that_cannot_be_copied_is_said_once_before_anything_is_asked(home, api, tmp_path, make, recursive,
                                                                             message):
    loopback_cluster(api, home)
    path = str(tmp_path / "conf")
    make(path)
    result = in_process(home, ["node", "copy", "--all"] + ["-r"] * recursive + [path, "/tmp/"])
    assert result.returncode == 125 and result.stderr == f"dcos node copy: {message.format(path=path)}\n"
    assert api.requests() == []


def test_a_copy_that_reaches_no_node_names_each_and_exits_1(home, api, tmp_path):
    loopback_cluster(api, home, AGENTS)
    source = tmp_path / "notes"
    source.write_text("x")
    result = in_process(home, ["node", "copy", "--all", CLOSED, str(source), "/tmp/"])
    assert result.returncode == 1
    assert "Copying to 3 nodes directly, 3 at a time.\n" in result.stderr
    assert result.stderr.endswith("Copied to 0 of 3 nodes.\n  could not be reached or logged in to (ssh exit status "
                                  "255) (3): 127.0.0.1,loop-[2-3]\n")
    assert "loop-2: ssh: connect to host 127.0.0.2 port 1: Connection refused\r\n" in result.stderr  # as ssh ends it


def test_fetch_gives_every_node_a_folder_of_its_own_and_says_it_in_json(home, api, tmp_path):
    loopback_cluster(api, home, AGENTS)
    out = tmp_path / "out"
    result = in_process(home, ["node", "fetch", "--all", CLOSED, "--json", "/etc/hostname", str(out)])
    assert result.returncode == 1
    assert sorted(os.listdir(out)) == ["127.0.0.1", "S9", "unnamed-127.0.0.3"]
    assert all(os.listdir(out / name) == [] for name in os.listdir(out))
    entries = {entry["hostname"] or entry["address"]: entry for entry in map(json.loads, result.stdout.splitlines())}
    assert {name: (entry["result"], entry["folder"]) for name, entry in entries.items()} == {
        "127.0.0.1": ("unreachable", f"{out}/127.0.0.1"), "loop-2": ("unreachable", f"{out}/S9"),
        "loop-3": ("unreachable", f"{out}/unnamed-127.0.0.3")}
    assert f"loop-3: its files go to {out}/unnamed-127.0.0.3 (its agent ID cannot name a folder of its own).\n" \
        in result.stderr
    assert f"Fetched from 0 of 3 nodes into {out}.\n" in result.stderr


def test_fetch_into_a_folder_that_is_not_empty_is_refused_before_any_node_is_reached(home, api, tmp_path):
    loopback_cluster(api, home)
    out = tmp_path / "out"
    (out / "127.0.0.1").mkdir(parents=True)
    (out / "127.0.0.1" / "hostname").write_bytes(b"an earlier fetch's\n")
    result = in_process(home, ["node", "fetch", "--masters", CLOSED, "/etc/hostname", str(out)])
    assert (result.returncode, result.stderr) == (125, (
        f"dcos node fetch: The destination {out} is not empty. Name a new or empty folder: files of an earlier "
        "fetch beside this one's would be taken for this one's.\n"))
    assert os.listdir(out) == ["127.0.0.1"] and os.listdir(out / "127.0.0.1") == ["hostname"]


def test_plink_is_refused_for_copies_too(home):
    result = in_process(home, ["node", "fetch", "--agents", "--proxy-ip=203.0.113.5", "--ssh-client=plink", "/x",
                               "out"])
    assert result.returncode == 125 and "`dcos node fetch` needs OpenSSH's ssh" in result.stderr


def test_warm_connections_that_cannot_be_opened_are_nodes_that_cannot_be_reached(home, api, tmp_path):
    """Nothing is left in the private folder, and the nodes run nothing."""
    import shutil
    import tempfile

    loopback_cluster(api, home, AGENTS[:1])
    short = tempfile.mkdtemp(prefix="dnc-", dir="/tmp")  # a socket's path must be short
    try:
        result = in_process(home, ["node", "run", "--all", CLOSED, "--warm=60", "--", "true"], TMPDIR=short)
        assert result.returncode == 1
        assert "Opening a connection to 2 nodes, kept until unused for 60 s (`dcos node disconnect` closes them).\n" \
            in result.stderr
        assert "2 nodes: 0 ran the command, 0 exited 0.\n  could not be reached or logged in to (ssh exit status " \
               "255) (2): 127.0.0.1,loop-2\n" in result.stderr
        assert "loop-2: ssh: connect to host 127.0.0.2 port 1: Connection refused\r\n" in result.stderr
        assert os.listdir(os.path.join(short, f"dcos-node-ssh-{os.geteuid()}")) == []
    finally:
        shutil.rmtree(short, ignore_errors=True)
