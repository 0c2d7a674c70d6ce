"""`dcos node run` in-process: the selection, the argument lists, the results and their
formats as tables of plain data; and the command through app.main (tests/helpers.py),
where it stops before ssh or where a real ssh reaches nothing but a closed port on
127.0.0.x (or waits in a ProxyCommand of the test's). The children themselves are
test_proc.py's; the fleet through a real master is test_e2e_run.py's.
"""

import base64
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

import clusterdata
from dcos_node_ssh import fanout, usage
from dcos_node_ssh.fanout import NodeResult, Result
from dcos_node_ssh.files import EmptyFolder
from dcos_node_ssh.flags import RunFlags, Selection
from dcos_node_ssh.nodes import NodeKind
from dcos_node_ssh.openssh import shared
from dcos_node_ssh.proc.window import Ending
from dcos_node_ssh.selection import Target
from helpers import base_env, config_for, in_process

ID = "20151002-000353-1695027628-5050-1177-S{}"


# -- the argument lists ---------------------------------------------------------------------

PLAN = shared.Shared(user="core", options=("StrictHostKeyChecking=yes",), proxy_options=("Port=2222",),
                     client="ssh", proxy="52.1.2.3", control_path="/tmp/dcos-run-x/proxy",
                     command=("echo", "$HOME;", "uptime"))


