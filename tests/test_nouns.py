"""The nouns the plugin answers to (`dcos nodes …` everywhere, `dcos node …` on the Go
DC/OS CLI and from pip), and core's `node` verbs handed on to the core plugin.

The CLI runs in-process (helpers.cli) with the arguments each DC/OS CLI gives it
(`dcos-node nodes …`, `dcos-node node …`); what is handed on runs the installed
`dcos-node`, since the core plugin replaces its process: a stand-in core plugin, a real
program installed where the Go CLI keeps the core plugin, records what it was given.
"""

import json
import os
import stat
import subprocess
import sys

import pytest

from helpers import base_env, cli, run_plugin, write_config

CLUSTER = "0f1e2d3c-attached"
CORE_VERBS = ("deactivate", "decommission", "diagnostics", "dns", "drain", "list-components", "log", "metrics",
              "reactivate")
RECORDER = """#!{python}
import json, os, sys
record = {{"argv": sys.argv[1:], "env": {{k: v for k, v in os.environ.items() if k.startswith("DCOS")}},
          "stdin": sys.stdin.read()}}
with open({record!r}, "w") as stream:
    json.dump(record, stream)
print("core's stdout")
print("core's stderr", file=sys.stderr)
sys.exit(int(os.environ.get("CORE_EXIT", "0")))
"""


def attached_cluster(home, url="http://127.0.0.1:9", extra=""):
    folder = os.path.join(home, ".dcos", "clusters", CLUSTER)
    write_config(os.path.join(folder, "dcos.toml"), f'[core]\ndcos_url = "{url}"\n{extra}')
    open(os.path.join(folder, "attached"), "w").close()
    return folder


def core_plugin(folder, tmp_path, path_style="relative", toml=None):
    """A stand-in dcos-core-cli plugin whose `node` command records its call in tmp_path/record.json."""
    env_dir = os.path.join(folder, "subcommands", "dcos-core-cli", "env")
    program = os.path.join(env_dir, "bin", "dcos")
    os.makedirs(os.path.dirname(program))
    with open(program, "w", encoding="utf-8") as stream:
        stream.write(RECORDER.format(python=sys.executable, record=str(tmp_path / "record.json")))
    os.chmod(program, os.stat(program).st_mode | stat.S_IEXEC)
    path = "bin/dcos" if path_style == "relative" else program
    with open(os.path.join(env_dir, "plugin.toml"), "w", encoding="utf-8") as stream:
        stream.write(toml if toml is not None else
                     'schema_version = 1\nname = "dcos-core-cli"\n'
                     '[[commands]]\nname = "marathon"\npath = "bin/dcos"\n'
                     f'[[commands]]\nname = "node"\npath = "{path}"\ndescription = "Manage DC/OS nodes"\n')
    return tmp_path / "record.json"


def recorded(record):
    with open(record, encoding="utf-8") as stream:
        return json.load(stream)


# -- `dcos nodes` -------------------------------------------------------------------------


def test_nodes_is_a_noun_of_its_own(home):
    info = cli(["nodes", "--info"], base_env(home))
    assert info.returncode == 0 and "SSH" in info.stdout
    schema = cli(["nodes", "--config-schema"], base_env(home))
    assert schema.returncode == 0 and "[nodes]" in json.loads(schema.stdout)["title"]


def test_help_speaks_the_noun_it_was_reached_by(home):
    nodes = cli(["nodes", "--help"], base_env(home)).stdout
    assert "    dcos nodes ssh [--leader" in nodes and "dcos node ssh" not in nodes
    node = cli(["node", "--help"], base_env(home)).stdout
    assert "    dcos node ssh [--leader" in node
    for text in (nodes, node):
        for verb in CORE_VERBS:
            assert verb in text
    assert "any other verb" in node and "any other verb" not in nodes
    assert "`dcos nodes` (or `dcos nodes list`) lists the masters" in nodes and "`dcos node`" not in nodes
    # under `dcos nodes` the list of core's verbs simply ends
    assert "    metrics, reactivate\n\nTarget of dcos nodes ssh (one of these" in nodes


