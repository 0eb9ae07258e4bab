"""backup.yml and restore.yml without a cluster: the environment guard, the dry run, and the
database restore rendered offline (k8s_apply_render_dir) instead of applied.

Every run uses the lab inventory; the plays that would reach a host or the cluster are either
skipped (dry run, refusal) or render to a directory, so no lab host needs to be up.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


def play(*args, check=None):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    run = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/lab", *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = run.stdout + run.stderr
    if check is not None:
        assert (run.returncode == 0) == check, output
    return output


def recap(output):
    match = re.search(r"changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output
    return tuple(int(n) for n in match.groups())


@pytest.mark.parametrize("playbook", ["backup.yml", "restore.yml"])
@pytest.mark.parametrize("confirm", [[], ["-e", "sophia_confirm_environment=staging"]])
def test_refuses_an_environment_not_confirmed(playbook, confirm):
    output = play(f"playbooks/{playbook}", "-e", "restore_database_time=2026-11-29T10:00:00Z", *confirm, check=False)
    assert "Confirm it with -e sophia_confirm_environment=lab" in output
    assert "Nothing was changed" in output
    assert recap(output)[0] == 0


@pytest.mark.parametrize("dry", [["-e", "backup_dry_run=true"], ["--check"]])
def test_backup_dry_run_lists_both_steps_and_does_neither(dry):
    output = play("playbooks/backup.yml", "-e", "sophia_confirm_environment=lab", *dry, check=True)
    assert "Backup of lab (dry run: nothing is done):" in output
    assert re.search(r"k3s etcd-snapshot save --name sophia-lab-ondemand-\d{8}t\d{6}z", output)
    assert re.search(r"create Backup sophia/sophia-postgres-ondemand-\d{8}t\d{6}z", output)
    # The snapshot and the database backup plays run no task: they would reach a host or the API.
    assert not re.search(r"TASK \[(Take the snapshot|Start the base backup)\][^\n]*\n(ok|changed|fatal)", output)
    assert recap(output) == (0, 0, 0)


def test_database_backup_refuses_without_a_cluster(tmp_path):
    output = play("playbooks/backup.yml", "-e", "sophia_confirm_environment=lab", "-e", "backup_etcd=false",
                  "-e", f"sophia_kubeconfig={tmp_path}/missing.yaml", check=False)
    assert f"{tmp_path}/missing.yaml does not exist" in output
    assert "The database was not backed up" in output


def test_restore_dry_run_lists_etcd_and_database_steps():
    output = play("playbooks/restore.yml", "--check", "-e", "sophia_confirm_environment=lab",
                  "-e", "restore_etcd_snapshot=sophia-lab-ondemand-20261130t021507z-sophia-master-01-1764468907",
                  "-e", "restore_database_time=2026-11-29T10:00:00Z", check=True)
    assert "Restore of lab (dry run: nothing is done):" in output
    assert "--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/sophia-lab-ondemand-" in output
    assert "up to 2026-11-29T10:00:00Z" in output
    assert not re.search(r"TASK \[(Stop K3s on every server|Apply the recovery cluster[^\]]*)\][^\n]*\n(ok|changed|fatal)", output)
    assert recap(output) == (0, 0, 0)


def test_restore_refuses_a_time_older_than_retention():
    output = play("playbooks/restore.yml", "-e", "sophia_confirm_environment=lab",
                  "-e", "restore_database_time=2020-01-01T00:00:00Z", check=False)
    assert "older than the backups' retention of 30d" in output


def test_database_restore_renders_a_new_cluster_and_leaves_the_live_one(tmp_path):
    play("playbooks/restore.yml", "-e", "sophia_confirm_environment=lab", "-e", "restore_database_time=2026-11-29T10:00:00Z",
         "-e", f"k8s_apply_render_dir={tmp_path}", check=True)
    clusters = {d["metadata"]["name"]: d for d in yaml.safe_load_all((tmp_path / "postgres-ha-cluster.yaml").read_text())
                if d and d.get("kind") == "Cluster"}
    assert clusters["sophia-postgres"]["spec"]["bootstrap"] == {
        "initdb": {"database": "sophia", "owner": "sophia", "secret": {"name": "sophia-postgres-app"}}}
    recovery = clusters["sophia-postgres-pitr"]["spec"]
    assert recovery["bootstrap"] == {"recovery": {"source": "origin", "recoveryTarget": {"targetTime": "2026-11-29T10:00:00Z"}}}
    assert recovery["externalClusters"][0]["plugin"]["parameters"]["serverName"] == "sophia-postgres"
