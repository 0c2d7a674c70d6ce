"""Which host to reach, from flags and cluster answers: hosts, cluster.answers and the agents in nodes.

Cluster answers are untrusted: every test with a hostile value checks that it is
refused with an error the user can read, never passed on.
"""

import copy
import json

import pytest

from clusterdata import agent_entry, fixture, scenario
from dcos_node_ssh.cluster.answers import (
    ListedMaster,
    agent_query,
    agents_in,
    leader_from_master_info,
    leader_from_mesos_dns,
    masters_from_mesos_dns,
    public_ip_from_metadata,
)
from dcos_node_ssh.errors import ClusterDataError, UsageError
from dcos_node_ssh.hosts import check_host_flag, check_user, endpoint_host, host_of_url, normalize_host
from dcos_node_ssh.nodes import agent_address, agent_node, find_agent

S0 = "20151002-000353-1695027628-5050-1177-S0"
S1 = "20151002-000353-1695027628-5050-1177-S1"
S2 = "20151002-000353-1695027628-5050-1177-S2"

# --- normalize_host ---------------------------------------------------------------

@pytest.mark.parametrize(
    "value, expected",
    [
        ("10.0.1.23", "10.0.1.23"),
        ("52.34.108.176", "52.34.108.176"),
        ("2001:db8::5", "2001:db8::5"),
        ("2001:DB8:0:0:0:0:0:5", "2001:db8::5"),
        ("::1", "::1"),
        ("dcos-01", "dcos-01"),
        ("x", "x"),
        ("ip-10-0-1-23.us-west-2.compute.internal", "ip-10-0-1-23.us-west-2.compute.internal"),
        ("master.mesos.", "master.mesos"),
        ("leader.mesos.", "leader.mesos"),
        ("Bastion.Example.COM", "Bastion.Example.COM"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61])),  # 253
        ("1a.example.com", "1a.example.com"),
    ],
)
def test_normalize_host_accepts(value, expected):
    assert normalize_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-oProxyCommand=x",
        "-x",
        "a b",
        "a;b",
        "a&b",
        "a|b",
        "$(x)",
        "`x`",
        "a/b",
        "x" * 300,
        ".".join(["a" * 63] * 3 + ["b" * 62]),  # 254 characters
        "a" * 64 + ".com",  # a label of 64
        "10.0.1",
        "1.2.3.4.5",
        "256.1.1.1",
        "010.0.0.1",
        "123",
        ".",
        "a..b",
        ".a",
        "-a.com",
        "a-.com",
        "host:22",
        "[::1]",
        "user@host",
        "a\tb",
        "a\nb",
        "é.com",
        "*.example.com",
        "~",
        " 10.0.0.1",
        "10.0.0.1 ",
        "a'b",
        'a"b',
        "a\\b",
        "a\0b",
        None,
        5,
        10.5,
        b"10.0.0.1",
        ["10.0.0.1"],
        {"ip": "10.0.0.1"},
        pytest.param("example.com\n"),
        pytest.param("x\n.reboot"),
        pytest.param("fe80::1%$(reboot)"),
        pytest.param("fe80::1%a b;c"),
    ],
)
def test_normalize_host_rejects(value):
    assert normalize_host(value) is None


# --- check_host_flag / check_user ---------------------------------------------------

@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--private-ip", "10.0.1.23", "10.0.1.23"),
        ("--private-ip", "2001:0db8::0005", "2001:db8::5"),
        ("--proxy-ip", "bastion.example.com.", "bastion.example.com"),
    ],
)
def test_check_host_flag_accepts(flag, value, expected):
    assert check_host_flag(flag, value) == expected


@pytest.mark.parametrize("value", ["", "-oProxyCommand=touch /tmp/x", "a b", "$(id)", "10.0.1", "core@10.0.0.1"])
def test_check_host_flag_rejects_naming_flag_and_value(value):
    with pytest.raises(UsageError) as caught:
        check_host_flag("--proxy-ip", value)
    message = str(caught.value)
    assert "--proxy-ip" in message
    assert repr(value) in message


