"""End-to-end: `dcos node copy`, `dcos node fetch` and --warm through the real master on the
simulated fleet of 250 agents (reachable only through the master), each with a disk of its
own: the fleet's second sshd (simcluster.start_fleet_disks) serves SFTP only on
FLEET_DISK_PORT and chroots every address into a folder of its own on a tmpfs that only
its mount namespace has. So a file copied to a node is checked there, on that node's disk,
and a file fetched from a node was put on that node's disk alone.

Copies reach that sshd with --option=Port=<its port> and keep the proxy on 22 with
--proxy-option=Port=22 (ssh takes the first value: the proxy's own options come first).
"""

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

import simcluster
from helpers import unchanged_home, write_config

FLEET = 250
DISK = ["--master-proxy", "--proxy-option=Port=22", f"--option=Port={simcluster.FLEET_DISK_PORT}"]
ADDRESSES = [simcluster.fleet_address(index) for index in range(FLEET)]
IDS = {simcluster.fleet_address(index): simcluster.fleet_agent(index)[2] for index in range(FLEET)}


@pytest.fixture(scope="module")
def disks_cluster(sim_cluster):
    return sim_cluster.start_fleet(FLEET).start_fleet_disks()


@pytest.fixture
def fleet(disks_cluster):
    """The fleet's agents alone (the simulated cluster's own two have no disk sshd)."""
    scenario = disks_cluster.fleet_scenario(count=FLEET)
    scenario["slaves"] = scenario["slaves"][len(simcluster.AGENTS):]
    disks_cluster.write_scenario(scenario)
    return disks_cluster


