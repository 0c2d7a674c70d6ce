"""Errors the user can act on.

Each carries one paragraph that the CLI prints on stderr before exiting 1;
anything else escaping is a bug and is still shown without a traceback.
"""


def shown(value, limit: int = 120) -> str:
    """An untrusted value made safe to print: one line, no control characters, bounded."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NodeSshError(Exception):
    """A failure explained to the user in one paragraph."""

    exit_code = 1


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
