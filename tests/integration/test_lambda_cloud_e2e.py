"""End to end: ansible-inventory and the provisioning playbooks against the fake Lambda API.

Runs the real CLI (subprocess, the repository's ansible.cfg, inventories/prod) with
LAMBDA_API_URL pointing at the fake on 127.0.0.1. No play targets the (fake) instances:
SSH is replaced by /bin/false so a mistake could never reach an address off this machine.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from lambda_fake import FakeLambda  # noqa: E402

BIN = REPO / ".venv" / "bin"
FAST = ["-e", "sophia_lambda_launch_interval=0", "-e", "sophia_lambda_wait_interval=0"]
# The layer plays of node-add/node-remove would connect to the instances; the tests run
# only the control-node plays: an explicit localhost and --limit to it.
LOCAL_ONLY = ["-i", "localhost,", "--limit", "localhost", "-e", "ansible_python_interpreter=%s" % (BIN / "python")]


@pytest.fixture
def fake():
    api = FakeLambda(boot_polls=1)
    api.start()
    api.add_ssh_key("sophia-prod")
    yield api
    api.stop()
    assert api.schema_errors == [] and api.request_errors == []


@pytest.fixture
def cli(fake, tmp_path):
    env = dict(os.environ)
    env.update(
        HOME=str(tmp_path),  # the inventory cache (~/.cache/...) lands here
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true",
        ANSIBLE_SSH_EXECUTABLE="/bin/false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "tmp"),
        LAMBDA_API_URL=fake.base_url,
        LAMBDA_API_KEY=fake.api_key,
        PATH="%s:%s" % (BIN, env.get("PATH", "")),
    )

    def run(*args, without_key=False, env_extra=None):
        e = dict(env)
        e.update(env_extra or {})
        if without_key:
            del e["LAMBDA_API_KEY"]
        proc = subprocess.run([str(BIN / args[0])] + list(args[1:]), cwd=REPO, env=e,
                              capture_output=True, text=True, timeout=300, check=False)
        return proc

    return run


def mutations(fake):
    return [c[:2] for c in fake.requests if c[0] != "GET"]


def test_provision_then_inventory_then_rerun(fake, cli):
    first = cli("ansible-playbook", "playbooks/provision.yml", "-i", "inventories/prod", *FAST)
    assert first.returncode == 0, first.stdout + first.stderr
    names = sorted(i.get("name") for i in fake.instances.values())
    assert names == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    tags = {i["name"]: {t["key"]: t["value"] for t in i["tags"]} for i in fake.instances.values()}
    assert tags["sophia-master-01"] == {"cluster": "prod", "role": "server"}
    assert tags["sophia-worker-02"] == {"cluster": "prod", "role": "agent"}
    (ruleset,) = fake.rulesets.values()
    assert ruleset["name"] == "sophia-prod-perimeter"
    assert all(i["firewall_rulesets"] == [{"id": ruleset["id"]}] for i in fake.instances.values())
    ports = sorted((r["port_range"][0], r["source_network"]) for r in ruleset["rules"])
    assert ports == [(22, "203.0.113.0/24"), (80, "0.0.0.0/0"), (443, "0.0.0.0/0"), (6443, "203.0.113.0/24")]

    inv = cli("ansible-inventory", "-i", "inventories/prod", "--list")
    assert inv.returncode == 0, inv.stderr
    data = json.loads(inv.stdout)
    assert data["k3s_server"]["hosts"] == ["sophia-master-01"]
    assert sorted(data["k3s_agent"]["hosts"]) == ["sophia-worker-01", "sophia-worker-02"]
    assert sorted(data["k3s_cluster"]["children"]) == ["k3s_agent", "k3s_server"]
    assert sorted(data["gpu"]["hosts"]) == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    hv = data["_meta"]["hostvars"]["sophia-master-01"]
    # API strings are untrusted: ansible-inventory marks them so (core 2.19 JSON profile).
    assert hv["lambda_name"] == {"__ansible_unsafe": "sophia-master-01"}
    assert hv["lambda_architecture"] == {"__ansible_unsafe": "aarch64"}
    assert hv["ansible_host"] == hv["lambda_ip"]

    launches = len(fake.calls("POST", "/instance-operations/launch"))
    again = cli("ansible-playbook", "playbooks/provision.yml", "-i", "inventories/prod", *FAST)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "changed=0" in again.stdout
    assert len(fake.calls("POST", "/instance-operations/launch")) == launches == 3

    # One more agent: the next free number; running nodes untouched.
    before = set(fake.instances)
    add = cli("ansible-playbook", "playbooks/node-add.yml", "-i", "inventories/prod", *LOCAL_ONLY, *FAST)
    assert add.returncode == 0, add.stdout + add.stderr
    assert "sophia-worker-03" in add.stdout
    assert before < set(fake.instances) and len(fake.instances) == 4
    assert fake.calls("POST", "/instance-operations/terminate") == []

    # The last server is never removed.
    refuse = cli("ansible-playbook", "playbooks/node-remove.yml", "-i", "inventories/prod", "--flush-cache",
                 *LOCAL_ONLY, "-e", "sophia_node=sophia-master-01", *FAST)
    assert refuse.returncode != 0 and "last K3s server" in refuse.stdout
    assert fake.calls("POST", "/instance-operations/terminate") == []

    remove = cli("ansible-playbook", "playbooks/node-remove.yml", "-i", "inventories/prod",
                 *LOCAL_ONLY, "-e", "sophia_node=sophia-worker-03", *FAST)
    assert remove.returncode == 0, remove.stdout + remove.stderr
    assert sorted(i["name"] for i in fake.instances.values()) == names


@pytest.mark.parametrize("extra,problem", [
    ('{"sophia_lambda_admin_cidrs": ["203.0.113.0/33"]}', "203.0.113.0/33"),
    ('{"sophia_lambda_region": "mars-1"}', "Unknown region 'mars-1'"),
    ('{"sophia_lambda_ssh_key_name": "nobody"}', "SSH key nobody is not in the Lambda account"),
])
def test_provision_refuses_bad_input_before_any_change(fake, cli, extra, problem):
    proc = cli("ansible-playbook", "playbooks/provision.yml", "-i", "inventories/prod", "-e", extra, *FAST)
    assert proc.returncode != 0
    assert problem in proc.stdout + proc.stderr
    assert mutations(fake) == []


def test_no_api_key_fails_clearly(fake, cli):
    proc = cli("ansible-playbook", "playbooks/provision.yml", "-i", "inventories/prod", *FAST, without_key=True)
    assert proc.returncode != 0
    assert "LAMBDA_API_KEY" in proc.stdout + proc.stderr
    assert fake.requests == []
    inv = cli("ansible-inventory", "-i", "inventories/prod", "--list", without_key=True)
    assert inv.returncode != 0 and "No Lambda Cloud API key" in inv.stderr


def test_check_mode_changes_nothing(fake, cli):
    proc = cli("ansible-playbook", "playbooks/provision.yml", "-i", "inventories/prod", "--check", *FAST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mutations(fake) == []


GENERATE_KEY = """
- name: Generate a key pair
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Let Lambda generate the key
      sophia.platform.lambda_ssh_key:
        name: sophia-generated
      register: generated
