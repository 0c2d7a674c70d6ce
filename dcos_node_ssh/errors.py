"""Errors the user can act on, the exit statuses, and the one way an untrusted value is
made printable.

Each error carries one paragraph that the app prints on stderr before exiting with its
status; anything else escaping is a bug and is still shown without a traceback.
"""

import enum


class ExitStatus(enum.IntEnum):
    """The plugin's own exit statuses (a remote command's status is passed through as it is)."""

    OK = 0
    FAILED = 1  # a node that failed in `run`, `copy` or `fetch`; a failed `--check`
    # The plugin's own failure (a refused command line, a cluster that cannot be asked, a node
    # that cannot be found): a status remote commands rarely use, so that `dcos node ssh ... --
    # test -f x` tells "no such agent" (125) from "no such file" (1) and ssh's own failure (255).
    # 125 as `env`, `timeout`, `git bisect run` and `docker run` use it for their own failures.
    PLUGIN_FAILED = 125
    CANNOT_RUN = 127  # a program that could not be started, as a shell reports it
    HANGUP = 129  # 128 + SIGHUP: the terminal went away
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
    BROKEN_PIPE = 141  # 128 + SIGPIPE, as `cat` ends when its reader goes away
    TERMINATED = 143  # 128 + SIGTERM (`kill`, `timeout`)
    SSH_FAILED = 255  # ssh's own failure: not reached, or not logged in


_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char == " " or char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(value) -> str:
    """A value from the cluster (or any untrusted source) as text that is safe to print
    whole: every character a terminal could act on (controls, escape sequences,
    bidirectional overrides, other format and unassigned characters) escaped, and the
    backslash too, so an escaped value cannot pass for another; letters of any script kept."""
    text = value if isinstance(value, str) else repr(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(map(_escape, text))


def shown(value, limit: int = 120) -> str:
    """An untrusted value made safe to print on one line, bounded."""
    text = printable(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NodeSshError(Exception):
    """A failure explained to the user in one paragraph."""

    exit_code = ExitStatus.PLUGIN_FAILED


class UsageError(NodeSshError):
    """The command line cannot be understood; the usage text follows."""


class ConfigError(NodeSshError):
    """The DC/OS CLI configuration is missing, unreadable or invalid."""


class ClusterError(NodeSshError):
    """The cluster API could not be reached or gave an unusable answer."""


class ClusterUnreachable(ClusterError):
    """No HTTP answer at all: refused, timed out, TLS failure."""


class ClusterAuthError(ClusterError):
    """The cluster wants a (new) token."""


class ClusterDataError(ClusterError):
    """The cluster answered, but with a value we refuse to use."""


class SshSetupError(NodeSshError):
    """The local ssh client or agent is not ready for the requested mode."""
