"""Files and other tools end to end: `dcos node scp` and `dcos node ssh-config` with real
scp, sftp, rsync and ssh through the master, on the simulated cluster. `dcos node scp` runs
twice: with this machine's scp (SFTP mode), and with OpenSSH 8.2's first on PATH
(helpers.openssh_8_2_scp), which has no SFTP mode, so that it copies with sftp.

Each node has a disk of its own (simcluster.NODE_DISK, a tmpfs in the node's mount
namespace), so a copy that stayed on this host, or reached another node, fails. What
arrived is checked on the node through `dcos node ssh` in agent-forwarding mode (another
path than the one under test), by a digest of every file.
"""

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import uuid

import pytest

import simcluster
from helpers import config_for, openssh_8_2_scp, snapshot, unchanged_home

DISK = simcluster.NODE_DISK
PUBLIC = simcluster.MASTER_PUBLIC
(AGENT1, AGENT1_IP, AGENT1_ID), (AGENT2, AGENT2_IP, AGENT2_ID) = simcluster.AGENTS
# Names a shell would mangle, an option parser would take, or a glob would widen.
NAMES = ["plain.txt", "with  two spaces.txt", "it's \"quoted\".txt", "-leading-dash", "--also-dashes",
         "semi;colon; touch PWNED", "$(touch PWNED)`id`&|<>", "glob*?[ab].txt", "back\\slash", "ünïcödé ☃",
         "~tilde", "trailing space "]
NODES = [pytest.param("leader", simcluster.MASTER_NAME, ["--leader"], id="leader"),
         pytest.param(AGENT1_ID, AGENT1, [f"--slave={AGENT1_ID}"], id="agent-by-id"),
         pytest.param("S1", AGENT2, [f"--slave={AGENT2_ID}"], id="agent-by-id-suffix"),
         pytest.param(AGENT1, AGENT1, [f"--slave={AGENT1_ID}"], id="agent-by-host-name"),
         pytest.param(AGENT2_IP, AGENT2, [f"--slave={AGENT2_ID}"], id="agent-by-address")]

DIGESTS = r"""
import hashlib, json, os, sys
root = sys.argv[1]
found, stats = {}, {}
if os.path.isfile(root):
    with open(root, "rb") as stream:
        found["."] = hashlib.sha256(stream.read()).hexdigest()
for folder, folders, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        with open(path, "rb") as stream:
            found[os.path.relpath(path, root)] = hashlib.sha256(stream.read()).hexdigest()
        info = os.stat(path)
        stats[os.path.relpath(path, root)] = [info.st_mode & 0o7777, int(info.st_mtime)]
print(json.dumps({"host": os.uname().nodename, "files": found, "stats": stats,
                  "pwned": os.path.exists(os.path.join(root, "PWNED"))}))
"""


def configure(sim, home):
    config_for(home, sim.dcos_url)


def plugin(sim, dcos_node, home, args):
    """`dcos node ssh <args>` as the operator runs it."""
    env = sim.client_env(home)
    return unchanged_home(env, lambda: sim.run([dcos_node, "node", "ssh"] + list(args), env, text=True))


def digests(root):
    """{relative path: sha256} of every file under root (or of root itself, a file)."""
    if os.path.isfile(root):
        with open(root, "rb") as stream:
            return {".": hashlib.sha256(stream.read()).hexdigest()}
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as stream:
                found[os.path.relpath(path, root)] = hashlib.sha256(stream.read()).hexdigest()
    return found


def on_node(sim, dcos_node, home, target_flags, path, stats=False):
    """(host name, digests) of what is at `path` on the node, asked through forwarding mode;
    with `stats`, (host name, digests, {relative path: [mode, modification time]})."""
    command = f"python3 -c {shlex.quote(DIGESTS)} {shlex.quote(path)}"
    result = plugin(sim, dcos_node, home, ["--master-proxy"] + target_flags + ["--", command])
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["pwned"]
    return (answer["host"], answer["files"]) + ((answer["stats"],) if stats else ())


