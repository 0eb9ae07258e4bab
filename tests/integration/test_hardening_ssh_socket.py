# -*- coding: utf-8 -*-
"""Where sshd is socket-activated (Ubuntu 24.04), the SSH port reaches ssh.socket.

No Ubuntu 24.04 host is available to the test bed, so this renders the role's own drop-in template with
ansible's template module from the role's own per-distribution data, and lets this machine's systemd
parse it beside a socket unit shaped like Ubuntu's. That the drop-in is not written on Debian 12 is
checked on real hosts in molecule/hardening.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLE = os.path.join(REPO, "roles", "hardening")
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")

# The unit as Ubuntu's openssh-server ships it since 22.10 (socket activation, Accept=no).
UBUNTU_SSH_SOCKET = """[Unit]
Description=OpenBSD Secure Shell server socket
Before=sockets.target ssh.service
ConditionPathExists=!/etc/ssh/sshd_not_to_be_run

[Socket]
ListenStream=22
Accept=no
FreeBind=yes

[Install]
WantedBy=sockets.target
RequiredBy=ssh.service
"""


def _data(name):
    with open(os.path.join(ROLE, "vars", name + ".yml")) as handle:
        return yaml.safe_load(handle)


def test_only_ubuntu_24_starts_sshd_from_its_socket():
    assert _data("Ubuntu-24")["__hardening_ssh_socket_activated"] is True
    assert _data("Ubuntu-22")["__hardening_ssh_socket_activated"] is False
    assert _data("Debian-12")["__hardening_ssh_socket_activated"] is False


def _render(tmp_path, port):
    """The role's template, rendered by ansible.builtin.template with Ubuntu 24.04's data."""
    data = _data("Ubuntu-24")
    dest = tmp_path / (data["__hardening_ssh_socket"] + ".d") / "sophia-listen.conf"
    dest.parent.mkdir(parents=True)
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "Render the drop-in", "ansible.builtin.template": {
            "src": os.path.join(ROLE, "templates", "ssh.socket.conf.j2"), "dest": str(dest), "mode": "0644"}}],
    }]))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        [PLAYBOOK, "-i", "localhost,", str(playbook), "-e", json.dumps({"hardening_ssh_port": port, "ansible_python_interpreter": sys.executable})],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return dest


def _socket_values(text):
    section, values = None, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Socket]" and line.startswith("ListenStream="):
            values.append(line.split("=", 1)[1])
    return values


def test_the_socket_drop_in_replaces_every_address_with_the_ssh_port(tmp_path):
    dest = _render(tmp_path, 2222)
    # Empty first: the unit's 22 and any addresses.conf (generator, upgrade) are dropped.
    assert _socket_values(dest.read_text()) == ["", "2222"]
    assert "BindIPv6Only=both" in dest.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_parses_the_drop_in_without_a_complaint(tmp_path):
    dest = _render(tmp_path, 2222)
    (tmp_path / "ssh.socket").write_text(UBUNTU_SSH_SOCKET)
    (tmp_path / "ssh.service").write_text("[Unit]\nDescription=ssh\n[Service]\nExecStart=/bin/true\n")
    env = dict(os.environ, SYSTEMD_UNIT_PATH="%s:" % tmp_path)
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "ssh.socket")],
                            capture_output=True, text=True, env=env, timeout=60, check=False)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if dest.name in line]
    assert result.returncode == 0 and complaints == [], result.stdout + result.stderr
