"""Warm connections (--warm) without a cluster: where their sockets go and how each is
named, the argument lists that open and use them, OpenSSH's control protocol messages, and
the private folder, stale sockets and `dcos node disconnect` on this machine's real file
system and sockets. The connections themselves, through a real master to real nodes, are
tests/test_e2e_copy.py's.
"""

import os
import re
import socket
import stat
import struct

import pytest

from dcos_node_ssh import warm
from dcos_node_ssh.errors import NodeSshError
from dcos_node_ssh.openssh import shared
from dcos_node_ssh.openssh import warm as protocol
from helpers import in_process

UID = 1000


@pytest.fixture
def tmp_path():
    """A short TMPDIR (pytest's own is too long for a socket path, and the folder would go
    to /tmp instead)."""
    import pathlib
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="dnw-", dir="/tmp")
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("env, expected", [
    ({}, ["/tmp/dcos-node-ssh-1000"]),
    ({"XDG_RUNTIME_DIR": "/run/user/1000", "TMPDIR": "/var/folders/x/T/"},
     ["/run/user/1000/dcos-node-ssh-1000", "/var/folders/x/T/dcos-node-ssh-1000", "/tmp/dcos-node-ssh-1000"]),
    # OpenSSH reads '%' and white space in a ControlPath; a relative path is no place
    ({"XDG_RUNTIME_DIR": "/run/user/%u", "TMPDIR": "/my tmp"}, ["/tmp/dcos-node-ssh-1000"]),
    ({"TMPDIR": "tmp"}, ["/tmp/dcos-node-ssh-1000"]),
    # macOS's TMPDIR is long, but a socket in it still fits in 104 bytes with ssh's temporary suffix
    ({"TMPDIR": "/var/folders/2x/abcdefghijklmnopqrstuvwxyz01/T/"},
     ["/var/folders/2x/abcdefghijklmnopqrstuvwxyz01/T/dcos-node-ssh-1000", "/tmp/dcos-node-ssh-1000"]),
    ({"TMPDIR": "/" + "x" * 60}, ["/tmp/dcos-node-ssh-1000"]),
    ({"TMPDIR": "/tmp/"}, ["/tmp/dcos-node-ssh-1000"]),
])
def test_folder_candidates(env, expected):
    assert protocol.folder_candidates(env, UID) == expected


def test_every_socket_fits_in_sockaddr_un_while_ssh_binds_it():
    for folder in protocol.folder_candidates({"TMPDIR": "/var/folders/2x/abcdefghijklmnopqrstuvwxyz01/T/"}, 501):
        path = protocol.node_socket(folder, "core", "10.0.1.20", None, None, (), (), None)
        assert len(path) + len(".XXXXXXXXXXXXXXXX") + 1 <= 104


NODE = dict(folder="/f", user="core", address="10.0.1.20", proxy="52.1.2.3", alias="dcos-c-10.0.1.20",
            options=("Port=22",), proxy_options=(), config_file=None)


@pytest.mark.parametrize("change", [
    {"user": "centos"}, {"address": "10.0.1.21"}, {"proxy": None}, {"proxy": "52.1.2.4"},
    {"alias": "dcos-d-10.0.1.20"},  # the same address in another cluster
    {"options": ("Port=2200",)}, {"options": ("Port=22", "IdentityFile=/k")},
    {"proxy_options": ("Port=22",)}, {"config_file": "/cfg"},
])
def test_a_connection_with_anything_else_different_is_another_connection(change):
    first = protocol.node_socket(**NODE)
    other = protocol.node_socket(**dict(NODE, **change))
    assert first != other
    assert os.path.dirname(first) == "/f" and protocol.is_socket_name(os.path.basename(first))
    assert first == protocol.node_socket(**NODE)  # and the same one for the same


