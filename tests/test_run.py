"""`dcos node run`, in-process: selection, the argument lists, the output formats, the
window runner; tables of plain data (the end-to-end runs are in test_e2e_run.py)."""

import base64
import json
import os
import sys

import pytest

import clusterdata
from dcos_node_ssh import fanout, local, usage
from dcos_node_ssh.errors import ClusterError
from dcos_node_ssh.fanout import Fanout, NodeResult, Result, Target
from dcos_node_ssh.flags import Selection
from dcos_node_ssh.nodes import NodeKind

ID = "20151002-000353-1695027628-5050-1177-S{}"
AGENTS = [
    clusterdata.agent_entry(ID.format(0), "a-0", "10.0.1.20"),
    clusterdata.agent_entry(ID.format(1), "a-1", "10.0.1.3"),
    clusterdata.agent_entry(ID.format(2), "p-2", "10.0.2.9", public=True),
    clusterdata.agent_entry(ID.format(3), "", "10.0.1.30"),
]
del AGENTS[3]["hostname"]  # none given: named by its address
MASTERS = ["10.0.4.2", "10.0.4.1"]


def names(targets):
    return [target.name for target in targets]


@pytest.mark.parametrize("selection, values, expected", [
    (Selection.ALL, [], ["10.0.4.1", "10.0.4.2", "a-1", "a-0", "10.0.1.30", "p-2"]),
    (Selection.MASTERS, [], ["10.0.4.1", "10.0.4.2"]),
    (Selection.AGENTS, [], ["a-1", "a-0", "10.0.1.30", "p-2"]),
    (Selection.PRIVATE_AGENTS, [], ["a-1", "a-0", "10.0.1.30"]),
    (Selection.PUBLIC_AGENTS, [], ["p-2"]),
    # each --mesos-id as `dcos node ssh --mesos-id` takes it; a node named twice runs once
    (Selection.BY_ID, ["S2", "a-0", "10.0.1.3", ID.format(0)], ["a-1", "a-0", "p-2"]),
])
def test_selection(selection, values, expected):
    assert names(fanout.select(selection, values, MASTERS, AGENTS, "http://c")) == expected


@pytest.mark.parametrize("selection, values, agents, message", [
    (Selection.PUBLIC_AGENTS, [], AGENTS[:2], "has no public agents"),
    (Selection.AGENTS, [], [], "has no agents"),
    (Selection.BY_ID, ["nothing"], AGENTS, "No agent matches 'nothing'"),
    (Selection.BY_ID, ["2015"], AGENTS, "matches 4 agents"),
])
def test_a_selection_that_matches_nothing_is_an_error(selection, values, agents, message):
    with pytest.raises(ClusterError, match=message):
        fanout.select(selection, values, MASTERS, agents, "http://c")


def test_selection_of_flags():
    from dcos_node_ssh.flags import RunFlags

    assert RunFlags.of({"--all": False, "--masters": False, "--agents": False, "--private-agents": False,
                        "--public-agents": True}).selection is Selection.PUBLIC_AGENTS
    assert RunFlags.of({"--mesos-id": ["x"]}).selection is Selection.BY_ID


@pytest.mark.parametrize("change, problem", [
    ({"pid": "slave(1)@10.0.0.1;rm -rf /:5051"}, "whose host part is not"),
    ({"pid": None}, "without a usable pid"),
    ({"hostname": "evil\x1b[2J"}, "hostname"),
])
def test_an_agent_the_cluster_describes_unusably_is_kept_and_refused(change, problem):
    bad = dict(AGENTS[0], **change)
    targets = fanout.select(Selection.AGENTS, [], [], [bad] + AGENTS[1:], "http://c")
    refused = [target for target in targets if target.problem]
    assert len(refused) == 1 and problem in refused[0].problem and refused[0].address == ""
    assert "\x1b" not in refused[0].name


@pytest.mark.parametrize("target, folder", [
    (Target(ID.format(0), "a", "10.0.0.1", NodeKind.AGENT), ID.format(0)),
    (Target("", "", "10.0.4.1", NodeKind.MASTER), "10.0.4.1"),
    (Target("../../etc", "a", "10.0.0.2", NodeKind.AGENT), "10.0.0.2"),
    (Target("a/b", "a", "", NodeKind.AGENT), "unnamed-a_b"),
])
def test_output_folder_is_the_id_or_the_address(target, folder):
    assert target.folder == folder


