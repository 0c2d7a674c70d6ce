"""`dcos node ssh --check` on the simulated cluster: one fault at a time.

Each fault must be named by the right check, with the right fix, and no other
check may fail because of it (the ones that depend on it are skipped).
"""

import json
import os
import subprocess

import pytest

import simcluster
from helpers import cli, config_for, sim_ssh

PUBLIC = simcluster.MASTER_PUBLIC
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS
TOKEN = "eyJhbGciOiJSUzI1NiJ9.check-token.c2lnbmF0dXJl"
MODES = [pytest.param([], id="forward"), pytest.param(["--jump"], id="jump")]


def check(sim, dcos_node, home, extra=(), env=None, proxy="--master-proxy"):
    """--check --json by the installed `dcos-node`, with the simulation's ~/.ssh (its probes
    log in); in-process (dcos_node None) where no probe reaches a node."""
    args = [proxy, f"--slave={AGENT1_ID}", "--check", "--json"] + list(extra)
    if dcos_node is None:
        result = cli(["node", "ssh"] + args, env or sim.client_env(home))
    else:
        result = sim_ssh(sim, dcos_node, home, args, env=env, timeout=120)
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    return result.returncode, {item["name"]: item for item in report["checks"]}, report


def only_failure(checks):
    failures = [name for name, item in checks.items() if item["status"] == "fail"]
    assert len(failures) == 1, failures
    return checks[failures[0]]


@pytest.mark.parametrize("mode", MODES)
def test_everything_in_order(sim, dcos_node, home, mode):
    config_for(home, sim.dcos_url)
    status, checks, report = check(sim, dcos_node, home, mode)
    assert status == 0 and report["ok"], report
    assert [item["status"] for item in checks.values()] == ["ok"] * len(checks)
    assert list(checks) == ["configuration", "cluster API", "target", "proxy", "ssh client", "ssh-agent",
                            "key files", "first hop", "proxy login", "node port", "node login"]
    assert AGENT1_IP in checks["target"]["detail"] and "PUBLIC_IPV4" in checks["proxy"]["detail"]
    assert "OpenSSH" in checks["ssh client"]["detail"] and "1 key" in checks["ssh-agent"]["detail"]


