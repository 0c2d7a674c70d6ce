"""usage.py: what is derived from the docopt text, checked against docopt on the whole text."""

import re

import pytest
from docopt import DocoptExit, docopt

from dcos_node_ssh import commands, usage
from dcos_node_ssh.errors import UsageError

from helpers import dry_run_line, in_process

LINES = [
    ["node"], ["node", "list", "--json"], ["node", "list", "--mesos-id=S1"],
    ["node", "--field=pid", "--field", "hostname"], ["node", "--info"],
    ["node", "ssh", "--leader"], ["node", "ssh", "--master-proxy", "--mesos-id=S1", "--option", "A=b", "--", "df"],
    ["node", "ssh", "--proxy-ip=h", "--private-ip=10.0.0.1", "--jump", "--check", "--json"],
    ["node", "run", "--agents", "--gather", "--", "true"], ["node", "run", "--mesos-id=a", "--mesos-id=b", "--", "x"],
    ["node", "scp", "-r", "--master-proxy", "--", "a", "leader:/tmp"], ["node", "ssh-config", "--write"],
    ["node", "ssh", "--task=web", "--task", "db", "--exclude=host:a*", "--pick=1", "--", "df"],
    ["node", "ssh", "--mesos-id=S1", "--attribute=rack:r1"],
    ["node", "run", "--attribute=rack:r1", "--attribute=gpu", "--region=r", "--zone=z", "--host=h", "--task=t",
     "--framework=f", "--exclude=zone:z", "--pick=10%", "--batch=1,5,25%", "--max-fail=2", "--pause=3", "--", "x"],
    ["node", "run", "--public-agents", "--list", "--json"],
    ["node", "ssh-config", "--zone=z", "--exclude=task:t", "--pick=3"],
]


@pytest.mark.parametrize("args", LINES)
def test_the_subcommands_own_patterns_give_the_flags_of_the_whole_text(args):
    """doc_for gives docopt only the patterns of the subcommand (docopt's matching grows with
    the square of the patterns); each command's typed flags are the same either way."""
    command = commands.load(args[1] if len(args) > 1 and args[1] in commands.COMMANDS else "list")
    whole = command.parse(docopt(usage.USAGE, argv=args, default_help=False))
    own = command.parse(usage.options(args))
    assert own == whole


def test_docopt_matches_patterns_without_the_selectors_which_come_back_after():
    def patterns(args):
        return usage.doc_for(args).split("\n\n")[1]

    assert "--attribute" not in patterns(["node", "ssh"]) and "--attribute" in usage.usage_section()
    assert "[--task=<task>]" in patterns(["node", "tunnel", "forward"])
    args = ["node", "run", "--agents", "--task", "web", "--exclude=host:h", "--pick", "2", "--", "x", "--task=y"]
    assert usage.take_selectors(args) == (["node", "run", "--agents", "--", "x", "--task=y"],
                                          {"--task": ["web"], "--exclude": ["host:h"], "--pick": "2"})
    assert usage.take_selectors(["node", "tunnel", "forward", "--task=web"])[1] == {}
    # A value may hold '=' (the option is named by what comes before the first one), and an
    # option may be abbreviated as docopt allows.
    assert usage.take_selectors(["node", "run", "--agents", "--attr=k:a=b", "--exclude=attribute:k:c=d"]) == (
        ["node", "run", "--agents"], {"--attribute": ["k:a=b"], "--exclude": ["attribute:k:c=d"]})
    for line, message in ((["node", "run", "--agents", "--task"], "--task needs a value."),
                          (["node", "run", "--agents", "--task", "--", "x"], "--task needs a value."),
                          (["node", "ssh", "--pick=1", "--pick=2"], "--pick is given twice; give it once.")):
        with pytest.raises(UsageError, match=f"^{re.escape(message)}$"):
            usage.options(line)


def test_every_subcommand_of_the_usage_is_registered():
    assert set(usage._subcommands()) | {"list"} == set(commands.COMMANDS)


