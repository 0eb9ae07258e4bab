"""The nvidia role on a stand-in for a Lambda GH200 host with the driver present.

The host runs clearly named doubles (prepare.yml): nvidia-smi answering from a constructed GH200
document, modinfo, and fake driver packages whose nvidia-persistenced records its persistence mode.
These tests check what the role did to the host, not what the doubles say about themselves.
"""

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

FAKE_DRIVER_PACKAGES = ["libnvidia-compute-550", "nvidia-compute-utils-550", "nvidia-container-toolkit",
                        "nvidia-driver-550-open"]


def _env():
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"))


def test_driver_packages_are_held(host):
    held = host.check_output("apt-mark showhold").split()
    assert sorted(name for name in held if not name.startswith("linux-")) == FAKE_DRIVER_PACKAGES
    # A held package is really kept: apt refuses to remove it unless forced.
    attempt = host.run("apt-get -y --no-download remove nvidia-driver-550-open")
    assert attempt.rc != 0
    assert "Held packages were changed" in attempt.stderr + attempt.stdout
    assert host.package("nvidia-driver-550-open").is_installed


def test_running_kernel_and_its_meta_packages_are_held(host):
    kernel = host.check_output("uname -r")
    held = host.check_output("apt-mark showhold").split()
    assert sorted(name for name in held if name.startswith("linux-")) == sorted([
        "linux-image-%s" % kernel, "linux-headers-%s" % kernel,
        "linux-image-nvidia-64k-double", "linux-nvidia-64k-double"])
    # Another kernel's package is not the running kernel's: left free.
    assert host.package("linux-image-0.0.0-1-double").is_installed
    assert "linux-image-0.0.0-1-double" not in held
    # A manual apt run may not take the kernel's meta package away.
    attempt = host.run("apt-get -y --no-download remove linux-nvidia-64k-double")
    assert attempt.rc != 0
    assert "Held packages were changed" in attempt.stderr + attempt.stdout


def _k3s_calls(host):
    return host.file("/var/lib/k3s-double/calls.log").content_string.splitlines()


def test_smoke_image_is_imported_from_the_archive_once_then_run_with_rm(host):
    calls = _k3s_calls(host)
    imports = [i for i, call in enumerate(calls) if call.startswith("ctr images import ")]
    runs = [i for i, call in enumerate(calls) if call.startswith("ctr run ")]
    # converge imports; the zero-change converge and --check find the image and import nothing.
    assert [calls[i] for i in imports] == ["ctr images import /var/tmp/nvidia-smoke-image.tar"]
    assert not any(call.startswith("ctr images pull ") for call in calls)
    # converge and the second converge run the container (--check does not), after the import.
    assert len(runs) == 2 and imports[0] < runs[0]
    assert all(calls[i].split()[2] == "--rm" and " nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04 sophia-gpu-smoke nvidia-smi -L"
               in calls[i] for i in runs)


def _run_playbook(*args, check=False):
    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"]] + (["--check"] if check else []) + list(args),
        capture_output=True, text=True, env=_env(), cwd=str(REPO), timeout=300, check=False,
    )


def test_smoke_image_missing_without_archive_is_pulled_and_reported_changed(host):
    image = "nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04"
    before = len(_k3s_calls(host))
    result = _run_playbook(str(SCENARIO / "converge.yml"), "--tags", "nvidia_smoke",
                           "-e", json.dumps({"nvidia_smoke_image": image, "nvidia_smoke_image_archive": ""}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    new = _k3s_calls(host)[before:]
    assert new == ["ctr images ls -q", "ctr images pull %s" % image,
                   "ctr run --rm --runc-binary /usr/bin/nvidia-container-runtime --env NVIDIA_VISIBLE_DEVICES=all"
                   " %s sophia-gpu-smoke nvidia-smi -L" % image]
    recap = [line for line in result.stdout.splitlines() if " : ok=" in line]
    assert recap and all("changed=1 " in line for line in recap), recap


def test_handlers_run_before_the_reboot(tmp_path):
    # --check: the reboot action returns at once in check mode (it never reboots), so the
    # order Ansible runs the tasks in is what is observed.
    playbook = tmp_path / "reboot-path.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Reboot path of the nvidia role",
        "hosts": "gpu",
        "gather_facts": False,
        "become": True,
        "vars": {"nvidia_reboot_allowed": True, "_nvidia_in_container": False,
                 "_nvidia_grace_params_missing": ["init_on_alloc=0"]},
        "tasks": [
            {"name": "Stand in for a changed GRUB drop-in and nouveau blacklist",
             "ansible.builtin.debug": {"msg": "changed"}, "changed_when": True,
             "notify": ["Update GRUB", "Update the initramfs"]},
            {"name": "The role's reboot step", "ansible.builtin.import_role": {
                "name": "sophia.platform.nvidia", "tasks_from": "reboot.yml"}},
        ],
    }]))
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--check", str(playbook)],
        capture_output=True, text=True, cwd=str(REPO), timeout=300, check=False,
        env=dict(_env(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    tasks = json.loads(result.stdout)["plays"][0]["tasks"]
    names = [task["task"]["name"].split(" : ")[-1] for task in tasks]
    reboot = names.index("Reboot the host")
    assert tasks[reboot]["hosts"][HOSTS[0]].get("rebooted") is True
    assert names.index("Update GRUB") < reboot
    assert names.index("Update the initramfs") < reboot


def test_connection_is_ssh_as_an_unprivileged_user_with_sudo():
    result = subprocess.run(
        ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "gpu", "-m", "ansible.builtin.command",
         "-a", "id -un", "-o"],
        capture_output=True, text=True, env=_env(), cwd=str(REPO), timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[-1] == "debian"
    become = subprocess.run(
        ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "gpu", "-b", "-m", "ansible.builtin.command",
         "-a", "id -un", "-o"],
        capture_output=True, text=True, env=_env(), cwd=str(REPO), timeout=120, check=False,
    )
    assert become.returncode == 0 and become.stdout.split()[-1] == "root", become.stdout + become.stderr
    # The host key is checked: with an empty known_hosts file the connection is refused.
    refused = subprocess.run(
        ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "gpu", "-m", "ansible.builtin.ping",
         "-e", "ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes'"],
        capture_output=True, text=True, cwd=str(REPO), timeout=120, check=False,
        # No shared master connection, which would skip the host key check.
        env=dict(_env(), ANSIBLE_SSH_ARGS="-o ControlMaster=no -o ControlPath=none"),
    )
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stdout + refused.stderr