def tree(root):
    """A local folder holding NAMES, binary content and a subfolder."""
    os.makedirs(os.path.join(root, "sub dir;x", "-deeper"))
    for index, name in enumerate(NAMES):
        with open(os.path.join(root, name), "wb") as stream:
            stream.write(os.urandom(1000 * index) + bytes(range(256)) + b"\r\n\n\r" + name.encode())
    with open(os.path.join(root, "sub dir;x", "-deeper", "it's"), "wb") as stream:
        stream.write(b"\x00" * 70000)
    return root


def local_stats(root):
    """{relative path: [mode, modification time]} of every file under root."""
    return {os.path.relpath(os.path.join(folder, name), root): [
        os.stat(os.path.join(folder, name)).st_mode & 0o7777, int(os.stat(os.path.join(folder, name)).st_mtime)]
        for folder, _, files in os.walk(root) for name in files}


@pytest.fixture(params=["sftp-mode", "openssh-8.2"])
def old_scp(request, tmp_path):
    """None for this machine's scp; else a folder holding OpenSSH 8.2's, to put first on PATH."""
    return openssh_8_2_scp(tmp_path / "openssh-8.2") if request.param == "openssh-8.2" else None


def scp(sim, dcos_node, home, args, old_scp=None):
    return plugin_scp(sim, dcos_node, home, ["--master-proxy"] + args, old_scp)


def plugin_scp(sim, dcos_node, home, args, old_scp=None):
    """`dcos node scp <args>`, with OpenSSH 8.2's scp first on PATH when `old_scp` names its
    folder; then the copy must go through sftp, saying so once."""
    env = sim.client_env(home)
    if old_scp:
        env["PATH"] = old_scp + ":" + env["PATH"]
    result = unchanged_home(env, lambda: sim.run([dcos_node, "node", "scp"] + args, env, text=True, timeout=120))
    running = [line for line in result.stderr.splitlines() if line.startswith("Running `")]
    if old_scp and running:
        assert result.stderr.count("has no SFTP mode (-s, OpenSSH 8.7 and later): copying with sftp") == 1
        assert running[0].startswith("Running `sftp "), result.stderr
    elif running:
        assert running[0].startswith("Running `scp -s "), result.stderr
    assert result.stdout == "", result.stdout
    return result


def unique(label):
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("node, hostname, flags", NODES)
def test_a_file_goes_to_the_node_and_back_byte_exact(sim, dcos_node, home, blob, tmp_path, node, hostname, flags,
                                                     old_scp):
    configure(sim, home)
    path, digest = blob
    name = unique("blob")
    up = scp(sim, dcos_node, home, [path, f"{node}:{DISK}/{name}"], old_scp)
    assert up.returncode == 0, up.stderr
    assert "HostKeyAlias=dcos-" in up.stderr and "ProxyCommand=ssh -W" in up.stderr
    # On the node's own disk, not on this host's.
    assert on_node(sim, dcos_node, home, flags, f"{DISK}/{name}") == (hostname, {".": digest})
    assert not os.path.exists(os.path.join(DISK, name))
    down = scp(sim, dcos_node, home, [f"{node}:{DISK}/{name}", str(tmp_path / "back")], old_scp)
    assert down.returncode == 0, down.stderr
    assert digests(str(tmp_path / "back")) == {".": digest}


