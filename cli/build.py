"""Build what the DC/OS CLI installs: the wheel, the plugin archive and the package files.

    python cli/build.py [--base-url URL] [--out dist]

* dist/dcos_node_ssh-<version>-py3-none-any.whl: for `pip install` and for the
  CLI 0.x, which pip-installs what the package's command.json lists;
* dist/dcos-node-ssh-<version>-plugin.zip: for the CLI 1.x (`dcos plugin add`, or
  resource.json's cli.binaries). It holds plugin.toml and bin/dcos-node, a Python
  zip application that carries its dependencies, so it runs on any Python 3.9 or
  later without installing anything;
* dist/package/{package,resource,command,config}.json: cli/package/ filled with
  the version, the artifacts' URLs (under --base-url, where they will be served)
  and the archive's SHA-256, as a DC/OS package repository serves them.

It needs pip and the package index (for docopt-ng, tomli and ClusterShell as pure
wheels; ClusterShell's PyYAML is left out: NodeSet needs it only for group files).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipapp
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NAME = "dcos-node-ssh"
# Pure-Python wheels of the dependencies, whatever the interpreter that runs the zipapp.
DEPENDENCIES = ["docopt-ng>=0.9", "tomli>=1.1", "ClusterShell>=1.9"]


def version():
    with open(os.path.join(ROOT, "dcos_node_ssh", "__init__.py"), encoding="utf-8") as stream:
        return next(line.split('"')[1] for line in stream if line.startswith("__version__"))


def pip(*args):
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"] + list(args), check=True)


def build_wheel(out):
    pip("wheel", "--no-deps", "-w", out, ROOT)
    wheels = [name for name in os.listdir(out) if name.startswith("dcos_node_ssh-" + version()) and
              name.endswith(".whl")]
    return os.path.join(out, wheels[0])


def build_zipapp(wheel, target, scratch):
    """bin/dcos-node: the package and its dependencies in one executable zip."""
    wheels = os.path.join(scratch, "wheels")
    pip("download", "--no-deps", "--only-binary=:all:", "--implementation", "py", "--python-version", "3.9",
        "--platform", "any", "-d", wheels, *DEPENDENCIES)
    source = os.path.join(scratch, "app")
    for name in sorted(os.listdir(wheels)) + [wheel]:
        with zipfile.ZipFile(os.path.join(wheels, name)) as archive:
            archive.extractall(source)
    for name in os.listdir(source):
        if name.endswith((".dist-info", ".data")):  # metadata, and ClusterShell's scripts and config
            shutil.rmtree(os.path.join(source, name))
    zipapp.create_archive(source, target, interpreter="/usr/bin/env python3", main="dcos_node_ssh.app:run")
    os.chmod(target, 0o755)


def build_archive(zipapp_path, out):
    """The plugin archive: what the CLI 1.x unpacks into subcommands/<name>/env/."""
    path = os.path.join(out, f"{NAME}-{version()}-plugin.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(os.path.join(HERE, "plugin.toml"), "plugin.toml")
        entry = zipfile.ZipInfo("bin/dcos-node", date_time=(2026, 1, 1, 0, 0, 0))
        entry.external_attr = (0o100755 << 16)  # a regular file, executable
        entry.compress_type = zipfile.ZIP_DEFLATED
        with open(zipapp_path, "rb") as stream:
            archive.writestr(entry, stream.read())
    return path


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def fill_package(out, base_url, wheel, archive):
    values = {
        "version": version(),
        "wheel-url": f"{base_url}/{os.path.basename(wheel)}",
        "archive-url": f"{base_url}/{os.path.basename(archive)}",
        "archive-sha256": sha256(archive),
    }
    folder = os.path.join(out, "package")
    os.makedirs(folder, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(HERE, "package"))):
        with open(os.path.join(HERE, "package", name), encoding="utf-8") as stream:
            text = stream.read()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        json.loads(text)  # still JSON
        with open(os.path.join(folder, name), "w", encoding="utf-8") as stream:
            stream.write(text)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"), help="where to put the artifacts (dist)")
    parser.add_argument("--base-url", help="the URL the artifacts will be served from (default: file:// of --out)")
    options = parser.parse_args(argv)
    out = os.path.abspath(options.out)
    os.makedirs(out, exist_ok=True)
    base_url = (options.base_url or "file://" + out).rstrip("/")
    with tempfile.TemporaryDirectory(prefix="dcos-node-ssh-build-") as scratch:
        wheel = build_wheel(out)
        zipapp_path = os.path.join(scratch, "dcos-node")
        build_zipapp(wheel, zipapp_path, scratch)
        archive = build_archive(zipapp_path, out)
    package = fill_package(out, base_url, wheel, archive)
    for path in (wheel, archive, package):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
