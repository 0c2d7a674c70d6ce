"""The DC/OS CLI's configuration, read (never written) as each CLI generation lays it out.

Precedence: command-line flags, then the sources of each key in the order `KEYS`
lists them, then defaults. Flags are applied by the commands; this module merges
environment and file into `Settings`, from one table (`KEYS`) that names, for every
setting, where it is read (variables and config keys, in order), its parser and, for
the plugin's own section (`[nodes]`, and `[node]` from earlier releases), the JSON
schema that `--config-schema` prints.
"""

import enum
import json
import os
import sys
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple, Union

from .errors import ConfigError, shown

DEFAULT_SSH_USER = "core"
# Long enough for a slow Admin Router, short enough that a silent server is noticed.
DEFAULT_TIMEOUT = 5.0


class ProxyMode(enum.Enum):
    """How a proxy hop reaches the node."""

    FORWARD = "forward"  # ssh runs on the proxy, with the local agent forwarded
    JUMP = "jump"  # this machine connects through `ssh -W` on the proxy; no agent forwarded


class Settings(NamedTuple):
    """Everything the commands need from configuration, as plain values."""

    dcos_url: Optional[str] = None
    acs_token: Optional[str] = None
    # True (verify with system CAs), False (do not verify) or a CA bundle path.
    ssl_verify: Union[bool, str] = True
    timeout: float = DEFAULT_TIMEOUT
    mesos_master_url: Optional[str] = None
    ssh_user: Optional[str] = None  # None: configured nowhere (the commands default to core)
    ssh_proxy_ip: Optional[str] = None
    ssh_options: Tuple[str, ...] = ()
    proxy_mode: ProxyMode = ProxyMode.FORWARD
    cluster_name: Optional[str] = None  # cluster.name (DC/OS CLI 0.5 and later), for ssh-config's prefix
    # The config file's core.dcos_url when its token was not sent because DCOS_URL names another
    # cluster (a token belongs to the cluster that issued it); None when nothing was withheld.
    token_withheld_for: Optional[str] = None
    # Where the file values came from, for messages; None when no file was read.
    config_path: Optional[str] = None


# -- parsers: (raw value, where it came from) -> value ------------------------------


def _string(value: Any, source: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{source} must be a string, not {shown(json.dumps(value))}.")
    text = str(value).strip()
    return text or None


def _url(value: Any, source: str) -> Optional[str]:
    text = _string(value, source)
    if text is not None and not text.isascii():
        shown_url = shown(text.rpartition("@")[2] if "@" in text else text)  # never a password
        raise ConfigError(
            f"{source} is '{shown_url}', which holds characters outside ASCII. Write an "
            "internationalised host name in its xn-- form, and percent-encode the path."
        )
    return text.rstrip("/") or None if text else None


def _token(value: Any, source: str) -> Optional[str]:
    text = _string(value, source)
    if text is not None and not all("!" <= char <= "~" for char in text):
        # Never shown: it is a credential. CR or LF would end the header early.
        raise ConfigError(
            f"The access token in {source} holds characters a token cannot hold (spaces, line breaks, "
            "control or non-ASCII characters), so it is not sent. Log in again with `dcos auth login`."
        )
    return text


def _ssl_verify(value: Any, source: str) -> Union[bool, str, None]:
    if isinstance(value, bool):
        return value
    text = _string(value, source)
    if text is None:
        return None
    if text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    return text  # a CA bundle path


def _ca_path(value: Any, source: str) -> Optional[str]:
    return _string(value, source)


def _insecure(value: Any, source: str) -> Optional[bool]:
    """DCOS_TLS_INSECURE=1 means "do not verify"; any other value says nothing."""
    return False if str(value).strip().lower() in ("1", "true", "yes") else None


def _timeout(value: Any, source: str) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source} must be a number of seconds, not {shown(json.dumps(value))}.") from None
    if not 0 < seconds < 86400:
        raise ConfigError(f"{source} must be more than 0 and less than 86400 seconds.")
    return seconds