@pytest.mark.parametrize("value", ["core", "centos", "ec2-user", "first.last", "_svc", "root", "u1", "a" * 64, "9user"])
def test_check_user_accepts(value):
    assert check_user(value, "--user") == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "-oProxyCommand=x",
        "-l",
        ".hidden",
        "root@host",
        "a b",
        "a;b",
        "$(id)",
        "`id`",
        "a/b",
        "a" * 65,
        "jöhn",
        "a\nb",
        pytest.param("core\n"),
    ],
)
def test_check_user_rejects_naming_source_and_value(value):
    with pytest.raises(UsageError) as caught:
        check_user(value, "the ssh_user setting (/home/me/.dcos/dcos.toml)")
    message = str(caught.value)
    assert "the ssh_user setting (/home/me/.dcos/dcos.toml)" in message
    assert repr(value) in message


# --- agent_address ------------------------------------------------------------------

@pytest.mark.parametrize(
    "pid, expected",
    [
        ("slave(1)@10.0.1.23:5051", "10.0.1.23"),
        ("slave(1)@[2001:db8::5]:5051", "2001:db8::5"),
        ("slave(1)@[2001:DB8::0:5]:5051", "2001:db8::5"),
        ("slave(1)@ip-10-0-1-23.ec2.internal:5051", "ip-10-0-1-23.ec2.internal"),
        ("slave(1)@10.0.1.23", "10.0.1.23"),
        ("slave(12)@10.0.1.23:15051", "10.0.1.23"),
    ],
)
def test_agent_address_from_pid(pid, expected):
    assert agent_address({"id": S0, "pid": pid}) == expected


def test_agent_address_of_fixture_agents():
    agents = fixture("state-summary.json")["slaves"]
    assert [agent_address(agent) for agent in agents] == ["172.17.8.101", "167.114.218.155", "167.114.218.156"]


def test_agent_address_of_ipv6_agent_entry():
    agent = agent_entry(S1, "dcos-02", "2001:db8::21")
    assert agent_address(agent) == "2001:db8::21"


@pytest.mark.parametrize(
    "pid, shown",
    [
        ("slave(1)@$(reboot):5051", "slave(1)@$(reboot):5051"),
        ("slave(1)@`id`:5051", "slave(1)@`id`:5051"),
        ("slave(1)@a b:5051", "slave(1)@a b:5051"),
        ("slave(1)@a;b:5051", "slave(1)@a;b:5051"),
        ("slave(1)@-oProxyCommand=x:5051", "slave(1)@-oProxyCommand=x:5051"),
        ("slave(1)@:5051", "slave(1)@:5051"),
        ("slave(1)@[]:5051", "slave(1)@[]:5051"),
        ("slave(1)@[2001:db8::5;id]:5051", "slave(1)@[2001:db8::5;id]:5051"),
        ("slave(1)@10.0.1:5051", "slave(1)@10.0.1:5051"),
        ("slave(1)@a\nb:5051", "slave(1)@a\\nb:5051"),
        ("slave(1)10.0.1.23:5051", "slave(1)10.0.1.23:5051"),
        ("", "(got )"),
        (12345, "12345"),
        (None, "None"),
        (["slave(1)@10.0.1.23:5051"], "['slave(1)@10.0.1.23:5051']"),
        pytest.param(
            "slave(1)@[fe80::1%$(reboot)]:5051", "$(reboot)"),
        pytest.param(
            "slave(1)@evil\n:5051", "evil\\n"),
    ],
)
def test_agent_address_refuses_hostile_pid(pid, shown):
    agent_id = "20151002-000353-1695027628-5050-1177-S7"
    with pytest.raises(ClusterDataError) as caught:
        agent_address({"id": agent_id, "pid": pid, "hostname": "evil"})
    message = str(caught.value)
    assert agent_id in message
    assert shown in message
    assert "\n" not in message  # one readable line, whatever the cluster sent


