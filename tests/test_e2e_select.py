"""End-to-end: selection and rolling runs on the simulated fleet (tests/simcluster.py: 250
agents behind the real master, answered by one real sshd, with attributes, regions, zones and
tasks in the cluster API stand-in's state as simcluster.fleet_description and fleet_tasks
spread them), and the cluster's own two agents.

Every selector, --exclude and --pick reach exactly the agents the model below names, as the
fleet's sshd sees them ($SSH_CONNECTION's third word is the address a session reached);
--list connects to nothing; `ssh` reaches the one node a selection leaves, or lists them;
`ssh-config` writes entries for the selection only, and OpenSSH reaches a node with them;
batches run one after the other, --pause apart, stop at the failure budget (a node set to
fail) and keep Ctrl-C and SIGTERM's behaviour.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import clusterdata
import simcluster
from helpers import config_for, sim_node, sim_ssh

FLEET = 250
WHERE = "echo $SSH_CONNECTION | cut -d' ' -f3"
AGENT1, AGENT1_IP, _ = simcluster.AGENTS[0]
TASKS = simcluster.fleet_tasks(FLEET)


@pytest.fixture(scope="module")
def fleet_cluster(sim_cluster):
    return sim_cluster.start_fleet(FLEET)


@pytest.fixture
def fleet(fleet_cluster, home):
    fleet_cluster.write_scenario(fleet_cluster.fleet_scenario())
    config_for(home, fleet_cluster.dcos_url)
    return fleet_cluster


def node(fleet, dcos_node, home, args, **kwargs):
    kwargs.setdefault("timeout", 180)
    return sim_node(fleet, dcos_node, home, args, **kwargs)


def where(indexes, *others):
    """The addresses of these fleet agents, and of the others named."""
    return {simcluster.fleet_address(index) for index in indexes} | set(others)


def fleet_where(predicate):
    return where(index for index in range(FLEET) if predicate(index))


def attributes(index):
    return simcluster.fleet_description(index)[0]


def zone(index):
    return simcluster.fleet_description(index)[1][1]


def running(name_start):
    return {index for index, entry in TASKS
            if entry["name"].startswith(name_start) and entry["state"] == "TASK_RUNNING"}


def in_listing_order(indexes):
    """Fleet agents as `dcos node` lists them, and `run` runs them: private agents, then
    public ones (every tenth), each by address."""
    return [simcluster.fleet_address(index) for index in sorted(indexes, key=lambda i: (i % 10 == 0, i))]


def reached(result):
    """(the addresses the plugin says it ran on, those the nodes' sshd saw) of a --json run of WHERE."""
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(entry["result"] == "exited" and entry["status"] == 0 for entry in entries), result.stderr[-2000:]
    return {entry["address"] for entry in entries}, {entry["stdout"].strip() for entry in entries}


@pytest.mark.parametrize("selectors, expected", [
    (["--attribute=rack:r3"], lambda: fleet_where(lambda i: attributes(i)["rack"] == "r3")),
    # every --attribute must hold: a scalar as a number, a member of a set
    (["--attribute=level:2", "--attribute=disks:ssd"], lambda: fleet_where(lambda i: i % 3 == 2 and i % 5 == 0)),
    (["--attribute=slots:35"], lambda: where([28, 35])),  # a number within [28-37] and [35-44]
    (["--region=us-west-2", "--zone=us-west-2b"], lambda: fleet_where(lambda i: zone(i) == "us-west-2b")),
    (["--zone=*c"], lambda: fleet_where(lambda i: zone(i).endswith("c"))),
    (["--host=fleet-1?"], lambda: where(range(10, 20))),
    (["--public-agents", "--host=198.18.1.2??"], lambda: where(range(200, 250, 10))),
    (["--task=kafka-*"], lambda: where(running("kafka-"))),
    (["--framework=marathon"], lambda: where(running("web") | running("solo"), AGENT1_IP)),  # not the finished
    (["--task=web", "--task=solo"], lambda: where(running("web") | {simcluster.SOLO_TASK}, AGENT1_IP)),
    (["--agents", "--attribute=rack:r1", "--exclude=zone:us-west-2a", "--exclude=host:fleet-9",
      "--exclude=task:kafka-*"],
     lambda: fleet_where(lambda i: i % 8 == 1 and zone(i) != "us-west-2a" and i != 9 and i % 25 != 3)),
])
def test_every_selector_reaches_the_agents_it_names(fleet, dcos_node, home, selectors, expected):
    result = node(fleet, dcos_node, home, ["run", "--master-proxy", "--json"] + selectors + ["--", WHERE])
    assert result.returncode == 0, result.stderr[-3000:]
    said, seen = reached(result)
    assert said == seen == expected()
    assert f"{len(said)} nodes: {len(said)} ran the command, {len(said)} exited 0." in result.stderr


def test_pick_chooses_the_same_nodes_on_every_run(fleet, dcos_node, home):
    runs = [node(fleet, dcos_node, home, ["run", "--master-proxy", "--json", "--agents", pick, "--", WHERE])
            for pick in ("--pick=5", "--pick=5", "--pick=2%")]  # 2% of 252 agents is 5
    first, again, percent = (reached(result) for result in runs)
    assert len(first[1]) == 5 and first == again == percent
    listed = node(fleet, dcos_node, home, ["run", "--list", "--json", "--agents", "--pick=5"])
    assert {entry["address"] for entry in json.loads(listed.stdout)} == first[1]
    # a canary among a selection: the same way
    canary = reached(node(fleet, dcos_node, home, ["run", "--master-proxy", "--json", "--attribute=rack:r4",
                                                   "--pick=1", "--", WHERE]))
    assert canary == reached(node(fleet, dcos_node, home, ["run", "--master-proxy", "--json",
                                                           "--attribute=rack:r4", "--pick=1", "--", WHERE]))
    assert len(canary[1]) == 1 and canary[1] <= fleet_where(lambda i: i % 8 == 4)


def test_list_prints_the_selection_and_connects_to_nothing(fleet, dcos_node, home):
    before = fleet.master.connections(), fleet.fleet.connections()
    table = node(fleet, dcos_node, home, ["run", "--master-proxy", "--list", "--attribute=rack:r2",
                                          "--zone=us-east-1[ab]"])
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["HOSTNAME", "IP"] and "REGION" in lines[0] and "ZONE" in lines[0]
    expected = in_listing_order(i for i in range(FLEET) if i % 8 == 2 and zone(i) in ("us-east-1a", "us-east-1b"))
    assert [line.split()[1] for line in lines[1:]] == expected
    assert all(line.split()[-2] == "us-east-1" for line in lines[1:])
    listed = json.loads(node(fleet, dcos_node, home, ["run", "--list", "--json", "--framework=kafka"]).stdout)
    assert {entry["address"] for entry in listed} == where(running("kafka-"))
    assert all(entry["attributes"]["rack"] and entry["type"] == "agent" for entry in listed)
    assert (fleet.master.connections(), fleet.fleet.connections()) == before


def test_ssh_reaches_the_one_node_a_selection_leaves(fleet, dcos_node, home):
    result = sim_ssh(fleet, dcos_node, home, ["--master-proxy", "--jump", "--task=solo", "--", WHERE])
    assert result.returncode == 0, result.stderr
    assert result.stdout == simcluster.fleet_address(simcluster.SOLO_TASK) + "\n"
    picked = [sim_ssh(fleet, dcos_node, home, ["--master-proxy", "--jump", "--attribute=rack:r5", "--pick=1",
                                               "--", WHERE]).stdout for _ in range(2)]
    assert picked[0] == picked[1] and picked[0].strip() in fleet_where(lambda i: i % 8 == 5)


def test_ssh_with_several_matches_lists_them_escaped_and_asks_for_one(fleet, dcos_node, home):
    scenario = fleet.fleet_scenario()
    hostile = clusterdata.agent_entry("S9\x1b]0;owned\x07\u202e", "evil-9", simcluster.fleet_address(0))
    scenario["slaves"].append(hostile)
    scenario["tasks"].append(clusterdata.task_entry("kafka-9-broker__ffff", "kafka-9-broker", hostile["id"]))
    fleet.write_scenario(scenario)
    before = fleet.fleet.connections()
    result = sim_ssh(fleet, dcos_node, home, ["--master-proxy", "--task=kafka-*", "--", WHERE])
    assert result.returncode == 125 and result.stdout == ""
    stderr = result.stderr
    assert stderr.startswith(f"dcos node ssh: --task=kafka-* selects {len(running('kafka-')) + 1} nodes: ")
    for index in sorted(running("kafka-"))[:9]:
        name, address, agent_id = simcluster.fleet_agent(index)
        assert f"{agent_id} ({name}, {address})" in stderr
    assert f"S9\\x1b]0;owned\\x07\\u202e (evil-9, {simcluster.fleet_address(0)}); " in stderr
    assert stderr.count(" (fleet-") == 9 and "; and 1 more." in stderr
    assert "\x1b" not in stderr and "\u202e" not in stderr and "--pick=1" in stderr
    assert fleet.fleet.connections() == before


def test_ssh_config_writes_entries_for_the_selection_that_openssh_reaches(fleet, dcos_node, home, tmp_path):
    result = node(fleet, dcos_node, home, ["ssh-config", "--master-proxy", "--prefix=sel.", "--attribute=rack:r2",
                                           "--zone=*b"])
    assert result.returncode == 0, result.stderr
    hosts = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("Host ")]
    chosen = [index for index in range(FLEET) if index % 8 == 2 and zone(index).endswith("b")]
    assert ["sel.leader"] in hosts
    agents = [names for names in hosts if names[0] not in ("sel.leader", "sel.proxy")]
    assert sorted(agents) == sorted([f"sel.{agent_id}", f"sel.{name}", f"sel.{address}"]
                                    for name, address, agent_id in map(simcluster.fleet_agent, chosen))
    config = tmp_path / "fleet.conf"
    config.write_text(result.stdout)
    env = fleet.client_env(home)
    reached_one = fleet.run(["ssh", "-F", str(config), f"sel.fleet-{chosen[0]}", WHERE], env, text=True)
    assert reached_one.returncode == 0, reached_one.stderr
    assert reached_one.stdout == simcluster.fleet_address(chosen[0]) + "\n"


