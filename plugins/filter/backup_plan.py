# Copyright: Sophia platform team
# Apache License 2.0 (see LICENSE)
"""Filters: what backup.yml and restore.yml would do, named and checked before they do it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: backup_plan
author: Sophia platform team
version_added: 0.1.0
short_description: Name an on-demand backup and list its steps
description:
  - Names an on-demand etcd snapshot and an on-demand CloudNativePG backup of one environment
    from one UTC timestamp, and lists the steps C(playbooks/backup.yml) takes, so that its dry
    run prints exactly what a real run does.
  - "Names: C(sophia-<environment>-ondemand-<stamp>) for the etcd snapshot (K3s appends the node
    name and a UNIX timestamp to the file) and C(<cluster>-ondemand-<stamp>) for the
    Backup object (a DNS-1123 name of at most 63 characters)."
options:
  _input:
    description: The environment's name (C(sophia_environment)).
    type: str
    required: true
  now:
    description: The time of the backup, ISO 8601 with a time zone (C(now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ'))).
    type: str
    required: true
  etcd:
    description: Whether to take an etcd snapshot.
    type: bool
    default: true
  database:
    description: Whether to back up the database.
    type: bool
    default: true
  database_cluster:
    description: The CloudNativePG cluster's name.
    type: str
    default: sophia-postgres
  database_namespace:
    description: The cluster's namespace.
    type: str
    default: sophia
  first_server:
    description: The inventory name of the server that takes the etcd snapshot.
    type: str
    default: the first server
"""

EXAMPLES = r"""
- name: Name this run's backups
  ansible.builtin.set_fact:
    _backup: "{{ sophia_environment | sophia.platform.backup_plan(now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ')) }}"
"""

RETURN = r"""
_value:
  description: C(environment), C(stamp), C(etcd_snapshot_name) (or empty), C(database_backup_name)
    (or empty), C(database_cluster), C(database_namespace) and C(steps), a list of sentences.
  type: dict
"""

import datetime
import re

from ansible.errors import AnsibleFilterError

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SNAPSHOT_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$")
SNAPSHOT_DIR = "/var/lib/rancher/k3s/server/db/snapshots"


def _parse_time(value, name):
    text = str(value).strip()
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AnsibleFilterError(f"{name} must be an RFC 3339 time such as 2026-11-29T10:00:00Z (got {text!r})")
    if parsed.tzinfo is None:
        raise AnsibleFilterError(f"{name} needs a time zone, for example 2026-11-29T10:00:00Z (got {text!r})")
    return parsed.astimezone(datetime.timezone.utc)


def _check_environment(environment):
    if not isinstance(environment, str) or not _DNS_LABEL.match(environment):
        raise AnsibleFilterError(f"the environment name must be a DNS label such as staging (got {environment!r})")


def _check_label(value, name):
    if not _DNS_LABEL.match(value) or len(value) > 63:
        raise AnsibleFilterError(f"{name} must be a DNS-1123 label of at most 63 characters (got {value!r})")


def backup_plan(environment, now, etcd=True, database=True, database_cluster="sophia-postgres",
                database_namespace="sophia", first_server="the first server"):
    _check_environment(environment)
    _check_label(database_cluster, "database_cluster")
    _check_label(database_namespace, "database_namespace")
    if not etcd and not database:
        raise AnsibleFilterError("nothing to back up: both etcd and database are off")
    stamp = _parse_time(now, "now").strftime("%Y%m%dt%H%M%Sz")
    plan = {
        "environment": environment,
        "stamp": stamp,
        "etcd_snapshot_name": "",
        "database_backup_name": "",
        "database_cluster": database_cluster,
        "database_namespace": database_namespace,
        "steps": [],
    }
    if etcd:
        plan["etcd_snapshot_name"] = f"sophia-{environment}-ondemand-{stamp}"
        plan["steps"].append(
            f"etcd: on {first_server}, k3s etcd-snapshot save --name {plan['etcd_snapshot_name']} "
            f"(to {SNAPSHOT_DIR}, and to S3 when the cluster's snapshots go there)")
    if database:
        name = f"{database_cluster}-ondemand-{stamp}"
        _check_label(name, "the database backup's name (shorten database_cluster)")
        plan["database_backup_name"] = name
        plan["steps"].append(
            f"database: create Backup {database_namespace}/{name} of cluster {database_cluster} "
            "(method plugin, barman-cloud) and wait until it is completed")
    return plan


