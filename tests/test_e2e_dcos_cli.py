"""End to end through the real DC/OS CLIs: the plugin installed the way each one installs it.

* DC/OS CLI 0.6.1 (dcoscli from the package index, in a virtualenv of its own that
  scripts/prepare makes): `dcos cluster setup`, then `dcos package install --cli
  dcos-cluster-nodes` from the package service of tests/clusterapi.py, which serves
  what cli/build.py made.
* The Go CLI 0.7.13 and 1.2.0 (../shared/dcos-cli): `dcos cluster setup`, then `dcos
  plugin add <archive>`. A stand-in core plugin (a folder `dcos-core-cli` whose
  plugin.toml declares `node` with a small recording program) takes the `node` verbs
  the plugin hands on; 1.2.0's cluster setup installs it from the package service as
  it installs the real one.

Each CLI runs as the operator runs it: by its own path, with HOME a fresh folder,
PATH the system's (python3 is the system's, not the tests'), on the simulated
cluster whose agents only the master reaches.
"""

import json
import os
import stat
import sys
import zipfile

import pytest

import clusterapi
import realcli
import simcluster
from realcli import CLUSTER_ID, GO_CLI_DIR

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE = "dcos-cluster-nodes"
MASTER = simcluster.MASTER_NAME
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS
GO_CLIS = ["0.7.13", "1.2.0"]
ALL_CLIS = ["0.6.1"] + GO_CLIS
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
# `dcos node` verbs that DC/OS's core plugin answers and this plugin hands on to it.
CORE_NODE_VERBS = ["log", "metrics", "dns", "decommission", "drain", "deactivate", "reactivate", "diagnostics",
                   "list-components"]

DCOSCLI_VENV = os.environ.get("DCOS_NODE_SSH_DCOSCLI_VENV") or os.path.join(ROOT, ".cache", "dcoscli-0.6.1")

RECORDER = """#!{python}
# A stand-in for the core plugin's `dcos`: records how it was run, answers on both
# streams, and exits with the status in ../exit-status.
import json, os, sys
env_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
stdin = sys.stdin.read()
with open(os.path.join(env_dir, "records.jsonl"), "a", encoding="utf-8") as stream:
    stream.write(json.dumps({{"argv": sys.argv, "env": dict(os.environ), "stdin": stdin}}) + "\\n")
print("core plugin ran:", *sys.argv[1:])
print("core plugin's standard error", file=sys.stderr)
with open(os.path.join(env_dir, "exit-status"), encoding="utf-8") as stream:
    sys.exit(int(stream.read()))
"""

CORE_PLUGIN_TOML = """schema_version = 1
name = "dcos-core-cli"

[[commands]]
name = "node"
path = "bin/dcos"
description = "View DC/OS node information"

[[commands]]
name = "task"
path = "bin/dcos"
description = "Manage DC/OS tasks"
"""


@pytest.fixture(scope="module")
def core_plugin(tmp_path_factory):
    """The stand-in core plugin as a plugin archive, and the package that serves it."""
    folder = tmp_path_factory.mktemp("core-plugin")
    archive = folder / "dcos-core-cli-stand-in.zip"
    with zipfile.ZipFile(archive, "w") as plugin:
        plugin.writestr("plugin.toml", CORE_PLUGIN_TOML)
        program = zipfile.ZipInfo("bin/dcos", date_time=(2026, 1, 1, 0, 0, 0))
        program.external_attr = 0o100755 << 16
        plugin.writestr(program, RECORDER.format(python=sys.executable))
        plugin.writestr("exit-status", "0")
    url = f"http://{simcluster.MASTER_PUBLIC}/core/{archive.name}"
    definition = clusterapi.plugin_package("dcos-core-cli", "2.2-patch.0", str(archive), url)
    return str(archive), definition, {f"/core/{archive.name}": str(archive)}


@pytest.fixture(scope="module")
def cluster_with_packages(sim_cluster, built, core_plugin):
    """A function that puts the package service's scenario back (other tests reset it)."""
    out, package_dir = built
    _, core_definition, core_files = core_plugin
    scenario = sim_cluster.default_scenario(
        version={"version": "2.2.0", "dcos-variant": "open", "dcos-image-commit": "0" * 40,
                 "bootstrap-id": "0" * 40},
        packages={PACKAGE: clusterapi.package_definition(package_dir), "dcos-core-cli": core_definition},
        files={**clusterapi.served_files(out, "/artifacts"), **core_files})
    scenario["metadata"]["CLUSTER_ID"] = CLUSTER_ID

    def restore(core=None, overrides=None):
        """core: (definition, files) of another dcos-core-cli package."""
        changed = json.loads(json.dumps(scenario))
        if core is not None:
            changed["packages"]["dcos-core-cli"] = core[0]
            changed["files"].update(core[1])
        changed["overrides"].update(overrides or {})
        sim_cluster.write_scenario(changed)
        return sim_cluster

    return restore


