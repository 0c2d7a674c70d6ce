"""Unit tests for dcos_node_ssh.settings: finding, reading and merging the DC/OS CLI configuration.

settings_from is pure; the file functions run against real temporary directories.
"""

import os

import pytest

from dcos_node_ssh.settings import (
    DEFAULT_SSH_USER,
    DEFAULT_TIMEOUT,
    Settings,
    find_config_file,
    load_settings,
    read_config_file,
    settings_from,
    token_file_warning,
)
from dcos_node_ssh.errors import ConfigError

PATH = "/home/me/.dcos/clusters/abc/dcos.toml"


def settings(file_values=None, env=None, path=PATH):
    return settings_from(file_values or {}, env or {}, path)


# --- settings_from: defaults ------------------------------------------------------

def test_defaults_with_nothing_configured():
    assert DEFAULT_SSH_USER == "core"
    assert DEFAULT_TIMEOUT == 5.0
    assert settings_from({}, {}, None) == Settings(
        dcos_url=None,
        acs_token=None,
        ssl_verify=True,
        timeout=5.0,
        mesos_master_url=None,
        ssh_user=None,  # configured nowhere: the command chooses (a --config-file's User, else core)
        ssh_proxy_ip=None,
        ssh_options=(),
        config_path=None,
    )


def test_full_file_without_environment():
    values = {
        "core": {
            "dcos_url": "https://dcos.example.com/",
            "dcos_acs_token": "tok-file",
            "ssl_verify": "false",
            "timeout": 12,
            "mesos_master_url": "http://10.0.4.1:5050/",
            "ssh_user": "centos",
            "ssh_proxy_ip": "52.34.108.176",
        },
        "node": {"ssh_options": ["StrictHostKeyChecking=no", "ProxyCommand=nc %h %p"]},
    }
    assert settings_from(values, {}, PATH) == Settings(
        dcos_url="https://dcos.example.com",
        acs_token="tok-file",
        ssl_verify=False,
        timeout=12.0,
        mesos_master_url="http://10.0.4.1:5050",
        ssh_user="centos",
        ssh_proxy_ip="52.34.108.176",
        ssh_options=("StrictHostKeyChecking=no", "ProxyCommand=nc %h %p"),
        config_path=PATH,
    )


# --- settings_from: precedence ------------------------------------------------------

@pytest.mark.parametrize(
    "file_values, env, expected",
    [
        ({}, {}, None),
        ({"core": {"ssh_user": "centos"}}, {}, "centos"),
        ({"node": {"ssh_user": "admin"}}, {}, "admin"),
        ({"core": {"ssh_user": "centos"}, "node": {"ssh_user": "admin"}}, {}, "admin"),
        ({"core": {"ssh_user": "centos"}, "node": {"ssh_user": "admin"}}, {"DCOS_NODE_SSH_USER": "ops"}, "ops"),
        ({}, {"DCOS_NODE_SSH_USER": "ops"}, "ops"),
        ({"node": {"ssh_user": "admin"}}, {"DCOS_NODE_SSH_USER": "  "}, "admin"),
        ({"node": {"ssh_user": "admin"}}, {"DCOS_NODE_SSH_USER": ""}, "admin"),
        ({}, {"DCOS_NODE_SSH_USER": " ops\n"}, "ops"),
        ({"core": {"ssh_user": "  centos "}}, {}, "centos"),
        ({"core": {"ssh_user": ""}}, {}, None),
        ({}, {"DCOS_SSH_USER": "ignored", "USER": "me"}, None),
    ],
    ids=[
        "default",
        "core",
        "node",
        "node-over-core",
        "env-over-node-and-core",
        "env-alone",
        "blank-env-ignored",
        "empty-env-ignored",
        "env-stripped",
        "file-stripped",
        "empty-file-value-default",
        "other-variables-ignored",
    ],
)
def test_ssh_user_precedence(file_values, env, expected):
    assert settings(file_values, env).ssh_user == expected


