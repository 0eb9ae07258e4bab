"""The SSH server, judged from the controller as a client sees it."""

import json
import os
import subprocess

import pytest

from conftest import EPHEMERAL, HOSTS, REPO, SCENARIO, address, host, ssh, ssh_audit_binary


@pytest.mark.parametrize("name", HOSTS)
def test_effective_sshd_settings(name):
    effective = host(name).check_output("sshd -T")
    for line in ["permitrootlogin no", "passwordauthentication no", "kbdinteractiveauthentication no",
                 "pubkeyauthentication yes", "authenticationmethods publickey", "allowgroups sophia-admins",
                 "x11forwarding no", "allowtcpforwarding no", "maxauthtries 3", "clientaliveinterval 300",
                 "banner /etc/issue.net"]:
        assert line in effective.splitlines(), line
    assert "ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com" in effective
    assert "cbc" not in [l for l in effective.splitlines() if l.startswith("ciphers ")][0]


@pytest.mark.parametrize("name", HOSTS)
def test_host_keys_regenerated_to_strong_types(name):
    h = host(name)
    assert h.file("/etc/ssh/.sophia-host-keys-regenerated").exists
    assert h.check_output("ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub").startswith("4096 ")
    assert "ED25519" in h.check_output("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")
    offered = [l for l in h.check_output("sshd -T").splitlines() if l.startswith("hostkey ")]
    assert sorted(offered) == ["hostkey /etc/ssh/ssh_host_ed25519_key", "hostkey /etc/ssh/ssh_host_rsa_key"]


@pytest.mark.parametrize("name", HOSTS)
def test_controller_known_hosts_has_the_new_keys(name):
    key = host(name).file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1]
    assert key in (EPHEMERAL / "known_hosts").read_text()
    # StrictHostKeyChecking=yes against that file: the new identity is trusted.
    result = ssh(name, "debian", "true")
    assert result.returncode == 0, result.stderr


def test_admin_logs_in_with_a_key_and_sees_the_banner():
    result = ssh("hd-master-01", "debian", "id -Gn")
    assert result.returncode == 0, result.stderr
    assert "sophia-admins" in result.stdout.split()
    assert "restricted to authorised users" in result.stderr


@pytest.mark.parametrize("user", ["root", "outsider"])
def test_users_outside_the_admin_group_are_refused(user):
    result = ssh("hd-master-01", user, "true")
    assert result.returncode == 255
    assert "Permission denied" in result.stderr


def test_no_password_authentication_is_offered():
    result = ssh("hd-master-01", "debian", "true",
                 extra=("-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no"))
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


@pytest.mark.parametrize("name", HOSTS[:1])
def test_ssh_audit_finds_no_failure(name):
    """ssh-audit 3.x exit codes: 0 good, 1 connection error, 2 warnings only, 3 failures."""
    binary = ssh_audit_binary()
    assert binary, "ssh-audit is not installed (pip install ssh-audit)"
    result = subprocess.run([binary, "-j", "-p", "22", address(name)], capture_output=True, text=True, timeout=120,
                            check=False)
    report = json.loads(result.stdout)
    failures = [
        (section, item.get("algorithm"))
        for section in ("kex", "key", "enc", "mac")
        for item in report.get(section, [])
        if item.get("notes", {}).get("fail")
    ]
    assert failures == []
    assert result.returncode in (0, 2), result.stdout[-2000:]
    warned = sorted(
        item.get("algorithm")
        for section in ("kex", "key", "enc", "mac")
        for item in report.get(section, [])
        if item.get("notes", {}).get("warn")
    )
    # Only the classic curve25519 exchange (kept for clients without the
    # post-quantum hybrid) may draw a warning.
    assert set(warned) <= {"curve25519-sha256", "curve25519-sha256@libssh.org"}, warned


def test_a_configuration_that_locks_out_the_connection_user_is_refused():
    """Run the role over SSH as `debian` with an admin group it is not in: refused, nothing changed."""
    name = "hd-worker-02"
    before = host(name).file("/etc/ssh/sshd_config").md5sum
    inventory = EPHEMERAL / "ssh-inventory.ini"
    inventory.write_text(
        "[k3s_cluster]\n%s ansible_host=%s ansible_user=debian ansible_ssh_private_key_file=%s "
        "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' "
        "ansible_python_interpreter=/usr/bin/python3\n"
        % (name, address(name), EPHEMERAL / "id_admin", EPHEMERAL / "known_hosts")
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(SCENARIO / "converge.yml"),
         "-e", json.dumps({"hardening_ssh_allow_groups": ["wheel-nobody"]})],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Refusing to change sshd on %s" % name in output
    assert "changed=0" in output
    assert host(name).file("/etc/ssh/sshd_config").md5sum == before


@pytest.mark.parametrize("name", HOSTS)
def test_no_ssh_socket_drop_in_where_sshd_is_not_socket_activated(name):
    """Debian 12 starts sshd from ssh.service: the port is sshd_config's, no socket drop-in is written."""
    h = host(name)
    assert not h.file("/etc/systemd/system/ssh.socket.d/sophia-listen.conf").exists
    assert h.run("systemctl is-active ssh.service").stdout.strip() == "active"
    assert "port 22" in h.check_output("sshd -T").splitlines()


def _presented_key(name):
    """The ed25519 host key the host's sshd presents to a client, as ssh-keyscan sees it."""
    result = subprocess.run(["ssh-keyscan", "-T", "10", "-t", "ed25519", address(name)],
                            capture_output=True, text=True, timeout=60, check=False)
    keys = [line.split()[2] for line in result.stdout.splitlines() if line and not line.startswith("#")]
    assert len(keys) == 1, result.stdout + result.stderr
    return keys[0]


def test_a_failed_known_hosts_write_leaves_the_old_host_keys_in_force():
    """A host due for new keys, a controller known_hosts that cannot be written: the run fails and the host
    still presents the key it had, so the controller's next connection still verifies."""
    name = "hd-worker-01"
    h = host(name)
    marker = "/etc/ssh/.sophia-host-keys-regenerated"
    before = _presented_key(name)
    h.check_output("mv %s %s.verify" % (marker, marker))
    try:
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
        result = subprocess.run(
            ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"),
             "--limit", name, "-e", json.dumps({"hardening_ssh_known_hosts_file": "/nonexistent/sophia/known_hosts"})],
            capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False,
        )
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode != 0
        # It failed writing known_hosts on the controller, before the keys would have moved.
        assert "failed: [%s -> localhost]" % name in output and "Failed to write to file" in output, output[-3000:]
        assert "Put the new host keys in force" not in output
        # New keys were made beside the old ones, but not put in force.
        assert h.file("/etc/ssh/ssh_host_ed25519_key.new.pub").exists
        assert not h.file(marker).exists
        assert _presented_key(name) == before
        assert before == h.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1]
        # The controller's real known_hosts still verifies the host.
        login = ssh(name, "debian", "true")
        assert login.returncode == 0, login.stderr
    finally:
        h.run("rm -f /etc/ssh/ssh_host_ed25519_key.new /etc/ssh/ssh_host_ed25519_key.new.pub "
              "/etc/ssh/ssh_host_rsa_key.new /etc/ssh/ssh_host_rsa_key.new.pub")
        h.run("mv %s.verify %s" % (marker, marker))
