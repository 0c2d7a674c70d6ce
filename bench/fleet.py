"""Benchmark: fleet work on 500 agents behind the master, ours against the pdsh family (and
ClusterShell's clush for the copies), in one run.

Needs root (the simulated cluster of tests/simcluster.py, with a fleet of agents reachable
only through the master; run it in a network namespace of its own: `scripts/isolated`)
and Debian's pdsh (pdsh, pdcp, rpdcp). Every pdsh-family command goes through one shared
connection to the master, as ours does (simrun.PDSH_CONFIG: the agents' ProxyCommand is
`ssh -W` over a ControlMaster the measured script opens first and closes last). Measures,
one after the other:

  cold       `dcos node run --master-proxy --agents -- true` and `pdsh -R ssh -f 32 ... true`
  warm       the same run twice with --warm=600 (the first opens a connection to each node,
             the second, measured, reuses them), against the cold pdsh; and for reference pdsh
             with a ControlPersist connection per node (ControlMaster auto, a ControlPath per
             host), its second run
  memory     of the warm connections left open (the ssh processes whose command line names
             their socket folder, $TMPDIR/dcos-node-ssh-<uid>, TMPDIR being the bench's own),
             and of the fleet's sshd processes beyond those of a cold fleet; per node. Then
             `dcos node disconnect`, and a check that none of them is left
  copy       `dcos node copy --master-proxy --agents <1 MB file> /tmp/`, `pdcp -R ssh -f 32` and
             ClusterShell's `clush -f 32 -c` (scp per node, as ours)
  fetch      `dcos node fetch --master-proxy --agents /tmp/<file> <dir>`, `rpdcp -R ssh -f 32` and
             `clush -f 32 --rcopy`

and the peak RSS of the plugin's own process (VmHWM) in each. The fleet's sshd serves every
agent address from one namespace that shares this machine's /tmp, so every copy writes the
same file: what is timed is 500 transfers; the bytes are checked there and, for fetches, in
every node's own folder here. Prints a table with the ratios and the targets of issue 20,
and the CPU time each command took with all it waited for (ssh, scp; not the daemons of
warm connections, not sshd).
Exits 1 only when a measurement broke (a tool did not reach every node, a file is wrong, a
warm connection outlived `dcos node disconnect`), not when a target is missed.

    scripts/isolated .venv/bin/python bench/fleet.py [--agents 500] [--warm 600] [--rounds 2]
        [--parts cold,warm,pdsh_persist,copies]
"""

import hashlib
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from simrun import (accounted_ours, accounted_pdsh, measure, operator_env, parser_for, pdsh_wrapper, print_table,
                    require, start_cluster, write_hosts, write_pdsh_config)

PARALLEL = 32  # pdsh's -f; ours runs 32 at once by default
FILE_BYTES = 1_000_000
MEASURE_SECONDS = 1200
MiB = 1024 * 1024
AGAINST = {"pdsh": "cold pdsh", "clush-c": "clush -c", "clush-rcopy": "clush --rcopy"}  # the table's names
PARTS = ("cold", "warm", "pdsh_persist", "copies")  # Bench's methods, in the order they run

# pdsh's reference for warm runs: a connection per node that outlives the run.
PERSIST_LINES = """\
  ControlMaster auto
  ControlPath {folder}/%h
  ControlPersist {seconds}
"""


def processes_naming(*texts):
    """The processes whose command line holds one of `texts`, as (pid, its words). A
    ControlPersist master retitles itself `ssh: <ControlPath> [mux]`."""
    found = []
    needles = [text.encode() for text in texts]
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as stream:
                cmdline = stream.read()
        except OSError:
            continue
        if any(needle in cmdline for needle in needles):
            found.append((int(name), cmdline.decode(errors="replace").rstrip("\0").split("\0")))
    return found


def memory_kib(pid):
    """(RSS, PSS) of a process in KiB; (0, 0) once it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as stream:
            for line in stream:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


def total_memory(pids):
    """(count, RSS KiB, PSS KiB) of these processes."""
    figures = [memory_kib(pid) for pid in pids]
    return len(figures), sum(rss for rss, _ in figures), sum(pss for _, pss in figures)


def fleet_sessions(cluster):
    """The fleet's sshd processes but its listener: one pair (monitor, session) per connection."""
    listing = subprocess.run(["ip", "netns", "pids", cluster.fleet.namespace], capture_output=True, text=True).stdout
    return [int(pid) for pid in listing.split() if int(pid) != cluster.fleet.sshd.pid]


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def sha256(path):
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def uptime():
    with open("/proc/loadavg") as stream:
        return "load average " + ", ".join(stream.read().split()[:3])


