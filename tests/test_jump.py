"""Jump mode (`--jump`): the exact argument lists, and the ProxyCommand as a shell reads it."""

import hashlib
import os
import re
import subprocess

import pytest

from dcos_node_ssh.settings import ProxyMode, settings_from
from dcos_node_ssh.errors import ConfigError
from dcos_node_ssh.openssh.hops import SshPlan, build_argv, cluster_key, host_key_alias, proxy_command

P, T = "52.34.108.176", "10.0.1.23"


@pytest.mark.parametrize("fields, expected", [
    pytest.param(dict(), ["ssh", "-t", "-o", f"ProxyCommand=ssh -W '[%h]:%p' core@{P}", f"core@{T}"], id="login"),
    pytest.param(dict(command=("uptime",), tty=False),
                 ["ssh", "-T", "-o", f"ProxyCommand=ssh -W '[%h]:%p' core@{P}", f"core@{T}", "uptime"],
                 id="command"),
    pytest.param(dict(options=("StrictHostKeyChecking=yes",), proxy_options=("Port=2222",)),
                 ["ssh", "-t", "-o", f"ProxyCommand=ssh -o Port=2222 -o StrictHostKeyChecking=yes -W '[%h]:%p' "
                  f"core@{P}", "-o", "StrictHostKeyChecking=yes", f"core@{T}"],
                 id="options-reach-both-connections-proxy-options-the-jump-only"),
    pytest.param(dict(config_file="/home/me/.ssh/dcos config", user="centos"),
                 ["ssh", "-t", "-F", "/home/me/.ssh/dcos config", "-o",
                  f"ProxyCommand=ssh -F '/home/me/.ssh/dcos config' -W '[%h]:%p' centos@{P}", f"centos@{T}"],
                 id="config-file-is-local-so-both"),
    pytest.param(dict(command=("-V",), tty=False),
                 ["ssh", "-T", "-o", f"ProxyCommand=ssh -W '[%h]:%p' core@{P}", "--", f"core@{T}", "-V"],
                 id="dash-command"),
    pytest.param(dict(target="2001:db8::5"),
                 ["ssh", "-t", "-o", f"ProxyCommand=ssh -W '[%h]:%p' core@{P}", "core@2001:db8::5"], id="ipv6"),
    pytest.param(dict(host_key_alias=f"dcos-c1-{T}", options=("StrictHostKeyChecking=yes",)),
                 ["ssh", "-t", "-o", f"ProxyCommand=ssh -o StrictHostKeyChecking=yes -W '[%h]:%p' core@{P}",
                  "-o", f"HostKeyAlias=dcos-c1-{T}", "-o", "StrictHostKeyChecking=yes", f"core@{T}"],
                 id="host-key-alias-for-the-node-only-not-the-proxy"),
])
def test_jump_argument_lists(fields, expected):
    fields.setdefault("target", T)
    fields.setdefault("user", "core")
    assert build_argv(SshPlan(proxy=P, jump=True, **fields)) == expected


def test_no_agent_is_forwarded_in_jump_mode():
    argv = build_argv(SshPlan(target=T, user="core", proxy=P, jump=True))
    assert "-A" not in argv and not any("-A" in word.split() for word in argv)


def test_direct_with_jump_mode_configured_forwards_nothing():
    assert build_argv(SshPlan(target=T, user="core", jump=True)) == ["ssh", "-t", f"core@{T}"]


def test_host_key_alias_is_for_jump_mode_only():
    """Forwarding: the proxy checks the node's key (its own known_hosts); direct: the address is unique."""
    for plan in (SshPlan(target=T, user="core", proxy=P, host_key_alias="dcos-c1-x"),
                 SshPlan(target=T, user="core", jump=True, host_key_alias="dcos-c1-x")):
        assert not any("HostKeyAlias" in word for word in build_argv(plan))


