"""The K3s reset keeps exactly the files the nvidia role writes into K3s's
directories: the reset's list (roles/k3s_install/vars/main.yml) is compared
with the destinations of roles/nvidia/tasks/k3s.yml, so a file renamed or
added there cannot be wiped by a reset unnoticed."""

import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def nvidia_k3s_files():
    nvidia_vars = yaml.safe_load((REPO / "roles" / "nvidia" / "vars" / "main.yml").read_text())
    tasks = yaml.safe_load((REPO / "roles" / "nvidia" / "tasks" / "k3s.yml").read_text())
    files = set()
    for task in tasks:
        template = task.get("ansible.builtin.template")
        if template:
            dest = template["dest"]
            for name in ("__nvidia_k3s_containerd_dir", "__nvidia_k3s_config_dir"):
                dest = dest.replace("{{ %s }}" % name, nvidia_vars[name])
            files.add(dest)
    return files


def test_reset_keeps_every_file_the_nvidia_role_writes_for_k3s_and_nothing_else():
    reset = yaml.safe_load((REPO / "roles" / "k3s_install" / "vars" / "main.yml").read_text())
    trees = reset["__k3s_install_reset_trees"]
    assert {tree["keep"] for tree in trees} == nvidia_k3s_files()
    for tree in trees:
        assert tree["keep"].startswith(tree["root"] + "/")
    assert "{{" not in "".join(nvidia_k3s_files())
