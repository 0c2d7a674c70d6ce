"""A token is sent only to the cluster it belongs to: with DCOS_URL naming another cluster
than the configuration's, the configuration's token stays home unless DCOS_ACS_TOKEN comes
too, and a 401 says why. The CLI in-process against the loopback cluster API."""

import pytest

from dcos_node_ssh.settings import settings_from
from helpers import config_for, in_process, logged

LEADER = "/mesos_dns/v1/hosts/leader.mesos"

FILE_URL = "https://attached.example.com"
TOKEN = "token-of-the-attached-cluster"


@pytest.mark.parametrize("env, token, withheld", [
    ({}, TOKEN, None),
    ({"DCOS_URL": FILE_URL}, TOKEN, None),
    ({"DCOS_URL": FILE_URL + "/"}, TOKEN, None),
    ({"DCOS_URL": "HTTPS://Attached.Example.com"}, TOKEN, None),
    ({"DCOS_URL": "https://other.example.com"}, None, FILE_URL),
    ({"DCOS_URL": "https://other.example.com", "DCOS_ACS_TOKEN": "its-own"}, "its-own", None),
    ({"DCOS_URL": "https://other.example.com", "DCOS_ACS_TOKEN": "  "}, None, FILE_URL),
], ids=["no-variable", "same-url", "same-url-slash", "same-url-case", "other-cluster", "other-with-token",
        "other-with-blank-token"])
def test_the_files_token_goes_only_to_the_files_cluster(env, token, withheld):
    settings = settings_from({"core": {"dcos_url": FILE_URL, "dcos_acs_token": TOKEN}}, env, "/h/.dcos/dcos.toml")
    assert (settings.acs_token, settings.token_withheld_for) == (token, withheld)


def test_nothing_is_withheld_when_the_file_has_no_token():
    settings = settings_from({"core": {"dcos_url": FILE_URL}}, {"DCOS_URL": "https://other"}, "/h/.dcos/dcos.toml")
    assert (settings.acs_token, settings.token_withheld_for) == (None, None)


def test_another_clusters_api_never_sees_the_token_and_the_401_says_why(home, api):
    api.write_scenario(api.default_scenario(token="the-other-clusters-token"))
    config_for(home, FILE_URL, f'dcos_acs_token = "{TOKEN}"\n')
    result = in_process(home, ["node", "ssh", "--dry-run", "--leader"], DCOS_URL=api.url)
    assert result.returncode == 125 and result.stdout == ""
    assert logged(api, LEADER)["authorization"] is None
    message = result.stderr
    assert "refused the request as unauthenticated (HTTP 401)" in message
    assert f"configuration in {home}/.dcos/dcos.toml is for the cluster at {FILE_URL}" in message
    assert "Set DCOS_ACS_TOKEN" in message and TOKEN not in message and message.count("\n") == 1


def test_with_its_own_token_another_cluster_is_asked_with_that(home, api):
    api.write_scenario(api.default_scenario(token="the-other-clusters-token"))
    config_for(home, FILE_URL, f'dcos_acs_token = "{TOKEN}"\n')
    result = in_process(home, ["node", "ssh", "--dry-run", "--leader"], DCOS_URL=api.url,
                        DCOS_ACS_TOKEN="the-other-clusters-token")
    assert result.returncode == 0, result.stderr
    assert logged(api, LEADER)["authorization"] == "token=the-other-clusters-token"


def test_the_attached_cluster_still_gets_its_token(home, api):
    api.write_scenario(api.default_scenario(token=TOKEN))
    config_for(home, api.url, f'dcos_acs_token = "{TOKEN}"\n')
    result = in_process(home, ["node", "ssh", "--dry-run", "--leader"], DCOS_URL=api.url + "/")
    assert result.returncode == 0, result.stderr
    assert logged(api, LEADER)["authorization"] == f"token={TOKEN}"


@pytest.mark.parametrize("file_url, named, withheld", [
    ("https://dcos.example.com/X/", "https://DCOS.example.com/x", None),  # the same, a slash and case apart
    ("https://dcos.example.com/x", "https://dcos.example.com/X/", None),
    ("https://dcos.example.com/X/", "https://other.example.com", "https://dcos.example.com/X"),
])
def test_urls_are_compared_without_their_last_slash_or_case(file_url, named, withheld):
    settings = settings_from({"core": {"dcos_url": file_url, "dcos_acs_token": TOKEN}}, {"DCOS_URL": named}, None)
    assert settings.token_withheld_for == withheld
    assert settings.acs_token == (None if withheld else TOKEN)
