"""playbooks/rolling-patch.yml on the lab with a fault injected on the second node: the first
node is patched, the second fails, the third is provably untouched (no task of the patch play
ran on it, and it holds no patch record). The lab has no cluster, so the run says so
(rolling_patch_without_cluster); the drain and uncordon steps await a cluster. A real reboot
of the playbook is shown in the qemu VM, not here: containers do not reboot."""

import json

import pytest

from conftest import REPO, podman, run_playbook

FIRST, SECOND, THIRD = "sophia-master-01", "sophia-worker-01", "sophia-worker-02"
RECORD = "/var/lib/sophia/last-rolling-patch.json"
# Any apt call on the host fails on this file: the injected fault.
BROKEN = "/etc/apt/apt.conf.d/00-sophia-test-fault"


def host_file(host, path):
    result = podman("exec", host, "cat", path, check=False)
    return result.stdout if result.returncode == 0 else None


@pytest.fixture(scope="module")
def patched(site, tmp_path_factory):
    assert site[1].status == "successful", "site.yml failed; the rolling patch was not tried"
    for host in (FIRST, SECOND, THIRD):
        podman("exec", host, "rm", "-f", RECORD)
    podman("exec", SECOND, "sh", "-c", "echo 'this is { not apt syntax' > %s" % BROKEN)
    try:
        result = run_playbook(tmp_path_factory.mktemp("rolling-patch"), "playbooks/rolling-patch.yml",
                              [REPO / "inventories" / "lab"],
                              extravars={"sophia_confirm_environment": "lab", "rolling_patch_without_cluster": True,
                                         "rolling_patch_update_cache": False})
    finally:
        podman("exec", SECOND, "rm", "-f", BROKEN)
    return result


def hosts_with_events(result, play_name):
    return {event["event_data"].get("host") for event in result.events
            if event["event"].startswith("runner_on_") and event["event_data"].get("play") == play_name}


def test_the_run_fails_at_the_second_node(patched):
    assert patched.status == "failed"
    failed = {event["event_data"]["host"] for event in patched.events if event["event"] == "runner_on_failed"
              and not event["event_data"].get("ignore_errors")}
    assert failed == {SECOND}


def test_the_first_node_was_patched_and_recorded(patched):
    record = json.loads(host_file(FIRST, RECORD))
    assert record["rebooted"] is False and record["held_included"] is False


def test_the_third_node_is_untouched(patched):
    assert THIRD not in hosts_with_events(patched, "Patch one node at a time")
    assert {FIRST, SECOND} <= hosts_with_events(patched, "Patch one node at a time")
    assert host_file(THIRD, RECORD) is None
    assert host_file(SECOND, RECORD) is None


def test_refuses_without_confirmation_or_cluster(site, tmp_path_factory):
    for extravars, message in [({"rolling_patch_without_cluster": True}, "Confirm it with -e sophia_confirm_environment=lab"),
                               ({"sophia_confirm_environment": "lab"}, "so the nodes cannot be drained")]:
        result = run_playbook(tmp_path_factory.mktemp("rolling-patch-refused"), "playbooks/rolling-patch.yml",
                              [REPO / "inventories" / "lab"], extravars=extravars)
        assert result.status == "failed"
        messages = " ".join(str(event["event_data"]["res"].get("msg", "")) for event in result.events
                            if event["event"] == "runner_on_failed")
        assert message in messages
        assert not hosts_with_events(result, "Patch one node at a time")
