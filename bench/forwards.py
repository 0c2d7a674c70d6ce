"""Experiment: what a node's ProxyCommand costs (bench/FLEET.rst, "What could make ours faster").

Needs root and the simulated fleet (as bench/fleet.py). Copies 1 MB to every agent with one
`scp -s` per node, 32 at once (xargs -P 32, the same driver both ways), through one shared
connection to the master, two ways, alternately:

  proxy     each agent's ProxyCommand is `ssh -W [%h]:%p` over the shared connection (the way
            ours, pdsh and clush go)
  forward   a loopback port forwarded to each agent over the same connection (`ssh -O forward
            -L 127.0.0.1:<port>:<agent>:22`, made before anything is timed); the node's scp
            connects to that port, so no process stands between it and the shared connection

and prints each run's wall time and the CPU time of the whole machine (/proc/stat), which is
what a fleet on one machine is bound by. The agents go in batches of 32 (the window of ours and
of pdsh -f 32), each batch's forwards made before it and cancelled after it, outside the timing:
an ssh holding hundreds of forwards at once slows down (it walks all its channels on every
event), which a fleet command would avoid by forwarding only the window's nodes. Both ways are
timed in the same batches. Ours does not use forwards (FLEET.rst says why); this measures what
they would buy.

    scripts/prepare-only && scripts/isolated .venv/bin/python bench/forwards.py [--agents 200] [--rounds 3]
"""

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from simrun import operator_env, parser_for, require, start_cluster, write_pdsh_config

import simcluster  # tests/, on the path that simrun sets

FIRST_PORT = 20000
PARALLEL = 32
MASTER = "bench-master"  # simrun.PDSH_CONFIG's name for the master

# One node's copy; $1 is its address, $2 its forwarded port.
COPY = {
    "proxy": "scp -q -s -F {config} {source} core@$1:/tmp/{prefix}$1",
    "forward": "scp -q -s -F {config} -o ProxyCommand=none -o HostKeyAlias=$1 -o Port=$2 {source} "
               "core@127.0.0.1:/tmp/{prefix}$1",
}


def machine_cpu_seconds():
    """Busy time of every CPU since boot: user, nice, system, irq, softirq."""
    with open("/proc/stat", encoding="ascii") as stream:
        fields = [int(field) for field in stream.readline().split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def main(argv=None):
    parser = parser_for(__doc__)
    parser.set_defaults(agents=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args(argv)
    require()
    cluster = start_cluster(options.agents)
    workdir = tempfile.mkdtemp(prefix="dcos-node-bench-forwards-", dir="/tmp")
    os.chmod(workdir, 0o755)
    prefix = f"dnssh-forwards-{secrets.token_hex(4)}-"
    try:
        env = operator_env(cluster, workdir)
        config = write_pdsh_config(workdir)
        source = os.path.join(workdir, "1MB.bin")
        with open(source, "wb") as stream:
            stream.write(secrets.token_bytes(1_000_000))
        nodes = [(simcluster.fleet_address(i), FIRST_PORT + i) for i in range(options.agents)]
        batches = []
        for start in range(0, len(nodes), PARALLEL):
            batches.append(os.path.join(workdir, f"batch-{len(batches)}"))
            with open(batches[-1], "w", encoding="ascii") as stream:
                stream.write("".join(f"{node} {port}\n" for node, port in nodes[start:start + PARALLEL]))

        def client(script, **kwargs):
            return subprocess.run(cluster.client_argv(["sh", "-c", script]), env=env, cwd=workdir, **kwargs)

        def forwards(batch, verb):
            done = client(f"while read node port; do ssh -F {config} -O {verb} -L 127.0.0.1:$port:$node:22 {MASTER}"
                          f" || exit 1; done < {batch}", stderr=subprocess.DEVNULL)
            if done.returncode != 0:
                sys.exit(f"could not {verb} the forwards of {batch}")

        if client(f"ssh -F {config} -o ControlMaster=yes -f -N {MASTER}").returncode != 0:
            sys.exit("could not open the shared connection to the master")
        times = {"proxy": [], "forward": []}
        for round in range(options.rounds):
            for way in ("proxy", "forward") if round % 2 == 0 else ("forward", "proxy"):
                copy = COPY[way].format(config=config, source=source, prefix=prefix)
                wall = busy = 0.0
                for batch in batches:
                    if way == "forward":
                        forwards(batch, "forward")
                    with open(batch, encoding="ascii") as stream:
                        cpu, start = machine_cpu_seconds(), time.monotonic()
                        ran = client(f"xargs -P {PARALLEL} -L 1 sh -c '{copy}' sh", stdin=stream)
                        wall, busy = wall + time.monotonic() - start, busy + machine_cpu_seconds() - cpu
                    if way == "forward":
                        forwards(batch, "cancel")
                    if ran.returncode != 0:
                        sys.exit(f"a copy failed ({way}): the figures would not compare like with like")
                copied = sum(1 for node, _ in nodes if os.path.getsize(f"/tmp/{prefix}{node}") == 1_000_000)
                times[way].append((wall, busy))
                print(f"{way:8} {wall:6.1f} s, machine CPU {busy:6.1f} s, {copied} of {options.agents} copied",
                      flush=True)
                if copied != options.agents:
                    sys.exit("a copy is missing: the figures would not compare like with like")
                for node, _ in nodes:
                    os.remove(f"/tmp/{prefix}{node}")
        client(f"ssh -F {config} -O exit {MASTER}", stderr=subprocess.DEVNULL)
        proxy, forward = ([statistics.median(figure[k] for figure in times[way]) for k in (0, 1)]
                          for way in ("proxy", "forward"))
        print(f"\n{options.agents} agents, {options.rounds} rounds; medians: through ssh -W {proxy[0]:.1f} s "
              f"({proxy[1]:.1f} CPU s), through forwards {forward[0]:.1f} s ({forward[1]:.1f} CPU s): "
              f"{forward[0] / proxy[0]:.2f} of the time, {forward[1] / proxy[1]:.2f} of the CPU")
    finally:
        cluster.stop()
        subprocess.run(["find", "/tmp", "-maxdepth", "1", "-name", prefix + "*", "-delete"], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
