"""The node listing and forgiving agent matching, on the fixtures and on a generated large state."""

import json

import pytest

from clusterdata import agent_entry, fixture
from dcos_node_ssh.cluster.answers import agents_in
from dcos_node_ssh.errors import ClusterError
from dcos_node_ssh.nodes import (
    NodeKind,
    NodeState,
    looks_like_full_id,
    Node,
    agent_node,
    master_node,
    match_agent,
    sort_nodes,
    unique_suffixes,
)
from dcos_node_ssh.listing import (
    Row,
    agent_object,
    agent_row,
    fault_domain,
    field_value,
    master_object,
    master_row,
    public_ips_by_address,
    table,
)

PREFIX = "20151002-000353-1695027628-5050-1177-"


def fixture_nodes():
    return [agent_node(agent) for agent in fixture("state-summary.json")["slaves"]]


def test_fixture_agents_become_rows():
    assert fixture_nodes() == [
        Node(PREFIX + "S0", "dcos-01", "172.17.8.101", NodeKind.AGENT, NodeState.ACTIVE),
        # deactivated and draining: draining says more
        Node(PREFIX + "S1", "167.114.218.155", "167.114.218.155", NodeKind.AGENT, NodeState.DRAINING),
        Node(PREFIX + "S2", "167.114.218.156", "167.114.218.156", NodeKind.AGENT, NodeState.ACTIVE),
    ]


@pytest.mark.parametrize("changes, type_, state", [
    ({"attributes": {"public_ip": "true"}}, "public agent", "active"),
    ({"reserved_resources": {"slave_public": {"cpus": 1}}}, "public agent", "active"),
    ({"attributes": {"public_ip": "false"}}, "agent", "active"),
    ({"active": False}, "agent", "inactive"),
    ({"deactivated": True}, "agent", "deactivated"),
    ({"deactivated": True, "active": False}, "agent", "deactivated"),
    ({"drain_info": {"state": "DRAINED"}}, "agent", "drained"),
    ({"drain_info": {"state": "DRAINING"}, "active": False}, "agent", "draining"),
    # attribute values and drain states are read whatever their case
    ({"attributes": {"public_ip": "True"}}, "public agent", "active"),
    ({"drain_info": {"state": "draining"}}, "agent", "draining"),
    ({"drain_info": {"state": "Drained"}}, "agent", "drained"),
    # what is not what it should be is left alone
    ({"attributes": "public_ip", "reserved_resources": ["slave_public"], "drain_info": "DRAINED"}, "agent", "active"),
    ({"drain_info": {"state": 7}, "deactivated": "true", "active": 0}, "agent", "active"),
])
def test_type_and_state(changes, type_, state):
    entry = agent_entry(PREFIX + "S9", "a", "10.0.0.9")
    entry.update(changes)
    node = agent_node(entry)
    assert (node.kind.value, node.state.value) == (type_, state)


@pytest.mark.parametrize("pid", ["slave(1)@$(reboot):5051", "garbage", None, 5, "slave(1)@-x:5051"])
def test_an_unusable_pid_gives_no_address(pid):
    entry = agent_entry(PREFIX + "S9", "a", "10.0.0.9")
    entry["pid"] = pid
    assert agent_node(entry).address == ""


def test_entries_without_an_id_are_skipped():
    assert [agent_node(entry) for entry in (None, "x", {}, {"id": 7})] == [None] * 4


def test_sort_is_masters_then_agents_then_public_agents_by_address_then_id():
    nodes = [
        Node("b", "h", "10.0.0.10", NodeKind.AGENT, NodeState.ACTIVE),
        Node("p", "h", "10.0.0.1", NodeKind.PUBLIC_AGENT, NodeState.ACTIVE),
        Node("a", "h", "10.0.0.9", NodeKind.AGENT, NodeState.ACTIVE),
        Node("c", "h", "10.0.0.9", NodeKind.AGENT, NodeState.ACTIVE),
        master_node("10.0.4.1", "m"),
        Node("n", "h", "", NodeKind.AGENT, NodeState.ACTIVE),
    ]
    assert [node.id or "master" for node in sort_nodes(nodes)] == ["master", "a", "c", "b", "n", "p"]
    assert sort_nodes(list(reversed(nodes))) == sort_nodes(nodes)