@pytest.mark.parametrize("endpoint, host", [
    ("10.0.1.23:5051", "10.0.1.23"),
    ("10.0.1.23", "10.0.1.23"),
    ("[2001:db8::5]:5051", "2001:db8::5"),
    ("[2001:db8::5]", "2001:db8::5"),
    ("dcos-01:5051", "dcos-01"),
    # malformed: nothing that could pass for an address
    ("[fd00::1:5051", ""),  # a '[' never closed: the port is not part of the address
    ("[fd00::1]5051", ""),
    ("[fd00::1]:x", ""),
    ("[fd00::1]:", ""),
    ("[fd00::1]:5051:1", ""),
    ("10.0.1.23:", ""),
    ("10.0.1.23:50x1", ""),
    ("10.0.1.23:505100", ""),
    ("[fd00::1]:5", "fd00::1"),  # a port of one digit
    ("[fd00::1]:x5051", ""),
    ("[fd00::1]x]:5051", ""),  # the first ']' closes the address
    ("dcos-01:x:5051", "dcos-01:x"),  # the port is what follows the last ':' (the host is checked later)
])
def test_endpoint_host(endpoint, host):
    assert endpoint_host(endpoint) == host


@pytest.mark.parametrize("pid", ["slave(1)@[fd00::1:5051", "slave(1)@[fd00::1]5051", "slave(1)@10.0.1.23:x"])
def test_a_malformed_pid_gives_no_address_anywhere(pid):
    """`slave(1)@[fd00::1:5051` used to become the address fd00::1:5051; every command now
    refuses it for the same reason, and the listing shows no address."""
    entry = {"id": S0, "pid": pid, "hostname": "dcos-01"}
    with pytest.raises(ClusterDataError, match="whose host part is not an IP address or host name"):
        agent_address(entry)
    node = agent_node(entry)
    assert node.address == "" and "whose host part is not an IP address or host name" in node.problem
    with pytest.raises(ClusterDataError):
        leader_from_master_info({"get_master": {"master_info": {"pid": pid.replace("slave(1)", "master")}}}, "x")


@pytest.mark.parametrize("hostname", ["a b", "evil\nHost *", "", 12, "-oProxyCommand=x"])
def test_an_agent_with_a_host_name_that_is_none_is_refused_by_the_one_rule(hostname):
    entry = agent_entry(S0, "dcos-01", "10.0.1.20")
    entry["hostname"] = hostname
    node = agent_node(entry)
    with pytest.raises(ClusterDataError) as caught:
        agent_address(entry)
    assert str(caught.value) == node.problem + " Refusing to connect to it."
    assert "which is not an IP address or host name" in node.problem and "\n" not in node.problem
    assert node.address == "10.0.1.20"  # the listing still shows where the cluster says it is


NO_PID = "without a usable pid (got {}), so its address is unknown. Use --private-ip=<ip> instead."
NOT_A_HOST = "which is not an IP address or host name. Refusing to connect to it."


@pytest.mark.parametrize("entry, message", [
    ({"id": S2, "hostname": "10.0.1.22"}, f"The cluster describes agent {S2} " + NO_PID.format("None")),
    ({"id": S2, "pid": "slave(1)10.0.1.22:5051"},
     f"The cluster describes agent {S2} " + NO_PID.format("slave(1)10.0.1.22:5051")),
    ({"pid": 7}, "The cluster describes agent ? " + NO_PID.format("7")),
    ({"id": S0, "pid": "slave(1)@a b:5051"},
     f"The cluster gives agent {S0} the pid 'slave(1)@a b:5051', whose host part is not an IP address or host name. "
     "Refusing to connect to it."),
    ({"id": S0, "pid": "slave(1)@10.0.1.20:5051", "hostname": "a\nb"},
     f"The cluster gives agent {S0} the hostname 'a\\nb', " + NOT_A_HOST),
    ({"id": S0, "pid": "slave(1)@10.0.1.20:5051", "hostname": 12},
     f"The cluster gives agent {S0} the hostname 12, " + NOT_A_HOST),
])
def test_each_refused_agent_is_said_in_full(entry, message):
    with pytest.raises(ClusterDataError) as caught:
        agent_address(entry)
    assert str(caught.value) == message


