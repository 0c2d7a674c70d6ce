"""Warm connections (`--warm`), pure: where their control sockets go, what each is
named, and the few messages of OpenSSH's control protocol (PROTOCOL.mux) that ask a
connection whether it is up and tell it to close.

A warm connection is an OpenSSH ControlMaster with ControlPersist, one per node (and one
to the proxy), its socket in a private folder of the user's. A socket's path must fit
in `sockaddr_un` (104 bytes on macOS and the BSDs, 108 on Linux) while ssh binds it
under a temporary name 17 bytes longer, and OpenSSH reads '%' and splits at white
space in a ControlPath: so the folder is a short path of plain characters, and each
socket is named by a digest of what its connection is.
"""

import hashlib
import os
import re
import struct
from typing import List, Mapping, Optional, Sequence, Tuple

# 104 (the smaller sockaddr_un) - 1 (its NUL) - 17 (".XXXXXXXXXXXXXXXX", ssh's name while binding)
SOCKET_PATH_MAX = 86
NAME_LENGTH = 17  # a kind letter and 16 hex digits
_PLAIN = re.compile(r"/[A-Za-z0-9_./-]*")


def folder_name(uid: int) -> str:
    return f"dcos-node-ssh-{uid}"


def folder_candidates(env: Mapping[str, str], uid: int) -> List[str]:
    """Where the private folder may be, in order: under XDG_RUNTIME_DIR (the user's own,
    cleared at logout), under TMPDIR, under /tmp; only short paths of plain characters.
    Closing looks in all of them, since another shell may have another environment."""
    bases = [env.get("XDG_RUNTIME_DIR", ""), env.get("TMPDIR", ""), "/tmp"]
    found: List[str] = []
    for base in bases:
        base = base.rstrip("/") if base != "/" else base
        if not base or not _PLAIN.fullmatch(base):
            continue
        folder = os.path.join(base, folder_name(uid))
        if len(folder) + 1 + NAME_LENGTH <= SOCKET_PATH_MAX and folder not in found:
            found.append(folder)
    return found


def _digest(*parts: str) -> str:
    text = "\0".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.sha256(text).hexdigest()[:NAME_LENGTH - 1]


def proxy_socket(folder: str, user: str, proxy: str, options: Sequence[str], proxy_options: Sequence[str],
                 config_file: Optional[str]) -> str:
    """The warm connection to the proxy: one per user, proxy and options."""
    return os.path.join(folder, "p" + _digest("proxy", user, proxy, *proxy_options, "\0", *options,
                                              "\0", config_file or ""))


def node_socket(folder: str, user: str, address: str, proxy: Optional[str], alias: Optional[str],
                options: Sequence[str], proxy_options: Sequence[str], config_file: Optional[str]) -> str:
    """A node's warm connection: one per user, node (its address and the cluster it is in,
    which its HostKeyAlias names), way there and options, so that a command with other
    options (another Port, another key) never borrows a connection made for these."""
    return os.path.join(folder, "n" + _digest("node", user, address, proxy or "", alias or "", *proxy_options,
                                              "\0", *options, "\0", config_file or ""))


def is_socket_name(name: str) -> bool:
    """Whether a name in the folder is one of ours (closing leaves anything else alone)."""
    return len(name) == NAME_LENGTH and name[0] in "np" and all(char in "0123456789abcdef" for char in name[1:])


# -- OpenSSH's control protocol (PROTOCOL.mux) ------------------------------------------------
# Every message is a uint32 length and a body of big-endian uint32 words (and strings, which
# these messages do not use). Both sides start with a hello; then one request, one reply.

MUX_MSG_HELLO = 0x00000001
MUX_VERSION = 4
MUX_C_ALIVE_CHECK = 0x10000004
MUX_C_TERMINATE = 0x10000005
MUX_S_OK = 0x80000001
MUX_S_PERMISSION_DENIED = 0x80000002
MUX_S_FAILURE = 0x80000003
MUX_S_ALIVE = 0x80000005
REQUEST_ID = 1
MESSAGE_MAX = 256 * 1024  # what OpenSSH itself accepts for one control message


def message(*words: int) -> bytes:
    body = b"".join(struct.pack(">I", word) for word in words)
    return struct.pack(">I", len(body)) + body


def hello() -> bytes:
    return message(MUX_MSG_HELLO, MUX_VERSION)


def alive_check() -> bytes:
    return message(MUX_C_ALIVE_CHECK, REQUEST_ID)


def terminate() -> bytes:
    return message(MUX_C_TERMINATE, REQUEST_ID)


def words(body: bytes, count: int) -> Tuple[int, ...]:
    """The first `count` words of a message's body; ValueError when it is shorter."""
    if len(body) < 4 * count:
        raise ValueError("a control message too short")
    return struct.unpack(f">{count}I", body[:4 * count])


def alive_pid(body: bytes) -> int:
    """The master's process ID from its answer to an alive check; ValueError for any other answer."""
    kind, request, pid = words(body, 3)
    if kind != MUX_S_ALIVE or request != REQUEST_ID:
        raise ValueError(f"not an alive answer (0x{kind:08x})")
    return pid


def terminated(body: bytes) -> bool:
    """Whether the master accepted to close (MUX_S_OK); False when it refused."""
    kind, request = words(body, 2)
    if kind == MUX_S_OK and request == REQUEST_ID:
        return True
    if kind in (MUX_S_PERMISSION_DENIED, MUX_S_FAILURE):
        return False
    raise ValueError(f"not an answer to terminate (0x{kind:08x})")