def test_ipv4_addresses_sort_before_ipv6_ones_and_the_rest_after_them_as_text():
    nodes = [Node(agent_id, "h", address, NodeKind.AGENT, NodeState.ACTIVE) for agent_id, address in [
        ("a", "dcos-02"), ("b", "fd00::10"), ("c", "dcos-01"), ("d", "fd00::9"), ("e", "10.0.0.2"), ("f", "")]]
    assert [node.address for node in sort_nodes(nodes)] == ["10.0.0.2", "fd00::9", "fd00::10", "", "dcos-01",
                                                            "dcos-02"]


# -- matching ---------------------------------------------------------------------

AGENTS = [
    Node(PREFIX + "S1", "dcos-01", "10.0.1.1", NodeKind.AGENT, NodeState.ACTIVE),
    Node(PREFIX + "S2", "dcos-02.example.com", "10.0.1.2", NodeKind.AGENT, NodeState.ACTIVE),
    Node(PREFIX + "S12", "10.0.1.12", "10.0.1.12", NodeKind.PUBLIC_AGENT, NodeState.ACTIVE),
    Node("9a8b7c6d-0000-1111-2222-333344445555-S1", "other", "10.0.2.1", NodeKind.AGENT, NodeState.ACTIVE),
]


@pytest.mark.parametrize("value, expected", [
    (PREFIX + "S2", PREFIX + "S2"),  # exact
    ("S2", PREFIX + "S2"),  # unique suffix
    ("-S12", PREFIX + "S12"),
    ("12", PREFIX + "S12"),  # S12 is the only ID ending in 12
    ("9a8b7c6d", "9a8b7c6d-0000-1111-2222-333344445555-S1"),  # unique prefix
    ("5555-S1", "9a8b7c6d-0000-1111-2222-333344445555-S1"),
    ("10.0.1.2", PREFIX + "S2"),  # address, not the prefix of 10.0.1.12
    ("dcos-02.example.com", PREFIX + "S2"),  # host name
    ("DCOS-01", PREFIX + "S1"),  # host names are not case-sensitive
    ("dcos-02.example.com.", PREFIX + "S2"),
    (PREFIX + "S1", PREFIX + "S1"),  # a whole ID, though S12's starts with it
])
def test_match_agent(value, expected):
    assert match_agent(AGENTS, value, "http://cluster").id == expected


def test_a_host_name_given_with_its_root_dot_matches_the_name_typed_without():
    agents = [Node(PREFIX + "S1", "dcos-01.example.com.", "10.0.1.1", NodeKind.AGENT, NodeState.ACTIVE),
              Node(PREFIX + "S2", ".dcos-01.example.com", "10.0.1.2", NodeKind.AGENT, NodeState.ACTIVE)]
    assert match_agent(agents, "dcos-01.example.com", "http://cluster").id == PREFIX + "S1"


def agents_numbered(count, **names):
    return [Node(PREFIX + f"S{index}", names.get("hostname", f"h{index}"), f"10.0.3.{index}", NodeKind.AGENT,
                 NodeState.ACTIVE) for index in range(count)]


def test_two_agents_of_one_host_name_are_both_listed():
    """An agent that registered again under a new ID may be listed beside its old self."""
    agents = agents_numbered(2, hostname="dcos-01")
    with pytest.raises(ClusterError) as caught:
        match_agent(agents, "dcos-01", "http://cluster")
    assert str(caught.value) == (
        f"'dcos-01' matches 2 agents: {PREFIX}S0 (dcos-01, 10.0.3.0); {PREFIX}S1 (dcos-01, 10.0.3.1). Give more of "
        "the ID, or the agent's address.")


@pytest.mark.parametrize("count, more", [(10, ""), (11, "; and 1 more"), (13, "; and 3 more")])
def test_an_ambiguous_value_lists_ten_agents_and_counts_the_rest(count, more):
    with pytest.raises(ClusterError) as caught:
        match_agent(agents_numbered(count), PREFIX[:8], "http://cluster")
    listed = "; ".join(f"{PREFIX}S{index} (h{index}, 10.0.3.{index})" for index in range(10))
    assert str(caught.value) == (
        f"'{PREFIX[:8]}' matches {count} agents: {listed}{more}. Give more of the ID, or the agent's address.")