def test_an_agent_and_the_leader_read_the_same_host_from_a_pid_with_two_ats():
    """Whatever the cluster sends, every reader of a pid agrees on its host: what follows the last '@'."""
    pid = "slave(1)@x@10.0.1.20:5051"
    assert agent_address({"id": S0, "pid": pid}) == agent_node({"id": S0, "pid": pid}).address == "10.0.1.20"
    assert leader_from_master_info({"get_master": {"master_info": {"pid": pid}}}, "x") == "10.0.1.20"


def test_an_agent_without_a_host_name_is_reached_at_its_pid():
    assert agent_address({"id": S0, "pid": "slave(1)@10.0.1.20:5051"}) == "10.0.1.20"
    assert agent_address({"id": S0, "pid": "slave(1)@10.0.1.20:5051", "hostname": None}) == "10.0.1.20"


def test_a_usable_agent_has_no_problem():
    node = agent_node(agent_entry(S0, "dcos-01", "10.0.1.20"))
    assert (node.address, node.problem) == ("10.0.1.20", None)


def test_agent_address_without_pid_names_agent():
    with pytest.raises(ClusterDataError) as caught:
        agent_address({"id": S2, "hostname": "10.0.1.22"})
    message = str(caught.value)
    assert S2 in message
    assert "--private-ip" in message


def test_agent_address_error_shortens_huge_pid():
    pid = "slave(1)@" + "x" * 5000 + ":5051"
    with pytest.raises(ClusterDataError) as caught:
        agent_address({"id": S0, "pid": pid})
    message = str(caught.value)
    assert "slave(1)@xxxx" in message
    assert "..." in message
    assert len(message) < 500


# --- find_agent over the streamed agent list ------------------------------------------

class NotJson(Exception):
    pass


def stream(answer, source="source"):
    """The agents of an answer as the client streams them from the body text."""
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return agents_in(text, source, NotJson)


@pytest.mark.parametrize("text", [
    '{"slaves" [{"id": "a"}]}',  # no colon after the key
    '{"a" 1, "slaves": []}',
    '{"slaves": [{"id": "a"} {"id": "b"}]}',  # no comma between two agents
    '{"a": 1 "slaves": []}',  # no comma between two members
    '{1: 2, "slaves": []}',  # a key that is not a string
])
def test_the_streamed_agent_list_is_json_or_refused(text):
    with pytest.raises(NotJson):
        list(stream(text))
    with pytest.raises(NotJson):
        list(agents_in(text, "source", NotJson, {"a": None}))


def test_the_streamed_agent_list_reads_every_agent_and_the_members_asked_for_around_it():
    top = {"hostname": None, "after": None}
    text = ' \n{ "hostname" : "m" , "slaves" : [ {"id": "a"} ,\t{"id": "b"} ] , "after": [1], "other": 2 }\n'
    assert list(agents_in(text, "source", NotJson, top)) == [{"id": "a"}, {"id": "b"}]
    assert top == {"hostname": "m", "after": [1]}
    with pytest.raises(NotJson):
        list(agents_in('{"slaves": [], "x": 1 "y": 2}', "source", NotJson, {"x": None}))