def test_the_checklist_as_text(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--check"])
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok    configuration") and lines[-1].startswith("All 11 checks passed")


def test_agent_sshd_stopped(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    sim.stop_sshd(sim.agents[0])
    try:
        status, checks, _ = check(sim, dcos_node, home)
    finally:
        sim.start_sshd(sim.agents[0])
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "node port"
    assert "sshd on the node may be stopped" in failure["fix"]
    assert checks["proxy login"]["status"] == "ok" and checks["node login"]["status"] == "skip"


def test_master_sshd_stopped(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    sim.stop_sshd(sim.master)
    try:
        status, checks, _ = check(sim, dcos_node, home)
    finally:
        sim.start_sshd(sim.master)
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "first hop"
    assert "Connection refused" in failure["detail"] and "sshd runs on the master" in failure["fix"]
    assert [checks[name]["status"] for name in ("proxy login", "node port", "node login")] == ["skip"] * 3


def test_agent_holding_no_key(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    env = sim.client_env(home)
    subprocess.run(["ssh-add", "-D"], env=env, capture_output=True, check=True)
    try:
        status, checks, _ = check(sim, dcos_node, home)
    finally:
        subprocess.run(["ssh-add", "-q", sim.key], env=env, capture_output=True, check=True)
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "ssh-agent" and "ssh-add ~/.ssh/<key>.pem" in failure["fix"]
    assert checks["first hop"]["status"] == "ok" and checks["proxy login"]["status"] == "skip"


def test_a_key_the_hosts_do_not_accept(sim, dcos_node, home, tmp_path):
    config_for(home, sim.dcos_url)
    stranger = str(tmp_path / "stranger")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True)
    env = sim.client_env(home)
    subprocess.run(["ssh-add", "-D"], env=env, capture_output=True, check=True)
    subprocess.run(["ssh-add", "-q", stranger], env=env, capture_output=True, check=True)
    try:
        status, checks, _ = check(sim, dcos_node, home)
    finally:
        subprocess.run(["ssh-add", "-D"], env=env, capture_output=True, check=True)
        subprocess.run(["ssh-add", "-q", sim.key], env=env, capture_output=True, check=True)
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "proxy login"
    assert "Permission denied" in failure["detail"] and "does not accept any key" in failure["fix"]
    assert checks["ssh-agent"]["status"] == "ok" and checks["node login"]["status"] == "skip"


def test_api_answering_401(sim, home):
    sim.write_scenario(sim.default_scenario(token=TOKEN))
    config_for(home, sim.dcos_url)
    status, checks, _ = check(sim, None, home)
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "cluster API" and "dcos auth login" in failure["fix"]
    assert checks["target"]["status"] == checks["proxy"]["status"] == "skip"
    assert checks["ssh-agent"]["status"] == "ok" and checks["ssh client"]["status"] == "ok"


def test_public_ipv4_where_nothing_listens(sim, dcos_node, home):
    scenario = sim.default_scenario()
    scenario["metadata"]["PUBLIC_IPV4"] = "198.51.100.99"
    sim.write_scenario(scenario)
    config_for(home, sim.dcos_url)
    status, checks, _ = check(sim, dcos_node, home)
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "first hop" and "198.51.100.99 port 22" in failure["detail"]
    assert "PUBLIC_IPV4" in failure["fix"] and "--proxy-ip=<address>" in failure["fix"]
    assert checks["proxy"]["status"] == "ok"


def test_key_files_readable_by_others(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    pem = os.path.join(home, ".ssh", "cluster.pem")
    os.makedirs(os.path.dirname(pem))
    with open(pem, "w") as stream:
        stream.write("not a real key\n")
    os.chmod(pem, 0o644)
    status, checks, _ = check(sim, dcos_node, home)
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "key files" and f"chmod 600 {pem}" in failure["fix"]


def fingerprint(public_key):
    """SHA256:… of a public key line, as ssh-keygen shows it."""
    listed = subprocess.run(["ssh-keygen", "-l", "-f", "-"], input=public_key + "\n", capture_output=True, text=True,
                            check=True)
    return listed.stdout.split()[1]


def test_node_host_key_unknown_to_the_master(sim, dcos_node, home):
    """The master has never met this node (its known_hosts lacks it): ssh on the master will
    ask at the terminal, as the real command's second hop does; a warning with the key."""
    config_for(home, sim.dcos_url)
    status, checks, report = check(sim, dcos_node, home, [
        "--option=UserKnownHostsFile=/dev/null", f"--proxy-option=UserKnownHostsFile={sim.client_ssh_dir}/known_hosts"])
    login = checks["node login"]
    assert status == 0 and report["ok"] and login["status"] == "warn", report
    assert "ssh on the master will ask you to accept ED25519 key " + fingerprint(sim.agents[0].host_key_pub) in (
        login["detail"])
    assert [name for name, item in checks.items() if item["status"] != "ok"] == ["node login"]


def known_hosts(tmp_path, name, *lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_an_unknown_node_key_is_a_warning_and_the_connection_should_work(sim, dcos_node, home, tmp_path):
    """Jump mode: this machine checks the node's key (under its HostKeyAlias). Not known: a
    warning with the fingerprint to compare, nothing failed, and known_hosts not written."""
    config_for(home, sim.dcos_url)
    empty = known_hosts(tmp_path, "empty")
    args = ["--master-proxy", f"--slave={AGENT1_ID}", "--jump", "--check", f"--option=UserKnownHostsFile={empty}",
            f"--proxy-option=UserKnownHostsFile={sim.client_ssh_dir}/known_hosts"]
    result = sim_ssh(sim, dcos_node, home, args, timeout=120)
    assert result.returncode == 0, result.stdout
    login = next(line for line in result.stdout.splitlines() if line.startswith("WARN"))
    assert login.startswith("WARN  node login") and (
        f"its host key is not known here yet: ssh will ask you to accept ED25519 key "
        f"{fingerprint(sim.agents[0].host_key_pub)}") in login
    assert result.stdout.splitlines()[-1] == ("No check failed (1 with a warning): the connection should work once "
                                              "you accept the host key above.")
    assert open(empty).read() == ""


def test_a_changed_node_key_fails_with_its_fix(sim, dcos_node, home, tmp_path):
    config_for(home, sim.dcos_url)
    alias = simcluster.host_key_alias(AGENT1_IP)
    wrong = known_hosts(tmp_path, "wrong", f"{alias} {sim.master.host_key_pub}")
    status, checks, _ = check(sim, dcos_node, home, ["--jump", f"--option=UserKnownHostsFile={wrong}",
                                                     f"--proxy-option=UserKnownHostsFile={sim.client_ssh_dir}/known_hosts"])
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "node login"
    assert f"its host key has changed: it now offers ED25519 key {fingerprint(sim.agents[0].host_key_pub)}" in (
        failure["detail"])
    assert f"`ssh-keygen -R '{alias}' -f '{wrong}'`" in failure["fix"]


def test_an_unknown_proxy_key_waits_for_you_and_nothing_is_written(sim, dcos_node, home, tmp_path):
    config_for(home, sim.dcos_url)
    empty = known_hosts(tmp_path, "empty")
    status, checks, report = check(sim, dcos_node, home, [f"--proxy-option=UserKnownHostsFile={empty}"])
    assert status == 0 and report["ok"] and checks["first hop"]["status"] == "warn"
    assert fingerprint(sim.master.host_key_pub) in checks["first hop"]["detail"]
    assert [checks[name]["detail"] for name in ("proxy login", "node port", "node login")] == [
        "not tried: first hop waits for you to accept its host key"] * 3
    assert open(empty).read() == ""


@pytest.mark.parametrize("mode", MODES)
def test_a_first_hop_reached_only_through_a_proxy_command_passes(sim, dcos_node, home, mode):
    """The proxy's private address has no route from here: a raw connection to it fails, but
    the command's own --proxy-option ProxyCommand reaches it through the master."""
    config_for(home, sim.dcos_url)
    through = f"--proxy-option=ProxyCommand=ssh -W %h:%p {simcluster.USER}@{PUBLIC}"
    status, checks, report = check(sim, dcos_node, home, mode + [through],
                                   proxy=f"--proxy-ip={simcluster.MASTER_PRIVATE}")
    assert status == 0 and [item["status"] for item in checks.values()].count("fail") == 0, report
    assert f"{simcluster.USER}@{simcluster.MASTER_PRIVATE} answers (OpenSSH" in checks["first hop"]["detail"]
    assert "through its ProxyCommand" in checks["first hop"]["detail"]
    assert checks["node login"]["status"] == "ok"


def test_a_first_hop_behind_a_bastion_in_the_config_file_passes(sim, dcos_node, home, tmp_path):
    """--config-file's ProxyJump: the probes read the file as the command's ssh does."""
    config_for(home, sim.dcos_url)
    config = tmp_path / "dcos.conf"
    config.write_text(f"Host {simcluster.MASTER_PRIVATE}\n    ProxyJump {simcluster.USER}@{PUBLIC}\n")
    status, checks, report = check(sim, dcos_node, home, [f"--config-file={config}"],
                                   proxy=f"--proxy-ip={simcluster.MASTER_PRIVATE}")
    assert status == 0 and report["ok"] and all(item["status"] == "ok" for item in checks.values()), report
    assert "through its ProxyCommand" in checks["first hop"]["detail"]


def test_direct_connection_to_a_reachable_node(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, [f"--private-ip={PUBLIC}", "--check", "--json"])
    report = json.loads(result.stdout)
    checks = {item["name"]: item for item in report["checks"]}
    assert result.returncode == 0 and report["ok"], report
    assert checks["cluster API"]["status"] == "skip" and checks["proxy"]["detail"] == "none: a direct connection"
    assert "proxy login" not in checks and checks["node login"]["status"] == "ok"


def test_direct_connection_to_a_private_agent_says_use_a_proxy(sim, dcos_node, home):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, [f"--slave={AGENT2_ID}", "--check", "--json"], timeout=60)
    checks = {item["name"]: item for item in json.loads(result.stdout)["checks"]}
    failure = only_failure(checks)
    assert result.returncode == 1 and failure["name"] == "first hop" and "--master-proxy" in failure["fix"]


def test_a_silent_cluster_api_is_bounded_by_core_timeout(sim, dcos_node, home):
    """The proxy is still found and logged in to: the installed `dcos-node`."""
    scenario = sim.default_scenario()
    scenario["overrides"]["/mesos/master/slaves"] = {"hang": 60}
    sim.write_scenario(scenario)
    config_for(home, sim.dcos_url, "timeout = 1\n")
    status, checks, _ = check(sim, dcos_node, home)  # its subprocess timeout is 120 s
    failure = only_failure(checks)
    assert status == 1 and failure["name"] == "cluster API" and "did not answer within 1 seconds" in failure["fix"]
