"""usage.py: what is derived from the docopt text, checked against docopt on the whole text."""

import pytest
from docopt import DocoptExit, docopt

from dcos_node_ssh import usage

LINES = [
    ["node"], ["node", "list", "--json"], ["node", "--field=pid", "--field", "hostname"], ["node", "--info"],
    ["node", "ssh", "--leader"], ["node", "ssh", "--master-proxy", "--mesos-id=S1", "--option", "A=b", "--", "df"],
    ["node", "ssh", "--proxy-ip=h", "--private-ip=10.0.0.1", "--jump", "--check", "--json"],
    ["node", "run", "--agents", "--gather", "--", "true"], ["node", "run", "--mesos-id=a", "--mesos-id=b", "--", "x"],
    ["node", "scp", "-r", "--master-proxy", "--", "a", "leader:/tmp"], ["node", "ssh-config", "--write"],
]


@pytest.mark.parametrize("args", LINES)
def test_the_subcommands_own_patterns_parse_as_the_whole_text(args):
    """doc_for gives docopt only the patterns of the subcommand (docopt's matching grows with
    the square of the patterns); complete() fills in what the other patterns would have said."""
    whole = docopt(usage.USAGE, argv=args, default_help=False)
    own = usage.complete(docopt(usage.doc_for(args), argv=args, default_help=False))
    assert set(own) == set(whole)
    for key, value in whole.items():
        if key == "--mesos-id" and args[1:2] != ["run"]:
            continue  # repeated in `run`'s pattern only: a list in the whole text, one value elsewhere
        assert own[key] == value, key


@pytest.mark.parametrize("args", [["node", "frobnicate"], ["node", "ssh"], ["node", "run", "--agents"],
                                  ["node", "list", "--dry-run"]])
def test_what_the_whole_text_refuses_is_refused(args):
    with pytest.raises(DocoptExit):
        docopt(usage.USAGE, argv=args, default_help=False)
    with pytest.raises(DocoptExit):
        docopt(usage.doc_for(args), argv=args, default_help=False)


def test_the_remote_command_starts_at_the_first_word_that_is_not_an_option():
    assert usage.separate_remote_command(["node", "ssh", "--leader", "df", "-h"]) == [
        "node", "ssh", "--leader", "--", "df", "-h"]
    assert usage.separate_remote_command(["node", "ssh", "--slave", "S1", "ls", "-la"]) == [
        "node", "ssh", "--slave", "S1", "--", "ls", "-la"]
    assert usage.separate_remote_command(["node", "list", "--json"]) == ["node", "list", "--json"]
