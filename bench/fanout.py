"""Benchmark: `dcos node run --agents -- true` on 500 agents, against pdsh, through the same master.

Needs root (it builds the simulated cluster of tests/simcluster.py with a fleet of 500
agents reachable only through the master) and Debian's `pdsh`. Both tools share one
authenticated connection to the master: ours by itself; pdsh (`-R ssh -f 32`) through an
ssh config whose agents' ProxyCommand is `ssh -W` over a ControlMaster that the measured
script opens first and closes last, as ours does. Prints, per tool, the median of
--runs runs: wall time, peak memory (the largest single process, from
getrusage(RUSAGE_CHILDREN) of a small launcher; and the largest total RSS of all the
processes under it, sampled every 50 ms) and the nodes accounted for.

    sudo .venv/bin/python bench/fanout.py [--agents 500] [--runs 3]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import simcluster  # noqa: E402

# Runs one command; reports wall time, exit status, the peak RSS of its largest process
# (RUSAGE_CHILDREN counts every descendant that was waited for) and the largest sum of
# the RSS of all processes under it, sampled. A fresh, small process does the fork.
LAUNCHER = r"""
import json, os, resource, sys, time
report, argv = sys.argv[1], sys.argv[2:]
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

peak_tree = 0
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    peak_tree = max(peak_tree, tree_rss())
    time.sleep(0.05)
wall = time.perf_counter() - start
with open(report, "w") as stream:
    json.dump({"wall": wall, "status": os.waitstatus_to_exitcode(status),
               "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
               "tree_peak_kib": peak_tree // 1024}, stream)
"""

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
"""

PDSH_SCRIPT = """\
#!/bin/sh
ssh -F {config} -o ControlMaster=yes -f -N bench-master || exit 255
PDSH_SSH_ARGS="-F {config} -x -l%u %h" pdsh -S -R ssh -l core -f 32 -w ^{hosts} true
status=$?
ssh -F {config} -O exit bench-master 2>/dev/null
exit $status
"""


def start_cluster(agents):
    while True:
        try:
            cluster = simcluster.SimCluster().start()
            break
        except RuntimeError as error:
            if "another simulated cluster" not in str(error):
                raise
            print("waiting: another simulated cluster is running", file=sys.stderr)
            time.sleep(10)
    cluster.start_fleet(agents)
    scenario = cluster.fleet_scenario()
    scenario["slaves"] = scenario["slaves"][len(simcluster.AGENTS):]  # the fleet's agents only
    cluster.write_scenario(scenario)
    return cluster


def measure(cluster, argv, env, workdir):
    report = os.path.join(workdir, "report.json")
    result = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, report] + cluster.client_argv(argv), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dcos-node", default=shutil.which("dcos-node", path=os.path.dirname(sys.executable))
                        or shutil.which("dcos-node"))
    options = parser.parse_args(argv)
    reason = simcluster.unavailable_reason()
    if reason:
        sys.exit(f"cannot build the simulated cluster: {reason}")
    pdsh = shutil.which("pdsh")
    if pdsh is None:
        sys.exit("pdsh is not installed (Debian package pdsh)")
    cluster = start_cluster(options.agents)
    workdir = tempfile.mkdtemp(prefix="dcos-node-bench-fanout-", dir="/tmp")
    os.chmod(workdir, 0o755)
    try:
        home = os.path.join(workdir, "home")
        config = os.path.join(home, ".dcos", "dcos.toml")
        os.makedirs(os.path.dirname(config))
        with open(config, "w", encoding="utf-8") as stream:
            stream.write(f'[core]\ndcos_url = "{cluster.dcos_url}"\n')
        env = cluster.client_env(home)
        hosts = os.path.join(workdir, "hosts")
        with open(hosts, "w", encoding="utf-8") as stream:
            stream.write("".join(simcluster.fleet_address(i) + "\n" for i in range(options.agents)))
        ssh_config = os.path.join(workdir, "ssh_config")
        with open(ssh_config, "w", encoding="utf-8") as stream:
            stream.write(PDSH_CONFIG.format(master=simcluster.MASTER_PUBLIC, control=os.path.join(workdir, "cm"),
                                            fleet=" ".join(net + ".*" for net in simcluster.FLEET_NETS),
                                            config=ssh_config))
        script = os.path.join(workdir, "pdsh.sh")
        with open(script, "w", encoding="utf-8") as stream:
            stream.write(PDSH_SCRIPT.format(config=ssh_config, hosts=hosts))
        os.chmod(script, 0o755)

        tools = [("dcos node run --master-proxy --agents -- true",
                  [options.dcos_node, "node", "run", "--master-proxy", "--agents", "--", "true"], accounted_ours),
                 ("pdsh -R ssh -f 32 -w ^hosts true", [script], accounted_pdsh)]
        rows = {label: [] for label, _, _ in tools}
        for _ in range(options.runs):
            for label, command, accounted in tools:  # alternate, so that drift hits both alike
                figures = measure(cluster, command, env, workdir)
                figures["accounted"] = accounted(figures, options.agents)
                rows[label].append(figures)
                print(f"  {label}: {figures['wall']:.2f} s, exit {figures['status']}", file=sys.stderr)
                if figures["status"] != 0:
                    print(figures["stderr"][-1500:], file=sys.stderr)
        print(f"\n{options.agents} agents behind the master, {options.runs} runs each (median), "
              f"{os.cpu_count()} CPUs\n")
        header = ("command", "wall s", "largest process MiB", "all processes MiB", "nodes accounted for")
        lines = [header]
        for label, _, _ in tools:
            runs = rows[label]
            lines.append((label, f"{statistics.median(r['wall'] for r in runs):.2f}",
                          f"{statistics.median(r['maxrss_kib'] for r in runs) / 1024:.1f}",
                          f"{statistics.median(r['tree_peak_kib'] for r in runs) / 1024:.1f}",
                          f"{min(r['accounted'] for r in runs)} of {options.agents}"))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        ours, theirs = (statistics.median(r["wall"] for r in rows[label]) for label, _, _ in tools)
        print(f"\nwall time, ours / pdsh's: {ours / theirs:.2f}")
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
