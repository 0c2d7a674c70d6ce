"""openssh/tunnel.py as tables: the forward specs, the tunnel's and the probe's argument
lists (OpenSSH with and without a control socket, plink), what ssh's words mean, where
each destination goes, the PAC file (run by a real JavaScript engine) and what is printed."""

import ipaddress
import json
import shutil
import subprocess

import pytest

from dcos_node_ssh.errors import ClusterDataError, ClusterError, UsageError
from dcos_node_ssh.nodes import Node, NodeKind, NodeState
from dcos_node_ssh.openssh.tunnel import (BindFailure, Destination, Forward, Forwarding, ForwardSpec, TunnelPlan,
                                          bind_failure_message, bind_failures, destination_of,
                                          forwarding_refused_message, forwarding_verdict, pac_text, parse_forward,
                                          private_networks, probe_argv, ready_text, ssh_port, tunnel_argv)


@pytest.mark.parametrize("spec, expected", [
    ("marathon.mesos:8080", ForwardSpec(0, "marathon.mesos", 8080)),
    ("8080:marathon.mesos:8080", ForwardSpec(8080, "marathon.mesos", 8080)),
    ("0:S1:5051", ForwardSpec(0, "S1", 5051)),
    ("leader:5050", ForwardSpec(0, "leader", 5050)),
    ("10.0.1.20:80", ForwardSpec(0, "10.0.1.20", 80)),
    ("9000:[fd00::1]:80", ForwardSpec(9000, "fd00::1", 80)),
    ("[FD00::1]:80", ForwardSpec(0, "fd00::1", 80)),
    ("20151002-000353-1695027628-5050-1177-S3:22", ForwardSpec(0, "20151002-000353-1695027628-5050-1177-S3", 22)),
    ("web.marathon.l4lb.thisdcos.directory.:80", ForwardSpec(0, "web.marathon.l4lb.thisdcos.directory", 80)),
], ids=["name", "local-port", "zero", "leader", "address", "ipv6", "ipv6-normalised", "agent-id", "trailing-dot"])
def test_forward_specs(spec, expected):
    assert parse_forward(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("marathon.mesos", "names no port"),
    ("marathon.mesos:", "names no port"),
    (":80", "names no destination"),
    ("8080::80", "names no destination"),
    ("fd00::1:80", "is not in that form (an IPv6 address goes in brackets)"),
    ("[fd00::1:80", "is not in that form"),
    ("[web]:80", "names 'web', which is not a node, address or host name"),
    ("80:80", "names '80', which is not a node"),
    ("-oProxyCommand=x:80", "names '-oProxyCommand=x', which is not a node"),
    ("a b:80", "names 'a b'"),
    ("x\x1b[2J:80", "is not in that form"),
    ("x:0", "The port in 'x:0' must be a port number from 1 to 65535, not '0'"),
    ("x:65536", "not '65536'"),
    ("x:８０", "not '８０'"),
    ("70000:x:80", "The local port in '70000:x:80' must be a port number from 0 to 65535"),
    ("1:2:3:4", "is not in that form"),
], ids=["no-colon", "no-port", "no-destination", "empty-destination", "bare-ipv6", "unclosed", "bracketed-name",
        "digits", "option", "space", "escape", "port-zero", "port-high", "non-ascii-digits", "local-high", "four"])
def test_forward_specs_refused(spec, message):
    with pytest.raises(UsageError) as raised:
        parse_forward(spec)
    assert message in str(raised.value)
    assert "\x1b" not in str(raised.value)


PLAN = TunnelPlan("ssh", "core", "52.34.108.176", socks_port=1080, control_path="/tmp/dcos-tunnel-x/proxy")
OWN = ["-o", "ForwardAgent=no", "-o", "ExitOnForwardFailure=yes"]
CONTROL = ["-o", "ControlMaster=yes", "-o", "ControlPath=/tmp/dcos-tunnel-x/proxy", "-o", "ControlPersist=no"]
DEFAULTS = ["-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=30"]


