"""Throughput of `dcos node scp` against OpenSSH's own scp through the same proxy.

On the simulated cluster (root; tests/simcluster.py), a 200 MB file of random bytes
goes from this host to an agent's own disk (a tmpfs) through the master: with
`dcos-node node scp --master-proxy`, and with `scp` run by hand with the same
ProxyCommand (`ssh -W` on the master) and HostKeyAlias. Runs alternate, and the median
of each is printed with the ratio. Printed figures, not a timed test.

    .venv/bin/python bench/scp.py [--size-mb 200] [--runs 5]
"""

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import simcluster  # noqa: E402


def start_cluster(wait_seconds):
    """The simulated cluster; another one running (other engineers, CI) is waited for."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return simcluster.SimCluster().start()
        except RuntimeError as error:
            if "another simulated cluster is running" not in str(error) or time.monotonic() > deadline:
                raise
            print(f"waiting: {error}", file=sys.stderr, flush=True)
            time.sleep(10)


def timed(cluster, argv, env):
    start = time.monotonic()
    result = cluster.run(argv, env, timeout=600)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wait", type=float, default=1800, help="seconds to wait for another simulated cluster")
    args = parser.parse_args()
    reason = simcluster.unavailable_reason()
    if reason:
        print(f"Cannot build the simulated cluster: {reason}.", file=sys.stderr)
        return 2
    dcos_node = shutil.which("dcos-node", path=os.path.dirname(sys.executable))
    if dcos_node is None:
        print("dcos-node is not installed next to this Python (pip install .).", file=sys.stderr)
        return 2
    cluster = start_cluster(args.wait)
    home = tempfile.mkdtemp(prefix="dcos-node-ssh-bench-")
    try:
        os.makedirs(os.path.join(home, ".dcos"))
        with open(os.path.join(home, ".dcos", "dcos.toml"), "w", encoding="utf-8") as stream:
            stream.write(f'[core]\ndcos_url = "{cluster.dcos_url}"\n')
        env = cluster.client_env(home)
        size = args.size_mb * 1000 * 1000
        source = os.path.join(cluster.workdir, "bench.bin")
        digest = hashlib.sha256()
        with open(source, "wb") as stream:
            for _ in range(size // (1 << 20)):
                chunk = os.urandom(1 << 20)
                digest.update(chunk)
                stream.write(chunk)
            rest = os.urandom(size % (1 << 20))
            digest.update(rest)
            stream.write(rest)
        name, address, agent_id = simcluster.AGENTS[1]
        remote = f"{simcluster.NODE_DISK}/bench.bin"
        ours = [dcos_node, "node", "scp", "--master-proxy", source, f"{agent_id}:{remote}"]
        proxy_command = f"ProxyCommand=ssh -W '[%h]:%p' {simcluster.USER}@{simcluster.MASTER_PUBLIC}"
        theirs = ["scp", "-s", "-o", proxy_command, "-o", f"HostKeyAlias={simcluster.host_key_alias(address)}",
                  "--", source, f"{simcluster.USER}@{address}:{remote}"]
        theirs_env = dict(env, SHELL="/bin/sh")
        timed(cluster, theirs, theirs_env)  # warm up: page cache, sshd
        times = {"dcos node scp": [], "OpenSSH scp": []}
        for _ in range(args.runs):
            times["dcos node scp"].append(timed(cluster, ours, env))
            times["OpenSSH scp"].append(timed(cluster, theirs, theirs_env))
        check = cluster.run(["ssh", "-o", proxy_command, f"{simcluster.USER}@{address}", "sha256sum", remote],
                            theirs_env)
        if check.stdout.split()[:1] != [digest.hexdigest().encode()]:
            raise RuntimeError("the file on the agent is not the file sent")
        print(f"{args.size_mb} MB of random bytes, this host -> master (ssh -W) -> {name}'s tmpfs, "
              f"{args.runs} runs each, median:")
        rates = {}
        for label, values in times.items():
            median = statistics.median(values)
            rates[label] = size / median / 1e6
            print(f"  {label:<14} {rates[label]:7.1f} MB/s   ({median:.2f} s; runs "
                  + ", ".join(f"{value:.2f}" for value in values) + ")")
        print(f"  ratio (dcos node scp / OpenSSH scp): {rates['dcos node scp'] / rates['OpenSSH scp']:.3f}")
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