def test_a_tree_with_hostile_names_both_ways(sim, dcos_node, home, tmp_path, old_scp):
    configure(sim, home)
    local = tree(str(tmp_path / "up"))
    expected = digests(local)
    folder = unique("tree")
    up = scp(sim, dcos_node, home, ["-r", local, f"{AGENT1_ID}:{DISK}/{folder}"], old_scp)
    assert up.returncode == 0, up.stderr
    assert on_node(sim, dcos_node, home, [f"--slave={AGENT1_ID}"], f"{DISK}/{folder}") == (AGENT1, expected)
    assert not os.path.exists(os.path.join(DISK, folder))
    # The other agent's disk has none of it.
    assert on_node(sim, dcos_node, home, [f"--slave={AGENT2_ID}"], f"{DISK}/{folder}")[1] == {}
    down = scp(sim, dcos_node, home, ["-r", f"{AGENT1}:{DISK}/{folder}", str(tmp_path / "down")], old_scp)
    assert down.returncode == 0, down.stderr
    assert digests(str(tmp_path / "down")) == expected
    assert not os.path.exists(tmp_path / "PWNED") and not os.path.exists("PWNED")


@pytest.mark.parametrize("name", NAMES)
def test_each_hostile_name_as_a_single_file_both_ways(sim, dcos_node, home, tmp_path, name, old_scp):
    """A remote path is a path: the name arrives as written, and is fetched as written."""
    configure(sim, home)
    folder = tmp_path / "f"
    folder.mkdir()
    source = folder / name
    source.write_bytes(name.encode() * 100)
    remote = f"{DISK}/{unique('one')}-{name}"
    up = scp(sim, dcos_node, home, [str(source), f"S1:{remote}"], old_scp)
    assert up.returncode == 0, up.stderr
    host, files = on_node(sim, dcos_node, home, [f"--slave={AGENT2_ID}"], remote)
    assert (host, files) == (AGENT2, {".": hashlib.sha256(name.encode() * 100).hexdigest()})
    down = scp(sim, dcos_node, home, [f"S1:{remote}", str(tmp_path / "back")], old_scp)
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back").read_bytes() == name.encode() * 100


def test_a_local_name_with_a_leading_dash_is_a_file_not_an_option(sim, dcos_node, home, tmp_path, old_scp):
    configure(sim, home)
    (tmp_path / "-r").write_bytes(b"dash")
    env = sim.client_env(home)
    if old_scp:
        env["PATH"] = old_scp + ":" + env["PATH"]
    remote = f"{DISK}/{unique('dash')}"
    result = unchanged_home(env, lambda: subprocess.run(
        sim.client_argv([dcos_node, "node", "scp", "--master-proxy", "--", "-r", f"S1:{remote}"]), env=env,
        capture_output=True, text=True, timeout=60, cwd=tmp_path))
    assert result.returncode == 0, result.stderr
    assert on_node(sim, dcos_node, home, [f"--slave={AGENT2_ID}"], remote)[1] == {
        ".": hashlib.sha256(b"dash").hexdigest()}
    back = unchanged_home(env, lambda: subprocess.run(
        sim.client_argv([dcos_node, "node", "scp", "--master-proxy", "--", f"S1:{remote}", "-back"]), env=env,
        capture_output=True, text=True, timeout=60, cwd=tmp_path))
    assert back.returncode == 0, back.stderr
    assert (tmp_path / "-back").read_bytes() == b"dash"


def test_modes_and_times_are_kept_with_p_both_ways(sim, dcos_node, home, tmp_path, old_scp):
    configure(sim, home)
    local = tree(str(tmp_path / "p tree"))
    for index, (folder, _, files) in enumerate(os.walk(local)):
        for number, name in enumerate(files):
            os.chmod(os.path.join(folder, name), [0o600, 0o640, 0o754, 0o700][(index + number) % 4])
            os.utime(os.path.join(folder, name), (1_200_000_000 + number, 1_200_000_000 + 7 * number + index))
    expected = local_stats(local)
    remote = f"{DISK}/{unique('kept')}"
    up = scp(sim, dcos_node, home, ["-r", "-p", local, f"{AGENT1}:{remote}"], old_scp)
    assert up.returncode == 0, up.stderr
    host, files, stats = on_node(sim, dcos_node, home, [f"--slave={AGENT1_ID}"], remote, stats=True)
    assert (host, files, stats) == (AGENT1, digests(local), expected)
    down = scp(sim, dcos_node, home, ["-p", "-r", f"{AGENT1}:{remote}", str(tmp_path / "down")], old_scp)
    assert down.returncode == 0, down.stderr
    assert local_stats(str(tmp_path / "down")) == expected and digests(str(tmp_path / "down")) == digests(local)
    # Without -p the copy has the times of now, as with scp.
    plain = scp(sim, dcos_node, home, ["-r", f"{AGENT1}:{remote}", str(tmp_path / "plain")], old_scp)
    assert plain.returncode == 0, plain.stderr
    assert {times[1] for times in local_stats(str(tmp_path / "plain")).values()}.isdisjoint(
        times[1] for times in expected.values())


