# -*- coding: utf-8 -*-
"""The hardening role installs its packages in one transaction, chosen as Ansible chooses tasks.

tasks/install.yml installs the packages of every enabled concern that `--tags` / `--skip-tags`
select, and masks first, in a container, the units their postinst would start. This evaluates the
role's own variables (defaults, vars/main.yml, Debian 12's data) with ansible-playbook on this
machine under real `--tags` / `--skip-tags`, with a probe result given as data; nothing is installed.
The transaction itself runs on real hosts in molecule/hardening.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLE = os.path.join(REPO, "roles", "hardening")
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")

ALL = ["apparmor", "apparmor-utils", "auditd", "libpam-pwquality"]


def _selection(tmp_path, args=(), installed=(), masked=(), live=False, extra=None):
    probe = {
        "packages": {name: "1" for name in installed},
        "services": {unit: {"unit_file_state": "masked" if unit in masked else "enabled"}
                     for unit in ("auditd.service", "apparmor.service")},
    }
    playbook = tmp_path / "select.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Evaluate the package selection", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars_files": [os.path.join(ROLE, "defaults", "main.yml"), os.path.join(ROLE, "vars", "main.yml"),
                       os.path.join(ROLE, "vars", "Debian-12.yml")],
        "tasks": [{"name": "Write the selection down", "tags": ["always"], "ansible.builtin.copy": {
            "dest": str(tmp_path / "selection.json"), "mode": "0600",
            "content": "{{ {'install': __hardening_packages_missing | sort,"
                       " 'mask': __hardening_units_to_mask | sort} | to_json }}"}}],
    }]))
    variables = dict(extra or {}, _hardening_probe=probe, _hardening_kernel_live=live,
                     ansible_python_interpreter=sys.executable)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        [PLAYBOOK, "-i", "localhost,", str(playbook), "-e", json.dumps(variables)] + list(args),
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((tmp_path / "selection.json").read_text())


def test_a_full_run_installs_every_package_in_one_list_and_masks_both_units_in_a_container(tmp_path):
    assert _selection(tmp_path) == {"install": ALL, "mask": ["apparmor.service", "auditd.service"]}


def test_a_host_with_its_own_kernel_masks_nothing(tmp_path):
    assert _selection(tmp_path, live=True)["mask"] == []


def test_installed_packages_and_masked_units_are_left_alone(tmp_path):
    assert _selection(tmp_path, installed=["auditd", "apparmor"], masked=["apparmor.service"]) == {
        "install": ["apparmor-utils", "libpam-pwquality"], "mask": ["auditd.service"]}


@pytest.mark.parametrize("args, install, mask", [
    (["--tags", "hardening_login"], ["libpam-pwquality"], []),
    (["--tags", "hardening_kernel"], ["auditd"], ["auditd.service"]),
    (["--tags", "hardening_apparmor,hardening_ssh"], ["apparmor", "apparmor-utils"], ["apparmor.service"]),
    (["--tags", "hardening_ssh"], [], []),
    (["--tags", "hardening"], ALL, ["apparmor.service", "auditd.service"]),
    (["--skip-tags", "hardening_auditd"], ["apparmor", "apparmor-utils", "libpam-pwquality"], ["apparmor.service"]),
    (["--skip-tags", "hardening_kernel,hardening_login"], ["apparmor", "apparmor-utils"], ["apparmor.service"]),
    (["--skip-tags", "hardening"], [], []),
])
def test_tags_select_the_packages_of_the_concerns_they_select(tmp_path, args, install, mask):
    assert _selection(tmp_path, args) == {"install": install, "mask": mask}


def test_a_switched_off_concern_installs_nothing(tmp_path):
    assert _selection(tmp_path, extra={"hardening_auditd_enabled": False, "hardening_login_enabled": False}) == {
        "install": ["apparmor", "apparmor-utils"], "mask": ["apparmor.service"]}