@pytest.mark.parametrize(
    "file_values, env, expected",
    [
        ({}, {}, None),
        ({"core": {"ssh_proxy_ip": "52.34.108.176"}}, {}, "52.34.108.176"),
        ({"node": {"ssh_proxy_ip": "bastion.example.com"}}, {}, "bastion.example.com"),
        (
            {"core": {"ssh_proxy_ip": "52.34.108.176"}, "node": {"ssh_proxy_ip": "bastion.example.com"}},
            {},
            "bastion.example.com",
        ),
        (
            {"core": {"ssh_proxy_ip": "52.34.108.176"}, "node": {"ssh_proxy_ip": "bastion.example.com"}},
            {"DCOS_NODE_SSH_PROXY_IP": "10.9.9.9"},
            "10.9.9.9",
        ),
        ({"node": {"ssh_proxy_ip": "bastion.example.com"}}, {"DCOS_NODE_SSH_PROXY_IP": " "}, "bastion.example.com"),
        ({"core": {"ssh_proxy_ip": ""}}, {}, None),
    ],
    ids=["none", "core", "node", "node-over-core", "env-over-all", "blank-env-ignored", "empty-file-value"],
)
def test_ssh_proxy_ip_precedence(file_values, env, expected):
    assert settings(file_values, env).ssh_proxy_ip == expected


@pytest.mark.parametrize(
    "file_values, env, expected",
    [
        ({}, {}, None),
        ({"core": {"dcos_url": "https://dcos.example.com"}}, {}, "https://dcos.example.com"),
        ({"core": {"dcos_url": "https://dcos.example.com/"}}, {}, "https://dcos.example.com"),
        ({"core": {"dcos_url": "https://dcos.example.com/"}}, {"DCOS_URL": "http://10.0.4.1/"}, "http://10.0.4.1"),
        ({}, {"DCOS_URL": "https://other.example.com//"}, "https://other.example.com"),
        ({"core": {"dcos_url": "https://dcos.example.com"}}, {"DCOS_URL": "  "}, "https://dcos.example.com"),
        ({"core": {"dcos_url": " https://dcos.example.com/acs/ "}}, {}, "https://dcos.example.com/acs"),
        ({"core": {"dcos_url": ""}}, {}, None),
    ],
    ids=["none", "file", "file-trailing-slash", "env-over-file", "env-slashes", "blank-env", "stripped", "empty"],
)
def test_dcos_url(file_values, env, expected):
    assert settings(file_values, env).dcos_url == expected


@pytest.mark.parametrize(
    "file_values, env, expected",
    [
        ({}, {}, None),
        ({"core": {"dcos_acs_token": "tok-file"}}, {}, "tok-file"),
        ({"core": {"dcos_acs_token": "tok-file"}}, {"DCOS_ACS_TOKEN": "tok-env"}, "tok-env"),
        ({}, {"DCOS_ACS_TOKEN": "tok-env"}, "tok-env"),
        ({"core": {"dcos_acs_token": "tok-file"}}, {"DCOS_ACS_TOKEN": ""}, "tok-file"),
        ({"core": {"dcos_acs_token": ""}}, {}, None),
    ],
)
def test_acs_token(file_values, env, expected):
    assert settings(file_values, env).acs_token == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("http://10.0.4.1:5050", "http://10.0.4.1:5050"),
        ("http://10.0.4.1:5050/", "http://10.0.4.1:5050"),
        ("", None),
        ("/", None),
    ],
)
def test_mesos_master_url(value, expected):
    core = {} if value is None else {"mesos_master_url": value}
    assert settings({"core": core}).mesos_master_url == expected


def test_config_path_is_kept():
    assert settings({}, {}, "/x/dcos.toml").config_path == "/x/dcos.toml"


# --- settings_from: TLS verification --------------------------------------------------

