"""`dcos node tunnel` in-process (helpers.cli) against the cluster API stand-in on loopback:
the command line, what the cluster's answers make of the forwards and the task, the PAC
path, --check up to the proxy, and ssh that cannot connect. The tunnel itself, through a
real master, is tests/test_e2e_tunnel.py."""

import copy
import json
import os
import socket
import tempfile

import pytest

import clusterdata
from helpers import base_env, cli, config_for, in_process

S0 = "20151002-000353-1695027628-5050-1177-S0"


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_paragraph(result, *fragments, usage=False, status=125):
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("dcos node tunnel: ")]
    assert len(error) == 1, result.stderr
    after = result.stderr.split(error[0])[1]
    assert after.startswith("\n\nUsage:") if usage else after == "\n", result.stderr
    assert ("Usage:" in result.stderr) == usage, result.stderr
    for fragment in fragments:
        assert fragment in error[0], (fragment, result.stderr)


@pytest.mark.parametrize("args, message", [
    (["tunnel"], "Say which tunnel: `socks` (a SOCKS5 proxy on 127.0.0.1 into the cluster) or `forward`"),
    (["tunnel", "vpn"], "Say which tunnel"),
    (["tunnel", "socks", "--port-index=1"], "--port-index is not an option of `dcos node tunnel socks`."),
    (["tunnel", "forward", "--port=1", "a:1"], "--port is not an option of `dcos node tunnel forward`."),
    (["tunnel", "forward", "--master-proxy", "--proxy-ip=b", "a:1"], "Choose one proxy, not --master-proxy and "
                                                                      "--proxy-ip."),
    (["tunnel", "forward"], "Say what to forward: one or more [<local port>:]<destination>:<port>"),
    (["tunnel", "forward", "a:1", "--port-name=http"], "--port-name is about the port of a task: add --task"),
    (["tunnel", "forward", "--task="], "--task needs a task's ID or name"),
    (["tunnel", "socks", "--port=65536"], "--port must be a port number from 0 to 65535, not '65536'."),
    (["tunnel", "socks", "--pac="], "--pac needs the path of the file to write"),
    (["tunnel", "forward", "--task=web", "--port-index=-1"], "--port-index must be a whole number of at least 0"),
    (["tunnel", "forward", "marathon.mesos"], "The forward 'marathon.mesos' names no port"),
    (["tunnel", "forward", "8080:a:1", "8080:b:2"], "The local port 8080 is named twice"),
    (["tunnel", "forward", "8080:a:1", "--task=web", "--local-port=8080"], "The local port 8080 is named twice"),
    (["tunnel", "socks", "--jump"], "--jump is not an option of `dcos node tunnel socks`."),
], ids=["no-kind", "unknown-kind", "option-of-the-other-kind", "port-of-socks", "two-proxies", "nothing-to-forward",
        "port-name-without-task", "empty-task", "port-too-high", "empty-pac", "negative-index", "spec",
        "port-twice", "task-port-twice", "jump"])
def test_the_command_line(home, args, message):
    assert_one_paragraph(in_process(home, ["node"] + args), message, usage=True)


def test_agents_a_forward_names_twice_or_refused(api, home):
    config_for(home, api.url)
    ambiguous = in_process(home, ["node", "tunnel", "forward", "20151002-000353:80"])
    assert_one_paragraph(ambiguous, "'20151002-000353' matches 3 agents")
    scenario = copy.deepcopy(api.default_scenario())  # its agents are shared with other tests
    scenario["slaves"][0]["pid"] = "slave(1)@$(reboot):5051"
    api.write_scenario(scenario)
    refused = in_process(home, ["node", "tunnel", "forward", "S0:80"])
    assert_one_paragraph(refused, "whose host part is not an IP address or host name", "Refusing to forward to it.")