def test_a_glob_in_a_remote_source_is_not_expanded(sim, dcos_node, home, tmp_path, old_scp):
    """`S1:/x/*` names the file called `*`, not every file: scp's own glob is escaped."""
    configure(sim, home)
    folder = tree(str(tmp_path / "t"))
    remote = f"{DISK}/{unique('glob')}"
    assert scp(sim, dcos_node, home, ["-r", folder, f"S1:{remote}"], old_scp).returncode == 0
    missing = scp(sim, dcos_node, home, [f"S1:{remote}/*.txt", str(tmp_path / "out")], old_scp)
    assert missing.returncode != 0 and not os.path.exists(tmp_path / "out")
    (tmp_path / "star").write_bytes(b"star")
    assert scp(sim, dcos_node, home, [str(tmp_path / "star"), f"S1:{remote}/*"], old_scp).returncode == 0
    one = scp(sim, dcos_node, home, [f"S1:{remote}/*", str(tmp_path / "one")], old_scp)
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "one").read_bytes() == b"star"


def test_node_to_node_on_one_node_goes_through_here(sim, dcos_node, home, tmp_path):
    configure(sim, home)
    (tmp_path / "a").write_bytes(b"copied on the node")
    first, second = f"{DISK}/{unique('n2n')}", f"{DISK}/{unique('n2n')}"
    assert scp(sim, dcos_node, home, [str(tmp_path / "a"), f"{AGENT1}:{first}"]).returncode == 0
    result = scp(sim, dcos_node, home, [f"{AGENT1}:{first}", f"{AGENT1_ID}:{second}"])
    assert result.returncode == 0, result.stderr
    assert " -3 " in result.stderr
    assert on_node(sim, dcos_node, home, [f"--slave={AGENT1_ID}"], second)[1] == {
        ".": hashlib.sha256(b"copied on the node").hexdigest()}


def test_node_to_node_is_refused_where_scp_has_no_sftp_mode(sim, dcos_node, home, tmp_path):
    """sftp cannot copy from a node to a node: a clear error, and nothing runs."""
    configure(sim, home)
    old = openssh_8_2_scp(tmp_path / "openssh-8.2")
    result = scp(sim, dcos_node, home, [f"{AGENT1}:{DISK}/a", f"{AGENT1_ID}:{DISK}/b"], old)
    assert result.returncode == 125 and "Running" not in result.stderr
    assert "sftp cannot copy from a node to a node (scp's -3)" in result.stderr


def test_proxy_ip_and_options_reach_both_connections(sim, dcos_node, home, tmp_path, old_scp):
    """With known_hosts files of its own per connection (through --proxy-option and
    --option) and strict checking, the copy works; swapped, the proxy is refused."""
    configure(sim, home)
    master_file, node_file = tmp_path / "master_known", tmp_path / "node_known"
    master_file.write_text(f"{PUBLIC} {sim.master.host_key_pub}\n")
    node_file.write_text(f"{simcluster.host_key_alias(AGENT1_IP)} {sim.agents[0].host_key_pub}\n")
    (tmp_path / "x").write_bytes(b"x")

    def copy(proxy_known, node_known):
        return plugin_scp(sim, dcos_node, home, [
            f"--proxy-ip={PUBLIC}", f"--proxy-option=UserKnownHostsFile={proxy_known}",
            f"--option=UserKnownHostsFile={node_known}", "--option=StrictHostKeyChecking=yes",
            "--option=BatchMode=yes", str(tmp_path / "x"), f"{AGENT1_ID}:{DISK}/{unique('opt')}"], old_scp)
    good = copy(master_file, node_file)
    assert good.returncode == 0, good.stderr
    swapped = copy(node_file, master_file)
    assert swapped.returncode != 0 and "Host key verification failed" in swapped.stderr


