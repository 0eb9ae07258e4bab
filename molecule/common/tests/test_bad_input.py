"""Bad input stops the role on every host before anything changes."""

import os
import pathlib
import subprocess

import pytest

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent


@pytest.mark.parametrize(
    "extra_vars, message",
    [
        ('{"common_timezone": "Mars/Olympus"}', "common_timezone: 'Mars/Olympus' is not a time zone"),
        ('{"common_chrony_serve_cidrs": ["10.0.0.0/33"]}', "common_chrony_serve_cidrs: 10.0.0.0/33: not a network"),
        ('{"common_admin_users": [{"name": "ops", "ssh_keys": ["ssh-ed25519 AAAAnotakey"]}]}', "is not a valid OpenSSH public key"),
        ('{"common_admin_users": [{"name": "Bad User", "ssh_keys": []}]}', "Bad User is not a valid user name"),
        ('{"common_journald_system_max_use": "12 GB"}', "'12 GB' is not a size"),
        ('{"common_chrony_local_stratum": "ten"}', "common_chrony_local_stratum"),
    ],
)
def test_bad_input_is_refused_before_any_change(extra_vars, message):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"),
         "-e", extra_vars],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in " ".join(output.split())
    recap = [line for line in output.splitlines() if " : ok=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
