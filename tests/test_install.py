"""pip-installed from the built wheels, without any DC/OS CLI: a real virtualenv, a real
`pip install`, then a real `--master-proxy` hop on the simulated cluster.

(How each DC/OS CLI generation installs and runs the plugin is tested with the real
CLIs in test_e2e_dcos_cli.py.)
"""

import os
import subprocess
import sys

import simcluster
from helpers import config_for
from realcli import offline_pip_env

(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS


def pip_install(venv, wheel):
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, capture_output=True)
    result = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                             "--disable-pip-version-check", wheel], capture_output=True, text=True,
                            env=offline_pip_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return sorted(name for name in os.listdir(os.path.join(venv, "bin")) if name.startswith("dcos"))


def wheel(out, distribution):
    [name] = [name for name in os.listdir(out) if name.startswith(distribution + "-") and name.endswith(".whl")]
    return os.path.join(out, name)


def hop(sim, executable, noun, home):
    config_for(home, sim.dcos_url)
    env = sim.client_env(home, PATH="/usr/local/bin:/usr/bin:/bin")
    return sim.run([executable, noun, "ssh", "--master-proxy", f"--mesos-id={AGENT2_ID}", "--", "hostname"], env,
                   text=True)


def test_pip_install_gives_dcos_node_that_hops_to_an_agent(sim, built, tmp_path):
    out, _ = built
    venv = str(tmp_path / "venv")
    assert pip_install(venv, wheel(out, "dcos_node_ssh")) == ["dcos-node"]
    result = hop(sim, os.path.join(venv, "bin", "dcos-node"), "node", str(tmp_path / "home"))
    assert (result.returncode, result.stdout) == (0, AGENT2 + "\n"), result.stderr


def test_the_wheel_command_json_names_gives_only_dcos_nodes(sim, built, tmp_path):
    """The CLI 0.3 to 0.4.4 pip-install command.json's wheel into the package's virtualenv:
    there a `dcos-node` would break (0.3-0.4.2) or never answer (0.4.3+) `dcos node`."""
    out, _ = built
    venv = str(tmp_path / "venv")
    assert pip_install(venv, wheel(out, "dcos_cluster_nodes")) == ["dcos-nodes"]
    result = hop(sim, os.path.join(venv, "bin", "dcos-nodes"), "nodes", str(tmp_path / "home"))
    assert (result.returncode, result.stdout) == (0, AGENT2 + "\n"), result.stderr
