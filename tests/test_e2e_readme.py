"""README.rst's examples that reach nodes, run end to end on the simulated cluster (root):
the `dcos node ssh --master-proxy …` and `dcos node run --master-proxy …` lines whose remote
command the simulated nodes can run (uptime, free, df, test: they have no journald, DC/OS
files or sudo) and whose nodes it has (S1, dcos-agent-2, the agents), through the real
master with real OpenSSH hops. Each exits as the README says (0, or EXPECTED's status)."""

import os
import shutil
import tempfile

import pytest

from dcos_node_ssh import usage
from helpers import config_for, sim_node
from test_readme import EXAMPLES, EXPECTED, command_line, plugin_args

# Remote commands the simulated nodes can run as the README writes them.
RUNS_HERE = ("uptime", "free", "df", "test")


def reaches_nodes(words):
    args = usage.separate_remote_command(plugin_args(words))
    own = usage.own_words(args)
    remote = args[len(own) + 1:] if "--" in args else []
    return (args[1:2] in (["ssh"], ["run"]) and "--master-proxy" in own
            and not {"--dry-run", "--check", "--list", "--public-agents"} & set(own)
            and bool(remote) and remote[0].split()[0] in RUNS_HERE)


ON_NODES = [(number, line, words) for number, line, words in EXAMPLES if reaches_nodes(words)]


def test_the_readme_has_examples_that_reach_nodes():
    verbs = {plugin_args(words)[1] for _, _, words in ON_NODES}
    assert verbs == {"ssh", "run"} and any("--warm" in line for _, line, _ in ON_NODES)


@pytest.mark.parametrize("number, line, words", ON_NODES, ids=[f"line {number}" for number, _, _ in ON_NODES])
def test_every_example_that_the_simulated_cluster_can_run_runs(sim, dcos_node, home, number, line, words):
    config_for(home, sim.dcos_url)
    private = tempfile.mkdtemp(prefix="dnr-", dir="/tmp")  # --warm's sockets, closed below
    env = sim.client_env(home, TMPDIR=private)
    try:
        result = sim_node(sim, dcos_node, home, plugin_args(words)[1:], env=env, timeout=300)
        status, said = EXPECTED.get(command_line(words), (0, ""))
        assert result.returncode == status, f"README.rst line {number}: {line}\n{result.stderr}"
        assert said in result.stderr
        assert "Traceback" not in result.stderr
        if "--warm" in line:  # the README's next line: `dcos node disconnect` leaves nothing
            closed = sim_node(sim, dcos_node, home, ["disconnect"], env=env)
            assert closed.returncode == 0, closed.stderr
            assert not os.path.exists(os.path.join(private, f"dcos-node-ssh-{os.geteuid()}"))
    finally:
        if "--warm" in line:
            sim_node(sim, dcos_node, home, ["disconnect"], env=env)  # what a failed test left open
        shutil.rmtree(private, ignore_errors=True)
