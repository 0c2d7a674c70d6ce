"""A corporate network on the simulated cluster: the cluster API only behind an HTTP proxy.

The stand-in listens on the master's private address (http://198.18.0.10:8080 and
https://198.18.0.10:8443), which this host cannot reach, and a real tinyproxy
listens on the master's public address (http://198.51.100.10:3128). The client of
dcos_node_ssh/cluster/transport.py runs in this test process, on this host; the last
tests run the installed `dcos-node` as an operator behind that proxy does, through
real ssh hops.
Root only (the simulated cluster needs it); see tests/simcluster.py.
"""

import os
import time

import pytest

from dcos_node_ssh.cluster.transport import HttpClient
from dcos_node_ssh.errors import ClusterUnreachable
from helpers import logged as stand_in_logged
from helpers import marker, unchanged_home, write_config
from simcluster import AGENTS, CORPORATE_HTTP_PORT, CORPORATE_TLS_PORT, MASTER_PRIVATE, MASTER_PUBLIC

TOKEN = "eyJhbGciOiJSUzI1NiJ9.corporate-token.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def corporate_network(sim_cluster):
    try:
        sim_cluster.start_corporate_network()
    except RuntimeError as error:
        if "tinyproxy is not installed" in str(error):
            pytest.skip(f"the corporate network needs a proxy, but {error}")
        raise
    yield sim_cluster
    sim_cluster.stop_corporate_network()


@pytest.fixture
def corp(corporate_network):
    """The corporate network, its API asking for TOKEN."""
    corporate_network.write_scenario(corporate_network.default_scenario(token=TOKEN))
    yield corporate_network
    corporate_network.write_scenario(corporate_network.default_scenario())


def logged(corp, path):
    """The corporate API's log entry for path."""
    return stand_in_logged(corp, path, requests=corp.corporate_requests)


def plugin(corp, dcos_node, args, env):
    """`dcos node ssh <args>` as the operator runs it, on this host; the user's files left alone."""
    return unchanged_home(env, lambda: corp.run([dcos_node, "node", "ssh"] + list(args), env, text=True))