def test_the_streamed_agent_list_reads_compact_json_as_mesos_sends_it():
    text = '{"hostname":"m","slaves":[{"id":"a"},{"id":"b"},{"id":"c"}],"after":[1],"other":{"x":2},"last":3}'
    assert list(agents_in(text, "source", NotJson)) == [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    top = {"hostname": None, "after": None, "last": None}
    assert list(agents_in(text, "source", NotJson, top)) == [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert top == {"hostname": "m", "after": [1], "last": 3}


@pytest.mark.parametrize("text", ["[]", '{"slaves": {}}', '{"agents": []}', "{}"])
def test_an_answer_without_a_slaves_array_says_so(text):
    with pytest.raises(ClusterDataError) as caught:
        list(agents_in(text, "http://c/mesos/master/slaves", NotJson, {}))
    assert str(caught.value) == ("The cluster's answer to http://c/mesos/master/slaves is not the expected agent list "
                                 "(no \"slaves\" array).")


@pytest.mark.parametrize("agent_id, query", [
    (S1, f"/master/slaves?slave_id={S1}"),
    # whatever the ID holds stays in the query: it cannot reach another path or parameter
    ("../x/y?z=1&a b#c", "/master/slaves?slave_id=..%2Fx%2Fy%3Fz%3D1%26a%20b%23c"),
])
def test_the_query_for_one_agent_escapes_the_id(agent_id, query):
    assert agent_query(agent_id) == query


def test_find_agent_exact_id_in_filtered_answer():
    answer = fixture("state-summary.json")
    only = {"slaves": [copy.deepcopy(answer["slaves"][1])], "recovered_slaves": []}
    assert find_agent(stream(only), S1) == answer["slaves"][1]


@pytest.mark.parametrize("agent_id, index", [(S0, 0), (S1, 1), (S2, 2)])
def test_find_agent_in_answer_listing_every_agent(agent_id, index):
    # Masters before Mesos 1.1 ignore ?slave_id= and list every agent.
    answer = fixture("state-summary.json")
    found = find_agent(stream(answer), agent_id)
    assert found["id"] == agent_id
    assert found == answer["slaves"][index]


@pytest.mark.parametrize(
    "agent_id",
    [
        "20151002-000353-1695027628-5050-1177-S9",
        "20151002-000353-1695027628-5050-1177-S",  # a prefix of every ID
        "20151002-000353-1695027628-5050-1177-s1",  # case differs
        "S1",
        "",
    ],
)
def test_find_agent_no_match_is_none(agent_id):
    assert find_agent(stream(fixture("state-summary.json")), agent_id) is None


def test_find_agent_empty_list_is_none():
    assert find_agent(stream({"slaves": []}), S0) is None


def test_find_agent_skips_malformed_entries():
    good = {"id": S1, "pid": "slave(1)@10.0.1.21:5051"}
    answer = {"slaves": ["junk", None, 7, {"pid": "x"}, {"id": None}, good]}
    assert find_agent(stream(answer), S1) == good


def test_streaming_stops_at_the_match():
    """The agents after the match are never decoded: here they are not even JSON."""
    text = '{"slaves": [{"id": "a"}, {"id": "%s", "pid": "slave(1)@10.0.1.21:5051"}, {broken' % S1
    assert find_agent(stream(text), S1)["id"] == S1
    with pytest.raises(NotJson):
        find_agent(stream(text), "not-there")


@pytest.mark.parametrize("text", [
    '{"frameworks": [{"slaves": [{"id": "decoy"}]}], "slaves": [{"id": "x"}], "hostname": "m"}',
    '  {\n "slaves" :\t[ {"id" : "x"} ] }\n',
    '{"recovered_slaves": [], "slaves": [{"id": "x"}]}',
])
def test_streaming_reads_only_the_top_level_slaves(text):
    assert [agent["id"] for agent in stream(text)] == ["x"]


@pytest.mark.parametrize("text", ["<html>login</html>", '{"slaves": [{"id": "x"', "", '{"slaves" [1]}', "\ufeff{}"])
def test_streaming_text_that_is_not_json(text):
    with pytest.raises(NotJson):
        list(stream(text))


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"frameworks": []},
        {"slaves": None},
        {"slaves": {S0: {}}},
        {"slaves": "10.0.1.23"},
        [],
        [{"id": S0}],
        None,
        '"slaves"',  # a JSON string, as text
    ],
)
def test_answer_without_slaves_array_is_cluster_data_error(answer):
    source = "https://dcos.example.com/mesos/master/slaves?slave_id=" + S0
    with pytest.raises(ClusterDataError) as caught:
        find_agent(stream(answer, source), S0)
    assert source in str(caught.value)
    assert '"slaves"' in str(caught.value)


