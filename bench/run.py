"""Benchmark: what `dcos node ssh` costs before ssh starts, against its predecessor.

For N agents (2 and 10,000 by default, entries of about 1.3 KB shaped as
tests/fixtures shows) and two masters (one that filters ?slave_id=, one that
ignores it as Mesos before 1.1 does), it starts the cluster API stand-in on
loopback, puts an `ssh` (and `ssh-add`) that exits at once first on PATH, and
measures each command over repeated runs: median and spread of wall time, peak
RSS, HTTP requests and bytes received. It prints a table and writes the same as
JSON.

    python bench/run.py [--runs 15] [--agents 2,10000] [--json bench/results/latest.json]
                        [--predecessor PATH-TO-dcos]

The predecessor is DC/OS CLI 0.6.1 (`dcoscli`, Python with requests), which
installs only on an old Python: bench/install-predecessor puts it in
bench/.predecessor when a Python 3.6 is found. Without it, its rows are left out.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")
sys.path.insert(0, TESTS)

import clusterapi  # noqa: E402
import clusterdata  # noqa: E402

CLUSTER_ID = "c0ffee00-1111-2222-3333-444455556666"


def agent_id(index):
    return f"20151002-000353-1695027628-5050-1177-S{index}"


def write_scenario(path, agents, filtering):
    """The scenario file, written one agent at a time.

    This process stays small: a child forked from it would otherwise count the
    parent's pages in its peak RSS until it execs.
    """
    scenario = clusterdata.scenario(public_ip="52.34.108.176", leader_ip="10.0.4.1", agents=[],
                                    filter_slave_id=filtering)
    scenario["metadata"]["CLUSTER_ID"] = CLUSTER_ID
    head = json.dumps(scenario)
    cut = head.index('"slaves": [') + len('"slaves": [')
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(head[:cut])
        for i in range(agents):
            entry = clusterdata.agent_entry(agent_id(i), f"ip-10-0-{i // 250}-{i % 250 + 2}.ec2.internal",
                                            f"10.0.{i // 250}.{i % 250 + 2}", public=(i % 10 == 0))
            stream.write((", " if i else "") + json.dumps(entry))
        stream.write(head[cut:])


def start_standin(workdir, agents, filtering):
    write_scenario(os.path.join(workdir, "scenario.json"), agents, filtering)
    return clusterapi.LoopbackStandIn(workdir)


def make_home(workdir, url):
    """A HOME with an attached cluster, the layout both CLI generations read."""
    home = os.path.join(workdir, "home")
    cluster = os.path.join(home, ".dcos", "clusters", CLUSTER_ID)
    os.makedirs(cluster)
    config = os.path.join(cluster, "dcos.toml")
    with open(config, "w", encoding="utf-8") as stream:
        stream.write(f'[core]\ndcos_url = "{url}"\nreporting = false\n\n[cluster]\nname = "bench"\n')
    os.chmod(config, 0o600)
    open(os.path.join(cluster, "attached"), "w").close()
    return home


def make_stub_bin(workdir):
    """`ssh` and `ssh-add` that exit at once: only the plugin's own work is measured."""
    folder = os.path.join(workdir, "bin")
    os.makedirs(folder)
    for name in ("ssh", "ssh-add"):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, 0o755)
    return folder


# Runs one command and reports its wall time and peak RSS. A fresh, small process does
# the fork: a child forked from this one would count this process's pages in its peak
# RSS until it execs.
LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as stream:
    json.dump({"wall": wall, "status": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss}, stream)