def proxied(corp, fragment, seconds=3.0):
    """Whether tinyproxy logged a request holding fragment."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any("Request (file descriptor" in line and fragment in line for line in corp.corporate_proxy_lines()):
            return True
        time.sleep(0.05)
    return False


def client(corp, tls, env, timeout=5.0):
    url = corp.corporate_tls_url if tls else corp.corporate_url
    return HttpClient(url, token=TOKEN, ssl_verify=corp.corporate_ca_cert, env=env, timeout=timeout)


def test_http_through_the_proxy(corp):
    path = marker()
    answer = client(corp, False, {"HTTP_PROXY": corp.corporate_proxy_url}).request("GET", path)
    assert b'"PUBLIC_IPV4": "198.51.100.10"' in answer.body
    assert proxied(corp, f"GET http://{MASTER_PRIVATE}:{CORPORATE_HTTP_PORT}{path} ")
    assert logged(corp, path)["authorization"] == f"token={TOKEN}"


def test_https_through_the_proxy_with_connect(corp):
    path = marker()
    answer = client(corp, True, {"HTTPS_PROXY": corp.corporate_proxy_url}).request("GET", path)
    assert b'"PUBLIC_IPV4": "198.51.100.10"' in answer.body
    assert proxied(corp, f"CONNECT {MASTER_PRIVATE}:{CORPORATE_TLS_PORT} ")
    assert logged(corp, path)["authorization"] == f"token={TOKEN}"
    assert not any(path in line or TOKEN in line for line in corp.corporate_proxy_lines())  # inside TLS


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_without_the_proxy_the_cluster_cannot_be_reached(corp, tls):
    start = time.monotonic()
    with pytest.raises(ClusterUnreachable) as caught:
        client(corp, tls, {}, timeout=3).request("GET", "/metadata")
    url = corp.corporate_tls_url if tls else corp.corporate_url
    assert str(caught.value).startswith(f"Could not reach the cluster at {url}/metadata")
    assert time.monotonic() - start < 1.5


@pytest.mark.parametrize("no_proxy", [MASTER_PRIVATE, "198.18.0.0/24", f"{MASTER_PRIVATE}:{CORPORATE_TLS_PORT}",
                                      "example.com, 198.18.0.10"])
def test_no_proxy_is_honoured(corp, no_proxy):
    before = len(corp.corporate_proxy_lines())
    env = {"HTTPS_PROXY": corp.corporate_proxy_url, "NO_PROXY": no_proxy}
    start = time.monotonic()
    with pytest.raises(ClusterUnreachable) as caught:
        client(corp, True, env, timeout=3).request("GET", "/metadata")
    assert str(caught.value).startswith(f"Could not reach the cluster at {corp.corporate_tls_url}/metadata")
    assert time.monotonic() - start < 1.5
    assert len(corp.corporate_proxy_lines()) == before


def test_each_scheme_has_its_proxy_variable(corp):
    """HTTP_PROXY alone does not carry https."""
    with pytest.raises(ClusterUnreachable, match="Could not reach the cluster"):
        client(corp, True, {"HTTP_PROXY": corp.corporate_proxy_url}, timeout=3).request("GET", "/metadata")


def test_proxy_where_nothing_listens(corp):
    proxy = f"http://{MASTER_PUBLIC}:3999"
    start = time.monotonic()
    with pytest.raises(ClusterUnreachable) as caught:
        client(corp, True, {"https_proxy": proxy}, timeout=3).request("GET", "/metadata")
    assert str(caught.value).startswith(f"Could not reach the proxy {proxy} (from https_proxy) for "
                                        f"{corp.corporate_tls_url}/metadata")
    assert time.monotonic() - start < 1.5


# -- the command itself, behind the proxy ---------------------------------------------------


def operator_behind_the_proxy(corp, home, tls, proxy_variables):
    url = corp.corporate_tls_url if tls else corp.corporate_url
    verify = f'ssl_verify = "{corp.corporate_ca_cert}"\n' if tls else ""
    write_config(os.path.join(home, ".dcos", "dcos.toml"),
                 f'[core]\ndcos_url = "{url}"\ndcos_acs_token = "{TOKEN}"\n{verify}')
    return corp.client_env(home, **proxy_variables)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_dcos_node_ssh_finds_the_agent_through_the_proxy_and_hops_to_it(corp, dcos_node, home, tls):
    name, address, agent_id = AGENTS[1]
    variable = "HTTPS_PROXY" if tls else "http_proxy"
    env = operator_behind_the_proxy(corp, home, tls, {variable: corp.corporate_proxy_url})
    before = len(corp.corporate_requests())
    result = plugin(corp, dcos_node, ["--master-proxy", f"--slave={agent_id[-2:]}", "--", "hostname"], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == name and f"core@{address}" in result.stderr
    paths = sorted(entry["path"].split("?")[0] for entry in corp.corporate_requests()[before:])
    assert paths == ["/mesos/master/slaves", "/metadata"]  # both answered behind the proxy
    expected = f"CONNECT {MASTER_PRIVATE}:{CORPORATE_TLS_PORT} " if tls else f"GET http://{MASTER_PRIVATE}:"
    assert proxied(corp, expected)


def test_dcos_node_ssh_without_the_proxy_variable_says_what_it_could_not_reach(corp, dcos_node, home):
    env = operator_behind_the_proxy(corp, home, True, {})
    write_config(os.path.join(home, ".dcos", "dcos.toml"),
                 f'[core]\ndcos_url = "{corp.corporate_tls_url}"\ntimeout = 3\n'
                 f'ssl_verify = "{corp.corporate_ca_cert}"\n')
    result = plugin(corp, dcos_node, ["--master-proxy", "--leader", "--", "true"], env=env)
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"dcos node ssh: Could not reach the cluster at {corp.corporate_tls_url}")


def test_the_listing_through_the_proxy(corp, dcos_node, home):
    env = operator_behind_the_proxy(corp, home, True, {"https_proxy": corp.corporate_proxy_url})
    result = corp.run([dcos_node, "node", "--json"], env, text=True)
    assert result.returncode == 0, result.stderr
    assert "[\n" in result.stdout and AGENTS[0][2] in result.stdout
