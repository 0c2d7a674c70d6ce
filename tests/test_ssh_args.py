"""Unit tests for dcos_node_ssh.openssh.hops: the ssh argument list and how it is shown.

The quoting tests do not trust Python's idea of a shell: every quoted word is
handed to a real POSIX shell (and to bash when it is installed), which is what
the proxy's login shell and the user's terminal are.
"""

import hashlib
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcos_node_ssh.errors import UsageError
from dcos_node_ssh.openssh.hops import (
    SshPlan,
    build_argv,
    check_option,
    cluster_key,
    display,
    display_word,
    first_hop_argv,
    merge_options,
    remote_command,
)

TARGET = "10.0.1.23"
PROXY = "52.34.108.176"
PROXY_CMD = "ProxyCommand=nc %h %p"

# Shells that may run the second hop or read a pasted line. No skip: the list
# holds only shells that exist here, and sh always does.
SHELLS = [name for name in ("sh", "bash") if shutil.which(name)]

_PRINT_WORDS = '; for w in "$@"; do printf "%s\\0" "$w"; done'


def _split_nul(output: bytes):
    assert output.endswith(b"\0") or output == b"", output
    return [part.decode("utf-8") for part in output.split(b"\0")[:-1]]


def shell_rebuilds(shell: str, line: str):
    """The argument list a shell builds from `line` used as a command's words."""
    result = subprocess.run([shell, "-c", "set -- " + line + _PRINT_WORDS], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return _split_nul(result.stdout)


def shell_for_words(shell: str, line: str):
    """The words a shell reads from a pasted line, as `for w in <line>` sees them."""
    script = "for w in " + line + '; do printf "%s\\0" "$w"; done'
    result = subprocess.run([shell, "-c", script], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return _split_nul(result.stdout)


def second_hop_words(argv, proxy_destination):
    """The words after the first hop's destination: what ssh sends to the proxy."""
    index = argv.index(proxy_destination)
    return argv[index + 1:]


# --- build_argv: every mode and option combination, exact argument lists ------------

BUILD_CASES = [
    pytest.param(
        dict(target=TARGET, user="core"),
        ["ssh", "-A", "-t", "core@10.0.1.23"],
        id="direct-interactive",
    ),
    pytest.param(
        dict(target=TARGET, user="core", tty=False),
        ["ssh", "-A", "-T", "core@10.0.1.23"],
        id="direct-no-tty",
    ),
    pytest.param(
        dict(target=TARGET, user="core", command=("uptime",), tty=False),
        ["ssh", "-A", "-T", "core@10.0.1.23", "uptime"],
        id="direct-command-no-tty",
    ),
    pytest.param(
        dict(target=TARGET, user="core", command=("ls", "-la", "/var/log")),
        ["ssh", "-A", "-t", "core@10.0.1.23", "ls -la /var/log"],
        id="direct-command-words-joined-tty",
    ),
    pytest.param(
        dict(target=TARGET, user="core", options=("StrictHostKeyChecking=no",)),
        ["ssh", "-A", "-t", "-o", "StrictHostKeyChecking=no", "core@10.0.1.23"],
        id="direct-one-option",
    ),
    pytest.param(
        dict(target=TARGET, user="core", options=("A=1",), proxy_options=("Port=2222",)),
        ["ssh", "-A", "-t", "-o", "A=1", "core@10.0.1.23"],
        id="direct-proxy-options-unused-without-a-proxy",
    ),
    pytest.param(
        dict(
            target=TARGET,
            user="core",
            options=("StrictHostKeyChecking=no", PROXY_CMD, "ConnectTimeout=10"),
        ),
        [
            "ssh", "-A", "-t",
            "-o", "StrictHostKeyChecking=no",
            "-o", "ProxyCommand=nc %h %p",
            "-o", "ConnectTimeout=10",
            "core@10.0.1.23",
        ],
        id="direct-several-options-value-with-spaces",
    ),
    pytest.param(
        dict(target=TARGET, user="core", config_file="/home/me/.ssh/dcos config", options=("User=x",)),
        ["ssh", "-A", "-t", "-F", "/home/me/.ssh/dcos config", "-o", "User=x", "core@10.0.1.23"],
        id="direct-config-file-before-options",
    ),
    pytest.param(
        dict(target=TARGET, user="centos"),
        ["ssh", "-A", "-t", "centos@10.0.1.23"],
        id="direct-user",
    ),
    pytest.param(
        dict(target="2001:db8::5", user="core"),
        ["ssh", "-A", "-t", "core@2001:db8::5"],
        id="direct-ipv6",
    ),
    pytest.param(
        dict(target="ip-10-0-1-23.us-west-2.compute.internal", user="core"),
        ["ssh", "-A", "-t", "core@ip-10-0-1-23.us-west-2.compute.internal"],
        id="direct-dns-name",
    ),
    pytest.param(
        dict(target=TARGET, user="core", command=("--help",), tty=False),
        ["ssh", "-A", "-T", "--", "core@10.0.1.23", "--help"],
        id="direct-dash-command-gets-double-dash",
    ),
    pytest.param(
        dict(target=TARGET, user="core", command=("-x", "y"), options=("A=1",), config_file="/c"),
        ["ssh", "-A", "-t", "-F", "/c", "-o", "A=1", "--", "core@10.0.1.23", "-x y"],
        id="direct-dash-command-double-dash-after-options",
    ),
    pytest.param(
        dict(target=TARGET, user="core", command=("echo", "-n")),
        ["ssh", "-A", "-t", "core@10.0.1.23", "echo -n"],
        id="direct-dash-in-later-word-no-double-dash",
    ),
    pytest.param(
        dict(target="T", user="core", proxy="P"),
        ["ssh", "-A", "-t", "core@P", "ssh", "-A", "-t", "core@T"],
        id="proxied-interactive-brief-form",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY),
        ["ssh", "-A", "-t", "core@52.34.108.176", "ssh", "-A", "-t", "core@10.0.1.23"],
        id="proxied-interactive",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, tty=False),
        ["ssh", "-A", "-T", "core@52.34.108.176", "ssh", "-A", "-T", "core@10.0.1.23"],
        id="proxied-no-tty",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, command=("uptime",), tty=False),
        ["ssh", "-A", "-T", "core@52.34.108.176", "ssh", "-A", "-T", "core@10.0.1.23", "uptime"],
        id="proxied-command-no-tty",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, command=("ls", "-la", "/var/log")),
        ["ssh", "-A", "-t", "core@52.34.108.176", "ssh", "-A", "-t", "core@10.0.1.23", "'ls -la /var/log'"],
        id="proxied-command-quoted-for-proxy-shell",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, options=("StrictHostKeyChecking=no",)),
        [
            "ssh", "-A", "-t", "-o", "StrictHostKeyChecking=no", "core@52.34.108.176",
            "ssh", "-A", "-t", "-o", "StrictHostKeyChecking=no", "core@10.0.1.23",
        ],
        id="proxied-one-option-every-hop",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, options=("StrictHostKeyChecking=no", PROXY_CMD)),
        [
            "ssh", "-A", "-t", "-o", "StrictHostKeyChecking=no", "-o", "ProxyCommand=nc %h %p",
            "core@52.34.108.176",
            "ssh", "-A", "-t", "-o", "StrictHostKeyChecking=no", "-o", "'ProxyCommand=nc %h %p'",
            "core@10.0.1.23",
        ],
        id="proxied-several-options-value-with-spaces",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, config_file="/home/me/.ssh/config", options=("A=1",)),
        [
            "ssh", "-A", "-t", "-F", "/home/me/.ssh/config", "-o", "A=1", "core@52.34.108.176",
            "ssh", "-A", "-t", "-o", "A=1", "core@10.0.1.23",
        ],
        id="proxied-config-file-first-hop-only",
    ),
    pytest.param(
        dict(target=TARGET, user="ec2-user", proxy=PROXY),
        ["ssh", "-A", "-t", "ec2-user@52.34.108.176", "ssh", "-A", "-t", "ec2-user@10.0.1.23"],
        id="proxied-user-every-hop",
    ),
    pytest.param(
        dict(target="2001:db8::5", user="core", proxy="2001:db8::1"),
        ["ssh", "-A", "-t", "core@2001:db8::1", "ssh", "-A", "-t", "core@2001:db8::5"],
        id="proxied-ipv6",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, command=("-V",), tty=False),
        ["ssh", "-A", "-T", "core@52.34.108.176", "ssh", "-A", "-T", "--", "core@10.0.1.23", "-V"],
        id="proxied-dash-command-double-dash-on-second-hop-only",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, command=("echo", "it's")),
        ["ssh", "-A", "-t", "core@52.34.108.176", "ssh", "-A", "-t", "core@10.0.1.23", "'echo it'\"'\"'s'"],
        id="proxied-command-with-single-quote",
    ),
    pytest.param(
        dict(
            target="2001:db8::5",
            user="centos",
            proxy="bastion.example.com",
            options=(PROXY_CMD, "ConnectTimeout=3"),
            config_file="/tmp/ssh_config",
            command=("-c", "cat /etc/os-release"),
            tty=False,
        ),
        [
            "ssh", "-A", "-T", "-F", "/tmp/ssh_config",
            "-o", "ProxyCommand=nc %h %p", "-o", "ConnectTimeout=3",
            "centos@bastion.example.com",
            "ssh", "-A", "-T", "-o", "'ProxyCommand=nc %h %p'", "-o", "ConnectTimeout=3",
            "--", "centos@2001:db8::5", "'-c cat /etc/os-release'",
        ],
        id="proxied-everything",
    ),
]


