"""Build what pip and every DC/OS CLI generation install, from the source tree.

    python cli/build.py [--base-url URL] [--out dist]

It writes to --out (dist/), <v> being dcos_node_ssh.__version__:

* dcos_node_ssh-<v>-py3-none-any.whl: the pip distribution dcos-node-ssh with its
  console script dcos-node, for `pip install` without the DC/OS CLI;
* dcos_cluster_nodes-<v>-py3-none-any.whl: the same code as the distribution
  dcos-cluster-nodes, whose only console script is dcos-nodes. The CLI 0.3 to 0.4.4
  pip-install the wheel that command.json names into the package's virtualenv, and
  there an executable named dcos-node breaks every `dcos node` (0.3 to 0.4.2) or is
  never run (0.4.3 to 0.6): these CLIs reach the plugin as `dcos nodes`;
* dcos-cluster-nodes-<v>-plugin-posix.zip: plugin.toml and bin/dcos-nodes, a Python
  zip application (#!/usr/bin/env python3) that carries docopt-ng, tomli and
  ClusterShell, so it runs on any Python 3.9 or later with nothing installed. For
  Linux and macOS: the Go CLI 0.7 to 1.x (`dcos plugin add`, or resource.json) and
  the CLI 0.4.5 to 0.6 (resource.json) unzip it into the package's env/;
* dcos-cluster-nodes-<v>-plugin-windows.zip: plugin.toml and Scripts/dcos-nodes.exe,
  the console launcher of pip's own console scripts (distlib's t64.exe) followed by
  the line `#!/usr/bin/env py -3` and the same zip application: the launcher starts
  `py -3 <itself> <arguments>`, the Python launcher that the python.org installer
  puts on PATH picks the newest Python 3, and Python runs the zip at the end of the
  file. Scripts/ and .exe are where the CLI 0.x look on Windows;
* package/{package,resource,command,config}.json: the templates in cli/package/
  without their // comment lines, with the version, the artifacts' URLs (under
  --base-url, where they will be served) and the archives' sha256 filled in.

The archives and package/ come from one build: the sha256 values in resource.json
are those of the archives written beside it, so publish them together.

Two builds of one commit are byte-identical (given the same --base-url and zlib):
every zip entry is stamped SOURCE_DATE_EPOCH (else the last commit's time, else
2026-01-01), entries are sorted, modes fixed (0644, executables 0755), and no build
path is written into any file. The wheels come from a copy of the source tree,
built by the setuptools of cli/build-constraints.txt and then rewritten the same
way; the bundled wheels and the launcher are the exact files of cli/pinned.txt.

It needs pip 25.3 or later and the package index (or its cache).
"""

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from configparser import ConfigParser
from typing import Dict, Iterable, List, NamedTuple, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The DC/OS package and the plugin (plugin.toml's name). The Go CLI keeps each plugin in
# subcommands/<name>/ and registers their commands in folder-name order, the first of a
# name winning: "dcos-cluster-nodes" sorts before the core plugin's "dcos-core-cli", so
# our `node` command answers `dcos node`.
PACKAGE = "dcos-cluster-nodes"
PIP_DISTRIBUTION = "dcos-node-ssh"  # setup.py's name; its console script is dcos-node
EXECUTABLE = "dcos-nodes"  # never dcos-node in anything a DC/OS CLI installs
PINNED = os.path.join(HERE, "pinned.txt")
BUILD_CONSTRAINTS = os.path.join(HERE, "build-constraints.txt")
LAUNCHER_DISTRIBUTION = "distlib"  # in PINNED, for its launcher; not carried in the app
LAUNCHER = "distlib/t64.exe"  # 64-bit, console (a terminal program, its streams inherited)
POSIX_INTERPRETER = "/usr/bin/env python3"
# distlib's launcher looks `py` up on PATH (and in the Windows folder, where the
# python.org installer puts py.exe for all users); `python` would too often be the
# Microsoft Store's stand-in, which only offers to install Python.
WINDOWS_INTERPRETER = "/usr/bin/env py -3"
FALLBACK_EPOCH = 1767225600  # 2026-01-01T00:00:00Z, when neither SOURCE_DATE_EPOCH nor git says
ZIP_EARLIEST = 315532800  # 1980-01-01T00:00:00Z: a zip cannot say earlier
# The zip application's entry point: the app's run(), after a check of the Python running it.
with open(os.path.join(HERE, "zipapp_main.py"), "rb") as _stream:
    MAIN_PY = _stream.read()


class Entry(NamedTuple):
    name: str
    data: bytes
    mode: int = 0o644


def version() -> str:
    with open(os.path.join(ROOT, "dcos_node_ssh", "__init__.py"), encoding="utf-8") as stream:
        return next(line.split('"')[1] for line in stream if line.startswith("__version__"))


def source_date_epoch(environ=os.environ) -> int:
    """The time stamped on every zip entry."""
    given = environ.get("SOURCE_DATE_EPOCH", "")
    if given:
        if not given.isdigit():
            sys.exit(f"build.py: SOURCE_DATE_EPOCH must be a number of seconds, not {given!r}.")
        return int(given)
    try:
        result = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%ct"], capture_output=True, text=True,
                                check=True)
        return int(result.stdout.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        return FALLBACK_EPOCH


def filename_part(name: str) -> str:
    """A distribution name as wheel and .dist-info names spell it (dcos-node-ssh -> dcos_node_ssh)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def archive_order(entry: Entry):
    """Sorted by name, each wheel's .dist-info last and RECORD at the very end, as installers expect."""
    top = entry.name.split("/", 1)[0]
    return (top.endswith(".dist-info"), entry.name.endswith(".dist-info/RECORD"), entry.name)


def zip_bytes(entries: Iterable[Entry], epoch: int, prefix: bytes = b"") -> bytes:
    """A zip of the entries after prefix, the same bytes for the same input. Its offsets
    count from the start of prefix (as zipapp writes them), which Python's zipimport and
    distlib's launcher both read."""
    buffer = io.BytesIO()
    buffer.write(prefix)
    date_time = time.gmtime(max(epoch, ZIP_EARLIEST))[:6]
    names = set()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in sorted(entries, key=archive_order):
            if entry.name in names:
                raise SystemExit(f"build.py: two files named {entry.name} in one archive")
            names.add(entry.name)
            info = zipfile.ZipInfo(entry.name, date_time)
            info.create_system = 3  # Unix: unzip and the Go CLI then apply the mode below
            info.external_attr = (stat.S_IFREG | entry.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data, compresslevel=9)
    return buffer.getvalue()


def read_zip(path: str) -> List[Entry]:
    with zipfile.ZipFile(path) as archive:
        return [Entry(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]


def write(path: str, data: bytes) -> str:
    with open(path, "wb") as stream:
        stream.write(data)
    return path


def pip(*args: str, env: Optional[Dict[str, str]] = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True, env=env)


def source_files() -> List[str]:
    """The files of the source tree a checkout would have (tracked or new, not ignored):
    stale build/ or egg-info folders never reach the wheel."""
    try:
        listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=True).stdout.decode("utf-8")
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but build output
        skipped = {".git", ".venv", ".tox", "build", "dist", "__pycache__"}
        names = []
        for folder, folders, files in os.walk(ROOT):
            folders[:] = [name for name in folders if name not in skipped and not name.endswith(".egg-info")]
            names += [os.path.relpath(os.path.join(folder, name), ROOT) for name in files]
    return sorted(name for name in names if os.path.isfile(os.path.join(ROOT, name)))


def build_pip_wheel(scratch: str, epoch: int) -> List[Entry]:
    """setup.py's wheel (dcos-node-ssh, console script dcos-node), built from a copy of the tree."""
    source = os.path.join(scratch, "source")
    for name in source_files():
        target = os.path.join(source, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, name), target)
    built = os.path.join(scratch, "built")
    pip("wheel", "--no-deps", "--build-constraint", BUILD_CONSTRAINTS, "-w", built, source,
        env=dict(os.environ, SOURCE_DATE_EPOCH=str(epoch)))
    wheels = os.listdir(built)
    expected = f"{filename_part(PIP_DISTRIBUTION)}-{version()}-py3-none-any.whl"
    if wheels != [expected]:
        raise SystemExit(f"build.py: pip wheel made {wheels}, not {expected}")
    return read_zip(os.path.join(built, expected))


