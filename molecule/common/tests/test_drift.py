"""The role skips what the probe shows in place: drift on a converged host is still found and repaired.

Each managed item is changed behind the role's back on one host; one converge must repair every one of
them (the tasks that compare against sophia.platform.host_probe ran), and the next converge changes nothing.
Runs last in verify: it leaves the host as converge left it."""

import os
import pathlib
import re
import subprocess

import testinfra

from conftest import address, group

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
TARGET = group("k3s_cluster")[-1]
PEER = group("k3s_cluster")[0]

DRIFT = [
    "chmod 0600 /etc/chrony/chrony.conf",
    "echo 'APT::Periodic::Unattended-Upgrade \"0\";' >> /etc/apt/apt.conf.d/20auto-upgrades",
    "chmod 0755 /var/log/journal",
    "sed -i '/%s/d' /etc/hosts" % PEER,
    "ln -sf /usr/share/zoneinfo/Europe/Berlin /etc/localtime",
    "hostname drifted-name",
    "systemctl stop chrony",
    "usermod -s /bin/sh ops",
    "gpasswd -d veteran sophia-admins",
    "chage -M 99999 veteran",
    "echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDriftDriftDriftDriftDriftDriftDriftDriftDrift x' >> /home/ops/.ssh/authorized_keys",
    "chmod 0644 /etc/sudoers.d/50-sophia-admins",
]


def converge():
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"),
         "--limit", TARGET],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=900, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    recap = re.search(r"^%s\s+: ok=\d+\s+changed=(\d+)" % re.escape(TARGET), output, re.M)
    assert recap, output[-3000:]
    return int(recap.group(1)), output


def test_drift_is_repaired_and_the_next_run_changes_nothing():
    host = testinfra.get_host("podman://%s" % TARGET)
    before = host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    for command in DRIFT:
        host.check_output(command)

    changed, output = converge()
    assert changed > 0, output[-3000:]
    assert host.file("/etc/chrony/chrony.conf").mode == 0o644
    assert host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string == before
    assert host.file("/var/log/journal").mode == 0o2755
    assert host.check_output("getent hosts %s", PEER).split()[0] == address(PEER)
    assert host.file("/etc/localtime").linked_to.endswith("zoneinfo/Etc/UTC")
    assert host.check_output("hostname") == TARGET
    assert host.service("chrony").is_running
    assert host.user("ops").shell == "/bin/bash"
    assert "sophia-admins" in host.user("veteran").groups
    assert host.check_output("chage -l veteran | grep '^Maximum number of days'").split(":")[1].strip() == "-1"
    assert "Drift" not in host.file("/home/ops/.ssh/authorized_keys").content_string
    assert host.file("/etc/sudoers.d/50-sophia-admins").mode == 0o440
    # A change still notifies: chronyd was restarted on the repaired file.
    assert "RUNNING HANDLER [sophia.platform.common : Restart chrony]" in output

    changed, output = converge()
    assert changed == 0, output[-3000:]