@pytest.mark.parametrize("fields, expected", BUILD_CASES)
def test_build_argv_exact(fields, expected):
    assert build_argv(SshPlan(**fields)) == expected


@pytest.mark.parametrize(
    "fields, expected",
    [
        (dict(target=TARGET, user="core"), ["/usr/local/bin/ssh", "-A", "-t", "core@10.0.1.23"]),
        (
            dict(target=TARGET, user="core", proxy=PROXY),
            # The proxy runs its own `ssh`: the local path means nothing there.
            ["/usr/local/bin/ssh", "-A", "-t", "core@52.34.108.176", "ssh", "-A", "-t", "core@10.0.1.23"],
        ),
    ],
    ids=["direct", "proxied"],
)
def test_build_argv_local_ssh_path_only_on_first_hop(fields, expected):
    assert build_argv(SshPlan(client="/usr/local/bin/ssh", **fields)) == expected


# --- first_hop_argv: the check command's probe of the first connection -----------------

FIRST_HOP_CASES = [
    pytest.param(
        dict(target=TARGET, user="core", client="/usr/local/bin/ssh", config_file="/home/me/.ssh/config",
             options=("A=1",), proxy_options=("P=1",), command=("uptime",)),
        # No proxy: the target, with the -F file and --option values but not the proxy's own;
        # no agent, no terminal, `true` rather than the user's command; `own` options first.
        ["/usr/local/bin/ssh", "-T", "-F", "/home/me/.ssh/config", "-o", "Own=1", "-o", "A=1", "core@10.0.1.23",
         "true"],
        id="direct",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, config_file="/home/me/.ssh/config", options=("A=1",),
             proxy_options=("P=1",), command=("uptime",)),
        # Through a proxy: the proxy, as the real first hop reaches it, and nothing of the second hop.
        ["ssh", "-T", "-F", "/home/me/.ssh/config", "-o", "Own=1", "-o", "P=1", "-o", "A=1",
         "core@52.34.108.176", "true"],
        id="proxied",
    ),
    pytest.param(
        dict(target=TARGET, user="core", proxy=PROXY, jump=True, host_key_alias="dcos-c-10.0.1.23"),
        ["ssh", "-T", "-o", "Own=1", "core@52.34.108.176", "true"],
        id="jump",
    ),
]


