"""What an ssh run at `LogLevel=DEBUG1` said about the hosts it reached: whether an SSH
server answered, and through what; each host key offered, and ssh's verdict on it.

Pure: it reads ssh's own words, which have been the same from OpenSSH 7.4 to today
(sshconnect.c, sshconnect2.c). One run may hold several connections (a ProxyCommand's
ssh, or the proxy's ssh to the node, whose words come back on the session's stderr);
a verdict belongs to the host key offered last before it.
"""

import enum
import re
from typing import NamedTuple

from ..errors import shown


class KeyState(enum.Enum):
    KNOWN = "known"  # known_hosts holds this key for the host
    UNKNOWN = "unknown"  # no key for the host: ssh asks, or follows StrictHostKeyChecking
    CHANGED = "changed"  # another key for the host: ssh refuses, whatever StrictHostKeyChecking says but no
    REVOKED = "revoked"  # the key is marked @revoked
    UNSEEN = "unseen"  # no verdict: the connection ended before one


class HostKey(NamedTuple):
    """A host key as ssh reported it, and its verdict."""

    state: KeyState
    kind: str = ""  # "ED25519", "ECDSA", "RSA", as ssh's messages name it
    fingerprint: str = ""  # "SHA256:…"
    name: str = ""  # what known_hosts keeps it under: the host, [host]:port, or the HostKeyAlias
    offending: str = ""  # for a changed key: the known_hosts file holding the old one
    offending_line: str = ""

    def shown(self) -> str:
        """The key for a message: "ED25519 key SHA256:…"."""
        return f"{self.kind} key {self.fingerprint}".strip() if self.fingerprint else f"{self.kind} key".strip()


class SshLog(NamedTuple):
    software: str = ""  # the last server's version, as it says it: "OpenSSH_9.2p1 Debian-2+deb12u10"
    proxy_command: str = ""  # the ProxyCommand (or ProxyJump's) that ssh ran, when it ran one
    address: str = ""  # where ssh connected itself, when it did: "198.51.100.10 port 22"
    key: HostKey = HostKey(KeyState.UNSEEN)  # the verdict on the last host key checked
    authenticated: bool = False
    methods: str = ""  # "publickey,password": what the server would take, from the last refusal

    @property
    def reached(self) -> bool:
        return bool(self.software)


# ssh's algorithm names, as its messages name the key types.
_KINDS = (("ssh-ed25519", "ED25519"), ("sk-ssh-ed25519", "ED25519-SK"), ("ecdsa-sha2", "ECDSA"),
          ("sk-ecdsa-sha2", "ECDSA-SK"), ("ssh-rsa", "RSA"), ("rsa-sha2", "RSA"), ("ssh-dss", "DSA"))

_SOFTWARE = re.compile(r"remote software version (.+?)\s*$")
_OFFERED = re.compile(r"Server host key: (\S+) (\S+)")
_KNOWN = re.compile(r"Host '(.+)' is known and matches the (\S+) host (?:key|certificate)")
_UNKNOWN = re.compile(r"No (\S+) host key is known for (.+) and you have requested strict checking")
_CHANGED = re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED")
_SENT = re.compile(r"The fingerprint for the (\S+) key sent by the remote host is")
_CHANGED_NAME = re.compile(r"Host key for (.+) has changed and you have requested strict checking")
_OFFENDING = re.compile(r"Offending (\S+) key in (.+):([0-9]+)\s*$")
_REVOKED = re.compile(r"(\S+) host key for (.+) was revoked")
_PROXY = re.compile(r"(?:Executing proxy command: |Setting implicit ProxyCommand from ProxyJump: )(.+?)\s*$")
_CONNECTING = re.compile(r"Connecting to \S+ \[([^\]]+)\] port ([0-9]+)")
_REFUSED = re.compile(r"Permission denied \(([^)]*)\)")


def kind_of(algorithm: str) -> str:
    for prefix, kind in _KINDS:
        if algorithm.startswith(prefix):
            return kind
    return shown(algorithm, 40)


def read_log(text: str) -> SshLog:
    """The facts in ssh's stderr, in the order it said them."""
    log = SshLog()
    offered = HostKey(KeyState.UNSEEN)
    sent_kind = ""
    for line in text.replace("\r", "").splitlines():
        line = line.removeprefix("debug1: ")
        if sent_kind:  # the line after "The fingerprint for the … key sent by the remote host is"
            log = log._replace(key=log.key._replace(kind=sent_kind, fingerprint=shown(line.rstrip(". "), 100)))
            sent_kind = ""
            continue
        match = _SOFTWARE.search(line)
        if match:
            log = log._replace(software=shown(match.group(1), 100))
            continue
        match = _OFFERED.search(line)
        if match:
            offered = HostKey(KeyState.UNSEEN, kind_of(match.group(1)), shown(match.group(2), 100))
            continue
        match = _KNOWN.search(line)
        if match:
            log = log._replace(key=offered._replace(state=KeyState.KNOWN, name=shown(match.group(1))))
            continue
        match = _UNKNOWN.search(line)
        if match:
            log = log._replace(key=offered._replace(state=KeyState.UNKNOWN, kind=shown(match.group(1), 40),
                                                    name=shown(match.group(2))))
            continue
        if _CHANGED.search(line):
            log = log._replace(key=offered._replace(state=KeyState.CHANGED))
            continue
        match = _SENT.search(line)
        if match and log.key.state is KeyState.CHANGED:
            sent_kind = shown(match.group(1), 40)
            continue
        match = _CHANGED_NAME.search(line)
        if match and log.key.state is KeyState.CHANGED:
            log = log._replace(key=log.key._replace(name=shown(match.group(1))))
            continue
        match = _OFFENDING.search(line)
        if match and log.key.state is KeyState.CHANGED and not log.key.offending:
            log = log._replace(key=log.key._replace(offending=shown(match.group(2)), offending_line=match.group(3)))
            continue
        match = _REVOKED.search(line)
        if match:
            log = log._replace(key=offered._replace(state=KeyState.REVOKED, name=shown(match.group(2))))
            continue
        match = _PROXY.search(line)
        if match:
            log = log._replace(proxy_command=shown(match.group(1), 200))
            continue
        match = _CONNECTING.search(line)
        if match and not log.address:
            log = log._replace(address=f"{shown(match.group(1), 60)} port {match.group(2)}")
            continue
        if line.startswith("Authenticated to "):
            log = log._replace(authenticated=True)
            continue
        match = _REFUSED.search(line)
        if match:
            log = log._replace(methods=shown(match.group(1), 100))
    return log


def key_file_hint(kind: str) -> str:
    """Where a host keeps its public key of this kind (OpenSSH's default paths)."""
    name = {"ED25519": "ed25519", "ECDSA": "ecdsa", "RSA": "rsa", "DSA": "dsa"}.get(kind, "ed25519")
    return f"/etc/ssh/ssh_host_{name}_key.pub"
