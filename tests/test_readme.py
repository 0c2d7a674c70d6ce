"""README.rst's examples: every `dcos node …`, `dcos nodes …` and `dcos-node …` command line
in its literal blocks (synopses, with their [options] and <placeholders>, left out) parses
with the plugin's own usage, and those that need no ssh connection (listings, `run --list`,
`ssh --dry-run`, `ssh-config`) run in-process (helpers.in_process) against the loopback
stand-in of the cluster API (tests/clusterapi.py), whose cluster is the one the README's
example output shows; that output is compared with what the plugin prints. No root, no
ssh; a few seconds.
"""

import os
import re
import shlex

import pytest

import clusterapi
import clusterdata
from clusterdata import agent_entry, framework_entry, task_entry
from dcos_node_ssh import usage
from dcos_node_ssh.core_plugin import CORE_VERBS

from helpers import config_for, in_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.rst")
PROGRAMS = (("dcos", "node"), ("dcos", "nodes"), ("dcos-node",))


def literal_blocks(text):
    """The literal blocks of a reST text: (line number of the block's first line, its lines
    without their indentation). A block follows a paragraph ending in `::` (or a `::` line)
    and is everything indented more than that paragraph, blank lines included."""
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::") or line.strip().startswith(".."):
            continue
        base = len(line) - len(line.lstrip())
        start = index
        while index < len(lines) and not lines[index].strip():
            index += 1
        body = []
        first = index
        while index < len(lines) and (not lines[index].strip()
                                      or len(lines[index]) - len(lines[index].lstrip()) > base):
            body.append(lines[index])
            index += 1
        indent = min((len(text) - len(text.lstrip()) for text in body if text.strip()), default=0)
        if body and index > start:
            blocks.append((first + 1, [text[indent:] for text in body]))
    return blocks


def joined(lines):
    """(offset, line) with backslash continuations joined."""
    out = []
    pending, at = "", 0
    for offset, line in enumerate(lines):
        if not pending:
            at = offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((at, pending + line))
        pending = ""
    if pending:
        out.append((at, pending))
    return out


def command_words(line):
    """The words of the first command of a shell line (up to a pipe, `;`, `&&` or a
    redirection), as the shell gives them to the program; assignments before it dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word and set(word) <= set(";&|<>"):
            break
        words.append(word)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return words


def examples():
    """Every example command line of the README: (README line number, the line, its words)."""
    with open(README, encoding="utf-8") as stream:
        text = stream.read()
    found = []
    for first, block in literal_blocks(text):
        prompted = any(line.startswith("$ ") for line in block)
        for offset, line in joined(block):
            if prompted:
                if not line.startswith("$ "):
                    continue  # the output of the command above
                line = line[2:]
            words = command_words(line)
            if any(word.startswith(("[", "(")) or re.search(r"<[a-z][a-z -]*>", word) for word in words):
                continue  # a synopsis, not an example
            if any(tuple(words[:len(program)]) == program for program in PROGRAMS):
                found.append((first + offset, line.strip(), words))
    return found


def plugin_args(words):
    """The arguments as app.main gets them: `node …` (the DC/OS CLI passes the noun first)."""
    rest = words[2:] if words[0] == "dcos" else words[1:]
    return ["node"] + rest


EXAMPLES = examples()


def test_the_readme_has_examples_of_every_command():
    verbs = {plugin_args(words)[1] if len(plugin_args(words)) > 1 else "list" for _, _, words in EXAMPLES}
    assert {"list", "ssh", "run", "copy", "fetch", "scp", "ssh-config", "tunnel", "disconnect", "log"} <= verbs
    assert len(EXAMPLES) > 40


@pytest.mark.parametrize("number, line, words", EXAMPLES, ids=[f"line {number}" for number, _, _ in EXAMPLES])
def test_every_example_parses_with_the_plugins_usage(number, line, words):
    args = usage.separate_remote_command(plugin_args(words))
    if len(args) > 1 and args[1] in CORE_VERBS:
        return  # handed on to the DC/OS CLI's core plugin, whose usage is its own
    try:
        opts = usage.options(args)
    except BaseException as error:  # DocoptExit is a SystemExit
        pytest.fail(f"README.rst line {number} does not parse: {line}\n{type(error).__name__}: {error}")
    missing = usage.unchosen(args, opts)
    assert missing is None, f"README.rst line {number} lacks a target: {line}\n{missing.text}"


ID = "20151002-000353-1695027628-5050-1177-S{}"


def readme_cluster():
    """The cluster of the README's example output: a leader, three private agents on two
    racks and two zones, a public agent, a Kafka broker on S1, Marathon."""
    agents = [
        agent_entry(ID.format(0), "dcos-agent-1", "10.0.1.20", attributes={"rack": "r1"},
                    domain=("us-east-1", "us-east-1a")),
        agent_entry(ID.format(1), "dcos-agent-2", "10.0.1.21", attributes={"rack": "r2"},
                    domain=("us-east-1", "us-east-1b")),
        agent_entry(ID.format(2), "dcos-agent-3", "10.0.1.22", attributes={"rack": "r2"},
                    domain=("us-east-1", "us-east-1a")),
        agent_entry(ID.format(3), "dcos-public-1", "10.0.5.10", public=True, domain=("us-east-1", "us-east-1a")),
    ]
    scenario = clusterdata.scenario(public_ip="52.34.108.176", leader_ip="10.0.4.1", agents=agents)
    marathon = "20151002-000353-1695027628-5050-1177-0001"
    scenario["tasks"] = [task_entry("kafka-0-broker__5c1e", "kafka-0-broker", ID.format(1), framework_id=marathon)]
    scenario["frameworks"] = [framework_entry(marathon, "marathon")]
    return scenario


@pytest.fixture(scope="module")
def readme_api(tmp_path_factory):
    api = clusterapi.LoopbackStandIn(str(tmp_path_factory.mktemp("readme-api")), readme_cluster())
    yield api
    api.stop()


def runnable(args):
    """Whether an example stops before any connection: a listing, `run --list`, `ssh
    --dry-run`, `ssh-config` without --write, the protocol's --config-schema."""
    verb = args[1] if len(args) > 1 and not args[1].startswith("-") else None
    own = usage.own_words(args)
    return (verb in (None, "list") or (verb == "run" and "--list" in own) or (verb == "ssh" and "--dry-run" in own)
            or (verb == "ssh-config" and "--write" not in own))


