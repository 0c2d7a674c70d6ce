"""Installed the DC/OS way, from the built artifacts only, as each CLI generation installs it.

cli/build.py makes the wheel, the plugin archive and the package files once; then
each test lays them out in a fresh HOME exactly where that CLI generation puts
them, finds the executable the way that CLI does, and runs --info,
--config-schema and a real `ssh --master-proxy` hop on the simulated cluster.
"""

import glob
import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest

import simcluster

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE = "dcos-node-ssh"
CLUSTER_ID = "5b4e2c1a-attached-cluster"
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "cli", "build.py"), "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "package" / "command.json", encoding="utf-8") as stream:
        command = json.load(stream)
    with open(out / "package" / "resource.json", encoding="utf-8") as stream:
        resource = json.load(stream)
    return out, command, resource


def test_package_files_name_the_built_artifacts(built):
    from dcos_node_ssh import __version__

    out, command, resource = built
    with open(out / "package" / "package.json", encoding="utf-8") as stream:
        package = json.load(stream)
    assert (package["name"], package["version"], package["packagingVersion"]) == (PACKAGE, __version__, "3.0")
    wheel = out / f"dcos_node_ssh-{__version__}-py3-none-any.whl"
    assert command == {"pip": [wheel.as_uri()]}
    archive = out / f"{PACKAGE}-{__version__}-plugin.zip"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    for platform in ("linux", "darwin"):
        binary = resource["cli"]["binaries"][platform]["x86-64"]
        assert binary["kind"] == "zip" and binary["url"] == archive.as_uri()
        assert binary["contentHash"] == [{"algo": "sha256", "value": digest}]
    with open(out / "package" / "config.json", encoding="utf-8") as stream:
        assert json.load(stream)["type"] == "object"
    with zipfile.ZipFile(archive) as plugin:
        assert sorted(plugin.namelist()) == ["bin/dcos-node", "plugin.toml"]
        assert plugin.getinfo("bin/dcos-node").external_attr >> 16 & 0o111


def pip_install_like_cli_0x(env_dir, command):
    """What `dcos package install --cli` did in CLI 0.x: a virtualenv, then command.json's pip list."""
    subprocess.run([sys.executable, "-m", "venv", env_dir], check=True, capture_output=True)
    result = subprocess.run([os.path.join(env_dir, "bin", "python"), "-m", "pip", "install", "-q",
                             "--disable-pip-version-check"] + command["pip"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def discover_0x(subcommands_dir, noun):
    """CLI 0.x: the executable `dcos-<noun>` in any package's env/bin under subcommands/."""
    found = glob.glob(os.path.join(subcommands_dir, "*", "env", "bin", f"dcos-{noun}"))
    assert len(found) == 1, found
    return found[0]


def unpack_like_cli_1x(archive, env_dir):
    """What `dcos plugin add` does: the archive into subcommands/<name>/env, modes kept."""
    with zipfile.ZipFile(archive) as plugin:
        for info in plugin.infolist():
            path = plugin.extract(info, env_dir)
            mode = info.external_attr >> 16 & 0o777
            if mode:
                os.chmod(path, mode)


def discover_1x(clusters_dir, noun):
    """CLI 1.x: the command named `noun` in a plugin.toml under the cluster's subcommands/."""
    for toml_path in glob.glob(os.path.join(clusters_dir, "*", "subcommands", "*", "env", "plugin.toml")):
        with open(toml_path, "rb") as stream:
            plugin = tomllib.load(stream)
        assert plugin["schema_version"] == 1
        for command in plugin["commands"]:
            if command["name"] == noun:
                return os.path.join(os.path.dirname(toml_path), command["path"])
    raise AssertionError(f"no plugin.toml names the command {noun}")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(path, 0o600)


def check_installed(sim, executable, env):
    """The plugin protocol, then a real hop through the master to an agent."""
    info = subprocess.run([executable, "node", "--info"], env=env, capture_output=True, text=True)
    assert info.returncode == 0 and info.stdout.count("\n") == 1, info.stderr
    schema = subprocess.run([executable, "node", "--config-schema"], env=env, capture_output=True, text=True)
    assert json.loads(schema.stdout)["$schema"] == "http://json-schema.org/draft-04/schema#"
    hop = sim.run([executable, "node", "ssh", "--master-proxy", f"--slave={AGENT2_ID}", "--", "hostname"], env,
                  text=True)
    assert (hop.returncode, hop.stdout) == (0, AGENT2 + "\n"), hop.stderr


def test_cli_03_layout(sim, built, tmp_path):
    """CLI 0.1-0.4: ~/.dcos/subcommands/<package>/env, config in ~/.dcos/dcos.toml."""
    out, command, _ = built
    home = str(tmp_path / "home")
    subcommands = os.path.join(home, ".dcos", "subcommands")
    pip_install_like_cli_0x(os.path.join(subcommands, PACKAGE, "env"), command)
    write(os.path.join(home, ".dcos", "dcos.toml"), f'[core]\ndcos_url = "{sim.dcos_url}"\n')
    check_installed(sim, discover_0x(subcommands, "node"), sim.client_env(home))


def test_cli_06_layout(sim, built, tmp_path):
    """CLI 0.5-0.6: the same under ~/.dcos/clusters/<id>/subcommands/, for the attached cluster."""
    out, command, _ = built
    home = str(tmp_path / "home")
    cluster = os.path.join(home, ".dcos", "clusters", CLUSTER_ID)
    pip_install_like_cli_0x(os.path.join(cluster, "subcommands", PACKAGE, "env"), command)
    write(os.path.join(cluster, "dcos.toml"), f'[core]\ndcos_url = "{sim.dcos_url}"\n')
    write(os.path.join(cluster, "attached"), "")
    check_installed(sim, discover_0x(os.path.join(cluster, "subcommands"), "node"), sim.client_env(home))


def test_cli_1x_layout_with_a_python_that_has_none_of_our_dependencies(sim, built, tmp_path):
    """CLI 1.x: the archive unpacked, found through plugin.toml, run with the CLI's environment
    variables only (no config file) by a Python that has none of the plugin's dependencies."""
    out, _, resource = built
    archive = resource["cli"]["binaries"]["linux"]["x86-64"]["url"][len("file://"):]
    home = str(tmp_path / "home")
    clusters = os.path.join(home, ".dcos", "clusters")
    unpack_like_cli_1x(archive, os.path.join(clusters, CLUSTER_ID, "subcommands", PACKAGE, "env"))
    bare = str(tmp_path / "bare-python")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", bare], check=True)
    env = sim.client_env(home, DCOS_URL=sim.dcos_url, DCOS_TLS_INSECURE="1", DCOS_CLI_VERSION="1.2.0",
                         DCOS_CLI_EXECUTABLE_PATH="/usr/local/bin/dcos",
                         PATH=os.path.join(bare, "bin") + ":/usr/bin:/bin")
    probe = subprocess.run(["python3", "-c", "import docopt"], env=env, capture_output=True)
    assert probe.returncode != 0, "the bare Python must not have docopt"
    assert not glob.glob(os.path.join(home, "**", "dcos.toml"), recursive=True)
    check_installed(sim, discover_1x(clusters, "node"), env)
