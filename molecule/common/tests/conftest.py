"""Shared fixtures for the common scenario's verify step.

Hosts are reached with testinfra's podman backend (much faster than going
through Ansible); their groups and addresses come from molecule's inventory.
"""

import os
import pathlib
import subprocess

import pytest
import yaml

EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = yaml.safe_load(pathlib.Path(os.environ["MOLECULE_INVENTORY_FILE"]).read_text())


def group(name):
    """Host names in an inventory group of the scenario."""
    found = set()

    def walk(node, inside):
        for host in (node.get("hosts") or {}) if inside else ():
            found.add(host)
        for child_name, child in (node.get("children") or {}).items():
            walk(child or {}, inside or child_name == name)

    walk(INVENTORY.get("all", INVENTORY), name == "all")
    return sorted(found)


def address(host):
    """The host's address on the scenario network, read from the host itself."""
    out = subprocess.run(
        ["podman", "exec", host, "ip", "-4", "-o", "addr", "show", "eth0"],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.split()[3].split("/")[0]


def ssh(host, key, *command):
    """Run a command on a host over SSH as the admin user `ops`."""
    return subprocess.run(
        [
            "ssh", "-i", str(EPHEMERAL / key),
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "UserKnownHostsFile=%s" % (EPHEMERAL / "known_hosts"),
            "ops@%s" % address(host), *command,
        ],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="session")
def cluster_hosts():
    return group("k3s_cluster")
