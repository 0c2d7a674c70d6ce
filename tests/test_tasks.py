"""The task lookup: the master's task state as tasks.Task records (cluster.answers.tasks_in),
which task a value names (tasks.find_task) and which of its ports (tasks.task_endpoint), as
tables; and Lookups.tasks against the cluster API stand-in on loopback."""

import pytest

import clusterdata
from helpers import logged
from dcos_node_ssh.cluster.answers import MAX_TASK_PORTS, tasks_in
from dcos_node_ssh.cluster.queries import Lookups
from dcos_node_ssh.errors import ClusterDataError, ClusterError
from dcos_node_ssh.settings import Settings
from dcos_node_ssh.tasks import Task, TaskPort, find_task, task_endpoint

S0 = "20151002-000353-1695027628-5050-1177-S0"
SOURCE = "http://cluster/mesos/master/tasks"


def one(entry):
    tasks = tasks_in({"tasks": [entry]}, SOURCE)
    assert len(tasks) == 1
    return tasks[0]


def test_a_task_as_mesos_lists_it():
    task = one(clusterdata.task_entry("web.1", "web", S0, [("http", 31000), ("admin", 31001)]))
    assert task == Task("web.1", "web", "TASK_RUNNING", S0, "20151002-000353-1695027628-5050-1177-0001",
                        (TaskPort(31000, "http"), TaskPort(31001, "admin")),
                        (TaskPort(31000, "http"), TaskPort(31001, "admin")), ())
    assert task.running


@pytest.mark.parametrize("ports, expected", [
    ("[31000-31000]", (31000,)),
    ("[31000-31002, 31010-31010]", (31000, 31001, 31002, 31010)),
    ("[ 8080-8080 ,9090-9090 ]", (8080, 9090)),
    ("[]", ()),
    ("31000-31000", ()),  # not a ranges text
    ("[0-0, 70000-70001, 5-3, x-y]", ()),  # no port 0, none above 65535, no reversed range, no words
    ("[1-65535]", tuple(range(1, MAX_TASK_PORTS + 1))),  # a hostile claim is capped
    (31000, ()),
    (None, ()),
    ("[x-y, 31000-31000]", (31000,)),  # a part that is no range is skipped, not the end
    ("[1-1, 65535-65535, 65535-65536]", (1, 65535)),
    ("31000-31001]", ()),  # brackets on both ends, or none of it
    ("[1-999, 2000-2005, 3000-3000]", tuple(range(1, 1000)) + (2000,)),  # the cap across ranges
], ids=["one", "ranges", "spaces", "empty", "no-brackets", "invalid", "capped", "number", "none", "skips-a-part",
        "bounds", "one-bracket", "capped-across-ranges"])
def test_host_ports_from_the_ranges_of_its_resources(ports, expected):
    entry = clusterdata.task_entry("t", "t", S0)
    entry["resources"]["ports"] = ports
    assert tuple(port.number for port in one(entry).host_ports) == expected


def test_ports_are_named_by_the_discovery_info_and_only_checked_values_are_kept():
    entry = clusterdata.task_entry("t", "t", S0, [("http", 31000)])
    entry["resources"]["ports"] = "[31000-31001]"
    entry["discovery"]["ports"]["ports"] += [{"number": True, "name": "bool"}, {"number": 0, "name": "zero"},
                                              {"number": "80", "name": "text"}, "junk", {"number": 99999}]
    task = one(entry)
    assert task.host_ports == (TaskPort(31000, "http"), TaskPort(31001, ""))
    assert task.discovery_ports == (TaskPort(31000, "http"),)


def test_discovery_ports_from_1_to_65535_and_names_only_from_text():
    entry = clusterdata.task_entry("t", "t", S0)
    entry["discovery"]["ports"]["ports"] = [{"number": 1, "name": 7}, {"number": 65535}, {"number": 65536, "name": "x"}]
    assert one(entry).discovery_ports == (TaskPort(1, ""), TaskPort(65535, ""))


