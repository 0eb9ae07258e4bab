"""The nvidia role on a host without any GPU: skipped with a message, nothing changed; fails clearly when required."""

import json
import os
import pathlib
import subprocess

import pytest
import yaml

SCENARIO = pathlib.Path(__file__).resolve().parent.parent
REPO = SCENARIO.parent.parent
INVENTORY = yaml.safe_load(pathlib.Path(os.environ["MOLECULE_INVENTORY_FILE"]).read_text())
HOSTS = sorted(INVENTORY["all"]["hosts"])
testinfra_hosts = ["podman://%s" % name for name in HOSTS]


def _playbook(*extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"))
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"), *extra],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=300, check=False,
    )
    return result, " ".join((result.stdout + result.stderr).split())


def test_the_role_wrote_nothing(host):
    for path in (
        "/etc/systemd/system/nvidia-persistenced.service.d",
        "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl",
        "/etc/rancher/k3s/config.yaml.d/60-sophia-nvidia.yaml",
        "/etc/default/grub.d/60-sophia-grace.cfg",
        "/etc/modprobe.d/sophia-blacklist-nouveau.conf",
        "/etc/apt/keyrings/nvidia-cuda.asc",
    ):
        assert not host.file(path).exists, path
    assert host.check_output("apt-mark showhold") == ""


def test_the_host_really_has_no_nvidia_gpu(host):
    assert not host.exists("nvidia-smi")
    vendors = host.run("cat /sys/bus/pci/devices/*/vendor").stdout.split()
    assert "0x10de" not in vendors


def test_skip_is_explained():
    result, output = _playbook("-v")
    assert result.returncode == 0, output[-2000:]
    assert "No NVIDIA GPU on %s (nvidia-smi was not found: the NVIDIA driver is not installed)" % HOSTS[0] in output
    assert "the nvidia role leaves this host unchanged" in output


@pytest.mark.parametrize(
    "extra_vars, message",
    [
        ({"nvidia_gpu_required": True},
         "must have 1 usable NVIDIA GPU(s) (nvidia_gpu_required=True, nvidia_gpu_min_count=0) but has 0: "
         "nvidia-smi was not found: the NVIDIA driver is not installed"),
        ({"nvidia_driver_install_enabled": True, "nvidia_driver_branch": "470"},
         "nvidia_driver_branch 470 is not published by NVIDIA for x86_64"),
    ],
)
def test_bad_input_or_missing_gpu_fails_before_any_change(extra_vars, message):
    result, output = _playbook("-e", json.dumps(extra_vars))
    assert result.returncode != 0
    assert message in output
    recap = [line for line in (result.stdout).splitlines() if " : ok=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
