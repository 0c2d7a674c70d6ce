"""What cli/build.py makes, checked the way pip, each DC/OS CLI generation and distlib's
Windows launcher read it. Real builds (about 5 s each), made once for the module."""

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import time
import zipfile

import pytest

from realcli import offline_pip_env

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "cli", "build.py")
EPOCH = 1700000000  # 2023-11-14T22:13:20Z
BASE_URL = "https://downloads.example.com/dcos-cluster-nodes"
SCRATCH_PREFIX = "dcos-node-ssh-build-"  # build.py's temporary folder


def version():
    with open(os.path.join(ROOT, "dcos_node_ssh", "__init__.py"), encoding="utf-8") as stream:
        return re.search(r'__version__ = "([^"]+)"', stream.read()).group(1)


V = version()
PIP_WHEEL = f"dcos_node_ssh-{V}-py3-none-any.whl"
NODES_WHEEL = f"dcos_cluster_nodes-{V}-py3-none-any.whl"
POSIX_ARCHIVE = f"dcos-cluster-nodes-{V}-plugin-posix.zip"
WINDOWS_ARCHIVE = f"dcos-cluster-nodes-{V}-plugin-windows.zip"
ARTIFACTS = [PIP_WHEEL, NODES_WHEEL, POSIX_ARCHIVE, WINDOWS_ARCHIVE]