def record(entries: Iterable[Entry], record_name: str) -> bytes:
    """A wheel's RECORD: each file's path, sha256 and size, then RECORD itself without them."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for entry in sorted(entries, key=archive_order):
        digest = base64.urlsafe_b64encode(hashlib.sha256(entry.data).digest()).rstrip(b"=").decode("ascii")
        writer.writerow([entry.name, f"sha256={digest}", len(entry.data)])
    writer.writerow([record_name, "", ""])
    return text.getvalue().encode("utf-8")


def nodes_only_wheel(pip_wheel: List[Entry]) -> List[Entry]:
    """The pip wheel renamed dcos-cluster-nodes, with dcos-nodes as its only console script
    (running what dcos-node runs), for the CLI 0.x that pip-install command.json."""
    old = f"{filename_part(PIP_DISTRIBUTION)}-{version()}.dist-info/"
    new = f"{filename_part(PACKAGE)}-{version()}.dist-info/"
    entries = []
    for entry in pip_wheel:
        if not entry.name.startswith(old):
            entries.append(entry)
            continue
        base, data = entry.name[len(old):], entry.data
        if base == "RECORD":
            continue
        if base == "METADATA":
            head, blank, body = data.partition(b"\n\n")
            lines = head.split(b"\n")
            names = [i for i, line in enumerate(lines) if line.startswith(b"Name: ")]
            if len(names) != 1:
                raise SystemExit("build.py: the wheel's METADATA has no single Name header")
            lines[names[0]] = f"Name: {PACKAGE}".encode("ascii")
            data = b"\n".join(lines) + blank + body
        if base == "entry_points.txt":
            points = ConfigParser(delimiters=("=",))
            points.read_string(data.decode("utf-8"))
            target = points.get("console_scripts", "dcos-node", fallback=None)
            if target is None:
                raise SystemExit("build.py: setup.py no longer declares the console script dcos-node")
            data = f"[console_scripts]\n{EXECUTABLE} = {target.strip()}\n".encode("utf-8")
        entries.append(Entry(new + base, data))
    return entries + [Entry(new + "RECORD", record(entries, new + "RECORD"))]


def download_pinned(scratch: str) -> Dict[str, str]:
    """cli/pinned.txt's wheels, checked against their hashes: {normalised name: path}."""
    folder = os.path.join(scratch, "pinned")
    pip("download", "--no-deps", "--require-hashes", "--only-binary=:all:", "--implementation", "py",
        "--python-version", "3.9", "--platform", "any", "-d", folder, "-r", PINNED)
    return {filename_part(name.split("-", 1)[0]): os.path.join(folder, name) for name in sorted(os.listdir(folder))}