@pytest.mark.parametrize("args", [["node", "frobnicate"], ["node", "run", "--agents"], ["node", "list", "--dry-run"],
                                  ["node", "run", "--agents", "--list", "--", "x"]])
def test_what_the_whole_text_refuses_is_refused(args):
    with pytest.raises(DocoptExit):
        docopt(usage.USAGE, argv=args, default_help=False)
    with pytest.raises(DocoptExit):
        docopt(usage.doc_for(args), argv=args, default_help=False)


@pytest.mark.parametrize("args, kind", [
    (["node", "ssh"], usage.ProblemKind.NO_TARGET), (["node", "ssh", "--pick=1"], usage.ProblemKind.NO_TARGET),
    (["node", "run", "--", "x"], usage.ProblemKind.NO_SELECTION),
    (["node", "run", "--exclude=host:h", "--", "x"], usage.ProblemKind.NO_SELECTION),
])
def test_what_docopt_cannot_require_is_refused_after_it(args, kind):
    """One of a group, or any number of selectors: docopt takes the line, usage.unchosen does not."""
    assert usage.unchosen(args, usage.options(args)).kind is kind
    for chosen in (["--task=t"], ["--leader"] if args[1] == "ssh" else ["--agents"]):
        line = args[:2] + chosen + args[2:]
        assert usage.unchosen(line, usage.options(line)) is None


def test_the_remote_command_starts_at_the_first_word_that_is_not_an_option():
    assert usage.separate_remote_command(["node", "ssh", "--leader", "df", "-h"]) == [
        "node", "ssh", "--leader", "--", "df", "-h"]
    assert usage.separate_remote_command(["node", "ssh", "--slave", "S1", "ls", "-la"]) == [
        "node", "ssh", "--slave", "S1", "--", "ls", "-la"]
    assert usage.separate_remote_command(["node", "list", "--json"]) == ["node", "list", "--json"]


# -- where the remote command starts, as a user sees it: the ssh line --dry-run prints --------

DIRECT = ["node", "ssh", "--private-ip=10.0.0.1", "--dry-run"]


@pytest.mark.parametrize("words, line", [
    # -h after the command's first word is the command's own, not a request for help
    (["df", "-h"], "ssh -A -T core@10.0.0.1 'df -h'"),
    # an explicit `--` ends the plugin's options; a second one is the command's
    (["--", "uname", "--", "-h"], "ssh -A -T core@10.0.0.1 'uname -- -h'"),
    (["--", "--help"], "ssh -A -T -- core@10.0.0.1 --help"),
    (["ls", "--", "-h"], "ssh -A -T core@10.0.0.1 'ls -- -h'"),
    # a lone `-` is a word of the command (stdin, to many programs), not an option
    (["-", "x"], "ssh -A -T -- core@10.0.0.1 '- x'"),
])
def test_the_remote_command_keeps_its_own_options(home, words, line):
    assert dry_run_line(in_process(home, DIRECT + words)) == line


@pytest.mark.parametrize("args", [
    # docopt takes a unique beginning of a long option; one that takes a value takes the next word
    ["node", "ssh", "--private-i", "10.0.0.1", "--dry", "--opt", "Port=2", "uname", "-a"],
    ["node", "ssh", "--private-i=10.0.0.1", "--dry-r", "--opt=Port=2", "uname", "-a"],
])
def test_abbreviated_options_are_the_plugins_and_the_command_follows_them(home, args):
    assert dry_run_line(in_process(home, args)) == "ssh -A -T -o Port=2 core@10.0.0.1 'uname -a'"


def test_h_before_the_command_asks_for_help(home):
    result = in_process(home, DIRECT + ["-h", "uname"])
    assert result.returncode == 0 and result.stdout.startswith(
        "SSH to the leading master or any agent of a DC/OS cluster, list the nodes")


def test_an_unknown_option_before_the_command_says_to_put_double_dash(home):
    result = in_process(home, DIRECT + ["--frob", "ls"])
    assert result.returncode == 125
    assert result.stderr.startswith("dcos node ssh: Unknown option '--frob'. To pass options to a remote command, "
                                    "put `--` before the command.\n\nUsage:\n")


