"""What a hostile cluster, a careless network and a broken terminal do to the command.

Each test here reproduces a defect found by trying the plugin from outside (each
failed before its fix), against the loopback stand-in of the cluster API: in-process
(helpers.cli) where the command stops before ssh runs; the installed `dcos-node` where
the point is a real process (closed or broken streams, signals, an exec'd ssh).
"""

import json
import os
import signal
import subprocess
import time

import pytest

from helpers import AGENTS, assert_clean_error, base_env, cli, config_for, dry_run_line, run_plugin, write_config

S1 = AGENTS[1]["id"]
HOSTILE_ID = "20151002-000353-1695027628-5050-1177-S9\x1b]0;owned\x07\x1b[2J"
HOSTILE_ID_SHOWN = "20151002-000353-1695027628-5050-1177-S9\\x1b]0;owned\\x07\\x1b[2J"  # each control escaped


def fake_ssh(tmp_path, status=0):
    """An `ssh` first on PATH that records its arguments and exits with `status`."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    record = tmp_path / "ssh-ran"
    script = folder / "ssh"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{record}'\nexit {status}\n")
    script.chmod(0o755)
    return f"{folder}:{os.environ['PATH']}", record


def scenario_with(api, **changes):
    scenario = api.default_scenario()
    scenario.update(changes)
    api.write_scenario(scenario)
    return scenario


def override(api, path, **answer):
    scenario = api.default_scenario()
    scenario["overrides"][path] = answer
    api.write_scenario(scenario)


# -- answers that used to be internal errors ------------------------------------------


@pytest.mark.parametrize("path", ["/metadata", "/mesos/master/slaves"])
def test_json_nested_200000_deep_is_a_clear_error(home, api, path):
    override(api, path, status=200, body="[" * 200000 + "]" * 200000)
    config_for(home, api.url)
    result = cli(["node", "ssh", "--master-proxy", "--slave=S1"], base_env(home))
    assert_clean_error(result, "not the JSON expected")


@pytest.mark.parametrize("raw", [
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \u00b2\r\n\r\n{}",
    "HTTP/1.1 2\u00b20 OK\r\nContent-Length: 2\r\n\r\n{}",
])
def test_lengths_and_statuses_in_other_digits_are_a_clear_error(home, api, raw):
    """`²` is one byte in Latin-1, the encoding of HTTP headers, and str.isdigit accepts it."""
    override(api, "/mesos/master/slaves", raw_latin1=raw)
    config_for(home, api.url)
    result = cli(["node", "ssh", "--slave=S1"], base_env(home))
    assert_clean_error(result, "http://127.0.0.1")


def test_non_ascii_agent_ids_list_on_an_ascii_terminal(dcos_node, home, api):
    agents = [dict(AGENTS[0], id=AGENTS[0]["id"] + "-\u00e9t\u00e9")] + AGENTS[1:]
    scenario_with(api, slaves=agents)
    config_for(home, api.url)
    result = subprocess.run([dcos_node, "node", "--json"], env=base_env(home, LANG="C", PYTHONIOENCODING="ascii"),
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[1]["id"].endswith("-\u00e9t\u00e9")
    table = subprocess.run([dcos_node, "node"], env=base_env(home, LANG="C", PYTHONIOENCODING="ascii",
                                                             COLUMNS="200"), capture_output=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert b"-\\xe9t\\xe9" in table.stdout and b"Traceback" not in table.stderr


def test_a_closed_stdout_is_a_clear_error(dcos_node, home, api):
    config_for(home, api.url)
    result = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", dcos_node, "node"], env=base_env(home),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 125
    assert result.stderr.startswith("dcos node: cannot write to standard output") and "internal" not in result.stderr


def test_a_reader_that_goes_away_ends_the_listing_quietly(dcos_node, home, api):
    agents = [dict(AGENTS[0], id=f"{AGENTS[0]['id']}{index}") for index in range(3000)]
    scenario_with(api, slaves=agents)
    config_for(home, api.url)
    result = subprocess.run(["bash", "-c", '"$1" node | head -n 0; echo "${PIPESTATUS[0]}"', "bash", dcos_node],
                            env=base_env(home), capture_output=True, text=True, timeout=60)
    assert result.stderr == ""
    assert result.stdout.strip() == "141"  # as a program ended by SIGPIPE reports it


@pytest.mark.parametrize("variable, value", [
    ("DCOS_URL", "http://cl\u00fcster.example.com"),
    ("DCOS_URL", "http://\u65e5\u672c.example.com"),
    ("DCOS_ACS_TOKEN", "t\u00f6ken"),
    ("DCOS_ACS_TOKEN", "token\r\nX-Injected: 1"),
])
def test_urls_and_tokens_that_cannot_be_sent_are_refused_before_sending(home, api, variable, value):
    env = base_env(home, DCOS_URL=api.url)
    env[variable] = value
    result = cli(["node", "ssh", "--leader"], env)
    assert_clean_error(result, variable)
    if variable == "DCOS_ACS_TOKEN":  # a credential: never shown, even when refused
        assert value not in result.stderr and "X-Injected" not in result.stderr
    assert api.requests() == []


# -- cluster strings on the terminal --------------------------------------------------


def hostile_agents():
    return AGENTS + [dict(AGENTS[2], id=HOSTILE_ID, hostname="evil")]


def test_hostile_ids_are_escaped_in_the_table(home, api):
    scenario_with(api, slaves=hostile_agents())
    config_for(home, api.url)
    # on a terminal: the shortened ID and the whole one; piped: whole
    for terminal, shown in ((60, " S9\\x1b]0;owned\\x07\\x1b[2J "), (300, HOSTILE_ID_SHOWN), (None, HOSTILE_ID_SHOWN)):
        result = cli(["node"], base_env(home, NO_COLOR="1"), terminal=terminal)
        assert result.returncode == 0 and "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert shown in result.stdout


def test_hostile_ids_are_escaped_in_the_ambiguity_error(home, api):
    scenario_with(api, slaves=hostile_agents())
    config_for(home, api.url)
    result = cli(["node", "ssh", "--slave=20151002"], base_env(home))
    assert_clean_error(result, "matches 4 agents")
    assert "\x1b" not in result.stderr and "\\x1b[2J" in result.stderr


def test_hostile_ids_are_escaped_in_the_usage_examples(home, api):
    scenario_with(api, slaves=hostile_agents())
    config_for(home, api.url)
    result = cli(["node", "ssh"], base_env(home))
    assert result.returncode == 125 and "Say which node to reach" in result.stderr and "For example" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr and "\\x1b]0;owned" in result.stderr


# -- streams, signals, usage -----------------------------------------------------------


def test_with_stderr_closed_ssh_still_runs(dcos_node, home, tmp_path):
    path, record = fake_ssh(tmp_path, status=7)
    result = subprocess.run(["sh", "-c", 'exec "$@" 2>&-', "sh", dcos_node, "node", "ssh", "--private-ip=10.0.0.1",
                             "--", "uptime"], env=base_env(home, PATH=path), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 7
    assert record.read_text().split("\n")[-2:] == ["uptime", ""]


def test_ctrl_c_while_both_lookups_wait_stops_at_once(dcos_node, home, api):
    scenario = api.default_scenario()
    scenario["overrides"]["/metadata"] = {"hang": 20}
    scenario["overrides"]["/mesos/master/slaves"] = {"hang": 20}
    api.write_scenario(scenario)
    config_for(home, api.url, "timeout = 15\n")
    process = subprocess.Popen([dcos_node, "node", "ssh", "--master-proxy", "--slave=S1"], env=base_env(home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while len(api.requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 5  # not the 15 s the other lookup would take
    assert "did not answer" not in stderr and "Traceback" not in stderr


def test_a_bare_ssh_with_a_silent_cluster_says_what_to_do_at_once(home, api, monkeypatch):
    from dcos_node_ssh.commands import ssh as ssh_command

    monkeypatch.setattr(ssh_command, "EXAMPLES_SECONDS", 0.2)  # a second in use; 0.2 s proves the same
    override(api, "/mesos/master/state-summary", hang=30)
    config_for(home, api.url, "timeout = 20\n")
    started = time.monotonic()
    result = cli(["node", "ssh"], base_env(home))
    assert time.monotonic() - started < 5  # the examples get their own short time, not core.timeout
    assert_clean_error(result, "Say which node to reach")
    assert "For example" not in result.stderr


# -- configuration ---------------------------------------------------------------------


def test_an_unreadable_clusters_folder_is_an_error_not_the_legacy_file(home, api):
    config_for(home, api.url, 'dcos_acs_token = "legacy"\n')
    with open(os.path.join(home, ".dcos", "clusters"), "w") as stream:  # not a folder: cannot be listed
        stream.write("")
    result = cli(["node", "ssh", "--leader"], base_env(home))
    assert_clean_error(result, "Cannot read the DC/OS clusters folder")
    assert api.requests() == []


def test_a_config_file_with_a_byte_order_mark_is_read(home, api):
    path = os.path.join(home, ".dcos", "dcos.toml")
    write_config(path, f'\ufeff[core]\ndcos_url = "{api.url}"\n')
    result = cli(["node", "ssh", "--dry-run", "--leader"], base_env(home))
    assert result.returncode == 0, result.stderr
    assert dry_run_line(result) == "ssh -A -t core@10.0.4.1"


@pytest.mark.parametrize("file_text, configured, user", [
    ("Host *\n  User centos\n", "", "centos"),
    ("Host 10.0.4.*\n  User centos\nHost *\n  User other\n", "", "centos"),
    ("Host *\n  ServerAliveInterval 30\n", "", "core"),
    ("Host *\n  User centos\n", '[node]\nssh_user = "admin"\n', "admin"),
])
def test_the_user_of_a_config_file_applies_when_none_is_configured(home, api, tmp_path, file_text,
                                                                  configured, user):
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(file_text)
    config_for(home, api.url, configured)
    result = cli(["node", "ssh", "--dry-run", "--leader", f"--config-file={ssh_config}"], base_env(home))
    assert result.returncode == 0, result.stderr
    assert dry_run_line(result).endswith(f" {user}@10.0.4.1")


def test_credentials_in_the_url_are_never_printed(home, api):
    url = api.url.replace("http://", "http://operator:s3cret-pass@")
    scenario = api.default_scenario()
    scenario["overrides"] = {"/mesos/api/v1": {"status": 503, "body": "down"},
                             "/mesos_dns/v1/hosts/leader.mesos": {"status": 503, "body": "down"}}
    api.write_scenario(scenario)
    env = base_env(home, DCOS_URL=url, DCOS_DEBUG="1")
    for args in (["node", "ssh", "--leader"], ["node", "ssh", "--leader", "--check"]):
        result = cli(args, env)
        assert result.returncode == (1 if "--check" in args else 125)  # a check that fails, or the plugin
        assert "s3cret" not in result.stdout + result.stderr and "operator" not in result.stdout + result.stderr


# -- a Running line means that ssh runs ---------------------------------------------------


def test_refusals_come_before_any_running_line(home, tmp_path):
    refused = [
        cli(["node", "ssh", "--proxy-ip=203.0.113.9", "--private-ip=10.0.0.1"], base_env(home)),
        cli(["node", "ssh", "--proxy-ip=203.0.113.9", "--private-ip=10.0.0.1"],
            base_env(home, SSH_AUTH_SOCK=str(tmp_path / "gone.sock"))),
        cli(["node", "ssh", "--private-ip=10.0.0.1"], base_env(home, PATH=str(tmp_path))),
    ]
    for result in refused:
        assert_clean_error(result)
        assert "Running" not in result.stderr


def test_a_running_line_is_followed_by_ssh(dcos_node, home, tmp_path):
    path, record = fake_ssh(tmp_path)
    result = run_plugin(dcos_node, ["node", "ssh", "--private-ip=10.0.0.1", "--", "true"], base_env(home, PATH=path))
    assert result.returncode == 0 and "Running `ssh -A -T core@10.0.0.1 true`" in result.stderr
    assert record.exists()