@pytest.mark.parametrize("value, count", [("S1", 2), ("2", 3), (PREFIX[:8], 3)])
def test_ambiguous_values_list_the_candidates(value, count):
    with pytest.raises(ClusterError) as caught:
        match_agent(AGENTS, value, "http://cluster")
    message = str(caught.value)
    assert f"matches {count} agents" in message and "Give more of the ID" in message
    assert message.count(PREFIX) + message.count("9a8b7c6d-") == count


def test_unknown_value_shows_the_closest_and_how_to_list():
    with pytest.raises(ClusterError) as caught:
        match_agent(AGENTS, "dcos-03", "http://cluster")
    message = str(caught.value)
    assert "No agent matches 'dcos-03'" in message and "among the 4 agents" in message
    assert "Closest: " in message and "dcos-01" in message and "`dcos node`" in message


def test_unknown_value_with_nothing_close():
    with pytest.raises(ClusterError) as caught:
        match_agent(AGENTS, "zzzzzz", "http://cluster")
    assert str(caught.value) == (
        "No agent matches 'zzzzzz' (by ID, a unique part of the start or end of an ID, host name or address) among "
        "the 4 agents of the cluster at http://cluster. List the agents with `dcos node`.")


@pytest.mark.parametrize("value, full", [
    (PREFIX + "S3", True), ("9a8b7c6d-0000-1111-2222-333344445555-S12", True),
    ("S3", False), ("dcos-01", False), ("10.0.1.1", False), (PREFIX, False),
])
def test_looks_like_full_id(value, full):
    assert looks_like_full_id(value) is full


def test_unique_suffixes_are_accepted_by_the_matcher():
    ids = [node.id for node in AGENTS]
    short = unique_suffixes(ids)
    assert short[PREFIX + "S2"] == "S2" and short[PREFIX + "S12"] == "S12"
    assert short[PREFIX + "S1"] == "1177-S1"
    for agent_id, suffix in short.items():
        assert match_agent(AGENTS, suffix, "c").id == agent_id


@pytest.mark.parametrize("ids, short", [
    # one part before the last tells them apart: the ending from the second part
    (["x-a-S1", "x-b-S1"], {"x-a-S1": "a-S1", "x-b-S1": "b-S1"}),
    # only the first part differs: the whole ID
    (["x-a-S1", "y-a-S1"], {"x-a-S1": "x-a-S1", "y-a-S1": "y-a-S1"}),
    (["a-S1", "b-S1"], {"a-S1": "a-S1", "b-S1": "b-S1"}),
    (["S1", "S2"], {"S1": "S1", "S2": "S2"}),
    # an ID that is an ending of another has no unique ending of its own: the whole ID
    (["a-S1", "S1"], {"a-S1": "a-S1", "S1": "S1"}),
    # the cluster may list an ID twice
    (["a-S1", "a-S1", "a-S2"], {"a-S1": "a-S1", "a-S2": "S2"}),
])
def test_unique_suffixes_fall_back_to_longer_endings_then_the_whole_id(ids, short):
    assert unique_suffixes(ids) == short


# -- the listing: core's columns, types and keys ---------------------------------------

INFO = {"id": "m-1", "pid": "master@10.0.4.1:5050", "version": "1.9.0",
        "domain": {"fault_domain": {"region": {"name": "eu-west-1"}, "zone": {"name": "eu-west-1a"}}}}


def as_row(node, public_ips=()):
    return Row(node, tuple(public_ips), "", "")


def rows(info=INFO):
    leader = master_node("10.0.4.1", "ip-10-0-4-1.us-west-2.compute.internal", master_id="m-1")
    return [master_row(leader, info, {})] + [agent_row(node, {}, {}) for node in sort_nodes(fixture_nodes())]


def headers(text):
    return [word.strip() for word in text.splitlines()[0].split("  ") if word.strip()]


@pytest.mark.parametrize("width", [80, 100, 60])
def test_on_a_terminal_the_table_fits_leaving_out_what_no_node_has(width):
    text = table(rows(info={}), width)
    assert all(len(line) <= width for line in text.splitlines())
    assert headers(text) == ["HOSTNAME", "IP", "ID", "TYPE", "STATUS"]