@pytest.mark.parametrize("args, text", [
    (["node", "ssh", "--leader", "--private-ip=10.0.0.1"], "Choose one target, not --leader and --private-ip."),
    (["node", "ssh", "--leader", "--master-proxy", "--proxy-ip=h"],
     "Choose one proxy, not --master-proxy and --proxy-ip."),
    (["node", "run", "--all", "--masters", "x"], "Choose one selection, not --all and --masters."),
    (["node", "run", "--agents", "--json", "--output-dir=o", "x"], "Choose one output, not --json and --output-dir."),
    (["node", "scp", "--master-proxy", "--proxy-ip=h", "a", "b"],
     "Choose one proxy, not --master-proxy and --proxy-ip."),
    (["node", "tunnel", "forward", "--task=web", "--port-index=0", "--port-name=http"],
     "Choose one port, not --port-index and --port-name."),
])
def test_two_flags_of_a_kind_are_named_with_their_kind(home, args, text):
    result = in_process(home, args)
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == f"dcos node {args[1]}: {text}"


@pytest.mark.parametrize("args, recursive, preserve", [
    (["node", "scp", "-r", "S1:/var/log", "."], True, False),
    (["node", "scp", "S1:/var/log/x", "."], False, False),
    (["node", "scp", "-p", "S1:/var/log/x", "."], False, True),
    (["node", "scp", "-r", "-p", "S1:/var/log", "."], True, True),
])
def test_scp_copies_folders_only_with_r_and_keeps_times_only_with_p(args, recursive, preserve):
    flags = commands.load("scp").parse(docopt(usage.doc_for(args), argv=args, default_help=False))
    assert (flags.recursive, flags.preserve, flags.paths) == (recursive, preserve, tuple(args[-2:]))


@pytest.mark.parametrize("args, text", [
    (["node", "scp", "--frob", "a", "S1:b"], "Unknown option '--frob'."),  # no remote command to speak of
    (["node", "ssh-config", "--frob"], "Unknown option '--frob'."),
    (["node", "ssh", "--leader", "--frob=x"],
     "Unknown option '--frob=x'. To pass options to a remote command, put `--` before the command."),
    (["node", "ssh", "--leader", "-x"],
     "Unknown option '-x'. To pass options to a remote command, put `--` before the command."),
    (["node", "ssh"], "Say which node to reach: --leader (the leading master), --mesos-id=<id> (alias --slave: an "
                      "agent by ID, a unique part of its ID, its host name or address), --private-ip=<ip>, or "
                      "selectors that leave one node (--task=<task>, --host=<glob>, --attribute=<name:value>..., "
                      "with --pick=1 to have one chosen)."),
    (["node", "ssh-config", "--write", "extra"], "The command line does not match the usage below."),
    (["node", "fetch", "--agents", "/var/log/x"], "Name what to copy and where: one or more paths on the nodes "
     "(folders with -r), then a new or empty local folder to fetch into."),
    (["node", "copy", "--agents"], "Name what to copy and where: one or more local files (folders with -r), then the "
     "path on the nodes to copy them to."),
    (["node", "scp", "a"], "Name what to copy and where: one or more sources, then the destination; a path on a node "
     "is <node>:<path>."),
])
def test_a_command_line_docopt_refuses_is_said_as_precisely_as_can_be(home, args, text):
    result = in_process(home, args)
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == f"dcos node {args[1]}: {text}"
    assert "\n\nUsage:\n" in result.stderr


@pytest.mark.parametrize("args, doing", [
    (["node", "run", "--", "true"], "run the command on"),
    (["node", "copy", "a", "b"], "copy to"),
    (["node", "fetch", "a", "b"], "fetch from"),
])
def test_a_command_on_many_nodes_without_a_selection_says_how_to_choose_them(home, args, doing):
    text = (f"Say which nodes to {doing}: --all, --masters, --agents, --private-agents, --public-agents, or "
            "--mesos-id=<id> (repeatable: an agent by ID, a unique part of its ID, its host name or address); or "
            "selectors, which choose among every node (--attribute=<name:value>, --region, --zone, --host=<glob>, "
            "--task=<task>, --framework=<name>).")
    assert usage.no_selection_text(args[1]) == text
    result = in_process(home, args)
    assert result.returncode == 125
    assert result.stderr.split("\n\n")[0] == f"dcos node {args[1]}: {text}"
    assert "\n\nUsage:\n" in result.stderr


