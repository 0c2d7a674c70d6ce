"""URLs as the cluster client sends and shows them (pure): what may go on the wire, a
base URL split into its parts, and a URL shown without its user:password@."""

from typing import NamedTuple
from urllib.parse import urlsplit

from ..errors import ConfigError, shown


def visible_ascii(text: str) -> bool:
    """Whether text holds only printable ASCII without spaces: what a request line or a
    header value can carry without being read as something else."""
    return all("!" <= char <= "~" for char in text)


def digits(text: str) -> bool:
    """Whether text is a non-empty run of ASCII digits (str.isdigit also takes '²' and '٢')."""
    return text != "" and all("0" <= char <= "9" for char in text)


def bracketed(host: str) -> str:
    """A host as it stands before :port, an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def hide_credentials(text: str) -> str:
    """A URL as typed, without what precedes an @ in its authority: for a URL too broken
    to parse, where the password may hold a '/'."""
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    rest = rest.rpartition("@")[2]
    return scheme + separator + rest


class Base(NamedTuple):
    """A base URL (core.dcos_url, core.mesos_master_url) in the parts a request needs."""

    scheme: str  # http or https
    host: str  # without brackets
    port: int
    prefix: str  # the path, without a trailing slash
    display: str  # the URL without user:password@ and without a trailing slash

    @property
    def authority(self) -> str:
        """The Host header: the port only when it is not the scheme's own."""
        default = 443 if self.scheme == "https" else 80
        return bracketed(self.host) + (f":{self.port}" if self.port != default else "")


def split_base(url: str, setting: str) -> Base:
    """The parts of the URL that `setting` holds; a ConfigError, naming the setting, for
    anything that is not a plain http:// or https:// URL."""
    if not url.isascii():
        raise ConfigError(
            f"{setting} is '{shown(hide_credentials(url))}', which holds characters outside "
            "ASCII. Write an internationalised host name in its xn-- form (as `idn2` or a browser's "
            "address bar shows it), and percent-encode the path."
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), -1
    if (parts.scheme not in ("http", "https") or not parts.hostname or port in (-1, 0)
            or not visible_ascii(url)):
        raise ConfigError(
            f"{setting} is {hide_credentials(url)!r}, which is not an http:// or https:// URL. "
            f"Set it with `dcos config set {setting} https://<master address>`."
        )
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    path = parts.path.rstrip("/")
    display = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"
    return Base(parts.scheme, parts.hostname, port, path, display)