@pytest.mark.parametrize("fields, expected", FIRST_HOP_CASES)
@pytest.mark.parametrize("tty", [True, False])
def test_first_hop_argv_exact(fields, expected, tty):
    assert first_hop_argv(SshPlan(tty=tty, **fields), ("Own=1",)) == expected


@pytest.mark.parametrize("shell", SHELLS)
def test_config_file_never_reaches_the_second_hop(shell):
    plan = SshPlan(target=TARGET, user="core", proxy=PROXY, config_file="/home/me/.ssh/config",
                   command=("-F", "x"), tty=False)
    argv = build_argv(plan)
    first_hop = argv[: argv.index("core@52.34.108.176") + 1]
    assert first_hop == ["ssh", "-A", "-T", "-F", "/home/me/.ssh/config", "core@52.34.108.176"]
    rebuilt = shell_rebuilds(shell, " ".join(second_hop_words(argv, "core@52.34.108.176")))
    # The only -F left is the user's own command text, after the destination.
    assert rebuilt == ["ssh", "-A", "-T", "--", "core@10.0.1.23", "-F x"]


# --- the proxy's shell rebuilds exactly the second hop ----------------------------

TRICKY_COMMANDS = [
    pytest.param(("echo", "'single'", '"double"'), id="both-quotes"),
    pytest.param(("echo $(hostname)",), id="command-substitution"),
    pytest.param(("echo", "`uname -a`"), id="backticks"),
    pytest.param(("true; touch /tmp/pwned",), id="semicolon"),
    pytest.param(("true && echo ok || echo no",), id="and-or"),
    pytest.param(("ps aux | grep mesos",), id="pipe"),
    pytest.param(("ls", "*", "/etc/*.conf", "?"), id="globs"),
    pytest.param(("ls", "~", "~root/x"), id="tilde"),
    pytest.param(("echo", "hi!", "!!", "!$"), id="bang"),
    pytest.param(("echo", "#", "a#b", "# comment"), id="hash"),
    pytest.param(("printf", "a\nb", "\n"), id="newline"),
    pytest.param(("printf", "a\tb", "\t"), id="tab"),
    pytest.param(("echo", "back\\slash", "\\n", "\\\\", "\\"), id="backslashes"),
    pytest.param(("echo", "héllo", "日本語", "🚀"), id="non-ascii"),
    pytest.param(("-la",), id="leading-dash"),
    pytest.param(("--", "-x"), id="leading-double-dash"),
    pytest.param(("echo", "{a,b}", "{1..3}"), id="braces"),
    pytest.param(("echo", "$HOME", "${PATH}", "$'x'", "$"), id="dollar"),
    pytest.param(("cat", "<", "/etc/passwd", ">", "/tmp/x", "2>&1"), id="redirections"),
    pytest.param(("sleep 1 &",), id="background"),
    pytest.param(("echo", ""), id="empty-word"),
    pytest.param(("a'b\"c\\d$e`f g!h",), id="everything-in-one-word"),
    pytest.param(("X=1 env",), id="assignment"),
    pytest.param(("  leading and trailing spaces  ",), id="spaces"),
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("command", TRICKY_COMMANDS)
def test_proxy_shell_rebuilds_second_hop_exactly(shell, command):
    plan = SshPlan(target=TARGET, user="core", proxy=PROXY, options=(PROXY_CMD,), command=command, tty=False)
    argv = build_argv(plan)

    # The local side is a plain list for execvp: nothing quoted there.
    first_hop = argv[: argv.index("core@52.34.108.176") + 1]
    assert first_hop == ["ssh", "-A", "-T", "-o", "ProxyCommand=nc %h %p", "core@52.34.108.176"]

    # ssh joins the remaining words with spaces; the proxy's shell splits them again.
    remote_line = " ".join(second_hop_words(argv, "core@52.34.108.176"))
    rebuilt = shell_rebuilds(shell, remote_line)

    joined = " ".join(command)  # what plain `ssh host <command>` would send
    dash = ["--"] if joined.startswith("-") else []
    assert rebuilt == ["ssh", "-A", "-T", "-o", "ProxyCommand=nc %h %p"] + dash + ["core@10.0.1.23", joined]


@pytest.mark.parametrize("shell", SHELLS)
def test_proxy_shell_rebuilds_interactive_second_hop(shell):
    argv = build_argv(SshPlan(target="2001:db8::5", user="core", proxy=PROXY, options=(PROXY_CMD,)))
    rebuilt = shell_rebuilds(shell, " ".join(second_hop_words(argv, "core@52.34.108.176")))
    assert rebuilt == ["ssh", "-A", "-t", "-o", "ProxyCommand=nc %h %p", "core@2001:db8::5"]


_WORD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
    max_size=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.lists(_WORD_TEXT, min_size=1, max_size=4))
