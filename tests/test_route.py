"""route.py: how to reach a node, as tables of flags and settings -> route, and a route
with its addresses -> the hop every command runs (HostKeyAlias, the ProxyCommand's shell)."""

import pytest

from dcos_node_ssh.errors import UsageError
from dcos_node_ssh.flags import RouteFlags
from dcos_node_ssh.route import (Hop, ProxyKind, Route, direct_notice, host_key_alias, needs_cluster_key, route_of,
                                 settle_user)
from dcos_node_ssh.settings import ProxyMode, Settings
from helpers import in_process

P, T = "52.34.108.176", "10.0.1.23"


def ssh_client(requested):
    return requested or "ssh"


NO_FLAGS, NO_SETTINGS = RouteFlags(), Settings()


def route(flags=NO_FLAGS, settings=NO_SETTINGS, **keywords):
    return route_of(flags, settings, choose_client=ssh_client, **keywords)


def summary(chosen: Route):
    return (chosen.user, chosen.options, chosen.proxy_options, chosen.proxy_kind, chosen.proxy_host, chosen.mode)


F, J = ProxyMode.FORWARD, ProxyMode.JUMP


@pytest.mark.parametrize("flags, settings, expected", [
    (RouteFlags(), Settings(), (None, (), (), ProxyKind.NONE, None, F)),
    (RouteFlags(master_proxy=True, user="centos", options=("A=1",)), Settings(ssh_options=("B=2", "a=3")),
     ("centos", ("A=1", "B=2"), (), ProxyKind.MASTER, None, F)),
    (RouteFlags(proxy_ip="203.0.113.5", proxy_options=("Port=2222",)), Settings(ssh_user="ops"),
     ("ops", (), ("Port=2222",), ProxyKind.FLAG, "203.0.113.5", F)),
    (RouteFlags(), Settings(ssh_proxy_ip="bastion.example.com"),
     (None, (), (), ProxyKind.CONFIG, "bastion.example.com", F)),
    (RouteFlags(proxy_ip="b"), Settings(ssh_proxy_ip="bastion.example.com"), (None, (), (), ProxyKind.FLAG, "b", F)),
    (RouteFlags(master_proxy=True), Settings(ssh_proxy_ip="bastion.example.com"),
     (None, (), (), ProxyKind.MASTER, None, F)),
    (RouteFlags(master_proxy=True, jump=True), Settings(), (None, (), (), ProxyKind.MASTER, None, J)),
    (RouteFlags(master_proxy=True), Settings(proxy_mode=J), (None, (), (), ProxyKind.MASTER, None, J)),
    (RouteFlags(user="flag"), Settings(ssh_user="setting"), ("flag", (), (), ProxyKind.NONE, None, F)),
    (RouteFlags(proxy_ip="2001:DB8::1"), Settings(), (None, (), (), ProxyKind.FLAG, "2001:db8::1", F)),
], ids=["nothing", "master-proxy", "proxy-ip", "configured-proxy", "flag-over-configured", "master-over-configured",
        "jump-flag", "jump-setting", "user-flag-over-setting", "ipv6-normalised"])
def test_route_from_flags_and_settings(flags, settings, expected):
    assert summary(route(flags, settings)) == expected


def test_commands_that_always_jump():
    assert route(RouteFlags(master_proxy=True), jump=True).mode is J
    assert route(RouteFlags(), Settings(proxy_mode=F), jump=True).forwarding is False


NO_PROXY = "is about the connection to a proxy, and there is none: add --master-proxy or --proxy-ip=<host>."


@pytest.mark.parametrize("flags, settings, message", [
    (RouteFlags(proxy_options=("Port=2",)), Settings(), "--proxy-option " + NO_PROXY),
    (RouteFlags(jump=True), Settings(), "--jump " + NO_PROXY),
    (RouteFlags(proxy_ip="-oProxyCommand=x"), Settings(), "--proxy-ip must be an IP address or a host name"),
    (RouteFlags(), Settings(ssh_proxy_ip="a b"), "the ssh_proxy_ip setting"),
    (RouteFlags(user="a b"), Settings(), "The SSH user from --user must be a plain user name"),
    (RouteFlags(), Settings(ssh_user="-x"), "the ssh_user setting"),
    (RouteFlags(options=("NoEquals",)), Settings(), "The ssh option 'NoEquals' from --option is not of the form "
                                                     "Key=Value"),
    (RouteFlags(), Settings(ssh_options=("bad",)), "ssh_options setting"),
    (RouteFlags(proxy_options=("A=1\n",), proxy_ip="b"), Settings(), "The ssh option 'A=1\\n' from --proxy-option "
                                                                     "holds a line break"),
    (RouteFlags(config_file="/nonexistent/config"), Settings(), "which is not a file"),
    (RouteFlags(master_proxy=True, jump=True, ssh_client="plink"), Settings(), (
        "Jump mode needs OpenSSH's ssh for the first hop (plink cannot pass options to the jump connection); leave out "
        "--ssh-client=plink, or use agent forwarding.")),
])
def test_route_refuses(flags, settings, message):
    with pytest.raises(UsageError) as caught:
        route(flags, settings)
    assert message in str(caught.value)


def test_plink_is_told_apart_by_name_or_path():
    assert route(RouteFlags(ssh_client="C:\\PuTTY\\plink.exe")).plink
    assert not route(RouteFlags(ssh_client="/usr/bin/ssh")).plink
    # plink forwards the agent through a proxy; only jump mode needs OpenSSH
    assert route(RouteFlags(master_proxy=True, ssh_client="plink")).forwarding


