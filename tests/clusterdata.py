"""Cluster API answers shaped as tests/fixtures (copied from ../shared/fixtures) shows."""

import copy
import json
import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as stream:
        return json.load(stream)


def agent_entry(agent_id, hostname, address, *, public=False, active=True, pid=None, attributes=None, domain=None):
    """One agent as /mesos/master/slaves lists it, modelled on the fixture's first agent.
    `attributes` as Mesos' JSON gives them (text, a number for a scalar, "[a-b]" for ranges,
    "{a,b}" for a set); `domain`: (region, zone) of its fault domain."""
    entry = copy.deepcopy(fixture("state-summary.json")["slaves"][0])
    entry["id"] = agent_id
    entry["hostname"] = hostname
    host = f"[{address}]" if ":" in address else address
    entry["pid"] = pid if pid is not None else f"slave(1)@{host}:5051"
    entry["active"] = active
    entry["attributes"] = dict({"public_ip": "true"} if public else {}, **(attributes or {}))
    if domain is not None:
        entry["domain"] = fault_domain(*domain)
    return entry


def fault_domain(region, zone):
    """A Mesos DomainInfo as JSON."""
    return {"fault_domain": {"region": {"name": region}, "zone": {"name": zone}}}


def framework_entry(framework_id, name):
    """A framework as state-summary lists it (the parts that name it)."""
    return {"id": framework_id, "name": name, "active": True, "connected": True, "recovered": False,
            "hostname": "master", "pid": f"scheduler-{framework_id}@10.0.4.1:1234", "slave_ids": []}


def scenario(*, public_ip, leader_ip, agents, token=None, filter_slave_id=True, master_hostname="master"):
    """A whole scenario for tests/clusterapi.py."""
    return {
        "metadata": {"PUBLIC_IPV4": public_ip, "CLUSTER_ID": fixture("metadata.json")["CLUSTER_ID"]},
        "leader_dns": [{"host": "leader.mesos.", "ip": leader_ip}],
        "master_info": {
            "id": "3f4a1c9e-7b2d-4e8a-9c51-0d6e2b7a8f10",
            "pid": f"master@{leader_ip}:5050",
            "hostname": master_hostname,
            "port": 5050,
            "address": {"hostname": master_hostname, "ip": leader_ip, "port": 5050},
        },
        "master_hostname": master_hostname,
        "slaves": agents,
        "filter_slave_id": filter_slave_id,
        "token": token,
        "overrides": {},
    }


def task_entry(task_id, name, agent_id, ports=(), *, state="TASK_RUNNING", container_ip=None,
               framework_id="20151002-000353-1695027628-5050-1177-0001"):
    """One task as the master's /master/tasks lists it (Mesos' JSON of a Task): `ports` are
    (name, number) pairs, held as the agent's port resources and named by its discovery
    info; with `container_ip`, its latest status puts it on a container network there."""
    numbers = [number for _, number in ports]
    entry = {
        "id": task_id, "name": name, "framework_id": framework_id, "executor_id": "", "slave_id": agent_id,
        "state": state, "role": "*",
        "resources": {"cpus": 0.1, "mem": 32.0, "disk": 0.0, "gpus": 0.0,
                      "ports": "[" + ", ".join(f"{number}-{number}" for number in numbers) + "]"},
        "statuses": [{"state": state, "timestamp": 1690000000.5}],
        "discovery": {"visibility": "FRAMEWORK", "name": name,
                      "ports": {"ports": [{"number": number, "name": port_name, "protocol": "tcp"}
                                         for port_name, number in ports]}},
    }
    if not numbers:
        entry["resources"].pop("ports")
    if container_ip:
        entry["statuses"][-1]["container_status"] = {
            "network_infos": [{"ip_addresses": [{"protocol": "IPv4", "ip_address": container_ip}], "name": "dcos"}]}
    return entry
