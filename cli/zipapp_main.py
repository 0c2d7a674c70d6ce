# The zip application's entry point (bin/dcos-nodes, Scripts/dcos-nodes.exe). Whatever
# `python3` comes first on PATH reads it, and that may be older than the plugin supports:
# a virtualenv of the DC/OS CLI 0.x, activated, puts its Python 3.6 first. Then it runs
# itself with the newest python3.X on PATH that is new enough, or says what is needed.
# Written for any Python 3 (and 2.7) to parse: no f-strings, no annotations.
import os
import sys

OLDEST = (3, 9)
RETRIED = "DCOS_NODE_SSH_NEWER_PYTHON"


def newer_python():
    for minor in range(30, OLDEST[1] - 1, -1):
        for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
            candidate = os.path.join(folder or os.curdir, "python3.%d" % minor)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


if sys.version_info[:2] < OLDEST:
    found = None if os.environ.get(RETRIED) else newer_python()
    if found:
        os.environ[RETRIED] = "1"
        os.execv(found, [found, sys.argv[0]] + sys.argv[1:])
    sys.stderr.write(
        "dcos-node-ssh needs Python %d.%d or later, and the python3 that runs it is %d.%d (%s). Install a newer "
        "Python 3 and put it on PATH: it is found as python3 or by its name (python3.%d and later).\n"
        % (OLDEST + sys.version_info[:2] + (sys.executable, OLDEST[1])))
    sys.exit(125)  # the plugin's own failure (dcos_node_ssh.errors.ExitStatus.PLUGIN_FAILED)

from dcos_node_ssh.app import run  # noqa: E402

run()