@pytest.mark.parametrize("plan, address, expected", [
    (PLAN, "10.0.0.5", [
        "ssh", "-T", "-o",
        "ProxyCommand=ssh -o ControlMaster=no -o ControlPath=/tmp/dcos-run-x/proxy -o Port=2222 -o ForwardAgent=no "
        "-o ControlMaster=no -o ControlPath=none -o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o BatchMode=yes "
        "-W '[%h]:%p' core@52.1.2.3",
        "-o", "ForwardAgent=no", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o",
        "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "core@10.0.0.5",
        "echo $HOME; uptime"]),
    # directly: no proxy, no control socket; the user's ConnectTimeout wins
    (PLAN._replace(proxy=None, options=("ConnectTimeout=3",), command=("-x",)), "10.0.0.5", [
        "ssh", "-T", "-o", "ForwardAgent=no", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o",
        "ConnectTimeout=3", "-o", "BatchMode=yes", "--", "core@10.0.0.5", "-x"]),
    # --config-file: read by the node's ssh, and by the ProxyCommand's
    (PLAN._replace(config_file="/home/me/.ssh/config", command=("uptime",)), "10.0.0.5", [
        "ssh", "-T", "-F", "/home/me/.ssh/config", "-o",
        "ProxyCommand=ssh -F /home/me/.ssh/config -o ControlMaster=no -o ControlPath=/tmp/dcos-run-x/proxy -o "
        "Port=2222 -o ForwardAgent=no -o ControlMaster=no -o ControlPath=none -o StrictHostKeyChecking=yes -o "
        "ConnectTimeout=10 -o BatchMode=yes -W '[%h]:%p' core@52.1.2.3",
        "-o", "ForwardAgent=no", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o",
        "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "core@10.0.0.5", "uptime"]),
])
def test_node_argv(plan, address, expected):
    assert shared.node_argv(plan, address) == expected


def test_node_argv_keeps_the_key_under_the_alias_only_through_a_proxy():
    assert shared.node_argv(PLAN, "10.0.0.5", "dcos-c-10.0.0.5")[4:6] == ["-o", "HostKeyAlias=dcos-c-10.0.0.5"]
    assert not any("HostKeyAlias" in word for word in shared.node_argv(PLAN._replace(proxy=None), "10.0.0.5", "x"))


def test_node_argv_never_forwards_the_agent_and_quotes_the_proxy_command():
    import shlex

    plan = PLAN._replace(options=("ForwardAgent=yes", "SetEnv=A='x y' %h"), config_file="/my dir/cfg")
    argv = shared.node_argv(plan, "10.0.0.5")
    assert "-A" not in argv
    assert argv.index("ForwardAgent=no") < argv.index("ForwardAgent=yes")
    command = next(word for word in argv if word.startswith("ProxyCommand="))[len("ProxyCommand="):]
    words = shlex.split(command)  # /bin/sh reads it so, once ssh has turned %% into %
    assert words[:3] == ["ssh", "-F", "/my dir/cfg"]
    assert "SetEnv=A='x y' %%h" in words and words[-2:] == ["[%h]:%p", "core@52.1.2.3"]


def test_master_and_exit_argv():
    assert shared.master_argv(PLAN) == [
        "ssh", "-f", "-N", "-T", "-o", "ControlMaster=yes", "-o", "ControlPath=/tmp/dcos-run-x/proxy", "-o",
        "ControlPersist=no", "-o", "ForwardAgent=no", "-o", "Port=2222", "-o", "StrictHostKeyChecking=yes", "-o",
        "ConnectTimeout=10", "core@52.1.2.3"]
    assert shared.exit_argv(PLAN) == ["ssh", "-O", "exit", "-o", "ControlPath=/tmp/dcos-run-x/proxy",
                                      "core@52.1.2.3"]


def test_forwarding_refused_is_recognised():
    assert shared.forwarding_refused(b"channel 0: open failed: administratively prohibited: open failed\n")
    assert not shared.forwarding_refused(b"ssh: connect to host 10.0.0.1 port 22: No route to host\n")
    assert shared.forwarding_refused_message("52.1.2.3") == (
        "The proxy 52.1.2.3 refuses to forward connections to the nodes (\"administratively prohibited\": its sshd "
        "has AllowTcpForwarding no, or forbids it for your user), so `dcos node run` cannot reach them through it. "
        "Ask its administrator to allow TCP forwarding (AllowTcpForwarding yes or local in its sshd_config) for "
        "your user, or hop through another host with --proxy-ip=<host>.")


def test_the_shared_connection_logs_where_asked_reads_the_users_config_and_lets_their_options_win():
    plan = PLAN._replace(master_log="/tmp/dcos-run-x/master.log", config_file="/home/me/.ssh/cluster",
                         options=("ConnectTimeout=3", "BatchMode=yes"))
    assert shared.master_argv(plan) == [
        "ssh", "-f", "-N", "-T", "-E", "/tmp/dcos-run-x/master.log", "-F", "/home/me/.ssh/cluster",
        "-o", "ControlMaster=yes", "-o", "ControlPath=/tmp/dcos-run-x/proxy", "-o", "ControlPersist=no",
        "-o", "ForwardAgent=no", "-o", "Port=2222", "-o", "ConnectTimeout=3", "-o", "BatchMode=yes", "core@52.1.2.3"]


# -- results ---------------------------------------------------------------------------------

def agent(index, name=None):
    return Target(ID.format(index), name or f"n{index}", f"10.0.0.{index}", NodeKind.AGENT)


@pytest.mark.parametrize("ending, code, expected", [
    (Ending.EXITED, 0, (Result.EXITED, 0, None)),
    (Ending.EXITED, 3, (Result.EXITED, 3, None)),
    (Ending.EXITED, 255, (Result.UNREACHABLE, 255, None)),
    # a signal is the local ssh's, never an exit status of the command
    (Ending.KILLED, 11, (Result.KILLED, None, 11)),
    (Ending.TIMED_OUT, None, (Result.TIMED_OUT, None, None)),
    (Ending.INTERRUPTED, None, (Result.INTERRUPTED, None, None)),
    (Ending.UNSTARTED, None, (Result.NOT_STARTED, None, None)),
    (Ending.TIMED_OUT, 15, (Result.TIMED_OUT, None, None)),  # a code means a signal only when it killed ssh
])
def test_node_result(ending, code, expected):
    result = fanout.node_result(agent(1), ending, code, b"o", b"e")
    assert (result.result, result.status, result.signal) == expected
    assert (result.stdout, result.stderr) == (b"o", b"e")


RESULTS = [
    NodeResult(agent(1), Result.EXITED, 0, b"same\n"),
    NodeResult(agent(2), Result.EXITED, 0, b"same\n"),
    NodeResult(agent(3), Result.EXITED, 2, b"same\n", b"oops\n"),
    NodeResult(agent(4), Result.UNREACHABLE, 255, b"", b"ssh: connect to host 10.0.0.4 port 22: timed out\n"),
    NodeResult(agent(5), Result.TIMED_OUT, None, b"partial"),
    NodeResult(agent(6), Result.NOT_STARTED),
    NodeResult(Target("", "", "10.0.4.1", NodeKind.MASTER), Result.EXITED, 0, b"same\n"),
    NodeResult(agent(7), Result.KILLED, None, b"", b"", 9),
]


def test_gather_groups_identical_output_and_ending():
    assert fanout.gather(RESULTS, 5).decode() == (
        "---------------\n10.0.4.1,n[1-2] (3): exit status 0\n---------------\nsame\n"
        "---------------\nn3 (1): exit status 2\n---------------\nsame\nstderr:\noops\n"
        "---------------\nn4 (1): could not be reached or logged in to (ssh exit status 255)\n---------------\n"
        "stderr:\nssh: connect to host 10.0.0.4 port 22: timed out\n"
        "---------------\nn7 (1): the local ssh was killed by SIGKILL (signal 9)\n---------------\n"
        "---------------\nn5 (1): timed out after 5 s\n---------------\npartial\n"
        "---------------\nn6 (1): not started\n---------------\n"
    )


def test_gather_keeps_apart_the_same_output_with_different_endings():
    same = [NodeResult(agent(1), Result.EXITED, 0, b"x\n"), NodeResult(agent(2), Result.EXITED, 1, b"x\n"),
            NodeResult(agent(3), Result.EXITED, 1, b"x\n")]
    assert fanout.gather(same).decode() == (
        "---------------\nn[2-3] (2): exit status 1\n---------------\nx\n"
        "---------------\nn1 (1): exit status 0\n---------------\nx\n")


def test_summary_names_every_node_that_did_not_exit_0():
    assert fanout.summary(RESULTS, 5) == (
        "8 nodes: 4 ran the command, 3 exited 0.\n"
        "  exit status 2 (1): n3\n"
        "  could not be reached or logged in to (ssh exit status 255) (1): n4\n"
        "  the local ssh was killed by SIGKILL (signal 9) (1): n7\n"
        "  timed out after 5 s (1): n5\n"
        "  not started (1): n6\n"
    )
    assert not fanout.succeeded(RESULTS)
    assert fanout.succeeded([RESULTS[0]]) and fanout.summary([RESULTS[0]]) == "1 node: 1 ran the command, 1 exited 0.\n"
    assert fanout.summary([RESULTS[0]], unrecorded=[RESULTS[0].target]) == (
        "1 node: 1 ran the command, 1 exited 0.\n  not recorded in --output-dir (1): n1\n")


def test_run_fails_when_every_node_ran_the_command_and_one_exited_non_zero():
    ran = [NodeResult(agent(1), Result.EXITED, 0), NodeResult(agent(2), Result.EXITED, 1)]
    assert not fanout.succeeded(ran)
    assert fanout.summary(ran) == "2 nodes: 2 ran the command, 1 exited 0.\n  exit status 1 (1): n2\n"
    assert fanout.succeeded(ran[:1]) and fanout.succeeded([])


def test_interrupted_refused_and_not_started_nodes_are_each_said_as_what_they_are():
    refused = Target(ID.format(9), "bad", "", NodeKind.AGENT, "no usable address")
    results = [NodeResult(agent(1), Result.INTERRUPTED), NodeResult(agent(2), Result.NOT_STARTED),
               NodeResult(refused, Result.REFUSED)]
    assert fanout.summary(results) == (
        "3 nodes: 0 ran the command, 0 exited 0.\n"
        "  interrupted (1): n1\n"
        "  not started (1): n2\n"
        "  refused: no usable address from the cluster (1): bad\n")
    assert [fanout.status_file(result) for result in results] == [b"interrupted\n", b"not-started\n",
                                                                   b"refused\n"]


def test_timed_out_says_after_how_long_when_known():
    result = NodeResult(agent(1), Result.TIMED_OUT)
    assert (fanout.describe(result, 2.5), fanout.describe(result)) == ("timed out after 2.5 s", "timed out")


def test_gather_keeps_apart_nodes_whose_ssh_different_signals_killed():
    results = [NodeResult(agent(1), Result.KILLED, None, b"", b"", 9),
               NodeResult(agent(2), Result.KILLED, None, b"", b"", 11)]
    assert fanout.gather(results).decode() == (
        "---------------\nn1 (1): the local ssh was killed by SIGKILL (signal 9)\n---------------\n"
        "---------------\nn2 (1): the local ssh was killed by SIGSEGV (signal 11)\n---------------\n")


def test_gather_merges_only_nodes_with_the_same_output_and_the_same_exit_status():
    results = [NodeResult(agent(1), Result.EXITED, 3, b"x\n"), NodeResult(agent(2), Result.EXITED, 3, b"x\n"),
               NodeResult(agent(3), Result.EXITED, 4, b"x\n"), NodeResult(agent(4), Result.EXITED, 3, b"y")]
    assert fanout.gather(results).decode() == (
        "---------------\nn[1-2] (2): exit status 3\n---------------\nx\n"
        "---------------\nn4 (1): exit status 3\n---------------\ny\n"
        "---------------\nn3 (1): exit status 4\n---------------\nx\n")


def test_json_line_carries_non_utf8_bytes_in_base64():
    result = NodeResult(agent(1), Result.EXITED, 0, b"caf\xc3\xa9\n", b"\xff\xfe")
    entry = json.loads(fanout.json_line(result))
    assert entry == {"id": ID.format(1), "hostname": "n1", "address": "10.0.0.1", "type": "agent",
                     "result": "exited", "status": 0, "stdout": "caf\u00e9\n", "stderr": None,
                     "stderr_base64": base64.b64encode(b"\xff\xfe").decode()}
    assert fanout.json_line(result).count("\n") == 1


def test_json_line_of_a_killed_ssh_says_which_signal():
    entry = json.loads(fanout.json_line(RESULTS[-1]))
    assert (entry["result"], entry["status"], entry["signal"]) == ("killed", None, 9)


@pytest.mark.parametrize("result, text", [
    (RESULTS[0], b"0\n"), (RESULTS[2], b"2\n"), (RESULTS[3], b"255\n"), (RESULTS[4], b"timed-out\n"),
    (RESULTS[5], b"not-started\n"), (RESULTS[7], b"killed-by-SIGKILL\n"),
    (RESULTS[7]._replace(signal=40), b"killed-by-signal-40\n"),  # a real-time signal has no name: one word still
])
def test_status_file(result, text):
    assert fanout.status_file(result) == text


# -- lines -----------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks, lines", [
    ([b"a\nb", b"c\n", b"d"], [b"a\n", b"bc\n", b"d\n"]),
    ([b"\n\n", b""], [b"\n", b"\n"]),
    ([b"x\r\n\xff\x00y"], [b"x\r\n", b"\xff\x00y\n"]),
    ([b"a", b"b", b"c\nd", b"e", b"\n"], [b"abc\n", b"de\n"]),
    ([b"a", b"b"], [b"ab\n"]),  # the last line, never ended, in pieces
])
def test_lines(chunks, lines):
    splitter = fanout.Lines()
    got = [line for chunk in chunks for line in splitter.feed(chunk)] + splitter.end()
    assert got == lines