def test_the_proxy_and_the_node_sockets_are_told_apart():
    proxy = os.path.basename(protocol.proxy_socket("/f", "core", "52.1.2.3", (), (), None))
    node = os.path.basename(protocol.node_socket(**NODE))
    assert proxy[0] == "p" and node[0] == "n" and len(proxy) == len(node) == protocol.NAME_LENGTH
    assert all(protocol.is_socket_name(name) for name in (proxy, node))
    assert not any(protocol.is_socket_name(name) for name in ("lock", "n123", "x" + node[1:], node + "0",
                                                              "n" + "G" * 16))


def test_control_protocol_messages():
    assert protocol.hello() == bytes.fromhex("00000008" "00000001" "00000004")
    assert protocol.alive_check() == bytes.fromhex("00000008" "10000004" "00000001")
    assert protocol.terminate() == bytes.fromhex("00000008" "10000005" "00000001")
    assert protocol.alive_pid(struct.pack(">III", 0x80000005, 1, 4242)) == 4242
    assert protocol.terminated(struct.pack(">II", 0x80000001, 1))
    assert not protocol.terminated(struct.pack(">II", 0x80000002, 1) + b"\0\0\0\x06denied")
    for body in (struct.pack(">II", 0x80000005, 1), struct.pack(">III", 0x80000001, 1, 1),
                 struct.pack(">III", 0x80000005, 2, 1)):
        with pytest.raises(ValueError):
            protocol.alive_pid(body)


PLAN = shared.Shared(user="core", options=("Port=2200",), proxy_options=("Port=22",), client="ssh",
                     proxy="52.1.2.3", control_path="/f/pabc", command=("uptime",))
PROXY_COMMAND = ("ProxyCommand=ssh -o ControlMaster=no -o ControlPath=/f/pabc -o Port=22 -o ForwardAgent=no -o "
                 "ControlMaster=no -o ControlPath=none -o Port=2200 -o ConnectTimeout=10 -o BatchMode=yes -W "
                 "'[%h]:%p' core@52.1.2.3")


