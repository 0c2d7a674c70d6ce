"""End-to-end with PuTTY's real plink (Debian's putty-tools) as the first hop.

Unix plink forwards the OpenSSH agent, as Windows plink forwards Pageant. The
master's host key is accepted as a user does: at the first connection, typed in
a terminal; PuTTY then keeps it in ~/.putty/sshhostkeys.
"""

import hashlib
import os
import pty
import select
import shutil
import time

import pytest

import simcluster
from helpers import TRICKY_COMMANDS, config_for, unchanged_home

PUBLIC = simcluster.MASTER_PUBLIC
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS


def run_in_terminal(argv, env, answers, seconds=30):
    """Run argv on a pseudo-terminal, typing each answer when its prompt appears."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: becomes argv
        os.execvpe(argv[0], argv, env)
    output, pending, deadline = b"", list(answers), time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.2)
        if ready:
            try:
                data = os.read(terminal, 65536)
            except OSError:
                break
            if not data:
                break
            output += data
        if pending and pending[0][0] in output:
            os.write(terminal, pending.pop(0)[1])
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.fixture(scope="module")
def putty_home(sim_cluster, dcos_node, tmp_path_factory):
    """A user's home whose PuTTY has met the master once, at a terminal."""
    if shutil.which("plink") is None:
        pytest.fail("plink is not installed (Debian package putty-tools); scripts/prepare installs it")
    home = str(tmp_path_factory.mktemp("putty-home"))
    # PuTTY keeps its state in $HOME/.putty only when that folder exists; otherwise it uses the
    # password database's home (root's ~/.putty, shared with every other run on this machine).
    os.mkdir(os.path.join(home, ".putty"), 0o700)
    # The cluster as the `sim` fixture leaves it: an earlier test may have left a silent API.
    sim_cluster.write_scenario(sim_cluster.default_scenario())
    config_for(home, sim_cluster.dcos_url)
    env = sim_cluster.client_env(home)
    argv = sim_cluster.client_argv([dcos_node, "node", "ssh", "--ssh-client=plink", "--master-proxy",
                                    f"--slave={AGENT1_ID}", "--", "hostname"])
    status, output = run_in_terminal(argv, env, [(b"Store key in cache? (y/n", b"y\n"),
                                                 (b"Press Return to begin session", b"\n")])
    assert status == 0, output
    assert "Running `plink -A -t -l core 198.51.100.10 ssh -A -t core@198.18.0.20 hostname`" in output
    assert AGENT1 in output
    with open(os.path.join(home, ".putty", "sshhostkeys"), encoding="utf-8") as stream:
        cached = stream.read()
    assert PUBLIC in cached
    return home


def plink(sim, dcos_node, home, args, **kwargs):
    """Run the plugin with plink. PuTTY itself writes in ~/.putty (its random seed), so
    only the DC/OS configuration is checked to be left as it was."""
    kwargs.setdefault("text", True)
    env = sim.client_env(home)
    config = {"HOME": os.path.join(home, ".dcos")}
    return unchanged_home(config, lambda: sim.run([dcos_node, "node", "ssh", "--ssh-client=plink"] + args, env,
                                                  **kwargs))


def test_after_the_first_connection_plink_hops_without_a_terminal(sim, dcos_node, putty_home):
    result = plink(sim, dcos_node, putty_home, ["--master-proxy", f"--slave={AGENT2_ID}", "--",
                                                "hostname; echo $SSH_CONNECTION"])
    assert result.returncode == 0, result.stderr
    assert "Running `plink -A -T -l core 198.51.100.10 ssh -A -T core@198.18.0.21" in result.stderr
    name, connection = result.stdout.splitlines()
    assert name == AGENT2 and connection.split()[2] == AGENT2_IP


@pytest.mark.parametrize("status", [0, 42])
def test_exit_status_through_plink(sim, dcos_node, putty_home, status):
    result = plink(sim, dcos_node, putty_home, ["--master-proxy", f"--slave={AGENT1_ID}", "--", f"exit {status}"])
    assert result.returncode == status, result.stderr


@pytest.mark.parametrize("words", TRICKY_COMMANDS)
def test_commands_behave_as_with_plain_ssh(sim, dcos_node, putty_home, words):
    env = sim.client_env(putty_home)
    plain = sim.run(["ssh", "-T", f"core@{PUBLIC}"] + words, env, text=True)
    ours = plink(sim, dcos_node, putty_home, ["--master-proxy", f"--slave={AGENT1_ID}", "--"] + words)
    assert (ours.returncode, ours.stdout) == (plain.returncode, plain.stdout), ours.stderr


def test_binary_output_through_plink(sim, dcos_node, putty_home, blob):
    path, digest = blob
    result = plink(sim, dcos_node, putty_home, ["--master-proxy", f"--slave={AGENT2_ID}", "--", "cat", path],
                   text=False)
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(result.stdout).hexdigest() == digest


def test_direct_mode_with_plink(sim, dcos_node, putty_home):
    result = plink(sim, dcos_node, putty_home, [f"--private-ip={PUBLIC}", "--", "-V 2>/dev/null; hostname"])
    # The leading space plink needs keeps `-V` a command for the master's shell, not a plink option.
    assert "Running `plink -A -T -l core 198.51.100.10 ' -V 2>/dev/null; hostname'`" in result.stderr
    assert (result.returncode, result.stdout) == (0, simcluster.MASTER_NAME + "\n"), result.stderr


def test_options_plink_cannot_express_reach_the_second_hop(sim, dcos_node, putty_home):
    result = plink(sim, dcos_node, putty_home, ["--master-proxy", f"--slave={AGENT1_ID}", "--option=Port=22",
                                                "--option", "SetEnv=DCOS_TEST_P=\"via the second hop\"",
                                                "--", 'echo "[$DCOS_TEST_P]"'])
    assert (result.returncode, result.stdout) == (0, "[via the second hop]\n"), result.stderr
    assert "plink cannot express these ssh options, so they apply to the second hop only: " \
           "SetEnv=DCOS_TEST_P=\"via the second hop\"." in result.stderr
    assert "-P 22" in result.stderr.split("Running")[1]