@pytest.mark.parametrize(
    "value, expected",
    [
        (None, True),
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        (" false ", False),
        ("", True),
        ("/etc/ssl/dcos-ca.pem", "/etc/ssl/dcos-ca.pem"),
        ("C:\\certs\\ca.crt", "C:\\certs\\ca.crt"),
    ],
)
def test_ssl_verify_from_file(value, expected):
    core = {} if value is None else {"ssl_verify": value}
    assert settings({"core": core}).ssl_verify == expected


@pytest.mark.parametrize(
    "file_value, env, expected",
    [
        (True, {"DCOS_SSL_VERIFY": "false"}, False),
        ("false", {"DCOS_SSL_VERIFY": "true"}, True),
        ("false", {"DCOS_SSL_VERIFY": "/env/ca.pem"}, "/env/ca.pem"),
        ("/file/ca.pem", {"DCOS_SSL_VERIFY": " "}, "/file/ca.pem"),
        (True, {"DCOS_TLS_CA_PATH": "/tls/ca.pem"}, "/tls/ca.pem"),
        ("false", {"DCOS_TLS_CA_PATH": " /tls/ca.pem "}, "/tls/ca.pem"),
        (True, {"DCOS_SSL_VERIFY": "false", "DCOS_TLS_CA_PATH": "/tls/ca.pem"}, "/tls/ca.pem"),
        (True, {"DCOS_TLS_INSECURE": "1"}, False),
        (True, {"DCOS_TLS_INSECURE": "true"}, False),
        (True, {"DCOS_TLS_INSECURE": "TRUE"}, False),
        (True, {"DCOS_TLS_INSECURE": "yes"}, False),
        ("/file/ca.pem", {"DCOS_TLS_INSECURE": "1", "DCOS_TLS_CA_PATH": "/tls/ca.pem"}, False),
        (True, {"DCOS_TLS_INSECURE": "0"}, True),
        (True, {"DCOS_TLS_INSECURE": "false"}, True),
        (True, {"DCOS_TLS_INSECURE": ""}, True),
        ("/file/ca.pem", {"DCOS_TLS_INSECURE": "no"}, "/file/ca.pem"),
    ],
)
def test_ssl_verify_environment(file_value, env, expected):
    assert settings({"core": {"ssl_verify": file_value}}, env).ssl_verify == expected


@pytest.mark.parametrize("value", [["a"], {"path": "x"}])
def test_ssl_verify_bad_type(value):
    with pytest.raises(ConfigError) as caught:
        settings({"core": {"ssl_verify": value}})
    assert "core.ssl_verify" in str(caught.value)
    assert PATH in str(caught.value)


# --- settings_from: timeout -------------------------------------------------------------

@pytest.mark.parametrize(
    "value, expected",
    [(None, 5.0), (10, 10.0), (2.5, 2.5), ("7", 7.0), ("0.5", 0.5), (1e-3, 0.001)],
)
def test_timeout(value, expected):
    core = {} if value is None else {"timeout": value}
    assert settings({"core": core}).timeout == expected


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        "0",
        "-2.5",
        "soon",
        "",
        "nan",
        [5],
        {"seconds": 5},
        True,
        "inf",
    ],
)
def test_timeout_bad_values(value):
    with pytest.raises(ConfigError) as caught:
        settings({"core": {"timeout": value}})
    assert "core.timeout" in str(caught.value)
    assert PATH in str(caught.value)


def test_timeout_is_not_read_from_environment_variables_of_other_tools():
    assert settings({}, {"DCOS_TIMEOUT": "30", "TIMEOUT": "30"}).timeout == 5.0


# --- settings_from: ssh options --------------------------------------------------------