class Bench:
    def __init__(self, cluster, options, workdir, tmpdir):
        self.cluster, self.options, self.workdir = cluster, options, workdir
        self.agents = options.agents
        self.env = operator_env(cluster, workdir, TMPDIR=tmpdir)
        self.warm_folder = os.path.join(tmpdir, f"dcos-node-ssh-{os.geteuid()}")
        self.hosts = write_hosts(workdir, self.agents)
        self.wrapper = pdsh_wrapper(workdir)
        self.cold_config = write_pdsh_config(workdir)
        self.persist_folder = os.path.join(workdir, "persist")
        os.mkdir(self.persist_folder, 0o700)
        self.persist_config = write_pdsh_config(workdir, "ssh_config_persist", PERSIST_LINES.format(
            folder=self.persist_folder, seconds=options.warm))
        self.rows = {}
        self.broken = []

    def ours(self, verb, *args):
        return [self.options.dcos_node, "node", verb, "--master-proxy", "--agents"] + list(args)

    def pdsh_family(self, config, tool, *args):
        return [self.wrapper, config, tool, "-R", "ssh", "-l", "core", "-f", str(PARALLEL), "-w", "^" + self.hosts,
                *args]

    def clush(self, *args):
        """ClusterShell's clush (beside this Python: a dependency of ours) through the same
        config and shared master connection; scp takes the config as ssh does (-o)."""
        clush = os.path.join(os.path.dirname(sys.executable), "clush")
        return [self.wrapper, self.cold_config, clush, "-S", "-l", "core", "-f", str(PARALLEL),
                "--hostfile", self.hosts, "-o", "-F " + self.cold_config, *args]

    def run(self, key, label, argv, accounted, env=None):
        """Measure argv; keep its figures as row `key`; a tool that missed nodes breaks the bench."""
        figures = measure(self.cluster, argv, env or self.env, self.workdir, sample_tree=False,
                          timeout=MEASURE_SECONDS, cwd=self.workdir)
        figures["label"] = label
        figures["accounted"] = accounted(figures)
        self.rows.setdefault(key, []).append(figures)
        print(f"  {label}: {figures['wall']:.2f} s, exit {figures['status']}, "
              f"{figures['accounted']} of {self.agents} nodes", file=sys.stderr)
        if figures["accounted"] != self.agents:
            self.broken.append(f"{label}: {figures['accounted']} of {self.agents} nodes (exit {figures['status']})")
            print(figures["stderr"][-1500:], file=sys.stderr)
        return figures

    def ours_ran(self, figures):
        return accounted_ours(figures, self.agents) if figures["status"] == 0 else 0

    def pdsh_ran(self, figures):
        return accounted_pdsh(figures, self.agents)

    # -- run ------------------------------------------------------------------------------

    def cold(self):
        for ours_first in self.orders():
            pair = [lambda: self.run("cold", "dcos node run --master-proxy --agents -- true",
                                     self.ours("run", "--", "true"), self.ours_ran),
                    lambda: self.run("pdsh", f"pdsh -R ssh -f {PARALLEL} -w ^hosts true",
                                     self.pdsh_family(self.cold_config, "pdsh", "-S", "true"), self.pdsh_ran)]
            for measured in pair if ours_first else pair[::-1]:
                measured()

    def orders(self):
        """Whether ours goes first, round by round: alternately, so that drift in the load
        (this machine is shared) falls on both alike."""
        return [round % 2 == 0 for round in range(self.options.rounds)]

    def warm(self):
        """Ours twice with --warm; the memory of what stays; disconnect; nothing may stay."""
        baseline = total_memory(fleet_sessions(self.cluster))
        warm = f"--warm={self.options.warm}"
        self.run("warm-open", f"dcos node run {warm} (first: opens)", self.ours("run", warm, "--", "true"),
                 self.ours_ran)
        logins = self.cluster.fleet.connections()
        self.run("warm", f"dcos node run {warm} (second: reuses)", self.ours("run", warm, "--", "true"),
                 self.ours_ran)
        new_logins = self.cluster.fleet.connections() - logins
        if new_logins:
            self.broken.append(f"the warm run logged in to the fleet {new_logins} times")
        self.warm_memory = self.connections_memory(processes_naming(self.warm_folder), baseline)
        self.warm_memory["new logins"] = new_logins
        result = self.cluster.run([self.options.dcos_node, "node", "disconnect"], self.env, timeout=120)
        said = result.stderr.decode(errors="replace").strip()
        print(f"  dcos node disconnect: exit {result.returncode}: {said}", file=sys.stderr)
        left = wait_until(lambda: not processes_naming(self.warm_folder), 10)
        sockets = [name for name in os.listdir(self.warm_folder) if not name.startswith(".")] \
            if os.path.isdir(self.warm_folder) else []
        sessions_gone = wait_until(lambda: len(fleet_sessions(self.cluster)) <= baseline[0], 10)
        self.disconnect = (f"exit {result.returncode}; ssh processes left: {len(processes_naming(self.warm_folder))}"
                           f"; sockets left: {len(sockets)}; fleet sshd processes left: "
                           f"{len(fleet_sessions(self.cluster)) - baseline[0]}")
        if result.returncode != 0 or not left or sockets or not sessions_gone:
            self.broken.append("after `dcos node disconnect`: " + self.disconnect)

    def pdsh_persist(self):
        """pdsh with a ControlPersist connection per node: twice, the second measured; the
        memory of what stays; then those connections are ended (this bench started them)."""
        baseline = total_memory(fleet_sessions(self.cluster))
        env = dict(self.env, KEEP="1")
        argv = ["sh", "-c", 'ulimit -n 16384 && exec "$@"', "sh"] + self.pdsh_family(
            self.persist_config, "pdsh", "-S", "true")  # the master's mux serves 500 ProxyCommands: 4 fds each
        self.run("persist-open", "pdsh, ControlPersist per node (first: opens)", argv, self.pdsh_ran, env)
        self.run("persist", "pdsh, ControlPersist per node (second: reuses)", argv, self.pdsh_ran, env)
        # the masters are titled by their ControlPath; their ProxyCommands name the config
        persisting = (self.persist_folder, self.persist_config)
        self.persist_memory = self.connections_memory(processes_naming(*persisting), baseline)
        for pid, _ in processes_naming(*persisting):
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        if not wait_until(lambda: not processes_naming(*persisting), 10):
            for pid, _ in processes_naming(*persisting):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        wait_until(lambda: len(fleet_sessions(self.cluster)) <= baseline[0], 10)

    def connections_memory(self, clients, baseline):
        count, rss, pss = total_memory(pid for pid, _ in clients)
        sessions = total_memory(fleet_sessions(self.cluster))
        forwarders = sum(1 for _, words in clients if "-W" in words)  # ProxyCommand `ssh -W`
        return {"ssh processes": count, "ssh rss": rss, "ssh pss": pss, "ssh -W": forwarders,
                "sshd processes": sessions[0] - baseline[0], "sshd rss": sessions[1] - baseline[1],
                "sshd pss": sessions[2] - baseline[2]}

    # -- copy and fetch ---------------------------------------------------------------------

    def copies(self):
        name = f"dnssh-bench-{secrets.token_hex(4)}.bin"
        source = os.path.join(self.workdir, name)
        with open(source, "wb") as stream:
            stream.write(secrets.token_bytes(FILE_BYTES))
        digest = sha256(source)
        on_nodes = os.path.join("/tmp", name)  # the fleet's /tmp is this machine's
        try:
            def copied(summary):
                def accounted(figures):
                    if figures["status"] != 0 or (summary and summary not in figures["stderr"]):
                        return 0
                    return self.agents if os.path.exists(on_nodes) and sha256(on_nodes) == digest else 0
                return accounted

            def fetched(folder, named):
                def accounted(figures):
                    paths = [path for path in named(folder) if os.path.isfile(path)]
                    return sum(1 for path in paths if os.path.getsize(path) == FILE_BYTES and sha256(path) == digest)
                return accounted

            def ours_fetched(folder):
                return [os.path.join(folder, node, name) for node in os.listdir(folder)]

            def suffixed_fetched(folder):  # rpdcp's and clush's: <name>.<node>, side by side
                return [os.path.join(folder, entry) for entry in os.listdir(folder) if entry.startswith(name + ".")]

            def copy_ours():
                if os.path.exists(on_nodes):
                    os.remove(on_nodes)
                self.run("copy", "dcos node copy --master-proxy --agents <1 MB> /tmp/",
                         self.ours("copy", "--", name, "/tmp/"),
                         copied(f"Copied to {self.agents} of {self.agents} nodes."))

            def copy_pdcp():
                if os.path.exists(on_nodes):
                    os.remove(on_nodes)
                self.run("pdcp", f"pdcp -R ssh -f {PARALLEL} -w ^hosts <1 MB> /tmp/",
                         self.pdsh_family(self.cold_config, "pdcp", name, "/tmp/"), copied(""))

            def fetch_ours():
                folder = os.path.join(self.workdir, "fetched")  # new: fetch wants it new or empty
                self.run("fetch", f"dcos node fetch --master-proxy --agents {on_nodes} <dir>",
                         self.ours("fetch", "--", on_nodes, folder), fetched(folder, ours_fetched))
                shutil.rmtree(folder)

            def fetch_rpdcp():
                folder = os.path.join(self.workdir, "rpdcp")
                os.mkdir(folder)
                self.run("rpdcp", f"rpdcp -R ssh -f {PARALLEL} -w ^hosts {on_nodes} <dir>",
                         self.pdsh_family(self.cold_config, "rpdcp", on_nodes, folder),
                         fetched(folder, suffixed_fetched))
                shutil.rmtree(folder)

            def copy_clush():
                if os.path.exists(on_nodes):
                    os.remove(on_nodes)
                self.run("clush-c", f"clush -f {PARALLEL} -c <1 MB> --dest /tmp/",
                         self.clush("-c", name, "--dest", "/tmp/"), copied(""))

            def fetch_clush():
                folder = os.path.join(self.workdir, "rclush")
                os.mkdir(folder)
                self.run("clush-rcopy", f"clush -f {PARALLEL} --rcopy {on_nodes} --dest <dir>",
                         self.clush("--rcopy", on_nodes, "--dest", folder), fetched(folder, suffixed_fetched))
                shutil.rmtree(folder)

            for ours_first in self.orders():
                for three in ((copy_ours, copy_pdcp, copy_clush), (fetch_ours, fetch_rpdcp, fetch_clush)):
                    for measured in three if ours_first else three[::-1]:
                        measured()
        finally:
            if os.path.exists(on_nodes):
                os.remove(on_nodes)

    # -- the report ---------------------------------------------------------------------------

    def report(self, load_before):
        rows = {key: {"label": runs[0]["label"], "runs": runs, "wall": statistics.median(run["wall"] for run in runs),
                      "accounted": min(run["accounted"] for run in runs),
                      **{figure: max(run[figure] for run in runs) for figure in ("own_hwm_kib", "maxrss_kib")},
                      **{figure: statistics.median(run[figure] for run in runs) for figure in ("tree_cpu", "own_cpu")}}
                for key, runs in self.rows.items()}
        comparisons = [  # (row, against, target ratio or None)
            ("cold", "pdsh", 1.0), ("pdsh", "pdsh", None),
            ("warm", "pdsh", 0.2), ("persist", "pdsh", None), ("warm-open", "pdsh", None),
            ("persist-open", "pdsh", None),
            ("copy", "pdcp", 1.0), ("copy", "clush-c", 1.0), ("pdcp", "pdcp", None), ("clush-c", "pdcp", None),
            ("fetch", "rpdcp", 1.0), ("fetch", "clush-rcopy", 1.0), ("rpdcp", "rpdcp", None),
            ("clush-rcopy", "rpdcp", None)]
        lines = [("command", "wall s", "each run s", "ratio", "by round", "against", "target", "result", "CPU s",
                  "own CPU s", "own peak MiB", "largest MiB", "nodes")]
        for key, against, target in comparisons:
            if key not in rows or against not in rows:
                continue
            row, ratio = rows[key], rows[key]["wall"] / rows[against]["wall"]
            ours = key in ("cold", "warm", "warm-open", "copy", "fetch")
            lines.append((row["label"], f"{row['wall']:.2f}", " ".join(f"{run['wall']:.1f}" for run in row["runs"]),
                          f"{ratio:.2f}", by_round(row["runs"], rows[against]["runs"]) if key != against else "",
                          AGAINST.get(against, against), f"<= {target}" if target else "",
                          ("pass" if ratio <= target else "MISS") if target else "", f"{row['tree_cpu']:.1f}",
                          f"{row['own_cpu']:.1f}" if ours else "",
                          f"{row['own_hwm_kib'] / 1024:.1f}" if ours else "", f"{row['maxrss_kib'] / 1024:.1f}",
                          f"{row['accounted']} of {self.agents}"))
        rounds = f"{self.options.rounds} rounds, ours first in odd ones"
        described = {"cold": f"cold ({rounds})", "warm": "warm (once)", "pdsh_persist": "pdsh ControlPersist (once)",
                     "copies": f"copy and fetch ({rounds}: ours, pdcp, clush; then the reverse)"}
        parts = self.options.parts.split(",")
        ran = [described[part] for part in PARTS if part in parts]
        print(f"\n{self.agents} agents behind the master, {os.cpu_count()} CPUs; {load_before} before, "
              f"{uptime()} after. In this order: {', '.join(ran)}; wall s: the median."
              + (f" Copies go to one path that is the same on every node (the simulated nodes share this "
                 f"machine's /tmp): {self.agents} transfers, one file." if "copies" in parts else "")
              + "\n")
        print_table(lines)
        peaks = [(key, rows[key]["own_hwm_kib"] / 1024) for key in ("cold", "warm", "copy", "fetch") if key in rows]
        worst = max(peak for _, peak in peaks)
        print("\nthe plugin's own process, peak RSS (VmHWM): "
              + ", ".join(f"{key} {peak:.1f} MiB" for key, peak in peaks)
              + f"; target <= 100 MiB: {'pass' if worst <= 100 else 'MISS'}")
        for title, figures in (("ours (--warm)", getattr(self, "warm_memory", None)),
                               ("pdsh ControlPersist", getattr(self, "persist_memory", None))):
            if figures is None:
                continue
            print(f"warm connections, {title}: {figures['ssh processes']} ssh processes "
                  f"({figures['ssh -W']} of them ProxyCommand `ssh -W`), "
                  f"{figures['ssh rss'] / 1024:.1f} MiB RSS, {figures['ssh pss'] / 1024:.1f} MiB PSS; per warm node: "
                  f"{figures['ssh rss'] / 1024 / self.agents:.2f} MiB RSS, "
                  f"{figures['ssh pss'] / 1024 / self.agents:.2f} MiB PSS. On the nodes, sshd: "
                  f"{figures['sshd processes']} more processes, per node {figures['sshd rss'] / 1024 / self.agents:.2f}"
                  f" MiB RSS, {figures['sshd pss'] / 1024 / self.agents:.2f} MiB PSS")
        if hasattr(self, "warm_memory"):
            print(f"second warm run: {self.warm_memory['new logins']} new logins on the fleet's sshd")
        if hasattr(self, "disconnect"):
            print(f"after `dcos node disconnect`: {self.disconnect}")
        for problem in self.broken:
            print(f"BROKEN: {problem}")


