"""What the help and the errors tell a user, checked against what the commands do: the
claims of `--help` about the proxy and --json, and error texts that used to say something
untrue. In-process (helpers.cli): nothing here runs ssh."""

import re

import pytest

from helpers import config_for, in_process


def described(help_text, option):
    """The description of an option in the help: its line and the continuation lines under it."""
    lines = help_text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.lstrip().startswith(option + " "))
    text = [lines[start].strip()[len(option):]]
    for line in lines[start + 1:]:
        if not line.startswith(" " * 30) or not line.strip():
            break
        text.append(line.strip())
    return " ".join(" ".join(text).split())


@pytest.fixture
def help_text(home):
    result = in_process(home, ["node", "--help"])
    assert result.returncode == 0
    return result.stdout


def test_the_help_says_the_agent_is_forwarded_only_by_ssh(help_text):
    """It said `--master-proxy` forwards your ssh-agent, which run, scp and ssh-config never do."""
    assert "forward" not in described(help_text, "--master-proxy")
    assert "forward" not in described(help_text, "--proxy-ip=<host>")
    jump = described(help_text, "--jump")
    assert "`ssh` forwards your ssh-agent to the proxy" in jump
    assert "`run`, `copy`, `fetch`, `scp` and `ssh-config` always cross the proxy as --jump does" in jump
    assert "as `dcos node ssh --jump` would" in " ".join(help_text.split())


def test_the_help_of_json_names_every_command_that_takes_it(help_text):
    usage = help_text[help_text.index("Usage:"):help_text.index("\n\n", help_text.index("Usage:"))]
    patterns = re.split(r"\n\s*(?=dcos node)", usage.replace("dcos node [list]", "dcos node list"))
    taking = sorted({pattern.split()[2] for pattern in patterns if "--json" in pattern})
    assert taking == ["copy", "fetch", "list", "run", "ssh", "tunnel"]
    json = described(help_text, "--json")
    assert "`list`:" in json and "`ssh --check`" in json and "`tunnel --check`:" in json
    assert "`run`, `copy`, `fetch`:" in json


def test_the_help_of_write_says_what_it_checks_and_refuses(help_text):
    assert "`ssh -G`" in described(help_text, "--write")
    assert "not empty with --write" in described(help_text, "--prefix=<prefix>")


@pytest.mark.parametrize("args", [
    ["ssh", "--private-ip=10.0.1.20"],
    ["ssh", "--master-proxy", "--leader"],
    ["run", "--all", "--", "true"],
])
def test_a_client_path_that_does_not_exist_is_not_said_to_be_missing_from_path(home, api, args):
    config_for(home, api.url)
    result = in_process(home, ["node"] + args[:1] + ["--ssh-client=/opt/none/ssh"] + args[1:])
    assert result.returncode == 125
    assert result.stderr.endswith(f"dcos node {args[0]}: --ssh-client names /opt/none/ssh, which does not exist. "
                                  "Name the client's path, or leave out --ssh-client to use ssh from PATH.\n")
    assert "PATH." not in result.stderr.replace("ssh from PATH.", "")


def test_a_client_path_that_is_not_a_program_is_said_to_be_so(home, tmp_path):
    client = tmp_path / "ssh"
    client.write_text("not a program")
    result = in_process(home, ["node", "ssh", "--private-ip=10.0.1.20", f"--ssh-client={client}"])
    assert result.returncode == 125
    assert f"--ssh-client names {client}, which is not an executable file." in result.stderr


def test_the_examples_after_a_missing_target_never_name_a_refused_agent(home, api):
    from clusterdata import agent_entry

    scenario = api.default_scenario()
    scenario["slaves"] = [agent_entry("S-odd", "odd name", "10.0.1.9")] + scenario["slaves"]
    api.write_scenario(scenario)
    config_for(home, api.url)
    result = in_process(home, ["node", "ssh"])
    assert result.returncode == 125 and "For example:" in result.stderr
    assert "--mesos-id=S2" in result.stderr and "S-odd" not in result.stderr and "10.0.1.9" not in result.stderr