FAIL_AT = 17  # the node set to fail


def failing_command(slow=2):
    address = simcluster.fleet_address(FAIL_AT)
    return (f"a=$({WHERE}); s=$(date +%s.%N); case $a in {address}) exit 3;; esac; sleep {slow}; "
            "echo $a $s $(date +%s.%N)")


PRIVATE_10_TO_29 = ["--private-agents", "--host=fleet-[12]?"]  # fleet-11 to 19, 21 to 29: 18 nodes


def test_batches_stop_at_the_failure_budget_and_running_nodes_finish(fleet, dcos_node, home):
    """Private agents fleet-11 to fleet-29 in batches of 5: fleet-17, in the second, fails at
    once while its batch's other nodes sleep; they finish, and no further batch starts."""
    result = node(fleet, dcos_node, home, ["run", "--master-proxy"] + PRIVATE_10_TO_29 + [
        "--batch=5", "--max-fail=0", "--", failing_command()])
    assert result.returncode == 1
    stderr = result.stderr
    assert "Running on 18 nodes through 198.51.100.10, 5 at a time, in 4 batches of 5 (3 times), 3; no further " \
           "node starts once more than 0 fail (--max-fail=0)." in stderr
    assert "Batch 1 of 4 (5 nodes): fleet-[11-15]\n" in stderr
    assert "Batch 2 of 4 (5 nodes): fleet-[16-19,21]\n" in stderr and "Batch 3 of 4" not in stderr
    assert stderr.endswith(
        "18 nodes: 10 ran the command, 9 exited 0.\n"
        "  exit status 3 (1): fleet-17\n"
        "  not started (8): fleet-[22-29]\n"
        "Batches run: 1-2 of 4; not run: 3-4.\n"
        "The failure budget was spent: 1 node failed, more than --max-fail=0 allows (0), so no further node was "
        "started.\n"), stderr[-2000:]
    ran = {line.split(": ")[1].split()[0] for line in result.stdout.splitlines()}
    assert ran == where(set(range(11, 22)) - {FAIL_AT, 20})


