"""What the fleet benchmarks (fanout.py, fleet.py) share: the simulated cluster with its fleet
of agents behind the master, an operator's HOME for it, pdsh's ssh config through one shared
connection to the master, and a launcher that measures one command.

Needs root (tests/simcluster.py builds network namespaces).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import simcluster  # noqa: E402

# Runs one command; reports wall time, exit status, the CPU time of the command's own
# process and of it with every descendant it waited for, the peak RSS of its own
# process (VmHWM of the launched pid, sampled every 50 ms: the last value before it
# exits), the largest single process among it and its descendants (wait4's ru_maxrss
# counts every descendant that was waited for) and, when asked (it walks /proc, which
# costs CPU), the largest sum of the RSS of all processes under it, sampled. A fresh,
# small process does the fork.
LAUNCHER = r"""
import json, os, sys, time
report, sample_tree, argv = sys.argv[1], sys.argv[2] == "tree", sys.argv[3:]
page = os.sysconf("SC_PAGE_SIZE")
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)

def tree_rss():
    parents, rss = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stream:
                fields = stream.read().rpartition(")")[2].split()
            parents[int(name)] = int(fields[1])
            rss[int(name)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            pass
    total = 0
    for child in rss:
        ancestor = child
        while ancestor > 1 and ancestor != pid:
            ancestor = parents.get(ancestor, 0)
        if ancestor == pid:
            total += rss[child]
    return total

def own_hwm():
    try:
        with open(f"/proc/{pid}/status") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0

def own_cpu():
    try:
        with open(f"/proc/{pid}/stat") as stream:
            fields = stream.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, IndexError, ValueError):
        return 0.0

ticks = os.sysconf("SC_CLK_TCK")
peak_tree = own = 0
cpu = 0.0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    own = max(own, own_hwm())
    cpu = max(cpu, own_cpu())
    if sample_tree:
        peak_tree = max(peak_tree, tree_rss())
    time.sleep(0.05)
wall = time.perf_counter() - start
with open(report, "w") as stream:
    json.dump({"wall": wall, "status": os.waitstatus_to_exitcode(status), "own_hwm_kib": own, "own_cpu": cpu,
               "tree_cpu": usage.ru_utime + usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss, "tree_peak_kib": peak_tree // 1024}, stream)
"""

# pdsh's ssh config: the agents through `ssh -W` over a ControlMaster to the master that the
# measured script opens (bench-master), as ours shares one connection to the master.
# `node_extra`: more lines for the agents (fleet.py's per-node ControlPersist).
PDSH_CONFIG = """\
Host bench-master
  HostName {master}
  User core
  ControlPath {control}
  ControlMaster no
  ForwardAgent no
Host {fleet}
  User core
  ProxyCommand ssh -F {config} -W [%h]:%p bench-master
  BatchMode yes
  ForwardAgent no
  ConnectTimeout 10
{node_extra}"""

# Opens the shared connection to the master (unless one is up), runs the command, and
# closes it again unless asked to keep it (KEEP=1).
PDSH_WRAPPER = """\
#!/bin/sh
config=$1; shift
if ! ssh -F "$config" -O check bench-master 2>/dev/null; then
  ssh -F "$config" -o ControlMaster=yes -f -N bench-master || exit 255
fi
PDSH_SSH_ARGS="-F $config -x -l%u %h" "$@"
status=$?
[ "$KEEP" = 1 ] || ssh -F "$config" -O exit bench-master 2>/dev/null
exit $status
"""


def parser_for(doc):
    """The benchmark's command line: its title, --agents and --dcos-node (the one beside this Python)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--dcos-node", default=shutil.which("dcos-node", path=os.path.dirname(sys.executable))
                        or shutil.which("dcos-node"))
    return parser


def require(*tools):
    """Exit with the reason when the simulated cluster cannot be built here or a tool is missing."""
    reason = simcluster.unavailable_reason()
    if reason:
        sys.exit(f"cannot build the simulated cluster: {reason}")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        sys.exit(f"not installed: {', '.join(missing)} (Debian package pdsh)")


def start_cluster(agents):
    """The simulated cluster with `agents` fleet agents, the fleet's agents alone in its state."""
    while True:
        try:
            cluster = simcluster.SimCluster().start()
            break
        except RuntimeError as error:
            if "another simulated cluster" not in str(error):
                raise
            print("waiting: another simulated cluster is running", file=sys.stderr)
            time.sleep(10)
    try:
        cluster.start_fleet(agents)
        scenario = cluster.fleet_scenario()
        scenario["slaves"] = scenario["slaves"][len(simcluster.AGENTS):]  # the fleet's agents only
        cluster.write_scenario(scenario)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def operator_env(cluster, workdir, **extra):
    """An operator's HOME in workdir with the cluster attached; its environment."""
    home = os.path.join(workdir, "home")
    config = os.path.join(home, ".dcos", "dcos.toml")
    os.makedirs(os.path.dirname(config), exist_ok=True)
    with open(config, "w", encoding="utf-8") as stream:
        stream.write(f'[core]\ndcos_url = "{cluster.dcos_url}"\n')
    return cluster.client_env(home, **extra)


def write_hosts(workdir, agents):
    """pdsh's host list (`-w ^file`): the fleet's first `agents` addresses."""
    hosts = os.path.join(workdir, "hosts")
    with open(hosts, "w", encoding="utf-8") as stream:
        stream.write("".join(simcluster.fleet_address(i) + "\n" for i in range(agents)))
    return hosts


def write_pdsh_config(workdir, name="ssh_config", node_extra=""):
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(PDSH_CONFIG.format(master=simcluster.MASTER_PUBLIC, control=os.path.join(workdir, name + ".cm"),
                                        fleet=" ".join(net + ".*" for net in simcluster.FLEET_NETS), config=path,
                                        node_extra=node_extra))
    return path


def pdsh_wrapper(workdir):
    """The script that runs a pdsh-family command (its argv after the config) through the config's master."""
    path = os.path.join(workdir, "pdsh-wrapper.sh")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(PDSH_WRAPPER)
    os.chmod(path, 0o755)
    return path


def measure(cluster, argv, env, workdir, sample_tree=True, timeout=None, cwd=None):
    """Runs argv as the operator; the launcher's figures, and its stderr."""
    report = os.path.join(workdir, "report.json")
    if os.path.exists(report):
        os.remove(report)
    result = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, report, "tree" if sample_tree else "-"]
                            + cluster.client_argv(argv), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    with open(report, encoding="utf-8") as stream:
        figures = json.load(stream)
    figures["stderr"] = result.stderr.decode(errors="replace")
    return figures


def accounted_ours(figures, agents):
    """From our summary: how many nodes it reports on, when it names them all."""
    for line in figures["stderr"].splitlines():
        if line.startswith(f"{agents} nodes:"):
            return agents
    return 0


def accounted_pdsh(figures, agents):
    """pdsh -S exits with the largest remote status: 0 means every node ran `true`; else
    each node that failed says so on stderr."""
    if figures["status"] == 0:
        return agents
    failed = {line.split(": ")[1] for line in figures["stderr"].splitlines()
              if line.startswith("pdsh@") and line.count(": ") >= 2}
    return agents - len(failed) if failed else 0


def print_table(lines):
    """Rows of cells (the first the header), in columns."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