def test_piped_every_column_stays():
    text = table(rows(info={}), 60, fit=False)
    assert headers(text) == ["HOSTNAME", "IP", "PUBLIC IP(S)", "ID", "TYPE", "STATUS", "REGION", "ZONE"]
    assert PREFIX + "S0" in text


def test_columns_are_cores():
    text = table(rows(), 200, fit=False)
    header, master, *agents = text.splitlines()
    assert headers(text) == ["HOSTNAME", "IP", "PUBLIC IP(S)", "ID", "TYPE", "STATUS",
                                                             "REGION", "ZONE"]
    assert master.split() == ["ip-10-0-4-1.us-west-2.compute.internal", "10.0.4.1", "m-1", "master", "(leader)",
                              "eu-west-1", "eu-west-1a"]
    # core leaves an agent's missing region and zone empty, a master's N/A
    assert agents[0].split() == ["167.114.218.155", "167.114.218.155", PREFIX + "S1", "agent", "DRAINING"]


def test_core_types_and_statuses():
    public = Node(PREFIX + "S7", "p", "10.0.0.7", NodeKind.PUBLIC_AGENT, NodeState.DEACTIVATED)
    standby = master_node("10.0.4.2", None, leader=False)
    text = table([master_row(standby, INFO, {}), as_row(public, ["52.1.1.1", "52.1.1.2"])], 200, fit=False)
    assert "master (standby)" in text and "agent (public)" in text and "DEACTIVATED" in text
    assert "52.1.1.1, 52.1.1.2" in text
    standby_line = text.splitlines()[1].split()
    # a standby master: no ID nor zone (only the leader has them), the region is every master's
    assert standby_line == ["10.0.4.2", "10.0.4.2", "N/A", "master", "(standby)", "eu-west-1", "N/A"]


def domain(**parts):
    return {"domain": {"fault_domain": parts}}


@pytest.mark.parametrize("entry, names", [
    (domain(region={"name": "eu-west-1"}, zone={"name": "eu-west-1a"}), ("eu-west-1", "eu-west-1a")),
    (domain(region={"name": "eu-west-1"}), ("eu-west-1", "")),
    (domain(zone={"name": "eu-west-1a"}), ("", "eu-west-1a")),
    (domain(region={"name": 5}, zone={"name": None}), ("", "")),
    (domain(region="eu-west-1", zone=["eu-west-1a"]), ("", "")),
    ({"domain": {"fault_domain": "eu-west-1"}}, ("", "")),
    ({"domain": "eu-west-1"}, ("", "")),
    ({}, ("", "")),
    (None, ("", "")),
    ("domain", ("", "")),
])
def test_fault_domain_names_only_what_the_cluster_gives_as_text(entry, names):
    assert fault_domain(entry) == names


def test_agent_json_is_as_sent_with_cores_keys_then_ours():
    entry = agent_entry(PREFIX + "S3", "dcos-03", "10.0.1.3", public=True)
    entry["domain"] = {"fault_domain": {"region": {"name": "r1"}, "zone": {"name": "z1"}}}
    sent = json.loads(json.dumps(entry))
    node = agent_node(entry)
    listed = agent_object(agent_row(node, entry, {"10.0.1.3": ("52.2.2.2",)}), entry)
    assert {key: listed[key] for key in sent} == sent
    assert {key: listed[key] for key in set(listed) - set(sent)} == {
        "type": "agent", "region": "r1", "zone": "z1", "public_ips": ["52.2.2.2"], "status": "ACTIVE",
        "address": "10.0.1.3", "state": "active", "kind": "public agent"}


def test_master_json_has_cores_keys_and_ours():
    leader = master_node("10.0.4.1", "m1", master_id="m-1")
    listed = master_object(master_row(leader, INFO, {"10.0.4.1": ("52.3.3.3",)}), INFO)
    assert listed == {"host": "m1", "ip": "10.0.4.1", "public_ips": ["52.3.3.3"], "type": "master (leader)",
                      "region": "eu-west-1", "zone": "eu-west-1a", "id": "m-1", "pid": "master@10.0.4.1:5050",
                      "version": "1.9.0", "hostname": "m1", "address": "10.0.4.1", "state": "leader",
                      "kind": "master"}
    standby = master_object(master_row(master_node("10.0.4.2", None, leader=False), INFO, {}), INFO)
    assert (standby["type"], standby["id"], standby["zone"], standby["region"]) == ("master (standby)", "", "",
                                                                                     "eu-west-1")