def application_entries(pip_wheel: List[Entry], pinned: Dict[str, str]) -> List[Entry]:
    """The zip application's files: the package, the bundled wheels as installed (licences
    and metadata in their .dist-info), and __main__.py."""
    entries = list(pip_wheel)
    for name, path in pinned.items():
        if name != LAUNCHER_DISTRIBUTION:
            # .data holds scripts and files installed elsewhere (ClusterShell's clush and its /etc)
            entries += [entry for entry in read_zip(path) if not entry.name.split("/", 1)[0].endswith(".data")]
    return entries + [Entry("__main__.py", MAIN_PY)]


def shebang(interpreter: str) -> bytes:
    return b"#!" + interpreter.encode("utf-8") + b"\n"


def plugin_toml(executable: str) -> bytes:
    with open(os.path.join(HERE, "plugin.toml"), encoding="utf-8") as stream:
        return stream.read().replace("{{executable}}", executable).encode("utf-8")


def build_archives(out: str, application: List[Entry], launcher_wheel: str, epoch: int) -> Dict[str, str]:
    """The plugin archives: what the CLI unzips into the package's env/ folder."""
    posix_path = "bin/" + EXECUTABLE
    posix = [Entry("plugin.toml", plugin_toml(posix_path)),
             Entry(posix_path, zip_bytes(application, epoch, shebang(POSIX_INTERPRETER)), 0o755)]
    with zipfile.ZipFile(launcher_wheel) as wheel:
        launcher = wheel.read(LAUNCHER)
    windows_path = f"Scripts/{EXECUTABLE}.exe"
    windows = [Entry("plugin.toml", plugin_toml(windows_path)),
               Entry(windows_path, launcher + zip_bytes(application, epoch, shebang(WINDOWS_INTERPRETER)), 0o755)]
    return {
        "posix": write(os.path.join(out, f"{PACKAGE}-{version()}-plugin-posix.zip"), zip_bytes(posix, epoch)),
        "windows": write(os.path.join(out, f"{PACKAGE}-{version()}-plugin-windows.zip"), zip_bytes(windows, epoch)),
    }