@pytest.mark.parametrize("plan, expected", [
    (PLAN, ["ssh", "-N", "-T"] + OWN + CONTROL + DEFAULTS + ["-D", "127.0.0.1:1080", "core@52.34.108.176"]),
    (PLAN._replace(socks_port=None, forwards=(Forward(8080, "marathon.mesos", 8080), Forward(9000, "fd00::1", 80))),
     ["ssh", "-N", "-T"] + OWN + CONTROL + DEFAULTS + ["-L", "127.0.0.1:8080:marathon.mesos:8080",
                                                       "-L", "127.0.0.1:9000:[fd00::1]:80", "core@52.34.108.176"]),
    (PLAN._replace(options=("ConnectTimeout=3", "User=x"), proxy_options=("Port=2222",), config_file="/c f",
                   control_path=None),
     ["ssh", "-N", "-T", "-F", "/c f"] + OWN + ["-o", "Port=2222", "-o", "ConnectTimeout=3", "-o", "User=x", "-o",
                                                 "ServerAliveInterval=30", "-D", "127.0.0.1:1080",
                                                 "core@52.34.108.176"]),
    (PLAN._replace(client="C:\\PuTTY\\plink.exe", options=("Port=2222", "StrictHostKeyChecking=no"),
                   forwards=(Forward(8080, "leader.mesos", 8080),)),
     ["C:\\PuTTY\\plink.exe", "-N", "-a", "-no-antispoof", "-l", "core", "-P", "2222", "-D", "127.0.0.1:1080",
      "-L", "127.0.0.1:8080:leader.mesos:8080", "52.34.108.176"]),
], ids=["socks", "forwards", "options-without-control", "plink"])
def test_tunnel_argv(plan, expected):
    assert tunnel_argv(plan) == expected


@pytest.mark.parametrize("plan, verbose, expected", [
    (PLAN, False, ["ssh", "-T", "-o", "ControlMaster=no", "-o", "ControlPath=/tmp/dcos-tunnel-x/proxy", "-o",
                   "BatchMode=yes"] + DEFAULTS + ["-W", "127.0.0.1:22", "core@52.34.108.176"]),
    (PLAN._replace(control_path=None, proxy_options=("Port=2222",), config_file="/c"), True,
     ["ssh", "-T", "-F", "/c", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "BatchMode=yes", "-o",
      "ForwardAgent=no", "-o", "LogLevel=VERBOSE", "-o", "Port=2222"] + DEFAULTS
     + ["-W", "127.0.0.1:2222", "core@52.34.108.176"]),
    (PLAN._replace(client="plink", options=("Port=2200",)), False,
     ["plink", "-batch", "-a", "-l", "core", "-P", "2200", "-nc", "127.0.0.1:2200", "52.34.108.176"]),
], ids=["through-the-control-socket", "a-connection-of-its-own", "plink"])
def test_probe_argv(plan, verbose, expected):
    """The probe asks the proxy for its own sshd, at the port the tunnel connects to."""
    assert probe_argv(plan, verbose) == expected


@pytest.mark.parametrize("first_line, said, expected", [
    ("SSH-2.0-OpenSSH_9.2p1", "", Forwarding.ALLOWED),
    ("", "channel 3: open failed: administratively prohibited: open failed", Forwarding.REFUSED),
    ("", "FATAL ERROR: Server refused to open main channel: Administratively prohibited [open failed]",
     Forwarding.REFUSED),
    ("", "channel 3: open failed: connect failed: Connection refused", Forwarding.ALLOWED),
    ("", "Stdio forwarding request failed: Session open refused by peer", Forwarding.UNKNOWN),
    ("", "", Forwarding.UNKNOWN),
    ("HTTP/1.1 400", "", Forwarding.UNKNOWN),
], ids=["banner", "openssh-prohibited", "plink-prohibited", "connect-failed", "mux-client-only", "nothing",
        "not-ssh"])
def test_forwarding_verdict(first_line, said, expected):
    assert forwarding_verdict(first_line, said) is expected


# What OpenSSH 9.2 says, word for word, with ExitOnForwardFailure.
IN_USE = ("bind [127.0.0.1]:1081: Address already in use\nchannel_setup_fwd_listener_tcpip: cannot listen to port: "
          "1081\nCould not request local forwarding.\n")
LOW = "bind [127.0.0.1]:80: Permission denied\nchannel_setup_fwd_listener_tcpip: cannot listen to port: 80\n"


@pytest.mark.parametrize("said, expected", [
    (IN_USE, [BindFailure(1081, "Address already in use")]),
    (IN_USE + LOW, [BindFailure(1081, "Address already in use"), BindFailure(80, "Permission denied")]),
    ("channel_setup_fwd_listener_tcpip: cannot listen to port: 9\n", [BindFailure(9, "cannot listen")]),
    ("ssh: connect to host 1.2.3.4 port 22: Connection refused\n", []),
], ids=["in-use", "two", "reason-unsaid", "other"])
def test_bind_failures(said, expected):
    assert bind_failures(said) == expected