def _retention_days(value):
    """CloudNativePG's retentionPolicy (``30d``, ``4w``, ``3m``) in days; a month counts 28 to stay inside it."""
    match = re.match(r"^([1-9][0-9]*)([dwm])$", str(value).strip())
    if not match:
        raise AnsibleFilterError(f"retention must look like 30d, 4w or 3m (CloudNativePG's retentionPolicy; got {value!r})")
    return int(match.group(1)) * {"d": 1, "w": 7, "m": 28}[match.group(2)]


def restore_plan(environment, now, etcd_snapshot="", database_target_time="", retention="30d",
                 database_cluster="sophia-postgres", recovery_cluster="sophia-postgres-pitr",
                 database_namespace="sophia", first_server="the first server"):
    """Check a restore request and list its steps; refuse what cannot be restored."""
    _check_environment(environment)
    if not etcd_snapshot and not database_target_time:
        raise AnsibleFilterError(
            "nothing to restore: give restore_etcd_snapshot (a snapshot file name from status.yml or "
            "k3s etcd-snapshot ls) and/or restore_database_time (RFC 3339)")
    plan = {"environment": environment, "etcd_snapshot_path": "", "database_target_time": "",
            "recovery_cluster": "", "steps": []}
    if etcd_snapshot:
        if "/" in etcd_snapshot or not _SNAPSHOT_FILE.match(etcd_snapshot):
            raise AnsibleFilterError(
                f"restore_etcd_snapshot must be a snapshot file name from {SNAPSHOT_DIR}, without a directory (got {etcd_snapshot!r})")
        plan["etcd_snapshot_path"] = f"{SNAPSHOT_DIR}/{etcd_snapshot}"
        plan["steps"] += [
            "etcd: stop K3s on every server (agents keep running their pods)",
            f"etcd: on {first_server}, k3s server --cluster-reset --cluster-reset-restore-path={plan['etcd_snapshot_path']}",
            "etcd: start the first server, wait until /readyz answers ok",
            "etcd: on each other server in turn, move its etcd data aside, start K3s, wait until ready",
        ]
    if database_target_time:
        target = _parse_time(database_target_time, "restore_database_time")
        current = _parse_time(now, "now")
        if target > current:
            raise AnsibleFilterError(
                f"restore_database_time {target.isoformat()} is in the future (now {current.isoformat()})")
        oldest = current - datetime.timedelta(days=_retention_days(retention))
        if target < oldest:
            raise AnsibleFilterError(
                f"restore_database_time {target.isoformat()} is older than the backups' retention of "
                f"{retention} (oldest restorable {oldest.isoformat()})")
        _check_label(recovery_cluster, "recovery_cluster")
        if recovery_cluster == database_cluster:
            raise AnsibleFilterError("the recovery cluster must not be the live cluster: a restore never overwrites it")
        plan["database_target_time"] = target.strftime("%Y-%m-%dT%H:%M:%SZ")
        plan["recovery_cluster"] = recovery_cluster
        plan["steps"] += [
            f"database: create Cluster {database_namespace}/{recovery_cluster} recovered from "
            f"{database_cluster}'s base backup and WAL archive up to {plan['database_target_time']}",
            f"database: wait until {recovery_cluster} is ready; the live cluster {database_cluster} is not touched",
            "database: switching the application to the recovered cluster is the operator's step (docs/backup-restore.md)",
        ]
    return plan


class FilterModule:
    def filters(self):
        return {"backup_plan": backup_plan, "restore_plan": restore_plan}
