"""A simulated DC/OS cluster on one Linux machine, with real OpenSSH servers.

    this host --198.51.100.0/24--> master (198.51.100.10 public, 198.18.0.10 private)
                                      |  198.18.0.0/24 (a bridge inside the master)
                                      +--> agent 1 (198.18.0.20)
                                      +--> agent 2 (198.18.0.21)   no route from this host

Each node is a network namespace with its own host name (UTS namespace), its
own /home (mount namespace) and its own sshd. The users `core` and `centos` log
in with a test key that only a real ssh-agent on this host holds. The master also runs
tests/clusterapi.py as the cluster API on http://198.51.100.10.

The local ssh client runs in a private mount namespace in which ~/.ssh is the
simulation's own folder, so the tests use a known_hosts of their own and never
read or write the real ~/.ssh.

Needs root, `ip` (iproute2), `unshare` (util-linux), sshd (openssh-server).
Only documentation address ranges are used, and everything is removed by stop().

The demo (scripts/demo, tests/demo.py) runs on it.
"""

import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import clusterapi  # noqa: E402
import clusterdata  # noqa: E402

PUBLIC_NET = "198.51.100"
# The benchmarking range, not 192.0.2.0/24: a machine may use that documentation range for
# its own network (this one does). While the simulation runs, this host holds an
# `unreachable` route for it, so a direct attempt fails here and never leaves the host.
PRIVATE_NET = "198.18.0"
HOST_ADDRESS = PUBLIC_NET + ".1"
MASTER_PUBLIC = PUBLIC_NET + ".10"
MASTER_PRIVATE = PRIVATE_NET + ".10"
# The private network carries IPv6 too (documentation prefix 2001:db8::/32).
PRIVATE_NET6 = "2001:db8:2::"
MASTER_PRIVATE6 = PRIVATE_NET6 + "10"
AGENT_ADDRESSES6 = [PRIVATE_NET6 + "20", PRIVATE_NET6 + "21"]
USER = "core"
# A second account on every node, with the same key: what `ssh_user` settings switch to.
OTHER_USER = "centos"
PREFIX = "dnssh"
# Each node's own disk: a tmpfs mounted here in the node's mount namespace only, so a file
# copied to a node is not on this host (nor on another node).
NODE_DISK = "/var/tmp/dnssh-disk"
# The cluster's part of the nodes' HostKeyAlias (dcos-<this>-<address>): the fixture's
# CLUSTER_ID is an AWS ARN, not a plain name, so it is named by a digest.
HOST_KEY_CLUSTER = hashlib.sha256(clusterdata.fixture("metadata.json")["CLUSTER_ID"].encode()).hexdigest()[:16]


def host_key_alias(address):
    return f"dcos-{HOST_KEY_CLUSTER}-{address}"

AGENTS = [
    # (host name, private address, Mesos ID)
    ("dcos-agent-1", PRIVATE_NET + ".20", "20151002-000353-1695027628-5050-1177-S0"),
    ("dcos-agent-2", PRIVATE_NET + ".21", "20151002-000353-1695027628-5050-1177-S1"),
]
MASTER_NAME = "dcos-master-1"

# The fleet (SimCluster.start_fleet): many agents behind the master, all answered by one
# sshd in one more namespace, holding every fleet address on one interface.
FLEET_NETS = ("198.18.1", "198.18.2")  # 250 addresses each, .1 to .250
FLEET_PER_NET = 250
FLEET_NAME = "fleet"
# The master also answers on this port with an sshd that forwards nothing (AllowTcpForwarding no).
NO_FORWARDING_PORT = 2222
# The fleet's disks (SimCluster.start_fleet_disks): a second sshd in the fleet, on this port,
# serving SFTP only, each fleet address chrooted into a folder of its own on a tmpfs that
# only that sshd's mount namespace has, at FLEET_DISKS. ChrootDirectory wants every part of
# the path owned by root and writable by no one else, which /tmp and /var/tmp are not.
FLEET_DISK_PORT = 2200
FLEET_DISKS = "/var/lib/dnssh-disks"
# Run inside the disks' namespace before sshd: a root (and a home, and a /tmp) per address.
_MAKE_DISKS = r"""
import os, sys
root, uid, gid, addresses, sshd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
for address in addresses.split(","):
    home = os.path.join(root, address, "home", "core")
    os.makedirs(home, 0o755)
    os.chown(home, uid, gid)
    os.chmod(home, 0o700)
    os.mkdir(os.path.join(root, address, "tmp"))
    os.chmod(os.path.join(root, address, "tmp"), 0o1777)
    os.mkdir(os.path.join(root, address, "etc"))
    for name in ("passwd", "group"):  # for `~`, which the SFTP server expands with getpwuid in the chroot
        with open("/etc/" + name, "rb") as source, open(os.path.join(root, address, "etc", name), "wb") as copy:
            copy.write(source.read())
os.execv(sshd[0], sshd)
"""

# A service on the private network (SimCluster.start_web): tests/webserver.py on the first
# agent, and a name for it that only the master resolves, as Mesos DNS names a task there:
# processes started in the master's namespace read a hosts file of their own
# (`ip netns exec` binds /etc/netns/<namespace>/hosts over /etc/hosts), the master's sshd
# included, so a tunnel's `socks5h` names and `-L` destinations resolve on the master alone.
WEB_PORT = 8000
MASTER_ONLY_NAME = "web.marathon.mesos"
WEB_TASK_ID = "web.6a8b8f71-2b1c-11ee-9c2f-0242ac110002"


