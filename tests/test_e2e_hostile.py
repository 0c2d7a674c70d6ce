"""Hostile input and hard cases, end to end on the simulated cluster.

Any remote command and any bytes cross both hops unchanged; exit statuses come
back; hostile cluster data and hostile flags are refused before anything runs. The
refusals run in-process (helpers.cli: an exec of ssh would stop the test), against
the simulated cluster's API, with its sshd's connection count as the witness.
"""

import hashlib
import os
import pty
import subprocess
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcluster
from dcos_node_ssh.errors import shown
from helpers import TRICKY_COMMANDS, assert_clean_error, cli, config_for, sim_ssh

PUBLIC = simcluster.MASTER_PUBLIC
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS
EXAMPLES = int(os.environ.get("DCOS_NODE_SSH_EXAMPLES", "100"))
# The guarantees hold whichever way the proxy is crossed.
MODES = [pytest.param([], id="forward"), pytest.param(["--jump"], id="jump")]


def quoted_for_target(text):
    """S quoted for a POSIX shell, without relying on the code under test."""
    return "'" + text.replace("'", "'\\''") + "'"


# -- 1. any remote command survives both hops ----------------------------------

PIECES = ["'", '"', "\\", "\\\\", "$(", ")", "$(id)", "`", "`id`", ";", "&&", "||", "|", "*", "?", "[a]",
          "~", "~root", "!", "!!", "#", "\n", "\t", " ", "  ", "-", "--", "-e", "{a,b}", "$HOME", "${x}", "$",
          "<", ">", "&", "%s", "%", "é", "日本語", "🙂", "\r", "\\n", "'\"'", "=", "^"]
COMMAND_TEXT = st.lists(
    st.one_of(st.sampled_from(PIECES),
              st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=4)),
    max_size=14,
).map("".join)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=COMMAND_TEXT)
def test_any_command_survives_both_hops(sim, dcos_node, tmp_path_factory, mode, text):
    home = str(tmp_path_factory.mktemp("home"))
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home,
                    ["--master-proxy", f"--slave={AGENT1_ID}"] + mode + ["--", "printf %s " + quoted_for_target(text)],
                    text=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == text.encode("utf-8")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("words", TRICKY_COMMANDS)
def test_command_behaves_as_with_plain_ssh(sim, dcos_node, home, words, mode):
    """The same words, given to plain `ssh master <words>` and through both hops, do the same."""
    config_for(home, sim.dcos_url)
    env = sim.client_env(home)
    plain = sim.run(["ssh", "-T", f"core@{PUBLIC}"] + words, env, text=True)
    ours = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}"] + mode + ["--"] + words)
    assert (ours.returncode, ours.stdout) == (plain.returncode, plain.stdout), ours.stderr


@pytest.mark.parametrize("mode", MODES)
def test_command_starting_with_a_dash_is_a_command(sim, dcos_node, home, mode):
    """`ssh host -V` would print ssh's version; the plugin sends -V to the target's shell,
    as plain `ssh -- host -V` does (bash then refuses it as an option of its own)."""
    config_for(home, sim.dcos_url)
    plain = sim.run(["ssh", "-T", "--", f"core@{PUBLIC}", "-V"], sim.client_env(home), text=True)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}"] + mode + ["--", "-V"])
    assert "OpenSSH" not in result.stderr
    assert result.returncode == plain.returncode == 2
    assert "-V: invalid option" in result.stderr


# -- 2. data crosses both hops unchanged ---------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_binary_output_is_byte_exact(sim, dcos_node, home, blob, mode):
    path, digest = blob
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}"] + mode + ["--", "cat", path],
                    text=False)
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(result.stdout).hexdigest() == digest


@pytest.mark.parametrize("mode", MODES)
def test_binary_input_is_byte_exact(sim, dcos_node, home, blob, mode):
    path, digest = blob
    with open(path, "rb") as stream:
        data = stream.read()
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}"] + mode + ["--", "sha256sum"],
                    input=data, text=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0].decode() == digest