# --- leader_from_mesos_dns ----------------------------------------------------------

def test_leader_from_mesos_dns_fixture():
    assert leader_from_mesos_dns(fixture("mesos-dns-leader.json"), "source") == "10.0.4.1"


@pytest.mark.parametrize(
    "answer, expected",
    [
        ([{"host": "leader.mesos.", "ip": "2001:db8::1"}], "2001:db8::1"),
        ([{"host": "leader.mesos.", "ip": "10.0.4.2"}, {"host": "leader.mesos.", "ip": "10.0.4.3"}], "10.0.4.2"),
        (scenario(public_ip="1.2.3.4", leader_ip="10.0.4.9", agents=[])["leader_dns"], "10.0.4.9"),
    ],
)
def test_leader_from_mesos_dns(answer, expected):
    assert leader_from_mesos_dns(answer, "source") == expected


@pytest.mark.parametrize(
    "answer",
    [[], {}, None, "10.0.4.1", [{"host": "leader.mesos."}], ["10.0.4.1"], {"ip": "10.0.4.1"}],
)
def test_leader_from_mesos_dns_without_ip(answer):
    source = "https://dcos.example.com/mesos_dns/v1/hosts/leader.mesos"
    with pytest.raises(ClusterDataError) as caught:
        leader_from_mesos_dns(answer, source)
    assert source in str(caught.value)


@pytest.mark.parametrize(
    "ip, shown",
    [("$(reboot)", "$(reboot)"), ("-oProxyCommand=x", "-oProxyCommand=x"), ("", "as , which"), (None, "None"),
     (10, "10"), ("10.0.4.1 ; id", "10.0.4.1 ; id")],
)
def test_leader_from_mesos_dns_refuses_hostile_ip(ip, shown):
    source = "https://dcos.example.com/mesos_dns/v1/hosts/leader.mesos"
    with pytest.raises(ClusterDataError) as caught:
        leader_from_mesos_dns([{"host": "leader.mesos.", "ip": ip}], source)
    message = str(caught.value)
    assert source in message
    assert shown in message
    assert "leading master" in message


DNS = "https://dcos.example.com/mesos_dns/v1/hosts/master.mesos"


def refused(what, shown):
    return (f"The cluster's answer to {DNS} gives the {what} as {shown}, which is not an IP address or host name. "
            "Refusing to connect to it.")


def test_the_leader_from_mesos_dns_is_refused_in_full():
    with pytest.raises(ClusterDataError) as caught:
        leader_from_mesos_dns([{"ip": "10.0.4.1 ; id"}], DNS)
    assert str(caught.value) == refused("leading master", "10.0.4.1 ; id")
    with pytest.raises(ClusterDataError) as caught:
        leader_from_mesos_dns([{"host": "leader.mesos."}], DNS)
    assert str(caught.value) == f'Mesos DNS answered {DNS} without an "ip" for the leader.'


def test_masters_from_mesos_dns_keep_their_order_once_each_and_say_why_one_is_refused():
    answer = [{"ip": " 10.0.4.2 "}, {"ip": "10.0.4.1"}, {"ip": 7}, {"ip": "10.0.4.2"}, {"ip": "a;b"}, {"ip": None},
              {"ip": ["10.0.4.3"]}, {"ip": 7}]
    assert masters_from_mesos_dns(answer, DNS) == [
        ListedMaster("10.0.4.2"), ListedMaster("10.0.4.1"), ListedMaster("", "7", refused("master", "7")),
        ListedMaster("", "a;b", refused("master", "a;b")), ListedMaster("", "None", refused("master", "None")),
        ListedMaster("", "['10.0.4.3']", refused("master", "['10.0.4.3']"))]


