"""The playbook project as a user meets it: it parses, it resolves by FQCN from
a plain checkout, and every environment gives the same groups."""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
ENV = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
PLAYBOOKS = ["site.yml"] + sorted(str(p.relative_to(REPO)) for p in (REPO / "playbooks").glob("*.yml"))
GROUPS = {"k3s_cluster", "k3s_server", "k3s_agent", "gpu"}


def run(*args, env=None):
    return subprocess.run(args, cwd=REPO, env=env or ENV, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_parses_against_the_lab_inventory(playbook):
    result = run("ansible-playbook", "-i", "inventories/lab", playbook, "--syntax-check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_site_imports_one_playbook_per_layer_in_order():
    import yaml

    imports = [play["ansible.builtin.import_playbook"] for play in yaml.safe_load((REPO / "site.yml").read_text())]
    assert imports == ["playbooks/%s.yml" % layer for layer in ("hosts", "gpu", "k3s", "platform", "app", "edge")]
    result = run("ansible-playbook", "-i", "inventories/lab", "site.yml", "--list-hosts")
    assert result.returncode == 0, result.stderr
    assert "Host layer" in result.stdout


def test_roles_resolve_by_fqcn_from_the_checkout():
    result = run("ansible-doc", "-t", "role", "-l", "sophia.platform")
    assert result.returncode == 0, result.stderr
    assert "sophia.platform.common" in result.stdout


def test_lab_inventory_has_the_production_groups():
    # `groups` lists every group, also the lab's empty `gpu`.
    result = run("ansible", "-i", "inventories/lab", "localhost", "-m", "ansible.builtin.debug", "-a", "var=groups",
                 "-o")
    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout.split("=>", 1)[1])["groups"]
    assert GROUPS <= set(groups)
    assert groups["k3s_server"] == ["sophia-master-01"]
    assert sorted(groups["k3s_agent"]) == ["sophia-worker-01", "sophia-worker-02"]
    assert sorted(groups["k3s_cluster"]) == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    assert groups["gpu"] == []


@pytest.mark.parametrize("env", ["prod", "staging", "dev"])
def test_environments_set_the_same_variables_as_the_lab(env):
    import yaml

    def names(path):
        return set(yaml.safe_load(path.read_text()) or {})

    lab = names(REPO / "inventories/lab/group_vars/all/main.yml")
    other = names(REPO / "inventories" / env / "group_vars/all/main.yml")
    # Lab-only: chrony serving its peers from the first server's clock, no pools.
    assert lab - {"common_chrony_serve_cidrs", "common_chrony_local_stratum", "common_chrony_pools"} == other


@pytest.mark.parametrize("command", [("ansible-playbook", "site.yml"), ("ansible-inventory", "--list")])
def test_production_command_without_credentials_fails_clearly(command):
    env = {k: v for k, v in ENV.items() if k != "LAMBDA_API_KEY"}
    result = run(command[0], "-i", "inventories/prod", *command[1:], env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "LAMBDA_API_KEY" in output
    # The last lines a person reads give the cause: after the lambda_cloud plugin's message
    # only the final verdict on that source, no other plugin's complaint.
    errors = result.stderr
    tail = errors[errors.rindex("LAMBDA_API_KEY"):]
    assert "Failed to parse inventory with" not in tail, tail
    assert "Incorrect plugin name" not in tail, tail
    last = [line for line in errors.splitlines() if line.strip()][-3:]
    assert any("LAMBDA_API_KEY" in line for line in last), last