@pytest.mark.parametrize("cluster_id, url_host, expected", [
    ("8e36f3c5-2a6e-4c6f-9f10-3b1e7a5d9c21", "52.34.108.176", "8e36f3c5-2a6e-4c6f-9f10-3b1e7a5d9c21"),
    (" prod-1 ", None, "prod-1"),
    # An AWS ARN (':' and '/'), or anything else that is not a plain name: a digest of it.
    ("arn:aws:cloudformation:us-west-2:1:stack/x/y", None,
     hashlib.sha256(b"arn:aws:cloudformation:us-west-2:1:stack/x/y").hexdigest()[:16]),
    ("a b\nHost *", "h", hashlib.sha256(b"a b\nHost *").hexdigest()[:16]),
    ("-oProxyCommand=x", "h", hashlib.sha256(b"-oProxyCommand=x").hexdigest()[:16]),
    ("x" * 65, "h", hashlib.sha256(b"x" * 65).hexdigest()[:16]),
    # No ID: the host of core.dcos_url names the cluster; neither: no alias.
    (None, "dcos.example.com", "dcos.example.com"),
    ("", "52.34.108.176", "52.34.108.176"),
    (42, None, None),
])
def test_cluster_key(cluster_id, url_host, expected):
    assert cluster_key(cluster_id, url_host) == expected


def test_host_key_alias():
    assert host_key_alias("c1", "10.0.1.23") == "dcos-c1-10.0.1.23"
    assert host_key_alias("c1", "2001:db8::5") == "dcos-c1-2001:db8::5"
    assert host_key_alias(None, "10.0.1.23") is None


def ssh_expands(command, host, port):
    """What OpenSSH does to a ProxyCommand before the shell: %h, %p and %% (one pass)."""
    return re.sub(r"%([hp%])", lambda match: {"h": host, "p": port, "%": "%"}[match.group(1)], command)


HOSTILE_OPTIONS = [
    "ProxyCommand=nc -X connect -x proxy.example.com:3128 %h %p",
    "IdentityFile=/home/me/my keys/it's here.pem",
    "SetEnv=X=\"$(touch /tmp/never)\" `id` ; rm -rf ~ & | > < * ? [a] ~ ! # %d %%",
    "RemoteCommand=none",
]


@pytest.mark.parametrize("client", ["ssh", "/opt/open ssh/bin/ssh"])
def test_proxy_command_words_survive_the_shell(tmp_path, client):
    """Each word of the jump connection reaches it exactly, whatever it holds, and the
    target's brackets are not a glob even next to a file they would match."""
    plan = SshPlan(target="2001:db8::5", user="core", proxy=P, jump=True, options=tuple(HOSTILE_OPTIONS[:2]),
                   proxy_options=tuple(HOSTILE_OPTIONS[2:]), client=client)
    (tmp_path / "2:22").write_text("")  # what an unquoted [2001:db8::5]:22 would match
    line = ssh_expands(proxy_command(plan), "2001:db8::5", "22")
    result = subprocess.run(["sh", "-c", "set -- " + line + '; for w in "$@"; do printf "%s\\0" "$w"; done'],
                            capture_output=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    words = result.stdout.decode().split("\0")[:-1]
    expected = [client]
    for option in HOSTILE_OPTIONS[2:] + HOSTILE_OPTIONS[:2]:
        expected += ["-o", option]
    assert words == expected + ["-W", "[2001:db8::5]:22", f"core@{P}"]
    assert not os.path.exists("/tmp/never")


@pytest.mark.parametrize("value, mode", [(None, "forward"), ("forward", "forward"), ("jump", "jump")])
def test_proxy_mode_setting(value, mode):
    node = {"proxy_mode": value} if value else {}
    assert settings_from({"node": node}, {}, "f").proxy_mode is ProxyMode(mode)
    assert settings_from({}, {"DCOS_NODE_PROXY_MODE": mode}, None).proxy_mode is ProxyMode(mode)


def test_bad_proxy_mode():
    with pytest.raises(ConfigError, match='must be "forward" or "jump"'):
        settings_from({"node": {"proxy_mode": "tunnel"}}, {}, "/home/me/.dcos/dcos.toml")