def test_proxy_shell_rebuilds_any_command(command):
    argv = build_argv(SshPlan(target=TARGET, user="core", proxy=PROXY, command=tuple(command), tty=False))
    rebuilt = shell_rebuilds("sh", " ".join(second_hop_words(argv, "core@52.34.108.176")))
    joined = " ".join(command)
    dash = ["--"] if joined.startswith("-") else []
    assert rebuilt == ["ssh", "-A", "-T"] + dash + ["core@10.0.1.23", joined]


# --- remote_command ---------------------------------------------------------------

@pytest.mark.parametrize(
    "words, expected",
    [
        ((), None),
        (("uptime",), "uptime"),
        (("ls", "-la", "/tmp"), "ls -la /tmp"),
        (("echo", "a b"), "echo a b"),  # as plain ssh: the words are joined, not quoted
        (("",), ""),
    ],
)
def test_remote_command_joins_like_plain_ssh(words, expected):
    assert remote_command(words) == expected


# --- check_option -----------------------------------------------------------------

@pytest.mark.parametrize(
    "value",
    [
        "StrictHostKeyChecking=no",
        "ConnectTimeout=10",
        "ProxyCommand=nc %h %p",
        "ProxyCommand=ssh -W %h:%p -o User=x bastion",
        "SendEnv=LANG LC_*",
        "LocalForward=8080 localhost:80",
        "user=core",
        "ForwardX11=yes",
    ],
)
def test_check_option_accepts_key_value(value):
    assert check_option(value, "--option") == value