@pytest.mark.parametrize("answer, expected", [
    ([{"private_ip": "10.0.1.3", "public_ips": ["52.2.2.2", "2001:db8::1"]}],
     {"10.0.1.3": ("52.2.2.2", "2001:db8::1")}),
    ([{"private_ip": "10.0.1.3", "public_ips": ["52.2.2.2", "$(reboot)", 7, None]}], {"10.0.1.3": ("52.2.2.2",)}),
    ([{"private_ip": "x y", "public_ips": ["52.2.2.2"]}, {"private_ip": "10.0.1.4"}, "junk", None], {}),
    # what is left out does not end the list
    (["junk", {"private_ip": "x y"}, {"private_ip": "10.0.1.4"},
      {"private_ip": "10.0.1.3", "public_ips": ["52.2.2.2"]}], {"10.0.1.3": ("52.2.2.2",)}),
    ({"not": "a list"}, {}),
    (None, {}),
])
def test_public_ips_from_the_networking_api_are_checked(answer, expected):
    assert public_ips_by_address(answer) == expected


def test_wide_table_shows_full_ids_and_narrow_one_unique_endings():
    wide = table(rows(), 200)
    assert PREFIX + "S0" in wide and "unique ending" not in wide
    narrow = table(rows(), 80)
    assert PREFIX not in narrow and "unique ending" in narrow
    # sorted by address: 167.114.218.155 (S1), 167.114.218.156 (S2), 172.17.8.101 (S0)
    assert [line.split()[2] for line in narrow.splitlines()[2:5]] == ["S1", "S2", "S0"]


def test_table_has_no_colour_unless_asked():
    assert "\x1b" not in table(rows(), 80)
    coloured = table(rows(), 80, colour=True)
    assert "\x1b[32mACTIVE" in coloured and "\x1b[33mDRAINING" in coloured


def test_hostile_host_names_are_escaped_in_the_table():
    node = Node(PREFIX + "S5", "evil\x1b[2J\nname", "", NodeKind.AGENT, NodeState.ACTIVE)
    text = table([as_row(node)], 100)
    assert "\x1b" not in text and "\\x1b[2J\\nname" in text
    assert len(text.splitlines()) == 2


# -- large clusters -------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_state():
    template = agent_entry(PREFIX + "S0", "h", "10.0.0.1")
    entries = []
    for index in range(10000):
        entry = dict(template, id=PREFIX + f"S{index}", hostname=f"ip-10-1-{index // 250}-{index % 250}.internal",
                     pid=f"slave(1)@10.1.{index // 250}.{index % 250}:5051")
        entries.append(entry)
    return json.dumps({"hostname": "m", "slaves": entries, "frameworks": []})


def test_large_state_lists_every_agent_in_order(large_state):
    top = {"hostname": None}
    nodes = sort_nodes(node for node in map(agent_node, agents_in(large_state, "s", ValueError, top)) if node)
    assert len(nodes) == 10000 and top["hostname"] == "m"
    assert [node.address for node in nodes[:3]] == ["10.1.0.0", "10.1.0.1", "10.1.0.2"]
    text = table([as_row(node) for node in nodes], 80)
    assert len(text.splitlines()) == 1 + 10000 + 1 + len(text.split("\n\n")[1].splitlines())
    assert all(len(line) <= 80 for line in text.splitlines())


def test_large_state_matching(large_state):
    nodes = [agent_node(agent) for agent in agents_in(large_state, "s", ValueError)]
    assert match_agent(nodes, "S9999", "c").address == "10.1.39.249"
    assert match_agent(nodes, "10.1.20.7", "c").id == PREFIX + "S5007"
    assert match_agent(nodes, "S99", "c").id == PREFIX + "S99"  # S199 does not end in S99
    with pytest.raises(ClusterError, match="matches 100 agents.*and 90 more"):
        match_agent(nodes, "99", "c")


# -- the table's fitting: when IDs are shortened, and how a host name is cut ------------

