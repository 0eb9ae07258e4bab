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
    """Host names in an inventory group of the scenario (its children included).

    Molecule writes groups as top-level keys beside `all`."""
    found = set()

    def walk(node, inside):
        if not isinstance(node, dict):
            return
        if inside:
            found.update(node.get("hosts") or {})
        for child_name, child in (node.get("children") or {}).items():
            walk(child, inside or child_name == name)

    for top_name, top in INVENTORY.items():
        walk(top, top_name == name)
    if not found:
        raise LookupError("group %s has no hosts in %s" % (name, os.environ["MOLECULE_INVENTORY_FILE"]))
    return sorted(found)


def address(host):
    """The host's address on the scenario network, read from the host itself."""
    out = subprocess.run(
        ["podman", "exec", host, "ip", "-4", "-o", "addr", "show", "eth0"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    return out.split()[3].split("/")[0]


def ssh(host, key, *command, user="ops"):
    """Run a command on a host over SSH as an admin user (`ops` unless told)."""
    return subprocess.run(
        [
            "ssh", "-i", str(EPHEMERAL / key),
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "UserKnownHostsFile=%s" % (EPHEMERAL / "known_hosts"),
            "%s@%s" % (user, address(host)), *command,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture(scope="session")
def cluster_hosts():
    return group("k3s_cluster")


def pytest_collection_modifyitems(items):
    """A verify step that skips has checked nothing: refuse it."""
    for item in items:
        for mark in item.iter_markers("skip"):
            raise pytest.UsageError("%s would be skipped (%s)" % (item.nodeid, mark.kwargs.get("reason", mark.args)))
