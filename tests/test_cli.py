"""The whole CLI against a real HTTP stand-in of the cluster API on loopback.

These need no root: they stop at `--dry-run` or at an error before ssh connects, so they
run in-process (helpers.cli: app.main with a test Environment). What needs a process of
its own (the installed console script, a terminal, another user) runs `dcos-node`.
The end-to-end tests through real sshd hops are in test_e2e.py.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from helpers import AGENTS, assert_clean_error, base_env, cli, config_for, dry_run_line, run_plugin, write_config

S1 = AGENTS[1]["id"]
TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-for-tests.c2lnbmF0dXJl"


# -- the plugin protocol ---------------------------------------------------


@pytest.mark.parametrize("noun", [["node"], []])
def test_info_is_one_line(home, noun):
    result = cli(noun + ["--info"], base_env(home))
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1 and "SSH" in result.stdout


def test_the_installed_console_script_is_this_version(dcos_node, home):
    """The one run of the console script here: what the DC/OS CLI runs is the package under test."""
    from dcos_node_ssh import __version__

    result = run_plugin(dcos_node, ["node", "--version"], base_env(home))
    assert result.returncode == 0
    assert result.stdout.strip() == f"dcos-node-ssh version {__version__}"


def test_config_schema_is_draft4_json_schema_of_the_node_section(home):
    result = cli(["node", "--config-schema"], base_env(home))
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"ssh_user", "ssh_proxy_ip", "ssh_options", "proxy_mode"}
    assert schema["properties"]["ssh_options"]["type"] == "array"


def test_config_schema_names_each_key_with_its_type_and_constraints(home):
    """What the DC/OS CLI 0.5 and 0.6 check `dcos config set nodes.<key>` against."""
    schema = json.loads(cli(["node", "--config-schema"], base_env(home)).stdout)
    assert schema["title"] == "dcos-node-ssh configuration (section [nodes]; [node] is read too)"
    assert schema["additionalProperties"] is False
    assert {key: {name: value for name, value in entry.items() if name != "description"}
            for key, entry in schema["properties"].items()} == {
        "ssh_user": {"type": "string", "title": "SSH user", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"},
        "ssh_proxy_ip": {"type": "string", "title": "SSH proxy host"},
        "proxy_mode": {"type": "string", "title": "Proxy mode", "enum": ["forward", "jump"]},
        "ssh_options": {"type": "array", "title": "SSH options",
                        "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*=.*$"}},
    }
    assert all(entry["description"] for entry in schema["properties"].values())


@pytest.mark.parametrize("args", [["node", "--help"], ["node", "ssh", "--help"], ["ssh", "-h"]])
def test_help_prints_the_usage(home, args):
    result = cli(args, base_env(home))
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    for flag in ("--leader", "--master", "--mesos-id", "--slave", "--private-ip", "--master-proxy",
                 "--proxy-ip", "--jump", "--user", "--option", "--proxy-option", "--config-file", "--ssh-client",
                 "--dry-run", "--check"):
        assert flag in result.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["node", "ssh"], "Say which node to reach"),
        (["node", "ssh", "--master-proxy"], "Say which node to reach"),
        (["node", "ssh", "--leader", f"--slave={S1}"], "Choose one target, not --leader and --slave"),
        (["node", "ssh", "--master", "--private-ip=10.0.0.1"], "Choose one target"),
        (["node", "ssh", "--leader", "--master-proxy", "--proxy-ip=10.0.0.1"], "Choose one proxy"),
        (["node", "ssh", "--leader", "-la", "ls"],
         "Unknown option '-la'. To pass options to a remote command, put `--`"),
        (["node", "ssh", "--leader", "--colour", "ls"], "Unknown option '--colour'"),
        (["node", "list", "--dry-run"], "does not match the usage"),
    ],
)
def test_usage_errors_say_what_is_wrong_and_print_the_usage(home, args, says):
    result = cli(args, base_env(home))
    assert_clean_error(result, says)
    assert "Usage:\n    dcos node [list] [--json | --field=<path>...] [--mesos-id=<id>]" in result.stderr


# -- what it runs (dry run, exact command lines) ----------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--master-proxy", f"--slave={S1}"], "ssh -A -t core@52.34.108.176 ssh -A -t core@10.0.1.21"),
        (["--master-proxy", f"--mesos-id={S1}"], "ssh -A -t core@52.34.108.176 ssh -A -t core@10.0.1.21"),
        (["--master-proxy", "--master"], "ssh -A -t core@52.34.108.176 ssh -A -t core@10.0.4.1"),
        (["--master-proxy", "--leader"], "ssh -A -t core@52.34.108.176 ssh -A -t core@10.0.4.1"),
        (["--leader"], "ssh -A -t core@10.0.4.1"),
        (["--private-ip=10.0.9.9"], "ssh -A -t core@10.0.9.9"),
        (["--proxy-ip=bastion.example.com", "--private-ip=10.0.9.9", "--user=centos"],
         "ssh -A -t centos@bastion.example.com ssh -A -t centos@10.0.9.9"),
        (["--master-proxy", f"--slave={S1}", "--option", "StrictHostKeyChecking=no",
          "--option=ProxyCommand=nc %h %p"],
         "ssh -A -t -o StrictHostKeyChecking=no -o 'ProxyCommand=nc %h %p' core@52.34.108.176 "
         "ssh -A -t -o StrictHostKeyChecking=no -o \"'ProxyCommand=nc %h %p'\" core@10.0.1.21"),
        # A command run without a terminal gets -T, so no pty rewrites its output.
        (["--master-proxy", f"--slave={S1}", "--", "cat", "/etc/hostname"],
         "ssh -A -T core@52.34.108.176 ssh -A -T core@10.0.1.21 \"'cat /etc/hostname'\""),
        (["--leader", "--", "echo", "$HOME;", "uname", "-a"], "ssh -A -T core@10.0.4.1 'echo $HOME; uname -a'"),
        # As with `ssh host df -h`: the first word that is not an option starts the command.
        (["--leader", "ls", "-la"], "ssh -A -T core@10.0.4.1 'ls -la'"),
        (["--master-proxy", f"--slave={S1}", "df", "-h"],
         "ssh -A -T core@52.34.108.176 ssh -A -T core@10.0.1.21 \"'df -h'\""),
        (["--leader", "--option", "Port=2222", "grep", "--help", "--user=x"],
         "ssh -A -T -o Port=2222 core@10.0.4.1 'grep --help --user=x'"),
    ],
)
def test_dry_run_prints_the_exact_command_line(home, api, args, expected):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run"] + args, base_env(home))
    assert result.returncode == 0, result.stderr
    assert dry_run_line(result) == expected


def test_proxy_options_go_to_the_first_hop_only_when_the_agent_is_forwarded(home):
    """Forward mode: --proxy-option reaches the connection to the proxy, before the options
    of every hop; the second hop, run on the proxy, gets only --option."""
    result = cli(["node", "ssh", "--dry-run", "--proxy-ip=203.0.113.5", "--private-ip=10.0.0.1",
                  "--proxy-option=Port=2222", "--option=ConnectTimeout=5"], base_env(home))
    assert dry_run_line(result) == ("ssh -A -t -o Port=2222 -o ConnectTimeout=5 core@203.0.113.5 "
                                    "ssh -A -t -o ConnectTimeout=5 core@10.0.0.1")


def test_config_file_goes_to_the_first_hop_only(home, api, tmp_path):
    config_for(home, api.url)
    ssh_config = tmp_path / "ssh config"
    ssh_config.write_text("Host *\n  ServerAliveInterval 30\n")
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", f"--slave={S1}",
                                    f"--config-file={ssh_config}"], base_env(home))
    assert dry_run_line(result) == (
        f"ssh -A -t -F '{ssh_config}' core@52.34.108.176 ssh -A -t core@10.0.1.21")


def test_the_user_a_config_file_sets_is_read_whatever_else_the_file_holds(home, tmp_path):
    """ssh -G prints the file's values as they are, bytes that are not UTF-8 included."""
    ssh_config = tmp_path / "config"
    ssh_config.write_bytes(b"Host *\n  User ops\n  SetEnv X=\xff\n")
    result = cli(["node", "ssh", "--dry-run", "--private-ip=10.0.0.1", f"--config-file={ssh_config}"],
                 base_env(home))
    assert dry_run_line(result) == f"ssh -A -t -F {ssh_config} ops@10.0.0.1"