def by_round(runs, against):
    """Each run against the one of the same round (the noise of the machine moves both alike),
    and their geometric mean when there are several: the ratio that pools rounds fairly."""
    ratios = [run["wall"] / other["wall"] for run, other in zip(runs, against)]
    if len(ratios) < 2:
        return ""
    mean = math.exp(statistics.fmean(math.log(ratio) for ratio in ratios))
    return " ".join(f"{ratio:.2f}" for ratio in ratios) + f" (mean {mean:.2f})"


def main(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the cold runs, copies and fetches")
    parser.add_argument("--warm", type=int, default=600, help="--warm=<seconds> of the warm runs")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"what to measure, of {','.join(PARTS)} (all; the report shows what ran)")
    options = parser.parse_args(argv)
    parts = options.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"--parts: not a part: {', '.join(sorted(unknown))}")
    require("pdsh", "pdcp", "rpdcp")
    load_before = uptime()
    cluster = start_cluster(options.agents)
    workdir = tempfile.mkdtemp(prefix="dcos-node-bench-fleet-", dir="/tmp")
    os.chmod(workdir, 0o755)
    tmpdir = tempfile.mkdtemp(prefix="dnb-", dir="/tmp")  # short: the warm sockets' paths must fit
    bench = Bench(cluster, options, workdir, tmpdir)
    try:
        for part in PARTS:
            if part in parts:
                getattr(bench, part)()
        bench.report(load_before)
    finally:
        from dcos_node_ssh.warm import close_all

        close_all({"TMPDIR": tmpdir})  # what a broken run left open
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 1 if bench.broken else 0


if __name__ == "__main__":
    sys.exit(main())