@pytest.mark.parametrize("statuses, expected", [
    ([{"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "9.0.1.5"}]}]}}], ("9.0.1.5",)),
    ([{"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "9.0.1.5"}]}]}},
      {"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "9.0.2.7"}]}]}}], ("9.0.2.7",)),
    ([{"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "fd01:b::2:8000:0:2"}]}]}}],
     ("fd01:b::2:8000:0:2",)),
    ([{"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "-oProxyCommand=x"},
                                                                {"ip_address": "web.mesos"},
                                                                {"ip_address": "fe80::1%eth0"}]}]}}], ()),
    ("junk", ()),
    (["junk", {"container_status": "junk"},
      {"container_status": {"network_infos": ["junk", {"ip_addresses": "junk"},
                                              {"ip_addresses": ["junk", {"ip_address": "9.0.1.5"}]}]}}],
     ("9.0.1.5",)),
    # the latest status is junk, or has no addresses: an earlier one's
    ([{"container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "9.0.1.5"}]}]}}, {"state": "x"},
      "junk", None], ("9.0.1.5",)),
], ids=["one", "the-latest", "ipv6", "not-addresses", "junk", "junk-at-every-level", "junk-latest"])
def test_container_addresses_come_from_its_latest_status_and_are_addresses(statuses, expected):
    entry = clusterdata.task_entry("t", "t", S0)
    entry["statuses"] = statuses
    assert one(entry).addresses == expected


@pytest.mark.parametrize("answer", [{"tasks": {}}, {"slaves": []}, [], "tasks", None])
def test_an_answer_without_a_task_list_is_refused(answer):
    with pytest.raises(ClusterDataError, match="not the expected task list"):
        tasks_in(answer, SOURCE)


def test_entries_without_a_text_id_are_left_out_and_other_fields_may_be_missing():
    tasks = tasks_in({"tasks": [{"id": 5}, "x", None, {"name": "n"}, {"id": "bare"}]}, SOURCE)
    assert tasks == [Task("bare", "", "", "", "", (), (), ())]


RUNNING = [Task("web.1", "web", "TASK_RUNNING", S0), Task("api.1", "api", "TASK_RUNNING", S0),
           Task("api.2", "api", "TASK_RUNNING", S0), Task("db.1", "db", "TASK_FINISHED", S0),
           Task("cache.0001", "cache", "TASK_RUNNING", S0)]


@pytest.mark.parametrize("value, expected", [
    ("web.1", "web.1"),
    ("web", "web.1"),
    ("cache", "cache.0001"),
    ("0001", "cache.0001"),
    ("api.2", "api.2"),
], ids=["id", "name", "name-again", "part-of-id", "id-among-names"])
def test_which_task_a_value_names(value, expected):
    assert find_task(RUNNING, value, SOURCE).id == expected


@pytest.mark.parametrize("value, message", [
    ("api", "'api' matches 2 running tasks: api.1 (api); api.2 (api). Give the whole ID"),
    ("db.1", "Task db.1 (db) is TASK_FINISHED, not running"),
    ("db", "Task db.1 (db) is TASK_FINISHED, not running"),
    ("nothing", "No running task matches 'nothing' (by ID, name or a part of its ID) among the 4 running tasks at "
     + SOURCE),
    ("nothing\x1b[2J", "No running task matches 'nothing\\x1b[2J'"),
    ("", "No running task matches ''"),
], ids=["ambiguous-name", "not-running", "only-ended", "none", "escaped", "empty"])
def test_values_that_name_no_single_running_task(value, message):
    with pytest.raises(ClusterError) as raised:
        find_task(RUNNING, value, SOURCE)
    assert message in str(raised.value)


def test_a_value_that_fits_many_tasks_lists_ten_by_id_and_counts_the_others():
    # Mesos keeps a task ID unique within its framework only: two frameworks' tasks may share one,
    # and are listed in the order the cluster gives them.
    tasks = [Task(f"job.{number:02}", f"job-{number}", "TASK_RUNNING", S0) for number in (10, 9, 8, 7, 6, 5, 4, 3, 2)]
    tasks += [Task("job.00", "zeta", "TASK_RUNNING", S0, "fw-1"), Task("job.00", "alpha", "TASK_RUNNING", S0, "fw-2")]
    first_ten = "; ".join(["job.00 (zeta)", "job.00 (alpha)"] + [f"job.{number:02} (job-{number})"
                                                                  for number in range(2, 10)])
    for count, more in ((10, ""), (11, "; and 1 more")):  # without job.10, and with it
        with pytest.raises(ClusterError) as raised:
            find_task(tasks[-count:], "job", SOURCE)
        assert f"'job' matches {count} running tasks: {first_ten}{more}. Give the whole ID" in str(raised.value)


WEB = Task("web.1", "web", "TASK_RUNNING", S0, host_ports=(TaskPort(31000, "http"), TaskPort(31001, "admin")),
           discovery_ports=(TaskPort(31000, "http"), TaskPort(31001, "admin")))
# On a container network with a port mapping: the agent's port 31500 for the container's 80.
MAPPED = Task("app.1", "app", "TASK_RUNNING", S0, host_ports=(TaskPort(31500),),
              discovery_ports=(TaskPort(80, "http"), TaskPort(9090, "metrics")), addresses=("9.0.1.5",))
# On a container network, holding no port of the agent.
OVERLAY = Task("app.2", "app", "TASK_RUNNING", S0, discovery_ports=(TaskPort(80, "http"),), addresses=("9.0.1.6",))


@pytest.mark.parametrize("task, index, name, expected", [
    (WEB, None, None, ("10.0.1.20", 31000, "port 31000 (http) of task web.1 (web) on agent S0 at 10.0.1.20")),
    (WEB, 1, None, ("10.0.1.20", 31001, "port 31001 (admin) of task web.1 (web) on agent S0 at 10.0.1.20")),
    (WEB, None, "admin", ("10.0.1.20", 31001, "port 31001 (admin) of task web.1 (web) on agent S0 at 10.0.1.20")),
    (MAPPED, None, None, ("10.0.1.20", 31500, "port 31500 of task app.1 (app) on agent S0 at 10.0.1.20")),
    (MAPPED, None, "metrics", ("9.0.1.5", 9090, "port 9090 (metrics) of task app.1 (app) at its own address "
                                                 "9.0.1.5 (a container network)")),
    (OVERLAY, None, None, ("9.0.1.6", 80, "port 80 (http) of task app.2 (app) at its own address 9.0.1.6 "
                                          "(a container network)")),
], ids=["first", "by-index", "by-name", "mapped-host-port", "mapped-by-name", "overlay"])
def test_which_port_of_a_task(task, index, name, expected):
    assert tuple(task_endpoint(task, "S0", "10.0.1.20", index, name)) == expected


@pytest.mark.parametrize("task, index, name, message", [
    (WEB, 2, None, "has 2 ports (0: port 31000 (http), 1: port 31001 (admin)); --port-index=2 is not one of them"),
    (WEB, None, "metrics", "has no port named 'metrics'; its ports are named admin, http."),
    (Task("x", "x", "TASK_RUNNING", S0, host_ports=(TaskPort(31000),)), None, "http",
     "none of its ports has a name. Choose one with --port-index=<n>."),
    (Task("x", "x", "TASK_RUNNING", S0), None, None, "holds no ports"),
    (Task("x", "x", "TASK_RUNNING", S0, discovery_ports=(TaskPort(80, "http"),)), None, None, "holds no ports"),
], ids=["index-out-of-range", "unknown-name", "no-names", "no-ports", "discovery-without-address"])
def test_ports_a_task_does_not_have(task, index, name, message):
    with pytest.raises(ClusterDataError) as raised:
        task_endpoint(task, "S0", "10.0.1.20", index, name)
    assert message in str(raised.value)


def test_lookups_ask_the_master_for_every_task(api):
    scenario = api.default_scenario(tasks=[clusterdata.task_entry("web.1", "web", S0, [("http", 31000)]),
                                           clusterdata.task_entry("old.1", "old", S0, state="TASK_KILLED")])
    api.write_scenario(scenario)
    tasks = Lookups(Settings(dcos_url=api.url), {}, None).tasks()
    assert [(task.id, task.state, task.host_ports) for task in tasks] == [
        ("web.1", "TASK_RUNNING", (TaskPort(31000, "http"),)), ("old.1", "TASK_KILLED", ())]
    # Mesos answers 100 tasks unless asked for more.
    logged(api, "/mesos/master/tasks?limit=1000000")
    assert len(api.requests()) == 1


def test_lookups_ask_mesos_directly_when_configured(api):
    api.write_scenario(api.default_scenario(tasks=[clusterdata.task_entry("web.1", "web", S0)]))
    settings = Settings(dcos_url="http://127.0.0.1:9", mesos_master_url=api.url)
    assert [task.id for task in Lookups(settings, {}, None).tasks()] == ["web.1"]
    logged(api, "/master/tasks?limit=1000000")
    assert len(api.requests()) == 1


def test_a_long_port_name_is_cut_at_40_characters_when_said():
    name = "n" * 38 + "xyz"
    task = Task("x", "x", "TASK_RUNNING", S0, host_ports=(TaskPort(31000, name),))
    assert task_endpoint(task, "S0", "10.0.1.20", None, None).what == (
        f"port 31000 ({'n' * 37}...) of task x on agent S0 at 10.0.1.20")


def test_a_task_is_described_by_its_id_and_its_name_each_cut_to_a_bound():
    assert Task("web.1", "web", "TASK_RUNNING", S0).describe() == "web.1 (web)"
    assert Task("web", "web", "TASK_RUNNING", S0).describe() == "web"  # the name only when it says more
    assert Task("web.1", "", "TASK_RUNNING", S0).describe() == "web.1"
    long_id, long_name = "i" * 99 + "jk", "n" * 59 + "op"
    assert Task(long_id, long_name, "TASK_RUNNING", S0).describe() == f"{'i' * 97}... ({'n' * 57}...)"
    assert Task("i" * 100, "n" * 60, "TASK_RUNNING", S0).describe() == f"{'i' * 100} ({'n' * 60})"


def test_port_names_a_task_does_have_are_listed_each_cut_to_40_characters():
    task = Task("x", "x", "TASK_RUNNING", S0, host_ports=(TaskPort(31000, "a" * 40), TaskPort(31001, "b" * 41)))
    with pytest.raises(ClusterDataError) as raised:
        task_endpoint(task, "S0", "10.0.1.20", None, "c")
    assert str(raised.value) == f"Task x has no port named 'c'; its ports are named {'a' * 40}, {'b' * 37}...."


def test_a_container_port_is_found_by_name_only_when_the_task_has_an_address_of_its_own():
    task = Task("x", "x", "TASK_RUNNING", S0, discovery_ports=(TaskPort(80, "http"),))
    with pytest.raises(ClusterDataError) as raised:
        task_endpoint(task, "S0", "10.0.1.20", None, "http")
    assert str(raised.value) == "Task x has no port named 'http'; its ports are named http."


def test_a_task_with_one_port_says_port_not_ports():
    task = Task("x", "x", "TASK_RUNNING", S0, host_ports=(TaskPort(31000),))
    with pytest.raises(ClusterDataError) as raised:
        task_endpoint(task, "S0", "10.0.1.20", 1)
    assert str(raised.value) == "Task x has 1 port (0: port 31000); --port-index=1 is not one of them."


def test_a_task_without_port_names_says_how_to_choose_one():
    task = Task("x", "x", "TASK_RUNNING", S0, host_ports=(TaskPort(31000),))
    with pytest.raises(ClusterDataError) as raised:
        task_endpoint(task, "S0", "10.0.1.20", None, "http")
    assert str(raised.value) == "Task x has no port named 'http': none of its ports has a name. Choose one with " \
                                "--port-index=<n>."


def test_a_value_matching_many_running_tasks_lists_ten_by_id_and_counts_the_rest():
    tasks = [Task(f"web.{index:02d}", "web", "TASK_RUNNING", S0) for index in range(12, 0, -1)]
    with pytest.raises(ClusterError) as raised:
        find_task(tasks, "web", SOURCE)
    listed = "; ".join(f"web.{index:02d} (web)" for index in range(1, 11))
    assert str(raised.value) == f"'web' matches 12 running tasks: {listed}; and 2 more. Give the whole ID of the one " \
                                "you mean."
    with pytest.raises(ClusterError) as raised:
        find_task(tasks[2:], "web", SOURCE)
    assert "; and" not in str(raised.value) and "matches 10 running tasks" in str(raised.value)


def test_a_name_is_a_tasks_name_before_it_is_a_part_of_an_id():
    tasks = [Task("a-1", "front", "TASK_RUNNING", S0), Task("front-end.1", "fe", "TASK_RUNNING", S0)]
    assert find_task(tasks, "front", SOURCE).id == "a-1"


def test_an_ended_task_named_again_is_said_as_its_latest():
    tasks = [Task("db.1", "db", "TASK_FINISHED", S0), Task("db.2", "db", "TASK_FAILED_" + "X" * 40, S0)]
    with pytest.raises(ClusterError) as raised:
        find_task(tasks, "db", SOURCE)
    assert str(raised.value) == (f"Task db.2 (db) is TASK_FAILED_{'X' * 25}..., not running, so nothing of it "
                                 "listens. See the running ones with `dcos task`.")