def test_missing_ssh_config_file_is_a_usage_error(home, api):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--leader", "--config-file=/nonexistent/ssh_config"],
                        base_env(home))
    assert_clean_error(result, "/nonexistent/ssh_config")


def test_direct_mode_hints_at_master_proxy(home, api):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", f"--slave={S1}"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t core@10.0.1.21"
    hints = [line for line in result.stderr.splitlines() if "--master-proxy" in line]
    assert len(hints) == 1 and "10.0.1.21" in hints[0]
    proxied = cli(["node", "ssh", "--dry-run", "--master-proxy", f"--slave={S1}"], base_env(home))
    assert proxied.returncode == 0 and "--master-proxy" not in proxied.stderr


def test_settings_from_config_file_and_their_precedence(home, api):
    config_for(home, api.url, '\n[node]\nssh_user = "centos"\nssh_proxy_ip = "bastion.example.com"\n'
                              'ssh_options = ["ServerAliveInterval=30", "StrictHostKeyChecking=no"]\n')
    args = ["node", "ssh", "--dry-run", f"--slave={S1}"]
    from_file = cli(args, base_env(home))
    assert dry_run_line(from_file) == (
        "ssh -A -t -o ServerAliveInterval=30 -o StrictHostKeyChecking=no centos@bastion.example.com "
        "ssh -A -t -o ServerAliveInterval=30 -o StrictHostKeyChecking=no centos@10.0.1.21")
    env = base_env(home, DCOS_NODE_SSH_USER="ubuntu", DCOS_NODE_SSH_PROXY_IP="198.51.100.7")
    from_env = cli(args, env)
    assert "ubuntu@198.51.100.7" in dry_run_line(from_env)
    from_flags = cli(args + ["--user=admin", "--master-proxy",
                                               "--option=StrictHostKeyChecking=yes"], env)
    assert dry_run_line(from_flags) == (
        "ssh -A -t -o StrictHostKeyChecking=yes -o ServerAliveInterval=30 admin@52.34.108.176 "
        "ssh -A -t -o StrictHostKeyChecking=yes -o ServerAliveInterval=30 admin@10.0.1.21")