# -- the generated config, with the user's own tools ---------------------------------------


@pytest.fixture
def config_file(sim, dcos_node, home, tmp_path):
    configure(sim, home)
    env = sim.client_env(home)
    result = unchanged_home(env, lambda: sim.run([dcos_node, "node", "ssh-config", "--master-proxy"], env, text=True))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "dcos.conf"
    path.write_text(result.stdout)
    return str(path)


def tool(sim, home, argv, **kwargs):
    kwargs.setdefault("timeout", 120)
    return sim.run(argv, sim.client_env(home), text=True, **kwargs)


@pytest.mark.parametrize("alias, hostname", [("dcos.leader", simcluster.MASTER_NAME), (f"dcos.{AGENT1_ID}", AGENT1),
                                             (f"dcos.{AGENT2}", AGENT2), (f"dcos.{AGENT1_IP}", AGENT1)])
def test_plain_ssh_with_the_config(sim, home, config_file, alias, hostname):
    result = tool(sim, home, ["ssh", "-F", config_file, "-o", "BatchMode=yes", alias, "hostname"])
    assert (result.returncode, result.stdout) == (0, hostname + "\n"), result.stderr


def test_plain_scp_sftp_and_rsync_with_the_config(sim, dcos_node, home, config_file, tmp_path):
    local = tree(str(tmp_path / "t"))
    expected = digests(local)
    scp_to = f"{DISK}/{unique('scp')}"
    result = tool(sim, home, ["scp", "-F", config_file, "-r", local, f"dcos.{AGENT1}:{scp_to}"])
    assert result.returncode == 0, result.stderr
    assert on_node(sim, dcos_node, home, [f"--slave={AGENT1_ID}"], scp_to) == (AGENT1, expected)

    rsync_to = f"{DISK}/{unique('rsync')}/"
    result = tool(sim, home, ["rsync", "-a", "-s", "-e", f"ssh -F {config_file}", local + "/",
                              f"dcos.{AGENT2_ID}:{rsync_to}"])
    assert result.returncode == 0, result.stderr
    assert on_node(sim, dcos_node, home, [f"--slave={AGENT2_ID}"], rsync_to) == (AGENT2, expected)
    assert not os.path.exists(rsync_to)
    back = tmp_path / "rsync-back"
    result = tool(sim, home, ["rsync", "-a", "-s", "-e", f"ssh -F {config_file}", f"dcos.{AGENT2_IP}:{rsync_to}",
                              str(back) + "/"])
    assert result.returncode == 0, result.stderr
    assert digests(str(back)) == expected

    batch = tmp_path / "batch"
    sftp_to = f"{DISK}/{unique('sftp')}"
    blob = os.path.join(local, NAMES[-3])
    batch.write_text(f'put "{blob}" "{sftp_to}"\nget "{sftp_to}" "{tmp_path}/sftp-back"\n')
    result = tool(sim, home, ["sftp", "-F", config_file, "-b", str(batch), "dcos.leader"])
    assert result.returncode == 0, result.stderr
    assert on_node(sim, dcos_node, home, ["--leader"], sftp_to)[1] == {".": expected[NAMES[-3]]}
    assert digests(str(tmp_path / "sftp-back")) == {".": expected[NAMES[-3]]}


def isolated_ssh_folder(sim, folder, argv):
    """argv as the operator runs it, with `folder` as ~/.ssh (the passwd home's, as OpenSSH reads)."""
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return ["unshare", "--mount", "--", "sh", "-c", script, "sh", folder, sim.home_ssh] + list(argv)