PLAN = Fanout(user="core", options=("StrictHostKeyChecking=yes",), proxy_options=("Port=2222",), client="ssh",
              proxy="52.1.2.3", control_path="/tmp/dcos-run-x/proxy", command=("echo", "$HOME;", "uptime"))
MUX = "'-o' 'ControlPath=/tmp/dcos-run-x/proxy'"


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
])
def test_node_argv(plan, address, expected):
    assert fanout.node_argv(plan, address) == expected


def test_node_argv_never_forwards_the_agent_and_quotes_the_proxy_command():
    import shlex

    plan = PLAN._replace(options=("ForwardAgent=yes", "SetEnv=A='x y' %h"), config_file="/my dir/cfg")
    argv = fanout.node_argv(plan, "10.0.0.5")
    assert "-A" not in argv
    assert argv.index("ForwardAgent=no") < argv.index("ForwardAgent=yes")
    command = next(word for word in argv if word.startswith("ProxyCommand="))[len("ProxyCommand="):]
    words = shlex.split(command)  # /bin/sh reads it so, once ssh has turned %% into %
    assert words[:3] == ["ssh", "-F", "/my dir/cfg"]
    assert "SetEnv=A='x y' %%h" in words and words[-2:] == ["[%h]:%p", "core@52.1.2.3"]


def test_master_and_exit_argv():
    assert fanout.master_argv(PLAN) == [
        "ssh", "-f", "-N", "-T", "-o", "ControlMaster=yes", "-o", "ControlPath=/tmp/dcos-run-x/proxy", "-o",
        "ControlPersist=no", "-o", "ForwardAgent=no", "-o", "Port=2222", "-o", "StrictHostKeyChecking=yes", "-o",
        "ConnectTimeout=10", "core@52.1.2.3"]
    assert fanout.exit_argv(PLAN) == ["ssh", "-O", "exit", "-o", "ControlPath=/tmp/dcos-run-x/proxy",
                                      "core@52.1.2.3"]


@pytest.mark.parametrize("status, ending, result", [
    (0, "exited", Result.EXITED), (3, "exited", Result.EXITED), (255, "exited", Result.UNREACHABLE),
    (None, "timed out", Result.TIMED_OUT), (None, "interrupted", Result.INTERRUPTED),
])
def test_result_of(status, ending, result):
    assert fanout.result_of(status, ending) is result


def test_endings_match_the_runner():
    assert {ending.value for ending in local.Ending} == {"exited", "timed out", "interrupted"}


@pytest.mark.parametrize("chunks, lines", [
    ([b"a\nb", b"c\n", b"d"], [b"a\n", b"bc\n", b"d\n"]),
    ([b"\n\n", b""], [b"\n", b"\n"]),
    ([b"x\r\n\xff\x00y"], [b"x\r\n", b"\xff\x00y\n"]),
])
def test_lines(chunks, lines):
    splitter = fanout.Lines()
    got = [line for chunk in chunks for line in splitter.feed(chunk)] + splitter.end()
    assert got == lines


def test_prefixed_escapes_the_name_and_keeps_the_bytes():
    assert fanout.prefixed("n\x1b", [b"\xff\r\n"]) == b"n\\x1b: \xff\r\n"


@pytest.mark.parametrize("names, folded", [
    ([f"fleet-{i}" for i in range(200)], "fleet-[0-199]"),
    (["10.0.0.3", "10.0.0.1", "10.0.0.2", "b"], "10.0.0.[1-3],b"),
    (["x", "x"], "x"),
    (["ok", "bad[1]\x1b"], "ok,bad[1]\\x1b"),
])
def test_fold(names, folded):
    assert fanout.fold(names) == folded


def agent(index, name=None):
    return Target(ID.format(index), name or f"n{index}", f"10.0.0.{index}", NodeKind.AGENT)


