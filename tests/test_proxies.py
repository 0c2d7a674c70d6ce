"""Which proxy a request to the cluster goes through (dcos_node_ssh/cluster/proxies.py), as
tables: the variables, the lower case winning, no_proxy, and values that name no usable proxy.
"""

import base64

import pytest

from dcos_node_ssh.cluster.proxies import Proxy, proxy_for
from dcos_node_ssh.errors import ConfigError

SECRET = "hunter2-secret"  # a password that must never be printed


def basic(pair):
    return "Basic " + base64.b64encode(pair).decode("ascii")


# -- proxy_for: which proxy, from which variable -------------------------------------------------------

HTTPS = ("https", "cluster.example", 443)
HTTP = ("http", "cluster.example", 80)


@pytest.mark.parametrize("target, env, expected", [
    (HTTPS, {}, None),
    (HTTPS, {"https_proxy": "http://proxy.corp:3128"},
     Proxy("proxy.corp", 3128, None, "http://proxy.corp:3128", "https_proxy")),
    (HTTPS, {"HTTPS_PROXY": "http://proxy.corp:3128"},
     Proxy("proxy.corp", 3128, None, "http://proxy.corp:3128", "HTTPS_PROXY")),
    # lower case wins when both are set, even empty (curl's rule)
    (HTTPS, {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"},
     Proxy("lower", 1, None, "http://lower:1", "https_proxy")),
    (HTTPS, {"https_proxy": "", "HTTPS_PROXY": "http://upper:2"}, None),
    (HTTPS, {"https_proxy": "   "}, None),
    # each scheme has its variable
    (HTTPS, {"http_proxy": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3128"}, None),
    (HTTP, {"https_proxy": "http://proxy:3128"}, None),
    (HTTP, {"http_proxy": "proxy:3128"}, Proxy("proxy", 3128, None, "http://proxy:3128", "http_proxy")),
    (HTTP, {"HTTP_PROXY": "http://proxy:3128/"}, Proxy("proxy", 3128, None, "http://proxy:3128", "HTTP_PROXY")),
    # no scheme: http://; no port: 80, as requests does
    (HTTPS, {"https_proxy": "proxy.corp"}, Proxy("proxy.corp", 80, None, "http://proxy.corp:80", "https_proxy")),
    (HTTPS, {"https_proxy": "HTTP://Proxy.Corp:8080"},
     Proxy("proxy.corp", 8080, None, "http://proxy.corp:8080", "https_proxy")),
    (HTTPS, {"https_proxy": "http://[2001:db8::3]:3128"},
     Proxy("2001:db8::3", 3128, None, "http://[2001:db8::3]:3128", "https_proxy")),
    (HTTPS, {"https_proxy": " http://proxy:3128 "}, Proxy("proxy", 3128, None, "http://proxy:3128", "https_proxy")),
    # credentials: percent-decoded into the Basic value, never in the display
    (HTTPS, {"https_proxy": f"http://alice:{SECRET}@proxy:3128"},
     Proxy("proxy", 3128, basic(f"alice:{SECRET}".encode()), "http://proxy:3128", "https_proxy")),
    (HTTPS, {"https_proxy": "http://d%40main%5Cuser:p%3As%40ss%2Fw%C3%B6rd@proxy:3128"},
     Proxy("proxy", 3128, basic("d@main\\user:p:s@ss/wörd".encode()), "http://proxy:3128", "https_proxy")),
    (HTTPS, {"https_proxy": "http://alice@proxy:3128"},
     Proxy("proxy", 3128, basic(b"alice:"), "http://proxy:3128", "https_proxy")),
    # an '@' left in the password: the host is what follows the last one
    (HTTPS, {"https_proxy": "http://alice:p@ss@proxy:3128"},
     Proxy("proxy", 3128, basic(b"alice:p@ss"), "http://proxy:3128", "https_proxy")),
])
def test_proxy_for(target, env, expected):
    assert proxy_for(*target, env) == expected


@pytest.mark.parametrize("host, port, no_proxy, bypassed", [
    ("cluster.example", 443, "*", True),
    ("cluster.example", 443, "cluster.example", True),
    ("api.cluster.example", 443, "cluster.example", True),
    ("api.cluster.example", 443, ".cluster.example", True),
    ("cluster.example", 443, ".cluster.example", True),
    ("api.cluster.example", 443, "*.cluster.example", True),
    ("badcluster.example", 443, "cluster.example", False),
    ("badcluster.example", 443, ".cluster.example", False),
    ("cluster.example", 443, "api.cluster.example", False),
    ("cluster.example", 443, "CLUSTER.Example", True),
    ("cluster.example", 443, "other.example , cluster.example", True),
    ("cluster.example", 443, "other.example,cluster.example", True),
    ("10.0.4.1", 443, "localhost,127.0.0.1,10.0.4.1", True),
    ("cluster.example", 443, "other.example,,  ", False),
    ("cluster.example", 443, "cluster.example:443", True),
    ("cluster.example", 443, "cluster.example:8443", False),
    ("cluster.example", 443, "", False),
    ("10.0.4.1", 443, "10.0.4.1", True),
    ("10.0.4.1", 443, "10.0.4.2", False),
    ("10.0.4.1", 443, "10.0.0.0/8", True),
    ("11.0.4.1", 443, "10.0.0.0/8", False),
    ("10.0.4.1", 443, "10.0.4.0/24:443", True),
    ("10.0.4.1", 443, "10.0.4.0/24:80", False),
    ("10.0.4.1", 443, "10.0.4.0/33, 10.0.4.1/40", False),  # not networks: ignored
    ("10.0.4.1", 443, "10.0", False),  # names do not match addresses by prefix
    ("cluster.example", 443, "10.0.0.0/8", False),  # names are not resolved
    ("2001:db8::5", 443, "2001:db8::/32", True),
    ("2001:db8::5", 443, "2001:DB8::5", True),
    ("2001:db8::5", 443, "[2001:db8::5]:443", True),
    ("2001:db8::5", 443, "[2001:db8::5]:80", False),
    ("2001:db8::5", 443, "2001:db9::/32", False),
    ("2001:db8::5", 443, "10.0.0.0/8", False),
    ("10.0.4.1", 443, "::/0", False),
])
def test_no_proxy(host, port, no_proxy, bypassed):
    env = {"https_proxy": "http://proxy:3128", "no_proxy": no_proxy}
    assert (proxy_for("https", host, port, env) is None) == bypassed
    upper = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": no_proxy}
    assert (proxy_for("https", host, port, upper) is None) == bypassed


@pytest.mark.parametrize("host", ["cluster.example", "xxxx", "10.0.4.1", "2001:db8::5"])
def test_without_no_proxy_every_host_goes_through_the_proxy(host):
    assert proxy_for("https", host, 443, {"https_proxy": "http://proxy:3128"}) == Proxy(
        "proxy", 3128, None, "http://proxy:3128", "https_proxy")


def test_lower_case_no_proxy_wins():
    env = {"https_proxy": "http://proxy:3128", "no_proxy": "other.example", "NO_PROXY": "cluster.example"}
    assert proxy_for("https", "cluster.example", 443, env) is not None


@pytest.mark.parametrize("value, says", [
    ("https://proxy.corp:443", "https:// proxy"),
    ("socks5://proxy.corp:1080", "socks5:// proxy"),
    ("socks5h://proxy.corp:1080", "socks5h:// proxy"),
    ("ftp://proxy.corp", "not an http:// proxy URL"),
    ("http://proxy.corp:notaport", "not a proxy URL"),
    ("http://proxy.corp:99999", "not a proxy URL"),
    ("http://[2001:db8::3:3128", "not a proxy URL"),
    ("http://", "no host"),
    ("http://:3128", "no host"),
    ("http://proxy.corp:0", "port 0"),
    ("http://pröxy.corp:3128", "xn--"),
    ("http://proxy corp:3128", "spaces"),
    ("http://proxy.corp:3128\r\nX-Evil: 1", "control characters"),
    (f"socks5://alice:{SECRET}@proxy.corp:1080", "socks5:// proxy"),
    (f"http://alice:{SECRET}@proxy.corp:nope", "not a proxy URL"),
    (f"http://alice:{SECRET}/with/slash@proxy.corp:3128x", "not a proxy URL"),
])
def test_unusable_proxy_is_a_config_error_naming_the_variable(value, says):
    with pytest.raises(ConfigError) as caught:
        proxy_for("https", "cluster.example", 443, {"HTTPS_PROXY": value})
    message = str(caught.value)
    assert message.startswith("HTTPS_PROXY is ") and says in message, message
    assert "http://proxy:port" in message and SECRET not in message


def test_unusable_proxy_is_not_read_for_a_host_in_no_proxy():
    assert proxy_for("https", "cluster.example", 443, {"HTTPS_PROXY": "socks5://x", "NO_PROXY": "*"}) is None


HOW = (". Write it as http://proxy:port, or http://user:password@proxy:port for a proxy that wants a password (https "
       "goes through an http:// proxy with CONNECT).")


@pytest.mark.parametrize("value, which", [
    (f"https://alice:{SECRET}@proxy.corp:443", "names a https:// proxy: only http:// proxies are supported"),
    ("socks4://proxy.corp:1080", "names a socks4:// proxy: only http:// proxies are supported"),
    ("ftp://proxy.corp", "is not an http:// proxy URL"),
    ("http://proxy.corp:99999", "is not a proxy URL (check the port, a number from 1 to 65535, and the brackets around "
                                "an IPv6 address)"),
    ("http://:3128", "is not a proxy URL (no host, or port 0)"),
    ("http://proxy corp:3128", "holds spaces, control characters or characters outside ASCII (write an "
                               "internationalised host name in its xn-- form and percent-encode the password)"),
])
def test_an_unusable_proxy_is_said_in_full_without_its_password(value, which):
    with pytest.raises(ConfigError) as caught:
        proxy_for("https", "cluster.example", 443, {"HTTPS_PROXY": value})
    shown = value.replace(f"alice:{SECRET}@", "")
    assert str(caught.value) == f"HTTPS_PROXY is '{shown}', which {which}{HOW}"


@pytest.mark.parametrize("host, port, no_proxy, bypassed", [
    ("2001:db8::5", 443, "[2001:db8::5]", True),  # brackets without a port
    ("2001:db8::5", 443, "[2001:db8::5", False),  # unclosed: ignored
    ("2001:db8::5", 443, "[2001:db8::5]443", False),
    ("2001:db8::5", 443, "[2001:db8::5]:x", False),
    ("2001:db8::5", 5, "[2001:db8::5]:5", True),
    ("2001:db8::5", 1, "[2001:db8::5]:x1", False),
    # a block written with its host bits set is the block (as curl reads it)
    ("10.0.4.1", 443, "10.0.4.7/24", True),
    ("2001:db8::5", 443, "2001:db8::1/64", True),
    ("cluster.example", 443, "cluster.example:x", False),
    ("cluster.example", 443, "junk:x, cluster.example", True),  # an entry ignored does not end the list
    ("cluster.example", 443, "[x, cluster.example", True),
    ("10.0.4.1", 443, "cluster.example", False),  # an address is never matched by a name
    ("10.0.4.1", 443, "10.0.4.1/x", False),
    ("cluster.example", 443, "*.", False),  # nothing left to match
    ("cluster.example.", 443, "cluster.example", True),  # the root's dot
    ("cluster.example", 443, "..cluster.example..", True),
])
def test_no_proxy_entries_at_their_edges(host, port, no_proxy, bypassed):
    env = {"https_proxy": "http://proxy:3128", "no_proxy": no_proxy}
    assert (proxy_for("https", host, port, env) is None) == bypassed