def test_a_long_line_costs_time_in_proportion_to_its_length():
    """64 MiB without a newline, in the 64 KiB chunks a pipe gives: copying what came so
    far at every chunk would copy 32 GiB (over ten seconds); once, a few hundredths."""
    splitter = fanout.Lines()
    chunk = b"x" * 65536
    started = time.process_time()
    for _ in range(1024):
        assert splitter.feed(chunk) == []
    (line,) = splitter.feed(b"\n")
    assert time.process_time() - started < 3  # an order of magnitude below the quadratic cost
    assert len(line) == 64 * 1024 * 1024 + 1


def test_prefixed_escapes_the_name_and_keeps_the_bytes():
    assert fanout.prefixed("n\x1b", [b"\xff\r\n"]) == b"n\\x1b: \xff\r\n"
    assert fanout.prefixed("n", [b"a\n", b"b\n"]) == b"n: a\nn: b\n"


@pytest.mark.parametrize("names, folded", [
    ([f"fleet-{i}" for i in range(200)], "fleet-[0-199]"),
    (["10.0.0.3", "10.0.0.1", "10.0.0.2", "b"], "10.0.0.[1-3],b"),
    (["x", "x"], "x"),
    (["ok", "bad[1]\x1b"], "ok,bad[1]\\x1b"),
])
def test_fold(names, folded):
    assert fanout.fold(names) == folded