"""


def measure(argv, env, standin, runs):
    walls, peaks, requests, received = [], [], [], []
    report = os.path.join(tempfile.mkdtemp(prefix="dcos-node-ssh-bench-run-"), "report.json")
    for _ in range(runs):
        seen = len(standin.requests())
        result = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, report] + list(argv), env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with open(report, encoding="utf-8") as stream:
            figures = json.load(stream)
        if figures["status"] != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({figures['status']}): {result.stderr.decode()[-500:]}")
        walls.append(figures["wall"])
        peaks.append(figures["maxrss_kib"] / 1024)
        new = standin.requests()[seen:]
        requests.append(len(new))
        received.append(sum(entry["bytes"] for entry in new))
    walls.sort()
    quartiles = statistics.quantiles(walls, n=4) if len(walls) >= 2 else [walls[0]] * 3
    return {
        "runs": runs,
        "wall_median_ms": round(statistics.median(walls) * 1000, 1),
        "wall_q1_ms": round(quartiles[0] * 1000, 1),
        "wall_q3_ms": round(quartiles[2] * 1000, 1),
        "wall_min_ms": round(walls[0] * 1000, 1),
        "wall_max_ms": round(walls[-1] * 1000, 1),
        "peak_rss_mib": round(statistics.median(peaks), 1),
        "http_requests": max(requests),
        "bytes_received": max(received),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--predecessor-runs", type=int, default=5, help="runs per predecessor command")
    parser.add_argument("--agents", default="2,10000", help="cluster sizes (default 2,10000)")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    parser.add_argument("--predecessor", default=os.path.join(HERE, ".predecessor", "bin", "dcos"),
                        help="the DC/OS CLI 0.6.1 `dcos` executable")
    parser.add_argument("--dcos-node", default=shutil.which("dcos-node", path=os.path.dirname(sys.executable))
                        or shutil.which("dcos-node"))
    options = parser.parse_args(argv)
    if not options.dcos_node:
        sys.exit("dcos-node is not installed (pip install .)")
    predecessor = options.predecessor if os.access(options.predecessor, os.X_OK) else None

    rows = []
    for agents in [int(size) for size in options.agents.split(",")]:
        for filtering in (True, False):
            workdir = tempfile.mkdtemp(prefix="dcos-node-ssh-bench-")
            standin = start_standin(workdir, agents, filtering)
            try:
                env = {"HOME": make_home(workdir, standin.url), "LANG": "C.UTF-8",
                       "PATH": make_stub_bin(workdir) + ":/usr/bin:/bin", "SSH_AUTH_SOCK": "/nonexistent/agent"}
                last = agent_id(agents - 1)
                commands = [("dcos-node node ssh --master-proxy --mesos-id=<last>", "ours",
                             [options.dcos_node, "node", "ssh", "--master-proxy", f"--mesos-id={last}"],
                             options.runs)]
                if not filtering:  # the listing does not depend on the filter
                    commands.append(("dcos-node node", "ours", [options.dcos_node, "node"], options.runs))
                    commands.append(("dcos-node node --json", "ours", [options.dcos_node, "node", "--json"],
                                     options.runs))
                if predecessor:
                    commands.append(("dcos node ssh --master-proxy --mesos-id=<last>", "DC/OS CLI 0.6.1",
                                     [predecessor, "node", "ssh", "--master-proxy", f"--mesos-id={last}"],
                                     options.predecessor_runs))
                    if not filtering:
                        commands.append(("dcos node", "DC/OS CLI 0.6.1", [predecessor, "node"],
                                         options.predecessor_runs))
                        commands.append(("dcos node --json", "DC/OS CLI 0.6.1", [predecessor, "node", "--json"],
                                         options.predecessor_runs))
                for label, who, command, runs in commands:
                    try:
                        figures = measure(command, env, standin, runs)
                    except RuntimeError as error:
                        print(f"skipped {who} `{label}`: {error}", file=sys.stderr)
                        continue
                    rows.append(dict(command=label, implementation=who, agents=agents,
                                     master_filters=filtering, **figures))
            finally:
                standin.stop()
                shutil.rmtree(workdir, ignore_errors=True)

    print(table(rows))
    for line in ratios(rows):
        print(line)
    os.makedirs(os.path.dirname(os.path.abspath(options.json)), exist_ok=True)
    with open(options.json, "w", encoding="utf-8") as stream:
        json.dump({"python": sys.version.split()[0], "machine": os.uname().machine, "cpus": os.cpu_count(),
                   "rows": rows}, stream, indent=2)
    print(f"\nwritten to {options.json}")
    return 0


def ratios(rows):
    """Our median wall time over the predecessor's, for each command both ran."""
    theirs = {(row["command"].replace("dcos node", "dcos-node node", 1), row["agents"], row["master_filters"]):
              row for row in rows if row["implementation"] != "ours"}
    for row in rows:
        other = theirs.get((row["command"], row["agents"], row["master_filters"]))
        if row["implementation"] == "ours" and other:
            ratio = row["wall_median_ms"] / other["wall_median_ms"]
            yield (f"{row['command']}, {row['agents']:,} agents: {ratio:.2f}x the predecessor's wall time, "
                   f"{row['peak_rss_mib']:.1f} MiB against {other['peak_rss_mib']:.1f}")


def table(rows):
    header = ("command", "by", "agents", "filters", "median ms", "IQR ms", "peak MiB", "requests", "KiB in")
    lines = [header]
    for row in rows:
        lines.append((row["command"], row["implementation"], f"{row['agents']:,}",
                      "yes" if row["master_filters"] else "no", f"{row['wall_median_ms']:.0f}",
                      f"{row['wall_q1_ms']:.0f}-{row['wall_q3_ms']:.0f}", f"{row['peak_rss_mib']:.1f}",
                      str(row["http_requests"]), f"{row['bytes_received'] / 1024:,.0f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    out = [rule, "  ".join(cell.ljust(width) for cell, width in zip(lines[0], widths)), rule]
    out += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines[1:]]
    return "\n".join(out + [rule])


if __name__ == "__main__":
    sys.exit(main())