def test_core_ssh_user_and_proxy_are_used_when_node_section_is_absent(home, api):
    config_for(home, api.url, 'ssh_user = "centos"\nssh_proxy_ip = "203.0.113.5"\n')
    result = cli(["node", "ssh", "--dry-run", "--leader"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t centos@203.0.113.5 ssh -A -t centos@10.0.4.1"


def test_agent_is_found_when_the_master_ignores_slave_id(home, api):
    """Masters before Mesos 1.1 answer ?slave_id= with every agent."""
    api.write_scenario(api.default_scenario(filter_slave_id=False))
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", f"--slave={AGENTS[2]['id']}"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t core@10.0.1.22"


def test_agent_lookup_asks_for_one_agent_only(home, api):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", f"--slave={S1}"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t core@10.0.1.21"
    assert [request["path"] for request in api.requests()] == [f"/mesos/master/slaves?slave_id={S1}"]


def test_leader_falls_back_to_the_mesos_operator_api_without_the_whole_state(home, api):
    api.write_scenario(api.default_scenario(leader_dns=None))
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", "--leader"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t core@10.0.4.1"
    assert "Mesos DNS could not name the leader" in result.stderr
    paths = [request["path"] for request in api.requests()]
    assert paths == ["/mesos_dns/v1/hosts/leader.mesos", "/mesos/api/v1"]


def test_empty_public_ipv4_hops_through_the_host_of_dcos_url(home, api):
    scenario = api.default_scenario()
    scenario["metadata"]["PUBLIC_IPV4"] = ""
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", "--leader"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t core@127.0.0.1 ssh -A -t core@10.0.4.1"
    assert "no public master address" in result.stderr and "core.dcos_url" in result.stderr


def test_mesos_master_url_is_asked_directly(home, api):
    path = os.path.join(home, ".dcos", "dcos.toml")
    write_config(path, f'[core]\nmesos_master_url = "{api.url}"\n')
    result = cli(["node", "ssh", "--dry-run", f"--slave={S1}"], base_env(home))
    assert dry_run_line(result) == "ssh -A -t core@10.0.1.21"
    assert [request["path"] for request in api.requests()] == [f"/master/slaves?slave_id={S1}"]


def test_private_ip_with_proxy_ip_needs_no_configuration(home):
    result = cli(["node", "ssh", "--dry-run", "--proxy-ip=203.0.113.9",
                                    "--private-ip=10.0.7.7"], base_env(home))
    assert result.returncode == 0
    assert dry_run_line(result) == "ssh -A -t core@203.0.113.9 ssh -A -t core@10.0.7.7"


def test_token_is_sent_and_never_shown(home, api):
    api.write_scenario(api.default_scenario(token=TOKEN))
    config_for(home, api.url, f'dcos_acs_token = "{TOKEN}"\n')
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", f"--slave={S1}"],
                        base_env(home))
    assert result.returncode == 0, result.stderr
    assert {request["authorization"] for request in api.requests()} == {f"token={TOKEN}"}
    assert TOKEN not in result.stdout + result.stderr


def test_token_from_the_1x_cli_environment_alone(home, api):
    api.write_scenario(api.default_scenario(token=TOKEN))
    env = base_env(home, DCOS_URL=api.url, DCOS_ACS_TOKEN=TOKEN, DCOS_TLS_INSECURE="1")
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", "--leader"], env)
    assert dry_run_line(result) == "ssh -A -t core@52.34.108.176 ssh -A -t core@10.0.4.1"


# -- errors -----------------------------------------------------------------


def test_no_configuration_says_how_to_set_one_up(home):
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, "dcos cluster setup", "DCOS_URL")