def test_bind_failure_messages_say_what_to_do():
    in_use = bind_failure_message([BindFailure(1081, "Address already in use")], 1081)
    assert in_use.startswith("Could not listen on 127.0.0.1:1081 (the SOCKS proxy's port): Address already in use.")
    assert "--port=0" in in_use
    low = bind_failure_message([BindFailure(80, "Permission denied")], None)
    assert "127.0.0.1:80 (a forward's local port): Permission denied" in low and "below 1024 need root" in low


@pytest.mark.parametrize("failures, socks_port, message", [
    ([BindFailure(1081, "Address already in use"), BindFailure(8080, "Address already in use")], 1081,
     "Could not listen on 127.0.0.1:1081 (the SOCKS proxy's port): Address already in use, 127.0.0.1:8080 (a "
     "forward's local port): Address already in use. Another program listens there: choose another port, or 0 to "
     "have a free one chosen (--port=0; a forward's local port 0, or none: 0:marathon.mesos:8080, "
     "marathon.mesos:8080)."),
    ([BindFailure(1023, "Permission denied")], None,
     "Could not listen on 127.0.0.1:1023 (a forward's local port): Permission denied. Ports below 1024 need root: "
     "choose one from 1024 up."),
    ([BindFailure(80, "Address already in use")], None,
     "Could not listen on 127.0.0.1:80 (a forward's local port): Address already in use. Another program listens "
     "there: choose another port, or 0 to have a free one chosen (--port=0; a forward's local port 0, or none: "
     "0:marathon.mesos:8080, marathon.mesos:8080); ports below 1024 need root: choose one from 1024 up."),
    ([BindFailure(1024, "Cannot assign requested address")], None,
     "Could not listen on 127.0.0.1:1024 (a forward's local port): Cannot assign requested address. Choose another "
     "port."),
])
def test_bind_failure_message_is_one_paragraph_with_the_fix(failures, socks_port, message):
    assert bind_failure_message(failures, socks_port) == message


AGENTS = [Node("20151002-000353-1695027628-5050-1177-S0", "dcos-agent-1", "10.0.1.20", NodeKind.AGENT,
               NodeState.ACTIVE),
          Node("20151002-000353-1695027628-5050-1177-S1", "10.0.1.21", "10.0.1.21", NodeKind.AGENT, NodeState.ACTIVE),
          Node("20151002-000353-1695027628-5050-1177-S11", "bad", "", NodeKind.AGENT, NodeState.ACTIVE,
               "The cluster describes agent S11 without a usable pid.")]


@pytest.mark.parametrize("name, expected", [
    ("leader", Destination("10.0.4.1", "the leading master at 10.0.4.1")),
    ("MASTER", Destination("10.0.4.1", "the leading master at 10.0.4.1")),
    ("10.0.9.9", Destination("10.0.9.9", "an address, connected to from the proxy")),
    ("S0", Destination("10.0.1.20", "agent 20151002-000353-1695027628-5050-1177-S0 (dcos-agent-1) at 10.0.1.20")),
    ("dcos-agent-1", Destination("10.0.1.20",
                                 "agent 20151002-000353-1695027628-5050-1177-S0 (dcos-agent-1) at 10.0.1.20")),
    ("-S1", Destination("10.0.1.21", "agent 20151002-000353-1695027628-5050-1177-S1 at 10.0.1.21")),
    ("marathon.mesos", Destination("marathon.mesos", "a name the proxy resolves (no agent has it)")),
], ids=["leader", "master", "address", "id-part", "host-name", "id-suffix", "name-for-the-proxy"])
def test_where_a_destination_goes(name, expected):
    assert destination_of(name, "10.0.4.1", AGENTS) == expected


def test_a_destination_naming_several_agents_or_a_refused_one_is_an_error():
    with pytest.raises(ClusterError, match="matches 3 agents"):
        destination_of("20151002", None, AGENTS)
    with pytest.raises(ClusterDataError, match="without a usable pid. Refusing to forward to it."):
        destination_of("S11", None, AGENTS)