@pytest.mark.parametrize(
    "value",
    [
        "NoEquals",
        "=x",
        "-oFoo=bar",
        "-o",
        "",
        "Two Words=x",
        "1Key=x",
        "Key-Dash=x",
        " Key=x",
        "Kéy=x",
    ],
)
def test_check_option_rejects(value):
    with pytest.raises(UsageError) as caught:
        check_option(value, "the ssh_options setting (/home/me/.dcos/dcos.toml)")
    message = str(caught.value)
    assert repr(value) in message
    assert "the ssh_options setting (/home/me/.dcos/dcos.toml)" in message
    assert "Key=Value" in message


@pytest.mark.parametrize("value, why", [
    # Would become more than one config line (ssh-config writes every option in every Host entry).
    ("User=me\rHost *", "holds a line break or a NUL"),
    ("ProxyCommand=nc %h %p\r", "holds a line break or a NUL"),
    ("Key=a\nb", "holds a line break or a NUL"),
    ("Key=value\n", "holds a line break or a NUL"),
    ("Key=a\0b", "holds a line break or a NUL"),
    # Not options: in a config file each starts a block or reads a file; `ssh -o` refuses them too.
    ("Host=*", "is not an option: in a config file Host starts a block of its own"),
    ("host=github.com", "is not an option: in a config file host starts a block of its own"),
    ("Match=all", "is not an option: in a config file Match starts a block of its own"),
    ("MATCH=exec true", "is not an option: in a config file MATCH starts a block of its own"),
    ("Include=/etc/passwd", "is not an option: in a config file Include reads another file"),
])
def test_check_option_rejects_what_cannot_be_one_config_line(value, why):
    with pytest.raises(UsageError) as caught:
        check_option(value, "--option")
    assert str(caught.value).startswith(f"The ssh option {value!r} from --option {why}")


@pytest.mark.parametrize("value, message", [
    ("NoEquals", "The ssh option 'NoEquals' from --option is not of the form Key=Value (for example --option "
                 "StrictHostKeyChecking=accept-new)."),
    ("Key=a\nb", "The ssh option 'Key=a\\nb' from --option holds a line break or a NUL: an ssh option is Key=Value "
                 "on one line (in a config file, a line break would start another)."),
    ("Host=*", "The ssh option 'Host=*' from --option is not an option: in a config file Host starts a block of its "
               "own, and `ssh -o` refuses it too."),
])
def test_what_check_option_refuses_is_said_in_full(value, message):
    with pytest.raises(UsageError) as caught:
        check_option(value, "--option")
    assert str(caught.value) == message


