"""`dcos node` as scripts and the DC/OS documentation know it: whole agents in --json,
--field columns, whole values when piped. The whole CLI in-process (helpers.cli) against
the loopback stand-in of the cluster API."""

import json
import subprocess

import pytest

from helpers import AGENTS, base_env, cli, config_for

PUBLIC_ID = AGENTS[2]["id"]


def listed(home, api, args, terminal=None, **env):
    config_for(home, api.url)
    result = cli(["node"] + args, base_env(home, **env), terminal=terminal)
    assert result.returncode == 0, result.stderr
    return result


def test_json_has_each_agent_as_the_cluster_sent_it_with_cores_keys_and_ours(home, api):
    nodes = json.loads(listed(home, api, ["--json"]).stdout)
    master, agents = nodes[0], nodes[1:]
    assert master == {"host": "master", "ip": "10.0.4.1", "public_ips": [], "type": "master (leader)", "region": "",
                      "zone": "", "id": "3f4a1c9e-7b2d-4e8a-9c51-0d6e2b7a8f10", "pid": "master@10.0.4.1:5050",
                      "version": "", "hostname": "master", "address": "10.0.4.1", "state": "leader", "kind": "master"}
    by_id = {agent["id"]: agent for agent in AGENTS}
    for agent in agents:
        sent = by_id[agent["id"]]
        assert {key: agent[key] for key in sent} == sent  # every key and value, as sent
        assert set(agent) - set(sent) == {"type", "region", "zone", "public_ips", "status", "address", "state", "kind"}
    # core's JSON says "agent" for every agent; this plugin's `kind` tells the public ones
    assert [(agent["type"], agent["kind"]) for agent in agents] == [("agent", "agent"), ("agent", "agent"),
                                                                      ("agent", "public agent")]


def test_the_listing_has_every_master_public_addresses_and_fault_domains(home, api):
    agents = [dict(agent) for agent in AGENTS]
    agents[0]["domain"] = {"fault_domain": {"region": {"name": "eu-west-1"}, "zone": {"name": "eu-west-1b"}}}
    scenario = api.default_scenario(
        masters_dns=[{"host": "master.mesos.", "ip": "10.0.4.2"}, {"host": "master.mesos.", "ip": "10.0.4.1"}],
        net_nodes=[{"private_ip": "10.0.1.22", "public_ips": ["52.10.0.22"], "hostname": "x"},
                   {"private_ip": "10.0.4.1", "public_ips": ["52.34.108.176", "$(evil)"]}])
    scenario["slaves"] = agents
    scenario["master_info"]["domain"] = {"fault_domain": {"region": {"name": "eu-west-1"},
                                                          "zone": {"name": "eu-west-1a"}}}
    api.write_scenario(scenario)
    output = listed(home, api, ["list"]).stdout
    lines = output.splitlines()
    assert lines[0].split()[:4] == ["HOSTNAME", "IP", "PUBLIC", "IP(S)"]
    assert lines[1].split() == ["master", "10.0.4.1", "52.34.108.176", "3f4a1c9e-7b2d-4e8a-9c51-0d6e2b7a8f10",
                                "master", "(leader)", "eu-west-1", "eu-west-1a"]
    assert lines[2].split() == ["10.0.4.2", "10.0.4.2", "N/A", "master", "(standby)", "eu-west-1", "N/A"]
    assert lines[3].split() == ["dcos-01", "10.0.1.20", AGENTS[0]["id"], "agent", "ACTIVE", "eu-west-1",
                                "eu-west-1b"]
    assert lines[5].split() == ["10.0.1.22", "10.0.1.22", "52.10.0.22", AGENTS[2]["id"], "agent", "(public)",
                                "ACTIVE"]
    assert "$(evil)" not in output  # not an address: left out
    requests = {entry["path"] for entry in api.requests()}
    assert {"/net/v1/nodes", "/mesos_dns/v1/hosts/master.mesos", "/mesos/api/v1"} <= requests


def test_a_cluster_without_the_optional_answers_still_lists(home, api):
    scenario = api.default_scenario(master_info=None, masters_dns=None)
    api.write_scenario(scenario)
    result = listed(home, api, [])
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 1 + len(AGENTS) and result.stderr == ""
    assert lines[1].split()[:3] == ["master", "10.0.4.1", "N/A"]