TWO_AGENTS = [as_row(Node(PREFIX + "S3", "ip-10-0-1-3.internal", "10.0.1.3", NodeKind.AGENT, NodeState.ACTIVE)),
              as_row(Node(PREFIX + "S4", "b", "10.0.1.4", NodeKind.AGENT, NodeState.ACTIVE))]
# Every column but the host name, with full IDs, and the gaps between the columns.
FIXED = len("10.0.1.3  " + PREFIX + "S3  agent  ACTIVE  ")


def test_full_ids_stay_while_host_names_keep_12_columns_and_a_cut_name_ends_in_a_tilde():
    assert table(TWO_AGENTS, FIXED + 12) == (
        "HOSTNAME      IP        ID                                       TYPE   STATUS\n"
        f"ip-10-0-1-3~  10.0.1.3  {PREFIX}S3  agent  ACTIVE\n"
        f"b             10.0.1.4  {PREFIX}S4  agent  ACTIVE\n")


def test_one_column_less_and_ids_are_shown_by_their_unique_ending():
    assert table(TWO_AGENTS, FIXED + 11) == (
        "HOSTNAME              IP        ID  TYPE   STATUS\n"
        "ip-10-0-1-3.internal  10.0.1.3  S3  agent  ACTIVE\n"
        "b                     10.0.1.4  S4  agent  ACTIVE\n"
        "\n"
        "IDs are shown by their unique ending, which --mesos-id accepts; `dcos node\n"
        "list --json` has them whole.\n")


def test_a_host_name_keeps_8_characters_however_narrow_the_terminal():
    text = table(TWO_AGENTS, 20)
    assert text.splitlines()[:3] == ["HOSTNAME  IP        ID  TYPE   STATUS",
                                     "ip-10-0~  10.0.1.3  S3  agent  ACTIVE",
                                     "b         10.0.1.4  S4  agent  ACTIVE"]


def test_an_agent_the_cluster_lists_with_an_empty_id_is_listed_beside_shortened_ones():
    agents = [as_row(Node("", "h", "10.0.1.2", NodeKind.AGENT, NodeState.ACTIVE)),
              as_row(Node(PREFIX + "S3", "g", "10.0.1.3", NodeKind.AGENT, NodeState.ACTIVE))]
    assert table(agents, 40).splitlines()[:3] == ["HOSTNAME  IP        ID  TYPE   STATUS",
                                                  "h         10.0.1.2      agent  ACTIVE",
                                                  "g         10.0.1.3  S3  agent  ACTIVE"]


def test_a_master_alone_on_a_narrow_terminal_keeps_its_id_and_no_note():
    """`dcos node --mesos-id=<the leader's ID>`: only agents' IDs are ever shortened."""
    leader = master_node("10.0.4.1", "m1", master_id="3f4a1c9e-7b2d-4e8a-9c51-0d6e2b7a8f10")
    assert table([master_row(leader, INFO, {})], 40) == (
        "HOSTNAME  IP        ID                                    TYPE             STATUS  REGION     ZONE\n"
        "m1        10.0.4.1  3f4a1c9e-7b2d-4e8a-9c51-0d6e2b7a8f10  master (leader)          eu-west-1  eu-west-1a\n")


def test_a_name_that_fits_exactly_is_not_cut():
    text = table(TWO_AGENTS, FIXED + len("ip-10-0-1-3.internal"))
    assert f"ip-10-0-1-3.internal  10.0.1.3  {PREFIX}S3  agent  ACTIVE" in text.splitlines()


# -- --field: the value at a dotted path of a node's JSON --------------------------------

LISTED = {"hostname": "a-1", "used_resources": {"disk": 0, "cpus": 1.5, "ports": "[31000-31005]"},
          "TASK_RUNNING": 3, "attributes": {}, "reserved": None, "active": True,
          "public_ips": ["52.1.1.1", "52.1.1.2"], "domain": {"fault_domain": {"region": {"name": "r1"}}}}