def build(out, cwd, epoch=EPOCH, base_url=BASE_URL):
    env = offline_pip_env()  # the pinned wheels from scripts/prepare's wheelhouse, when it is there
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    result = subprocess.run([sys.executable, BUILD, "--out", str(out), "--base-url", base_url], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    return build(tmp_path_factory.mktemp("first") / "dist", cwd=ROOT)


@pytest.fixture(scope="module")
def second_dist(tmp_path_factory):
    """Another build of the same tree, elsewhere and from another working directory."""
    elsewhere = tmp_path_factory.mktemp("second")
    return build(elsewhere / "out", cwd=elsewhere)


def files_under(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as stream:
                found[os.path.relpath(path, root)] = stream.read()
    return found


def zip_stamp(epoch):
    """What a zip entry's date_time reads back as: UTC, in two-second steps."""
    stamp = time.gmtime(epoch)
    return tuple(stamp[:5]) + (stamp.tm_sec - stamp.tm_sec % 2,)


def every_zip_entry(data, name="", depth=0):
    """(path, ZipInfo, bytes) of each entry, looking inside zips within zips."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            content = archive.read(info)
            yield f"{name}!{info.filename}", info, content
            if depth < 3 and (info.filename.endswith((".zip", ".whl", ".exe")) or info.filename.startswith("bin/")):
                yield from every_zip_entry(content, f"{name}!{info.filename}", depth + 1)


def member(dist, archive, name):
    with zipfile.ZipFile(dist / archive) as opened:
        return opened.read(name)


def package_file(dist, name):
    with open(dist / "package" / name, encoding="utf-8") as stream:
        return json.load(stream)


# Reproducible


def test_two_builds_of_one_tree_are_identical_byte_for_byte(dist, second_dist):
    first, second = files_under(dist), files_under(second_dist)
    assert sorted(first) == sorted(ARTIFACTS + [f"package/{name}" for name in
                                                ("command.json", "config.json", "package.json", "resource.json")])
    assert first == second


def test_every_zip_entry_is_stamped_source_date_epoch_with_a_fixed_mode_and_no_build_path(dist):
    for artifact in ARTIFACTS:
        entries = list(every_zip_entry((dist / artifact).read_bytes(), artifact))
        assert len(entries) > 1
        for path, info, content in entries:
            assert info.date_time == zip_stamp(EPOCH), path
            assert info.create_system == 3 and info.external_attr >> 16 in (0o100644, 0o100755), path
            for build_path in (str(dist), SCRATCH_PREFIX, ROOT):
                assert build_path.encode() not in content, (path, build_path)
        names = [path.rsplit("!", 1)[1] for path, _, _ in entries if path.count("!") == 1]
        assert names == sorted(names, key=lambda name: (name.split("/")[0].endswith(".dist-info"),
                                                        name.endswith("/RECORD"), name)), artifact


def test_without_source_date_epoch_the_stamp_is_the_last_commits_time(tmp_path):
    commit = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%ct"], capture_output=True, text=True)
    if commit.returncode != 0:
        pytest.skip("not a git checkout: the build falls back to a fixed date")
    out = build(tmp_path / "dist", cwd=tmp_path, epoch=None)
    with zipfile.ZipFile(out / POSIX_ARCHIVE) as archive:
        assert {info.date_time for info in archive.infolist()} == {zip_stamp(int(commit.stdout))}


def test_a_source_date_epoch_that_is_no_number_is_refused_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, BUILD, "--out", str(tmp_path)], capture_output=True, text=True,
                            env=dict(os.environ, SOURCE_DATE_EPOCH="yesterday"), timeout=60)
    assert result.returncode != 0
    assert result.stderr == "build.py: SOURCE_DATE_EPOCH must be a number of seconds, not 'yesterday'.\n"
    assert os.listdir(tmp_path) == []


def test_the_bundled_versions_satisfy_setup_pys_requirements(dist):
    from packaging.requirements import Requirement

    with open(os.path.join(ROOT, "cli", "pinned.txt"), encoding="utf-8") as stream:
        pinned = dict(re.match(r"([\w.-]+)==(\S+)", line).groups() for line in stream if re.match(r"\w", line))
    pinned = {re.sub(r"[-_.]+", "-", name).lower(): found for name, found in pinned.items()}
    metadata = member(dist, PIP_WHEEL, f"dcos_node_ssh-{V}.dist-info/METADATA").decode()
    requirements = [Requirement(line.split(": ", 1)[1]) for line in metadata.splitlines()
                    if line.startswith("Requires-Dist: ")]
    assert requirements
    for requirement in requirements:
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if requirement.marker is None or requirement.marker.evaluate({"python_version": "3.9"}):
            assert name in pinned and requirement.specifier.contains(pinned[name]), requirement


# The package files


def test_each_platform_in_resource_json_gets_its_own_archive_and_its_sha256(dist):
    binaries = package_file(dist, "resource.json")["cli"]["binaries"]
    assert sorted(binaries) == ["darwin", "linux", "windows"]
    for platform, archive in (("linux", POSIX_ARCHIVE), ("darwin", POSIX_ARCHIVE), ("windows", WINDOWS_ARCHIVE)):
        assert binaries[platform] == {"x86-64": {
            "kind": "zip",
            "url": f"{BASE_URL}/{archive}",
            "contentHash": [{"algo": "sha256", "value": hashlib.sha256((dist / archive).read_bytes()).hexdigest()}],
        }}


def test_package_and_command_json_name_the_package_and_the_dcos_nodes_wheel(dist):
    package = package_file(dist, "package.json")
    assert (package["name"], package["version"], package["packagingVersion"]) == ("dcos-cluster-nodes", V, "3.0")
    assert package_file(dist, "command.json") == {"pip": [f"{BASE_URL}/{NODES_WHEEL}"]}
    assert package_file(dist, "config.json")["type"] == "object"


# The plugin archives


def plugin_toml(dist, archive):
    return tomllib.loads(member(dist, archive, "plugin.toml").decode("utf-8"))


@pytest.mark.parametrize("archive, executable", [(POSIX_ARCHIVE, "bin/dcos-nodes"),
                                                 (WINDOWS_ARCHIVE, "Scripts/dcos-nodes.exe")])
def test_plugin_toml_runs_the_archives_executable_for_nodes_and_node(dist, archive, executable):
    plugin = plugin_toml(dist, archive)
    assert plugin["schema_version"] == 1
    # The Go CLI registers plugins in folder-name order, first of a name winning.
    assert plugin["name"] == "dcos-cluster-nodes" and sorted([plugin["name"], "dcos-core-cli"])[0] == plugin["name"]
    assert [command["name"] for command in plugin["commands"]] == ["nodes", "node"]
    assert {command["path"] for command in plugin["commands"]} == {executable}
    assert all(command["description"] for command in plugin["commands"])
    with zipfile.ZipFile(dist / archive) as opened:
        assert sorted(opened.namelist()) == sorted(["plugin.toml", executable])
        assert opened.getinfo(executable).external_attr >> 16 == 0o100755
        assert opened.getinfo("plugin.toml").external_attr >> 16 == 0o100644


def unpack_like_the_go_cli(archive, env_dir):
    """fsutil.Unzip: every entry under env/, with the mode the zip records."""
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            path = opened.extract(info, env_dir)
            os.chmod(path, info.external_attr >> 16 & 0o777)


def test_the_posix_executable_is_a_python3_zip_application_that_runs(dist, tmp_path):
    unpack_like_the_go_cli(dist / POSIX_ARCHIVE, tmp_path / "env")
    executable = tmp_path / "env" / "bin" / "dcos-nodes"
    assert executable.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    # As the CLI starts it (through its #! line, with its noun first), and as `python3 bin/dcos-nodes`.
    for command in ([str(executable), "nodes", "--version"], [sys.executable, str(executable), "node", "--version"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stdout, result.stderr) == (0, f"dcos-node-ssh version {V}\n", ""), command


def test_the_zip_application_carries_its_dependencies_and_not_their_scripts(dist):
    application = zipfile.ZipFile(io.BytesIO(member(dist, POSIX_ARCHIVE, "bin/dcos-nodes")))
    names = application.namelist()
    for module in ("__main__.py", "dcos_node_ssh/app.py", "docopt/__init__.py", "tomli/__init__.py",
                   "ClusterShell/NodeSet.py"):
        assert module in names
    assert not [name for name in names if ".data/" in name or name.startswith("yaml/")]
    with open(os.path.join(ROOT, "dcos_node_ssh", "app.py"), "rb") as stream:
        assert application.read("dcos_node_ssh/app.py") == stream.read()


def pe_header(data):
    """(signature, machine, optional header magic, subsystem) of a PE file."""
    assert data[:2] == b"MZ"
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    machine = struct.unpack_from("<H", data, pe + 4)[0]
    magic, subsystem = struct.unpack_from("<H", data, pe + 24)[0], struct.unpack_from("<H", data, pe + 24 + 68)[0]
    return data[pe:pe + 4], machine, magic, subsystem


def appended_like_the_launcher(data):
    """What distlib's launcher (PC/launcher.c, find_shebang) finds at the end of itself:
    the last end-of-central-directory record within the last MAX_PATH bytes, the archive's
    start (record - directory size - directory offset) holding the #! line, then the zip."""
    tail_start = len(data) - 260
    record = data.rindex(b"PK\x05\x06", tail_start)
    directory_size, directory_offset = struct.unpack_from("<II", data, record + 12)
    start = record - directory_size - directory_offset
    assert data[start:start + 2] == b"#!", "the launcher would look back for the #! line and fail"
    line_end = min(index for index in (data.find(b"\n", start), data.find(b"\r", start)) if index >= 0)
    assert line_end - start < 260
    return start, data[start:line_end].decode("utf-8"), data[start:]


def test_the_windows_executable_is_the_64_bit_console_launcher(dist):
    data = member(dist, WINDOWS_ARCHIVE, "Scripts/dcos-nodes.exe")
    start, _, _ = appended_like_the_launcher(data)
    assert pe_header(data) == (b"PE\0\0", 0x8664, 0x20B, 3)  # x86-64, PE32+, console subsystem
    assert start > 50_000  # the launcher itself comes first


def test_the_windows_launcher_finds_py_3_and_the_zip_application(dist):
    data = member(dist, WINDOWS_ARCHIVE, "Scripts/dcos-nodes.exe")
    _, line, appended = appended_like_the_launcher(data)
    assert line == "#!/usr/bin/env py -3"
    # Without ".exe" in the line, the launcher wants /usr/bin/env, a name to look up on PATH, arguments.
    words = line[2:].split()
    assert ".exe" not in line.lower() and words[0] == "/usr/bin/env" and words[1:] == ["py", "-3"]
    application = zipfile.ZipFile(io.BytesIO(appended))
    main = application.read("__main__.py").decode("utf-8")
    assert "from dcos_node_ssh.app import run" in main and main.rstrip().endswith("run()")
    posix = zipfile.ZipFile(io.BytesIO(member(dist, POSIX_ARCHIVE, "bin/dcos-nodes")))
    assert application.namelist() == posix.namelist()
    assert all(application.read(name) == posix.read(name) for name in posix.namelist())


def test_python_runs_the_windows_executable_as_the_zip_application_it_ends_with(dist, tmp_path):
    executable = tmp_path / "dcos-nodes.exe"
    executable.write_bytes(member(dist, WINDOWS_ARCHIVE, "Scripts/dcos-nodes.exe"))
    result = subprocess.run([sys.executable, str(executable), "nodes", "--version"], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"dcos-node-ssh version {V}\n", "")


def test_no_archive_holds_an_executable_named_dcos_node(dist):
    for archive in (POSIX_ARCHIVE, WINDOWS_ARCHIVE):
        with zipfile.ZipFile(dist / archive) as opened:
            assert not [name for name in opened.namelist()
                        if os.path.basename(name) in ("dcos-node", "dcos-node.exe")]


# The wheels, pip-installed into fresh virtualenvs


def installed_scripts(wheel, venv):
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                             str(wheel)], capture_output=True, text=True, timeout=600, env=offline_pip_env())
    assert result.returncode == 0, result.stderr[-2000:]
    return sorted(name for name in os.listdir(venv / "bin") if name.startswith("dcos-"))