@pytest.fixture
def tmpdir_of_run():
    """A short TMPDIR of the test's own: the warm connections' folder is in it, so what is
    left there, and any process whose command line names it, is this test's."""
    path = tempfile.mkdtemp(prefix="dnc-", dir="/tmp")
    yield path
    from dcos_node_ssh.warm import close_all

    close_all({"TMPDIR": path})  # what a failed test left open
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def workdir():
    """Where the operator's files are, and fetches go (the client reads it as root)."""
    path = tempfile.mkdtemp(prefix="dnc-work-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def dcos_node_in(cluster, dcos_node, home, verb, args, workdir, tmpdir, check_home=True, timeout=600):
    write_config(os.path.join(home, ".dcos", "dcos.toml"), f'[core]\ndcos_url = "{cluster.dcos_url}"\n')
    env = cluster.client_env(home, TMPDIR=tmpdir)

    def run():
        return cluster.run([dcos_node, "node", verb] + list(args), env, timeout=timeout, cwd=workdir)

    return unchanged_home(env, run) if check_home else run()


def disk(cluster, address, *path):
    return os.path.join(cluster.fleet_disk(address), *path)


# Names a shell, scp's own glob, sftp's quoting or an option parser would read as something else.
def hostile_names(token):
    return [f"{token} with  spaces", f"{token} it's \"quoted\"", f"{token} *glob?[1]", f"-{token}-leading-dash",
            f"{token};$(echo x) `y` &&z", f"{token} back\\slash", f"{token} ünïcödé", f"{token}\ttab"]


def make_tree(root, token):
    """A tree of hostile names, modes and old times: {relative path: (bytes, mode)} of its files."""
    files = {}
    for depth, name in enumerate(hostile_names(token)[:4]):
        folder = os.path.join(root, *(["sub dir"] * depth))
        os.makedirs(folder, exist_ok=True)
        data = secrets.token_bytes(1000 * depth + 7) + b"\r\n\0"
        path = os.path.join(folder, name)
        with open(path, "wb") as stream:
            stream.write(data)
        mode = (0o640, 0o604, 0o750, 0o600)[depth]
        os.chmod(path, mode)
        os.utime(path, (1_000_000_000 + depth, 1_000_000_000 + depth))
        files[os.path.relpath(path, root)] = (data, mode)
    os.chmod(os.path.join(root, "sub dir"), 0o751)
    return files


def test_copy_puts_files_and_trees_on_every_nodes_own_disk_byte_for_byte(fleet, dcos_node, home, workdir,
                                                                        tmpdir_of_run):
    token = secrets.token_hex(3)
    files = {}
    for index, name in enumerate(hostile_names(token)):
        data = secrets.token_bytes(4096 * index + 1) + name.encode()
        with open(os.path.join(workdir, name), "wb") as stream:
            stream.write(data)
        os.chmod(os.path.join(workdir, name), 0o640 + index % 2)
        os.utime(os.path.join(workdir, name), (1_200_000_000, 1_200_000_000 + index))
        files[name] = data
    tree = make_tree(os.path.join(workdir, f"tree {token}"), token)
    before = fleet.disk_logins()
    result = dcos_node_in(fleet, dcos_node, home, "copy",
                          DISK + ["--agents", "-p", "--"] + list(files) + ["/tmp/"], workdir, tmpdir_of_run)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert result.stderr.decode().endswith(f"Copied to {FLEET} of {FLEET} nodes.\n")
    assert fleet.disk_logins() == before + FLEET
    result = dcos_node_in(fleet, dcos_node, home, "copy",
                          DISK + ["--agents", "-r", "-p", f"tree {token}", f"/tmp/copied {token}"], workdir,
                          tmpdir_of_run)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    for address in ADDRESSES:
        for index, (name, data) in enumerate(files.items()):
            path = disk(fleet, address, "tmp", name)
            with open(path, "rb") as stream:
                assert stream.read() == data, (address, name)
            info = os.stat(path)
            assert (oct(info.st_mode & 0o7777), info.st_mtime) == (oct(0o640 + index % 2), 1_200_000_000 + index)
        for relative, (data, mode) in tree.items():
            path = disk(fleet, address, "tmp", f"copied {token}", relative)
            with open(path, "rb") as stream:
                assert stream.read() == data, (address, relative)
            assert os.stat(path).st_mode & 0o7777 == mode
        assert os.stat(disk(fleet, address, "tmp", f"copied {token}", "sub dir")).st_mode & 0o777 == 0o751
    # on the nodes' disks, and on nobody else's: not under this host's /tmp, and not on the master
    assert not any(os.path.lexists(os.path.join("/tmp", name)) for name in files)
    assert not os.path.lexists(f"/tmp/copied {token}")


def seed(cluster, address, path, data, mode=0o644, mtime=None):
    """A file of the node's user on the node's own disk, and the folders to it."""
    full = disk(cluster, address, *path.split("/"))
    folder = os.path.dirname(full)
    while not os.path.isdir(folder):
        parent = folder
        while not os.path.isdir(os.path.dirname(parent)):
            parent = os.path.dirname(parent)
        os.mkdir(parent, 0o755)
        os.chown(parent, cluster.uid, cluster.gid)
    with open(full, "wb") as stream:
        stream.write(data)
    os.chown(full, cluster.uid, cluster.gid)
    os.chmod(full, mode)
    if mtime is not None:
        os.utime(full, (mtime, mtime))


def test_fetch_brings_each_nodes_own_files_into_a_folder_of_its_own(fleet, dcos_node, home, workdir,
                                                                   tmpdir_of_run):
    token = secrets.token_hex(3)
    names = hostile_names(token)
    for address in ADDRESSES:
        for index, name in enumerate(names):
            seed(fleet, address, f"home/core/{name}", address.encode() + b"\0" + secrets.token_bytes(index * 700),
                 0o600 + index % 2 * 0o40, 1_100_000_000 + index)
        seed(fleet, address, f"home/core/logs {token}/sub dir/-{token}.log", address.encode() * 3, 0o640)
    out = os.path.join(workdir, f"out {token}")
    sources = [f"~/{name}" for name in names] + [f"logs {token}"]
    result = dcos_node_in(fleet, dcos_node, home, "fetch", DISK + ["--agents", "-r", "-p", "--"] + sources + [out],
                          workdir, tmpdir_of_run)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert result.stderr.decode().endswith(f"Fetched from {FLEET} of {FLEET} nodes into {out}.\n")
    assert sorted(os.listdir(out)) == sorted(IDS.values())
    for address in ADDRESSES:
        folder = os.path.join(out, IDS[address])
        assert sorted(os.listdir(folder)) == sorted(names + [f"logs {token}"])
        for index, name in enumerate(names):
            with open(disk(fleet, address, "home", "core", name), "rb") as stream:
                on_node = stream.read()
            with open(os.path.join(folder, name), "rb") as stream:
                assert stream.read() == on_node and on_node.startswith(address.encode() + b"\0"), (address, name)
            info = os.stat(os.path.join(folder, name))
            assert (info.st_mode & 0o777, info.st_mtime) == (0o600 + index % 2 * 0o40, 1_100_000_000 + index)
        with open(os.path.join(folder, f"logs {token}", "sub dir", f"-{token}.log"), "rb") as stream:
            assert stream.read() == address.encode() * 3


def test_a_node_that_fails_is_named_and_the_others_are_fetched(fleet, dcos_node, home, workdir, tmpdir_of_run):
    token = secrets.token_hex(3)
    missing = simcluster.fleet_agent(7)
    for address in ADDRESSES:
        if address != missing[1]:
            seed(fleet, address, f"tmp/{token}", address.encode())
    out = os.path.join(workdir, "out")
    result = dcos_node_in(fleet, dcos_node, home, "fetch", DISK + ["--agents", f"/tmp/{token}", out], workdir,
                          tmpdir_of_run)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert re.search(f"^{missing[0]}: [^ ]*scp: /tmp/{token}: No such file or directory\r?$", stderr, re.M)
    assert stderr.endswith(f"Fetched from {FLEET - 1} of {FLEET} nodes into {out}.\n"
                           f"  scp exit status 1 (1): {missing[0]}\n")
    assert os.listdir(os.path.join(out, missing[2])) == []
    assert open(os.path.join(out, IDS[ADDRESSES[0]], token), "rb").read() == ADDRESSES[0].encode()


def test_fetch_into_a_folder_that_is_not_empty_reaches_no_node(fleet, dcos_node, home, workdir, tmpdir_of_run):
    out = os.path.join(workdir, "out")
    os.makedirs(os.path.join(out, "earlier"))
    before = fleet.disk_logins()
    result = dcos_node_in(fleet, dcos_node, home, "fetch", DISK + ["--agents", "/etc/hostname", out], workdir,
                          tmpdir_of_run)
    assert result.returncode == 125 and b"is not empty" in result.stderr
    assert fleet.disk_logins() == before and os.listdir(out) == ["earlier"]


# -- warm connections ---------------------------------------------------------------------------

def warm_folder(tmpdir):
    return os.path.join(tmpdir, f"dcos-node-ssh-{os.geteuid()}")


def processes_naming(text):
    return subprocess.run(["pgrep", "-f", text], capture_output=True, text=True).stdout.split()


def test_a_second_warm_run_logs_in_nowhere_and_disconnect_leaves_nothing(fleet, dcos_node, home, workdir,
                                                                         tmpdir_of_run):
    args = ["--master-proxy", "--agents", "--warm=300", "--", "echo $SSH_CONNECTION | cut -d' ' -f3"]
    logins = fleet.fleet.connections(), fleet.master.connections()
    first = dcos_node_in(fleet, dcos_node, home, "run", args, workdir, tmpdir_of_run)
    assert first.returncode == 0, first.stderr.decode()[-3000:]
    assert f"Opening a connection to {FLEET} nodes, kept until unused for 300 s" in first.stderr.decode()
    opened = fleet.fleet.connections(), fleet.master.connections()
    assert opened == (logins[0] + FLEET, logins[1] + 1)  # a login on each node, and one on the master
    sockets = os.listdir(warm_folder(tmpdir_of_run))
    assert len(sockets) == FLEET + 1 and stat_mode(warm_folder(tmpdir_of_run)) == 0o700

    second = dcos_node_in(fleet, dcos_node, home, "run", args, workdir, tmpdir_of_run)
    assert second.returncode == 0, second.stderr.decode()[-3000:]
    assert f"Using the warm connections to {FLEET} nodes.\n" in second.stderr.decode()
    assert (fleet.fleet.connections(), fleet.master.connections()) == opened  # no new login anywhere
    assert sorted(second.stdout.decode().splitlines()) == sorted(first.stdout.decode().splitlines())
    assert sorted(line.split(": ")[1] for line in second.stdout.decode().splitlines()) == sorted(ADDRESSES)

    closed = dcos_node_in(fleet, dcos_node, home, "disconnect", [], workdir, tmpdir_of_run)
    assert (closed.returncode, closed.stderr) == (0, f"Closed the warm connections to {FLEET} nodes and 1 "
                                                     "proxy.\n".encode())
    assert not os.path.exists(warm_folder(tmpdir_of_run)) and processes_naming(tmpdir_of_run) == []


def stat_mode(path):
    return os.stat(path).st_mode & 0o777


def test_warm_copies_log_in_once_and_nothing_is_left_when_the_time_is_up(fleet, dcos_node, home, workdir,
                                                                         tmpdir_of_run):
    """Copies and fetches reuse the connections as commands do; a few nodes, a short time."""
    token = secrets.token_hex(3)
    few = ADDRESSES[:5]
    with open(os.path.join(workdir, token), "wb") as stream:
        stream.write(token.encode())
    picked = [f"--mesos-id={IDS[address]}" for address in few]
    before = fleet.disk_logins()
    copied = dcos_node_in(fleet, dcos_node, home, "copy", DISK + picked + ["--warm=4", token, "/tmp/"], workdir,
                          tmpdir_of_run)
    assert copied.returncode == 0, copied.stderr.decode()[-3000:]
    assert fleet.disk_logins() == before + len(few)
    fetched = dcos_node_in(fleet, dcos_node, home, "fetch", DISK + picked + ["--warm=4", f"/tmp/{token}", "out"],
                           workdir, tmpdir_of_run)
    assert fetched.returncode == 0, fetched.stderr.decode()[-3000:]
    assert fleet.disk_logins() == before + len(few)  # the second command logged in nowhere
    assert all(open(os.path.join(workdir, "out", IDS[address], token)).read() == token for address in few)
    assert processes_naming(tmpdir_of_run) != []
    # 4 s after the last use the nodes' connections close, and the proxy's at most 4 s after them
    deadline = time.monotonic() + 30
    while (processes_naming(tmpdir_of_run) or os.listdir(warm_folder(tmpdir_of_run))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_naming(tmpdir_of_run) == [] and os.listdir(warm_folder(tmpdir_of_run)) == []