def test_a_usage_error_names_the_command_as_typed(home):
    result = cli(["nodes", "ssh"], base_env(home))
    assert result.returncode == 125
    assert result.stderr.startswith("dcos nodes ssh: Say which node to reach")
    assert "Usage:\n    dcos nodes [list]" in result.stderr


def test_an_unknown_verb_under_nodes_is_a_usage_error(home, tmp_path):
    record = core_plugin(attached_cluster(home), tmp_path)
    result = cli(["nodes", "frobnicate"], base_env(home))
    assert result.returncode == 125 and result.stderr.startswith("dcos nodes frobnicate: Unknown command 'frobnicate'")
    assert not record.exists()


def test_nodes_settings_choose_the_user(home):
    attached_cluster(home, extra='[node]\nssh_user = "old"\n[nodes]\nssh_user = "new"\n')
    command = ["nodes", "ssh", "--dry-run", "--private-ip=10.0.9.9"]
    assert cli(command, base_env(home)).stdout.split()[-1] == "new@10.0.9.9"
    env = base_env(home, DCOS_NODES_SSH_USER="from-env")
    assert cli(command, env).stdout.split()[-1] == "from-env@10.0.9.9"


def test_the_go_clis_copy_of_a_list_setting_is_read_whole(home):
    attached_cluster(home, extra='[nodes]\nssh_options = ["ConnectTimeout=7", "SetEnv=A=1 B=2"]\n')
    env = base_env(home, DCOS_NODES_SSH_OPTIONS="[ConnectTimeout=7 SetEnv=A=1 B=2]")  # as the Go CLI passes it
    result = cli(["nodes", "ssh", "--dry-run", "--private-ip=10.0.9.9"], env)
    assert result.returncode == 0, result.stderr
    assert "-o ConnectTimeout=7 -o 'SetEnv=A=1 B=2'" in result.stdout


# -- handing core's verbs on -------------------------------------------------------------


