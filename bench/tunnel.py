"""Throughput of `dcos node tunnel forward` and `socks` against hand-written `ssh -L` and
`ssh -D` through the same master, and the time from the command to the first byte.

On the simulated cluster (root; tests/simcluster.py), tests/webserver.py on a private
agent sends N bytes; curl fetches them on this host through each tunnel (`-o /dev/null`,
curl's own time_total). Arms alternate, run after run; the median of each is printed
with the ratio (ours / by hand: at most 1.05 is the goal). Then, for each command, the
time from starting it to the first byte of a small answer through it: our tunnel says
when it is ready; for the hand-written ssh, curl is retried until it answers. Printed
figures, not a timed test.

    .venv/bin/python bench/tunnel.py [--size-mb 500] [--runs 5]
"""

import argparse
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import simcluster  # noqa: E402

AGENT, ADDRESS, _ = simcluster.AGENTS[0]
TARGET = f"{ADDRESS}:{simcluster.WEB_PORT}"
MASTER = f"{simcluster.USER}@{simcluster.MASTER_PUBLIC}"


def start_cluster(wait_seconds):
    """The simulated cluster; another one running (other engineers, CI) is waited for."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return simcluster.SimCluster().start().start_web()
        except RuntimeError as error:
            if "another simulated cluster is running" not in str(error) or time.monotonic() > deadline:
                raise
            print(f"waiting: {error}", file=sys.stderr, flush=True)
            time.sleep(10)


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Arm:
    """One way to tunnel: how to start it, and where curl goes through it."""

    def __init__(self, label, ours, socks):
        self.label, self.ours, self.socks = label, ours, socks

    def start(self, cluster, dcos_node, env):
        """(the process, the curl arguments that go through it, seconds until it said it was
        ready, or None for ssh, which says nothing)."""
        started = time.monotonic()
        port = free_port()
        if self.ours:
            kind = ["socks", f"--port={port}"] if self.socks else ["forward", f"{port}:{TARGET}"]
            argv = [dcos_node, "node", "tunnel"] + kind + ["--master-proxy"]
        else:
            argv = ["ssh", "-N", "-T"] + (["-D", f"127.0.0.1:{port}"] if self.socks else
                                          ["-L", f"127.0.0.1:{port}:{TARGET}"]) + [MASTER]
        process = subprocess.Popen(cluster.client_argv(argv), env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        through = (["--proxy", f"socks5h://127.0.0.1:{port}", f"http://{TARGET}"] if self.socks else
                   [f"http://127.0.0.1:{port}"])
        if self.ours:
            wait_line(process, 60)
        return process, through, started

    def stop(self, process):
        os.killpg(process.pid, signal.SIGINT if self.ours else signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()


def wait_line(process, seconds):
    deadline = time.monotonic() + seconds
    while True:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if ready and os.read(process.stdout.fileno(), 65536):
            return
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the tunnel did not get ready")


def fetch(through, path, retry_seconds=0.0):
    """curl's (time_total, size_download) for a GET through the tunnel; retried while the
    tunnel does not answer yet, for at most retry_seconds."""
    deadline = time.monotonic() + retry_seconds
    while True:
        url = through[-1] + path
        result = subprocess.run(["curl", "--silent", "--show-error", "--max-time", "300", "-o", os.devnull, "-w",
                                 "%{time_total} %{size_download}"] + through[:-1] + [url], capture_output=True,
                                text=True)
        if result.returncode == 0:
            total, size = result.stdout.split()
            return float(total), int(size)
        if time.monotonic() >= deadline:
            raise RuntimeError(f"curl failed ({result.returncode}): {result.stderr}")
        time.sleep(0.005)


ARMS = [Arm("dcos node tunnel forward", True, False), Arm("ssh -L", False, False),
        Arm("dcos node tunnel socks", True, True), Arm("ssh -D", False, True)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wait", type=float, default=1800, help="seconds to wait for another simulated cluster")
    args = parser.parse_args()
    reason = simcluster.unavailable_reason()
    if reason or shutil.which("curl") is None:
        print(f"Cannot run: {reason or 'curl is not installed'}.", file=sys.stderr)
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
        downloads = {arm.label: [] for arm in ARMS}
        first_byte = {arm.label: [] for arm in ARMS}
        for run in range(args.runs + 1):  # the first run warms up (page cache, sshd, Python's bytecode)
            for arm in ARMS:
                process, through, started = arm.start(cluster, dcos_node, env)
                try:
                    fetch(through, "/hello", retry_seconds=30)
                    to_first_byte = time.monotonic() - started
                    seconds, received = fetch(through, f"/bytes/{size}")
                finally:
                    arm.stop(process)
                if received != size:
                    raise RuntimeError(f"{arm.label}: {received} bytes of {size}")
                if run:
                    downloads[arm.label].append(seconds)
                    first_byte[arm.label].append(to_first_byte)
        print(f"{args.size_mb} MB from {AGENT} (tests/webserver.py) to curl on this host, through the master, "
              f"{args.runs} runs each, median:")
        rate = {}
        for arm in ARMS:
            median = statistics.median(downloads[arm.label])
            rate[arm.label] = size / median / 1e6
            print(f"  {arm.label:<26} {rate[arm.label]:7.1f} MB/s  ({median:.2f} s; runs "
                  + ", ".join(f"{value:.2f}" for value in downloads[arm.label]) + ")")
        for ours, theirs in (("dcos node tunnel forward", "ssh -L"), ("dcos node tunnel socks", "ssh -D")):
            print(f"  time ratio ({ours} / {theirs}): {rate[theirs] / rate[ours]:.3f}")
        print("From the command to the first byte of GET /hello through it, median:")
        for arm in ARMS:
            values = first_byte[arm.label]
            print(f"  {arm.label:<26} {statistics.median(values) * 1000:7.0f} ms  (runs "
                  + ", ".join(f"{value * 1000:.0f}" for value in values) + ")")
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
