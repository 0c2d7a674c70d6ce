"""End-to-end: the installed `dcos-node` through real OpenSSH hops on the simulated cluster.

The agents are reachable only through the master; every run goes through the
real sshd of each node, with the key held only by a real ssh-agent here. What stops
before ssh runs (a listing, a refusal, a dry run) runs in-process (helpers.cli) against
the same cluster.
"""

import os
import subprocess

import pytest

import simcluster
from helpers import assert_clean_error, cli, config_for, sim_ssh, write_config

MASTER = simcluster.MASTER_NAME
PUBLIC = simcluster.MASTER_PUBLIC
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS
TOKEN = "eyJhbGciOiJSUzI1NiJ9.e2e-secret-token.c2lnbmF0dXJl"


def test_agents_are_not_reachable_directly(sim, dcos_node, home):
    """The network is what the tests claim: without a proxy, an agent cannot be reached."""
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, [f"--slave={AGENT1_ID}", "--option=ConnectTimeout=3", "--", "true"])
    assert result.returncode == 255
    assert "--master-proxy" in result.stderr


def test_master_proxy_master_lands_on_the_leader(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", "--master", "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, MASTER + "\n"), result.stderr


@pytest.mark.parametrize("flag", ["--slave", "--mesos-id"])
@pytest.mark.parametrize("agent_id, name", [(AGENT1_ID, AGENT1), (AGENT2_ID, AGENT2)])
def test_master_proxy_slave_lands_on_the_agent(sim, dcos_node, home, flag, agent_id, name):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"{flag}={agent_id}", "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, name + "\n"), result.stderr


def test_without_a_command_the_design_cards_command_opens_a_login_shell(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}"],
                    input="hostname\nexit 7\n")
    assert f"Running `ssh -A -t core@{PUBLIC} ssh -A -t core@{AGENT2_IP}`" in result.stderr
    assert AGENT2 in result.stdout.splitlines()
    assert result.returncode == 7


def test_proxy_ip_with_private_ip(sim, dcos_node, home):
    # No cluster configuration at all: nothing needs looking up.
    result = sim_ssh(sim, dcos_node, home, [f"--proxy-ip={PUBLIC}", f"--private-ip={AGENT1_IP}", "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr


@pytest.mark.parametrize("words", [["hostname; echo $SSH_CONNECTION"], ["hostname;", "echo", "$SSH_CONNECTION"]])
def test_command_runs_on_the_target_with_the_targets_address(sim, dcos_node, home, words):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}", "--"] + words)
    assert result.returncode == 0, result.stderr
    name, connection = result.stdout.splitlines()
    client, _, server, port = connection.split()
    assert (name, client, server, port) == (AGENT2, simcluster.MASTER_PRIVATE, AGENT2_IP, "22")


@pytest.mark.parametrize("status", [0, 1, 42])
def test_remote_exit_status_comes_back_through_both_hops(sim, dcos_node, home, status):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", f"exit {status}"])
    assert result.returncode == status, result.stderr


def test_remote_exit_status_comes_back_directly(sim, dcos_node, home):
    result = sim_ssh(sim, dcos_node, home, [f"--private-ip={PUBLIC}", "--", "exit 42"])
    assert result.returncode == 42, result.stderr


def test_the_exit_status_tells_who_failed(sim, dcos_node, home):
    """`-- test -f <file>`: the file is missing (1, the remote command's), the agent is
    unknown (125, the plugin's own), the node cannot be reached (255, ssh's own)."""
    config_for(home, sim.dcos_url)
    missing_file = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", "test", "-f",
                                                  "/no/such/file"])
    assert missing_file.returncode == 1 and "dcos node ssh:" not in missing_file.stderr, missing_file.stderr
    missing_agent = sim_ssh(sim, dcos_node, home, ["--master-proxy", "--slave=S-no-such-agent", "--", "test", "-f",
                                                   "/etc/hostname"])
    assert missing_agent.returncode == 125 and "No agent matches 'S-no-such-agent'" in missing_agent.stderr
    unreachable = sim_ssh(sim, dcos_node, home, [f"--slave={AGENT1_ID}", "--option=ConnectTimeout=3", "--", "test",
                                                 "-f", "/etc/hostname"])
    assert unreachable.returncode == 255


def test_option_reaches_both_hops_with_spaces_intact(sim, dcos_node, home):
    """SetEnv sends a variable to the server it is given to: only the second hop reaches the agent."""
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}",
                                           "--option", "SetEnv=DCOS_TEST_VALUE=\"two  spaces and 'quotes' $HOME\"",
                                           "--", 'echo "[$DCOS_TEST_VALUE]"'])
    assert result.stdout == "[two  spaces and 'quotes' $HOME]\n", result.stderr


def test_config_file_applies_to_the_first_hop_only(sim, dcos_node, home, tmp_path):
    config_for(home, sim.dcos_url)
    first_hop_only = tmp_path / "ssh_config"
    first_hop_only.write_text("Host *\n  SetEnv DCOS_TEST_FROM_F=seen\n")
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}",
                                           f"--config-file={first_hop_only}", "--", 'echo "[$DCOS_TEST_FROM_F]"'])
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr
    strict = tmp_path / "strict_config"
    strict.write_text("Host *\n  StrictHostKeyChecking yes\n  UserKnownHostsFile /dev/null\n")
    refused = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}",
                                            f"--config-file={strict}", "--", "true"])
    assert refused.returncode == 255 and "Host key verification failed" in refused.stderr


