"""cluster/urls.py: what may go on the wire, a base URL in its parts, and a URL shown
without its user:password@ (pure functions)."""

import pytest

from dcos_node_ssh.cluster.urls import bracketed, digits, hide_credentials, split_base, visible_ascii
from dcos_node_ssh.errors import ConfigError


@pytest.mark.parametrize("typed, shown", [
    ("https://admin:s3cret@cluster.example/x", "https://cluster.example/x"),
    # a password may hold '/' and '@': all before the last '@' goes
    ("https://admin:a/b@c@cluster.example", "https://cluster.example"),
    # the scheme ends at the first "://", however many follow
    ("https://admin:s3cret@cluster.example/x?next=ftp://y", "https://cluster.example/x?next=ftp://y"),
    ("admin:s3cret@cluster.example", "cluster.example"),  # no scheme
    ("cluster.example", "cluster.example"),
])
def test_a_url_is_shown_without_its_credentials(typed, shown):
    assert hide_credentials(typed) == shown


def test_a_url_that_is_not_http_is_refused_without_its_password():
    with pytest.raises(ConfigError) as caught:
        split_base("ftp://admin:s3cret@cluster.example/x?next=ftp://y", "core.dcos_url")
    assert str(caught.value) == (
        "core.dcos_url is 'ftp://cluster.example/x?next=ftp://y', which is not an http:// or https:// URL. Set it "
        "with `dcos config set core.dcos_url https://<master address>`.")


@pytest.mark.parametrize("url, parts, authority", [
    ("https://cluster.example", ("https", "cluster.example", 443, "", "https://cluster.example"), "cluster.example"),
    ("http://cluster.example", ("http", "cluster.example", 80, "", "http://cluster.example"), "cluster.example"),
    # the path without its trailing slashes; the display without the credentials
    ("http://admin:s3cret@10.0.0.1:8080/prefix//", ("http", "10.0.0.1", 8080, "/prefix", "http://10.0.0.1:8080/prefix"),
     "10.0.0.1:8080"),
    ("https://[fd00::1]:8443/x", ("https", "fd00::1", 8443, "/x", "https://[fd00::1]:8443/x"), "[fd00::1]:8443"),
    ("https://[fd00::1]", ("https", "fd00::1", 443, "", "https://[fd00::1]"), "[fd00::1]"),
    # the Host header names a port only when it is not the scheme's own
    ("https://cluster.example:443/", ("https", "cluster.example", 443, "", "https://cluster.example:443"),
     "cluster.example"),
    ("http://cluster.example:443", ("http", "cluster.example", 443, "", "http://cluster.example:443"),
     "cluster.example:443"),
    ("https://cluster.example:80", ("https", "cluster.example", 80, "", "https://cluster.example:80"),
     "cluster.example:80"),
    ("http://h:1", ("http", "h", 1, "", "http://h:1"), "h:1"),
    ("https://cluster.example/SANDBOX/", ("https", "cluster.example", 443, "/SANDBOX", "https://cluster.example/SANDBOX"),
     "cluster.example"),  # only slashes are stripped
])
def test_a_base_url_in_its_parts(url, parts, authority):
    base = split_base(url, "core.dcos_url")
    assert tuple(base) == parts and base.authority == authority


@pytest.mark.parametrize("url", [
    "https://cluster.example:0", "https://cluster.example:65536", "https://cluster.example:port", "https://",
    "https://:443/x", "https://cluster example", "https://cluster.example/\x7f", "https://cluster.example/\x00",
    "cluster.example", "file:///etc/passwd", "",
])
def test_anything_but_a_plain_http_url_is_refused(url):
    with pytest.raises(ConfigError) as caught:
        split_base(url, "core.mesos_master_url")
    assert str(caught.value) == (
        f"core.mesos_master_url is {url!r}, which is not an http:// or https:// URL. Set it with "
        "`dcos config set core.mesos_master_url https://<master address>`.")


def test_a_url_outside_ascii_is_refused_with_how_to_write_it():
    with pytest.raises(ConfigError) as caught:
        split_base("https://admin:pässword@clüster.example/x", "core.dcos_url")
    assert str(caught.value) == (
        "core.dcos_url is 'https://clüster.example/x', which holds characters outside ASCII. Write an "
        "internationalised host name in its xn-- form (as `idn2` or a browser's address bar shows it), and "
        "percent-encode the path.")


@pytest.mark.parametrize("text, visible", [
    ("", True), ("!", True), ("~", True), ("a-Z_0/9?x=%20", True),
    (" ", False), ("a b", False), ("\x7f", False), ("\t", False), ("é", False), ("a\r\nb", False),
])
def test_visible_ascii(text, visible):
    assert visible_ascii(text) is visible


@pytest.mark.parametrize("text, is_digits", [
    ("0", True), ("9", True), ("0123456789", True),
    ("", False), ("/", False), (":", False), ("²", False), ("\u0662", False), ("1a", False), (" 1", False),
])
def test_digits_are_ascii_digits_only(text, is_digits):
    assert digits(text) is is_digits


@pytest.mark.parametrize("host, written", [
    ("cluster.example", "cluster.example"), ("10.0.0.1", "10.0.0.1"), ("fd00::1", "[fd00::1]"),
])
def test_an_ipv6_host_is_bracketed(host, written):
    assert bracketed(host) == written