def _options(value: Any, source: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(f"{source} must be a list of \"Key=Value\" strings, not {shown(json.dumps(value))}.")


def _options_from_env(text: str, source: str) -> Tuple[str, ...]:
    """A JSON array of strings, or one option per line."""
    if text.lstrip().startswith("["):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if not (isinstance(parsed, list) and all(isinstance(item, str) for item in parsed)):
            raise ConfigError(
                f"{source} must be a JSON array of \"Key=Value\" strings, or one Key=Value option per line."
            )
        return tuple(parsed)
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _proxy_mode(value: Any, source: str) -> Optional[ProxyMode]:
    text = _string(value, source)
    if text is None:
        return None
    try:
        return ProxyMode(text)
    except ValueError:
        raise ConfigError(f"{source} must be \"forward\" or \"jump\", not {shown(json.dumps(text))}.") from None


Parser = Callable[[Any, str], Any]

# The plugin's own config section, by the noun it is reached as: `nodes` everywhere, and
# `node`, which the DC/OS CLI 0.x never passed on (it is the CLI's own noun there), read
# for the files and variables written for the plugin's earlier releases. The new name wins.
SECTION = "nodes"
LEGACY_SECTION = "node"


class FromEnv(NamedTuple):
    variable: str
    parse: Parser


class FromFile(NamedTuple):
    key: str  # section.item


Source = Union[FromEnv, FromFile]


class Key(NamedTuple):
    """One setting: where it is read, in order (the first that says something wins), how
    a file value is parsed, and (for the plugin's own keys) its schema."""

    field: str  # the Settings field
    sources: Tuple[Source, ...]
    parse: Parser  # for a config-file value
    schema: Optional[Dict[str, Any]] = None


def _plugin_key(field: str, env_parse: Parser, parse: Parser, schema: Dict[str, Any],
                core_fallback: bool = False) -> Key:  # pragma: no mutate block, runs at import only
    """A key of the plugin's section: DCOS_NODES_<KEY>, [nodes], then DCOS_NODE_<KEY>,
    [node] (each generation's variable before its file), then core.<key> where the DC/OS
    CLI has one."""
    sources: Tuple[Source, ...] = ()
    for section in (SECTION, LEGACY_SECTION):
        sources += (FromEnv(f"DCOS_{section.upper()}_{field.upper()}", env_parse), FromFile(f"{section}.{field}"))
    if core_fallback:
        sources += (FromFile(f"core.{field}"),)
    return Key(field, sources, parse, schema)


KEYS: Tuple[Key, ...] = (
    Key("dcos_url", (FromEnv("DCOS_URL", _url), FromFile("core.dcos_url")), _url),
    Key("acs_token", (FromEnv("DCOS_ACS_TOKEN", _token), FromFile("core.dcos_acs_token")), _token),
    # The 1.x CLI's variables describe the attached cluster's TLS setting precisely.
    Key("ssl_verify", (FromEnv("DCOS_TLS_INSECURE", _insecure), FromEnv("DCOS_TLS_CA_PATH", _ca_path),
                       FromEnv("DCOS_SSL_VERIFY", _ssl_verify), FromFile("core.ssl_verify")), _ssl_verify),
    Key("timeout", (FromFile("core.timeout"),), _timeout),
    Key("mesos_master_url", (FromFile("core.mesos_master_url"),), _url),
    Key("cluster_name", (FromFile("cluster.name"),), _string),
    _plugin_key("ssh_user", _string, _string, {
        "type": "string",
        "title": "SSH user",
        "description": "User to log in as on the proxy and the target; overrides core.ssh_user. Default: core.",
        "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
    }, core_fallback=True),
    _plugin_key("ssh_proxy_ip", _string, _string, {
        "type": "string",
        "title": "SSH proxy host",
        "description": "Address or host name of a bastion to hop through when no proxy flag is given; "
                       "overrides core.ssh_proxy_ip.",
    }, core_fallback=True),
    _plugin_key("proxy_mode", _proxy_mode, _proxy_mode, {
        "type": "string",
        "title": "Proxy mode",
        "description": "How a proxy hop reaches the node: \"forward\" (ssh on the proxy, with your agent "
                       "forwarded; the default) or \"jump\" (ssh -W through the proxy; no agent forwarding).",
        "enum": [mode.value for mode in ProxyMode],
    }),
    _plugin_key("ssh_options", _options_from_env, _options, {
        "type": "array",
        "title": "SSH options",
        "description": "OpenSSH options (Key=Value) passed with -o to every hop, after those given with --option.",
        "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*=.*$"},
    }),
)

_SECTIONS = ("core", "cluster", SECTION, LEGACY_SECTION)


def config_schema() -> Dict[str, Any]:
    """The JSON schema of the plugin's section, as `--config-schema` reports it (the DC/OS
    CLI 0.5 and 0.6 check `dcos config set nodes.<key>` against it)."""
    properties = {key.field: key.schema for key in KEYS if key.schema is not None}
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": f"dcos-node-ssh configuration (section [{SECTION}]; [{LEGACY_SECTION}] is read too)",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def _section(values: dict, name: str, path: Optional[str]) -> dict:
    section = values.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"`{name}` in the DC/OS config file {path} must be a table ([{name}]).")
    return section


