"""Benchmark: `dcos node run --agents -- true` on 500 agents, against pdsh, through the same master.

Needs root (it builds the simulated cluster of tests/simcluster.py with a fleet of 500
agents reachable only through the master) and Debian's `pdsh`. Both tools share one
authenticated connection to the master: ours by itself; pdsh (`-R ssh -f 32`) through an
ssh config whose agents' ProxyCommand is `ssh -W` over a ControlMaster that the measured
script opens first and closes last, as ours does. Prints, per tool, the median of
--runs runs: wall time, peak memory (the largest single process, from
wait4's rusage in a small launcher; and the largest total RSS of all the
processes under it, sampled every 50 ms) and the nodes accounted for.

    sudo .venv/bin/python bench/fanout.py [--agents 500] [--runs 3]
"""

import os
import shutil
import statistics
import sys
import tempfile

from simrun import (accounted_ours, accounted_pdsh, measure, operator_env, parser_for, pdsh_wrapper, print_table,
                    require, start_cluster, write_hosts, write_pdsh_config)


def main(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    require("pdsh")
    cluster = start_cluster(options.agents)
    workdir = tempfile.mkdtemp(prefix="dcos-node-bench-fanout-", dir="/tmp")
    os.chmod(workdir, 0o755)
    try:
        env = operator_env(cluster, workdir)
        hosts = write_hosts(workdir, options.agents)
        ssh_config = write_pdsh_config(workdir)
        wrapper = pdsh_wrapper(workdir)

        tools = [("dcos node run --master-proxy --agents -- true",
                  [options.dcos_node, "node", "run", "--master-proxy", "--agents", "--", "true"], accounted_ours),
                 ("pdsh -R ssh -f 32 -w ^hosts true",
                  [wrapper, ssh_config, "pdsh", "-S", "-R", "ssh", "-l", "core", "-f", "32", "-w", "^" + hosts, "true"],
                  accounted_pdsh)]
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
        print_table(lines)
        ours, theirs = (statistics.median(r["wall"] for r in rows[label]) for label, _, _ in tools)
        print(f"\nwall time, ours / pdsh's: {ours / theirs:.2f}")
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
