"""Shared helpers for the hardening scenario's verify step.

Files and services are read with testinfra's podman backend; SSH behaviour is
checked from the controller against the scenario's own containers only.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import testinfra

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]
HOSTS = ["hd-master-01", "hd-worker-01", "hd-worker-02"]


def host(name):
    return testinfra.get_host("podman://%s" % name)


def address(name):
    out = subprocess.run(["podman", "exec", name, "ip", "-4", "-o", "addr", "show", "eth0"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[3].split("/")[0]


def ssh(name, user, *command, known_hosts_strict=True, extra=()):
    return subprocess.run(
        [
            "ssh", "-i", str(EPHEMERAL / "id_admin"), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=5", "-o", "ControlPath=none",
            "-o", "StrictHostKeyChecking=%s" % ("yes" if known_hosts_strict else "no"),
            "-o", "UserKnownHostsFile=%s" % (EPHEMERAL / "known_hosts" if known_hosts_strict else "/dev/null"),
            *extra, "%s@%s" % (user, address(name)), *command,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )


def ssh_audit_binary():
    found = pathlib.Path(sys.executable).parent / "ssh-audit"
    return str(found) if found.exists() else shutil.which("ssh-audit")
