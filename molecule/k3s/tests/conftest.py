"""Shared helpers for the k3s scenario's verify step: hosts through testinfra's
podman backend, groups from molecule's inventory, playbook runs as molecule
makes them."""

import hashlib
import os
import pathlib
import subprocess

import pytest
import yaml

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = yaml.safe_load(pathlib.Path(os.environ["MOLECULE_INVENTORY_FILE"]).read_text())
FLAGS = yaml.safe_load((REPO / "roles" / "k3s_install" / "vars" / "flags.yml").read_text())["__k3s_install_flags"]
DOUBLE_SHA256 = hashlib.sha256((SCENARIO / "files" / "k3s-double").read_bytes()).hexdigest()


def group(name):
    """Host names of a group: molecule writes groups as top-level keys."""
    hosts = sorted((INVENTORY.get(name) or {}).get("hosts") or {})
    if not hosts:
        raise LookupError("group %s has no hosts" % name)
    return hosts


SERVERS = group("k3s_server")
AGENTS = group("k3s_agent")
ALL = SERVERS + AGENTS


def token():
    return (EPHEMERAL / "token").read_text().strip()


def address(host):
    out = subprocess.run(["podman", "exec", host, "ip", "-4", "-o", "addr", "show", "eth0"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return out.split()[3].split("/")[0]


def starts(host):
    """Lines k3s-double wrote at each start of its service on the host."""
    out = subprocess.run(["podman", "exec", host, "cat", "/var/lib/k3s-double/starts"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def playbook(path, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_FORCE_HANDLERS="true")
    return subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(path), *args],
                          capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False)


def pytest_collection_modifyitems(items):
    """A verify step that skips has checked nothing: refuse it."""
    for item in items:
        for mark in item.iter_markers("skip"):
            raise pytest.UsageError("%s would be skipped" % item.nodeid)