# -- --output-dir: one folder per node -------------------------------------------------------

MASTER = Target("", "", "10.0.4.1", NodeKind.MASTER)


@pytest.mark.parametrize("targets, folders", [
    ([agent(0), MASTER], [ID.format(0), "10.0.4.1"]),
    # an agent whose ID is a master's address: the master, listed first, keeps the name
    ([MASTER, Target("10.0.4.1", "x", "10.0.0.2", NodeKind.AGENT)], ["10.0.4.1", "10.0.4.1~2"]),
    # IDs that are no file name: by address, and apart when two share one
    ([Target("../../etc", "a", "10.0.0.2", NodeKind.AGENT), Target("a/b", "b", "10.0.0.2", NodeKind.AGENT)],
     ["unnamed-10.0.0.2", "unnamed-10.0.0.2~2"]),
    ([Target("a/b", "a", "", NodeKind.AGENT), Target("c/d", "c", "", NodeKind.AGENT)],
     ["unnamed-agent", "unnamed-agent~2"]),
    # `$` would match before the final newline; the whole ID must be a file name
    ([Target("S1\n", "a", "10.0.0.3", NodeKind.AGENT)], ["unnamed-10.0.0.3"]),
    # an ID that is itself `unnamed-…`, and two that differ only in case (macOS, Windows)
    ([Target("unnamed-10.0.0.2", "a", "10.0.0.9", NodeKind.AGENT), Target("x/y", "b", "10.0.0.2", NodeKind.AGENT)],
     ["unnamed-10.0.0.2", "unnamed-10.0.0.2~2"]),
    ([Target("S1", "a", "10.0.0.1", NodeKind.AGENT), Target("s1", "b", "10.0.0.2", NodeKind.AGENT)],
     ["S1", "s1~2"]),
    ([Target("", "", "", NodeKind.MASTER, "bad", "1;2")], ["unnamed-master"]),
])
def test_every_node_has_a_folder_of_its_own(targets, folders):
    assert fanout.folder_names(targets) == folders


def test_an_output_folder_must_be_new_or_empty(tmp_path):
    EmptyFolder(str(tmp_path / "new" / "deeper")).close()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "S1").mkdir()
    with pytest.raises(OSError) as raised:
        EmptyFolder(str(tmp_path / "used"))
    assert "not empty" in str(raised.value)