def test_config_without_dcos_url(home):
    path = write_config(os.path.join(home, ".dcos", "dcos.toml"), '[core]\nssh_user = "core"\n')
    result = cli(["node", "ssh", f"--slave={S1}"], base_env(home))
    assert_clean_error(result, path, "no core.dcos_url", "dcos cluster setup")


def test_unreachable_cluster_names_the_url(home):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config_for(home, f"http://127.0.0.1:{port}")
    result = cli(["node", "ssh", f"--slave={S1}"], base_env(home))
    assert_clean_error(result, f"http://127.0.0.1:{port}/mesos/master/slaves", "core.dcos_url")


def test_silent_cluster_is_bounded_by_core_timeout(home, api):
    scenario = api.default_scenario()
    scenario["overrides"]["/mesos/master/slaves"] = {"hang": 20}
    api.write_scenario(scenario)
    config_for(home, api.url, "timeout = 0.2\n")
    started = time.monotonic()
    result = cli(["node", "ssh", f"--slave={S1}"], base_env(home))
    assert time.monotonic() - started < 5  # not the 20 s the cluster keeps silent
    assert_clean_error(result, "did not answer within 0.2 seconds", api.url + "/mesos/master/slaves",
                       "core.timeout")


def test_unauthenticated_cluster_says_dcos_auth_login(home, api):
    api.write_scenario(api.default_scenario(token=TOKEN))
    config_for(home, api.url, 'dcos_acs_token = "expired-token-value"\n')
    result = cli(["node", "ssh", "--master-proxy", "--leader"], base_env(home))
    assert_clean_error(result, "HTTP 401", "dcos auth login")
    assert "expired-token-value" not in result.stderr


def test_answer_that_is_not_json(home, api):
    scenario = api.default_scenario()
    scenario["overrides"]["/mesos/master/slaves"] = {
        "status": 200, "content_type": "text/html", "body": "<html><body>Welcome</body></html>"}
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = cli(["node", "ssh", f"--slave={S1}"], base_env(home))
    assert_clean_error(result, "not the JSON expected", "text/html")


def test_unknown_agent_says_how_to_list_agents(home, api):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--slave=no-such-agent"], base_env(home))
    assert_clean_error(result, "No agent matches 'no-such-agent'", "among the 3 agents", "`dcos node`")