def test_mesos_id_lists_one_node(home, api):
    one = json.loads(listed(home, api, ["list", "--json", "--mesos-id=S2"]).stdout)
    assert [node["id"] for node in one] == [AGENTS[2]["id"]]
    leader = json.loads(listed(home, api, ["--json", "--mesos-id", "10.0.4.1"]).stdout)
    assert [node["type"] for node in leader] == ["master (leader)"]
    config_for(home, api.url)
    nothing = cli(["node", "list", "--mesos-id=S9"], base_env(home))
    assert nothing.returncode == 125 and "No agent matches 'S9'" in nothing.stderr


def test_cores_field_keys_work(home, api):
    agents = [dict(agent, TASK_RUNNING=index) for index, agent in enumerate(AGENTS)]
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    lines = listed(home, api, ["list", "--field=TASK_RUNNING", "--field=status"]).stdout.splitlines()
    assert lines[0].split()[-2:] == ["TASK_RUNNING", "STATUS"]
    assert [line.split()[-2:] for line in lines[2:]] == [["0", "ACTIVE"], ["1", "ACTIVE"], ["2", "ACTIVE"]]


def test_the_documentations_jq_recipe_for_public_agents(home, api):
    """docs.d2iq.com: dcos node --json | jq '.[] | select(.reserved_resources.slave_public != null) | .id'"""
    agents = [dict(agent) for agent in AGENTS]
    agents[2] = dict(agents[2], attributes={}, reserved_resources={"slave_public": {"cpus": 1.0, "mem": 512.0}})
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    listing = listed(home, api, ["--json"])
    public = subprocess.run(["jq", "-r", ".[] | select(.reserved_resources.slave_public != null) | .id"],
                            input=listing.stdout, capture_output=True, text=True, timeout=60)
    assert public.returncode == 0, public.stderr
    assert public.stdout.split() == [PUBLIC_ID]


def test_fields_add_a_column_each(home, api):
    agents = [dict(agent) for agent in AGENTS]
    agents[0] = dict(agents[0], attributes={"rack": "r1"}, domain={"fault_domain": {"region": {"name": "eu-1"}}})
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    result = listed(home, api, ["list", "--field=used_resources.disk", "--field=attributes.rack",
                                           "--field", "domain.fault_domain.region.name"])
    lines = result.stdout.splitlines()
    assert lines[0].split()[-3:] == ["USED_RESOURCES.DISK", "ATTRIBUTES.RACK", "DOMAIN.FAULT_DOMAIN.REGION.NAME"]
    first = lines[2].split()
    assert first[2] == AGENTS[0]["id"] and first[-3:] == [json.dumps(AGENTS[0]["used_resources"]["disk"]), "r1",
                                                           "eu-1"]
    # no rack, no region: empty cells
    assert lines[3].split()[-3:] == ["agent", "ACTIVE", json.dumps(AGENTS[1]["used_resources"]["disk"])]
    assert lines[1].split()[-1] == "N/A"  # the master has none of the agents' fields


def test_piped_the_table_shortens_nothing(home, api):
    agents = [dict(agent) for agent in AGENTS]
    agents[0] = dict(agents[0], hostname="a-very-long-host-name-that-would-never-fit.eu-west-1.compute.internal")
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    result = listed(home, api, [], COLUMNS="60")
    ids = [line.split()[2] for line in result.stdout.splitlines()[2:]]
    assert ids == [agent["id"] for agent in agents]
    assert agents[0]["hostname"] in result.stdout and "unique ending" not in result.stdout


def test_on_a_terminal_the_table_still_fits(home, api):
    output = listed(home, api, [], terminal=60, NO_COLOR="1").stdout
    assert "unique ending" in output and AGENTS[0]["id"] not in output


@pytest.mark.parametrize("field", ["hostname", "pid"])
def test_hostile_field_values_are_escaped(home, api, field):
    agents = [dict(agent) for agent in AGENTS]
    agents[1] = dict(agents[1], attributes={"rack": "\x1b]0;owned\x07"})
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    result = listed(home, api, ["--field=attributes.rack", f"--field={field}"])
    assert "\x1b" not in result.stdout and "\\x1b]0;owned\\x07" in result.stdout


def test_json_and_fields_exclude_each_other(home, api):
    config_for(home, api.url)
    result = cli(["node", "--json", "--field=pid"], base_env(home))
    assert result.returncode == 125 and "does not match the usage" in result.stderr