def sha256(path: str) -> str:
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def fill_package(out: str, base_url: str, nodes_wheel: str, archives: Dict[str, str]) -> str:
    values = {
        "version": version(),
        "nodes-wheel-url": f"{base_url}/{os.path.basename(nodes_wheel)}",
    }
    for platform, path in archives.items():
        values[f"{platform}-archive-url"] = f"{base_url}/{os.path.basename(path)}"
        values[f"{platform}-archive-sha256"] = sha256(path)
    folder = os.path.join(out, "package")
    os.makedirs(folder, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(HERE, "package"))):
        with open(os.path.join(HERE, "package", name), encoding="utf-8") as stream:
            text = "".join(line for line in stream if not line.lstrip().startswith("//"))
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        if "{{" in text:
            raise SystemExit(f"build.py: cli/package/{name} has a {{{{...}}}} that build.py does not fill in")
        json.loads(text)  # still JSON
        write(os.path.join(folder, name), text.encode("utf-8"))
    return folder


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"), help="where to put the artifacts (dist)")
    parser.add_argument("--base-url", help="the URL the artifacts will be served from (default: file:// of --out)")
    options = parser.parse_args(argv)
    out = os.path.abspath(options.out)
    os.makedirs(out, exist_ok=True)
    base_url = (options.base_url or pathlib.Path(out).as_uri()).rstrip("/")
    epoch = source_date_epoch()
    with tempfile.TemporaryDirectory(prefix="dcos-node-ssh-build-") as scratch:
        pip_wheel = build_pip_wheel(scratch, epoch)
        pinned = download_pinned(scratch)
        archives = build_archives(out, application_entries(pip_wheel, pinned), pinned[LAUNCHER_DISTRIBUTION], epoch)
    wheel = write(os.path.join(out, f"{filename_part(PIP_DISTRIBUTION)}-{version()}-py3-none-any.whl"),
                  zip_bytes(pip_wheel, epoch))
    nodes_wheel = write(os.path.join(out, f"{filename_part(PACKAGE)}-{version()}-py3-none-any.whl"),
                        zip_bytes(nodes_only_wheel(pip_wheel), epoch))
    package = fill_package(out, base_url, nodes_wheel, archives)
    for path in (wheel, nodes_wheel, archives["posix"], archives["windows"], package):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