@pytest.mark.parametrize("args, message", [
    (["--task=nothing"], "No running task matches 'nothing' (by ID, name or a part of its ID) among the 1 running "
                         "tasks at http://127.0.0.1:"),
    (["--task=web", "--port-name=admin"], "Task web.1 (web) has no port named 'admin'; its ports are named http."),
    (["--task=web", "--port-index=1"], "--port-index=1 is not one of them"),
    (["--task=old"], "Task old.1 (old) is TASK_FINISHED, not running"),
], ids=["no-task", "no-port-of-that-name", "no-port-at-that-index", "ended"])
def test_tasks_that_cannot_be_forwarded_to(api, home, args, message):
    api.write_scenario(api.default_scenario(tasks=[
        clusterdata.task_entry("web.1", "web", S0, [("http", 31000)]),
        clusterdata.task_entry("old.1", "old", S0, [("http", 31001)], state="TASK_FINISHED")]))
    config_for(home, api.url)
    assert_one_paragraph(in_process(home, ["node", "tunnel", "forward"] + args), message)


def test_a_task_on_an_agent_the_cluster_does_not_list(api, home):
    api.write_scenario(api.default_scenario(tasks=[clusterdata.task_entry("web.1", "web", "gone-S9", [("http", 1)])]))
    config_for(home, api.url)
    assert_one_paragraph(in_process(home, ["node", "tunnel", "forward", "--task=web"]), "No agent matches 'gone-S9'")


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("make, message", [
    (lambda folder: os.symlink(folder / "elsewhere.pac", folder / "cluster.pac"), "which is a symbolic link"),
    (lambda folder: os.mkdir(folder / "cluster.pac"), "which is not a file"),
    (lambda folder: None, "in a folder that does not exist"),
], ids=["link", "folder", "no-folder"])
def test_pac_paths_refused_before_connecting(api, home, outside, make, message):
    make(outside)
    config_for(home, api.url)
    path = outside / ("missing" if "exist" in message else "") / "cluster.pac"
    before = sorted(os.listdir(outside))
    result = in_process(home, ["node", "tunnel", "socks", f"--pac={path}"])
    assert_one_paragraph(result, f"--pac names {path}", message)
    assert sorted(os.listdir(outside)) == before
    assert api.requests() == []  # refused before the cluster is asked, let alone the proxy


def test_ssh_that_cannot_connect_is_one_paragraph_and_leaves_nothing(home, monkeypatch):
    port = closed_port()
    made = []  # the folders it makes (another test run's may come and go in /tmp meanwhile)
    real_mkdtemp = tempfile.mkdtemp

    def recorded_mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recorded_mkdtemp)
    result = in_process(home, ["node", "tunnel", "forward", "--proxy-ip=127.0.0.1", f"--proxy-option=Port={port}",
                               "--option=StrictHostKeyChecking=no", "0:10.0.1.20:80"])
    assert_one_paragraph(result, "Could not open the tunnel through the proxy 127.0.0.1 (ssh exit status 255): ssh: "
                                 f"connect to host 127.0.0.1 port {port}: Connection refused.", status=255)
    assert "No proxy is named" not in result.stderr
    assert "Forward 127.0.0.1:" in result.stderr and "-> 10.0.1.20:80: an address, connected to from the proxy." \
        in result.stderr
    assert [os.path.basename(path).startswith("dcos-tunnel-") for path in made] == [True]
    assert not os.path.exists(made[0])


def test_without_a_proxy_the_tunnel_goes_through_the_master_and_says_so(api, home):
    api.write_scenario(api.default_scenario(metadata={"PUBLIC_IPV4": "127.0.0.1"}))
    config_for(home, api.url)
    env = base_env(home)
    result = cli(["node", "tunnel", "socks", "--check", "--json", f"--option=Port={closed_port()}"], env)
    assert result.stderr.startswith("No proxy is named (--master-proxy, --proxy-ip or ssh_proxy_ip): the tunnel goes "
                                    "through the master's public address, as with --master-proxy")
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["proxy"]["status"] == "ok" and checks["proxy"]["detail"] == (
        "127.0.0.1 (PUBLIC_IPV4 in the cluster's /metadata)")
    assert checks["first hop"]["status"] == "fail" and "Connection refused" in checks["first hop"]["detail"]
    assert [checks[name]["status"] for name in ("proxy login", "TCP forwarding")] == ["skip", "skip"]
    assert result.returncode == 1