@pytest.mark.parametrize(
    "file_value, expected",
    [
        (None, ()),
        ([], ()),
        (["StrictHostKeyChecking=no"], ("StrictHostKeyChecking=no",)),
        (["A=1", "ProxyCommand=nc %h %p"], ("A=1", "ProxyCommand=nc %h %p")),
        ("ProxyCommand=nc %h %p", ("ProxyCommand=nc %h %p",)),
    ],
)
def test_ssh_options_from_file(file_value, expected):
    node = {} if file_value is None else {"ssh_options": file_value}
    assert settings({"node": node}).ssh_options == expected


@pytest.mark.parametrize("file_value", [5, True, {"A": "1"}, ["A=1", 2], [["A=1"]], [None]])
def test_ssh_options_from_file_bad_type(file_value):
    with pytest.raises(ConfigError) as caught:
        settings({"node": {"ssh_options": file_value}})
    assert "node.ssh_options" in str(caught.value)
    assert PATH in str(caught.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('["A=1", "ProxyCommand=nc %h %p"]', ("A=1", "ProxyCommand=nc %h %p")),
        ('  ["A=1"]\n', ("A=1",)),
        ("[]", ()),
        ("StrictHostKeyChecking=no", ("StrictHostKeyChecking=no",)),
        ("A=1\n  ProxyCommand=nc %h %p  \n\nB=2\n", ("A=1", "ProxyCommand=nc %h %p", "B=2")),
        ("A=1\r\nB=2", ("A=1", "B=2")),
    ],
    ids=["json", "json-padded", "json-empty", "one-line", "lines", "crlf"],
)
def test_ssh_options_from_environment(text, expected):
    file_values = {"node": {"ssh_options": ["FromFile=1"]}}
    assert settings(file_values, {"DCOS_NODE_SSH_OPTIONS": text}).ssh_options == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_ssh_options_environment_falls_back_to_file(text):
    file_values = {"node": {"ssh_options": ["FromFile=1"]}}
    assert settings(file_values, {"DCOS_NODE_SSH_OPTIONS": text}).ssh_options == ("FromFile=1",)


@pytest.mark.parametrize("text", ["[A=1", '["A=1",]', "[1, 2]", '["A=1", null]', '[["A=1"]]', "[", '["A=1"] x'])
def test_ssh_options_environment_bad_json(text):
    with pytest.raises(ConfigError) as caught:
        settings({}, {"DCOS_NODE_SSH_OPTIONS": text})
    assert "DCOS_NODE_SSH_OPTIONS" in str(caught.value)


# --- settings_from: the [nodes] section beside [node] -------------------------------------

@pytest.mark.parametrize(
    "file_values, env, expected",
    [
        ({"nodes": {"ssh_user": "new"}}, {}, "new"),
        ({"nodes": {"ssh_user": "new"}, "node": {"ssh_user": "old"}}, {}, "new"),
        ({"nodes": {"ssh_user": "new"}}, {"DCOS_NODE_SSH_USER": "old-env"}, "new"),
        ({"node": {"ssh_user": "old"}}, {"DCOS_NODES_SSH_USER": "new-env"}, "new-env"),
        ({"nodes": {"ssh_user": "new"}}, {"DCOS_NODES_SSH_USER": "new-env"}, "new-env"),
        ({}, {"DCOS_NODES_SSH_USER": "new-env", "DCOS_NODE_SSH_USER": "old-env"}, "new-env"),
        ({"node": {"ssh_user": "old"}}, {"DCOS_NODE_SSH_USER": "old-env"}, "old-env"),
        ({"core": {"ssh_user": "centos"}, "nodes": {"ssh_user": ""}}, {}, "centos"),
    ],
    ids=["nodes", "nodes-over-node", "nodes-file-over-node-env", "nodes-env-over-node-file", "nodes-env-over-file",
         "nodes-env-over-node-env", "node-env-over-node-file", "empty-nodes-falls-through"],
)
def test_nodes_section_wins_over_node_each_variable_before_its_file(file_values, env, expected):
    assert settings(file_values, env).ssh_user == expected