def operator(sim, home, tmp_path, config):
    """(a ~/.ssh of the test's holding `config`, a function that runs argv as the operator
    does with that folder as the ~/.ssh OpenSSH reads, checking that $HOME is unchanged)."""
    configure(sim, home)
    folder = tmp_path / "dot-ssh"
    folder.mkdir(mode=0o700)
    (folder / "config").write_bytes(config)
    (folder / "config").chmod(0o600)
    env = sim.client_env(home)

    def run(args):
        return unchanged_home(env, lambda: subprocess.run(isolated_ssh_folder(sim, str(folder), args), env=env,
                                                          capture_output=True, text=True, timeout=60))
    return folder, run


def test_write_keeps_the_users_config_and_changes_nothing_the_second_time(sim, dcos_node, home, tmp_path):
    mine = b"# my own config\r\nServerAliveInterval 15\nHost github.com\n    User git\n\tIdentityFile ~/.ssh/gh\n"
    folder, run = operator(sim, home, tmp_path, mine)
    shutil.copy(os.path.join(sim.client_ssh_dir, "known_hosts"), folder / "known_hosts")
    printed = snapshot(str(folder))
    assert run([dcos_node, "node", "ssh-config", "--master-proxy"]).returncode == 0
    assert snapshot(str(folder)) == printed  # without --write, nothing is written

    first = run([dcos_node, "node", "ssh-config", "--master-proxy", "--write"])
    assert first.returncode == 0, first.stderr
    written = os.path.join(sim.home_ssh, "dcos-node-ssh.dcos.conf")
    config = (folder / "config").read_bytes()
    assert config.endswith(mine)
    assert config[:-len(mine)].decode().splitlines()[1] == f"Include {written}"
    generated = folder / "dcos-node-ssh.dcos.conf"
    assert oct(generated.stat().st_mode & 0o777) == "0o600" and "Host dcos.leader" in generated.read_text()
    assert "To undo" in first.stderr
    after_first = snapshot(str(folder))

    second = run([dcos_node, "node", "ssh-config", "--master-proxy", "--write"])
    assert second.returncode == 0, second.stderr
    assert snapshot(str(folder)) == after_first and "includes it already" in second.stderr
    # ssh itself now knows the nodes, without -F, through the Include.
    result = run(["ssh", "-o", "BatchMode=yes", f"dcos.{AGENT2}", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT2 + "\n"), result.stderr

    # A misspelled option is refused before it reaches the file every ssh command reads.
    refused = run([dcos_node, "node", "ssh-config", "--master-proxy", "--option=ServerAliveInterva=30", "--write"])
    assert refused.returncode == 125 and "Bad configuration option: serveraliveinterva" in refused.stderr
    assert snapshot(str(folder)) == after_first
    result = run(["ssh", "-o", "BatchMode=yes", f"dcos.{AGENT2}", "hostname"])
    assert (result.returncode, result.stdout) == (0, AGENT2 + "\n"), result.stderr


def test_a_refused_write_leaves_every_ssh_command_working(sim, dcos_node, home, tmp_path):
    """Before the check, `--option=Foo=bar --write` made OpenSSH refuse every later command
    on the machine: `ssh github.com` included. The user's config is read by the real ssh,
    from the home OpenSSH reads (the password database's), without -F."""
    folder, run = operator(sim, home, tmp_path, b"Host github.com\n    User git\n")
    before = snapshot(str(folder))
    for option in ("--option=Foo=bar", "--option=StrictHostKeyChecking=perhaps"):
        result = run([dcos_node, "node", "ssh-config", "--master-proxy", option, "--write"])
        assert result.returncode == 125 and "OpenSSH does not accept the config this would write" in result.stderr
        assert snapshot(str(folder)) == before
    resolved = run(["ssh", "-G", "github.com"])
    assert resolved.returncode == 0 and "user git\n" in resolved.stdout, resolved.stderr