def test_an_output_folder_writes_nothing_through_what_was_planted_in_it(tmp_path):
    folder = EmptyFolder(str(tmp_path / "out"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_bytes(b"mine\n")
    os.symlink(victim, tmp_path / "out" / "linked")  # a node's folder, planted as a link
    (tmp_path / "out" / "planted").mkdir()  # ...or as a folder holding a link and a FIFO
    os.symlink(victim / "file", tmp_path / "out" / "planted" / "stdout")
    os.mkfifo(tmp_path / "out" / "planted" / "stderr")
    for name in ("linked", "planted"):
        with pytest.raises(FileExistsError):
            folder.write(name, [("stdout", b"theirs\n"), ("stderr", b""), ("status", b"0\n")])
    folder.write("fine", [("stdout", b"ok\n"), ("status", b"0\n")])
    folder.close()
    assert sorted(os.listdir(victim)) == ["file"] and (victim / "file").read_bytes() == b"mine\n"
    assert (tmp_path / "out" / "fine" / "stdout").read_bytes() == b"ok\n"


# -- the command line ------------------------------------------------------------------------

def test_where_the_remote_command_starts():
    assert usage.separate_remote_command(["node", "run", "--agents", "df", "-h"]) == \
        ["node", "run", "--agents", "--", "df", "-h"]
    assert usage.separate_remote_command(["node", "run", "--mesos-id", "S1", "--parallel=4", "uptime"]) == \
        ["node", "run", "--mesos-id", "S1", "--parallel=4", "--", "uptime"]


def test_usage_errors_say_what_run_needs():
    assert usage.unchosen(["node", "run", "--", "true"], {"<command>": ["true"]}).text.startswith(
        "Say which nodes to run the command on")
    assert usage.unchosen(["node", "run", "--attribute=rack:r1", "--", "true"], {"--attribute": ["rack:r1"]}) is None
    assert usage.diagnose(["node", "run", "--agents"]).text.startswith("Say what to run on the nodes")
    assert usage.diagnose(["node", "run", "--agents", "--masters", "--", "true"]).text == \
        "Choose one selection, not --agents and --masters."
    assert usage.diagnose(["node", "run", "--agents", "--json", "--gather", "--", "true"]).text == \
        "Choose one output, not --json and --gather."


@pytest.mark.parametrize("args, message", [
    (["--agents", "--parallel=0", "true"], "--parallel must be a whole number of at least 1, not '0'"),
    # empty values are refused, never taken for the default or for the current folder
    (["--agents", "--parallel=", "true"], "--parallel must be a whole number of at least 1, not ''"),
    (["--agents", "--output-dir=", "true"], "--output-dir needs a folder, not an empty value."),
    (["--agents", "--timeout=soon", "true"], "--timeout must be a number of seconds"),
    (["true"], "Say which nodes to run the command on"),
    (["--agents", "--gather", "--json", "true"], "Choose one output"),
])
def test_usage_errors(home, args, message):
    result = in_process(home, ["node", "run"] + args)
    assert result.returncode == 125 and result.stderr.startswith(f"dcos node run: {message}"), result.stderr
    if message.endswith("."):  # the whole message
        assert result.stderr.startswith(f"dcos node run: {message}\n")
    assert "Running on" not in result.stderr


@pytest.mark.parametrize("flag, message", [
    ("--parallel=1.5", "--parallel must be a whole number of at least 1, not '1.5'."),
    ("--parallel=x", "--parallel must be a whole number of at least 1, not 'x'."),
    ("--timeout=0", "--timeout must be a number of seconds of at least 0.001, not '0'."),
    ("--timeout=-1", "--timeout must be a number of seconds of at least 0.001, not '-1'."),
    ("--timeout=nan", "--timeout must be a number of seconds of at least 0.001, not 'nan'."),
    ("--timeout=inf", "--timeout must be a number of seconds of at least 0.001, not 'inf'."),
    ("--timeout=1e400", "--timeout must be a number of seconds of at least 0.001, not '1e400'."),
])
def test_numbers_run_refuses_are_said_in_full(home, flag, message):
    result = in_process(home, ["node", "run", "--agents", flag, "--", "true"])
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == f"dcos node run: {message}"


def run_flags(*words):
    from docopt import docopt

    args = usage.separate_remote_command(["node", "run", *words])
    return RunFlags.of(docopt(usage.doc_for(args), argv=args, default_help=False))


@pytest.mark.parametrize("words, expected", [
    (["--agents", "true"], (Selection.AGENTS, (), 32, None, "lines", None, ("true",))),
    (["--private-agents", "--parallel=1", "--timeout=0.001", "--gather", "x"],
     (Selection.PRIVATE_AGENTS, (), 1, 0.001, "--gather", None, ("x",))),
    (["--public-agents", "--json", "x", "-y"], (Selection.PUBLIC_AGENTS, (), 32, None, "--json", None, ("x", "-y"))),
    (["--masters", "--output-dir=/tmp/o", "x"], (Selection.MASTERS, (), 32, None, "--output-dir", "/tmp/o", ("x",))),
    (["--all", "--timeout=2.5", "x"], (Selection.ALL, (), 32, 2.5, "lines", None, ("x",))),
    (["--mesos-id=a", "--mesos-id", "b", "x"], (Selection.BY_ID, ("a", "b"), 32, None, "lines", None, ("x",))),
])
def test_run_flags_as_given(words, expected):
    flags = run_flags(*words)
    assert (flags.nodes.kind, flags.nodes.mesos_ids, flags.parallel, flags.timeout, flags.output.value,
            flags.output_dir, flags.command) == expected
    assert type(flags.parallel) is int


def test_plink_is_refused_clearly(home):
    result = in_process(home, ["node", "run", "--agents", "--proxy-ip=203.0.113.5", "--ssh-client=plink",
                               "--", "true"])
    assert result.returncode == 125
    assert "needs OpenSSH's ssh" in result.stderr and "plink cannot" in result.stderr


# Nodes on loopback addresses, whose port 1 is closed: a real ssh fails there at once.
CLOSED = "--option=Port=1"


def loopback_cluster(api, home, masters=("127.0.0.1",), agents=()):
    scenario = api.default_scenario()
    scenario["masters_dns"] = [{"host": "master.mesos.", "ip": address} for address in masters]
    scenario["slaves"] = list(agents)
    api.write_scenario(scenario)
    config_for(home, api.url)


@pytest.mark.parametrize("flag, addresses", [
    ("--all", ["127.0.0.1", "127.0.0.2", "127.0.0.3"]),
    ("--masters", ["127.0.0.1"]),
    ("--agents", ["127.0.0.2", "127.0.0.3"]),
    ("--private-agents", ["127.0.0.2"]),
    ("--public-agents", ["127.0.0.3"]),
    ("--mesos-id=S3", ["127.0.0.3"]),
])
def test_each_selection_runs_the_command_on_its_nodes_only(home, api, flag, addresses):
    loopback_cluster(api, home, agents=[clusterdata.agent_entry(ID.format(2), "a-2", "127.0.0.2"),
                                        clusterdata.agent_entry(ID.format(3), "p-3", "127.0.0.3", public=True)])
    result = in_process(home, ["node", "run", flag, CLOSED, "--json", "--", "true"])
    assert result.returncode == 1, result.stderr
    assert sorted(json.loads(line)["address"] for line in result.stdout.splitlines()) == addresses


def test_a_master_mesos_dns_describes_unusably_is_reported_and_the_others_run(home, api, tmp_path):
    loopback_cluster(api, home, masters=["127.0.0.1", "127.0.0.2;reboot"])
    result = in_process(home, ["node", "run", "--masters", CLOSED, "--json", "--", "true"])
    assert result.returncode == 1, result.stderr
    assert "127.0.0.2;reboot: The cluster's answer to" in result.stderr
    assert "Running on 1 node directly" in result.stderr
    entries = {entry["address"] or entry["error"][:20]: entry for entry in map(json.loads, result.stdout.splitlines())}
    assert [entry["result"] for entry in entries.values()] == ["unreachable", "refused"]
    # a master has no agent ID or host name: empty texts, as docs/design.rst shows them
    assert [(entry["id"], entry["hostname"], entry["type"]) for entry in entries.values()] == [("", "", "master")] * 2
    assert "2 nodes: 0 ran the command" in result.stderr
    assert "refused: no usable address from the cluster (1): 127.0.0.2;reboot" in result.stderr


def test_only_masters_mesos_dns_describes_unusably_are_reported_without_connecting(home, api):
    loopback_cluster(api, home, masters=["-oProxyCommand=x", "\x1b[2J"])
    result = in_process(home, ["node", "run", "--masters", "--", "true"])
    assert result.returncode == 1 and "Running on 0 nodes" in result.stderr
    assert "2 nodes: 0 ran the command, 0 exited 0.\n  refused: no usable address from the cluster (2): " \
           "-oProxyCommand=x,\\x1b[2J\n" in result.stderr


def test_a_local_ssh_killed_by_a_signal_is_reported_as_killed(home, api):
    loopback_cluster(api, home)
    # The ProxyCommand's shell is ssh's child: it kills the real local ssh.
    result = in_process(home, ["node", "run", "--masters", "--option=ProxyCommand=kill -KILL $PPID", "--", "true"])
    assert result.returncode == 1
    assert "1 node: 0 ran the command, 0 exited 0.\n  the local ssh was killed by SIGKILL (signal 9) (1): " \
           "127.0.0.1\n" in result.stderr


AGENT_AT_MASTER = clusterdata.agent_entry("127.0.0.1", "looks-like-the-master", "127.0.0.2")
UNUSABLE_IDS = [clusterdata.agent_entry(agent_id, f"u{index}", "127.0.0.3")
                for index, agent_id in enumerate(["a/b", "../c", "S9\n"])]


def test_output_dir_gives_every_node_a_folder_of_its_own(home, api, tmp_path):
    loopback_cluster(api, home, agents=[AGENT_AT_MASTER] + UNUSABLE_IDS)
    out = tmp_path / "out"
    result = in_process(home, ["node", "run", "--all", CLOSED, f"--output-dir={out}", "--", "true"])
    assert result.returncode == 1, result.stderr
    assert sorted(os.listdir(out)) == ["127.0.0.1", "127.0.0.1~2", "unnamed-127.0.0.3", "unnamed-127.0.0.3~2",
                                       "unnamed-127.0.0.3~3"]
    assert all((out / name / "status").read_bytes() == b"255\n" for name in os.listdir(out))
    assert f"looks-like-the-master: its results go to {out}/127.0.0.1~2" in result.stderr
    assert "5 nodes: 0 ran the command" in result.stderr


def test_output_dir_that_is_not_empty_is_refused_before_any_node_is_reached(home, api, tmp_path):
    loopback_cluster(api, home)
    out = tmp_path / "out"
    (out / "127.0.0.1").mkdir(parents=True)
    (out / "127.0.0.1" / "status").write_bytes(b"0\n")  # an earlier run's
    result = in_process(home, ["node", "run", "--masters", CLOSED, f"--output-dir={out}", "--", "true"])
    assert result.returncode == 125
    assert result.stderr == (f"dcos node run: --output-dir {out} is not empty. Name a new or empty folder: results "
                             "of an earlier run beside this run's would be taken for this run's.\n")
    assert (out / "127.0.0.1" / "status").read_bytes() == b"0\n" and os.listdir(out) == ["127.0.0.1"]


def test_output_dir_that_is_a_file_is_refused(home, api, tmp_path):
    loopback_cluster(api, home)
    (tmp_path / "file").write_bytes(b"")
    result = in_process(home, ["node", "run", "--masters", CLOSED, f"--output-dir={tmp_path}/file", "--", "true"])
    assert result.returncode == 125 and "Cannot write to --output-dir" in result.stderr
    assert "Running on" not in result.stderr


def test_output_dir_that_cannot_be_written_is_refused_before_any_node_is_reached(home, api, tmp_path, dcos_node):
    """A folder this user may not write (as root, one on a read-only mount, in a mount
    namespace of the plugin's own) is found before any node runs the command."""
    loopback_cluster(api, home)
    out = tmp_path / "out"
    out.mkdir()
    argv = [dcos_node, "node", "run", "--masters", CLOSED, f"--output-dir={out}", "--", "true"]
    if os.geteuid() == 0:
        argv = ["unshare", "--mount", "--", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(out)] + argv
    else:
        out.chmod(0o555)
    result = subprocess.run(argv, env=base_env(home), capture_output=True, text=True, timeout=120)
    assert result.returncode == 125
    assert result.stderr in (f"dcos node run: Cannot write to --output-dir {out}: {reason}.\n"
                             for reason in ("Permission denied", "Read-only file system"))


def wait_for(path, seconds=120):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_output_dir_writes_through_nothing_planted_while_the_nodes_run(home, api, tmp_path):
    """Agent IDs are public: in a shared folder someone may plant a node's folder as a
    link, or as a folder with a link or a FIFO in it, while the nodes run. Those nodes are
    reported as not recorded; the others are recorded; nothing planted is written through."""
    loopback_cluster(api, home, masters=["127.0.0.1"], agents=[clusterdata.agent_entry("S1", "a1", "127.0.0.2"),
                                                                clusterdata.agent_entry("S2", "a2", "127.0.0.3")])
    out, victim = tmp_path / "out", tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_bytes(b"mine\n")
    started, planted = tmp_path / "started", tmp_path / "planted"
    # Each node's ssh waits in its ProxyCommand until the test has planted its traps (for
    # two minutes at most), then fails to connect.
    proxy = (f"ProxyCommand=sh -c 'touch {started}; i=0; while [ ! -e {planted} ] && [ $i -lt 2400 ]; "
             "do sleep 0.05; i=$((i+1)); done; exit 1'")

    def plant():
        try:
            wait_for(started)
            os.symlink(victim, out / "127.0.0.1")
            (out / "S1").mkdir()
            os.symlink(victim / "file", out / "S1" / "stdout")
            os.mkfifo(out / "S1" / "stderr")
        finally:
            planted.touch()

    planter = threading.Thread(target=plant, daemon=True)
    planter.start()
    result = in_process(home, ["node", "run", "--all", f"--option={proxy}", f"--output-dir={out}", "--", "true"])
    planter.join()
    assert result.returncode == 1
    assert os.listdir(victim) == ["file"] and (victim / "file").read_bytes() == b"mine\n"
    assert f"127.0.0.1: not recorded: cannot write {out}/127.0.0.1: File exists." in result.stderr
    assert f"a1: not recorded: cannot write {out}/S1: File exists." in result.stderr
    assert "  not recorded in --output-dir (2): 127.0.0.1,a1\n" in result.stderr
    assert (out / "S2" / "status").read_bytes() == b"255\n"
    assert stat.S_ISFIFO(os.lstat(out / "S1" / "stderr").st_mode)


def waiting_proxy(tmp_path):
    """A ProxyCommand that never connects: each node's ssh waits in it, its shell named by a
    marker (for pgrep), after leaving a file in tmp_path/started."""
    started, marker = tmp_path / "started", f"dcos-node-test-{os.getpid()}-{time.monotonic_ns()}"
    started.mkdir()
    return f"ProxyCommand=sh -c 'touch {started}/$$; exec sleep 600' {marker}", started, marker


def leftovers(marker):
    return subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()


@pytest.mark.parametrize("signals, status", [
    ([signal.SIGINT], 130),
    ([signal.SIGINT, signal.SIGINT], 130),  # twice, a few milliseconds apart
    ([signal.SIGTERM], 143),  # `timeout`, `kill`
    ([signal.SIGHUP], 129),  # the terminal went away
])
def test_a_stop_signal_ends_every_node_then_prints_the_summary(home, api, tmp_path, dcos_node, signals, status):
    """The nodes' ssh run in process groups of their own, which neither the terminal's
    Ctrl-C nor `timeout` reaches: the plugin ends them all itself."""
    loopback_cluster(api, home, masters=["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    proxy, started, marker = waiting_proxy(tmp_path)
    process = subprocess.Popen([dcos_node, "node", "run", "--masters", "--parallel=2", f"--option={proxy}", "--json",
                                "--", "true"], env=base_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(os.listdir(started)) < 2:  # both nodes in flight
            assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
            time.sleep(0.02)
        for number in signals:
            process.send_signal(number)
            time.sleep(0.005)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, stderr.decode()
    assert stderr.decode().endswith("3 nodes: 0 ran the command, 0 exited 0.\n  interrupted (2): 127.0.0.[1-2]\n"
                                    "  not started (1): 127.0.0.3\n")
    assert [json.loads(line)["result"] for line in stdout.decode().splitlines()] == \
        ["interrupted", "interrupted", "not started"]
    assert leftovers(marker) == []


def test_parallel_beyond_the_limit_on_open_files_is_fitted_to_it(home, api, dcos_node):
    """40 at a time would need more than 48 open files here: the window is narrowed."""
    loopback_cluster(api, home, masters=[f"127.0.0.{index}" for index in range(1, 41)])
    limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))  # noqa: E731
    result = subprocess.run([dcos_node, "node", "run", "--masters", CLOSED, "--parallel=100", "--", "true"],
                            env=base_env(home), capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("--parallel=100 needs more open files than the limit (`ulimit -n`: 48) "
                                    "allows: running 4 at a time.\nRunning on 40 nodes directly, 4 at a time.\n")
    assert "40 nodes: 0 ran the command, 0 exited 0.\n  could not be reached or logged in to (ssh exit status " \
           "255) (40): 127.0.0.[1-40]\n" in result.stderr


def test_a_limit_on_open_files_too_low_for_one_node_is_refused_at_once(home, api, dcos_node):
    loopback_cluster(api, home)
    limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (34, 34))  # noqa: E731
    result = subprocess.run([dcos_node, "node", "run", "--masters", CLOSED, "--", "true"],
                            env=base_env(home), capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert result.returncode == 125
    assert result.stderr.startswith("dcos node run: The limit on open files (`ulimit -n`: 34) is too low for "
                                    "`dcos node run`")
    assert "Running on" not in result.stderr


def test_dcos_node_ssh_does_not_import_what_run_needs(home):
    code = ("import sys\nfrom dcos_node_ssh import app\n"
            "app.main(['node', 'ssh', '--dry-run', '--proxy-ip=203.0.113.5', '--private-ip=10.0.0.1'])\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] in "
            "('ClusterShell', 'selectors', 'base64', 'resource', 'tempfile') or name.split('.')[-1] "
            "in ('fanout', 'selection', 'outputs', 'shared', 'window', 'signals', 'files', 'run')))\n")
    result = subprocess.run([sys.executable, "-c", code], env=base_env(home), capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "[]", result.stderr