@pytest.mark.parametrize("section", ["nodes", "node"])
def test_go_cli_copy_of_a_file_list_is_read_from_the_file(section):
    # The Go CLI passes [nodes] ssh_options = ["A=1", "ProxyCommand=nc %h %p"] as Go's %v of the list.
    options = ["A=1", "ProxyCommand=nc %h %p"]
    variable = f"DCOS_{section.upper()}_SSH_OPTIONS"
    env = {variable: "[A=1 ProxyCommand=nc %h %p]"}
    assert settings({section: {"ssh_options": options}}, env).ssh_options == tuple(options)


def test_a_variable_that_differs_from_the_file_is_the_users():
    env = {"DCOS_NODES_SSH_OPTIONS": '["B=2"]'}
    assert settings({"nodes": {"ssh_options": ["A=1"]}}, env).ssh_options == ("B=2",)


def test_go_rendering():
    from dcos_node_ssh.settings import go_rendering

    assert go_rendering(["A=1", "B=2 3"]) == "[A=1 B=2 3]"
    assert go_rendering([]) == "[]"
    assert (go_rendering(True), go_rendering(False), go_rendering("jump"), go_rendering(5)) == ("true", "false",
                                                                                                "jump", "5")


def test_config_schema_is_the_nodes_section():
    from dcos_node_ssh.settings import config_schema

    schema = config_schema()
    assert "[nodes]" in schema["title"]
    assert sorted(schema["properties"]) == ["proxy_mode", "ssh_options", "ssh_proxy_ip", "ssh_user"]
    assert schema["additionalProperties"] is False


# --- settings_from: malformed sections and values ----------------------------------------

@pytest.mark.parametrize("section", ["core", "node"])
@pytest.mark.parametrize("value", ["https://dcos.example.com", ["x"], 5])
def test_section_not_a_table(section, value):
    with pytest.raises(ConfigError) as caught:
        settings({section: value})
    message = str(caught.value)
    assert f"`{section}`" in message
    assert PATH in message
    assert f"[{section}]" in message


@pytest.mark.parametrize(
    "file_values, key",
    [
        ({"core": {"dcos_url": True}}, "core.dcos_url"),
        ({"core": {"dcos_url": ["https://a"]}}, "core.dcos_url"),
        ({"core": {"dcos_acs_token": {"t": 1}}}, "core.dcos_acs_token"),
        ({"core": {"mesos_master_url": False}}, "core.mesos_master_url"),
        ({"node": {"ssh_user": ["core"]}}, "ssh_user"),
        ({"core": {"ssh_proxy_ip": True}}, "ssh_proxy_ip"),
    ],
)
def test_non_string_values(file_values, key):
    with pytest.raises(ConfigError) as caught:
        settings(file_values)
    assert key in str(caught.value)
    assert PATH in str(caught.value)


def test_error_source_without_config_path():
    with pytest.raises(ConfigError) as caught:
        settings_from({"core": {"timeout": "soon"}}, {}, None)
    assert "the configuration" in str(caught.value)


# --- find_config_file --------------------------------------------------------------------

def write(path, text="", mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def attach(home, cluster_id, with_toml=True):
    folder = home / ".dcos" / "clusters" / cluster_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "attached").write_text("")
    if with_toml:
        write(folder / "dcos.toml", '[core]\ndcos_url = "https://%s.example.com"\n' % cluster_id)
    return folder