@pytest.mark.parametrize("answer", [[], {}, None, "10.0.4.1", [{"ip": "10.0.4.1"}, "10.0.4.2"],
                                    [{"ip": "10.0.4.1"}, {"host": "master.mesos."}], {"ip": "10.0.4.1"}])
def test_masters_from_mesos_dns_without_an_ip_for_each(answer):
    with pytest.raises(ClusterDataError) as caught:
        masters_from_mesos_dns(answer, DNS)
    assert str(caught.value) == f'Mesos DNS answered {DNS} without an "ip" for each master.'


# --- leader_from_master_info ----------------------------------------------------------

def _get_master(info):
    return {"type": "GET_MASTER", "get_master": {"master_info": info}}


def test_leader_from_master_info_scenario():
    info = scenario(public_ip="52.34.108.176", leader_ip="10.0.4.1", agents=[])["master_info"]
    assert leader_from_master_info(_get_master(info), "source") == "10.0.4.1"


@pytest.mark.parametrize(
    "info, expected",
    [
        ({"address": {"ip": "10.0.4.1", "port": 5050}, "pid": "master@10.0.4.9:5050"}, "10.0.4.1"),
        ({"address": {"ip": "2001:db8::4", "port": 5050}}, "2001:db8::4"),
        ({"pid": "master@10.0.4.9:5050"}, "10.0.4.9"),
        ({"address": {}, "pid": "master@10.0.4.9:5050"}, "10.0.4.9"),
        ({"address": {"ip": ""}, "pid": "master@10.0.4.9:5050"}, "10.0.4.9"),
        ({"address": "10.0.4.1", "pid": "master@10.0.4.9:5050"}, "10.0.4.9"),
        ({"address": {"hostname": "m1"}, "pid": "master@m1.example.com:5050"}, "m1.example.com"),
        pytest.param(
            {"pid": "master@[2001:db8::4]:5050"}, "2001:db8::4"),
    ],
    ids=["address-wins", "ipv6-address", "pid-fallback", "empty-address", "empty-ip", "address-not-object",
         "pid-hostname", "ipv6-pid-fallback"],
)
def test_leader_from_master_info(info, expected):
    assert leader_from_master_info(_get_master(info), "source") == expected


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"get_master": {}},
        {"get_master": {"master_info": None}},
        {"get_master": {"master_info": "10.0.4.1"}},
        [],
        None,
        "GET_MASTER",
        pytest.param(
            {"type": "GET_MASTER", "get_master": None}),
        pytest.param(
            {"type": "GET_MASTER", "get_master": ["x"]}),
    ],
)
def test_leader_from_master_info_without_master_info(answer):
    with pytest.raises(ClusterDataError) as caught:
        leader_from_master_info(answer, "https://dcos.example.com/mesos/api/v1")
    assert "https://dcos.example.com/mesos/api/v1" in str(caught.value)


@pytest.mark.parametrize(
    "info",
    [
        {},
        {"hostname": "master", "port": 5050},
        {"pid": "master-10.0.4.9-5050"},
        {"pid": 5050},
        {"address": {"ip": None}},
    ],
)
def test_leader_from_master_info_without_address(info):
    with pytest.raises(ClusterDataError) as caught:
        leader_from_master_info(_get_master(info), "https://dcos.example.com/mesos/api/v1")
    assert "leader's address" in str(caught.value)


@pytest.mark.parametrize(
    "info, shown",
    [
        ({"address": {"ip": "$(reboot)"}}, "$(reboot)"),
        ({"address": {"ip": "-oProxyCommand=x"}, "pid": "master@10.0.4.9:5050"}, "-oProxyCommand=x"),
        ({"pid": "master@`id`:5050"}, "`id`"),
    ],
)
def test_leader_from_master_info_refuses_hostile_address(info, shown):
    with pytest.raises(ClusterDataError) as caught:
        leader_from_master_info(_get_master(info), "https://dcos.example.com/mesos/api/v1")
    assert shown in str(caught.value)


# --- public_ip_from_metadata ----------------------------------------------------------