@pytest.mark.parametrize("path, text", [
    ("hostname", "a-1"),  # a string as it is
    ("used_resources.disk", "0"),
    ("used_resources.cpus", "1.5"),
    ("used_resources.ports", "[31000-31005]"),
    ("TASK_RUNNING", "3"),
    ("active", "true"),  # anything else as compact JSON
    ("attributes", "{}"),
    ("public_ips", '["52.1.1.1","52.1.1.2"]'),
    ("domain.fault_domain", '{"region":{"name":"r1"}}'),
    ("domain.fault_domain.region.name", "r1"),
    ("public_ips.0", "52.1.1.1"),  # a list by index
    ("public_ips.1", "52.1.1.2"),
    ("public_ips.2", ""),  # nothing there: empty
    ("public_ips.-1", ""),
    ("public_ips.\u0661", ""),  # a digit, but not an ASCII one
    ("public_ips.first", ""),
    ("reserved", ""),  # null: empty
    ("missing", ""),
    ("hostname.first", ""),  # a string has no members
    ("hostname.0", ""),  # nor items
    ("used_resources.0", ""),  # an object's members are named, not numbered
    ("used_resources.disk.more", ""),
])
def test_field_value(path, text):
    assert field_value(LISTED, path) == text


def test_an_unknown_value_names_the_three_closest_agents_at_most():
    with pytest.raises(ClusterError) as caught:
        match_agent(AGENTS, "10.0.1.3", "http://cluster")
    assert str(caught.value) == (
        "No agent matches '10.0.1.3' (by ID, a unique part of the start or end of an ID, host name or address) among "
        f"the 4 agents of the cluster at http://cluster. Closest: {PREFIX}S2 (dcos-02.example.com, 10.0.1.2); "
        f"{PREFIX}S1 (dcos-01, 10.0.1.1); {PREFIX}S12 (10.0.1.12, 10.0.1.12). List the agents with `dcos node`.")


def test_an_agent_is_described_by_id_host_name_cut_to_60_and_address():
    agents = [Node(PREFIX + "S7", "h" * 59 + "ij", "", NodeKind.AGENT, NodeState.ACTIVE),
              Node(PREFIX + "S8", "short", "10.0.1.8", NodeKind.AGENT, NodeState.ACTIVE)]
    with pytest.raises(ClusterError) as caught:
        match_agent(agents, PREFIX[:10], "http://cluster")
    message = str(caught.value)
    assert f"{PREFIX}S7 ({'h' * 57}..., no address)" in message and f"{PREFIX}S8 (short, 10.0.1.8)" in message


def test_a_narrow_terminal_cuts_host_names_to_what_is_left_once_ids_are_short():
    rows = [as_row(Node(PREFIX + "S3", "ip-10-0-1-3.internal", "10.0.1.3", NodeKind.AGENT, NodeState.DRAINING)),
            as_row(Node(PREFIX + "S4", "a b", "10.0.1.4", NodeKind.AGENT, NodeState.ACTIVE)),
            as_row(Node(PREFIX + "S5", "", "", NodeKind.AGENT, NodeState.ACTIVE))]
    assert table(rows, 40) == (
        "HOSTNAME   IP        ID  TYPE   STATUS\n"
        "ip-10-0-~  10.0.1.3  S3  agent  DRAINING\n"
        "a\\x20b     10.0.1.4  S4  agent  ACTIVE\n"  # a space would read as two columns
        "-          -         S5  agent  ACTIVE\n"  # no line ends in spaces
        "\n"
        "IDs are shown by their unique ending,\n"
        "which --mesos-id accepts; `dcos node\n"
        "list --json` has them whole.\n")


def test_a_column_core_always_shows_stays_when_it_says_nothing():
    standby = master_node("10.0.4.2", None, leader=False)
    assert table([master_row(standby, INFO, {})], 80) == (
        "HOSTNAME  IP        ID   TYPE              STATUS  REGION\n"
        "10.0.4.2  10.0.4.2  N/A  master (standby)          eu-west-1\n")


def test_a_masters_json_type_is_cores():
    standby = master_node("10.0.4.2", None, leader=False)
    assert master_object(master_row(standby, INFO, {}), INFO)["type"] == "master (standby)"
    leader = master_node("10.0.4.1", "m1", master_id="m-1")
    assert master_object(master_row(leader, INFO, {}), INFO)["id"] == "m-1"


def test_a_leaders_json_id_is_its_own_when_get_master_gives_none():
    leader = master_node("10.0.4.1", "m1", master_id="m-1")
    assert master_object(master_row(leader, {}, {}), {})["id"] == "m-1"