@pytest.mark.parametrize("mode", MODES)
def test_output_redirected_from_a_terminal_is_byte_exact(sim, dcos_node, home, blob, tmp_path, mode):
    """From an interactive terminal with stdout to a file: no pty, so no \\n -> \\r\\n."""
    path, digest = blob
    config_for(home, sim.dcos_url)
    controller, terminal = pty.openpty()
    output = tmp_path / "out.bin"
    try:
        with open(output, "wb") as stdout:
            result = subprocess.run(
                sim.client_argv([dcos_node, "node", "ssh", "--master-proxy", f"--slave={AGENT2_ID}"] + mode
                                + ["--", "cat", path]),
                env=sim.client_env(home), stdin=terminal, stdout=stdout, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 0, result.stderr
    running = b"Running `ssh -T -o \"ProxyCommand=" if mode else b"Running `ssh -A -T "  # -T: no pty
    assert running in result.stderr
    assert hashlib.sha256(output.read_bytes()).hexdigest() == digest


# -- 3. exit statuses ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [0, 1, 42])
def test_remote_exit_status_in_each_mode(sim, dcos_node, home, status, mode):
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}"] + mode + ["--", f"exit {status}"])
    assert result.returncode == status, result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_ssh_failure_to_reach_the_target_is_255(sim, dcos_node, home, mode):
    result = sim_ssh(sim, dcos_node, home, [f"--proxy-ip={PUBLIC}", "--private-ip=198.18.0.99",
                                           "--option=ConnectTimeout=2"] + mode + ["--", "true"])
    assert result.returncode == 255


def test_ssh_failure_on_the_first_hop_is_255(sim, dcos_node, home):
    result = sim_ssh(sim, dcos_node, home, ["--proxy-ip=198.51.100.99", f"--private-ip={AGENT1_IP}",
                                           "--option=ConnectTimeout=2", "--", "true"])
    assert result.returncode == 255


# -- 4. hostile cluster data ---------------------------------------------------


@pytest.fixture
def marker():
    """A file that a hostile value would create if any shell ran it, here or on the master."""
    path = f"/tmp/dcos-node-ssh-marker-{uuid.uuid4().hex}"
    yield path
    assert not os.path.exists(path), "a hostile value was run by a shell"


def hostile_values(marker):
    return [
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"10.0.0.1;touch {marker}",
        f"-oProxyCommand=touch {marker}",
        f"10.0.0.1 && touch {marker}",
        f"10.0.0.1\ntouch {marker}",
        "10.0.0.1|x",
        "fe80::1%$(id)",
    ]


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("field", ["pid", "hostname"])
def test_hostile_agent_registration_is_refused(sim, home, marker, field, index):
    value = hostile_values(marker)[index]
    scenario = sim.default_scenario()
    agent = scenario["slaves"][0]
    agent[field] = f"slave(1)@{value}:5051" if field == "pid" else value
    sim.write_scenario(scenario)
    config_for(home, sim.dcos_url)
    before = sim.connections()
    result = cli(["node", "ssh", "--master-proxy", f"--slave={AGENT1_ID}", "--", "true"], sim.client_env(home))
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert AGENT1_ID in result.stderr and shown(agent[field]) in result.stderr
    assert "Running" not in result.stderr
    assert sim.connections() == before


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("endpoint", ["/metadata", "/mesos_dns/v1/hosts/leader.mesos"])
def test_hostile_master_addresses_are_refused(sim, home, marker, endpoint, index):
    value = hostile_values(marker)[index]
    scenario = sim.default_scenario()
    if endpoint == "/metadata":
        scenario["metadata"]["PUBLIC_IPV4"] = value
    else:
        scenario["leader_dns"][0]["ip"] = value
    sim.write_scenario(scenario)
    config_for(home, sim.dcos_url)
    before = sim.connections()
    result = cli(["node", "ssh", "--master-proxy", "--leader", "--", "true"], sim.client_env(home))
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert endpoint in result.stderr and shown(value) in result.stderr
    assert sim.connections() == before


# -- 5. hostile flags -------------------------------------------------------------


@pytest.mark.parametrize("flag, says", [
    ("--user=-oProxyCommand=touch {marker}", "SSH user"),
    ("--user=core;touch {marker}", "SSH user"),
    ("--user=$(touch {marker})", "SSH user"),
    ("--user=core\n", "SSH user"),
    ("--proxy-ip=-oProxyCommand=touch {marker}", "--proxy-ip"),
    ("--proxy-ip=a b", "--proxy-ip"),
    ("--private-ip=`touch {marker}`", "--private-ip"),
    ("--private-ip=10.0.0.1;touch {marker}", "--private-ip"),
    ("--option=-oProxyCommand=touch {marker}", "Key=Value"),
    ("--option=NoValueHere", "Key=Value"),
    ("--option=Bad Key=value", "Key=Value"),
])
def test_hostile_flags_are_refused(sim, home, marker, flag, says):
    config_for(home, sim.dcos_url)
    args = [flag.format(marker=marker)]
    if not args[0].startswith("--private-ip"):
        args.append(f"--private-ip={AGENT1_IP}")
    if not args[0].startswith("--proxy-ip"):
        args.append(f"--proxy-ip={PUBLIC}")
    before = sim.connections()
    result = cli(["node", "ssh"] + args + ["--", "true"], sim.client_env(home))
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert says in result.stderr.split("\n")[0]
    assert sim.connections() == before