def test_persistence_daemon_runs_in_persistence_mode(host):
    service = host.service("nvidia-persistenced")
    assert service.is_running
    assert service.is_enabled
    pid = host.file("/run/nvidia-persistenced/nvidia-persistenced.pid").content_string.strip()
    assert host.file("/proc/%s" % pid).exists
    exec_start = host.check_output("systemctl show -p ExecStart --value nvidia-persistenced")
    assert "--persistence-mode" in exec_start and "--no-persistence-mode" not in exec_start
    assert host.file("/run/nvidia-persistenced/persistence-mode").content_string.strip() == "1"
    assert host.user("nvidia-persistenced").exists


def test_facts_module_reports_the_gpu():
    result = subprocess.run(
        ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "gpu", "-m", "sophia.platform.nvidia_gpu_facts",
         "-a", "min_gpu_count=1"],
        capture_output=True, text=True, env=dict(_env(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                                                 ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"),
        cwd=str(REPO), timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    facts = report["plays"][0]["tasks"][0]["hosts"][HOSTS[0]]["ansible_facts"]["nvidia_gpu"]
    assert facts["gpu_count"] == 1
    assert facts["driver_version"] == "550.127.05"
    (gpu,) = facts["gpus"]
    assert gpu["name"] == "NVIDIA GH200 480GB"
    assert gpu["memory_total_mib"] == 97871
    assert gpu["compute_capability"] == "9.0"
    # Reported as on because the role started nvidia-persistenced in persistence mode.
    assert gpu["persistence_mode"] is True
    assert facts["problems"] == []


def test_k3s_files_for_a_gpu_node(host):
    template = host.file("/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl")
    assert template.exists and template.user == "root"
    lines = [line for line in template.content_string.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == '{{ template "base" . }}'
    dropin = yaml.safe_load(host.file("/etc/rancher/k3s/config.yaml.d/60-sophia-nvidia.yaml").content_string)
    assert dropin["default-runtime"] == "nvidia"
    assert dropin["node-taint+"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert "nvidia.com/gpu.present=true" in dropin["node-label+"]


def test_nothing_kernel_level_in_a_container(host):
    # x86_64 container: no Grace tuning, no reboot, no driver install.
    assert not host.file("/etc/default/grub.d/60-sophia-grace.cfg").exists
    assert not host.file("/etc/modprobe.d/sophia-blacklist-nouveau.conf").exists
    assert not host.file("/etc/apt/sources.list.d/nvidia-cuda.sources").exists


@pytest.mark.parametrize(
    "extra_vars, message",
    [
        ({"nvidia_gpu_min_count": 2}, "must have 2 usable NVIDIA GPU(s)"),
        ({"nvidia_driver_min_version": "570.86.15"},
         "The NVIDIA driver 550.127.05 on %s is older than nvidia_driver_min_version 570.86.15" % HOSTS[0]),
    ],
)
def test_unfit_host_is_refused_before_any_change(extra_vars, message):
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"),
         "-e", json.dumps(extra_vars)],
        capture_output=True, text=True, env=_env(), cwd=str(REPO), timeout=300, check=False,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert message in output
    recap = [line for line in result.stdout.splitlines() if " : ok=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
