"""Jump mode end to end: through the master with `ssh -W`, forwarding no agent.

The byte-exactness, binary data and exit status tests of test_e2e_hostile.py run
in both modes; these show what is particular to jump mode.
"""

import os
import subprocess
import tempfile

import pytest

import simcluster
from helpers import assert_clean_error, cli, config_for, sim_ssh

PUBLIC = simcluster.MASTER_PUBLIC
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS


def test_jump_lands_on_the_agent_without_forwarding_the_agent(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", "--jump", f"--slave={AGENT2_ID}", "--",
                                           "hostname; echo ${SSH_AUTH_SOCK:-no agent}; echo $SSH_CONNECTION"])
    assert result.returncode == 0, result.stderr
    name, agent, connection = result.stdout.splitlines()
    assert (name, agent) == (AGENT2, "no agent")
    # The TCP connection comes from the master (ssh -W there), the session from this host.
    assert connection.split()[0] == simcluster.MASTER_PRIVATE and connection.split()[2] == AGENT2_IP
    # The agent's host key is checked here, under the cluster's and the agent's identity.
    assert (f"Running `ssh -T -o \"ProxyCommand=ssh -W '[%h]:%p' core@{PUBLIC}\" "
            f"-o HostKeyAlias={simcluster.host_key_alias(AGENT2_IP)} core@{AGENT2_IP} "
            "'hostname; echo ${SSH_AUTH_SOCK:-no agent}; echo $SSH_CONNECTION'`") in result.stderr


def test_forward_mode_does_forward_the_agent(sim, dcos_node, home):
    """The same command in the default mode: the agent reaches the node (the trade-off)."""
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}", "--",
                                           "echo ${SSH_AUTH_SOCK:-no agent}"])
    assert result.returncode == 0 and result.stdout.startswith("/tmp/ssh-"), result.stderr


def test_jump_mode_from_the_config(sim, dcos_node, home):
    config_for(home, sim.dcos_url, '\n[node]\nproxy_mode = "jump"\n')
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr
    assert "ProxyCommand=ssh -W" in result.stderr and " -A " not in result.stderr


