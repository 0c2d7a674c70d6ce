"""What start-up costs, asserted without timing: requests per mode, concurrency, imports.

The requests are counted in-process (helpers.cli); the imports in a fresh interpreter, as
the console script starts. The timings themselves are in bench/run.py, which prints figures.
"""

import json
import subprocess
import sys

import pytest

from helpers import AGENTS, base_env, cli, config_for

S1 = AGENTS[1]["id"]
DNS = "/mesos_dns/v1/hosts/leader.mesos"
ONE_AGENT = f"/mesos/master/slaves?slave_id={S1}"


@pytest.mark.parametrize("args, requests", [
    (["--master-proxy", f"--slave={S1}"], ["/metadata", ONE_AGENT]),
    (["--master-proxy", "--leader"], ["/metadata", DNS]),
    # a part of an ID, a host name or an address: the list of agents, once
    (["--master-proxy", "--slave=S1"], ["/metadata", "/mesos/master/slaves"]),
    (["--master-proxy", "--slave=dcos-01"], ["/metadata", "/mesos/master/slaves"]),
    (["--master-proxy", "--private-ip=10.0.0.1"], ["/metadata"]),
    ([f"--slave={S1}"], [ONE_AGENT]),
    (["--leader"], [DNS]),
    (["--proxy-ip=203.0.113.5", f"--slave={S1}"], [ONE_AGENT]),
    (["--proxy-ip=203.0.113.5", "--private-ip=10.0.0.1"], []),
    # a selection: what it reads, at once (test_selection.py has the rest)
    (["--master-proxy", "--host=dcos-01"], ["/metadata", "/mesos/master/state-summary",
                                            "/mesos_dns/v1/hosts/master.mesos"]),
    (["--master-proxy", "--attribute=public_ip:true"], ["/metadata", "/mesos/master/state-summary"]),
])
def test_requests_per_mode(home, api, args, requests):
    """At most two requests in the proxy modes: the target and the proxy address."""
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run"] + args, base_env(home))
    assert result.returncode == 0, result.stderr
    assert sorted(entry["path"] for entry in api.requests()) == sorted(requests)


def test_the_two_lookups_run_at_the_same_time(home, api):
    """With /metadata held back, the agent lookup still arrives before /metadata is answered."""
    api.write_scenario(api.default_scenario(delays={"/metadata": 1.0}))
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", f"--slave={S1}"], base_env(home))
    assert result.returncode == 0, result.stderr
    entries = {entry["path"]: entry for entry in api.requests()}
    assert entries[ONE_AGENT]["received"] < entries["/metadata"]["time"] - 0.5


def test_an_error_from_either_lookup_is_reported(home, api):
    scenario = api.default_scenario()
    scenario["metadata"]["PUBLIC_IPV4"] = "not an address"
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = cli(["node", "ssh", "--master-proxy", f"--slave={S1}"], base_env(home))
    assert result.returncode == 125 and "PUBLIC_IPV4" in result.stderr
    api.write_scenario(api.default_scenario())
    result = cli(["node", "ssh", "--master-proxy", "--slave=unknown"], base_env(home))
    assert result.returncode == 125 and "No agent matches 'unknown'" in result.stderr


# http.client (and the email and ssl modules it imports) is the HTTP client, loaded
# only when the cluster is asked something.
HTTP = ["http.client", "email", "ssl"]
HEAVY = ["subprocess", "shutil", "dataclasses", "inspect", "asyncio",
         "concurrent.futures", "requests", "urllib3", "pkg_resources", "importlib.metadata", "six", "toml"]


@pytest.mark.parametrize("args", [
    ["--master-proxy", f"--slave={S1}"],
    ["--master-proxy", "--leader"],
    ["--proxy-ip=203.0.113.5", "--private-ip=10.0.0.1"],
    ["--master-proxy", "--host=dcos-01", "--pick=1"],
])
def test_start_up_imports_nothing_heavy(home, api, args):
    """Everything the command imports on its way to ssh, over plain http."""
    config_for(home, api.url)
    code = (
        "import json, sys\n"
        "from dcos_node_ssh import app\n"
        f"status = app.main({['node', 'ssh', '--dry-run'] + args!r})\n"
        "print(json.dumps([status, sorted(sys.modules)]))\n"
    )
    before = "import json, sys; print(json.dumps(sorted(sys.modules)))"
    env = base_env(home)
    baseline = set(json.loads(subprocess.run([sys.executable, "-c", before], env=env, capture_output=True,
                                             text=True, check=True).stdout))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    status, modules = json.loads(result.stdout.splitlines()[-1])
    assert status == 0, result.stderr
    loaded = set(modules) - baseline
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY or name in HEAVY)
    assert heavy == []
    if "--private-ip=10.0.0.1" in args:  # nothing to look up: no HTTP client at all
        assert sorted(name for name in loaded if name.split(".")[0] in HTTP or name in HTTP) == []
    # json is needed to read answers, but the state is never parsed whole: see
    # test_target.py::test_streaming_stops_at_the_match.
