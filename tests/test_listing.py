"""`dcos node` as scripts and the DC/OS documentation know it: whole agents in --json,
--field columns, whole values when piped. The installed `dcos-node` against the
loopback stand-in of the cluster API."""

import json
import os
import subprocess

import pytest

from conftest import AGENTS, base_env, run_plugin
from test_cli import config_for

PUBLIC_ID = AGENTS[2]["id"]


def listed(dcos_node, home, api, args, **env):
    config_for(home, api.url)
    result = run_plugin(dcos_node, ["node"] + args, base_env(home, **env))
    assert result.returncode == 0, result.stderr
    return result


def test_json_has_each_agent_as_the_cluster_sent_it_with_our_keys(dcos_node, home, api):
    nodes = json.loads(listed(dcos_node, home, api, ["--json"]).stdout)
    master, agents = nodes[0], nodes[1:]
    assert master == {"id": "", "hostname": "master", "address": "10.0.4.1", "type": "master", "state": "leader"}
    by_id = {agent["id"]: agent for agent in AGENTS}
    for agent in agents:
        sent = by_id[agent["id"]]
        assert {key: agent[key] for key in sent} == sent  # every key and value, as sent
        assert set(agent) - set(sent) == {"address", "type", "state"}
    assert [agent["type"] for agent in agents] == ["agent", "agent", "public agent"]


def test_the_documentations_jq_recipe_for_public_agents(dcos_node, home, api):
    """docs.d2iq.com: dcos node --json | jq '.[] | select(.reserved_resources.slave_public != null) | .id'"""
    agents = [dict(agent) for agent in AGENTS]
    agents[2] = dict(agents[2], attributes={}, reserved_resources={"slave_public": {"cpus": 1.0, "mem": 512.0}})
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    config_for(home, api.url)
    listing = subprocess.run(["sh", "-c", '"$1" node --json | jq -r \'.[] | select(.reserved_resources.slave_public '
                              '!= null) | .id\'', "sh", dcos_node], env=base_env(home), capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split() == [PUBLIC_ID]


def test_fields_add_a_column_each(dcos_node, home, api):
    agents = [dict(agent) for agent in AGENTS]
    agents[0] = dict(agents[0], attributes={"rack": "r1"}, domain={"fault_domain": {"region": {"name": "eu-1"}}})
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    result = listed(dcos_node, home, api, ["list", "--field=used_resources.disk", "--field=attributes.rack",
                                           "--field", "domain.fault_domain.region.name"])
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["HOSTNAME", "ADDRESS", "TYPE", "STATE", "ID", "USED_RESOURCES.DISK",
                                "ATTRIBUTES.RACK", "DOMAIN.FAULT_DOMAIN.REGION.NAME"]
    first = lines[2].split()
    assert first[4] == AGENTS[0]["id"] and first[5:] == [json.dumps(AGENTS[0]["used_resources"]["disk"]), "r1",
                                                          "eu-1"]
    assert len(lines[3].split()) == 6  # no rack, no region: empty cells
    assert len(lines[1].split()) == 5  # the master has none of the agents' fields


def test_piped_the_table_shortens_nothing(dcos_node, home, api):
    agents = [dict(agent) for agent in AGENTS]
    agents[0] = dict(agents[0], hostname="a-very-long-host-name-that-would-never-fit.eu-west-1.compute.internal")
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    result = listed(dcos_node, home, api, [], COLUMNS="60")
    ids = [line.split()[4] for line in result.stdout.splitlines()[2:]]
    assert ids == [agent["id"] for agent in agents]
    assert agents[0]["hostname"] in result.stdout and "unique ending" not in result.stdout
    awk = subprocess.run(["sh", "-c", '"$1" node | awk \'NR > 2 {print $5}\'', "sh", dcos_node],
                         env=base_env(home), capture_output=True, text=True, timeout=60)
    assert awk.stdout.split() == [agent["id"] for agent in agents]


def test_on_a_terminal_the_table_still_fits(dcos_node, home, api):
    import pty

    config_for(home, api.url)
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([dcos_node, "node"], env=base_env(home, COLUMNS="60", NO_COLOR="1"),
                                stdout=terminal, stderr=subprocess.PIPE, timeout=30)
        output = os.read(controller, 65536).decode()
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 0
    assert "unique ending" in output and AGENTS[0]["id"] not in output


@pytest.mark.parametrize("field", ["hostname", "pid"])
def test_hostile_field_values_are_escaped(dcos_node, home, api, field):
    agents = [dict(agent) for agent in AGENTS]
    agents[1] = dict(agents[1], attributes={"rack": "\x1b]0;owned\x07"})
    scenario = api.default_scenario()
    scenario["slaves"] = agents
    api.write_scenario(scenario)
    result = listed(dcos_node, home, api, ["--field=attributes.rack", f"--field={field}"])
    assert "\x1b" not in result.stdout and "\\x1b]0;owned\\x07" in result.stdout


def test_json_and_fields_exclude_each_other(dcos_node, home, api):
    config_for(home, api.url)
    result = run_plugin(dcos_node, ["node", "--json", "--field=pid"], base_env(home))
    assert result.returncode == 1 and "does not match the usage" in result.stderr
