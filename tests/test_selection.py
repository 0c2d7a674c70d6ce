"""The selection shared by `run`, `ssh`, `ssh-config` and the copies: the flags as typed
records, and selection.select over the cluster's answers, as tables; rolling runs' pure part
(batches, the failure budget, the summary's words); then the commands in-process against the
loopback stand-in of the cluster API: --list, the requests a selection makes, `ssh` with a
selection (one node, several listed), `ssh-config` with a selection, and the usage errors.
Batches and budgets with real ssh children that fail at once (a ProxyCommand that exits) are
here too; with nodes that run the command, they are test_e2e_select.py's.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

import clusterdata
from clusterdata import fault_domain, framework_entry, task_entry
from dcos_node_ssh import rolling
from dcos_node_ssh.cluster.answers import ListedMaster, masters_from_mesos_dns, tasks_in
from dcos_node_ssh.errors import ClusterError, UsageError
from dcos_node_ssh.fanout import NodeResult, Result
from dcos_node_ssh.flags import (Choice, Count, RunFlags, Selection, Selector, SelectorKind, SshConfigFlags, SshFlags,
                                 TargetKind, count, run_choice)
from dcos_node_ssh.nodes import NodeKind
from dcos_node_ssh.selection import (Answers, Target, attribute_holds, describe_choice, needs, only_one, pick,
                                     pick_key, select)
from helpers import base_env, cli, config_for, in_process

ID = "20151002-000353-1695027628-5050-1177-S{}"
MARATHON, KAFKA, IDLE = "fw-marathon-0001", "fw-kafka-0002", "fw-idle-0003"


def agent(number, host, address, **kwargs):
    return clusterdata.agent_entry(ID.format(number), host, address, **kwargs)


AGENTS = [
    agent(0, "a-0", "10.0.1.10", attributes={"rack": "r1", "level": 2.0, "ports": "[31000-31999, 33000-33000]",
                                             "disks": "{ssd,nvme}"}, domain=("us-east-1", "us-east-1a")),
    agent(1, "a-1", "10.0.1.11", attributes={"rack": "r1", "level": 3}, domain=("us-east-1", "us-east-1b")),
    agent(2, "a-2", "10.0.1.12", attributes={"rack": "r2", "level": 2.5}, domain=("us-west-2", "us-west-2a")),
    agent(3, "p-3", "10.0.2.13", public=True, attributes={"rack": "r2"}, domain=("us-west-2", "us-west-2a")),
    agent(4, "b-4", "10.0.1.14"),  # no attributes, no fault domain
]
MASTERS = [ListedMaster("10.0.4.2"), ListedMaster("10.0.4.1")]
MASTER_INFO = {"id": "m-1", "address": {"ip": "10.0.4.1", "port": 5050},
               "domain": fault_domain("us-east-1", "us-east-1c")}
FRAMEWORKS = [framework_entry(MARATHON, "marathon"), framework_entry(KAFKA, "kafka"),
              framework_entry(IDLE, "idle")]
TASK_ENTRIES = [
    task_entry("web.1", "web", ID.format(0), framework_id=MARATHON),
    task_entry("web.2", "web", ID.format(2), framework_id=MARATHON),
    task_entry("kafka-0-broker__5c1e", "kafka-0-broker", ID.format(1), framework_id=KAFKA),
    task_entry("old.1", "old", ID.format(4), state="TASK_FINISHED", framework_id=MARATHON),
    task_entry("lost.1", "lost", ID.format(3), framework_id="fw-gone-0009"),  # a framework state-summary omits
]
TASKS = tasks_in({"tasks": TASK_ENTRIES}, "http://c/mesos/master/tasks")
ANSWERS = Answers("http://c", MASTERS, AGENTS, TASKS, FRAMEWORKS, MASTER_INFO)

KINDS = {"--all": Selection.ALL, "--masters": Selection.MASTERS, "--agents": Selection.AGENTS,
         "--private-agents": Selection.PRIVATE_AGENTS, "--public-agents": Selection.PUBLIC_AGENTS}


def opts_of(words):
    """docopt's answer for `run`'s selection words (each selector repeatable, as its pattern says)."""
    opts = {}
    for word in words:
        flag, _, value = word.partition("=")
        if flag in KINDS or flag == "--list":
            opts[flag] = True
        elif flag == "--pick":
            opts[flag] = value
        else:
            opts.setdefault(flag, []).append(value)
    return opts


def chosen(*words, answers=ANSWERS):
    return [target.name for target in select(run_choice(opts_of(words)), answers)]


# -- selection as tables --------------------------------------------------------------------

@pytest.mark.parametrize("words, expected", [
    # the kinds, as before: masters first, then agents, then public agents, each by address
    (["--all"], ["10.0.4.1", "10.0.4.2", "a-0", "a-1", "a-2", "b-4", "p-3"]),
    (["--masters"], ["10.0.4.1", "10.0.4.2"]),
    (["--private-agents"], ["a-0", "a-1", "a-2", "b-4"]),
    (["--public-agents"], ["p-3"]),
    (["--mesos-id=S2", "--mesos-id=a-0", "--mesos-id=10.0.1.10"], ["a-0", "a-2"]),  # named twice: once
    # attributes: text whole or as a glob; every --attribute must hold
    (["--attribute=rack:r1"], ["a-0", "a-1"]),
    (["--attribute=rack:r*"], ["a-0", "a-1", "a-2", "p-3"]),
    (["--attribute=rack:r1", "--attribute=level:3"], ["a-1"]),
    (["--attribute=level"], ["a-0", "a-1", "a-2"]),  # a name alone: any value
    # a scalar as a number (Mesos' three decimals), a range by a number in it, a set by a member
    (["--attribute=level:2"], ["a-0"]),
    (["--attribute=level:3.0"], ["a-1"]),
    (["--attribute=level:2.5000"], ["a-2"]),
    (["--attribute=ports:31500"], ["a-0"]),
    (["--attribute=ports:33000"], ["a-0"]),
    (["--attribute=ports:[31000-31999, 33000-33000]"], ["a-0"]),  # the text whole
    (["--attribute=disks:nvme"], ["a-0"]),
    (["--attribute=public_ip:true"], ["p-3"]),
    # the fault domain: masters have the leader's region, and the leader its own zone
    (["--region=us-west-2"], ["a-2", "p-3"]),
    (["--region=us-east-1"], ["10.0.4.1", "10.0.4.2", "a-0", "a-1"]),
    (["--zone=us-east-1c"], ["10.0.4.1"]),
    (["--zone=us-*a"], ["a-0", "a-2", "p-3"]),
    (["--agents", "--region=us-west-2", "--region=us-east-1"], ["a-0", "a-1", "a-2", "p-3"]),  # alternatives
    (["--private-agents", "--zone=us-west-2a"], ["a-2"]),
    # host names (without case) and addresses, by glob
    (["--host=a-*"], ["a-0", "a-1", "a-2"]),
    (["--host=A-0."], ["a-0"]),
    (["--host=10.0.4.*"], ["10.0.4.1", "10.0.4.2"]),
    (["--host=10.0.1.1?"], ["a-0", "a-1", "a-2", "b-4"]),
    (["--host=a-0", "--host=p-3"], ["a-0", "p-3"]),
    # running tasks by ID or name, whole or by glob; frameworks by name or ID
    (["--task=web"], ["a-0", "a-2"]),
    (["--task=web.1"], ["a-0"]),
    (["--task=kafka-*"], ["a-1"]),
    (["--task=lost.1"], ["p-3"]),
    (["--task=web", "--task=lost*"], ["a-0", "a-2", "p-3"]),
    (["--framework=marathon"], ["a-0", "a-2"]),  # old.1 has finished: not b-4
    (["--framework=kaf*"], ["a-1"]),
    (["--framework=" + MARATHON], ["a-0", "a-2"]),
    (["--framework=fw-gone-0009"], ["p-3"]),  # an ID running tasks carry
    (["--framework=marathon", "--attribute=rack:r2"], ["a-2"]),
    (["--mesos-id=S0", "--mesos-id=S1", "--mesos-id=S2", "--task=web"], ["a-0", "a-2"]),
    # exclusions: any of them leaves a node out
    (["--agents", "--exclude=host:a-1"], ["a-0", "a-2", "b-4", "p-3"]),
    (["--agents", "--exclude=attribute:rack:r1", "--exclude=task:web"], ["b-4", "p-3"]),
    (["--all", "--exclude=region:us-east-1"], ["a-2", "b-4", "p-3"]),
    (["--agents", "--exclude=zone:us-west-2a"], ["a-0", "a-1", "b-4"]),
    (["--agents", "--exclude=mesos-id:S4"], ["a-0", "a-1", "a-2", "p-3"]),
    (["--agents", "--exclude=mesos-id:A-1."], ["a-0", "a-2", "b-4", "p-3"]),  # an agent by its host name
    (["--agents", "--exclude=framework:kafka"], ["a-0", "a-2", "b-4", "p-3"]),
    (["--attribute=rack:r*", "--exclude=host:10.0.2.*"], ["a-0", "a-1", "a-2"]),
])
def test_selection(words, expected):
    assert chosen(*words) == expected


@pytest.mark.parametrize("words, message", [
    (["--attribute=rack:r9"], "--attribute=rack:r9 matches none of the 5 agents of the cluster at http://c; their "
                              "rack values: r1, r2. See them with `dcos node --field=attributes`."),
    (["--attribute=gpu"], "none has an attribute gpu (attributes they have: disks, level, ports, public_ip, rack)"),
    (["--attribute=level:x"], "--attribute=level:x matches none of the 5 agents"),
    (["--public-agents", "--attribute=rack:r1"], "matches none of the 1 public agents"),
    (["--region=eu-*"], "--region=eu-* matches none of the 7 nodes of the cluster at http://c; their regions: "
                        "us-east-1, us-west-2."),
    (["--zone=x"], "their zones: us-east-1a, us-east-1b, us-east-1c, us-west-2a."),
    (["--host=zzz*"], "--host=zzz* matches no host name or address of the 7 nodes"),
    (["--task=nope"], "No running task matches --task=nope (by ID or name, whole or as a glob) among the 4 running "
                      "tasks at http://c. See them with `dcos task`."),
    (["--task=old"], "; old.1 (old) is TASK_FINISHED."),
    (["--public-agents", "--task=web"], "The 2 running tasks that --task=web names run on none of the 1 public agents"),
    (["--framework=spark"], "No framework matches --framework=spark (by name, whole or as a glob, or by ID) at "
                            "http://c; its frameworks: idle, kafka, marathon."),
    (["--framework=idle"], "--framework=idle names the framework idle, which has no running task."),
    (["--attribute=rack:r1", "--zone=us-west-2a"], "No node matches --attribute=rack:r1 and --zone=us-west-2a "
                                                   "together: each holds for some of the 5 agents of the cluster at "
                                                   "http://c, none for all."),
    (["--agents", "--exclude=host:zzz"], "--exclude=host:zzz matches no node of the cluster at http://c. Check it: an "
                                         "exclusion that names nothing would leave in the nodes it is meant to keep "
                                         "out."),
    (["--agents", "--exclude=task:nope"], "--exclude=task:nope matches no node"),
    (["--host=a-0", "--exclude=attribute:rack:r1"], "Nothing is left: --exclude=attribute:rack:r1 exclude every one "
                                                    "of the 1 nodes selected."),
    (["--agents", "--exclude=mesos-id:2015"], "'2015' matches 5 agents"),
    (["--mesos-id=nothing", "--task=web"], "No agent matches 'nothing'"),
    (["--mesos-id=nothing"], "agents of the cluster at http://c."),
    (["--host=a-0", "--exclude=attribute:rack:r1", "--exclude=host:a-0"],
     "Nothing is left: --exclude=attribute:rack:r1 and --exclude=host:a-0 exclude every one of the 1 nodes selected."),
    (["--agents", "--exclude=mesos-id:nothing"], "--exclude=mesos-id:nothing matches no node of the cluster at "
                                                 "http://c. Check it"),
    (["--attribute=level:9"], "; their level values: 2.0, 2.5, 3. See them"),  # numbers as Mesos' JSON has them
    (["--task=old.1"], "; old.1 (old) is TASK_FINISHED."),  # an ended task named by its ID
    (["--public-agents", "--task=web.1"], "The 1 running task that --task=web.1 names run on none of the 1 public "
                                          "agents of the cluster at http://c."),
    (["--public-agents", "--framework=*a*"], "The running tasks of kafka, marathon (--framework=*a*) run on none of "
                                             "the 1 public agents of the cluster at http://c."),
    (["--private-agents", "--framework=fw-gone-0009"], "The running tasks of fw-gone-0009 (--framework=fw-gone-0009) "
                                                       "run on none of the 4 private agents"),  # known by its ID only
])
def test_a_selector_that_matches_nothing_names_what_was_looked_for(words, message):
    with pytest.raises(ClusterError) as raised:
        chosen(*words)
    assert message in str(raised.value)


def test_values_from_the_cluster_are_escaped_in_messages():
    hostile = agent(9, "h-9", "10.0.1.19", attributes={"rack": "\x1b[2J"})
    with pytest.raises(ClusterError) as raised:
        chosen("--attribute=rack:r9", answers=ANSWERS._replace(agents=[hostile]))
    assert "\x1b" not in str(raised.value) and "\\x1b[2J" in str(raised.value)


def test_cluster_data_of_the_wrong_shape_selects_nothing_and_breaks_nothing():
    odd = [dict(agent(10, "o-10", "10.0.1.30"), attributes=["rack", "r1"], domain="us-east-1"),
           dict(agent(11, "o-11", "10.0.1.31"), attributes={"rack": {"nested": ["r1"]}, "level": [2]},
                domain={"fault_domain": {"region": "us-east-1", "zone": {"name": 7}}})]
    answers = Answers("http://c", (), odd, TASKS, {"frameworks": "not a list"}, None)
    for words, message in ((["--attribute=rack:r1"], "their rack values: (neither text nor a number)"),
                           (["--region=us-east-1"], "of the cluster at http://c; none has a fault domain "
                                                    "(Mesos' --domain)."),
                           (["--framework=marathon"], "its frameworks: none")):
        with pytest.raises(ClusterError, match=re.escape(message)):
            chosen(*words, answers=answers)


@pytest.mark.parametrize("frameworks", [None, 7, "kafka"])
def test_a_frameworks_answer_that_is_no_list_names_no_framework(frameworks):
    message = "at http://c; its frameworks: none. See them with `dcos service`."
    with pytest.raises(ClusterError, match=re.escape(message)):
        chosen("--framework=kafka", answers=ANSWERS._replace(frameworks=frameworks))


def test_framework_entries_without_a_text_id_are_left_out_and_a_name_not_text_is_none():
    frameworks = ["marathon", 5, None, {"name": "no-id"}, {"id": 5, "name": "number-id"},
                  {"id": "fw-unnamed", "name": 5}, framework_entry(KAFKA, "kafka")]
    with pytest.raises(ClusterError, match=re.escape("; its frameworks: kafka. See them")):
        chosen("--framework=spark", answers=ANSWERS._replace(frameworks=frameworks))


def test_a_boolean_attribute_is_shown_as_mesos_writes_it():
    answers = ANSWERS._replace(agents=[agent(9, "g-9", "10.0.1.19", attributes={"gpu": True})])
    assert chosen("--attribute=gpu:true", answers=answers) == ["g-9"]
    with pytest.raises(ClusterError, match=re.escape("; their gpu values: true. See them")):
        chosen("--attribute=gpu:false", answers=answers)


def test_agents_without_attributes_say_so():
    with pytest.raises(ClusterError, match=re.escape("none has an attribute gpu (attributes they have: none).")):
        chosen("--private-agents", "--attribute=gpu", answers=ANSWERS._replace(agents=AGENTS[4:]))


@pytest.mark.parametrize("count, listed", [
    (10, ", ".join(f"r{number:02}" for number in range(10)) + "."),
    (11, ", ".join(f"r{number:02}" for number in range(10)) + ", and 1 more."),
    (13, ", ".join(f"r{number:02}" for number in range(10)) + ", and 3 more."),
])
def test_a_message_lists_ten_values_and_counts_the_others(count, listed):
    racks = [agent(number, f"a-{number}", f"10.0.1.{number + 10}", attributes={"rack": f"r{number:02}"})
             for number in range(count)]
    with pytest.raises(ClusterError) as raised:
        chosen("--attribute=rack:zz", answers=ANSWERS._replace(agents=racks))
    assert f"; their rack values: {listed} See them" in str(raised.value)


NAME, VALUE, STATE, FRAMEWORK = "n" * 70, "v" * 70, "TASK_" + "S" * 50, "f" * 70
LONG = Answers("http://c", (), [agent(0, "a-0", "10.0.1.10", attributes={NAME: VALUE}),
                                agent(3, "p-3", "10.0.2.13", public=True)],
               tasks_in({"tasks": [task_entry("t.1", "t", ID.format(0), state=STATE),
                                   task_entry("t.2", "t", ID.format(0), framework_id="fw-long")]}, "http://c/tasks"),
               [framework_entry("fw-long", FRAMEWORK)])


@pytest.mark.parametrize("words, message", [
    ([f"--attribute={NAME}:x"], f"; their {NAME[:57]}... values: {VALUE[:57]}.... See them"),
    ([f"--attribute={NAME}x"], f"; none has an attribute {NAME[:57]}... (attributes they have: {NAME[:57]}..., "
                               "public_ip)."),
    (["--task=t.1"], f"; t.1 (t) is {STATE[:37]}.... See them"),
    (["--public-agents", "--framework=fw-long"], f"The running tasks of {FRAMEWORK[:57]}... (--framework=fw-long)"),
])
def test_long_values_are_cut_short_in_messages(words, message):
    with pytest.raises(ClusterError) as raised:
        chosen(*words, answers=LONG)
    assert message in str(raised.value)


def test_agent_entries_without_an_id_are_left_out_and_a_repeated_id_counts_once():
    answers = ANSWERS._replace(agents=[{"hostname": "no-id"}, AGENTS[0], dict(AGENTS[0], hostname="again"), AGENTS[1]])
    assert chosen("--agents", answers=answers) == ["a-0", "a-1"]


def test_masters_have_no_zone_when_master_info_gives_no_leader_address():
    for info in ({"domain": fault_domain("us-east-1", "us-east-1c")},
                 {"address": "10.0.4.1", "domain": fault_domain("us-east-1", "us-east-1c")}):
        assert chosen("--masters", "--region=us-east-1", answers=ANSWERS._replace(master_info=info)) == [
            "10.0.4.1", "10.0.4.2"]
        with pytest.raises(ClusterError, match=re.escape("--zone=us-east-1c matches none of the 2 masters")):
            chosen("--masters", "--zone=us-east-1c", answers=ANSWERS._replace(master_info=info))


def test_an_empty_kind_is_an_error():
    with pytest.raises(ClusterError, match="The cluster at http://c has no public agents."):
        chosen("--public-agents", answers=ANSWERS._replace(agents=AGENTS[:3]))


@pytest.mark.parametrize("change, problem, name", [
    ({"pid": "slave(1)@10.0.0.1;rm -rf /:5051"}, "whose host part is not", "a-0"),
    ({"pid": None}, "without a usable pid", "a-0"),
    ({"hostname": "evil\x1b[2J"}, "hostname", ID.format(0)),  # named by its ID, not by what was refused
])
def test_an_agent_the_cluster_describes_unusably_is_kept_and_refused(change, problem, name):
    bad = dict(AGENTS[0], **change)
    targets = select(Choice(Selection.AGENTS), ANSWERS._replace(agents=[bad] + AGENTS[1:]))
    refused = [target for target in targets if target.problem]
    assert len(refused) == 1 and problem in refused[0].problem and refused[0].address == ""
    assert refused[0].name == name and refused[0].hostname == ("" if name == ID.format(0) else name)
    # ...and selectors still see what it is: its attributes hold
    targets = select(run_choice(opts_of(["--attribute=rack:r1"])), ANSWERS._replace(agents=[bad] + AGENTS[1:]))
    assert sorted(bool(target.problem) for target in targets) == [False, True]


def test_host_compares_without_case_or_a_final_dot_on_either_side():
    refused = dict(agent(5, "Web-5.", "10.0.1.15"), pid=None)  # its host name kept as the cluster gave it
    ipv6 = dict(agent(6, "v-6", "10.0.1.16"), pid="slave(1)@[fd01::a]:5051")
    answers = ANSWERS._replace(agents=[refused, ipv6])
    assert [target.id for target in select(run_choice(opts_of(["--host=web-5"])), answers)] == [ID.format(5)]
    assert chosen("--host=FD01::A", answers=answers) == ["v-6"]


def test_a_master_mesos_dns_describes_unusably_is_kept_and_refused_as_an_agent_is():
    answer = [{"ip": "10.0.4.1"}, {"ip": "10.0.4.9;reboot"}, {"ip": "\x1b[2J"}, {"ip": "10.0.4.1"},
              {"ip": "10.0.4.9;reboot"}]
    masters = masters_from_mesos_dns(answer, "http://c/mesos_dns")
    assert [master.address for master in masters] == ["10.0.4.1", "", ""]  # once each
    targets = select(Choice(Selection.MASTERS), Answers("http://c", masters))
    assert [target.name for target in targets] == ["10.0.4.1", "\x1b[2J", "10.0.4.9;reboot"]  # escaped where printed
    assert [bool(target.problem) for target in targets] == [False, True, True]
    assert "Refusing to connect to it" in targets[2].problem


@pytest.mark.parametrize("value, wanted, holds", [
    ("r1", "r1", True), ("r1", "R1", False), ("r10", "r1*", True), ("r1", "", True),
    (2, "2", True), (2.0, "2.000", True), (2.0005, "2.001", True), (2.5, "2", False), (2, "two", False),
    ("[1-10]", "10", True), ("[1-10]", "11", False), ("[1-10, 20-30]", "25", True), ("[x-y]", "1", False),
    ("{a,b}", "b", True), ("{a,b}", "c", False), ("{a,b}", "{a,b}", True),
    (True, "true", True), (None, "x", False), ({"nested": 1}, "x", False),
    # only finite numbers compare: "nan" and "inf" hold for no number, nor bound a range
    (2, "nan", False), (2, "inf", False), ("[1-inf]", "5", False), ("[1-10]", "inf", False),
    # a range needs both brackets and both bounds, unsigned as Mesos' are; a set both braces
    ("[1-10", "1", False), ("r5-9]", "7", False), ("[x-10]", "5", False), ("[-5-10]", "0", False),
    ("{a,b", "a", False), ("a,b}", "b", False),
    ("r10", "r?*[0-9]", True),  # every kind of wildcard at once
])
def test_how_an_attribute_compares(value, wanted, holds):
    assert attribute_holds(value, wanted) is holds


@pytest.mark.parametrize("words, asked", [
    # (masters, agents, tasks, frameworks, master_info)
    (["--agents"], (False, True, False, False, False)),
    (["--all"], (True, True, False, False, False)),
    (["--host=x"], (True, True, False, False, False)),
    (["--attribute=rack:r1"], (False, True, False, False, False)),  # masters have no attributes
    (["--task=web"], (False, True, True, False, False)),
    (["--framework=kafka"], (False, True, True, True, False)),
    (["--agents", "--exclude=task:web"], (False, True, True, False, False)),
    (["--region=r"], (True, True, False, False, True)),
    (["--agents", "--zone=r"], (False, True, False, False, False)),
    (["--masters", "--zone=r"], (True, False, False, False, True)),
])
def test_only_what_a_selection_reads_is_asked(words, asked):
    assert tuple(needs(run_choice(opts_of(words)))) == asked


# -- --pick -------------------------------------------------------------------------------

FLEET = [clusterdata.agent_entry(f"20151002-000353-1695027628-5050-1177-S{1000 + index}", f"fleet-{index}",
                                 f"198.18.1.{index + 1}") for index in range(60)]


def test_pick_is_the_same_on_every_run_and_moves_no_node_when_another_joins():
    choice = run_choice(opts_of(["--agents", "--pick=5"]))
    first = select(choice, Answers("http://c", agents=FLEET))
    assert len(first) == 5 and select(choice, Answers("http://c", agents=list(reversed(FLEET)))) == first
    joined = select(choice, Answers("http://c", agents=FLEET + [agent(9999, "new", "198.18.2.1")]))
    assert len(set(joined) - set(first)) <= 1  # the newcomer takes one place at most
    left = select(choice, Answers("http://c", agents=[entry for entry in FLEET
                                                      if entry["id"] != first[0].id]))
    assert set(first[1:]) <= set(left)  # the others stay
    # the choice is the digest order, then listing order for the run
    ranked = sorted(select(Choice(Selection.AGENTS), Answers("http://c", agents=FLEET)), key=pick_key)
    assert set(first) == set(ranked[:5])
    assert [target.address for target in first] == sorted((target.address for target in first),
                                                           key=lambda address: int(address.split(".")[-1]))


@pytest.mark.parametrize("wanted, size", [(Count(1), 1), (Count(7), 7), (Count(100), 60), (Count(10, True), 6),
                                          (Count(1, True), 1), (Count(99, True), 59), (Count(100, True), 60)])
def test_pick_sizes(wanted, size):
    targets = select(Choice(Selection.AGENTS), Answers("http://c", agents=FLEET))
    assert len(pick(targets, wanted)) == size


def test_pick_chooses_among_the_nodes_that_can_be_connected_to():
    broken = [dict(entry, pid="nowhere") for entry in FLEET[:59]]
    picked = select(run_choice(opts_of(["--agents", "--pick=3"])), Answers("http://c", agents=broken + FLEET[59:]))
    assert [target.name for target in picked] == ["fleet-59"]
    for size in (59, 1):
        with pytest.raises(ClusterError, match=f"none of the {size} selected can: The cluster describes agent"):
            select(run_choice(opts_of(["--agents", "--pick=1"])), Answers("http://c", agents=broken[:size]))


def test_an_agent_ranks_by_its_id_and_a_master_by_its_address():
    moved = [Target(ID.format(1), "a-1", address, NodeKind.AGENT) for address in ("10.0.1.11", "10.0.9.11")]
    assert pick_key(moved[0]) == pick_key(moved[1])  # re-registered elsewhere: the same rank
    masters = [Target("", "", address, NodeKind.MASTER) for address in ("10.0.4.1", "10.0.4.2")]
    assert pick_key(masters[0]) != pick_key(masters[1])


def test_pick_ranks_an_agent_whose_id_holds_a_lone_surrogate():
    # JSON can carry one, which UTF-8 cannot encode: the agent is ranked as any other, not a crash
    odd = dict(clusterdata.agent_entry("S", "odd", "198.18.2.1"), id=json.loads('"S-\\ud800-\\udc80"'))
    choice = run_choice(opts_of(["--agents", "--pick=5"]))
    picked = select(choice, Answers("http://c", agents=FLEET + [odd]))
    assert len(picked) == 5 and select(choice, Answers("http://c", agents=[odd] + FLEET)) == picked
    assert pick_key(Target(odd["id"], "odd", "198.18.2.1", NodeKind.AGENT)) != pick_key(
        Target(odd["id"].replace("\ud800", ""), "odd", "198.18.2.1", NodeKind.AGENT))


def test_only_one_node_for_ssh():
    hostile = agent(7, "h-7", "10.0.1.17")
    hostile["id"] = "S7\x1b[2J"
    targets = select(run_choice(opts_of(["--host=a-*"])), ANSWERS._replace(agents=AGENTS + [hostile]))
    with pytest.raises(ClusterError) as raised:
        only_one(targets + [Target(hostile["id"], "h-7", "10.0.1.17", NodeKind.AGENT)],
                 run_choice(opts_of(["--host=a-*"])), "nodes")
    message = str(raised.value)
    assert message.startswith("--host=a-* selects 4 nodes: " + ID.format(0) + " (a-0, 10.0.1.10); ")
    assert "S7\\x1b[2J (h-7, 10.0.1.17)" in message and "\x1b" not in message
    assert "`dcos nodes ssh` reaches one" in message and "--pick=1" in message
    assert only_one(targets[:1], Choice()) == targets[0]


@pytest.mark.parametrize("words, said", [
    (["--masters", "--host=10.0.4.*"], "--masters --host=10.0.4.*"),
    (["--agents", "--attribute=rack:r1", "--exclude=host:a-1", "--pick=2"],
     "--agents --attribute=rack:r1 --exclude=host:a-1 --pick=2"),
    (["--mesos-id=S0", "--mesos-id=S" + "0" * 89], "--mesos-id=S0 --mesos-id=S" + "0" * 76 + "..."),  # cut at 80
    (["--task=web"], "--task=web"),
])
def test_a_choice_is_described_by_the_flags_that_made_it(words, said):
    assert describe_choice(run_choice(opts_of(words))) == said


@pytest.mark.parametrize("target, said", [
    (Target("", "", "10.0.4.1", NodeKind.MASTER), "master 10.0.4.1"),
    (Target("", "", "", NodeKind.MASTER, "refused", "m" * 70), "master " + "m" * 57 + "..."),
    (Target("S" * 110, "h" * 70, "10.0.1.10", NodeKind.AGENT), "S" * 97 + "... (" + "h" * 57 + "..., 10.0.1.10)"),
    (Target("S1", "", "", NodeKind.AGENT, "refused"), "S1 (-, no usable address)"),
])
def test_a_node_as_messages_describe_it(target, said):
    assert target.describe() == said


@pytest.mark.parametrize("count, more", [(10, ""), (11, "; and 1 more"), (12, "; and 2 more")])
def test_several_nodes_for_ssh_list_ten_and_say_how_to_name_one(count, more):
    targets = [Target(ID.format(number), f"a-{number}", f"10.0.1.{number + 10}", NodeKind.AGENT)
               for number in range(count)]
    listed = "; ".join(f"{ID.format(number)} (a-{number}, 10.0.1.{number + 10})" for number in range(10))
    with pytest.raises(ClusterError) as raised:
        only_one(targets, run_choice(opts_of(["--agents"])), "node")
    assert str(raised.value) == (
        f"--agents selects {count} nodes: {listed}{more}. `dcos node ssh` reaches one: name it with --mesos-id=<ID> "
        "(a master with --private-ip=<address>), or add --pick=1 to have one chosen, the same one each time.")


# -- the flags ------------------------------------------------------------------------------

def test_selectors_as_flags():
    choice = run_choice(opts_of(["--public-agents", "--attribute=rack:r1", "--attribute=gpu", "--zone=z*",
                                 "--exclude=attribute:rack:r1:x", "--exclude=mesos-id:S3", "--pick=10%"]))
    assert choice == Choice(Selection.PUBLIC_AGENTS, (), (
        Selector(SelectorKind.ATTRIBUTE, "r1", "rack"), Selector(SelectorKind.ATTRIBUTE, "", "gpu"),
        Selector(SelectorKind.ZONE, "z*")), (
        Selector(SelectorKind.ATTRIBUTE, "r1:x", "rack"), Selector(SelectorKind.MESOS_ID, "S3")), Count(10, True))
    assert [str(selector) for selector in choice.include] == ["--attribute=rack:r1", "--attribute=gpu", "--zone=z*"]
    assert choice.exclude[0].excluded() == "--exclude=attribute:rack:r1:x"
    assert run_choice(opts_of(["--mesos-id=S1"])) == Choice(Selection.BY_ID, ("S1",))
    assert run_choice(opts_of(["--task=web"])).kind is None


def test_an_exclusion_is_named_as_given_when_its_value_holds_equals_signs():
    """As messages name it ("--exclude=host:a=b=c matches no node"): every '=' of the value kept."""
    choice = run_choice(opts_of(["--agents", "--exclude=host:a=b=c", "--exclude=attribute:k:v=1"]))
    assert [selector.excluded() for selector in choice.exclude] == ["--exclude=host:a=b=c",
                                                                     "--exclude=attribute:k:v=1"]


def test_a_long_selector_is_named_in_80_characters_and_a_refused_value_whole():
    choice = run_choice(opts_of(["--agents", "--host=" + "h" * 100, "--exclude=zone:" + "z" * 100]))
    assert [str(selector) for selector in choice.include + choice.exclude] == [
        "--host=" + "h" * 77 + "...", "--zone=" + "z" * 77 + "..."]
    assert choice.exclude[0].excluded() == "--exclude=zone:" + "z" * 77 + "..."
    with pytest.raises(UsageError) as raised:
        run_choice(opts_of(["--agents", "--exclude=rack:r1"]))
    assert str(raised.value) == (
        "--exclude takes <kind>:<value>, the kind one of attribute:, region:, zone:, host:, task:, framework:, "
        "mesos-id: (--exclude=host:fleet-1*, --exclude=attribute:rack:r1); not 'rack:r1'.")
    with pytest.raises(UsageError) as raised:
        run_choice(opts_of(["--agents", "--attribute=:r1"]))
    assert str(raised.value) == ("--attribute takes <name>:<value> (rack:r1), or a name alone for any value; not "
                                 "':r1'.")


@pytest.mark.parametrize("words, message", [
    (["--attribute=:r1"], "--attribute takes <name>:<value>"),
    (["--attribute=rack:"], "--attribute takes <name>:<value>"),
    (["--host="], "--host needs a value"),
    (["--exclude=rack:r1"], "--exclude takes <kind>:<value>, the kind one of attribute:, region:, zone:, host:, "
                            "task:, framework:, mesos-id:"),
    (["--exclude=host"], "--exclude takes <kind>:<value>"),
    (["--exclude=host:"], "--exclude=host: needs a value"),
    (["--pick=0"], "--pick takes a whole number of nodes of at least 1, or a percentage of them (1% to 100%); "
                   "not '0'"),
    (["--pick=101%"], "--pick takes"), (["--pick=1.5"], "--pick takes"), (["--pick=x%"], "--pick takes"),
    (["--masters", "--task=web"], "--task describes agents only"),
    (["--masters", "--exclude=attribute:rack:r1"], "--attribute describes agents only"),
])
def test_selector_flags_that_cannot_be_read(words, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        run_choice(opts_of(words))


@pytest.mark.parametrize("value, low, parsed", [
    ("0", 0, Count(0)), ("5", 1, Count(5)), ("25%", 1, Count(25, True)), ("0%", 0, Count(0, True)),
    ("100%", 1, Count(100, True)),
])
def test_counts(value, low, parsed):
    assert count(value, "--x", low) == parsed


def test_run_flags_for_rolling():
    flags = RunFlags.of({"--agents": True, "--batch": "1,5,25%", "--max-fail": "10%", "--pause": "2.5",
                         "<command>": ["true"]})
    assert (flags.batches, flags.max_fail, flags.pause) == ((Count(1), Count(5), Count(25, True)), Count(10, True),
                                                            2.5)
    with pytest.raises(UsageError, match="--pause is the wait between batches"):
        RunFlags.of({"--agents": True, "--pause": "1"})
    with pytest.raises(UsageError, match="--batch takes"):
        RunFlags.of({"--agents": True, "--batch": "5,,2"})
    with pytest.raises(UsageError, match="--list prints the nodes selected and runs nothing, so --batch"):
        RunFlags.of({"--agents": True, "--list": True, "--batch": "5"})


def test_ssh_flags_with_selectors():
    flags = SshFlags.of({"--task": ["web"], "--pick": "1"})
    assert flags.target.kind is TargetKind.SELECTED
    assert flags.nodes == Choice(None, (), (Selector(SelectorKind.TASK, "web"),), (), Count(1))
    narrowed = SshFlags.of({"--mesos-id": "S1", "--attribute": ["rack:r1"]})
    assert narrowed.nodes.kind is Selection.BY_ID and narrowed.nodes.mesos_ids == ("S1",)
    assert SshFlags.of({"--mesos-id": "S1"}).nodes is None
    with pytest.raises(UsageError, match="--leader names the node itself"):
        SshFlags.of({"--leader": True, "--task": ["web"]})
    with pytest.raises(UsageError, match="--private-ip names the node itself"):
        SshFlags.of({"--private-ip": "10.0.0.1", "--pick": "1"})
    assert SshConfigFlags.of({"--zone": ["z"]}).nodes.kind is Selection.AGENTS
    assert SshConfigFlags.of({}).nodes is None


# -- rolling, pure --------------------------------------------------------------------------

@pytest.mark.parametrize("sizes, total, batches", [
    ((), 10, [10]),
    ((Count(3),), 10, [3, 3, 3, 1]),
    ((Count(30, True),), 10, [3, 3, 3, 1]),  # 30% of 10
    ((Count(25, True),), 10, [2, 2, 2, 2, 2]),  # 2.5 rounded down
    ((Count(1, True),), 5, [1, 1, 1, 1, 1]),  # 0.05 rounded down, but at least 1
    ((Count(1), Count(5), Count(25, True)), 100, [1, 5, 25, 25, 25, 19]),  # Ansible's serial list
    ((Count(100, True),), 7, [7]),
    ((Count(50),), 7, [7]),
    ((Count(2),), 0, []),
])
def test_batches(sizes, total, batches):
    assert rolling.batch_sizes(sizes, total) == batches


@pytest.mark.parametrize("max_fail, total, allowed", [
    (None, 10, None), (Count(0), 10, 0), (Count(3), 10, 3), (Count(10, True), 252, 25), (Count(10, True), 9, 0),
    (Count(50, True), 5, 2), (Count(100, True), 5, 5),
])
def test_the_failure_budget(max_fail, total, allowed):
    assert rolling.allowance(max_fail, total) == allowed


def node(index):
    return Target(ID.format(index), f"n-{index}", f"10.0.0.{index}", NodeKind.AGENT)


def test_what_the_summary_says_of_batches_and_the_budget():
    nodes = [node(index) for index in range(7)]
    results = [NodeResult(nodes[0], Result.EXITED, 0), NodeResult(nodes[1], Result.EXITED, 0),
               NodeResult(nodes[2], Result.EXITED, 3), NodeResult(nodes[3], Result.UNREACHABLE, 255),
               NodeResult(nodes[4], Result.NOT_STARTED), NodeResult(nodes[5], Result.NOT_STARTED),
               NodeResult(nodes[6], Result.NOT_STARTED)]
    batches = [nodes[0:2], nodes[2:5], nodes[5:7]]
    assert rolling.summary(batches, results, True, True, 1, Count(1)) == (
        "Batches run: 1-2 of 3 (2 in part); not run: 3.\n"
        "The failure budget was spent: 2 nodes failed, more than --max-fail=1 allows (1), so no further node was "
        "started.\n")
    assert rolling.summary([nodes], [NodeResult(target, Result.EXITED, 0) for target in nodes], False, False, None,
                           None) == ""
    assert rolling.plan([1, 5, 25, 25, 25, 19], True, 10, Count(10, True)) == (
        ", in 6 batches of 1, 5, 25 (3 times), 19; no further node starts once more than 10 fail (--max-fail=10%)")
    assert rolling.plan([4], False, 0, Count(0)) == "; no further node starts once more than 0 fail (--max-fail=0)"
    assert rolling.batch_line(2, 3, nodes[2:5]) == "Batch 2 of 3 (3 nodes): n-[2-4]\n"


def test_the_words_for_one_batch_one_failure_and_no_batch_run():
    nodes = [node(index) for index in range(3)]
    assert rolling.plan([5], True, 1, Count(1)) == (
        ", in 1 batch of 5; no further node starts once more than 1 fails (--max-fail=1)")
    assert rolling.batch_line(1, 1, nodes[:1]) == "Batch 1 of 1 (1 node): n-0\n"
    batches = [[target] for target in nodes]
    stopped_at_once = [NodeResult(target, Result.NOT_STARTED) for target in nodes]
    assert rolling.summary(batches, stopped_at_once, True, False, None, None) == (
        "Batches run: none of 3; not run: 1-3.\n")
    in_part = [NodeResult(nodes[0], Result.EXITED, 0)] + stopped_at_once[1:]
    assert rolling.summary([nodes[:2], nodes[2:]], in_part, True, False, None, None) == (
        "Batches run: 1 of 2 (1 in part); not run: 2.\n")
    one_failed = [NodeResult(nodes[0], Result.EXITED, 1)] + stopped_at_once[1:]
    assert rolling.summary(batches, one_failed, True, True, 0, Count(0)) == (
        "Batches run: 1 of 3; not run: 2-3.\n"
        "The failure budget was spent: 1 node failed, more than --max-fail=0 allows (0), so no further node was "
        "started.\n")


@pytest.mark.parametrize("sizes, said", [
    ([7], ", in 1 batch of 7"), ([2, 2], ", in 2 batches of 2 (2 times)"),
    ([1, 5, 5, 1], ", in 4 batches of 1, 5 (2 times), 1"), ([3, 3, 3, 1], ", in 4 batches of 3 (3 times), 1"),
])
def test_batch_sizes_with_repeats_counted(sizes, said):
    assert rolling.plan(sizes, True, None, None) == said


@pytest.mark.parametrize("batches_run, said", [
    ([1, 2, 3, 5], "1-3, 5"), ([2], "2"), ([1, 3, 5], "1, 3, 5"), ([4, 5], "4-5"),
])
def test_the_batches_run_as_ranges(batches_run, said):
    nodes = [node(index) for index in range(5)]
    results = [NodeResult(target, Result.EXITED if number in batches_run else Result.NOT_STARTED, 0)
               for number, target in enumerate(nodes, 1)]
    summary = rolling.summary([[target] for target in nodes], results, True, False, None, None)
    assert summary.startswith(f"Batches run: {said} of 5")


# -- the commands in-process, against the loopback stand-in -------------------------------

def scenario(api, **changes):
    """The loopback stand-in answering with the test fleet above, its tasks and frameworks."""
    result = api.default_scenario(slaves=AGENTS, tasks=TASK_ENTRIES, frameworks=FRAMEWORKS, master_info=MASTER_INFO,
                                  masters_dns=[{"host": "master.mesos.", "ip": "10.0.4.1"},
                                               {"host": "master.mesos.", "ip": "10.0.4.2"}])
    result.update(changes)
    api.write_scenario(result)


def paths(api):
    return sorted(entry["path"].split("?")[0] for entry in api.requests())


def test_list_prints_the_selection_as_dcos_node_does(home, api):
    scenario(api)
    config_for(home, api.url)
    result = in_process(home, ["node", "run", "--list", "--attribute=rack:r1"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["HOSTNAME", "IP", "PUBLIC", "IP(S)", "ID", "TYPE", "STATUS", "REGION", "ZONE"]
    assert [line.split()[:2] for line in lines[1:]] == [["a-0", "10.0.1.10"], ["a-1", "10.0.1.11"]]
    assert lines[1].split()[-3:] == ["ACTIVE", "us-east-1", "us-east-1a"]
    listed = in_process(home, ["node", "run", "--list", "--json", "--region=us-east-1"])
    entries = json.loads(listed.stdout)
    assert [entry.get("ip") or entry["address"] for entry in entries] == ["10.0.4.1", "10.0.4.2", "10.0.1.10",
                                                                          "10.0.1.11"]
    # each as `dcos node --json` has it, the whole agent as Mesos reports it included
    whole = json.loads(in_process(home, ["node", "--json"]).stdout)
    assert entries == [entry for entry in whole if entry.get("ip") in ("10.0.4.1", "10.0.4.2")
                       or entry.get("address") in ("10.0.1.10", "10.0.1.11")]
    assert entries[2]["attributes"]["disks"] == "{ssd,nvme}" and entries[2]["used_resources"]


def test_list_makes_the_listings_requests_and_the_selections_at_once(home, api):
    scenario(api, delays={"/mesos/master/tasks": 1.0})
    config_for(home, api.url)
    result = in_process(home, ["node", "run", "--list", "--task=web"])
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["a-0", "a-2"]
    entries = {entry["path"].split("?")[0]: entry for entry in api.requests()}
    assert sorted(entries) == ["/mesos/api/v1", "/mesos/master/state-summary", "/mesos/master/tasks",
                               "/mesos_dns/v1/hosts/leader.mesos", "/mesos_dns/v1/hosts/master.mesos",
                               "/net/v1/nodes"]
    assert entries["/mesos/master/state-summary"]["received"] < entries["/mesos/master/tasks"]["time"] - 0.5


@pytest.mark.parametrize("args, requests", [
    # no task state, no masters, unless the selection reads them
    (["--attribute=rack:r1", "--attribute=level:3"], ["/mesos/master/state-summary"]),
    (["--task=kafka*"], ["/mesos/master/state-summary", "/mesos/master/tasks"]),
    (["--mesos-id=S1", "--zone=us-east-1b"], ["/mesos/master/state-summary"]),
    (["--master-proxy", "--framework=kafka"], ["/mesos/master/state-summary", "/mesos/master/tasks", "/metadata"]),
])
def test_ssh_with_a_selection_makes_only_the_requests_it_needs(home, api, args, requests):
    scenario(api)
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run"] + args, base_env(home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "core@10.0.1.11"
    assert paths(api) == requests


def test_ssh_with_a_selection_reaches_its_one_node(home, api):
    scenario(api)
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh", "--dry-run", "--master-proxy", "--task=kafka-0-*", "--", "uptime"])
    assert result.returncode == 0, result.stderr
    assert "core@10.0.1.11" in result.stdout and result.stdout.rstrip().endswith("uptime")
    picked = in_process(home, ["node", "ssh", "--dry-run", "--task=web", "--pick=1"])
    again = in_process(home, ["node", "ssh", "--dry-run", "--task=web", "--pick=1"])
    assert picked.returncode == 0 and picked.stdout == again.stdout
    assert picked.stdout.split()[-1] in ("core@10.0.1.10", "core@10.0.1.12")


@pytest.mark.parametrize("noun", ["node", "nodes"])
def test_ssh_with_several_matches_lists_them_and_asks_for_one(home, api, noun):
    hostile = agent(5, "evil\u202ename", "10.0.1.15", attributes={"rack": "r1"})
    hostile["id"] = "S5\x1b]0;owned\x07"
    scenario(api, slaves=AGENTS + [hostile])
    config_for(home, api.url)
    result = in_process(home, [noun, "ssh", "--attribute=rack:r1"])
    assert result.returncode == 125 and result.stdout == ""
    assert result.stderr.startswith(f"dcos {noun} ssh: --attribute=rack:r1 selects 3 nodes: ")
    assert f"`dcos {noun} ssh` reaches one" in result.stderr
    assert f"{ID.format(0)} (a-0, 10.0.1.10); {ID.format(1)} (a-1, 10.0.1.11); " in result.stderr
    assert "S5\\x1b]0;owned\\x07 (-, no usable address)" in result.stderr  # its host name is refused
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
    assert "name it with --mesos-id=<ID>" in result.stderr and "Running" not in result.stderr


def test_ssh_with_a_selection_of_a_refused_node_says_why(home, api):
    scenario(api, slaves=[dict(AGENTS[0], pid="slave(1)@10.0.0.1;reboot:5051")] + AGENTS[1:])
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh", "--dry-run", "--task=web.1"])
    assert result.returncode == 125 and "whose host part is not an IP address" in result.stderr


def test_ssh_config_with_a_selection_writes_entries_for_those_agents_only(home, api):
    scenario(api)
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh-config", "--prefix=c.", "--attribute=rack:r1", "--exclude=host:a-1"])
    assert result.returncode == 0, result.stderr
    hosts = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("Host ")]
    assert hosts == [["c.leader"], [f"c.{ID.format(0)}", "c.a-0", "c.10.0.1.10"]]
    everything = in_process(home, ["node", "ssh-config", "--prefix=c."])
    assert everything.stdout.count("\nHost ") == 6
    nothing = in_process(home, ["node", "ssh-config", "--prefix=c.", "--zone=nowhere"])
    assert nothing.returncode == 125 and "--zone=nowhere matches none of the 5 agents" in nothing.stderr


@pytest.mark.parametrize("args, message", [
    (["node", "run", "--masters", "--task=web", "--", "true"], "--task describes agents only"),
    (["node", "run", "--agents", "--pause=1", "--", "true"],
     "--pause is the wait between batches: add --batch=<n or n%>."),
    (["node", "run", "--agents", "--batch=2", "--pause=x", "--", "true"],
     "--pause must be a number of seconds of at least 0, not 'x'."),
    (["node", "run", "--agents", "--batch=0", "--", "true"], "--batch takes a whole number of nodes of at least 1"),
    (["node", "run", "--agents", "--max-fail=-1", "--", "true"], "--max-fail takes"),
    (["node", "run", "--agents", "--list", "--", "true"], "--list prints the nodes selected and runs nothing"),
    (["node", "run", "--agents", "--list", "--gather"], "--list prints the nodes selected and runs nothing, so "
                                                        "--gather"),
    (["node", "run", "--agents"], "Say what to run on the nodes"),
    (["node", "run", "--exclude=host:a-0", "--", "true"], "Say which nodes to run the command on"),
    (["node", "run", "--pick=1", "--", "true"], "Say which nodes to run the command on"),
    (["node", "ssh", "--pick=1"], "Say which node to reach"),
    (["node", "ssh", "--leader", "--zone=x"], "--leader names the node itself; the selectors (--attribute, "
     "--region, --zone, --host, --task, --framework, --exclude, --pick) choose among the nodes of the cluster. "
     "Use one or the other."),
])
def test_usage_errors_of_a_selection(home, api, args, message):
    scenario(api)
    config_for(home, api.url)
    result = in_process(home, args)
    assert result.returncode == 125 and result.stderr.startswith(f"dcos node {args[1]}: {message}"), result.stderr
    if message.endswith("."):  # the whole message
        assert result.stderr.startswith(f"dcos node {args[1]}: {message}\n")
    assert "Running on" not in result.stderr
    if message != "Say which node to reach":  # which asks the cluster for examples of agents
        assert api.requests() == []


def test_run_with_a_selector_that_matches_nothing_connects_to_nothing(home, api):
    scenario(api)
    config_for(home, api.url)
    result = in_process(home, ["node", "run", "--host=nothing*", "--", "true"])
    assert result.returncode == 125 and result.stderr.startswith("dcos node run: --host=nothing* matches no host name")
    assert "Running on" not in result.stderr


# -- rolling with real ssh children that fail at once -----------------------------------------

def masters_at(api, home, count):
    api.write_scenario(api.default_scenario(masters_dns=[{"host": "master.mesos.", "ip": f"127.0.0.{index}"}
                                                         for index in range(1, count + 1)]))
    config_for(home, api.url)


def failing(log):
    """Each node's ssh runs this ProxyCommand, which notes the node and the time and fails: ssh
    exits 255, and the node counts as unreachable."""
    return f"--option=ProxyCommand=sh -c 'echo %h $(date +%%s.%%N) >> {log}; exit 1'"  # ssh reads %% as %


def test_max_fail_stops_starting_nodes(home, api, tmp_path):
    masters_at(api, home, 6)
    log = tmp_path / "started"
    result = in_process(home, ["node", "run", "--masters", "--parallel=1", "--max-fail=2", failing(log), "--", "true"])
    assert result.returncode == 1
    assert log.read_text().split()[::2] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]  # the third spends the budget
    assert "Running on 6 nodes directly, 1 at a time; no further node starts once more than 2 fail (--max-fail=2)." \
        in result.stderr
    assert result.stderr.endswith(
        "6 nodes: 0 ran the command, 0 exited 0.\n"
        "  could not be reached or logged in to (ssh exit status 255) (3): 127.0.0.[1-3]\n"
        "  not started (3): 127.0.0.[4-6]\n"
        "The failure budget was spent: 3 nodes failed, more than --max-fail=2 allows (2), so no further node was "
        "started.\n")


def test_batches_run_one_after_the_other_with_pauses(home, api, tmp_path):
    masters_at(api, home, 5)
    log = tmp_path / "started"
    started = time.monotonic()
    result = in_process(home, ["node", "run", "--masters", "--batch=40%", "--pause=0.5", failing(log), "--", "true"])
    assert time.monotonic() - started >= 1.0  # two pauses
    assert result.returncode == 1
    lines = log.read_text().split("\n")
    moments = {line.split()[0]: float(line.split()[1]) for line in lines if line}
    assert sorted(moments) == [f"127.0.0.{index}" for index in range(1, 6)]
    # 40% of 5 is 2: batches 1-2, 3-4, 5, each after the one before, half a second apart
    assert min(moments["127.0.0.3"], moments["127.0.0.4"]) - max(moments["127.0.0.1"], moments["127.0.0.2"]) >= 0.5
    assert moments["127.0.0.5"] - max(moments["127.0.0.3"], moments["127.0.0.4"]) >= 0.5
    stderr = result.stderr
    assert "Running on 5 nodes directly, 2 at a time, in 3 batches of 2 (2 times), 1." in stderr
    assert re.search(r"Batch 1 of 3 \(2 nodes\): 127\.0\.0\.\[1-2\]\n(.*\n)*Pausing 0\.5 s before batch 2\.\n"
                     r"Batch 2 of 3 \(2 nodes\): 127\.0\.0\.\[3-4\]\n(.*\n)*Pausing 0\.5 s before batch 3\.\n"
                     r"Batch 3 of 3 \(1 node\): 127\.0\.0\.5\n", stderr), stderr
    assert stderr.endswith("Batches run: 1-3 of 3.\n")


def test_batches_stop_at_the_failure_budget_and_say_which_ran(home, api, tmp_path):
    masters_at(api, home, 7)
    log = tmp_path / "started"
    result = in_process(home, ["node", "run", "--masters", "--batch=2", "--max-fail=50%", failing(log), "--", "true"])
    # 50% of 7 is 3 rounded down: the fourth failure, in batch 2, spends it
    assert len(log.read_text().splitlines()) == 4
    assert result.stderr.endswith(
        "  not started (3): 127.0.0.[5-7]\n"
        "Batches run: 1-2 of 4; not run: 3-4.\n"
        "The failure budget was spent: 4 nodes failed, more than --max-fail=50% allows (3), so no further node was "
        "started.\n")


def test_nodes_the_cluster_describes_unusably_count_against_the_budget(home, api, tmp_path):
    api.write_scenario(api.default_scenario(masters_dns=[{"host": "master.mesos.", "ip": "127.0.0.1"},
                                                         {"host": "master.mesos.", "ip": "127.0.0.2;reboot"}]))
    config_for(home, api.url)
    log = tmp_path / "started"
    result = in_process(home, ["node", "run", "--masters", "--max-fail=0", failing(log), "--", "true"])
    assert result.returncode == 1 and not os.path.exists(log)  # nothing was started
    assert result.stderr.endswith(
        "  not started (1): 127.0.0.1\n  refused: no usable address from the cluster (1): 127.0.0.2;reboot\n"
        "The failure budget was spent: 1 node failed, more than --max-fail=0 allows (0), so no further node was "
        "started.\n")


@pytest.mark.parametrize("noun", ["node", "nodes"])
def test_ssh_check_with_a_selection_names_it(home, api, noun):
    scenario(api)
    config_for(home, api.url)
    result = in_process(home, [noun, "ssh", "--check", "--json", "--task=web"])
    assert result.returncode == 1
    target = next(check for check in json.loads(result.stdout)["checks"] if check["name"] == "target")
    assert target["status"] == "fail" and target["detail"] == "the one node --task=web selects"
    assert target["fix"].startswith("--task=web selects 2 nodes: ")
    assert f"`dcos {noun} ssh` reaches one" in target["fix"]


@pytest.mark.parametrize("number, status", [(signal.SIGHUP, 129), (signal.SIGTERM, 143)])
def test_a_stop_signal_in_a_pause_starts_no_further_batch(home, api, tmp_path, dcos_node, number, status):
    """The installed console script, as a terminal or `timeout` would signal it."""
    masters_at(api, home, 3)
    log = tmp_path / "started"
    process = subprocess.Popen([dcos_node, "node", "run", "--masters", "--batch=1", "--pause=60", failing(log), "--",
                                "true"], env=base_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        said = b""
        while b"Pausing 60 s before batch 2." not in said:
            line = process.stderr.readline()
            assert line, said
            said += line
        started = time.monotonic()
        process.send_signal(number)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - started < 10 and process.returncode == status
    assert stderr.decode().endswith("  not started (2): 127.0.0.[2-3]\nBatches run: 1 of 3; not run: 2-3.\n")
    assert log.read_text().split()[::2] == ["127.0.0.1"]


def test_ssh_asks_what_a_selection_reads_at_once(home, api):
    scenario(api, delays={"/mesos/master/tasks": 1.0})
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", "--task=kafka*"], base_env(home))
    assert result.returncode == 0, result.stderr
    entries = {entry["path"].split("?")[0]: entry for entry in api.requests()}
    for path in ("/mesos/master/state-summary", "/metadata"):
        assert entries[path]["received"] < entries["/mesos/master/tasks"]["time"] - 0.5


@pytest.mark.parametrize("value", ["1234567890", "1234567890%", "-1", "1.5", "", "%", "٣"])
def test_counts_of_ten_digits_or_no_digits_are_refused(value):
    with pytest.raises(UsageError, match=f"^--x takes a whole number of nodes of at least 1, or a percentage of them "
                                         rf"\(1% to 100%\); not '{re.escape(value)}'.$"):
        count(value, "--x", 1)


def test_counts_of_nine_digits_are_taken():
    assert count("123456789", "--x", 1) == Count(123456789)


@pytest.mark.parametrize("flag, value", [("--timeout", "5"), ("--warm", "60"), ("--max-fail", "1"),
                                         ("--gather", True), ("--output-dir", "out")])
def test_list_refuses_each_flag_of_a_run_by_name(flag, value):
    with pytest.raises(UsageError) as caught:
        RunFlags.of({"--agents": True, "--list": True, flag: value})
    assert str(caught.value) == (f"--list prints the nodes selected and runs nothing, so {flag} has nothing to do: "
                                 "leave it out, or --list.")


def test_batches_without_pause_do_not_wait():
    assert RunFlags.of({"--agents": True, "--batch": "5", "<command>": ["true"]}).pause == 0.0


def test_masters_with_a_selector_of_agents_is_refused_with_why():
    with pytest.raises(UsageError) as caught:
        Choice.of({"--task": ["web"]}, Selection.MASTERS)
    assert str(caught.value) == ("--task describes agents only (Mesos gives masters no attributes and no tasks): "
                                 "leave out --masters, or the selector.")


@pytest.mark.parametrize("flag", ["--mesos-id", "--slave"])
def test_ssh_refuses_an_empty_agent_id(flag):
    with pytest.raises(UsageError) as caught:
        SshFlags.of({flag: "", "--task": ["web"]})
    assert str(caught.value) == f"{flag} needs an agent's ID, or a unique part of it; not an empty value."


def test_ssh_without_a_node_or_selectors_names_none():
    from dcos_node_ssh.flags import Target as Named

    flags = SshFlags.of({})
    assert (flags.target, flags.nodes) == (Named(TargetKind.SELECTED), None)
