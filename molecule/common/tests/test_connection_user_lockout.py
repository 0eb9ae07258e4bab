"""An admin entry for the user Ansible logs in as over SSH must keep the controller's key.

The role runs over real SSH as `ops` with its key (id_ops), the way production connects."""

import json
import os
import pathlib
import subprocess

import pytest
import testinfra

from conftest import EPHEMERAL, address, group

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
TARGET = group("k3s_cluster")[-1]


def public_key(name):
    return (EPHEMERAL / ("%s.pub" % name)).read_text().strip()


def run_over_ssh(extra_vars, *options):
    """The role over SSH as ops; `roles:` imports it statically, so --tags select its tasks."""
    playbook = EPHEMERAL / "ssh-common.yml"
    playbook.write_text("- name: Common over SSH\n  hosts: k3s_cluster\n  become: true\n"
                        "  roles: [sophia.platform.common]\n")
    inventory = EPHEMERAL / "ssh-inventory.ini"
    inventory.write_text(
        "[k3s_cluster]\n%s ansible_host=%s ansible_user=ops ansible_ssh_private_key_file=%s "
        "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new' "
        "ansible_python_interpreter=/usr/bin/python3\n"
        % (TARGET, address(TARGET), EPHEMERAL / "id_ops", EPHEMERAL / "known_hosts")
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(playbook), "-e", json.dumps(extra_vars),
         *options],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False,
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


@pytest.mark.parametrize("entry, message", [
    ({"name": "ops", "ssh_keys": ["STRANGER"]}, "do not include the key the controller logs in with"),
    ({"name": "ops", "state": "absent"}, "state: absent would remove it"),
])
def test_an_entry_that_would_lock_out_the_connection_user_is_refused_before_any_change(entry, message):
    entry = dict(entry, ssh_keys=[public_key("id_stranger")] if entry.get("ssh_keys") else [])
    host = testinfra.get_host("podman://%s" % TARGET)
    before = host.file("/home/ops/.ssh/authorized_keys").md5sum
    rc, output = run_over_ssh({"common_admin_users": [entry]})
    assert rc != 0
    assert message in output, output[-3000:]
    assert "changed=0" in output and "changed=1" not in output
    assert host.file("/home/ops/.ssh/authorized_keys").md5sum == before
    assert host.user("ops").exists


def test_an_entry_that_keeps_the_controllers_key_passes_the_check():
    rc, output = run_over_ssh({"common_admin_users": [{"name": "ops", "ssh_keys": [public_key("id_ops")]}]},
                              "--check", "--tags", "common_users")
    assert rc == 0, output[-3000:]
    assert "Refuse admin users that would lock out the connection user" in output
