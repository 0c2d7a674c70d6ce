"""cluster/urls.py: what may go on the wire, a base URL in its parts, and a URL shown
without its user:password@ (pure functions)."""

import pytest

from dcos_node_ssh.cluster.urls import hide_credentials, split_base
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
