"""playbooks/rotate-token.yml against k3s-double, which records the
`k3s token rotate` call (the old token's source, whether either token was in
its command line): the old token never on a command line, every token file
changed, servers then agents restarted one at a time, no token in the play
output at -v. The vault update the playbook asks for is done at the end, as an
operator would (the token file molecule's inventory reads)."""

import hashlib
import json
import os
import re
import secrets
import subprocess

import pytest
import testinfra

from conftest import AGENTS, ALL, EPHEMERAL, REPO, SERVERS, playbook, starts, token

PLAYBOOK = REPO / "playbooks" / "rotate-token.yml"


def rotations(host):
    out = subprocess.run(["podman", "exec", host, "sh", "-c", "cat /var/lib/k3s-double/token-rotations 2>/dev/null || true"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def rotation():
    old, new = token(), secrets.token_urlsafe(36)
    varsfile = EPHEMERAL / "token-new.yml"
    fd = os.open(varsfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("sophia_k3s_token_new: %s\n" % new)
    before = {name: len(starts(name)) for name in ALL}
    first = playbook(PLAYBOOK, "-v", "-e", "@%s" % varsfile)
    after_first = {name: starts(name) for name in ALL}
    again = playbook(PLAYBOOK, "-v", "-e", "@%s" % varsfile)
    after_again = {name: len(starts(name)) for name in ALL}
    # The operator's vault update: the inventory reads the token from this file.
    (EPHEMERAL / "token").write_text(new)
    return {"old": old, "new": new, "first": first, "again": again, "before": before,
            "after_first": after_first, "after_again": after_again}


def test_refused_without_a_new_token():
    result = playbook(PLAYBOOK)
    assert result.returncode != 0
    assert "rotate-token.yml needs the new token" in result.stdout
    assert all(rotations(name) == [] for name in ALL)


def test_rotation_ran_once_on_the_first_server_with_the_old_token_from_the_environment(rotation):
    assert rotation["first"].returncode == 0, rotation["first"].stdout[-4000:]
    records = rotations(SERVERS[0])
    assert len(records) == 1, records
    record = records[0]
    assert record["old_token_from_env"] is True
    assert record["old_token_in_cmdline"] is False
    assert record["new_token_sha256"] == hashlib.sha256(rotation["new"].encode()).hexdigest()
    # The exposure docs/k3s.md states: --new-token has no other form.
    assert record["new_token_in_cmdline"] is True
    assert all(rotations(name) == [] for name in ALL if name != SERVERS[0])


@pytest.mark.parametrize("name", ALL)
def test_every_token_file_holds_the_new_token_root_only(rotation, name):
    node = testinfra.get_host("podman://" + name)
    token_file = node.file("/etc/rancher/k3s/token")
    assert token_file.content_string.strip() == rotation["new"]
    assert (token_file.user, token_file.mode) == ("root", 0o600)
    assert not node.file("/run/sophia-k3s-token.new").exists


def test_servers_then_agents_restarted_once_each_one_at_a_time(rotation):
    after = rotation["after_first"]
    assert {name: len(after[name]) for name in ALL} == {name: rotation["before"][name] + 1 for name in ALL}
    times = [float(after[name][-1][0]) for name in SERVERS + AGENTS]
    assert times == sorted(times)


def test_no_token_in_the_play_output_or_log(rotation):
    log = (EPHEMERAL / "ansible.log").read_text()
    for run in (rotation["first"], rotation["again"]):
        for secret in (rotation["old"], rotation["new"]):
            assert secret not in run.stdout + run.stderr
    for secret in (rotation["old"], rotation["new"]):
        assert secret not in log


def test_a_second_run_rotates_and_restarts_nothing(rotation):
    again = rotation["again"]
    assert again.returncode == 0, again.stdout[-4000:]
    assert len(rotations(SERVERS[0])) == 1
    assert rotation["after_again"] == {name: len(rotation["after_first"][name]) for name in ALL}
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", again.stdout, re.M))
    assert all(recap[name] == "0" for name in ALL), recap