def test_batches_run_one_after_the_other_pause_apart(fleet, dcos_node, home):
    started = time.monotonic()
    result = node(fleet, dcos_node, home, ["run", "--master-proxy"] + PRIVATE_10_TO_29 + [
        "--exclude=host:fleet-17", "--batch=30%", "--pause=1.5", "--json", "--", failing_command(1)])
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started >= 3 * 1.5
    times = {}
    for entry in map(json.loads, result.stdout.splitlines()):
        address, start, end = entry["stdout"].split()
        times[address] = (float(start), float(end))
    order = in_listing_order(set(range(11, 30)) - {FAIL_AT, 20})
    assert sorted(times) == sorted(order)
    batches = [order[0:5], order[5:10], order[10:15], order[15:17]]  # 30% of 17 is 5
    for before, after in zip(batches, batches[1:]):
        assert min(times[address][0] for address in after) - max(times[address][1] for address in before) >= 1.5
    assert "in 4 batches of 5 (3 times), 2." in result.stderr and "Pausing 1.5 s before batch 4.\n" in result.stderr
    assert result.stderr.endswith("17 nodes: 17 ran the command, 17 exited 0.\nBatches run: 1-4 of 4.\n")


@pytest.fixture
def tmpdir_of_run():
    """A TMPDIR of the test's own: the connection to the master lives in a private folder in
    it, so what is left there, and any process whose command line names it, is this run's."""
    path = tempfile.mkdtemp(prefix="dns-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def started_run(fleet, dcos_node, home, tmpdir, args):
    env = fleet.client_env(home, TMPDIR=tmpdir)
    return subprocess.Popen(fleet.client_argv([dcos_node, "node", "run"] + args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def read_until(stream, text, seconds=120):
    """The lines of a stream up to the one holding `text`."""
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = stream.readline().decode()
        lines.append(line)
        if text in line or not line:
            break
    assert text in lines[-1], "".join(lines)
    return "".join(lines)


def nothing_left(tmpdir):
    return subprocess.run(["pgrep", "-f", tmpdir], capture_output=True, text=True).stdout == "" and \
        os.listdir(tmpdir) == []


def test_ctrl_c_during_a_pause_starts_no_further_batch(fleet, dcos_node, home, tmpdir_of_run):
    process = started_run(fleet, dcos_node, home, tmpdir_of_run,
                          ["--master-proxy", "--private-agents", "--host=fleet-1?", "--batch=5", "--pause=60", "--",
                           "true"])
    read_until(process.stderr, "Pausing 60 s before batch 2.")
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 20 and process.returncode == 130
    assert stderr.decode().endswith("9 nodes: 5 ran the command, 5 exited 0.\n  not started (4): fleet-[16-19]\n"
                                    "Batches run: 1 of 2; not run: 2.\n")
    assert nothing_left(tmpdir_of_run)


def test_sigterm_in_a_later_batch_ends_its_nodes_and_keeps_the_earlier_results(fleet, dcos_node, home,
                                                                               tmpdir_of_run):
    first = " | ".join(sorted(where(range(11, 15))))
    process = started_run(fleet, dcos_node, home, tmpdir_of_run,
                          ["--master-proxy", "--private-agents", "--host=fleet-1?", "--batch=4", "--",
                           f"case $({WHERE}) in {first}) echo done;; *) echo started; sleep 120;; esac"])
    lines = read_until(process.stdout, ": started")
    assert lines.count(": done") == 4
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    summary = stderr.decode()
    assert "9 nodes: 4 ran the command, 4 exited 0.\n  interrupted (4): fleet-[15-18]\n" \
           "  not started (1): fleet-19\nBatches run: 1-2 of 3; not run: 3.\n" in summary, summary[-2000:]
    assert nothing_left(tmpdir_of_run)
