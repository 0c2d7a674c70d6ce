"""The DC/OS CLI's configuration, read (never written) as each CLI generation lays it out.

Precedence: command-line flags > environment > config file > defaults. Flags are
applied by the caller; this module merges environment and file into `Settings`.
"""

import json
import os
import sys
from typing import Mapping, NamedTuple, Optional, Tuple, Union

from .errors import ConfigError

DEFAULT_SSH_USER = "core"
# Long enough for a slow Admin Router, short enough that a silent server is noticed.
DEFAULT_TIMEOUT = 5.0

# The plugin's own `[node]` config section, as `--config-schema` reports it.
CONFIG_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "dcos-node-ssh configuration (section [node])",
    "type": "object",
    "properties": {
        "ssh_user": {
            "type": "string",
            "title": "SSH user",
            "description": "User to log in as on the proxy and the target; overrides core.ssh_user. Default: core.",
            "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        },
        "ssh_proxy_ip": {
            "type": "string",
            "title": "SSH proxy host",
            "description": "Address or host name of a bastion to hop through when no proxy flag is given; overrides core.ssh_proxy_ip.",
        },
        "proxy_mode": {
            "type": "string",
            "title": "Proxy mode",
            "description": "How a proxy hop reaches the node: \"forward\" (ssh on the proxy, with your agent forwarded; the default) or \"jump\" (ssh -W through the proxy; no agent forwarding).",
            "enum": ["forward", "jump"],
        },
        "ssh_options": {
            "type": "array",
            "title": "SSH options",
            "description": "OpenSSH options (Key=Value) passed with -o to every hop, after those given with --option.",
            "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*=.*$"},
        },
    },
    "additionalProperties": False,
}


class Settings(NamedTuple):
    """Everything the command needs from configuration, as plain values."""

    dcos_url: Optional[str] = None
    acs_token: Optional[str] = None
    # True (verify with system CAs), False (do not verify) or a CA bundle path.
    ssl_verify: Union[bool, str] = True
    timeout: float = DEFAULT_TIMEOUT
    mesos_master_url: Optional[str] = None
    ssh_user: str = DEFAULT_SSH_USER
    ssh_proxy_ip: Optional[str] = None
    ssh_options: Tuple[str, ...] = ()
    proxy_mode: str = "forward"  # or "jump"
    # Where the file values came from, for messages; None when no file was read.
    config_path: Optional[str] = None


def find_config_file(env: Mapping[str, str], home: str) -> Optional[str]:
    """Return the config file the DC/OS CLI would use, or None when there is none.

    Order: DCOS_CONFIG (CLI 0.1-0.4 and later); the attached cluster's
    ~/.dcos/clusters/<id>/dcos.toml (CLI 0.5 and later); ~/.dcos/dcos.toml.
    """
    named = env.get("DCOS_CONFIG")
    if named:
        if not os.path.exists(named):
            raise ConfigError(
                f"DCOS_CONFIG names the config file {named}, which does not exist. "
                "Unset DCOS_CONFIG or point it at an existing dcos.toml."
            )
        return named
    dcos_dir = env.get("DCOS_DIR") or os.path.join(home, ".dcos")
    clusters_dir = os.path.join(dcos_dir, "clusters")
    attached = []
    try:
        cluster_ids = sorted(os.listdir(clusters_dir))
    except OSError:
        cluster_ids = []
    for cluster_id in cluster_ids:
        if os.path.exists(os.path.join(clusters_dir, cluster_id, "attached")):
            attached.append(os.path.join(clusters_dir, cluster_id))
    if len(attached) > 1:
        raise ConfigError(
            "More than one cluster is marked as attached: "
            + ", ".join(attached)
            + ". Attach one with `dcos cluster attach <name>`, or remove the file "
            "`attached` from all but one of these folders."
        )
    if attached:
        path = os.path.join(attached[0], "dcos.toml")
        if not os.path.isfile(path):
            raise ConfigError(
                f"The attached cluster {attached[0]} has no dcos.toml. "
                "Set the cluster up again with `dcos cluster setup <url>`."
            )
        return path
    legacy = os.path.join(dcos_dir, "dcos.toml")
    if os.path.exists(legacy):
        return legacy
    return None