# Examples whose exit status the README gives as other than 0, with what they print.
EXPECTED = {"dcos node ssh --master-proxy --mesos-id=S9 -- test -f /etc/motd": (125, "No agent matches 'S9'")}

def command_line(words):
    return " ".join(words)


# Run as they are: not those that name another cluster in the environment (DCOS_URL=… dcos node).
RUNNABLE = [(number, line, words) for number, line, words in EXAMPLES
            if not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", line)
            and (runnable(usage.separate_remote_command(plugin_args(words))) or command_line(words) in EXPECTED)]


def test_the_examples_that_need_no_connection_include_each_kind():
    kinds = {tuple(plugin_args(words)[1:2]) for _, _, words in RUNNABLE}
    assert {(), ("list",), ("run",), ("ssh",), ("ssh-config",)} <= kinds
    assert any("--field=attributes.rack" in line for _, line, _ in RUNNABLE)


@pytest.mark.parametrize("number, line, words", RUNNABLE, ids=[f"line {number}" for number, _, _ in RUNNABLE])
def test_every_example_that_needs_no_connection_runs(readme_api, tmp_path, number, line, words):
    home = str(tmp_path / "home")
    os.makedirs(home)
    config_for(home, readme_api.url, '\n[cluster]\nname = "mycluster"\n')
    status, said = EXPECTED.get(command_line(words), (0, ""))
    result = in_process(home, plugin_args(words))
    assert result.returncode == status, (
        f"README.rst line {number} exits {result.returncode}, not {status}: {line}\n{result.stderr}")
    assert said in result.stderr
    if status == 0:
        assert result.stdout.strip(), f"README.rst line {number} printed nothing: {line}"


def test_the_readmes_example_output_is_what_the_plugin_prints(readme_api, tmp_path):
    """The output shown after a `$` prompt is the plugin's own, for the listings and dry runs."""
    home = str(tmp_path / "home")
    os.makedirs(home)
    config_for(home, readme_api.url, '\n[cluster]\nname = "mycluster"\n')
    with open(README, encoding="utf-8") as stream:
        text = stream.read()
    checked = 0
    for _, block in literal_blocks(text):
        for index, line in enumerate(block):
            if not line.startswith("$ "):
                continue
            shown = []
            for after in block[index + 1:]:
                if after.startswith("$ ") or not after.strip():
                    break
                shown.append(after)
            words = command_words(line[2:])
            args = plugin_args(words)
            if not shown or not runnable(usage.separate_remote_command(args)):
                continue
            printed = in_process(home, args).stdout.rstrip("\n").splitlines()
            assert printed == shown, f"README.rst shows for `{line[2:]}`:\n" + "\n".join(shown)
            checked += 1
    assert checked >= 4


def test_the_references_synopses_are_the_usage_texts():
    """Each command's synopsis in the README is its pattern in usage.py, word for word."""
    with open(README, encoding="utf-8") as stream:
        text = stream.read()
    shown = {" ".join(line.split()) for _, block in literal_blocks(text) for _, line in joined(block)}
    shown |= {" ".join(" ".join(block).split()) for _, block in literal_blocks(text)}
    patterns, pattern = [], []
    for line in usage.usage_section().splitlines()[1:]:
        if line.split()[:2] == ["dcos", "node"] and pattern:
            patterns.append(" ".join(pattern))
            pattern = []
        pattern += line.split()
    patterns.append(" ".join(pattern))
    verbs = [words for words in patterns if re.match(r"dcos node [a-z]", words) or words.startswith("dcos node [list]")]
    assert len(verbs) >= 10
    missing = [words for words in verbs if not any(words in block for block in shown)]
    assert not missing, "README.rst lacks these synopses of usage.py:\n" + "\n".join(missing)