@pytest.mark.parametrize("path_style", ["relative", "absolute"])
@pytest.mark.parametrize("noun", ["node", "nodes"])
def test_cores_verbs_are_handed_on_with_arguments_environment_and_streams(dcos_node, home, tmp_path, noun,
                                                                         path_style):
    record = core_plugin(attached_cluster(home), tmp_path, path_style)
    env = base_env(home, DCOS_URL="https://cluster.example.com", DCOS_CLI_VERSION="1.2.0", CORE_EXIT="7",
                   DCOS_CLI_EXECUTABLE_PATH=str(tmp_path / "never-run"))
    result = subprocess.run([dcos_node, noun, "log", "--leader", "--lines=5", "--", "-x y"], env=env, input="typed\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 7, result.stderr
    assert (result.stdout, result.stderr) == ("core's stdout\n", "core's stderr\n")
    call = recorded(record)
    assert call["argv"] == ["node", "log", "--leader", "--lines=5", "--", "-x y"]
    assert call["stdin"] == "typed\n"
    assert call["env"]["DCOS_URL"] == "https://cluster.example.com" and call["env"]["DCOS_CLI_VERSION"] == "1.2.0"


@pytest.mark.parametrize("verb", CORE_VERBS + ("frobnicate",))
def test_every_verb_of_cores_node_and_any_unknown_one_goes_to_core(dcos_node, home, tmp_path, verb):
    record = core_plugin(attached_cluster(home), tmp_path)
    result = run_plugin(dcos_node, ["node", verb, "--json"], base_env(home))
    assert result.returncode == 0, result.stderr
    assert recorded(record)["argv"] == ["node", verb, "--json"]


def test_our_own_verbs_are_never_handed_on(home, tmp_path):
    record = core_plugin(attached_cluster(home), tmp_path)
    result = cli(["node", "ssh", "--dry-run", "--private-ip=10.0.9.9"], base_env(home))
    assert result.returncode == 0 and result.stdout.split()[-1] == "core@10.0.9.9"
    assert not record.exists()


def test_without_a_core_plugin_a_handed_on_verb_is_a_clear_error(home):
    folder = attached_cluster(home)
    result = cli(["node", "log", "--leader"], base_env(home))
    assert result.returncode == 125 and "Traceback" not in result.stderr
    assert result.stderr.startswith("dcos node log: `dcos node log` is a command of the DC/OS CLI's core plugin")
    assert os.path.join(folder, "subcommands", "dcos-core-cli", "env", "plugin.toml") in result.stderr
    assert result.stderr.count("\n") == 1


def test_without_any_cluster_the_error_says_so(home):
    result = cli(["node", "metrics", "summary"], base_env(home))
    assert result.returncode == 125 and "no DC/OS cluster is attached" in result.stderr


@pytest.mark.parametrize("toml, says", [
    ('schema_version = 1\n[[commands]]\nname = "job"\npath = "bin/dcos"\n', "it declares no `node` command"),
    ("schema_version = [", "not a valid plugin.toml"),
    ('[[commands]]\nname = "node"\npath = "bin/missing"\n', "its `node` program is missing"),
])
def test_a_broken_core_plugin_is_a_clear_error(home, tmp_path, toml, says):
    core_plugin(attached_cluster(home), tmp_path, toml=toml)
    result = cli(["node", "log"], base_env(home))
    assert result.returncode == 125 and says in result.stderr and "Traceback" not in result.stderr


def test_a_core_plugin_that_hands_back_does_not_loop(dcos_node, home, tmp_path):
    toml = f'[[commands]]\nname = "node"\npath = "{dcos_node}"\n'
    core_plugin(attached_cluster(home), tmp_path, toml=toml)
    result = run_plugin(dcos_node, ["node", "log"], base_env(home), timeout=30)
    assert result.returncode == 125 and "handed it back" in result.stderr


@pytest.mark.parametrize("plugin_toml, path", [
    ({"commands": [{"name": "node", "path": "bin/dcos-core-cli"}]}, "/c/env/bin/dcos-core-cli"),
    ({"commands": [{"name": "job", "path": "bin/job"}, {"name": "node", "path": "/opt/core/node"}]},
     "/opt/core/node"),
    ({"commands": [{"name": "node", "path": "  "}, {"name": "node", "path": "bin/second"}]}, "/c/env/bin/second"),
    ({"commands": [{"name": "node", "path": 7}]}, None),
    ({"commands": [{"name": "node"}]}, None),
    ({"commands": ["node"]}, None),
    ({"commands": {"name": "node", "path": "bin/x"}}, None),
    ({}, None),
    (["commands"], None),
], ids=["relative", "absolute", "blank-then-good", "not-text", "no-path", "not-a-table", "not-a-list", "none",
        "not-a-toml-table"])
def test_the_core_plugins_node_command(plugin_toml, path):
    from dcos_node_ssh.core_plugin import node_command

    assert node_command(plugin_toml, "/c/env") == path


def test_a_verb_of_neither_plugin_without_a_core_plugin_says_what_was_looked_for(home):
    result = cli(["node", "frobnicate", "--x"], base_env(home))
    assert (result.returncode, result.stdout) == (125, "")
    assert result.stderr == (
        "dcos node frobnicate: 'frobnicate' is not a command of this plugin (list, ssh, run, copy, fetch, "
        "disconnect, scp, ssh-config, tunnel); it would be handed on to the DC/OS CLI's core plugin (dcos-core-cli), "
        "which cannot be found (no "
        "DC/OS cluster is attached). With the DC/OS CLI 1.x, `dcos plugin list` shows the installed plugins and "
        "`dcos package install dcos-core-cli --cli` installs the core plugin; with the CLI 0.x, `dcos node "
        "frobnicate …` is the CLI's own command.\n")
