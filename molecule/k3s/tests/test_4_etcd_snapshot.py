"""playbooks/etcd-snapshot.yml takes a named snapshot on the first server
(against k3s-double, which writes an empty file where K3s keeps snapshots)."""

import subprocess

from conftest import REPO, SERVERS, playbook


def test_on_demand_snapshot_lands_on_the_first_server():
    result = playbook(REPO / "playbooks" / "etcd-snapshot.yml", "-e", "etcd_snapshot_name=mol-check")
    assert result.returncode == 0, result.stdout[-3000:]
    listing = subprocess.run(["podman", "exec", SERVERS[0], "ls", "/var/lib/rancher/k3s/server/db/snapshots"],
                             check=True, capture_output=True, text=True, timeout=60).stdout.split()
    assert [name for name in listing if name.startswith("mol-check-%s-" % SERVERS[0])]
    for other in SERVERS[1:]:
        assert subprocess.run(["podman", "exec", other, "test", "-e", "/var/lib/rancher/k3s/server/db/snapshots"],
                              timeout=60, check=False).returncode != 0


def test_a_bad_snapshot_name_is_refused():
    result = playbook(REPO / "playbooks" / "etcd-snapshot.yml", "-e", "etcd_snapshot_name=../escape")
    assert result.returncode != 0
    assert "etcd_snapshot_name must be" in result.stdout