@pytest.mark.parametrize("addresses, expected", [
    (["10.0.1.20", "10.0.1.21", "10.0.4.1"], ["10.0.1.0/24", "10.0.4.0/24"]),
    (["10.0.0.5", "10.0.1.5"], ["10.0.0.0/23"]),
    (["52.34.108.176", "127.0.0.1", "fd00::1", "dcos-agent-1", ""], []),
    (["192.168.7.3"], ["192.168.7.0/24"]),
], ids=["merged-24s", "adjacent-collapse", "public-loopback-v6-names", "home-network-kept-narrow"])
def test_private_networks(addresses, expected):
    assert [str(network) for network in private_networks(addresses)] == expected


PAC_PROBE = """
const fs = require("fs");
function dnsDomainIs(host, domain) { return host.length >= domain.length && host.endsWith(domain); }
function convert(ip) { return ip.split(".").reduce((a, b) => a * 256 + Number(b), 0); }
function isInNet(host, pattern, mask) {
  if (!/^[0-9.]+$/.test(host)) throw new Error("isInNet would look up " + host);
  return (convert(host) & convert(mask)) >>> 0 === (convert(pattern) & convert(mask)) >>> 0;
}
eval(fs.readFileSync(process.argv[2], "utf8"));
const hosts = JSON.parse(process.argv[3]);
console.log(JSON.stringify(hosts.map(h => FindProxyForURL("http://" + h + "/", h))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="the PAC test runs the file with node (Debian nodejs)")
def test_the_pac_file_sends_only_the_cluster_through_the_tunnel(tmp_path):
    text = pac_text(41080, ["dcos-agent-1", "ip-10-0-1-21.ec2.internal"],
                    [ipaddress.IPv4Network("10.0.1.0/24"), ipaddress.IPv4Network("172.31.4.0/24")])
    pac, probe = tmp_path / "cluster.pac", tmp_path / "probe.js"
    pac.write_text(text)
    probe.write_text(PAC_PROBE)
    hosts = ["leader.mesos", "WEB.Marathon.Mesos", "web.marathon.l4lb.thisdcos.directory", "dcos-agent-1",
             "ip-10-0-1-21.ec2.internal", "10.0.1.77", "172.31.4.9", "10.0.2.1", "example.com", "mesos",
             "notmesos", "evil.mesos.example.com", "8.8.8.8", "dcos-agent-10"]
    answers = json.loads(subprocess.run(["node", str(probe), str(pac), json.dumps(hosts)], capture_output=True,
                                        text=True, check=True).stdout)
    tunnel = "SOCKS5 127.0.0.1:41080; SOCKS 127.0.0.1:41080"
    assert dict(zip(hosts, answers)) == {
        "leader.mesos": tunnel, "WEB.Marathon.Mesos": tunnel, "web.marathon.l4lb.thisdcos.directory": tunnel,
        "dcos-agent-1": tunnel, "ip-10-0-1-21.ec2.internal": tunnel, "10.0.1.77": tunnel, "172.31.4.9": tunnel,
        "10.0.2.1": "DIRECT", "example.com": "DIRECT", "mesos": "DIRECT", "notmesos": "DIRECT",
        "evil.mesos.example.com": "DIRECT", "8.8.8.8": "DIRECT", "dcos-agent-10": "DIRECT"}


def test_what_is_printed_once_ready():
    socks = ready_text(PLAN, "/home/me/cluster.pac").splitlines()
    assert socks[0] == ("SOCKS5 proxy on 127.0.0.1:1080, through core@52.34.108.176, which resolves the names. "
                        "Ctrl-C ends it.")
    assert socks[1] == "  curl:    curl --proxy socks5h://127.0.0.1:1080 http://leader.mesos:5050/version"
    assert "SOCKS host 127.0.0.1, port 1080, SOCKS v5" in socks[2]
    assert socks[3].startswith("  PAC:     file:///home/me/cluster.pac ")
    forwards = ready_text(PLAN._replace(socks_port=None, forwards=(Forward(41000, "10.0.1.20", 80),
                                                                    Forward(8080, "fd00::1", 8080))))
    assert forwards.splitlines() == ["Forwarding through core@52.34.108.176, which resolves the names. Ctrl-C ends it.",
                                     "  127.0.0.1:41000 -> 10.0.1.20:80", "  127.0.0.1:8080 -> [fd00::1]:8080"]


def test_the_probe_is_quiet_unless_asked_to_be_verbose():
    assert "LogLevel=VERBOSE" not in probe_argv(PLAN)
    assert probe_argv(PLAN) == probe_argv(PLAN, False)


def test_private_networks_skip_what_is_no_address_wherever_it_comes():
    assert [str(network) for network in private_networks(["dcos-agent-1", "10.0.1.20", "x", "10.0.9.1"])] == [
        "10.0.1.0/24", "10.0.9.0/24"]


def test_what_is_printed_once_ready_with_a_socks_proxy_and_forwards_at_once():
    text = ready_text(PLAN._replace(forwards=(Forward(41000, "10.0.1.20", 80),)), "/home/me/cluster.pac")
    assert text == (
        "SOCKS5 proxy on 127.0.0.1:1080, through core@52.34.108.176, which resolves the names. Ctrl-C ends it.\n"
        "  curl:    curl --proxy socks5h://127.0.0.1:1080 http://leader.mesos:5050/version\n"
        "  browser: SOCKS host 127.0.0.1, port 1080, SOCKS v5, names resolved by the proxy (Firefox: \"Proxy DNS "
        "when using SOCKS v5\"; Chrome: --proxy-server=socks5://127.0.0.1:1080)\n"
        "  PAC:     file:///home/me/cluster.pac (sends only the cluster's names and private networks through the "
        "proxy)\n"
        "Forwarding through core@52.34.108.176, which resolves the names. Ctrl-C ends it.\n"
        "  127.0.0.1:41000 -> 10.0.1.20:80\n")


def test_a_proxy_that_refuses_forwarding_is_said_in_one_paragraph():
    assert forwarding_refused_message("52.34.108.176", " (or --master-proxy)") == (
        "The proxy 52.34.108.176 refuses TCP forwarding (\"administratively prohibited\": its sshd has "
        "AllowTcpForwarding no, or DisableForwarding, or a PermitOpen that leaves this out, for your user), so no "
        "tunnel can pass through it. Ask its administrator to allow it (AllowTcpForwarding yes or local in its "
        "sshd_config), or tunnel through another host with --proxy-ip=<host> (or --master-proxy).")


@pytest.mark.parametrize("options, port", [
    ([], 22), (["Port=2200"], 2200), (["port=2200", "Port=2300"], 2200),  # the first wins, as in ssh
    (["IdentityFile=/k", "ConnectTimeout=5", "Port=2200"], 2200),
    (["Port=1"], 1), (["Port=65535"], 65535), (["Port=0"], 22), (["Port=65536"], 22), (["Port=x"], 22),
    (["Port=\u0662\u0662"], 22),  # digits, but not ASCII ones
])
def test_the_port_the_options_ask_for(options, port):
    assert ssh_port(options) == port


def test_an_agent_destination_names_its_host_cut_to_60_characters():
    agent = Node("20151002-000353-1695027628-5050-1177-S5", "h" * 59 + "ij", "10.0.1.25", NodeKind.AGENT,
                 NodeState.ACTIVE)
    assert destination_of("S5", None, [agent]) == Destination(
        "10.0.1.25", f"agent 20151002-000353-1695027628-5050-1177-S5 ({'h' * 57}...) at 10.0.1.25")


FORM = ": write [<local port>:]<destination>:<port> (for example marathon.mesos:8080, 8080:leader:8080 or S1:5051)."


@pytest.mark.parametrize("spec, message", [
    ("marathon.mesos", "The forward 'marathon.mesos' names no port" + FORM),
    ("host:", "The forward 'host:' names no port" + FORM),
    (":80", "The forward ':80' names no destination" + FORM),
    ("fd00::1:80", "The forward 'fd00::1:80' is not in that form (an IPv6 address goes in brackets)" + FORM),
    ("8080:[fd00::1]:65536", "The port in '8080:[fd00::1]:65536' must be a port number from 1 to 65535, not '65536'."),
])
def test_a_forward_refused_says_why_and_how_to_write_one(spec, message):
    with pytest.raises(UsageError) as caught:
        parse_forward(spec)
    assert str(caught.value) == message


def test_port_65535_is_a_port():
    assert parse_forward("65535:x:65535") == ForwardSpec(65535, "x", 65535)


def test_the_pac_file_says_what_it_is_first():
    assert pac_text(41080, [], []).splitlines()[:2] == [
        "// dcos node tunnel socks: the cluster's names and private networks through 127.0.0.1:41080,",
        "// everything else directly. Written anew by each run with --pac."]
