"""The real DC/OS CLIs and the built plugin, for the tests and the demo.

* the Go CLI's binaries and DC/OS's core plugin, xz-packed in ../shared/dcos-cli (or the
  folder named by DCOS_NODE_SSH_GO_CLI_DIR), unpacked where asked;
* cli/build.py's artifacts, built with the wheels that scripts/prepare keeps in
  .cache/wheelhouse when it is there (so that builds run without the package index).
"""

import lzma
import os
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The Go CLI's binaries (their README.md says how they were built).
GO_CLI_DIR = os.path.normpath(os.environ.get("DCOS_NODE_SSH_GO_CLI_DIR")
                              or os.path.join(ROOT, "..", "shared", "dcos-cli"))
# Filled by scripts/prepare with the wheels cli/build.py downloads and the package's
# dependencies.
WHEELHOUSE = os.path.join(ROOT, ".cache", "wheelhouse")
# Real clusters have a UUID (the fixtures' 2015 ARN holds slashes, which 0.6.1's
# `dcos cluster setup` turns into nested folders).
CLUSTER_ID = "5b4e2c1a-6f1d-4c8e-9a7b-2d3e4f5a6b7c"
# The commands of the core plugin's plugin.toml (dcos-core-cli 2.2), each run by bin/dcos.
CORE_COMMANDS = [("calico", "Manage Calico in DC/OS"), ("job", "Deploy and manage jobs in DC/OS"),
                 ("marathon", "Deploy and manage applications to DC/OS"), ("node", "View DC/OS node information"),
                 ("package", "Install and manage DC/OS software packages"), ("quota", "Manage DC/OS quotas"),
                 ("service", "Manage DC/OS services"), ("task", "Manage DC/OS tasks"),
                 ("diagnostics", "Create and manage DC/OS diagnostics bundles")]


def unpack_xz(packed, path, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with lzma.open(packed) as source, open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    os.chmod(path, mode)
    return path


def core_plugin_archive(binary, archive):
    """The real core plugin as a plugin archive: plugin.toml and bin/dcos."""
    toml = 'schema_version = 1\nname = "dcos-core-cli"\n' + "".join(
        f'\n[[commands]]\nname = "{name}"\npath = "bin/dcos"\ndescription = "{text}"\n'
        for name, text in CORE_COMMANDS)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as plugin:
        plugin.writestr("plugin.toml", toml)
        entry = zipfile.ZipInfo("bin/dcos", date_time=(2026, 1, 1, 0, 0, 0))
        entry.external_attr = 0o100755 << 16
        entry.compress_type = zipfile.ZIP_DEFLATED
        with open(binary, "rb") as stream:
            plugin.writestr(entry, stream.read())
    return archive


def offline_pip_env():
    """This environment, with pip taking wheels from the wheelhouse only, when it is there."""
    env = dict(os.environ)
    if os.path.isdir(WHEELHOUSE):
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=WHEELHOUSE)
    return env


def build(out, base_url):
    """cli/build.py's artifacts in out, their URLs under base_url; the POSIX plugin archive."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "cli", "build.py"), "--out", out,
                             "--base-url", base_url], capture_output=True, text=True, env=offline_pip_env(),
                            timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"cli/build.py failed: {result.stderr[-3000:]}")
    [archive] = [name for name in os.listdir(out) if name.endswith("-plugin-posix.zip")]
    return os.path.join(out, archive)