def test_proxycommand_option_with_spaces_reaches_the_second_hop(sim, dcos_node, home):
    """A user's own ProxyCommand: the second hop (run on the master) connects through it."""
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, [
        "--master-proxy", f"--slave={AGENT2_ID}",
        "--option", "ProxyCommand=bash -c 'exec 3<>/dev/tcp/%h/%p; cat <&3 & cat >&3'",
        "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT2 + "\n"), result.stderr


# -- 6. IPv6 ------------------------------------------------------------------------


def test_ipv6_private_ip_through_a_proxy(sim, dcos_node, home):
    result = sim_ssh(sim, dcos_node, home, [f"--proxy-ip={PUBLIC}",
                                           f"--private-ip={simcluster.AGENT_ADDRESSES6[0]}", "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr


def test_ipv6_agent_pid(sim, dcos_node, home):
    scenario = sim.default_scenario()
    scenario["slaves"][1]["pid"] = f"slave(1)@[{simcluster.AGENT_ADDRESSES6[1]}]:5051"
    sim.write_scenario(scenario)
    config_for(home, sim.dcos_url)
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT2_ID}", "--",
                                           "hostname; echo $SSH_CONNECTION"])
    assert result.returncode == 0, result.stderr
    name, connection = result.stdout.splitlines()
    assert name == AGENT2 and connection.split()[2] == simcluster.AGENT_ADDRESSES6[1]


# -- 7. broken answers from the cluster --------------------------------------------

SLAVES = "/mesos/master/slaves"


@pytest.mark.parametrize("override, says", [
    ({"status": 200, "content_type": "text/html", "body": "<html><body>Sign in</body></html>"},
     "not the JSON expected"),
    ({"status": 200, "body": '{"slaves": [{"id": "x", "pid": "sla'}, "not the JSON expected"),
    ({"status": 200, "body": '{"agents": []}'}, 'no "slaves" array'),
    ({"status": 200, "body": '{"slaves": [{"id": "%s", "hostname": "dcos-agent-1"}]}' % AGENT1_ID},
     "without a usable pid"),
    ({"status": 200, "body": '[1, 2, 3]'}, 'no "slaves" array'),
    ({"status": 403, "body": "Forbidden"}, "HTTP 403"),
    ({"status": 404, "body": "Not Found"}, "HTTP 404"),
    ({"status": 500, "body": "Internal Server Error"}, "HTTP 500"),
    ({"status": 503, "body": "Service Unavailable"}, "HTTP 503"),
    ({"status": 302, "headers": {"Location": "https://login.example.com/login?next=/mesos"}},
     "redirected"),
    ({"raw": "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"slaves\": ["}, "cut off"),
    ({"raw": "garbage\r\n\r\n"}, "without a valid HTTP answer"),
    ({"hang": 30}, "did not answer within 0.2 seconds"),
])
def test_broken_answers_give_a_clear_error(sim, home, override, says):
    scenario = sim.default_scenario()
    scenario["overrides"][SLAVES] = override
    sim.write_scenario(scenario)
    config_for(home, sim.dcos_url, "timeout = 0.2\n")
    started = time.monotonic()
    result = cli(["node", "ssh", "--master-proxy", f"--slave={AGENT1_ID}", "--", "true"], sim.client_env(home))
    assert time.monotonic() - started < 10
    assert result.returncode == 125 and "Traceback" not in result.stderr, result.stderr
    assert says in result.stderr
    assert result.stderr.startswith("dcos node ssh: ") and result.stderr.count("\n") == 1


def test_tls_with_an_unknown_ca(sim, home):
    config_for(home, sim.tls_url)
    result = cli(["node", "ssh", "--master-proxy", f"--slave={AGENT1_ID}", "--", "true"], sim.client_env(home))
    assert_clean_error(result, "could not be verified", "core.ssl_verify")


def test_tls_with_the_ca_in_core_ssl_verify(sim, dcos_node, home):
    config_for(home, sim.tls_url, f'ssl_verify = "{sim.ca_cert}"\n')
    result = sim_ssh(sim, dcos_node, home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT1 + "\n"), result.stderr