def test_the_cli_0x_wheel_installs_dcos_nodes_and_no_dcos_node(dist, tmp_path):
    assert installed_scripts(dist / NODES_WHEEL, tmp_path / "env") == ["dcos-nodes"]
    result = subprocess.run([str(tmp_path / "env" / "bin" / "dcos-nodes"), "nodes", "--version"], capture_output=True,
                            text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"dcos-node-ssh version {V}\n")
    metadata = member(dist, NODES_WHEEL, f"dcos_cluster_nodes-{V}.dist-info/METADATA").decode()
    assert f"\nName: dcos-cluster-nodes\nVersion: {V}\n" in metadata


def test_the_pip_wheel_still_installs_dcos_node(dist, tmp_path):
    assert installed_scripts(dist / PIP_WHEEL, tmp_path / "venv") == ["dcos-node"]
    result = subprocess.run([str(tmp_path / "venv" / "bin" / "dcos-node"), "--version"], capture_output=True,
                            text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"dcos-node-ssh version {V}\n")


def old_pythons():
    """Real interpreters older than the plugin supports, where this machine has them (pyenv)."""
    import glob

    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.[5-8]*/bin/python3.[5-8]")))
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/2.7*/bin/python2.7")))
    return found


@pytest.mark.parametrize("old", old_pythons() or [None])
def test_an_old_python3_first_on_path_hands_over_to_a_newer_one_or_says_what_is_needed(dist, tmp_path, old):
    """An activated virtualenv of the DC/OS CLI 0.x puts its Python 3.6 first on PATH, where
    the zip application's `#!/usr/bin/env python3` finds it."""
    if old is None:
        pytest.skip("no Python older than 3.9 on this machine (pyenv) to run the zip application with")
    unpack_like_the_go_cli(dist / POSIX_ARCHIVE, tmp_path / "env")
    executable = tmp_path / "env" / "bin" / "dcos-nodes"
    alone = tmp_path / "old-only"
    alone.mkdir()
    (alone / "python3").symlink_to(old)
    result = subprocess.run([str(executable), "nodes", "--version"], capture_output=True, text=True, timeout=60,
                            env={"PATH": str(alone), "HOME": str(tmp_path)})
    assert result.returncode == 125 and result.stdout == ""
    assert "dcos-node-ssh needs Python 3.9 or later" in result.stderr and "Traceback" not in result.stderr
    newer = tmp_path / "with-newer"
    newer.mkdir()
    (newer / "python3").symlink_to(old)
    (newer / f"python3.{sys.version_info.minor}").symlink_to(sys.executable)
    result = subprocess.run([str(executable), "nodes", "--version"], capture_output=True, text=True, timeout=60,
                            env={"PATH": str(newer), "HOME": str(tmp_path)})
    assert (result.returncode, result.stdout, result.stderr) == (0, f"dcos-node-ssh version {V}\n", "")