RESULTS = [
    NodeResult(agent(1), Result.EXITED, 0, b"same\n"),
    NodeResult(agent(2), Result.EXITED, 0, b"same\n"),
    NodeResult(agent(3), Result.EXITED, 2, b"same\n", b"oops\n"),
    NodeResult(agent(4), Result.UNREACHABLE, 255, b"", b"ssh: connect to host 10.0.0.4 port 22: timed out\n"),
    NodeResult(agent(5), Result.TIMED_OUT, None, b"partial"),
    NodeResult(agent(6), Result.NOT_STARTED),
    NodeResult(Target("", "", "10.0.4.1", NodeKind.MASTER), Result.EXITED, 0, b"same\n"),
]


def test_gather_groups_identical_output_and_ending():
    assert fanout.gather(RESULTS, 5).decode() == (
        "---------------\n10.0.4.1,n[1-2] (3): exit status 0\n---------------\nsame\n"
        "---------------\nn3 (1): exit status 2\n---------------\nsame\nstderr:\noops\n"
        "---------------\nn4 (1): could not be reached or logged in to (ssh exit status 255)\n---------------\n"
        "stderr:\nssh: connect to host 10.0.0.4 port 22: timed out\n"
        "---------------\nn5 (1): timed out after 5 s\n---------------\npartial\n"
        "---------------\nn6 (1): not started\n---------------\n"
    )


def test_summary_names_every_node_that_did_not_exit_0():
    assert fanout.summary(RESULTS, 5) == (
        "7 nodes: 4 ran the command, 3 exited 0.\n"
        "  exit status 2 (1): n3\n"
        "  could not be reached or logged in to (ssh exit status 255) (1): n4\n"
        "  timed out after 5 s (1): n5\n"
        "  not started (1): n6\n"
    )
    assert not fanout.succeeded(RESULTS)
    assert fanout.succeeded([RESULTS[0]]) and fanout.summary([RESULTS[0]]) == "1 node: 1 ran the command, 1 exited 0.\n"


def test_json_line_carries_non_utf8_bytes_in_base64():
    result = NodeResult(agent(1), Result.EXITED, 0, b"caf\xc3\xa9\n", b"\xff\xfe")
    entry = json.loads(fanout.json_line(result))
    assert entry == {"id": ID.format(1), "hostname": "n1", "address": "10.0.0.1", "type": "agent",
                     "result": "exited", "status": 0, "stdout": "caf\u00e9\n", "stderr": None,
                     "stderr_base64": base64.b64encode(b"\xff\xfe").decode()}
    assert fanout.json_line(result).count("\n") == 1


@pytest.mark.parametrize("result, text", [
    (RESULTS[0], b"0\n"), (RESULTS[2], b"2\n"), (RESULTS[3], b"255\n"), (RESULTS[4], b"timed-out\n"),
    (RESULTS[5], b"not-started\n"),
])
def test_status_file(result, text):
    assert fanout.status_file(result) == text


def test_forwarding_refused_is_recognised():
    assert fanout.forwarding_refused(b"channel 0: open failed: administratively prohibited: open failed\n")
    assert "AllowTcpForwarding" in fanout.forwarding_refused_message("52.1.2.3")


@pytest.mark.parametrize("args, expected", [
    (["node", "run", "--agents", "df", "-h"], ["node", "run", "--agents", "--", "df", "-h"]),
    (["node", "run", "--mesos-id", "S1", "--parallel=4", "uptime"],
     ["node", "run", "--mesos-id", "S1", "--parallel=4", "--", "uptime"]),
])
def test_where_the_remote_command_starts(args, expected):
    assert usage.separate_remote_command(args) == expected


def test_usage_errors_say_what_run_needs():
    assert usage.diagnose(["node", "run", "--", "true"]).text.startswith("Say which nodes to run the command on")
    assert usage.diagnose(["node", "run", "--agents", "--masters", "--", "true"]).text == \
        "Choose one selection, not --agents and --masters."
    assert usage.diagnose(["node", "run", "--agents", "--json", "--gather", "--", "true"]).text == \
        "Choose one output, not --json and --gather."


# -- the window runner, with real children -------------------------------------------------

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def python(code):
    return [sys.executable, "-c", code]