def test_find_nothing_configured(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert find_config_file({}, str(home)) is None


def test_find_with_missing_home(tmp_path):
    assert find_config_file({}, str(tmp_path / "no-such-home")) is None


def test_find_dcos_config_wins(tmp_path):
    home = tmp_path / "home"
    attach(home, "abc")
    write(home / ".dcos" / "dcos.toml")
    named = write(tmp_path / "elsewhere" / "my.toml")
    assert find_config_file({"DCOS_CONFIG": str(named)}, str(home)) == str(named)


def test_find_dcos_config_missing_file(tmp_path):
    home = tmp_path / "home"
    write(home / ".dcos" / "dcos.toml")
    missing = tmp_path / "gone" / "dcos.toml"
    with pytest.raises(ConfigError) as caught:
        find_config_file({"DCOS_CONFIG": str(missing)}, str(home))
    assert str(missing) in str(caught.value)
    assert "DCOS_CONFIG" in str(caught.value)


def test_dcos_config_naming_a_folder_is_found_and_cannot_be_read(tmp_path):
    """The user named it: it is the config, and the error says it cannot be read."""
    assert find_config_file({"DCOS_CONFIG": str(tmp_path)}, str(tmp_path)) == str(tmp_path)
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(tmp_path))
    assert str(tmp_path) in str(caught.value) and "Cannot read" in str(caught.value)


def test_find_empty_dcos_config_is_ignored(tmp_path):
    home = tmp_path / "home"
    legacy = write(home / ".dcos" / "dcos.toml")
    assert find_config_file({"DCOS_CONFIG": ""}, str(home)) == str(legacy)


def test_find_attached_cluster(tmp_path):
    home = tmp_path / "home"
    write(home / ".dcos" / "clusters" / "aaa" / "dcos.toml")  # set up, not attached
    folder = attach(home, "bbb")
    write(home / ".dcos" / "clusters" / "ccc" / "dcos.toml")
    write(home / ".dcos" / "dcos.toml")  # legacy, shadowed
    assert find_config_file({}, str(home)) == str(folder / "dcos.toml")


def test_find_two_attached_clusters(tmp_path):
    home = tmp_path / "home"
    first = attach(home, "aaa")
    second = attach(home, "bbb")
    with pytest.raises(ConfigError) as caught:
        find_config_file({}, str(home))
    message = str(caught.value)
    assert str(first) in message
    assert str(second) in message
    assert "dcos cluster attach" in message


def test_find_attached_cluster_without_toml(tmp_path):
    home = tmp_path / "home"
    folder = attach(home, "abc", with_toml=False)
    with pytest.raises(ConfigError) as caught:
        find_config_file({}, str(home))
    assert str(folder) in str(caught.value)
    assert "dcos cluster setup" in str(caught.value)


def test_find_legacy_file(tmp_path):
    home = tmp_path / "home"
    legacy = write(home / ".dcos" / "dcos.toml")
    (home / ".dcos" / "clusters" / "abc").mkdir(parents=True)  # a cluster, not attached
    assert find_config_file({}, str(home)) == str(legacy)


def test_find_uses_dcos_dir(tmp_path):
    home = tmp_path / "home"
    write(home / ".dcos" / "dcos.toml")  # not looked at: DCOS_DIR points elsewhere
    dcos_dir = tmp_path / "custom-dcos"
    folder = dcos_dir / "clusters" / "xyz"
    write(folder / "dcos.toml")
    (folder / "attached").write_text("")
    assert find_config_file({"DCOS_DIR": str(dcos_dir)}, str(home)) == str(folder / "dcos.toml")


def test_find_uses_dcos_dir_legacy_and_nothing(tmp_path):
    dcos_dir = tmp_path / "custom-dcos"
    dcos_dir.mkdir()
    home = tmp_path / "home"
    write(home / ".dcos" / "dcos.toml")
    assert find_config_file({"DCOS_DIR": str(dcos_dir)}, str(home)) is None
    legacy = write(dcos_dir / "dcos.toml")
    assert find_config_file({"DCOS_DIR": str(dcos_dir)}, str(home)) == str(legacy)


# --- read_config_file ----------------------------------------------------------------------

