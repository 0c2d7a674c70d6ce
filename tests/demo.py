"""The README's demo: the plugin on the simulated cluster, typed as an operator types it.

With the Go DC/OS CLI 1.2.0 at hand (../shared/dcos-cli, or the folder named by
DCOS_NODE_SSH_GO_CLI_DIR): `dcos cluster setup` (which installs the core plugin from the
cluster's package service, the real one when its binary is there too), `dcos plugin add`
of the archive that cli/build.py makes, then `dcos nodes` and real hops with `dcos nodes
ssh` and `dcos node ssh`. Without it, the same hops with the standalone `dcos-node` that
`pip install .` gives.

Run (as root): scripts/demo
"""

import os
import re
import shlex
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import clusterapi  # noqa: E402
import realcli  # noqa: E402
import simcluster  # noqa: E402
from realcli import CLUSTER_ID, GO_CLI_DIR  # noqa: E402

REMOTE = ["echo landed on $(hostname) as $(whoami), connection: $SSH_CONNECTION"]


def show(cluster, env, argv, shown=None):
    """Print the command as typed, then what it printed; return its exit status."""
    print("$ " + " ".join(shlex.quote(word) for word in (shown or argv)), flush=True)
    result = cluster.run(argv, env)
    printed = result.stderr.decode(errors="replace") + result.stdout.decode(errors="replace")
    # The CLI's download progress bar moves the cursor: keep its lines, not its moves.
    sys.stdout.write(re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", printed))
    print(f"(exit status {result.returncode})\n", flush=True)
    return result.returncode


def demo_dcos_cli(cluster, scratch, packed_cli):
    print(f"The DC/OS CLI 1.2.0 ({packed_cli}), with HOME and PATH of its own.\n", flush=True)
    bin_dir = os.path.join(scratch, "bin")
    realcli.unpack_xz(packed_cli, os.path.join(bin_dir, "dcos"))
    out = os.path.join(scratch, "dist")
    archive = realcli.build(out, f"{cluster.dcos_url}/artifacts")
    packages, files = {}, {}
    packed_core = os.path.join(GO_CLI_DIR, "dcos-core-cli-2.2-patch.0.xz")
    core = os.path.join(scratch, "core")
    if os.path.exists(packed_core):
        binary = realcli.unpack_xz(packed_core, os.path.join(core, "dcos"))
        core_archive = realcli.core_plugin_archive(binary, os.path.join(core, "dcos-core-cli.zip"))
        url = f"{cluster.dcos_url}/core/dcos-core-cli.zip"
        packages["dcos-core-cli"] = clusterapi.plugin_package("dcos-core-cli", "2.2-patch.0", core_archive, url)
        files["/core/dcos-core-cli.zip"] = core_archive
    scenario = cluster.default_scenario(
        version={"version": "2.2.0", "dcos-variant": "open", "dcos-image-commit": "0" * 40, "bootstrap-id": "0" * 40},
        packages=packages, files=files)
    scenario["metadata"]["CLUSTER_ID"] = CLUSTER_ID
    cluster.write_scenario(scenario)
    env = cluster.client_env(os.path.join(scratch, "home"), PATH=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
                             # The core plugin's public download site is out of reach: the CLI asks the
                             # cluster's package service for it instead.
                             DCOS_CLUSTER_SETUP_SKIP_CANONICAL_URL_INSTALL="1")
    os.makedirs(env["HOME"])
    shown_archive = os.path.join("dist", os.path.basename(archive))
    steps = [
        (["dcos", "cluster", "setup", cluster.dcos_url], None),
        (["dcos", "plugin", "add", archive], ["dcos", "plugin", "add", shown_archive]),
        (["dcos", "plugin", "list"], None),
        (["dcos", "nodes"], None),
        (["dcos", "nodes", "ssh", "--master-proxy", "--leader", "--"] + REMOTE, None),
        (["dcos", "node", "ssh", "--master-proxy", f"--mesos-id={simcluster.AGENTS[1][2]}", "--"] + REMOTE, None),
    ]
    status = 0
    for argv, shown in steps:
        status = show(cluster, env, argv, shown) or status
    return status


def demo_standalone(cluster, scratch):
    dcos_node = shutil.which("dcos-node", path=os.path.dirname(sys.executable)) or shutil.which("dcos-node")
    if dcos_node is None:
        print("dcos-node is not installed in this Python environment (pip install .).", file=sys.stderr)
        return 2
    print(f"No DC/OS CLI at {GO_CLI_DIR}: the standalone dcos-node (pip install .), configured by "
          "~/.dcos/dcos.toml.\n", flush=True)
    home = os.path.join(scratch, "home")
    config = os.path.join(home, ".dcos", "dcos.toml")
    os.makedirs(os.path.dirname(config))
    with open(config, "w", encoding="utf-8") as stream:
        stream.write(f'[core]\ndcos_url = "{cluster.dcos_url}"\n')
    os.chmod(config, 0o600)
    env = cluster.client_env(home)
    status = 0
    for args in (["node"], ["node", "ssh", "--master-proxy", "--leader", "--"] + REMOTE,
                 ["node", "ssh", "--master-proxy", "--slave=S1", "--"] + REMOTE,
                 ["node", "ssh", "--master-proxy", "--jump", "--slave=dcos-agent-1", "--"] + REMOTE):
        status = show(cluster, env, [dcos_node] + args[1:], ["dcos-node"] + args[1:]) or status
    return status


def main():
    reason = simcluster.unavailable_reason()
    if reason:
        print(f"Cannot build the simulated cluster: {reason}.", file=sys.stderr)
        return 2
    packed_cli = os.path.join(GO_CLI_DIR, "dcos-1.2.0.xz")
    cluster = simcluster.SimCluster().start()
    scratch = tempfile.mkdtemp(prefix="dcos-node-ssh-demo-")
    try:
        print(f"Simulated cluster: master {simcluster.MASTER_PUBLIC} (public) / {simcluster.MASTER_PRIVATE} "
              "(private); agents " + ", ".join(f"{name} {address}" for name, address, _ in simcluster.AGENTS)
              + f", not reachable from this host. Cluster API at {cluster.dcos_url}.", flush=True)
        if os.path.exists(packed_cli):
            return demo_dcos_cli(cluster, scratch, packed_cli)
        return demo_standalone(cluster, scratch)
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
