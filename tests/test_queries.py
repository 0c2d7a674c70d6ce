"""The cluster layer returns data and notices and never prints (dcos_node_ssh/cluster/queries.py);
the commands and --check say the notices. Against the loopback cluster API stand-in
(tests/clusterapi.py), in process.
"""

import pytest

from dcos_node_ssh.checklist import Context, Probes, checklist, steps
from dcos_node_ssh.cluster.queries import Found, Lookups
from dcos_node_ssh.errors import ClusterError
from dcos_node_ssh.flags import RouteFlags, SshFlags, Target, TargetKind
from dcos_node_ssh.proc.spawn import Finished
from dcos_node_ssh.route import route_of
from dcos_node_ssh.settings import Settings
from helpers import config_for, in_process

S1 = "20151002-000353-1695027628-5050-1177-S1"
NO_PUBLIC_IP = "The cluster reports no public master address (PUBLIC_IPV4 in /metadata); hopping through 127.0.0.1, " \
               "the host of core.dcos_url."
DNS_FALLBACK = "Mesos DNS could not name the leader (The cluster answered "


def lookups(api):
    return Lookups(Settings(dcos_url=api.url), {}, None)


def scenario(api, public_ip=None, leader_dns=True, master_info=True):
    """The default cluster, with PUBLIC_IPV4 set to public_ip (when given) and Mesos DNS or
    GET_MASTER answering 404 when False."""
    changed = api.default_scenario()
    if public_ip is not None:
        changed["metadata"]["PUBLIC_IPV4"] = public_ip
    if not leader_dns:
        changed["leader_dns"] = None
    if not master_info:
        changed["master_info"] = None
    api.write_scenario(changed)


# -- the lookups: values with their source and notices, nothing written --------------------------


def test_public_address_comes_with_its_source(api, capsys):
    assert lookups(api).master_public_address() == Found("52.34.108.176", "PUBLIC_IPV4 in the cluster's /metadata")
    assert capsys.readouterr() == ("", "")


def test_public_address_fallback_comes_with_its_notice(api, capsys):
    scenario(api, public_ip="")
    found = lookups(api).master_public_address()
    assert found == Found("127.0.0.1", "the host of core.dcos_url, since /metadata has no PUBLIC_IPV4",
                          (NO_PUBLIC_IP,))
    assert capsys.readouterr() == ("", "")


def test_leader_from_mesos_dns(api):
    assert lookups(api).leader_address() == Found("10.0.4.1", "Mesos DNS (leader.mesos)")


def test_leader_fallback_to_get_master_comes_with_its_notice(api, capsys):
    scenario(api, leader_dns=False)
    found = lookups(api).leader_address()
    assert (found.address, found.source) == ("10.0.4.1", "the Mesos master (GET_MASTER), since Mesos DNS could "
                                                         "not name it")
    [notice] = found.notices
    assert notice.startswith(DNS_FALLBACK) and "/mesos_dns/v1/hosts/leader.mesos with HTTP 404" in notice
    assert notice.endswith("; asking Mesos.")
    assert capsys.readouterr() == ("", "")
    assert [entry["path"] for entry in api.requests()] == ["/mesos_dns/v1/hosts/leader.mesos", "/mesos/api/v1"]


def test_leader_found_by_neither_says_both_in_one_paragraph(api):
    scenario(api, leader_dns=False, master_info=False)
    with pytest.raises(ClusterError) as caught:
        lookups(api).leader_address()
    message = str(caught.value)
    assert message.startswith(f"The cluster answered {api.url}/mesos/api/v1 with HTTP 400 Bad Request")
    assert f"(Mesos was asked since Mesos DNS could not name the leader: The cluster answered {api.url}" \
           "/mesos_dns/v1/hosts/leader.mesos with HTTP 404" in message
    assert "\n" not in message


def test_agent_comes_with_its_source(api):
    assert lookups(api).agent_address(S1) == Found("10.0.1.21", f"the pid of agent {S1} in Mesos")


# -- the commands say the notices, once each --------------------------------------------------------


def test_ssh_says_the_public_address_fallback(api, home):
    scenario(api, public_ip="")
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh", "--dry-run", "--master-proxy", "--leader"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ssh -A -t core@127.0.0.1 ssh -A -t core@10.0.4.1\n"
    assert result.stderr.splitlines().count(NO_PUBLIC_IP) == 1


def test_ssh_says_the_leader_fallback(api, home):
    scenario(api, leader_dns=False)
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh", "--dry-run", "--leader"])
    assert result.returncode == 0 and result.stdout == "ssh -A -t core@10.0.4.1\n", result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith(DNS_FALLBACK)] != []


def test_ssh_leader_found_by_neither_is_one_paragraph(api, home):
    scenario(api, leader_dns=False, master_info=False)
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh", "--dry-run", "--leader"])
    assert result.returncode == 125
    [line] = result.stderr.splitlines()
    assert line.startswith(f"dcos node ssh: The cluster answered {api.url}/mesos/api/v1 with HTTP 400 Bad Request")
    assert "Mesos DNS could not name the leader: " in line


def test_ssh_config_says_both_fallbacks(api, home):
    scenario(api, public_ip="", leader_dns=False)
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh-config", "--master-proxy"])
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines.count(NO_PUBLIC_IP) == 1 and len([line for line in lines if line.startswith(DNS_FALLBACK)]) == 1
    assert "HostName 10.0.4.1" in result.stdout


def test_list_says_the_leader_fallback(api, home):
    scenario(api, leader_dns=False)
    config_for(home, api.url)
    result = in_process(home, ["node", "--json"])
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith(DNS_FALLBACK)] != []
    assert '"10.0.4.1"' in result.stdout


def test_scp_says_the_leader_fallback_before_refusing_two_nodes(api, home):
    scenario(api, leader_dns=False)
    config_for(home, api.url)
    result = in_process(home, ["node", "scp", "leader:/etc/hostname", f"{S1}:/tmp/x"])
    lines = result.stderr.splitlines()
    assert result.returncode == 125 and lines[-1].startswith("dcos node scp: The paths name different nodes")
    assert len([line for line in lines if line.startswith(DNS_FALLBACK)]) == 1


# -- --check reads where the proxy came from in the answer -------------------------------------------


def test_check_names_where_the_proxy_came_from(api, capsys, tmp_path):
    scenario(api, public_ip="")
    flags = SshFlags(RouteFlags(master_proxy=True), Target(TargetKind.LEADER))
    settings = Settings(dcos_url=api.url, ssh_user="core")
    route = route_of(flags.route, settings)
    def ssh(argv, env, seconds, first_line_only=False):
        if "-V" in argv:
            return Finished(0, b"", b"OpenSSH_9.2p1\n")
        return Finished(255, b"", b"ssh: connect to host 127.0.0.1 port 22: Connection refused\r\n")

    probes = Probes(run=ssh, agent=lambda *args: "1 key",
                    find_client=lambda name, plink: "/usr/bin/ssh", ssh_folder=lambda: str(tmp_path))
    context = Context(flags, route, settings, lookups(api), {}, probes, "node")
    checks = {check.name: check for check in checklist(context, steps(flags, route))}
    assert checks["proxy"].detail == ("127.0.0.1 (the host of core.dcos_url, since /metadata has no PUBLIC_IPV4); "
                                      "agent forwarding")
    assert "the plugin took from the host of core.dcos_url" in checks["first hop"].fix
    assert context.notices == [NO_PUBLIC_IP]
    assert capsys.readouterr() == ("", "")