def test_public_ip_from_metadata_fixture():
    assert public_ip_from_metadata(fixture("metadata.json"), "source") == "52.34.108.176"


@pytest.mark.parametrize(
    "answer, expected",
    [
        ({"PUBLIC_IPV4": "2001:db8::10"}, "2001:db8::10"),
        ({"PUBLIC_IPV4": "ec2-52-34-108-176.us-west-2.compute.amazonaws.com"},
         "ec2-52-34-108-176.us-west-2.compute.amazonaws.com"),
        ({"PUBLIC_IPV4": ""}, None),
        ({"PUBLIC_IPV4": "   "}, None),
        ({"PUBLIC_IPV4": None}, None),
        ({"CLUSTER_ID": "x"}, None),
        ({}, None),
    ],
)
def test_public_ip_from_metadata(answer, expected):
    assert public_ip_from_metadata(answer, "source") == expected


@pytest.mark.parametrize("answer", [[], None, "52.34.108.176", [{"PUBLIC_IPV4": "52.34.108.176"}]])
def test_public_ip_from_metadata_not_an_object(answer):
    with pytest.raises(ClusterDataError) as caught:
        public_ip_from_metadata(answer, "https://dcos.example.com/metadata")
    assert "https://dcos.example.com/metadata" in str(caught.value)


@pytest.mark.parametrize(
    "value, shown",
    [
        ("$(reboot)", "$(reboot)"),
        ("52.34.108.176; id", "52.34.108.176; id"),
        ("-oProxyCommand=x", "-oProxyCommand=x"),
        (123, "123"),
        (["52.34.108.176"], "['52.34.108.176']"),
        ("52.34.108", "52.34.108"),
    ],
)
def test_public_ip_from_metadata_refuses_hostile_value(value, shown):
    with pytest.raises(ClusterDataError) as caught:
        public_ip_from_metadata({"PUBLIC_IPV4": value}, "https://dcos.example.com/metadata")
    message = str(caught.value)
    assert shown in message
    assert "PUBLIC_IPV4" in message
    assert "https://dcos.example.com/metadata" in message
    assert message == (
        f"The cluster's answer to https://dcos.example.com/metadata gives the master's public address (PUBLIC_IPV4) "
        f"as {shown}, which is not an IP address or host name. Refusing to connect to it.")


# --- host_of_url -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://dcos.example.com", "dcos.example.com"),
        ("https://dcos.example.com:8443/path?q=1", "dcos.example.com"),
        ("http://10.0.4.1/", "10.0.4.1"),
        ("https://[2001:db8::1]:443/", "2001:db8::1"),
        ("https://DCOS.Example.COM/", "dcos.example.com"),
        ("https://user:secret@dcos.example.com/", "dcos.example.com"),
        ("", None),
        ("not a url", None),
        ("dcos.example.com", None),
        ("https://[::1", None),
        ("https://$(x)/", None),
        ("https://a b/", None),
        ("file:///etc/passwd", None),
        ("https://-oProxyCommand=x/", None),
    ],
)
def test_host_of_url(url, expected):
    assert host_of_url(url) == expected


@pytest.mark.parametrize("info, given", [
    ({"address": {"ip": "x y"}}, "x y"),
    ({"pid": "master@;reboot:5050"}, ";reboot"),
])
def test_an_unusable_leader_in_get_master_is_refused_in_one_paragraph(info, given):
    with pytest.raises(ClusterDataError) as caught:
        leader_from_master_info({"get_master": {"master_info": info}}, "http://c/mesos/api/v1")
    assert str(caught.value) == (f"The cluster's answer to http://c/mesos/api/v1 gives the leading master as {given}, "
                                 "which is not an IP address or host name. Refusing to connect to it.")


def test_the_leader_is_after_the_last_at_of_its_pid():
    answer = {"get_master": {"master_info": {"pid": "master@x@10.0.4.1:5050"}}}
    assert leader_from_master_info(answer, "http://c/mesos/api/v1") == "10.0.4.1"
