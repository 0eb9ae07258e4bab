"""Broken releases stop the run before anything is installed: the agent keeps
its binary, config and service untouched."""

import json

import pytest

from conftest import AGENTS, DOUBLE_SHA256, EPHEMERAL, SCENARIO, playbook, starts
import testinfra

AGENT = AGENTS[0]


@pytest.fixture(scope="module")
def outcomes():
    before = starts(AGENT)
    result = playbook(SCENARIO / "files" / "bad-release.yml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    data = {entry["case"]: entry for entry in json.loads((EPHEMERAL / "bad-release.json").read_text())}
    return before, data


@pytest.mark.parametrize("case,task,message", [
    ("bundle-wrong", "Stop before installing anything when a file does not match the sha256 list", "Nothing was installed"),
    ("url-wrong", "Download the binary and the airgap images, checked against the list", "did not match"),
    ("url-missing", "Download the binary and the airgap images, checked against the list", "404"),
    ("url-truncated", "Download the binary and the airgap images, checked against the list", "did not match"),
])
def test_broken_release_stops_before_install(outcomes, case, task, message):
    data = outcomes[1]
    entry = data[case]
    assert entry["failed"] is True
    assert entry["task"].endswith(task), entry
    assert message in json.dumps(entry), entry


def test_installed_k3s_is_untouched(outcomes):
    before = outcomes[0]
    node = testinfra.get_host("podman://" + AGENT)
    assert node.file("/usr/local/bin/k3s").sha256sum == DOUBLE_SHA256
    assert starts(AGENT) == before
    assert node.service("k3s-agent").is_running
