# -*- coding: utf-8 -*-
"""The nvidia role refuses bad input and unfit hosts before it changes anything.

Runs only the role's validate.yml (read-only probes and asserts) against this machine with
ansible-playbook and connection=local, in check mode, with a stand-in nvidia-smi that answers from
the constructed documents in tests/data/nvidia-smi/. Nothing on this machine is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "tests", "data", "nvidia-smi")
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")

# case name -> (stand-in, role variables, expected: None for success or a substring of the failure)
CASES = {
    "no_gpu_skipped": ("absent", {}, None),
    "no_gpu_required": ("absent", {"nvidia_gpu_required": True},
                        "must have 1 usable NVIDIA GPU(s) (nvidia_gpu_required=True, nvidia_gpu_min_count=0) but has 0"),
    "gh200_ok": ("gh200", {"nvidia_gpu_min_count": 1}, None),
    "gh200_too_few": ("gh200", {"nvidia_gpu_min_count": 2}, "must have 2 usable NVIDIA GPU(s)"),
    "gh200_old_driver": ("gh200", {"nvidia_driver_min_version": "560.28.03"},
                         "The NVIDIA driver 550.127.05 on localhost is older than nvidia_driver_min_version 560.28.03"),
    "branch_not_published": ("absent", {"nvidia_driver_install_enabled": True, "nvidia_driver_branch": "470"},
                             "nvidia_driver_branch 470 is not published by NVIDIA for"),
    "mismatch": ("mismatch", {}, "Driver/library version mismatch"),
    "bad_taint": ("gh200", {"nvidia_k3s_node_taints": ["nvidia.com/gpu=present:Sometimes"]},
                  "nvidia_k3s_node_taints key[=value]:Effect"),
    "bad_kernel_param": ("gh200", {"nvidia_grace_kernel_params": ["init_on_alloc=0 quiet"]},
                         "is not a kernel parameter"),
    # This machine's own facts (Debian 12.x on the test bed): the install path accepts the release.
    "install_on_this_machine": ("absent", {"nvidia_driver_install_enabled": True}, None),
}


def _stand_in(directory, kind):
    """An nvidia-smi stand-in answering from a constructed document."""
    if kind == "absent":
        return os.path.join(directory, "absent", "nvidia-smi")
    path = os.path.join(directory, "nvidia-smi-" + kind)
    if kind == "mismatch":
        body = 'cat "%s"\nexit 18\n' % os.path.join(DATA, "version-mismatch.stdout")
    else:
        body = ('case "$*" in\n'
                '  "-q -x") cat "%s" ;;\n'
                '  --query-gpu=uuid,compute_cap*) cat "%s" ;;\n'
                '  *) echo "unexpected: $*" >&2; exit 2 ;;\n'
                'esac\n') % (os.path.join(DATA, kind + ".xml"), os.path.join(DATA, kind + ".compute_cap.csv"))
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n# Test stand-in for nvidia-smi (tests/integration only).\n" + body)
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run every case in one ansible-playbook call; return {case: result}."""
    tmp = str(tmp_path_factory.mktemp("nvidia-validate"))
    results = os.path.join(tmp, "results")
    os.mkdir(results)
    plays = []
    for name, (kind, variables, _expected) in sorted(CASES.items()):
        variables = dict(variables, nvidia_smi_path=_stand_in(tmp, kind))
        plays.append({
            "name": "Case " + name,
            "hosts": "localhost",
            "gather_facts": True,
            "tasks": [{
                "name": "Run the role's validation",
                "block": [
                    {"name": "Validate", "ansible.builtin.include_role": {
                        "name": "sophia.platform.nvidia", "tasks_from": "validate.yml", "public": True}, "vars": variables},
                    {"name": "Record success", "ansible.builtin.copy": {
                        "dest": os.path.join(results, name + ".json"),
                        "content": "{{ {'failed': false, 'preflight': nvidia_host_preflight | default({}),"
                                   " 'seen': _nvidia_gpu_seen, 'cuda_repo_url': nvidia_cuda_repo_url} | to_json }}"},
                     "check_mode": False},
                ],
                "rescue": [
                    {"name": "Record the failure", "ansible.builtin.copy": {
                        "dest": os.path.join(results, name + ".json"),
                        "content": "{{ {'failed': true, 'msg': ansible_failed_result.msg | default('')} | to_json }}"},
                     "check_mode": False},
                ],
            }],
        })
    playbook = os.path.join(tmp, "validate.yml")
    with open(playbook, "w") as handle:
        json.dump(plays, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_GATHERING="implicit", ANSIBLE_LOCALHOST_WARNING="0")
    run = subprocess.run(
        [PLAYBOOK, "-i", "localhost,", "-c", "local", "--check", "-e", "ansible_python_interpreter=" + sys.executable,
         playbook],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600,
        check=False,
    )
    found = {}
    for name in CASES:
        path = os.path.join(results, name + ".json")
        if os.path.exists(path):
            with open(path) as handle:
                found[name] = json.load(handle)
    shutil.rmtree(tmp, ignore_errors=True)
    assert run.returncode == 0, run.stdout[-4000:]
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_validation(outcomes, name):
    expected = CASES[name][2]
    result = outcomes[name]
    if expected is None:
        assert result["failed"] is False, result
    else:
        assert result["failed"] is True, result
        assert expected in result["msg"], result["msg"]


def test_preflight_facts_on_gh200_stand_in(outcomes):
    preflight = outcomes["gh200_ok"]["preflight"]
    assert preflight["gpu_count"] == 1
    assert preflight["driver_version"] == "550.127.05"
    assert preflight["page_size"] >= 4096
    assert outcomes["gh200_ok"]["seen"] is True


def test_no_gpu_is_not_seen(outcomes):
    assert outcomes["no_gpu_skipped"]["seen"] is False


def _os_release():
    with open("/etc/os-release") as handle:
        return dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)


def test_install_path_accepts_a_debian_12_point_release(outcomes):
    release = _os_release()
    if release.get("ID") != "debian" or release.get("VERSION_ID", "").strip('"') != "12":
        pytest.skip("this machine is not Debian 12")
    with open("/etc/debian_version") as handle:
        assert handle.read().strip().startswith("12.")  # a point release, the case the old check refused
    result = outcomes["install_on_this_machine"]
    assert result["failed"] is False, result
    assert "/repos/debian12/" in result["cuda_repo_url"]