@pytest.mark.parametrize("value", ["Host=*", "Match=all", "Include=/etc/passwd"])
def test_what_check_option_refuses_openssh_refuses_on_its_command_line_too(value):
    result = subprocess.run(["ssh", "-G", "-o", value, "somewhere"], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 255 and "not supported as a command-line option" in result.stderr


# --- cluster_key ------------------------------------------------------------------

@pytest.mark.parametrize("cluster_id", ["\ud800", "arn:aws:x/\udfff", "c\udc80\ud83d"])
def test_cluster_key_of_text_utf8_cannot_encode(cluster_id):
    """A lone surrogate (JSON can carry "\\ud800") was an internal error in every command that
    names host keys: a digest, as for any ID that is not a plain name, one per ID."""
    key = cluster_key(cluster_id, "ignored.example.com")
    assert key == hashlib.sha256(cluster_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    assert key != cluster_key(cluster_id + "x", None)


def test_cluster_key_digest_of_ordinary_text_is_unchanged():
    """Keys already kept in known_hosts stay found: the digest of encodable text is plain UTF-8's."""
    arn = "arn:aws:cloudformation:us-west-2:1:stack/dcos/é"
    assert cluster_key(arn, None) == hashlib.sha256(arn.encode("utf-8")).hexdigest()[:16]


# --- merge_options ----------------------------------------------------------------

@pytest.mark.parametrize(
    "from_flags, from_config, expected",
    [
        ([], [], ()),
        (["A=1"], [], ("A=1",)),
        ([], ["ConnectTimeout=5", "User=x"], ("ConnectTimeout=5", "User=x")),
        (
            ["StrictHostKeyChecking=no"],
            ["stricthostkeychecking=yes", "ConnectTimeout=5"],
            ("StrictHostKeyChecking=no", "ConnectTimeout=5"),
        ),
        (
            ["connecttimeout=3", "User=x"],
            ["ConnectTimeout=5", "ServerAliveInterval=30", "USER=y"],
            ("connecttimeout=3", "User=x", "ServerAliveInterval=30"),
        ),
        (["A=1", "A=2"], ["A=3", "B=4"], ("A=1", "A=2", "B=4")),
        (["Compression=yes"], ["CompressionLevel=6"], ("Compression=yes", "CompressionLevel=6")),
        (
            ["ProxyCommand=nc %h %p"],
            ["ProxyCommand=ssh -W %h:%p -o User=x bastion", "B=1"],
            ("ProxyCommand=nc %h %p", "B=1"),
        ),
        (["B=1", "A=1"], ["D=1", "C=1"], ("B=1", "A=1", "D=1", "C=1")),
        (
            ["ProxyCommand=ssh -W %h:%p -o User=x bastion"],
            ["ProxyCommand=nc %h %p", "B=1"],
            ("ProxyCommand=ssh -W %h:%p -o User=x bastion", "B=1"),
        ),
    ],
    ids=[
        "nothing",
        "flags-only",
        "config-only",
        "flag-overrides-config-case-insensitively",
        "several-overrides",
        "duplicate-flags-kept",
        "key-prefix-is-not-a-match",
        "value-with-equals",
        "order-kept-flags-first",
        "value-with-equals-in-the-flag",
    ],
)
def test_merge_options(from_flags, from_config, expected):
    assert merge_options(from_flags, from_config) == expected


# --- display / display_word -------------------------------------------------------

@pytest.mark.parametrize(
    "word, expected",
    [
        ("ssh", "ssh"),
        ("core@10.0.1.23", "core@10.0.1.23"),
        ("core@2001:db8::5", "core@2001:db8::5"),
        ("", "''"),
        ("a b", "'a b'"),
        ("ProxyCommand=nc %h %p", "'ProxyCommand=nc %h %p'"),
        ("it's", '"it\'s"'),
        ("'echo $HOME'", '"\'echo \\$HOME\'"'),
        ("'a\\b`c\"d'", '"\'a\\\\b\\`c\\"d\'"'),
        ("it's!", "'it'\"'\"'s!'"),
        ("hi!", "'hi!'"),
    ],
)
def test_display_word(word, expected):
    assert display_word(word) == expected


def _tricky_argvs():
    argvs = []
    for param in TRICKY_COMMANDS:
        command = param.values[0]
        for proxy in (None, PROXY):
            plan = SshPlan(target=TARGET, user="core", proxy=proxy, options=(PROXY_CMD,),
                           config_file="/home/me/my ssh config", command=command, tty=False)
            argvs.append(pytest.param(build_argv(plan), id=f"{param.id}-{'proxied' if proxy else 'direct'}"))
    argvs.append(pytest.param(["ssh", "it's!", "'$x'", "\"", "'", "!", "-"], id="raw-words"))
    return argvs


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("argv", _tricky_argvs())
def test_display_line_reads_back_as_the_same_argv(shell, argv):
    line = display(argv)
    assert shell_for_words(shell, line) == argv


def test_display_is_words_joined_by_single_spaces():
    argv = build_argv(SshPlan(target="T", user="core", proxy="P", command=("echo", "it's")))
    assert display(argv) == "ssh -A -t core@P ssh -A -t core@T \"'echo it'\\\"'\\\"'s'\""


def test_display_of_proxied_command_with_bang_uses_no_double_quotes():
    # Pasted into an interactive bash, '!' inside double quotes is history expansion.
    argv = build_argv(SshPlan(target="T", user="core", proxy="P", command=("echo", "don't!")))
    line = display(argv)
    assert shell_for_words("sh", line) == argv
    assert line == "ssh -A -t core@P ssh -A -t core@T ''\"'\"'echo don'\"'\"'\"'\"'\"'\"'\"'\"'t!'\"'\"''"