@pytest.mark.parametrize("proxy, mode, cluster, alias", [
    (P, J, "c1", f"dcos-c1-{T}"),
    (P, J, None, None),  # the cluster cannot say: the key stays under the address
    (P, F, "c1", None),  # forwarding: the proxy checks the node's key in its own known_hosts
    (None, J, "c1", None),  # directly: the address is the node's own
])
def test_one_host_key_alias_rule(proxy, mode, cluster, alias):
    chosen = route(RouteFlags(proxy_ip=P), Settings(proxy_mode=mode))
    assert host_key_alias(chosen, proxy, cluster, T) == alias
    assert Hop(chosen, proxy, T, cluster).host_key_alias == alias


@pytest.mark.parametrize("mode, url, needed", [(J, "https://c", True), (F, "https://c", False), (J, None, False)])
def test_the_cluster_is_asked_for_its_identity_only_for_an_alias(mode, url, needed):
    chosen = route(RouteFlags(proxy_ip=P), Settings(proxy_mode=mode, dcos_url=url))
    assert needs_cluster_key(chosen, Settings(dcos_url=url)) is needed
    assert needs_cluster_key(route(), Settings(dcos_url=url)) is False


def test_a_jump_through_a_proxy_runs_its_proxycommand_with_sh():
    jumping = route(RouteFlags(proxy_ip=P, jump=True))
    assert Hop(jumping, P, T).env_changes == {"SHELL": "/bin/sh"}
    assert Hop(route(RouteFlags(proxy_ip=P)), P, T).env_changes == {}
    assert Hop(route(), None, T).env_changes == {}


def test_the_hop_plans_with_every_choice(tmp_path):
    config = tmp_path / "config"
    config.write_text("")
    chosen = route(RouteFlags(proxy_ip=P, jump=True, user="ops", options=("A=1",), proxy_options=("Port=2",),
                              ssh_client="/opt/ssh/bin/ssh", config_file=str(config)))
    plan = Hop(chosen, P, T, "c1").plan(tty=False, command=("uptime",))
    assert (plan.target, plan.user, plan.proxy, plan.options, plan.proxy_options, plan.jump, plan.tty,
            plan.command, plan.host_key_alias, plan.client, plan.config_file) == (
        T, "ops", P, ("A=1",), ("Port=2",), True, False, ("uptime",), f"dcos-c1-{T}", "/opt/ssh/bin/ssh", str(config))
    assert Hop(route(), None, T).plan(tty=True).user == "core"  # settled nowhere: the default


def test_settle_user_keeps_a_chosen_user_and_defaults_to_core():
    assert settle_user(route(RouteFlags(user="ops")), T, {}).user == "ops"
    assert settle_user(route(), T, {}).user == "core"


def test_settle_user_takes_the_user_of_the_config_file(tmp_path):
    import shutil

    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH's ssh is not installed (Debian package openssh-client)")
    config = tmp_path / "config"
    config.write_text(f"Host {T}\n    User fromfile\n")
    chosen = route(RouteFlags(config_file=str(config)))
    assert settle_user(chosen, T, {"PATH": "/usr/bin:/bin"}).user == "fromfile"
    assert settle_user(chosen, "10.9.9.9", {"PATH": "/usr/bin:/bin"}).user == "core"


def test_a_user_of_the_config_file_that_is_no_plain_name_is_refused_as_the_file_sets_it(tmp_path):
    """`User "a b"`: ssh -G says `user a b`; the whole name is read, and refused."""
    import shutil

    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH's ssh is not installed (Debian package openssh-client)")
    config = tmp_path / "config"
    config.write_text(f'Host {T}\n    User "a b"\n')
    with pytest.raises(UsageError) as caught:
        settle_user(route(RouteFlags(config_file=str(config))), T, {"PATH": "/usr/bin:/bin"})
    assert str(caught.value) == (
        f"The SSH user from the User of {config} must be a plain user name (letters, digits, '_', '.', '-'; not "
        "starting with '-'), not 'a b'.")


def test_one_notice_for_direct_connections():
    assert direct_notice("10.0.1.23") == ("Connecting directly to 10.0.1.23. If it cannot be reached from here, add "
                                          "--master-proxy to hop through the master, or --proxy-ip=<bastion>.")


@pytest.mark.parametrize("config_path, where", [
    (None, "the environment"),
    ("/h/.dcos/dcos.toml", "/h/.dcos/dcos.toml"),
])
def test_a_bad_configured_user_names_where_it_may_have_come_from(config_path, where):
    with pytest.raises(UsageError) as caught:
        route_of(RouteFlags(), Settings(ssh_user="a b", config_path=config_path), choose_client=lambda name: "ssh")
    assert str(caught.value) == (
        f"The SSH user from the ssh_user setting ({where}, DCOS_NODES_SSH_USER or DCOS_NODE_SSH_USER) must be a "
        "plain user name (letters, digits, '_', '.', '-'; not starting with '-'), not 'a b'.")


@pytest.mark.parametrize("value", ["", "a b"])
def test_a_private_ip_that_names_no_host_is_refused_naming_the_flag(home, value):
    result = in_process(home, ["node", "ssh", f"--private-ip={value}", "--dry-run"])
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == (
        f"dcos node ssh: --private-ip must be an IP address or a host name, not '{value}'.")
