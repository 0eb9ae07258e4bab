"""site.yml through ansible-runner against the lab's real hosts: the events, the
per-host stats and the artifacts say what happened, and it happened."""

import json

from conftest import OLD, podman


def test_site_run_through_runner_succeeds_on_every_lab_host(site):
    result = site[1]
    assert result.status == "successful", "".join(result.stdout.readlines())[-3000:]
    assert result.rc == 0
    stats = result.stats
    assert not stats["failures"] and not stats["dark"]
    assert set(OLD) <= set(stats["ok"])
    assert set(stats["processed"]) == set(OLD) | {"localhost"}


def test_site_events_show_each_host_configured_and_end_with_the_stats(site):
    result = site[1]
    events = list(result.events)
    assert events[-1]["event"] == "playbook_on_stats"
    assert len({event["uuid"] for event in events}) == len(events)
    counters = [event["counter"] for event in events]
    assert counters == sorted(counters)
    hostname_tasks = {event["event_data"]["host"] for event in events
                      if event["event"] == "runner_on_ok" and event["event_data"]["task"] == "Set the hostname"}
    assert hostname_tasks == set(OLD)
    assert not [event for event in events if event["event"] in ("runner_on_failed", "runner_on_unreachable")]


def test_site_artifacts_record_status_rc_stdout_and_every_event(site):
    pdd, result = site
    artifacts = pdd / "artifacts" / result.config.ident
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    stdout = (artifacts / "stdout").read_text()
    assert "PLAY RECAP" in stdout and all(host in stdout for host in OLD)
    recorded = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    assert len(recorded) == len(list(result.events))
    assert {event["event"] for event in recorded} >= {"playbook_on_start", "runner_on_ok", "playbook_on_stats"}


def test_site_really_configured_the_hosts(site):
    for host in OLD:
        assert podman("exec", host, "hostname").stdout.strip() == host
        # Peers are their private addresses, never the public ansible_host (10.77.0.1xx).
        for peer, peer_address in OLD.items():
            line = podman("exec", host, "getent", "ahostsv4", peer).stdout.split()
            assert line[0] == peer_address, (host, peer, line)