def read_config_file(path: str) -> dict:
    """Parse a dcos.toml; a broken file is a ConfigError naming it."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as error:
        raise ConfigError(f"Cannot read the DC/OS config file {path}: {error.strerror}.") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"The DC/OS config file {path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"The DC/OS config file {path} is not valid TOML: {error}. "
            "Fix the file, or set it up again with `dcos cluster setup <url>`."
        ) from None


def token_file_warning(path: str, values: dict) -> Optional[str]:
    """A warning when a file holding a token can be read by other users (POSIX only)."""
    if os.name != "posix" or not _section(values, "core", path).get("dcos_acs_token"):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if mode & 0o077:
        return (
            f"Warning: the DC/OS config file {path} holds an access token and can be read by "
            f"other users (permissions {mode & 0o777:o}); the DC/OS CLI itself refuses such a "
            f"file. Run `chmod 600 {path}`."
        )
    return None


def _section(values: dict, name: str, path: Optional[str]) -> dict:
    section = values.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"`{name}` in the DC/OS config file {path} must be a table ([{name}]).")
    return section


def _string(value, key: str, source: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{key} in {source} must be a string, not {json.dumps(value)}.")
    text = str(value).strip()
    return text or None


def _ssl_verify(value, source: str) -> Union[bool, str]:
    if isinstance(value, bool):
        return value
    text = _string(value, "core.ssl_verify", source)
    if text is None or text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    return text  # a CA bundle path


def _timeout(value, source: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"core.timeout in {source} must be a number of seconds, not {json.dumps(value)}."
        ) from None
    if not 0 < seconds < 86400:
        raise ConfigError(f"core.timeout in {source} must be more than 0 and less than 86400 seconds.")
    return seconds


def _options_from_file(value, source: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(
        f"node.ssh_options in {source} must be a list of \"Key=Value\" strings, "
        f"not {json.dumps(value)}."
    )


def _options_from_env(text: str) -> Tuple[str, ...]:
    """DCOS_NODE_SSH_OPTIONS: a JSON array of strings, or one option per line."""
    if text.lstrip().startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not (isinstance(parsed, list) and all(isinstance(item, str) for item in parsed)):
            raise ConfigError(
                "DCOS_NODE_SSH_OPTIONS must be a JSON array of \"Key=Value\" strings, "
                "or one Key=Value option per line."
            )
        return tuple(parsed)
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def settings_from(file_values: dict, env: Mapping[str, str], config_path: Optional[str]) -> Settings:
    """Merge the environment over the config file's values. Pure: no I/O."""
    source = config_path or "the configuration"
    core = _section(file_values, "core", config_path)
    node = _section(file_values, "node", config_path)

    def pick(env_name: str, *file_values_in_order):
        from_env = env.get(env_name, "").strip()
        if from_env:
            return from_env
        for value in file_values_in_order:
            if value is not None and value != "":
                return value
        return None

    ssl_verify = _ssl_verify(core.get("ssl_verify"), source)
    if env.get("DCOS_SSL_VERIFY", "").strip():
        ssl_verify = _ssl_verify(env["DCOS_SSL_VERIFY"], "DCOS_SSL_VERIFY")
    # The 1.x CLI's variables describe the attached cluster's TLS setting precisely.
    if env.get("DCOS_TLS_CA_PATH", "").strip():
        ssl_verify = env["DCOS_TLS_CA_PATH"].strip()
    if env.get("DCOS_TLS_INSECURE", "").strip().lower() in ("1", "true", "yes"):
        ssl_verify = False

    env_options = env.get("DCOS_NODE_SSH_OPTIONS", "")
    options = (
        _options_from_env(env_options)
        if env_options.strip()
        else _options_from_file(node.get("ssh_options"), source)
    )

    proxy_mode = _string(pick("DCOS_NODE_PROXY_MODE", node.get("proxy_mode")), "node.proxy_mode", source) or "forward"
    if proxy_mode not in ("forward", "jump"):
        raise ConfigError(
            f"node.proxy_mode (in {source} or DCOS_NODE_PROXY_MODE) must be \"forward\" or \"jump\", "
            f"not {json.dumps(proxy_mode)}."
        )

    dcos_url = _string(pick("DCOS_URL", core.get("dcos_url")), "core.dcos_url", source)
    return Settings(
        dcos_url=dcos_url.rstrip("/") if dcos_url else None,
        acs_token=_string(pick("DCOS_ACS_TOKEN", core.get("dcos_acs_token")), "core.dcos_acs_token", source),
        ssl_verify=ssl_verify,
        timeout=_timeout(core.get("timeout"), source),
        mesos_master_url=(
            _string(core.get("mesos_master_url"), "core.mesos_master_url", source) or ""
        ).rstrip("/")
        or None,
        ssh_user=_string(
            pick("DCOS_NODE_SSH_USER", node.get("ssh_user"), core.get("ssh_user")), "ssh_user", source
        )
        or DEFAULT_SSH_USER,
        ssh_proxy_ip=_string(
            pick("DCOS_NODE_SSH_PROXY_IP", node.get("ssh_proxy_ip"), core.get("ssh_proxy_ip")),
            "ssh_proxy_ip",
            source,
        ),
        ssh_options=options,
        proxy_mode=proxy_mode,
        config_path=config_path,
    )


def load_settings(env: Mapping[str, str], home: str) -> Tuple[Settings, Optional[str]]:
    """Find and read the config file, then merge the environment: (settings, warning)."""
    path = find_config_file(env, home)
    values = read_config_file(path) if path else {}
    warning = token_file_warning(path, values) if path else None
    return settings_from(values, env, path), warning
