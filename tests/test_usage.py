"""usage.py: what is derived from the docopt text, checked against docopt on the whole text."""

import pytest
from docopt import DocoptExit, docopt

from dcos_node_ssh import commands, usage
from dcos_node_ssh.errors import UsageError

LINES = [
    ["node"], ["node", "list", "--json"], ["node", "--field=pid", "--field", "hostname"], ["node", "--info"],
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
    for line, message in ((["node", "run", "--agents", "--task"], "--task needs a value."),
                          (["node", "ssh", "--pick=1", "--pick=2"], "--pick is given twice")):
        with pytest.raises(UsageError, match=message):
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