def test_read_valid_file(tmp_path):
    path = write(tmp_path / "dcos.toml", '[core]\ndcos_url = "https://dcos.example.com"\ntimeout = 9\n'
                                        '[node]\nssh_options = ["A=1"]\n')
    assert read_config_file(str(path)) == {
        "core": {"dcos_url": "https://dcos.example.com", "timeout": 9},
        "node": {"ssh_options": ["A=1"]},
    }


def test_read_empty_file(tmp_path):
    assert read_config_file(str(write(tmp_path / "dcos.toml", ""))) == {}


@pytest.mark.parametrize(
    "text",
    ["[core\ndcos_url = 1\n", '[core]\ndcos_url = "unterminated\n', "[core]\nkey value\n", "[core]\n[core]\n"],
)
def test_read_malformed_toml(tmp_path, text):
    path = write(tmp_path / "dcos.toml", text)
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path))
    message = str(caught.value)
    assert str(path) in message
    assert "line" in message
    assert "not valid TOML" in message


def test_read_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        # root reads a mode-000 file anyway; a folder cannot be read as a file by anyone.
        path = tmp_path / "dcos.toml"
        path.mkdir()
    else:
        path = write(tmp_path / "dcos.toml", "[core]\n", mode=0o000)
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path))
    assert str(path) in str(caught.value)
    assert "Cannot read" in str(caught.value)


def test_read_folder(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(tmp_path))
    assert str(tmp_path) in str(caught.value)
    assert "Is a directory" in str(caught.value)


def test_read_missing_file(tmp_path):
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path))
    assert str(path) in str(caught.value)
    assert "No such file" in str(caught.value)


def test_read_non_utf8(tmp_path):
    path = tmp_path / "dcos.toml"
    path.write_bytes(b'[core]\ndcos_url = "https://caf\xe9.example.com"\n')
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path))
    assert str(path) in str(caught.value)
    assert "UTF-8" in str(caught.value)


# --- token_file_warning ---------------------------------------------------------------------

TOKEN = {"core": {"dcos_acs_token": "eyJhbGciOi.token"}}


@pytest.mark.parametrize("mode, shown", [(0o644, "644"), (0o640, "640"), (0o604, "604"), (0o666, "666")])
def test_token_file_readable_by_others_warns(tmp_path, mode, shown):
    path = write(tmp_path / "dcos.toml", "", mode=mode)
    warning = token_file_warning(str(path), TOKEN)
    assert warning is not None
    assert f"chmod 600 {path}" in warning
    assert f"permissions {shown}" in warning


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_token_file_private_no_warning(tmp_path, mode):
    path = write(tmp_path / "dcos.toml", "", mode=mode)
    assert token_file_warning(str(path), TOKEN) is None


@pytest.mark.parametrize("values", [{}, {"core": {}}, {"core": {"dcos_acs_token": ""}}, {"node": {"ssh_user": "x"}}])
def test_no_token_no_warning(tmp_path, values):
    path = write(tmp_path / "dcos.toml", "", mode=0o644)
    assert token_file_warning(str(path), values) is None


def test_token_warning_for_vanished_file(tmp_path):
    assert token_file_warning(str(tmp_path / "gone.toml"), TOKEN) is None


# --- load_settings: the three together ------------------------------------------------------

def test_load_settings_reads_attached_cluster_and_warns(tmp_path):
    home = tmp_path / "home"
    folder = attach(home, "abc", with_toml=False)
    path = write(
        folder / "dcos.toml",
        '[core]\ndcos_url = "https://dcos.example.com/"\ndcos_acs_token = "tok"\n[node]\nssh_user = "admin"\n',
        mode=0o644,
    )
    result, warning = load_settings({"DCOS_NODE_SSH_PROXY_IP": "10.9.9.9"}, str(home))
    assert result == Settings(
        dcos_url="https://dcos.example.com",
        acs_token="tok",
        ssh_user="admin",
        ssh_proxy_ip="10.9.9.9",
        config_path=str(path),
    )
    assert f"chmod 600 {path}" in warning


