"""End-to-end: `dcos node run` through the real master on a simulated fleet of 250 agents
(one sshd answering on every fleet address, reachable only through the master) and the
simulated cluster's own two agents.

The fleet's sshd has one host name for every address, so the tests tell nodes apart by
$SSH_CONNECTION's third word, the address a session reached.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import simcluster
from helpers import unchanged_home, write_config

FLEET = 250
PUBLIC = simcluster.MASTER_PUBLIC
WHERE = "echo $SSH_CONNECTION | cut -d' ' -f3"
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS


@pytest.fixture(scope="module")
def fleet_cluster(sim_cluster):
    return sim_cluster.start_fleet(FLEET)


@pytest.fixture
def fleet(fleet_cluster):
    fleet_cluster.write_scenario(fleet_cluster.fleet_scenario())
    return fleet_cluster


def configure(cluster, home):
    write_config(os.path.join(home, ".dcos", "dcos.toml"), f'[core]\ndcos_url = "{cluster.dcos_url}"\n')


def run(cluster, dcos_node, home, args, env=None, **kwargs):
    configure(cluster, home)
    env = cluster.client_env(home, **(env or {}))
    kwargs.setdefault("timeout", 180)
    return unchanged_home(env, lambda: cluster.run([dcos_node, "node", "run"] + list(args), env, **kwargs))


@pytest.fixture
def tmpdir_of_run():
    """A TMPDIR of the test's own (short and plain, so the plugin uses it): the connection to
    the master lives in a private folder in it, so what is left there, and any process
    whose command line names it, is this run's."""
    path = tempfile.mkdtemp(prefix="dnr-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def processes_naming(text):
    return subprocess.run(["pgrep", "-f", text], capture_output=True, text=True).stdout.split()


def expected_addresses():
    names = {name: address for name, address, _ in (simcluster.fleet_agent(i) for i in range(FLEET))}
    names.update({AGENT1: AGENT1_IP, AGENT2: AGENT2_IP})
    return names


def test_every_agent_through_one_connection_to_the_master(fleet, dcos_node, home):
    before = fleet.master.connections()
    result = run(fleet, dcos_node, home, ["--master-proxy", "--agents", "--", WHERE + '; echo "[$SSH_AUTH_SOCK]"'])
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.decode().splitlines()
    by_node = {}
    for line in lines:
        name, _, text = line.partition(": ")
        by_node.setdefault(name, []).append(text)
    # every node once, on its own address, and no agent forwarded to it
    assert by_node == {name: [address, "[]"] for name, address in expected_addresses().items()}
    assert result.stderr.decode().endswith("252 nodes: 252 ran the command, 252 exited 0.\n")
    assert fleet.master.connections() == before + 1  # one login on the master, shared by all


def test_gather_folds_the_nodes_that_gave_each_output(fleet, dcos_node, home):
    result = run(fleet, dcos_node, home, ["--master-proxy", "--agents", "--gather", "--parallel=64", "--", "hostname"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.decode() == (
        f"---------------\nfleet-[0-{FLEET - 1}] ({FLEET}): exit status 0\n---------------\nfleet\n"
        f"---------------\n{AGENT1} (1): exit status 0\n---------------\n{AGENT1}\n"
        f"---------------\n{AGENT2} (1): exit status 0\n---------------\n{AGENT2}\n"
    )


def test_json_lines_with_exit_statuses_and_bytes_that_are_not_utf8(fleet, dcos_node, home):
    command = "a=$(" + WHERE + "); printf '%s\\377\\n' \"$a\"; exit $(( ${a##*.} % 3 ))"
    result = run(fleet, dcos_node, home, ["--master-proxy", "--public-agents", "--json", "--", command])
    assert result.returncode == 1
    entries = [json.loads(line) for line in result.stdout.decode().splitlines()]
    public = {name: address for name, address, _ in (simcluster.fleet_agent(i) for i in range(0, FLEET, 10))}
    assert {entry["hostname"] for entry in entries} == set(public)
    import base64

    for entry in entries:
        address = public[entry["hostname"]]
        assert (entry["address"], entry["type"]) == (address, "public agent")
        assert (entry["result"], entry["status"], entry["stdout"]) == ("exited", int(address.split(".")[-1]) % 3, None)
        assert base64.b64decode(entry["stdout_base64"]) == address.encode() + b"\xff\n"
    failed = sorted(entry["hostname"] for entry in entries if entry["status"])
    assert f"{len(entries)} nodes: {len(entries)} ran the command, {len(entries) - len(failed)} exited 0." in \
        result.stderr.decode()


def test_output_dir_holds_each_nodes_bytes_exactly(fleet, dcos_node, home, tmp_path):
    fleet.write_scenario(fleet.fleet_scenario(count=20, masters=[simcluster.MASTER_PRIVATE]))
    out = tmp_path / "out"
    command = WHERE + "; printf '\\000\\377\\r\\n' >&2; exit 4"
    result = run(fleet, dcos_node, home, ["--master-proxy", "--all", f"--output-dir={out}", "--", command])
    assert result.returncode == 1 and result.stdout == b""
    folders = sorted(os.listdir(out))
    ids = sorted([simcluster.fleet_agent(i)[2] for i in range(20)] + [AGENT1_ID, AGENT2_ID]
                 + [simcluster.MASTER_PRIVATE])
    assert folders == ids
    master = out / simcluster.MASTER_PRIVATE
    assert (master / "stdout").read_bytes() == simcluster.MASTER_PRIVATE.encode() + b"\n"
    assert (master / "stderr").read_bytes() == b"\x00\xff\r\n"
    assert (master / "status").read_bytes() == b"4\n"
    name, address, agent_id = simcluster.fleet_agent(7)
    assert (out / agent_id / "stdout").read_bytes() == address.encode() + b"\n"
    assert "23 nodes: 23 ran the command, 0 exited 0.\n  exit status 4 (23): " in result.stderr.decode()


def test_the_command_reaches_each_node_as_dcos_node_ssh_sends_it(fleet, dcos_node, home):
    words = ["printf", "'[%s]\\n'", '"a  b"', "'$HOME'", '"it\'s"', "$(echo x;", "echo", "y)", "*.none", "#c"]
    ran = run(fleet, dcos_node, home, ["--master-proxy", f"--mesos-id={AGENT1_ID}", "--"] + words)
    env = fleet.client_env(home)
    single = fleet.run([dcos_node, "node", "ssh", "--master-proxy", f"--mesos-id={AGENT1_ID}", "--"] + words, env)
    assert ran.returncode == 0 and single.returncode == 0, ran.stderr
    assert ran.stdout == b"".join(AGENT1.encode() + b": " + line for line in single.stdout.splitlines(True))


def test_unreachable_and_timed_out_nodes_are_named_while_the_others_go_on(fleet, dcos_node, home):
    """Generous times: on a loaded two-core machine a handful of logins through the master
    can take seconds; the slow node sleeps far beyond --timeout, and the rest finish far
    within it."""
    import clusterdata

    scenario = fleet.fleet_scenario(count=8)
    scenario["slaves"].append(clusterdata.agent_entry("20151002-000353-1695027628-5050-1177-S9999", "ghost",
                                                      "198.18.2.200"))
    fleet.write_scenario(scenario)
    slow = simcluster.fleet_address(5)
    command = f"case $({WHERE}) in {slow}) sleep 600;; esac; echo done"
    started = time.monotonic()
    result = run(fleet, dcos_node, home, ["--master-proxy", "--agents", "--timeout=30", "--", command])
    assert time.monotonic() - started < 150
    assert result.returncode == 1
    summary = result.stderr.decode().split("Running on 11 nodes")[1]
    assert "11 nodes: 9 ran the command, 9 exited 0." in summary, summary
    assert "could not be reached or logged in to (ssh exit status 255) (1): ghost" in summary
    assert "timed out after 30 s (1): fleet-5\n" in summary
    assert result.stdout.decode().count(": done\n") == 9


def test_a_proxy_that_refuses_forwarding_is_explained_once(fleet, dcos_node, home):
    port = simcluster.NO_FORWARDING_PORT
    result = run(fleet, dcos_node, home, [f"--proxy-ip={PUBLIC}", f"--proxy-option=Port={port}", "--agents",
                                          "--parallel=4", "--", "true"])
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.count("refuses to forward connections") == 1 and "AllowTcpForwarding" in stderr
    assert "Stdio forwarding" not in stderr and "not started (" in stderr  # it stopped starting nodes


def test_ctrl_c_ends_the_running_nodes_prints_what_came_and_exits_130(fleet, dcos_node, home, tmpdir_of_run):
    configure(fleet, home)
    env = fleet.client_env(home, TMPDIR=tmpdir_of_run)
    process = subprocess.Popen(fleet.client_argv([dcos_node, "node", "run", "--master-proxy", "--agents",
                                                  "--parallel=8", "--", "echo started; sleep 60"]),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()  # the first nodes are running
    assert first.endswith(b": started\n")
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    summary = stderr.decode()
    assert "252 nodes: 0 ran the command, 0 exited 0." in summary
    assert "interrupted (8)" in summary and "not started (244)" in summary
    # the connection to the master was closed, and its private folder removed
    assert processes_naming(tmpdir_of_run) == [] and os.listdir(tmpdir_of_run) == []


def test_timeout_ends_the_running_nodes_and_the_connection_to_the_master(fleet, dcos_node, home, tmpdir_of_run):
    """`timeout` sends SIGTERM to the plugin's process group, which neither the nodes' ssh
    (each in a group of its own) nor the connection to the master (a daemon) is in."""
    configure(fleet, home)
    env = fleet.client_env(home, TMPDIR=tmpdir_of_run)
    argv = ["timeout", "-s", "TERM", "20", dcos_node, "node", "run", "--master-proxy", "--agents", "--parallel=8",
            "--", "echo started; sleep 120"]
    started = time.monotonic()
    result = unchanged_home(env, lambda: fleet.run(argv, env, timeout=180))
    assert time.monotonic() - started < 120
    assert result.returncode == 124  # timeout's own status: it ended the command
    summary = result.stderr.decode()
    assert "252 nodes: 0 ran the command, 0 exited 0.\n  interrupted (8): " in summary
    assert "not started (244)" in summary
    assert processes_naming(tmpdir_of_run) == [] and os.listdir(tmpdir_of_run) == []


def test_masters_are_named_by_address(fleet, dcos_node, home):
    fleet.write_scenario(fleet.fleet_scenario(count=0, masters=[simcluster.MASTER_PRIVATE,
                                                                simcluster.fleet_address(0)]))
    result = run(fleet, dcos_node, home, ["--master-proxy", "--masters", "--", WHERE])
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.decode().splitlines()) == sorted(
        f"{address}: {address}" for address in (simcluster.MASTER_PRIVATE, simcluster.fleet_address(0)))


def test_without_a_proxy_the_private_agents_cannot_be_reached(fleet, dcos_node, home):
    result = run(fleet, dcos_node, home, [f"--mesos-id={AGENT1_ID}", "--option=ConnectTimeout=3", "--", "true"])
    assert result.returncode == 1
    assert "--master-proxy" in result.stderr.decode()
    assert f"could not be reached or logged in to (ssh exit status 255) (1): {AGENT1}" in result.stderr.decode()


def test_a_node_whose_key_is_known_only_under_its_alias_is_reached(fleet, dcos_node, home, tmp_path):
    """`run` keeps a node's host key under the same HostKeyAlias as `ssh --jump`, `scp` and
    the generated config: a key accepted through any of them is found."""
    agent = fleet.agents[0]
    known = tmp_path / "known_hosts"
    known.write_text(f"{PUBLIC} {fleet.master.host_key_pub}\n{simcluster.host_key_alias(AGENT1_IP)} "
                     f"{agent.host_key_pub}\n")
    result = run(fleet, dcos_node, home, ["--master-proxy", f"--mesos-id={AGENT1_ID}",
                                          f"--option=UserKnownHostsFile={known}", "--option=StrictHostKeyChecking=yes",
                                          "--", "hostname"])
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == f"{AGENT1}: {AGENT1}\n"


def test_a_tmpdir_holding_a_space_or_a_percent_sign_is_no_trouble(fleet, dcos_node, home):
    """OpenSSH expands %-tokens in ControlPath and splits an option at white space."""
    tmpdir = tempfile.mkdtemp(prefix="dn %h ", dir="/tmp")
    try:
        result = run(fleet, dcos_node, home, ["--master-proxy", f"--mesos-id={AGENT1_ID}", "--", "hostname"],
                     env={"TMPDIR": tmpdir})
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode() == f"{AGENT1}: {AGENT1}\n"
        assert os.listdir(tmpdir) == []
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def test_parallel_is_fitted_to_a_low_limit_on_open_files(fleet, dcos_node, home):
    """The connection to the master inherits the limit too, and carries every node's channel."""
    limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))  # noqa: E731
    result = run(fleet, dcos_node, home, ["--master-proxy", "--agents", "--parallel=64", "--", "true"],
                 preexec_fn=limit)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr[-3000:]
    assert stderr.startswith("--parallel=64 needs more open files than the limit (`ulimit -n`: 128) allows: "
                             "running 24 at a time.\n")
    assert stderr.endswith("252 nodes: 252 ran the command, 252 exited 0.\n")