@pytest.fixture(scope="module")
def real_core_plugin(tmp_path_factory):
    """DC/OS's own core plugin (../shared/dcos-cli) as the package dcos-core-cli."""
    packed = os.path.join(GO_CLI_DIR, "dcos-core-cli-2.2-patch.0.xz")
    if not os.path.exists(packed):
        pytest.skip(f"the core plugin is not at {packed} (set DCOS_NODE_SSH_GO_CLI_DIR to its folder)")
    folder = str(tmp_path_factory.mktemp("real-core"))
    binary = realcli.unpack_xz(packed, os.path.join(folder, "dcos"))
    archive = realcli.core_plugin_archive(binary, os.path.join(folder, "dcos-core-cli.zip"))
    url = f"http://{simcluster.MASTER_PUBLIC}/real-core/dcos-core-cli.zip"
    return (clusterapi.plugin_package("dcos-core-cli", "2.2-patch.0", archive, url),
            {"/real-core/dcos-core-cli.zip": archive})


def go_cli_binary(version, folder):
    """The Go CLI `version` unpacked into folder, or a skip with the reason."""
    packed = os.path.join(GO_CLI_DIR, f"dcos-{version}.xz")
    if not os.path.exists(packed):
        pytest.skip(f"the Go DC/OS CLI {version} is not at {packed} (set DCOS_NODE_SSH_GO_CLI_DIR to its folder)")
    path = os.path.join(folder, f"dcos-{version}", "dcos")
    if not os.path.exists(path):
        realcli.unpack_xz(packed, path)
    return path


def dcoscli_binary():
    path = os.path.join(DCOSCLI_VENV, "bin", "dcos")
    if not os.access(path, os.X_OK):
        pytest.skip(f"DC/OS CLI 0.6.1 is not installed at {DCOSCLI_VENV}: scripts/prepare installs it there "
                    "when it finds a Python 3.6 to 3.9 (pyenv's count); or set DCOS_NODE_SSH_DCOSCLI_VENV")
    return path