def test_no_ssh_on_path(home, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = base_env(home, PATH=str(empty))
    result = cli(["node", "ssh", "--private-ip=10.0.0.1"], env)
    assert_clean_error(result, "No `ssh` program was found on PATH")
    assert "Running" not in result.stderr


def test_proxy_mode_without_an_agent(home):
    result = cli(["node", "ssh", "--proxy-ip=203.0.113.9", "--private-ip=10.0.0.1"],
                        base_env(home))
    assert result.returncode == 125
    assert "SSH_AUTH_SOCK is not set" in result.stderr and "ssh-add ~/.ssh/<key>.pem" in result.stderr


def test_proxy_mode_with_an_agent_that_holds_no_key(home, tmp_path):
    socket_path = str(tmp_path / "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", socket_path], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(socket_path):
                break
            time.sleep(0.02)
        result = cli(["node", "ssh", "--proxy-ip=203.0.113.9", "--private-ip=10.0.0.1"],
                            base_env(home, SSH_AUTH_SOCK=socket_path))
    finally:
        agent.terminate()
        agent.wait()
    assert result.returncode == 125
    assert "holds no keys" in result.stderr and "ssh-add ~/.ssh/<key>.pem" in result.stderr


def test_proxy_mode_with_a_dead_agent(home, tmp_path):
    result = cli(["node", "ssh", "--proxy-ip=203.0.113.9", "--private-ip=10.0.0.1"],
                        base_env(home, SSH_AUTH_SOCK=str(tmp_path / "gone.sock")))
    assert result.returncode == 125
    assert "Cannot talk to the ssh-agent" in result.stderr


def test_malformed_config_file_names_file_and_line(home):
    path = write_config(os.path.join(home, ".dcos", "dcos.toml"), '[core]\ndcos_url = "http://x\n')
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, path, "line 2")


# -- TLS ----------------------------------------------------------------------


def test_tls_with_an_unknown_ca_names_core_ssl_verify(home, tls_api):
    config_for(home, tls_api.url)
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, "could not be verified", "core.ssl_verify")


@pytest.mark.parametrize("setting", ["ssl_verify = \"{cert}\"", "ssl_verify = \"false\"", "ssl_verify = false"])
def test_tls_with_the_ca_given_or_verification_off(home, tls_api, setting):
    config_for(home, tls_api.url, setting.format(cert=tls_api.cert) + "\n")
    result = cli(["node", "ssh", "--dry-run", "--leader"], base_env(home))
    assert result.returncode == 0, result.stderr
    assert dry_run_line(result) == "ssh -A -t core@10.0.4.1"


def test_tls_ca_from_the_1x_cli_environment(home, tls_api):
    env = base_env(home, DCOS_URL=tls_api.url, DCOS_TLS_CA_PATH=tls_api.cert)
    result = cli(["node", "ssh", "--dry-run", "--leader"], env)
    assert result.returncode == 0, result.stderr


def test_unusable_ca_bundle_path(home, tls_api, tmp_path):
    config_for(home, tls_api.url, f'ssl_verify = "{tmp_path}/missing-ca.pem"\n')
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, "missing-ca.pem", "core.ssl_verify")


# -- broken local state ---------------------------------------------------------


def test_unreadable_config_file_is_named(dcos_node, tmp_path):
    """As an unprivileged user (root reads any file, so as root the test drops to nobody)."""
    import tempfile

    home = tempfile.mkdtemp(prefix="dcos-node-ssh-unreadable-")
    try:
        os.chmod(home, 0o755)
        path = write_config(os.path.join(home, ".dcos", "dcos.toml"), '[core]\ndcos_url = "http://x"\n', mode=0o000)
        os.chmod(os.path.dirname(path), 0o755)
        argv = [dcos_node, "node", "ssh", "--leader"]
        reason = "Permission denied"
        if os.geteuid() == 0:
            drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            if subprocess.run(drop + [sys.executable, "-c", "pass"], capture_output=True).returncode == 0:
                argv = drop + argv
            else:
                # This interpreter lives where nobody may read it (a pyenv under /root):
                # make the path unreadable for root too, as a folder.
                os.remove(path)
                os.mkdir(path)
                reason = "Is a directory"
        env = base_env(home)
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert_clean_error(result, "Cannot read the DC/OS config file", path, reason)
    finally:
        subprocess.run(["rm", "-rf", home])


def test_two_attached_clusters_are_named(home):
    for cluster in ("aaaa-1111", "bbbb-2222"):
        write_config(os.path.join(home, ".dcos", "clusters", cluster, "dcos.toml"), '[core]\ndcos_url = "http://x"\n')
        write_config(os.path.join(home, ".dcos", "clusters", cluster, "attached"), "")
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, "More than one cluster is marked as attached", "aaaa-1111", "bbbb-2222",
                       "dcos cluster attach")