def fleet_address(index):
    return f"{FLEET_NETS[index // FLEET_PER_NET]}.{index % FLEET_PER_NET + 1}"


def fleet_agent(index):
    """(host name, address, Mesos ID) of the fleet's agent `index`."""
    return (f"fleet-{index}", fleet_address(index), f"20151002-000353-1695027628-5050-1177-S{1000 + index}")


# The fleet as DC/OS describes it (fleet_scenario): attributes, fault domains and tasks spread
# over the agents by their index, so that a test knows which agents a selector names.
FLEET_REGIONS = ("us-east-1", "us-west-2")
MARATHON_ID = "20151002-000353-1695027628-5050-1177-0001"  # clusterdata.task_entry's default: the web task's
KAFKA_ID = "20151002-000353-1695027628-5050-1177-0002"
IDLE_ID = "20151002-000353-1695027628-5050-1177-0003"
FRAMEWORKS = ((MARATHON_ID, "marathon"), (KAFKA_ID, "kafka"), (IDLE_ID, "idle"))
SOLO_TASK = 11  # the one agent running the task named "solo"


def fleet_description(index):
    """(attributes as Mesos' JSON gives them, (region, zone)) of the fleet's agent `index`:
    a text rack, a scalar level, on some a set of disks and a range of slots."""
    region = FLEET_REGIONS[index % 2]
    attributes = {"rack": f"r{index % 8}", "level": float(index % 3)}
    if index % 5 == 0:
        attributes["disks"] = "{ssd,nvme}"
    if index % 7 == 0:
        attributes["slots"] = f"[{index}-{index + 9}]"
    return attributes, (region, region + "abc"[index // 2 % 3])


def fleet_tasks(count):
    """The tasks on the fleet's first `count` agents, as (index, task entry): a kafka broker on
    every 25th (from the 3rd), a web instance of marathon's on every 40th (from the 7th),
    `solo` on SOLO_TASK alone, and a finished batch job on every 50th (from the 20th),
    which no selector counts."""
    tasks = []
    for index in range(count):
        agent_id = fleet_agent(index)[2]
        if index % 25 == 3:
            name = f"kafka-{index // 25}-broker"
            tasks.append((index, clusterdata.task_entry(f"{name}__{index:04x}", name, agent_id,
                                                        framework_id=KAFKA_ID)))
        if index % 40 == 7:
            tasks.append((index, clusterdata.task_entry(f"web.{index:08x}", "web", agent_id, [("http", 31000)],
                                                        framework_id=MARATHON_ID)))
        if index == SOLO_TASK:
            tasks.append((index, clusterdata.task_entry("solo.5e1f", "solo", agent_id, framework_id=MARATHON_ID)))
        if index % 50 == 20:
            tasks.append((index, clusterdata.task_entry(f"batch.{index:04x}", "batch", agent_id,
                                                        state="TASK_FINISHED", framework_id=MARATHON_ID)))
    return tasks

# The corporate network (SimCluster.start_corporate_network): a second cluster API that
# listens on the master's private address only, and a real HTTP proxy (tinyproxy) on the
# master's public address in front of it.
CORPORATE_HTTP_PORT = 8080
CORPORATE_TLS_PORT = 8443
CORPORATE_PROXY_PORT = 3128
CORPORATE_PROXY_CONFIG = """\
Port {port}
Listen {listen}
Timeout 20
MaxClients 50
LogFile "{log}"
LogLevel Connect
PidFile "{pid_file}"
"""

SSHD_CONFIG = """\
Port 22
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes yes
AllowAgentForwarding yes
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
AcceptEnv DCOS_TEST_*
Subsystem sftp internal-sftp
"""


def unavailable_reason():
    """Why the simulated cluster cannot be built here, or None when it can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "building network namespaces needs root (run the tests with sudo)"
    for tool in ("ip", "unshare", "ssh", "ssh-agent", "ssh-add", "ssh-keygen", "useradd", "openssl"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    if not os.path.exists("/usr/sbin/sshd"):
        return "sshd is not installed (Debian package openssh-server)"
    probe = f"{PREFIX}-probe-{os.getpid()}"
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if result.returncode != 0:
        return "cannot create network namespaces: " + result.stderr.strip()
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def _run(*argv, **kwargs):
    result = subprocess.run(list(argv), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def remove_stale_namespaces():
    """Remove what a run killed before it could clean up left; refuse to share the
    machine with a simulation still running (both would claim the same addresses)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) != 3 or parts[0] != PREFIX or not parts[1].isdigit():
            continue
        owner = int(parts[1])
        if owner != os.getpid() and _alive(owner):
            if not _shares_network(owner):
                continue  # a run in a network namespace of its own (`unshare -n`): its addresses are not ours
            raise RuntimeError(f"another simulated cluster is running (process {owner}); wait for it to end")
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def _other_simulations():
    """Whether a simulation of another live process still runs (in any network namespace)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    owners = {line.split()[0].split("-")[1] for line in listing.splitlines()
              if line.split() and line.split()[0].startswith(PREFIX + "-") and line.split()[0].count("-") == 2}
    return any(owner.isdigit() and int(owner) != os.getpid() and _alive(int(owner)) for owner in owners)


def _shares_network(pid):
    """Whether process `pid` sees this process's network (so both would claim one set of addresses)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return True


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Node:
    def __init__(self, name, namespace, addresses, workdir):
        self.name = name
        self.namespace = namespace
        self.addresses = addresses
        self.dir = os.path.join(workdir, name)
        self.home = os.path.join(self.dir, "home")
        self.log = os.path.join(self.dir, "sshd.log")
        self.sshd = None
        self.host_key_pub = None

    def connections(self):
        """How many SSH connections this node's sshd has accepted so far."""
        try:
            with open(self.log, encoding="utf-8", errors="replace") as stream:
                return sum(1 for line in stream if "Connection from" in line)
        except FileNotFoundError:
            return 0


class SimCluster:
    def __init__(self, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="dcos-node-ssh-sim-")
        os.chmod(self.workdir, 0o755)
        token = secrets.token_hex(2)
        # Namespaces name their owner, so that a later run can tell leftovers from a live one;
        # interface names must stay under 16 characters.
        self.ns_prefix = f"{PREFIX}-{os.getpid()}-"
        self.if_prefix = f"dn{token}"
        self.master = Node(MASTER_NAME, self.ns_prefix + "m", [MASTER_PUBLIC, MASTER_PRIVATE], self.workdir)
        self.agents = [
            Node(name, f"{self.ns_prefix}a{index}", [address], self.workdir)
            for index, (name, address, _) in enumerate(AGENTS, 1)
        ]
        self.agent_ids = [agent_id for _, _, agent_id in AGENTS]
        self.dcos_url = f"http://{MASTER_PUBLIC}"
        self.tls_url = f"https://{MASTER_PUBLIC}"
        self.scenario_path = os.path.join(self.workdir, "scenario.json")
        self.request_log = os.path.join(self.workdir, "requests.jsonl")
        self.client_ssh_dir = os.path.join(self.workdir, "client-ssh")
        self.key = os.path.join(self.workdir, "id_ed25519")
        self.agent_socket = os.path.join(self.workdir, "agent.sock")
        self._processes = []
        self._created_users = []
        self._created_home_ssh = None
        self._namespaces = []
        self._corporate = None  # what start_corporate_network() started, for stop_corporate_network()
        self._routes = []  # (family, prefix) of the unreachable routes this host holds for the private network
        self._netns_etc = None  # the master's /etc/netns folder (its hosts file)
        self.web = None  # the web server's process, once start_web() has run
        self.no_forwarding = None  # the master's sshd that forwards nothing, once started
        self.fleet = None  # the fleet's Node, once start_fleet() has run
        self.fleet_size = 0
        self.fleet_disks = None  # the fleet's SFTP sshd on its own disks, once start_fleet_disks() has run
        self._created_disks_mount = False

    # -- building -------------------------------------------------------

    def start(self):
        try:
            remove_stale_namespaces()
            self._ensure_user()
            self._keys()
            self._network()
            self._master_hosts()
            for node in [self.master] + self.agents:
                self._start_sshd(node)
            self.write_scenario(self.default_scenario())
            self._start_api()
            self._start_agent()
            self._client_ssh()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _ensure_user(self):
        for user in (USER, OTHER_USER):
            try:
                pwd.getpwnam(user)
            except KeyError:
                _run("useradd", "--no-create-home", "--home-dir", f"/home/{user}", "--shell", "/bin/bash",
                     "--user-group", user)
                self._created_users.append(user)
            # An account with a locked password cannot log in with a key when PAM is off.
            _run("usermod", "-p", "*", user)
        self.uid = pwd.getpwnam(USER).pw_uid
        self.gid = pwd.getpwnam(USER).pw_gid

    def _keys(self):
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dcos-node-ssh-test", "-f", self.key)
        with open(self.key + ".pub", encoding="utf-8") as stream:
            public_key = stream.read()
        for node in [self.master] + self.agents:
            os.makedirs(node.dir)
            host_key = os.path.join(node.dir, "ssh_host_ed25519_key")
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", node.name, "-f", host_key)
            with open(host_key + ".pub", encoding="utf-8") as stream:
                node.host_key_pub = " ".join(stream.read().split()[:2])
            with open(os.path.join(node.dir, "sshd_config"), "w", encoding="utf-8") as stream:
                stream.write(SSHD_CONFIG.format(host_key=host_key, pid_file=os.path.join(node.dir, "sshd.pid")))
            for user in (USER, OTHER_USER):
                dot_ssh = os.path.join(node.home, user, ".ssh")
                os.makedirs(dot_ssh)
                self._write_user_file(os.path.join(dot_ssh, "authorized_keys"), public_key, user)
        # The master knows its agents, as a cluster's master does after its first hops.
        known = "".join(f"{agent.addresses[0]} {agent.host_key_pub}\n" for agent in self.agents)
        known += "".join(f"{address} {agent.host_key_pub}\n" for address, agent in zip(AGENT_ADDRESSES6, self.agents))
        known += f"{MASTER_PRIVATE} {self.master.host_key_pub}\n"
        for user in (USER, OTHER_USER):
            self._write_user_file(os.path.join(self.master.home, user, ".ssh", "known_hosts"), known, user)
        for node in [self.master] + self.agents:
            for user in (USER, OTHER_USER):
                owner = pwd.getpwnam(user)
                for path in (os.path.join(node.home, user), os.path.join(node.home, user, ".ssh")):
                    os.chown(path, owner.pw_uid, owner.pw_gid)
                    os.chmod(path, 0o700)
            os.chmod(node.home, 0o755)
            os.chmod(node.dir, 0o755)

    def _write_user_file(self, path, text, user=USER):
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        owner = pwd.getpwnam(user)
        os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(path, 0o600)

    def _network(self):
        master_ns = self.master.namespace
        for node in [self.master] + self.agents:
            _run("ip", "netns", "add", node.namespace)
            self._namespaces.append(node.namespace)
            _run("ip", "-n", node.namespace, "link", "set", "lo", "up")
        host_if, master_if = self.if_prefix + "h", self.if_prefix + "p"
        for family, prefix in (("-4", PRIVATE_NET + ".0/24"), ("-6", PRIVATE_NET6 + "/64")):
            _run("ip", family, "route", "replace", "unreachable", prefix)
            self._routes.append((family, prefix))
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", master_if, "netns", master_ns)
        _run("ip", "addr", "add", HOST_ADDRESS + "/24", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "-n", master_ns, "addr", "add", MASTER_PUBLIC + "/24", "dev", master_if)
        _run("ip", "-n", master_ns, "link", "set", master_if, "up")
        _run("ip", "-n", master_ns, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", master_ns, "addr", "add", MASTER_PRIVATE + "/24", "dev", "br0")
        _run("ip", "-n", master_ns, "addr", "add", MASTER_PRIVATE6 + "/64", "dev", "br0", "nodad")
        _run("ip", "-n", master_ns, "link", "set", "br0", "up")
        for index, agent in enumerate(self.agents, 1):
            inner, outer = f"{self.if_prefix}a{index}", f"{self.if_prefix}b{index}"
            _run("ip", "-n", master_ns, "link", "add", outer, "type", "veth", "peer", "name", inner,
                 "netns", agent.namespace)
            _run("ip", "-n", master_ns, "link", "set", outer, "master", "br0")
            _run("ip", "-n", master_ns, "link", "set", outer, "up")
            _run("ip", "-n", agent.namespace, "addr", "add", agent.addresses[0] + "/24", "dev", inner)
            _run("ip", "-n", agent.namespace, "addr", "add", AGENT_ADDRESSES6[index - 1] + "/64", "dev", inner,
                 "nodad")
            _run("ip", "-n", agent.namespace, "link", "set", inner, "up")

    def _master_hosts(self):
        """The master's own /etc/hosts: the agents by name, and MASTER_ONLY_NAME."""
        folder = os.path.join("/etc/netns", self.master.namespace)
        os.makedirs(folder, exist_ok=True)
        self._netns_etc = folder
        agents = "".join(f"{address} {name}\n" for name, address, _ in AGENTS)
        with open(os.path.join(folder, "hosts"), "w", encoding="utf-8") as stream:
            stream.write(f"127.0.0.1 localhost\n::1 localhost\n{MASTER_PRIVATE} {MASTER_NAME}\n{agents}"
                         f"{AGENTS[0][1]} {MASTER_ONLY_NAME}\n")

    def _in_node(self, node, argv, **popen):
        """Start argv inside the node: its network, host name and /home."""
        os.makedirs(NODE_DISK, exist_ok=True)
        script = ('mount --bind "$1" /home && mount -t tmpfs -o mode=1777,size=1g dnssh-disk "$3" && '
                  'hostname "$2" && shift 3 && exec "$@"')
        wrapped = ["ip", "netns", "exec", node.namespace, "unshare", "--mount", "--uts", "--",
                   "sh", "-c", script, "sh", node.home, node.name, NODE_DISK] + list(argv)
        process = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, **popen)
        self._processes.append(process)
        return process

    def _start_sshd(self, node):
        log = open(node.log, "ab")
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        node.sshd = self._in_node(
            node, ["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(node.dir, "sshd_config")],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _start_api(self):
        """The cluster API on http://<master> and, with a CA of the simulation's own, https://."""
        self.ca_cert = os.path.join(self.workdir, "dcos-ca.crt")
        key = os.path.join(self.workdir, "dcos-ca.key")
        _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=simulated DCOS cluster CA", "-addext", f"subjectAltName=IP:{MASTER_PUBLIC}",
             "-keyout", key, "-out", self.ca_cert)
        log = open(os.path.join(self.workdir, "api.log"), "ab")
        common = [sys.executable, os.path.join(HERE, "clusterapi.py"), "--scenario", self.scenario_path,
                  "--log", self.request_log]
        self.api = self._in_node(self.master, common + ["--listen", MASTER_PUBLIC + ":80"],
                                 stdout=log, stderr=subprocess.STDOUT)
        self.tls_api = self._in_node(
            self.master, common + ["--listen", MASTER_PUBLIC + ":443", "--cert", self.ca_cert, "--key", key],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _start_agent(self):
        process = subprocess.Popen(["ssh-agent", "-D", "-a", self.agent_socket],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self._processes.append(process)
        _wait(lambda: os.path.exists(self.agent_socket), "ssh-agent")
        _run("ssh-add", "-q", self.key, env=dict(os.environ, SSH_AUTH_SOCK=self.agent_socket))

    def _client_ssh(self):
        os.makedirs(self.client_ssh_dir, mode=0o700)
        # The operator has met the master, and (for jump mode, where this host checks the
        # agents' keys itself) the agents.
        known = f"{MASTER_PUBLIC} {self.master.host_key_pub}\n"
        for agent, address6 in zip(self.agents, AGENT_ADDRESSES6):
            known += f"{agent.addresses[0]} {agent.host_key_pub}\n{address6} {agent.host_key_pub}\n"
        known += f"{MASTER_PRIVATE} {self.master.host_key_pub}\n"
        # ...kept under their HostKeyAlias too (jump mode, scp, the generated config).
        for node, addresses in [(self.master, [MASTER_PRIVATE, MASTER_PRIVATE6])] + [
                (agent, [agent.addresses[0], address6]) for agent, address6 in zip(self.agents, AGENT_ADDRESSES6)]:
            known += "".join(f"{host_key_alias(address)} {node.host_key_pub}\n" for address in addresses)
        with open(os.path.join(self.client_ssh_dir, "known_hosts"), "w", encoding="utf-8") as stream:
            stream.write(known)
        home_ssh = os.path.join(pwd.getpwuid(os.geteuid()).pw_dir, ".ssh")
        if not os.path.isdir(home_ssh):
            os.makedirs(home_ssh, mode=0o700)
            self._created_home_ssh = home_ssh
        self.home_ssh = home_ssh

    def _wait_ready(self):
        for node in [self.master] + self.agents:
            _wait(lambda node=node: "Server listening" in _read(node.log) or node.sshd.poll() is not None,
                  f"sshd on {node.name}")
            if node.sshd.poll() is not None:
                raise RuntimeError(f"sshd on {node.name} exited: {_read(node.log)[-2000:]}")
        _wait(lambda: (_port_open(MASTER_PUBLIC, 80) and _port_open(MASTER_PUBLIC, 443))
              or self.api.poll() is not None or self.tls_api.poll() is not None, "cluster API")
        if self.api.poll() is not None or self.tls_api.poll() is not None:
            raise RuntimeError("the cluster API stand-in exited: "
                               + _read(os.path.join(self.workdir, "api.log"))[-2000:])

    # -- using ----------------------------------------------------------

    def stop_sshd(self, node):
        node.sshd.terminate()
        node.sshd.wait(timeout=10)

    def start_sshd(self, node):
        """Start a node's sshd again and wait until it listens."""
        listening = _read(node.log).count("Server listening")
        self._start_sshd(node)
        _wait(lambda: _read(node.log).count("Server listening") > listening or node.sshd.poll() is not None,
              f"sshd on {node.name}")

    def default_scenario(self, **changes):
        agents = [clusterdata.agent_entry(agent_id, name, address) for name, address, agent_id in AGENTS]
        result = clusterdata.scenario(public_ip=MASTER_PUBLIC, leader_ip=MASTER_PRIVATE, agents=agents,
                                      master_hostname=MASTER_NAME)
        # The web server (start_web) as Mesos knows it: a task holding the agent's port.
        result["tasks"] = [clusterdata.task_entry(WEB_TASK_ID, "web", AGENTS[0][2], [("http", WEB_PORT)])]
        result.update(changes)
        return result

    def write_scenario(self, scenario):
        clusterapi.write_scenario(self.scenario_path, scenario)

    def requests(self):
        return clusterapi.read_log(self.request_log)

    # -- the corporate network ---------------------------------------------------

    def start_corporate_network(self):
        """A cluster API this host cannot reach, behind a proxy it can: the stand-in on
        http://198.18.0.10:8080 and https://198.18.0.10:8443 (a CA of its own: corporate_ca_cert),
        and tinyproxy on http://198.51.100.10:3128, all in the master's namespace. The private
        network's `unreachable` route (see _network) makes a direct attempt from this host
        fail at once. Started once; stop_corporate_network() (or stop()) removes it all.
        """
        if self._corporate is not None:
            return self
        tinyproxy = shutil.which("tinyproxy") or shutil.which("tinyproxy", path="/usr/sbin:/usr/bin")
        if tinyproxy is None:
            raise RuntimeError("tinyproxy is not installed (Debian package tinyproxy)")
        self._corporate = {"processes": []}
        try:
            self._start_corporate(tinyproxy)
        except BaseException:
            self.stop_corporate_network()
            raise
        return self

    def _start_corporate(self, tinyproxy):
        workdir = os.path.join(self.workdir, "corporate")
        os.makedirs(workdir)
        self.corporate_url = f"http://{MASTER_PRIVATE}:{CORPORATE_HTTP_PORT}"
        self.corporate_tls_url = f"https://{MASTER_PRIVATE}:{CORPORATE_TLS_PORT}"
        self.corporate_proxy_url = f"http://{MASTER_PUBLIC}:{CORPORATE_PROXY_PORT}"
        self.corporate_request_log = os.path.join(workdir, "requests.jsonl")
        self.corporate_proxy_log = os.path.join(workdir, "tinyproxy.log")
        self.corporate_ca_cert = os.path.join(workdir, "ca.crt")
        key = os.path.join(workdir, "ca.key")
        _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=simulated corporate DCOS cluster CA", "-addext", f"subjectAltName=IP:{MASTER_PRIVATE}",
             "-keyout", key, "-out", self.corporate_ca_cert)
        config = os.path.join(workdir, "tinyproxy.conf")
        with open(config, "w", encoding="utf-8") as stream:
            stream.write(CORPORATE_PROXY_CONFIG.format(port=CORPORATE_PROXY_PORT, listen=MASTER_PUBLIC,
                                                       log=self.corporate_proxy_log,
                                                       pid_file=os.path.join(workdir, "tinyproxy.pid")))
        tls = ["--cert", self.corporate_ca_cert, "--key", key]
        port_files = [os.path.join(workdir, f"port-{port}") for port in (CORPORATE_HTTP_PORT, CORPORATE_TLS_PORT)]
        with open(os.path.join(workdir, "api.log"), "ab") as log:
            for port, port_file, options in zip((CORPORATE_HTTP_PORT, CORPORATE_TLS_PORT), port_files, ([], tls)):
                argv = [sys.executable, os.path.join(HERE, "clusterapi.py"), "--scenario", self.scenario_path,
                        "--log", self.corporate_request_log, "--listen", f"{MASTER_PRIVATE}:{port}",
                        "--port-file", port_file, *options]
                self._corporate["processes"].append(
                    self._in_node(self.master, argv, stdout=log, stderr=subprocess.STDOUT))
            self._corporate["processes"].append(
                self._in_node(self.master, [tinyproxy, "-d", "-c", config], stdout=log, stderr=subprocess.STDOUT))
        processes = self._corporate["processes"]
        _wait(lambda: (all(os.path.exists(path) for path in port_files)
                       and _port_open(MASTER_PUBLIC, CORPORATE_PROXY_PORT))
              or any(process.poll() is not None for process in processes), "the corporate network")
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("the corporate network's API or proxy exited: "
                               + _read(os.path.join(workdir, "api.log"))[-2000:])

    def corporate_requests(self):
        """The requests the corporate API (behind the proxy) has answered, oldest first."""
        return clusterapi.read_log(self.corporate_request_log)

    def corporate_proxy_lines(self):
        """tinyproxy's log lines so far."""
        return _read(self.corporate_proxy_log).splitlines()

    def stop_corporate_network(self):
        corporate, self._corporate = self._corporate, None
        if corporate is None:
            return
        for process in corporate["processes"]:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process in self._processes:
                self._processes.remove(process)

    # -- the fleet ---------------------------------------------------------------

    def start_fleet(self, count=250):
        """`count` more agents (at most 500), reachable only through the master: one more
        namespace on the master's private bridge holding the addresses fleet_address(0..count-1)
        on one interface, and one sshd listening on all of them (its host name is `fleet`
        for all: $SSH_CONNECTION's third word tells which address a session reached). The
        master also gets an sshd on NO_FORWARDING_PORT that refuses forwarding. Started
        once; stop() removes it with the rest."""
        if self.fleet is not None:
            return self
        count = min(count, FLEET_PER_NET * len(FLEET_NETS))
        fleet = Node(FLEET_NAME, self.ns_prefix + "f", [fleet_address(i) for i in range(count)], self.workdir)
        self.fleet, self.fleet_size = fleet, count
        os.makedirs(fleet.dir)
        host_key = os.path.join(fleet.dir, "ssh_host_ed25519_key")
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", FLEET_NAME, "-f", host_key)
        with open(host_key + ".pub", encoding="utf-8") as stream:
            fleet.host_key_pub = " ".join(stream.read().split()[:2])
        with open(os.path.join(fleet.dir, "sshd_config"), "w", encoding="utf-8") as stream:
            stream.write(SSHD_CONFIG.format(host_key=host_key, pid_file=os.path.join(fleet.dir, "sshd.pid"))
                         + "ListenAddress 0.0.0.0\nMaxStartups 2000:30:4000\n")
        dot_ssh = os.path.join(fleet.home, USER, ".ssh")
        os.makedirs(dot_ssh)
        with open(self.key + ".pub", encoding="utf-8") as stream:
            self._write_user_file(os.path.join(dot_ssh, "authorized_keys"), stream.read())
        for path in (os.path.join(fleet.home, USER), dot_ssh):
            os.chown(path, self.uid, self.gid)
            os.chmod(path, 0o700)
        os.chmod(fleet.home, 0o755)
        os.chmod(fleet.dir, 0o755)

        master_ns = self.master.namespace
        _run("ip", "netns", "add", fleet.namespace)
        self._namespaces.append(fleet.namespace)
        _run("ip", "-n", fleet.namespace, "link", "set", "lo", "up")
        for net in FLEET_NETS:
            _run("ip", "-4", "route", "replace", "unreachable", net + ".0/24")
            self._routes.append(("-4", net + ".0/24"))
        inner, outer = self.if_prefix + "fi", self.if_prefix + "fo"
        _run("ip", "-n", master_ns, "link", "add", outer, "type", "veth", "peer", "name", inner,
             "netns", fleet.namespace)
        _run("ip", "-n", master_ns, "link", "set", outer, "master", "br0")
        _run("ip", "-n", master_ns, "link", "set", outer, "up")
        batch = os.path.join(fleet.dir, "addresses.batch")
        with open(batch, "w", encoding="utf-8") as stream:
            stream.write("".join(f"address add {address}/24 dev {inner}\n" for address in fleet.addresses))
        _run("ip", "-n", fleet.namespace, "-batch", batch)
        _run("ip", "-n", fleet.namespace, "link", "set", inner, "up")
        _run("ip", "-n", fleet.namespace, "route", "add", PRIVATE_NET + ".0/24", "dev", inner)
        for net in FLEET_NETS:
            _run("ip", "-n", master_ns, "route", "add", net + ".0/24", "dev", "br0")
        self._start_sshd(fleet)

        self.start_no_forwarding_sshd()
        with open(os.path.join(self.client_ssh_dir, "known_hosts"), "a", encoding="utf-8") as stream:
            stream.write(",".join(net + ".*" for net in FLEET_NETS) + f" {fleet.host_key_pub}\n")
            # ...and under their HostKeyAlias, as `run` keeps the nodes' keys through a proxy.
            stream.write(",".join(host_key_alias(net + ".*") for net in FLEET_NETS) + f" {fleet.host_key_pub}\n")
        _wait(lambda: "Server listening" in _read(fleet.log) or fleet.sshd.poll() is not None, "the fleet's sshd")
        if fleet.sshd.poll() is not None:
            raise RuntimeError(f"the fleet's sshd exited: {_read(fleet.log)[-2000:]}")
        return self

    def start_fleet_disks(self):
        """A disk of its own for every fleet address: an sshd on FLEET_DISK_PORT of every fleet
        address, serving SFTP only (ForceCommand internal-sftp), which chroots a session
        on address A into FLEET_DISKS/A, a folder on a tmpfs that this sshd's own mount
        namespace holds: what is copied to a node is on no other node and not on this host
        (the tests look through fleet_disk()). Its log counts the logins (disk_logins()).
        Started once, after start_fleet(); stop() removes it with the rest."""
        if self.fleet_disks is not None:
            return self
        fleet = self.fleet
        if not os.path.isdir(FLEET_DISKS):
            os.makedirs(FLEET_DISKS, 0o755)
            self._created_disks_mount = True
        config = os.path.join(fleet.dir, "sshd_config_disks")
        with open(os.path.join(fleet.dir, "sshd_config"), encoding="utf-8") as stream:
            text = stream.read()
        text = text.replace("Port 22\n", f"Port {FLEET_DISK_PORT}\n").replace("sshd.pid", "sshd-disks.pid")
        text += "ForceCommand internal-sftp\n" + "".join(
            f"Match LocalAddress {address}\n    ChrootDirectory {FLEET_DISKS}/{address}\n"
            for address in fleet.addresses)
        with open(config, "w", encoding="utf-8") as stream:
            stream.write(text)
        self.fleet_disks_log = os.path.join(fleet.dir, "sshd-disks.log")
        script = ('mount --bind "$1" /home && mount -t tmpfs -o mode=755,size=2g dnssh-disks "$2" && shift 2 && '
                  'exec "$@"')
        argv = ["ip", "netns", "exec", fleet.namespace, "unshare", "--mount", "--", "sh", "-c", script, "sh",
                fleet.home, FLEET_DISKS, sys.executable, "-c", _MAKE_DISKS, FLEET_DISKS, str(self.uid),
                str(self.gid), ",".join(fleet.addresses), "/usr/sbin/sshd", "-D", "-e", "-f", config]
        with open(self.fleet_disks_log, "ab") as log:
            self.fleet_disks = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self._processes.append(self.fleet_disks)
        _wait(lambda: "Server listening" in _read(self.fleet_disks_log) or self.fleet_disks.poll() is not None,
              "the fleet's sshd on its own disks", seconds=60)
        if self.fleet_disks.poll() is not None:
            raise RuntimeError(f"the fleet's disks sshd exited: {_read(self.fleet_disks_log)[-2000:]}")
        return self

    def fleet_disk(self, address):
        """The root of a fleet node's own disk, as this host reaches it: through the disks
        sshd's mount namespace (/proc/<pid>/root). A node sees it as /; its home is home/core."""
        return f"/proc/{self.fleet_disks.pid}/root{FLEET_DISKS}/{address}"

    def disk_logins(self):
        """How many logins the fleet's disks sshd has accepted so far."""
        return _read(self.fleet_disks_log).count("Accepted publickey")

    def start_no_forwarding_sshd(self):
        """A second sshd on the master, on NO_FORWARDING_PORT, with AllowTcpForwarding no;
        the operator knows its key. Started once; stop() removes it with the rest."""
        if self.no_forwarding is not None:
            return self
        config = os.path.join(self.master.dir, "sshd_config_no_forwarding")
        with open(os.path.join(self.master.dir, "sshd_config"), encoding="utf-8") as stream:
            text = stream.read()
        with open(config, "w", encoding="utf-8") as stream:
            stream.write(text.replace("Port 22", f"Port {NO_FORWARDING_PORT}")
                         .replace("AllowTcpForwarding yes", "AllowTcpForwarding no")
                         .replace("sshd.pid", "sshd-no-forwarding.pid"))
        log = open(os.path.join(self.master.dir, "sshd-no-forwarding.log"), "ab")
        self.no_forwarding = self._in_node(self.master, ["/usr/sbin/sshd", "-D", "-e", "-f", config], stdout=log,
                                           stderr=subprocess.STDOUT)
        log.close()
        with open(os.path.join(self.client_ssh_dir, "known_hosts"), "a", encoding="utf-8") as stream:
            stream.write(f"[{MASTER_PUBLIC}]:{NO_FORWARDING_PORT} {self.master.host_key_pub}\n")
        _wait(lambda: _port_open(MASTER_PUBLIC, NO_FORWARDING_PORT), "the master's sshd without forwarding")
        return self

    def start_web(self):
        """tests/webserver.py on the first agent, port WEB_PORT of its private address (this
        host cannot reach it but through the master). Started once; stop() ends it."""
        if self.web is not None:
            return self
        log = open(os.path.join(self.workdir, "web.log"), "ab")
        self.web = self._in_node(self.agents[0], [sys.executable, os.path.join(HERE, "webserver.py"), "--listen",
                                                   f"{self.agents[0].addresses[0]}:{WEB_PORT}"],
                                 stdout=log, stderr=subprocess.STDOUT)
        log.close()
        address = self.agents[0].addresses[0]
        script = f"import socket; socket.create_connection(('{address}', {WEB_PORT}), timeout=0.5)"
        _wait(lambda: subprocess.run(["ip", "netns", "exec", self.master.namespace, sys.executable, "-c", script],
                                     capture_output=True).returncode == 0 or self.web.poll() is not None,
              "the web server on the first agent")
        if self.web.poll() is not None:
            raise RuntimeError("the web server exited: " + _read(os.path.join(self.workdir, "web.log"))[-2000:])
        return self

    def fleet_scenario(self, count=None, masters=None, **changes):
        """The default scenario with the first `count` fleet agents (all by default) as
        well, described as fleet_description and fleet_tasks say; every tenth a public
        agent. `masters`: the addresses Mesos DNS lists."""
        count = self.fleet_size if count is None else count
        scenario = self.default_scenario(**changes)
        scenario["slaves"] = scenario["slaves"] + [
            clusterdata.agent_entry(agent_id, name, address, public=index % 10 == 0,
                                    attributes=fleet_description(index)[0], domain=fleet_description(index)[1])
            for index, (name, address, agent_id) in ((i, fleet_agent(i)) for i in range(count))]
        scenario["tasks"] = scenario["tasks"] + [entry for _, entry in fleet_tasks(count)]
        scenario["frameworks"] = [clusterdata.framework_entry(framework_id, name) for framework_id, name in FRAMEWORKS]
        if masters is not None:
            scenario["masters_dns"] = [{"host": "master.mesos.", "ip": address} for address in masters]
        return scenario

    def connections(self):
        return sum(node.connections() for node in [self.master] + self.agents)

    def client_env(self, home, **extra):
        """The environment of an operator's shell: HOME for the DC/OS config, the agent."""
        env = {
            "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": home,
            "LANG": "C.UTF-8",
            "SSH_AUTH_SOCK": self.agent_socket,
        }
        env.update(extra)
        return {key: value for key, value in env.items() if value is not None}

    def client_argv(self, argv):
        """argv as the operator runs it: in the host's network, with the simulation's ~/.ssh."""
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        return ["unshare", "--mount", "--", "sh", "-c", script, "sh", self.client_ssh_dir, self.home_ssh] + list(argv)

    def run(self, argv, env, input=None, timeout=60, **kwargs):
        return subprocess.run(self.client_argv(argv), env=env, input=input, capture_output=True,
                              timeout=timeout, **kwargs)

    # -- tearing down ---------------------------------------------------

    def stop(self):
        self.stop_corporate_network()
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes = []
        # sshd's session processes stay in the namespaces: end everything still in them.
        for namespace in self._namespaces:
            pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout
            for pid in pids.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True)
        self._namespaces = []
        for family, prefix in self._routes:
            subprocess.run(["ip", family, "route", "del", "unreachable", prefix], capture_output=True)
        self._routes = []
        if self._netns_etc:
            shutil.rmtree(self._netns_etc, ignore_errors=True)
            self._netns_etc = None
        if self._created_disks_mount and not _other_simulations():
            try:
                os.rmdir(FLEET_DISKS)  # empty here: the tmpfs was mounted in the disks sshd's namespace only
            except OSError:
                pass
            self._created_disks_mount = False
        if not _other_simulations():
            for user in self._created_users:
                subprocess.run(["userdel", user], capture_output=True)
            self._created_users = []
        if self._created_home_ssh and not _other_simulations():
            try:
                os.rmdir(self._created_home_ssh)
            except OSError:
                pass
            self._created_home_ssh = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read()
    except FileNotFoundError:
        return ""


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(condition, what, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


if __name__ == "__main__":
    print(__doc__)
    sys.exit(2)