class RealCli:
    """One DC/OS CLI with its own HOME, run as the operator types `dcos …`."""

    def __init__(self, version, binary, sim, home):
        self.version, self.binary, self.sim, self.home = version, binary, sim, home
        self.env = sim.client_env(home, PATH=SYSTEM_PATH,
                                  # 1.2.0's setup first tries the core plugin's public download
                                  # site (unreachable here); it then asks the cluster's package service.
                                  DCOS_CLUSTER_SETUP_SKIP_CANONICAL_URL_INSTALL="1")

    @property
    def go(self):
        return self.version != "0.6.1"

    def __call__(self, *args, input="", timeout=120):
        return self.sim.run([self.binary] + list(args), self.env, input=input, text=True, timeout=timeout)

    def ok(self, *args, **kwargs):
        result = self(*args, **kwargs)
        assert result.returncode == 0, f"dcos {' '.join(args)}: {result.stderr}{result.stdout}"
        return result

    @property
    def cluster_dir(self):
        return os.path.join(self.home, ".dcos", "clusters", CLUSTER_ID)

    def core_env_dir(self):
        return os.path.join(self.cluster_dir, "subcommands", "dcos-core-cli", "env")

    def core_records(self):
        path = os.path.join(self.core_env_dir(), "records.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as stream:
            return [json.loads(line) for line in stream]

    def reset_core(self, exit_status=0):
        """No records yet, and the core plugin's next exit status."""
        with open(os.path.join(self.core_env_dir(), "exit-status"), "w", encoding="utf-8") as stream:
            stream.write(str(exit_status))
        if os.path.exists(os.path.join(self.core_env_dir(), "records.jsonl")):
            os.remove(os.path.join(self.core_env_dir(), "records.jsonl"))


def install(version, sim, home, built, core_plugin, scratch):
    """The plugin installed in a fresh HOME, the way CLI `version` installs it."""
    out, _ = built
    os.makedirs(home, exist_ok=True)
    if version == "0.6.1":
        cli = RealCli(version, dcoscli_binary(), sim, home)
        cli.ok("cluster", "setup", sim.dcos_url)
        installed = cli.ok("package", "install", "--cli", "--yes", PACKAGE)
        assert "New command available: dcos nodes" in installed.stdout, installed.stdout
        return cli
    cli = RealCli(version, go_cli_binary(version, scratch), sim, home)
    setup = cli(*["cluster", "setup", sim.dcos_url])
    assert setup.returncode == 0, setup.stderr
    if version == "0.7.13":  # its setup installs no plugin
        cli.ok("plugin", "add", core_plugin[0])
    cli.ok("plugin", "add", plugin_archive(out))
    listed = cli.ok("plugin", "list")
    assert any(line.split()[:1] == [PACKAGE] for line in listed.stdout.splitlines()), listed.stdout
    return cli


def plugin_archive(out):
    """The POSIX plugin archive that resource.json names for Linux."""
    with open(os.path.join(out, "package", "resource.json"), encoding="utf-8") as stream:
        url = json.load(stream)["cli"]["binaries"]["linux"]["x86-64"]["url"]
    return os.path.join(out, url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def installed(cluster_with_packages, built, core_plugin, tmp_path_factory):
    """installed(version): that CLI with the plugin installed, once per module (a test
    that changes the configuration installs anew instead)."""
    clis = {}

    def get(version):
        sim = cluster_with_packages()
        if version not in clis:
            scratch = tmp_path_factory.mktemp(f"cli-{version}")
            clis[version] = install(version, sim, str(scratch / "home"), built, core_plugin,
                                    str(tmp_path_factory.getbasetemp()))
        if clis[version].go:
            clis[version].reset_core()
        return clis[version]

    return get


@pytest.mark.parametrize("version", ALL_CLIS)
def test_nodes_ssh_through_the_master_lands_on_the_leader(installed, version):
    cli = installed(version)
    result = cli("nodes", "ssh", "--master-proxy", "--leader", "--", "echo", "$(whoami)@$(hostname)")
    assert (result.returncode, result.stdout) == (0, f"core@{MASTER}\n"), result.stderr


@pytest.mark.parametrize("version", ALL_CLIS)
def test_nodes_lists_the_agents(installed, version):
    cli = installed(version)
    result = cli.ok("nodes")
    for name, address, agent_id in simcluster.AGENTS:
        line = next(line for line in result.stdout.splitlines() if agent_id in line)
        assert name in line and address in line
    assert "leader" in result.stdout


@pytest.mark.parametrize("version", ALL_CLIS)
def test_plugin_installed_where_the_cli_keeps_it(installed, version):
    cli = installed(version)
    env_dir = os.path.join(cli.cluster_dir, "subcommands", PACKAGE, "env")
    executable = os.path.join(env_dir, "bin", "dcos-nodes")
    assert os.stat(executable).st_mode & stat.S_IXUSR
    # No `dcos-node` executable: 0.3-0.4.2 refuse `dcos node` when a second one exists.
    assert not os.path.exists(os.path.join(env_dir, "bin", "dcos-node"))
    if cli.version == "0.6.1":  # 0.5+ find an installed package only by its package.json
        with open(os.path.join(cli.cluster_dir, "subcommands", PACKAGE, "package.json"), encoding="utf-8") as s:
            assert json.load(s)["name"] == PACKAGE


@pytest.mark.parametrize("version", ["0.6.1"])
def test_0_6_1_asks_the_package_service_for_the_package_and_downloads_the_archive(
        version, cluster_with_packages, built, core_plugin, tmp_path):
    sim = cluster_with_packages()
    install(version, sim, str(tmp_path / "home"), built, core_plugin, str(tmp_path))
    asked = [(entry["method"], entry["path"], entry.get("body")) for entry in sim.requests()
             if entry["path"].startswith(("/package/", "/capabilities", "/artifacts/"))]
    archive = os.path.basename(plugin_archive(built[0]))
    assert ("POST", "/package/describe", json.dumps({"packageName": PACKAGE})) in asked
    assert ("GET", f"/artifacts/{archive}", None) in asked


def test_0_6_1_builtin_node_still_answers(installed):
    cli = installed("0.6.1")
    result = cli.ok("node")
    header, *rows = result.stdout.splitlines()
    assert header.split()[:4] == ["HOSTNAME", "IP", "ID", "TYPE"]
    for name, address, agent_id in simcluster.AGENTS:
        assert any(name in row and address in row and agent_id in row for row in rows), result.stdout


@pytest.mark.parametrize("version", ["0.6.1", "1.2.0"])
def test_config_set_nodes_ssh_user_changes_the_user_of_the_next_hop(
        version, cluster_with_packages, built, core_plugin, tmp_path):
    cli = install(version, cluster_with_packages(), str(tmp_path / "home"), built, core_plugin, str(tmp_path))
    cli.ok("config", "set", "nodes.ssh_user", simcluster.OTHER_USER)
    hops = [["nodes", "ssh"]] + ([["node", "ssh"]] if cli.go else [])
    for words in hops:
        result = cli(*words, "--master-proxy", f"--mesos-id={AGENT1_ID}", "--", "echo", "$(whoami)@$(hostname)")
        assert (result.returncode, result.stdout) == (0, f"{simcluster.OTHER_USER}@{AGENT1}\n"), result.stderr


@pytest.mark.parametrize("version", GO_CLIS)
def test_go_cli_node_ssh_is_this_plugin(installed, version):
    go_cli = installed(version)
    result = go_cli("node", "ssh", "--master-proxy", f"--mesos-id={AGENT2_ID}", "--", "echo", "$(whoami)@$(hostname)")
    assert (result.returncode, result.stdout) == (0, f"core@{AGENT2}\n"), result.stderr
    assert go_cli.core_records() == []


@pytest.mark.parametrize("version", GO_CLIS)
@pytest.mark.parametrize("words", [["log", "--leader", "--lines=5"], ["frobnicate", "--x", "a b"]])
def test_go_cli_node_verbs_of_core_are_handed_to_the_core_plugin(installed, version, words):
    go_cli = installed(version)
    go_cli.reset_core(exit_status=3)
    result = go_cli("node", *words, input="typed by the operator\n")
    assert result.returncode == 3, result.stderr
    assert result.stdout == "core plugin ran: node " + " ".join(words) + "\n"
    assert "core plugin's standard error" in result.stderr
    [record] = go_cli.core_records()
    assert record["argv"][1:] == ["node"] + words
    assert os.path.realpath(record["argv"][0]) == os.path.realpath(os.path.join(go_cli.core_env_dir(), "bin", "dcos"))
    assert record["stdin"] == "typed by the operator\n"
    env = record["env"]
    assert env["DCOS_URL"] == go_cli.sim.dcos_url
    assert env["DCOS_CLI_EXECUTABLE_PATH"] == go_cli.binary
    assert env["HOME"] == go_cli.home and env["SSH_AUTH_SOCK"] == go_cli.sim.agent_socket


@pytest.mark.parametrize("version", GO_CLIS)
def test_go_cli_node_help_lists_ours_and_the_core_plugins_verbs(installed, version):
    go_cli = installed(version)
    result = go_cli("node", "--help")
    assert result.returncode == 0, result.stderr
    for verb in ["ssh", "run", "scp", "ssh-config"] + CORE_NODE_VERBS:
        assert verb in result.stdout, verb
    assert go_cli.core_records() == []


def test_1_2_0_hands_node_verbs_to_the_real_core_plugin(cluster_with_packages, built, core_plugin, real_core_plugin,
                                                        tmp_path):
    """DC/OS's own core plugin, installed by `dcos cluster setup` from the package service,
    answers `dcos node list-components` from the cluster's health API."""
    units = {"units": [{"id": "dcos-mesos-master.service", "health": 0, "output": "", "description": "Mesos Master",
                        "help": "", "name": "Mesos Master"},
                       {"id": "dcos-metronome.service", "health": 0, "output": "", "description": "Jobs",
                        "help": "", "name": "Metronome"}]}
    health = f"/system/health/v1/nodes/{simcluster.MASTER_PRIVATE}/units"
    sim = cluster_with_packages(core=real_core_plugin, overrides={health: {"body": json.dumps(units)}})
    cli = install("1.2.0", sim, str(tmp_path / "home"), built, core_plugin, str(tmp_path))
    result = cli("node", "list-components", "--leader")
    assert (result.returncode, result.stdout) == (0, "dcos-mesos-master.service\ndcos-metronome.service\n"), \
        result.stderr
    assert health in [entry["path"] for entry in sim.requests()]