"""
PRINT_KEY = """
    - name: Print the key on purpose
      ansible.builtin.debug:
        var: generated.private_key
"""


@pytest.mark.parametrize("verbosity", ["-v", "-vvv"])
def test_a_generated_private_key_stays_out_of_output_and_log(fake, cli, tmp_path, verbosity):
    playbook = tmp_path / "generate.yml"
    playbook.write_text(GENERATE_KEY)
    log = tmp_path / "ansible.log"
    proc = cli("ansible-playbook", str(playbook), *LOCAL_ONLY, verbosity,
               env_extra={"ANSIBLE_LOG_PATH": str(log)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sophia-generated" in [k["name"] for k in fake.ssh_keys.values()]
    assert "changed: [localhost]" in proc.stdout
    for text in (proc.stdout, proc.stderr, log.read_text()):
        assert "FAKEPRIVATEKEY" not in text and "PRIVATE KEY" not in text
    assert "hidden due to" in proc.stdout  # the censored result, not a missing one


def test_a_generated_private_key_reaches_register_for_whoever_prints_it(fake, cli, tmp_path):
    playbook = tmp_path / "generate-and-print.yml"
    playbook.write_text(GENERATE_KEY + PRINT_KEY)
    proc = cli("ansible-playbook", str(playbook), *LOCAL_ONLY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("FAKEPRIVATEKEY") == 1  # in the debug task only
    assert proc.stdout.index("FAKEPRIVATEKEY") > proc.stdout.index("Print the key on purpose")