@pytest.mark.parametrize("url", ["ftp://203.0.113.5", "not a url", "http://", "https://[::1", "203.0.113.5"])
def test_dcos_url_that_is_not_a_url(home, url):
    config_for(home, url)
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, "core.dcos_url", "not an http:// or https:// URL")


def test_token_file_readable_by_others_is_warned_about(home, api):
    path = config_for(home, api.url, f'dcos_acs_token = "{TOKEN}"\n')
    os.chmod(path, 0o644)
    result = cli(["node", "ssh", "--dry-run", "--leader"], base_env(home))
    assert result.returncode == 0
    assert f"Warning: the DC/OS config file {path} holds an access token" in result.stderr
    assert f"chmod 600 {path}" in result.stderr
    assert TOKEN not in result.stderr
    os.chmod(path, 0o600)
    quiet = cli(["node", "ssh", "--dry-run", "--leader"], base_env(home))
    assert "Warning" not in quiet.stderr


def test_debug_output_never_shows_the_token(home, api):
    api.write_scenario(api.default_scenario(token=TOKEN))
    config_for(home, api.url, f'dcos_acs_token = "{TOKEN}"\n')
    result = cli(["node", "ssh", "--dry-run", "--master-proxy", f"--slave={S1}"],
                        base_env(home, DCOS_DEBUG="1"))
    assert result.returncode == 0
    assert f"debug: GET {api.url}/metadata -> HTTP 200" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


# -- HTTP framing ------------------------------------------------------------------


def _agents_body():
    return json.dumps({"slaves": [AGENTS[1]], "recovered_slaves": []})


@pytest.mark.parametrize("raw", [
    # chunked, with a chunk extension and a trailer, as a proxy in front of Mesos may send
    lambda body: ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + "".join(f"{len(part):x};ext=1\r\n{part}\r\n" for part in (body[:17], body[17:]))
                  + "0\r\nX-Trailer: yes\r\n\r\n"),
    # no length: the body ends with the connection
    lambda body: "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body,
    # an informational answer first
    lambda body: (f"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                  + body),
])
def test_answers_in_every_http_framing(home, api, raw):
    scenario = api.default_scenario()
    scenario["overrides"]["/mesos/master/slaves"] = {"raw": raw(_agents_body())}
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", f"--slave={S1}"], base_env(home))
    assert result.returncode == 0, result.stderr
    assert dry_run_line(result) == "ssh -A -t core@10.0.1.21"


def test_chunked_answer_cut_off(home, api):
    scenario = api.default_scenario()
    scenario["overrides"]["/mesos/master/slaves"] = {
        "raw": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + _agents_body()[:40]}
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = cli(["node", "ssh", f"--slave={S1}"], base_env(home))
    assert_clean_error(result, "was cut off after 40 bytes")


def test_endless_header_is_not_read_without_end(home, api):
    scenario = api.default_scenario()
    scenario["overrides"]["/mesos/master/slaves"] = {"raw": "HTTP/1.1 200 OK\r\nX-Junk: " + "a" * 200000}
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = cli(["node", "ssh", f"--slave={S1}"], base_env(home))
    assert_clean_error(result, "without a valid HTTP answer")


# -- dcos node: the listing, and agents named forgivingly ------------------------------

LISTING = [
    {"id": "3f4a1c9e-7b2d-4e8a-9c51-0d6e2b7a8f10", "hostname": "master", "address": "10.0.4.1",
     "type": "master (leader)", "state": "leader"},
    {"id": AGENTS[0]["id"], "hostname": "dcos-01", "address": "10.0.1.20", "type": "agent", "state": "active"},
    {"id": AGENTS[1]["id"], "hostname": "10.0.1.21", "address": "10.0.1.21", "type": "agent", "state": "active"},
    {"id": AGENTS[2]["id"], "hostname": "10.0.1.22", "address": "10.0.1.22", "type": "agent (public)",
     "state": "active"},
]


def summary(node):
    """The keys of a listed node that the table shows too (TYPE as the table shows it)."""
    shown = {key: node[key] for key in ("id", "hostname", "address", "type", "state")}
    if node["kind"] == "public agent":
        shown["type"] = "agent (public)"
    return shown