def test_a_nodes_warm_connection_is_opened_in_the_background_and_used_as_a_client():
    assert shared.opener_argv(PLAN, "10.0.1.20", "dcos-c-10.0.1.20", "/f/n1", 300) == [
        "ssh", "-N", "-T", "-o", PROXY_COMMAND, "-o", "HostKeyAlias=dcos-c-10.0.1.20", "-o", "ForwardAgent=no",
        "-o", "ControlMaster=yes", "-o", "ControlPath=/f/n1", "-o", "ControlPersist=300s", "-o", "Port=2200",
        "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "core@10.0.1.20"]
    # the command, as a client of it: through the ProxyCommand should it have closed meanwhile
    assert shared.node_argv(PLAN, "10.0.1.20", "dcos-c-10.0.1.20", "/f/n1") == [
        "ssh", "-T", "-o", PROXY_COMMAND, "-o", "HostKeyAlias=dcos-c-10.0.1.20", "-o", "ForwardAgent=no",
        "-o", "ControlMaster=no", "-o", "ControlPath=/f/n1", "-o", "Port=2200", "-o", "ConnectTimeout=10",
        "-o", "BatchMode=yes", "core@10.0.1.20", "uptime"]


def test_the_warm_connection_to_the_proxy_closes_a_while_after_its_last_channel():
    argv = shared.master_argv(PLAN, persist=10)
    assert argv[argv.index("ControlPersist=10s") - 1] == "-o" and "ControlPersist=no" not in argv


# -- the private folder ------------------------------------------------------------------------

def test_the_private_folder_is_made_for_this_user_alone(tmp_path):
    folder = warm.private_folder({"TMPDIR": str(tmp_path)})
    assert folder == str(tmp_path / f"dcos-node-ssh-{os.geteuid()}")
    info = os.lstat(folder)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()
    assert warm.private_folder({"TMPDIR": str(tmp_path)}) == folder  # found again
    assert warm.existing_folders({"TMPDIR": str(tmp_path)}) == [folder]


@pytest.mark.parametrize("plant, problem", [
    (lambda path, elsewhere: os.symlink(elsewhere, path), "it is a link"),
    (lambda path, elsewhere: os.mkdir(path, 0o755), "it is open to others (mode 0755)"),
    (lambda path, elsewhere: open(path, "w").close(), "it is not a folder"),
])
def test_a_folder_that_is_not_private_is_refused_and_left_alone(tmp_path, plant, problem):
    path = tmp_path / f"dcos-node-ssh-{os.geteuid()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    plant(str(path), str(elsewhere))
    os.chmod(tmp_path, 0o755)
    before = os.lstat(path)
    with pytest.raises(NodeSshError, match=re.escape(f"must be a folder that only you can open, but {problem}")):
        warm.private_folder({"TMPDIR": str(tmp_path)})
    assert os.lstat(path) == before and os.listdir(elsewhere) == []
    assert warm.existing_folders({"TMPDIR": str(tmp_path)}) == []


def test_a_socket_whose_connection_is_gone_is_removed_and_anything_else_too(tmp_path):
    stale = str(tmp_path / "n0123456789abcdef")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(stale)
    listener.close()  # its ssh was killed: the socket stays, and nothing answers on it
    planted = tmp_path / "pfedcba9876543210"
    planted.write_text("")
    assert warm.ask(stale) == (warm.State.ABSENT, None) and not os.path.lexists(stale)
    assert warm.ask(str(planted)) == (warm.State.ABSENT, None) and not planted.exists()
    assert warm.ask(str(tmp_path / "nothing")) == (warm.State.ABSENT, None)


def test_a_socket_that_takes_the_connection_but_does_not_answer_is_stuck_not_replaced(tmp_path):
    path = str(tmp_path / "n0123456789abcdef")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    try:
        assert warm.ask(path, seconds=0.2) == (warm.State.STUCK, None)
        assert os.path.exists(path)
    finally:
        listener.close()


def test_the_folder_is_locked_against_a_second_opener(tmp_path):
    import subprocess
    import sys

    code = ("import sys, time; from dcos_node_ssh import warm\n"
            "with warm.locked(sys.argv[1], lambda: time.monotonic() > float(sys.argv[2])) as got: print(got)")
    import time

    with warm.locked(str(tmp_path)) as got:
        assert got
        waited = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(time.monotonic() + 0.3)],
                                capture_output=True, text=True, check=True)
        assert waited.stdout == "False\n"  # it waited, and gave up when told to stop
    free = subprocess.run([sys.executable, "-c", code, str(tmp_path), "0"], capture_output=True, text=True)
    assert free.stdout == "True\n"


def test_disconnect_with_nothing_open_says_so(home, tmp_path):
    result = in_process(home, ["node", "disconnect"], TMPDIR=str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "No warm connection was open.\n")


def test_disconnect_removes_stale_sockets_and_the_empty_folder_and_leaves_the_rest(home, tmp_path):
    folder = warm.private_folder({"TMPDIR": str(tmp_path)})
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(folder, "n0123456789abcdef"))
    listener.close()
    result = in_process(home, ["node", "disconnect"], TMPDIR=str(tmp_path))
    assert (result.returncode, result.stderr) == (0, "No warm connection was open.\n")
    assert not os.path.exists(folder)
    # a folder holding something not ours stays, with it
    folder = warm.private_folder({"TMPDIR": str(tmp_path)})
    open(os.path.join(folder, "notes"), "w").close()
    assert in_process(home, ["node", "disconnect"], TMPDIR=str(tmp_path)).returncode == 0
    assert os.listdir(folder) == ["notes"]


def test_disconnect_names_a_connection_that_does_not_close(home, tmp_path):
    folder = warm.private_folder({"TMPDIR": str(tmp_path)})
    path = os.path.join(folder, "n0123456789abcdef")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    try:
        result = in_process(home, ["node", "disconnect"], TMPDIR=str(tmp_path))
    finally:
        listener.close()
    assert result.returncode == 1
    assert result.stderr == f"The warm connection of {path} did not close; its ssh may be stuck: end it with `kill`.\n"