def test_load_settings_without_file(tmp_path):
    result, warning = load_settings({"DCOS_URL": "https://x.example.com/"}, str(tmp_path))
    assert result == Settings(dcos_url="https://x.example.com")
    assert warning is None


# --- the edges of what a value may be ------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(86399.5, 86399.5), ("86399", 86399.0)])
def test_timeout_just_under_a_day_is_taken(value, expected):
    assert settings({"core": {"timeout": value}}).timeout == expected


@pytest.mark.parametrize("value", [86400, "86400", 1e9])
def test_timeout_of_a_day_or_more_is_refused(value):
    with pytest.raises(ConfigError) as caught:
        settings({"core": {"timeout": value}})
    assert str(caught.value) == f"core.timeout in {PATH} must be more than 0 and less than 86400 seconds."


@pytest.mark.parametrize("token", ["a~b", "~", "!", "ab!~"])
def test_a_token_may_hold_any_visible_ascii_character_from_bang_to_tilde(token):
    assert settings({"core": {"dcos_acs_token": token}}).acs_token == token


@pytest.mark.parametrize("token", ["a b", "a\x7fb", "a\tb", "tok\u00e9n", "a\nb"])
def test_a_token_holding_anything_else_is_refused_unshown(token):
    with pytest.raises(ConfigError) as caught:
        settings({"core": {"dcos_acs_token": token}})
    assert str(caught.value) == (
        f"The access token in core.dcos_acs_token in {PATH} holds characters a token cannot hold (spaces, line "
        "breaks, control or non-ASCII characters), so it is not sent. Log in again with `dcos auth login`.")


@pytest.mark.parametrize("value, message", [
    ("hop", 'nodes.proxy_mode in {path} must be "forward" or "jump", not "hop".'),
    (["jump"], 'nodes.proxy_mode in {path} must be a string, not ["jump"].'),
])
def test_a_proxy_mode_that_is_neither_is_refused_with_what_it_was(value, message):
    with pytest.raises(ConfigError) as caught:
        settings({"nodes": {"proxy_mode": value}})
    assert str(caught.value) == message.format(path=PATH)


@pytest.mark.parametrize("value, shown", [(5, "5"), ([1, "A=b"], '[1, "A=b"]'), ({"A": "b"}, '{"A": "b"}')])
def test_ssh_options_that_are_no_list_of_strings_are_refused_with_what_they_were(value, shown):
    with pytest.raises(ConfigError) as caught:
        settings({"nodes": {"ssh_options": value}})
    assert str(caught.value) == f'nodes.ssh_options in {PATH} must be a list of "Key=Value" strings, not {shown}.'


def test_a_timeout_that_is_no_number_is_refused_with_what_it_was():
    with pytest.raises(ConfigError) as caught:
        settings({"core": {"timeout": "soon"}})
    assert str(caught.value) == f'core.timeout in {PATH} must be a number of seconds, not "soon".'


def test_a_dcos_url_outside_ascii_is_refused_without_its_password():
    with pytest.raises(ConfigError) as caught:
        settings({"core": {"dcos_url": "https://admin:p@ss@clüster.example/X/"}})
    assert str(caught.value) == (
        f"core.dcos_url in {PATH} is 'clüster.example/X/', which holds characters outside ASCII. Write an "
        "internationalised host name in its xn-- form, and percent-encode the path.")


@pytest.mark.parametrize("url, kept", [
    ("https://dcos.example.com/X/", "https://dcos.example.com/X"),
    ("https://dcos.example.com//", "https://dcos.example.com"),
])
def test_a_dcos_url_loses_its_last_slashes(url, kept):
    assert settings({"core": {"dcos_url": url}}).dcos_url == kept


def test_a_file_without_a_path_is_named_the_configuration():
    with pytest.raises(ConfigError, match="^core.dcos_url in the configuration is "):
        settings_from({"core": {"dcos_url": "https://clüster"}}, {}, None)