def test_run_window_bounds_the_children_in_flight_and_keeps_bytes(tmp_path):
    marker = str(tmp_path / "running")
    code = ("import os, sys, time\n"
            f"path = {marker!r} + str(os.getpid())\n"
            "open(path, 'w').close()\n"
            f"count = len([n for n in os.listdir({str(tmp_path)!r}) if n.startswith('running')])\n"
            "time.sleep(0.05)\n"
            "os.remove(path)\n"
            "sys.stdout.buffer.write(b'\\xff' + str(count).encode() + b'\\r\\n')\n"
            "sys.stderr.write('e')\n"
            "sys.exit(int(sys.argv[1]))\n")
    argvs = [python(code) + [str(i % 3)] for i in range(12)]
    output, ends = {}, {}
    interrupted = local.run_window(argvs, ENV, 3, None, lambda i, s, b: output.setdefault((i, s), []).append(b),
                                   lambda i, status, how: ends.__setitem__(i, (status, how)))
    assert not interrupted
    assert ends == {i: (i % 3, local.Ending.EXITED) for i in range(12)}
    for i in range(12):
        data = b"".join(output[(i, 1)])
        assert data.startswith(b"\xff") and data.endswith(b"\r\n") and int(data[1:-2]) <= 3
        assert b"".join(output[(i, 2)]) == b"e"


def test_run_window_times_out_each_child_and_goes_on():
    argvs = [python("import time; time.sleep(30)"), python("print('quick')")]
    ends = {}
    local.run_window(argvs, ENV, 2, 0.5, lambda *a: None, lambda i, status, how: ends.__setitem__(i, (status, how)))
    assert ends == {0: (None, local.Ending.TIMED_OUT), 1: (0, local.Ending.EXITED)}


def test_run_window_stops_starting_when_asked():
    ends = {}
    local.run_window([python("pass")] * 5, ENV, 1, None, lambda *a: None,
                     lambda i, status, how: ends.__setitem__(i, status), stop=lambda: len(ends) >= 2)
    assert sorted(ends) == [0, 1]


def test_run_window_reports_a_program_that_cannot_start():
    output, ends = [], {}
    local.run_window([["/nonexistent/ssh"]], ENV, 1, None, lambda i, s, b: output.append((s, b)),
                     lambda i, status, how: ends.__setitem__(i, status))
    assert ends == {0: 127} and output[0][0] == 2 and b"/nonexistent/ssh" in output[0][1]


def test_run_window_on_ctrl_c_ends_the_running_children():
    import signal

    ends = {}
    first = []

    def on_output(index, stream, data):
        if not first:
            first.append(index)
            signal.raise_signal(signal.SIGINT)

    argvs = [python("import time; print('up', flush=True); time.sleep(30)")] * 2 + [python("pass")] * 3
    started = __import__("time").monotonic()
    interrupted = local.run_window(argvs, ENV, 2, None, on_output, lambda i, status, how: ends.__setitem__(i, how))
    assert interrupted and __import__("time").monotonic() - started < 10
    assert ends == {0: local.Ending.INTERRUPTED, 1: local.Ending.INTERRUPTED}


# -- the command line, without a cluster ----------------------------------------------------

def test_plink_is_refused_clearly(dcos_node, home):
    from conftest import base_env, run_plugin

    result = run_plugin(dcos_node, ["node", "run", "--agents", "--proxy-ip=203.0.113.5", "--ssh-client=plink",
                                    "--", "true"], base_env(home))
    assert result.returncode == 1
    assert "needs OpenSSH's ssh" in result.stderr and "plink cannot" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--agents", "--parallel=0", "true"], "--parallel must be a whole number of at least 1, not '0'"),
    (["--agents", "--timeout=soon", "true"], "--timeout must be a number of seconds"),
    (["true"], "Say which nodes to run the command on"),
    (["--agents", "--gather", "--json", "true"], "Choose one output"),
])
def test_usage_errors(dcos_node, home, args, message):
    from conftest import base_env, run_plugin

    result = run_plugin(dcos_node, ["node", "run"] + args, base_env(home))
    assert result.returncode == 1 and message in result.stderr, result.stderr


def test_dcos_node_ssh_does_not_import_what_run_needs(home):
    import subprocess

    from conftest import base_env

    code = ("import sys\nfrom dcos_node_ssh import app\n"
            "app.main(['node', 'ssh', '--dry-run', '--proxy-ip=203.0.113.5', '--private-ip=10.0.0.1'])\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] in "
            "('ClusterShell', 'selectors', 'base64') or name.endswith('fanout')))\n")
    result = subprocess.run([sys.executable, "-c", code], env=base_env(home), capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "[]", result.stderr
