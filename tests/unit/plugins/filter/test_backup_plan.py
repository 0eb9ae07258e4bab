"""Unit tests of the backup_plan and restore_plan filters (naming, retention, refusals)."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.platform.plugins.filter.backup_plan import backup_plan, restore_plan

NOW = "2026-11-30T02:15:07Z"


def test_backup_names_come_from_one_utc_timestamp():
    plan = backup_plan("staging", "2026-11-30T03:15:07+01:00", first_server="sophia-master-01")
    assert plan["etcd_snapshot_name"] == "sophia-staging-ondemand-20261130t021507z"
    assert plan["database_backup_name"] == "sophia-postgres-ondemand-20261130t021507z"
    assert len(plan["steps"]) == 2
    assert "sophia-master-01" in plan["steps"][0]


def test_backup_database_name_is_a_dns_label():
    name = backup_plan("prod", NOW)["database_backup_name"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63


def test_backup_only_etcd_names_no_database_backup():
    plan = backup_plan("prod", NOW, database=False)
    assert plan["database_backup_name"] == "" and len(plan["steps"]) == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(etcd=False, database=False), "nothing to back up"),
    (dict(database_cluster="a" * 60), "shorten database_cluster"),
    (dict(database_cluster="Sophia"), "database_cluster must be a DNS-1123 label"),
])
def test_backup_refusals(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        backup_plan("prod", NOW, **kwargs)


@pytest.mark.parametrize("now", ["2026-11-30T02:15:07", "yesterday"])
def test_backup_needs_an_aware_time(now):
    with pytest.raises(AnsibleFilterError, match="now"):
        backup_plan("prod", now)


def test_backup_refuses_a_bad_environment_name():
    with pytest.raises(AnsibleFilterError, match="environment name"):
        backup_plan("Prod Env", NOW)


def test_restore_etcd_path_is_under_the_snapshot_directory():
    plan = restore_plan("prod", NOW, etcd_snapshot="sophia-prod-ondemand-x-sophia-master-01-1764468907")
    assert plan["etcd_snapshot_path"] == "/var/lib/rancher/k3s/server/db/snapshots/sophia-prod-ondemand-x-sophia-master-01-1764468907"
    assert plan["database_target_time"] == ""
    assert any("--cluster-reset-restore-path=" in step for step in plan["steps"])


@pytest.mark.parametrize("snapshot", ["../../etc/shadow", "/tmp/snap", "-rf", "a b"])
def test_restore_refuses_snapshot_names_that_are_not_file_names(snapshot):
    with pytest.raises(AnsibleFilterError, match="restore_etcd_snapshot"):
        restore_plan("prod", NOW, etcd_snapshot=snapshot)


def test_restore_database_time_is_normalised_to_utc():
    plan = restore_plan("prod", NOW, database_target_time="2026-11-30T01:00:00+01:00")
    assert plan["database_target_time"] == "2026-11-30T00:00:00Z"
    assert plan["recovery_cluster"] == "sophia-postgres-pitr"


@pytest.mark.parametrize("when, retention, message", [
    ("2026-11-30T03:00:00Z", "30d", "in the future"),
    ("2026-10-30T02:15:06Z", "30d", "older than the backups' retention of 30d"),
    ("2026-11-15T00:00:00Z", "2w", "older than the backups' retention of 2w"),
    ("2026-11-29T10:00:00", "30d", "needs a time zone"),
    ("2026-11-29T10:00:00Z", "30 days", "retention must look like"),
])
def test_restore_refuses_times_outside_what_the_backups_hold(when, retention, message):
    with pytest.raises(AnsibleFilterError, match=message):
        restore_plan("prod", NOW, database_target_time=when, retention=retention)


def test_restore_accepts_the_oldest_restorable_moment():
    plan = restore_plan("prod", NOW, database_target_time="2026-10-31T02:15:07Z", retention="30d")
    assert plan["database_target_time"] == "2026-10-31T02:15:07Z"


def test_restore_never_targets_the_live_cluster():
    with pytest.raises(AnsibleFilterError, match="must not be the live cluster"):
        restore_plan("prod", NOW, database_target_time="2026-11-29T10:00:00Z", recovery_cluster="sophia-postgres")


def test_restore_needs_something_to_restore():
    with pytest.raises(AnsibleFilterError, match="nothing to restore"):
        restore_plan("prod", NOW)