def go_rendering(value: Any) -> str:
    """A config value as the Go DC/OS CLI (1.1 and later) passes it to a plugin in
    DCOS_<SECTION>_<KEY> (Go's %v): a list comes as `[a b]`, its items' boundaries lost."""
    if isinstance(value, list):
        return "[" + " ".join(go_rendering(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings_from(file_values: dict, env: Mapping[str, str], config_path: Optional[str]) -> Settings:
    """Merge the environment and the config file's values, each key from its first source
    that says something. Pure: no I/O."""
    where = config_path or "the configuration"
    sections = {name: _section(file_values, name, config_path) for name in _SECTIONS}

    def file_value(name: str) -> Any:
        section, _, item = name.partition(".")
        return sections[section].get(item)

    values: Dict[str, Any] = {}
    other_cluster = _another_cluster(env, file_value("core.dcos_url"))
    for key in KEYS:
        for source in key.sources:
            if key.field == "acs_token" and isinstance(source, FromFile) and other_cluster:
                if file_value(source.key) is not None:
                    values["token_withheld_for"] = other_cluster
                continue
            if isinstance(source, FromEnv):
                raw = env.get(source.variable, "")
                if not raw.strip() or _passed_on_from_file(source, raw, file_value):
                    continue
                value = source.parse(raw, source.variable)
            else:
                from_file = file_value(source.key)
                value = None if from_file is None else key.parse(from_file, f"{source.key} in {where}")
            if value is not None:
                values[key.field] = value
                break
    return Settings(config_path=config_path, **values)


def _another_cluster(env: Mapping[str, str], file_url: Any) -> Optional[str]:
    """The config file's core.dcos_url when DCOS_URL names a different cluster: then the
    file's token is not that cluster's to receive. (A DCOS_ACS_TOKEN is read before the
    file's token is looked at, so it needs no check here.)"""
    named = env.get("DCOS_URL", "").strip()
    if not named or not isinstance(file_url, str) or not file_url.strip():
        return None
    same = named.rstrip("/").lower() == file_url.strip().rstrip("/").lower()
    return None if same else file_url.strip().rstrip("/")


def _passed_on_from_file(source: FromEnv, raw: str, file_value: Callable[[str], Any]) -> bool:
    """Whether a DCOS_<SECTION>_<KEY> variable is the Go CLI's copy of the file's own value,
    which is then read from the file, whole."""
    for section in (SECTION, LEGACY_SECTION):
        prefix = f"DCOS_{section.upper()}_"
        if source.variable.startswith(prefix):
            from_file = file_value(f"{section}.{source.variable[len(prefix):].lower()}")
            return from_file is not None and raw == go_rendering(from_file)
    return False


def find_config_file(env: Mapping[str, str], home: str) -> Optional[str]:  # pragma: no mutate block, I/O
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
    try:
        cluster_ids = sorted(os.listdir(clusters_dir))
    except FileNotFoundError:
        cluster_ids = []
    except OSError as error:
        # Falling back to the legacy file here would send its token to its URL, not
        # to the cluster the user attached.
        raise ConfigError(
            f"Cannot read the DC/OS clusters folder {clusters_dir} ({error.strerror}), so the attached "
            f"cluster is unknown. Fix its permissions (for example `chmod u+rwx {clusters_dir}`)."
        ) from None
    attached = [os.path.join(clusters_dir, cluster_id) for cluster_id in cluster_ids
                if os.path.exists(os.path.join(clusters_dir, cluster_id, "attached"))]
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


def read_config_file(path: str) -> dict:  # pragma: no mutate block, I/O
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
        # utf-8-sig: Notepad starts a UTF-8 file with a byte-order mark.
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"The DC/OS config file {path} is not UTF-8 text.") from None
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        reason = str(error) if isinstance(error, tomllib.TOMLDecodeError) else "nested too deeply"
        raise ConfigError(
            f"The DC/OS config file {path} is not valid TOML: {reason}. "
            "Fix the file, or set it up again with `dcos cluster setup <url>`."
        ) from None


def token_file_warning(path: str, values: dict) -> Optional[str]:  # pragma: no mutate block, I/O
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


def load_settings(env: Mapping[str, str], home: str) -> Tuple[Settings, Optional[str]]:  # pragma: no mutate block, I/O
    """Find and read the config file, then merge the environment: (settings, warning)."""
    path = find_config_file(env, home)
    values = read_config_file(path) if path else {}
    warning = token_file_warning(path, values) if path else None
    return settings_from(values, env, path), warning