NO_MATCH = "The command line does not match the usage below."
COPY_PATHS = ("Name what to copy and where: one or more local files (folders with -r), then the path on the nodes to "
              "copy them to.")
K = usage.ProblemKind


@pytest.mark.parametrize("args, kind, text", [
    (["node", "tunnel"], K.OTHER, "Say which tunnel: `socks` (a SOCKS5 proxy on 127.0.0.1 into the cluster) or "
                                  "`forward` (local ports to <node>:<port>, <name>:<port> or a task's port)."),
    (["node", "tunnel", "socks", "--", "x"], K.OTHER, NO_MATCH),  # a kind of tunnel, with words it does not take
    (["node", "--", "x"], K.OTHER, NO_MATCH),  # no subcommand among the plugin's own words
    (["node", "copy"], K.OTHER, COPY_PATHS),
    (["node", "ssh", "--leader", "--private-ip=10.0.0.1"], K.TWO_OF_A_KIND,
     "Choose one target, not --leader and --private-ip."),
    (["node", "copy", "--agents", "--gather", "a", "b"], K.UNKNOWN_OPTION,
     "--gather is not an option of `dcos node copy`."),
    (["node", "ssh", "--leader", "-x"], K.UNKNOWN_OPTION,
     "Unknown option '-x'. To pass options to a remote command, put `--` before the command."),
    (["node", "run", "--agents", "--list", "--", "x"], K.OTHER,
     "--list prints the nodes selected and runs nothing: leave out the command, or --list."),
    (["node", "run", "--agents", "--list", "--timeout=1", "--timeout=2"], K.OTHER, NO_MATCH),  # a flag twice
    (["node", "run", "--agents"], K.OTHER, "Say what to run on the nodes, after the options (put `--` before a "
                                           "command that starts with '-'), or --list to see the nodes selected."),
    # the paths of a copy: every word from the third on that is not an option, after `--` too ('-' among them)
    (["node", "copy", "--agents", "--", "a"], K.OTHER, COPY_PATHS),
    (["node", "copy", "--agents", "--json", "a"], K.OTHER, COPY_PATHS),
    (["node", "copy", "a", "--agents", "--timeout=1", "--timeout=2", "b"], K.OTHER, NO_MATCH),
    (["node", "copy", "--agents", "--timeout=1", "--timeout=2", "--", "-", "a"], K.OTHER, NO_MATCH),
])
def test_what_is_wrong_with_a_line_docopt_refuses(home, args, kind, text):
    assert usage.diagnose(args) == usage.Problem(kind, text)
    result = in_process(home, args)
    assert result.returncode == 125
    paragraph, shown = result.stderr.split("\n\n", 1)
    assert paragraph.startswith("dcos node") and paragraph.endswith(": " + text), result.stderr
    # the usage patterns follow, and only they: the options are for --help
    assert shown.startswith("Usage:\n    dcos node [list] ") and shown.endswith("\n    dcos node (-h | --help)\n")


def test_an_abbreviation_of_help_is_not_taken_for_it(home):
    """-h and --help ask for help; `--hel` is an option `list` does not have (docopt would
    otherwise print the whole text and exit 0 on a prefix of --help)."""
    result = in_process(home, ["node", "list", "--hel"])
    assert result.returncode == 125 and result.stdout == ""
    assert result.stderr.startswith("dcos node list: The command line does not match the usage below.")


def test_a_subcommand_of_one_word_keeps_its_pattern():
    assert usage.doc_for(["node", "disconnect"]).split("Usage:\n")[1].split("\n\n")[0] == "    dcos node disconnect"
    assert usage.options(["node", "disconnect"])["disconnect"] is True