@pytest.mark.parametrize("args", [["node"], ["node", "list"], ["node", "--json"], ["node", "list", "--json"]])
def test_listing(home, api, args):
    config_for(home, api.url)
    result = cli(args, base_env(home))
    assert result.returncode == 0, result.stderr
    if "--json" in args:
        assert [summary(node) for node in json.loads(result.stdout)] == LISTING
        return
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["HOSTNAME", "IP", "PUBLIC", "IP(S)", "ID", "TYPE", "STATUS", "REGION", "ZONE"]
    assert [line.split()[:3] for line in lines[1:5]] == [[row["hostname"], row["address"], row["id"]]
                                                         for row in LISTING]
    assert AGENTS[0]["id"] in result.stdout and "\x1b" not in result.stdout  # piped: whole IDs, no colour
    paths = sorted(entry["path"] for entry in api.requests())
    # the leader, the masters, the leader's master_info, the public addresses, the agents: all at once
    assert paths == ["/mesos/api/v1", "/mesos/master/state-summary", "/mesos_dns/v1/hosts/leader.mesos",
                     "/mesos_dns/v1/hosts/master.mesos", "/net/v1/nodes"]


def test_listing_uses_the_width_it_is_given(home, api):
    """On a terminal of 60 columns the IDs are shortened, unless COLUMNS gives more room."""
    config_for(home, api.url)
    wide = cli(["node"], base_env(home, COLUMNS="160", NO_COLOR="1"), terminal=60)
    assert wide.returncode == 0, wide.stderr
    assert AGENTS[0]["id"] in wide.stdout and "unique ending" not in wide.stdout
    narrow = cli(["node"], base_env(home, NO_COLOR="1"), terminal=60)
    assert AGENTS[0]["id"] not in narrow.stdout and "unique ending" in narrow.stdout


def test_listing_in_a_terminal_has_colour_unless_no_color(dcos_node, home, api):
    import pty

    config_for(home, api.url)
    for extra, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        controller, terminal = pty.openpty()
        try:
            result = subprocess.run([dcos_node, "node"], env=base_env(home, **extra), stdout=terminal,
                                    stderr=subprocess.PIPE, timeout=30)
            output = os.read(controller, 65536).decode()
        finally:
            os.close(terminal)
            os.close(controller)
        assert result.returncode == 0
        assert ("\x1b[32mACTIVE" in output) is coloured and "HOSTNAME" in output


def test_listing_without_a_leader_lists_the_agents(home, api):
    api.write_scenario(api.default_scenario(leader_dns=None, master_info=None))
    config_for(home, api.url)
    result = cli(["node", "--json"], base_env(home))
    assert result.returncode == 0
    assert [summary(node) for node in json.loads(result.stdout)] == LISTING[1:]
    assert "listing the agents only" in result.stderr


def test_listing_errors_are_clean(home, api):
    api.write_scenario(api.default_scenario(token=TOKEN))
    config_for(home, api.url)
    result = cli(["node"], base_env(home))
    assert_clean_error(result, "dcos auth login")


@pytest.mark.parametrize("value, address", [
    ("S1", "10.0.1.21"), ("-S2", "10.0.1.22"), ("dcos-01", "10.0.1.20"), ("10.0.1.22", "10.0.1.22"),
    (AGENTS[0]["id"][:20], None),  # a prefix of every ID: ambiguous
])
def test_ssh_to_an_agent_named_forgivingly(home, api, value, address):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--dry-run", f"--slave={value}"], base_env(home))
    if address is None:
        assert_clean_error(result, "matches 3 agents", AGENTS[2]["id"], "Give more of the ID")
    else:
        assert result.returncode == 0, result.stderr
        assert dry_run_line(result) == f"ssh -A -t core@{address}"


def test_ssh_without_a_target_lists_a_few_agents(home, api):
    config_for(home, api.url)
    result = cli(["node", "ssh", "--master-proxy"], base_env(home))
    assert result.returncode == 125
    assert "dcos node ssh --master-proxy --leader" in result.stderr
    assert "dcos node ssh --master-proxy --mesos-id=S1" in result.stderr and "10.0.1.21" in result.stderr
    assert "Usage:" in result.stderr