def test_check_names_what_the_forwards_reach_and_a_local_port_in_use(api, home):
    api.write_scenario(api.default_scenario(tasks=[clusterdata.task_entry("web.1", "web", S0, [("http", 31000)])]))
    config_for(home, api.url)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = in_process(home, ["node", "tunnel", "forward", "--check", "--proxy-ip=127.0.0.1",
                                   f"--proxy-option=Port={closed_port()}", f"{taken}:S0:5051", "marathon.mesos:8080",
                                   "--task=web"])
    lines = result.stdout.splitlines()
    assert lines[2] == (f"ok    forwards        S0:5051 -> agent {S0} (dcos-01) at 10.0.1.20; marathon.mesos:8080 -> a "
                        "name the proxy resolves (no agent has it); --task=web -> port 31000 (http) of task web.1 "
                        f"(web) on agent {S0} at 10.0.1.20")
    assert lines[3] == f"FAIL  local ports     {taken}"
    assert f"Could not listen on 127.0.0.1:{taken} (a forward's local port): Address already in use." in lines[4]
    assert result.returncode == 1


@pytest.mark.parametrize("args, message", [
    ([], "Say what to forward: one or more [<local port>:]<destination>:<port> (a node as `dcos node ssh` names "
         "it, or a name the master resolves: S1:5051, marathon.mesos:8080), or --task=<ID or name>."),
    (["--task="], "--task needs a task's ID or name, not an empty value."),
    (["--port-index=1", "x:80"], "--port-index is about the port of a task: add --task=<ID or name>."),
    (["--port-name=http", "x:80"], "--port-name is about the port of a task: add --task=<ID or name>."),
    (["--local-port=9000", "x:80"], "--local-port is about the port of a task: add --task=<ID or name>."),
])
def test_a_forward_without_what_to_forward_is_said_in_full(home, args, message):
    result = in_process(home, ["node", "tunnel", "forward"] + args)
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == f"dcos node tunnel: {message}"


@pytest.mark.parametrize("args, message", [
    (["socks", "--pac="], "--pac needs the path of the file to write, not an empty value."),
    (["forward", "--task=web", "--local-port=x"], "--local-port must be a port number from 0 to 65535, not 'x'."),
    (["forward", "--task=web", "--local-port=9000", "9000:x:80"],
     "The local port 9000 is named twice; each listener needs a port of its own."),
])
def test_tunnel_flags_refused_are_said_in_full(home, args, message):
    result = in_process(home, ["node", "tunnel"] + args)
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == f"dcos node tunnel: {message}"


def tunnel_flags(*words):
    from docopt import docopt

    from dcos_node_ssh import commands, usage

    args = ["node", "tunnel", *words]
    return commands.load("tunnel").parse(docopt(usage.doc_for(args), argv=args, default_help=False))


def test_tunnel_flags_as_given():
    socks = tunnel_flags("socks", "--port=1081", "--pac=/tmp/c.pac")
    assert (socks.socks_port, socks.pac, socks.local_port) == (1081, "/tmp/c.pac", 0)
    assert tunnel_flags("socks").socks_port is None  # the default port, chosen later
    task = tunnel_flags("forward", "--task=web", "--local-port=0", "--port-index=2")
    assert (task.task, task.local_port, task.port_index) == ("web", 0, 2)
    assert tunnel_flags("forward", "--task=web", "--local-port=9001").local_port == 9001
    # port 1 of a forward is not taken for the SOCKS proxy's, which is not asked for
    assert tunnel_flags("forward", "1:x:80", "--task=web", "--local-port=2").forwards[0].local_port == 1