def test_jump_works_without_any_agent_when_the_key_is_named(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    env = sim.client_env(home, SSH_AUTH_SOCK=None)
    args = ["--master-proxy", f"--slave={AGENT1_ID}", "--", "hostname"]
    forwarded = cli(["node", "ssh"] + args, env)
    assert_clean_error(forwarded, "SSH_AUTH_SOCK is not set")
    result = sim_ssh(sim, dcos_node, home, ["--jump", f"--option=IdentityFile={sim.key}",
                                           "--option=IdentitiesOnly=yes"] + args, env=env)
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr


def test_options_and_host_key_checking_reach_the_jump_connection(sim, dcos_node, home, tmp_path):
    """With no known_hosts entries at all, strict checking stops at the master..."""
    config_for(home, sim.dcos_url)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    strict = sim_ssh(sim, dcos_node, home, ["--master-proxy", "--jump", f"--slave={AGENT1_ID}",
                                           f"--option=UserKnownHostsFile={empty}",
                                           "--option=StrictHostKeyChecking=yes", "--", "hostname"])
    assert strict.returncode == 255 and "Host key verification failed" in strict.stderr
    assert empty.read_text() == ""
    # ...and accept-new records both the master's key (jump connection) and the agent's.
    accept = sim_ssh(sim, dcos_node, home, ["--master-proxy", "--jump", f"--slave={AGENT1_ID}",
                                           f"--option=UserKnownHostsFile={empty}",
                                           "--option=StrictHostKeyChecking=accept-new", "--", "hostname"])
    assert (accept.returncode, accept.stdout) == (0, AGENT1 + "\n"), accept.stderr
    recorded = empty.read_text()
    assert sim.master.host_key_pub.split()[1] in recorded
    assert sim.agents[0].host_key_pub.split()[1] in recorded
    # The agent's key is recorded under its HostKeyAlias, not its address (names may be hashed).
    def recorded_for(name):
        return subprocess.run(["ssh-keygen", "-F", name, "-f", str(empty)], capture_output=True).returncode == 0
    assert recorded_for(simcluster.host_key_alias(AGENT1_IP)) and not recorded_for(AGENT1_IP)


def test_the_agents_host_key_is_kept_under_the_cluster_and_address_not_the_address(sim, dcos_node, home, tmp_path):
    """Another cluster's node at the same private address (its key in known_hosts under the
    bare address) does not get in the way, and this cluster's key is what is checked."""
    config_for(home, sim.dcos_url)
    known = tmp_path / "known_hosts"
    other_clusters_key = sim.master.host_key_pub  # any other key, recorded under the bare address
    known.write_text(f"{PUBLIC} {sim.master.host_key_pub}\n{AGENT1_IP} {other_clusters_key}\n"
                     f"{simcluster.host_key_alias(AGENT1_IP)} {sim.agents[0].host_key_pub}\n")
    args = ["--master-proxy", "--jump", f"--slave={AGENT1_ID}", f"--option=UserKnownHostsFile={known}",
            "--option=StrictHostKeyChecking=yes", "--", "hostname"]
    result = sim_ssh(sim, dcos_node, home, args)
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr
    # With the alias's entry holding another key, the node is refused: checking is on.
    known.write_text(f"{PUBLIC} {sim.master.host_key_pub}\n"
                     f"{simcluster.host_key_alias(AGENT1_IP)} {other_clusters_key}\n")
    refused = sim_ssh(sim, dcos_node, home, args)
    assert refused.returncode == 255 and "Host key verification failed" in refused.stderr


@pytest.mark.parametrize("mode", [[], ["--jump"]])
def test_proxy_options_reach_the_connection_to_the_proxy_only(sim, dcos_node, home, mode):
    """Each connection checks its host key against its own file: the proxy's through
    --proxy-option, the agent's through --option. Swapped, the master is refused."""
    config_for(home, sim.dcos_url)
    # In forward mode the second hop reads its file on the master, as `core`: the files
    # are where the master sees them and core may read them.
    folder = tempfile.mkdtemp(dir=sim.workdir)
    os.chmod(folder, 0o755)
    master_only, agent_only = os.path.join(folder, "master_known_hosts"), os.path.join(folder, "agent_known_hosts")
    for path, line in ((master_only, f"{PUBLIC} {sim.master.host_key_pub}\n"),
                       (agent_only, f"{AGENT1_IP} {sim.agents[0].host_key_pub}\n"  # read on the master
                                    f"{simcluster.host_key_alias(AGENT1_IP)} {sim.agents[0].host_key_pub}\n")):
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(line)
        os.chmod(path, 0o644)

    def run(proxy_file, other_file):
        return sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--option=BatchMode=yes",
                                             f"--proxy-option=UserKnownHostsFile={proxy_file}",
                                             f"--option=UserKnownHostsFile={other_file}",
                                             "--option=StrictHostKeyChecking=yes"] + mode + ["--", "hostname"])
    good = run(master_only, agent_only)
    assert (good.returncode, good.stdout) == (0, AGENT1 + "\n"), good.stderr
    swapped = run(agent_only, master_only)
    assert swapped.returncode == 255 and "Host key verification failed" in swapped.stderr


def test_proxy_option_is_not_on_the_second_hop(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}",
                                           "--proxy-option=SetEnv=DCOS_TEST_FIRST=only",
                                           "--", 'echo "[$DCOS_TEST_FIRST]"'])
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr
    assert "-o SetEnv=DCOS_TEST_FIRST=only core@198.51.100.10 ssh" in result.stderr


def test_jump_needs_a_proxy(sim, home):
    config_for(home, sim.dcos_url)
    result = cli(["node", "ssh", "--jump", f"--slave={AGENT1_ID}", "--", "true"], sim.client_env(home))
    assert result.returncode == 125 and "add --master-proxy or --proxy-ip" in result.stderr


def test_a_hostile_option_in_the_jump_connection_runs_nothing(sim, dcos_node, home, tmp_path):
    marker = tmp_path / "marker"
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", "--jump", f"--slave={AGENT1_ID}",
                                           f'--proxy-option=SetEnv=X="$(touch {marker}); touch {marker}"',
                                           "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr
    assert not os.path.exists(marker)