def _layout(sim, home, layout):
    """Configure the cluster as one DC/OS CLI generation would; return extra environment."""
    toml = f'[core]\ndcos_url = "{sim.dcos_url}"\n'
    if layout == "DCOS_CONFIG (CLI 0.1-0.4)":
        path = os.path.join(home, "elsewhere", "my-cluster.toml")
        write_config(path, toml)
        return {"DCOS_CONFIG": path}
    if layout == "~/.dcos/dcos.toml (CLI 0.1-0.4)":
        write_config(os.path.join(home, ".dcos", "dcos.toml"), toml)
        return {}
    if layout == "attached cluster (CLI 0.5+)":
        clusters = os.path.join(home, ".dcos", "clusters")
        write_config(os.path.join(clusters, "0f3b1c2d-attached", "dcos.toml"), toml)
        write_config(os.path.join(clusters, "0f3b1c2d-attached", "attached"), "")
        write_config(os.path.join(clusters, "9a8b7c6d-other", "dcos.toml"),
                     '[core]\ndcos_url = "http://203.0.113.99"\n')
        # The legacy file is ignored when a cluster is attached.
        write_config(os.path.join(home, ".dcos", "dcos.toml"), '[core]\ndcos_url = "http://203.0.113.98"\n')
        return {}
    assert layout == "1.x environment only"
    return {"DCOS_URL": sim.dcos_url, "DCOS_TLS_INSECURE": "1", "DCOS_CLI_VERSION": "1.2.0",
            "DCOS_NODE_SSH_USER": "core"}


@pytest.mark.parametrize("layout", ["DCOS_CONFIG (CLI 0.1-0.4)", "~/.dcos/dcos.toml (CLI 0.1-0.4)",
                                    "attached cluster (CLI 0.5+)", "1.x environment only"])
def test_each_config_layout(sim, dcos_node, home, layout):
    env = sim.client_env(home, **_layout(sim, home, layout))
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}", "--", "hostname"], env=env)
    assert (result.returncode, result.stdout) == (0, AGENT2 + "\n"), result.stderr


def test_auth_enabled_cluster_with_and_without_a_token(sim, dcos_node, home):
    sim.write_scenario(sim.default_scenario(token=TOKEN))
    config_for(home, sim.dcos_url, f'dcos_acs_token = "{TOKEN}"\n')
    with_token = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", "hostname"])
    assert (with_token.returncode, with_token.stdout) == (0, AGENT1 + "\n"), with_token.stderr
    config_for(home, sim.dcos_url)
    without = cli(["node", "ssh", "--master-proxy", f"--slave={AGENT1_ID}", "--", "hostname"], sim.client_env(home))
    assert_clean_error(without, "HTTP 401", "dcos auth login")
    for result in (with_token, without):
        assert TOKEN not in result.stdout + result.stderr


def test_dry_run_opens_no_connection(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    before = sim.connections()
    result = cli(["node", "ssh", "--master-proxy", f"--slave={AGENT1_ID}", "--dry-run"], sim.client_env(home))
    assert result.returncode == 0 and "Running" not in result.stderr
    assert result.stdout == f"ssh -A -t core@{PUBLIC} ssh -A -t core@{AGENT1_IP}\n"
    assert sim.connections() == before
    # The same run without --dry-run does connect: the count is a real measure.
    ran = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", "true"])
    assert ran.returncode == 0, ran.stderr
    assert sim.connections() == before + 2


def test_agent_without_the_key_is_refused_before_connecting(sim, home):
    config_for(home, sim.dcos_url)
    env = sim.client_env(home)
    subprocess.run(["ssh-add", "-D"], env=env, capture_output=True, check=True)
    before = sim.connections()
    try:
        refused = cli(["node", "ssh", "--master-proxy", f"--slave={AGENT1_ID}", "--", "hostname"], env)
    finally:
        subprocess.run(["ssh-add", "-q", sim.key], env=env, capture_output=True, check=True)
    assert_clean_error(refused, "holds no keys", "ssh-add ~/.ssh/<key>.pem")
    assert "Running" not in refused.stderr
    assert sim.connections() == before


def test_list_then_ssh_by_suffix_by_address_and_by_host_name(sim, dcos_node, home):
    """The seed's step 2 (copy the ID from the Mesos web UI) is no longer needed."""
    config_for(home, sim.dcos_url)
    env = sim.client_env(home)
    listing = cli(["node"], env)
    assert listing.returncode == 0, listing.stderr
    rows = [line.split() for line in listing.stdout.splitlines()[1:4]]
    assert [row[:2] for row in rows] == [[MASTER, simcluster.MASTER_PRIVATE], [AGENT1, AGENT1_IP], [AGENT2, AGENT2_IP]]
    assert "master (leader)" in listing.stdout.splitlines()[1]
    # piped: whole IDs
    assert [row[2:5] for row in rows[1:]] == [[AGENT1_ID, "agent", "ACTIVE"], [AGENT2_ID, "agent", "ACTIVE"]]
    for value, name in (("S1", AGENT2), (AGENT1_IP, AGENT1), (AGENT2, AGENT2)):
        result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={value}", "--", "hostname"])
        assert (result.returncode, result.stdout) == (0, name + "\n"), result.stderr
