"""The K3s lifecycle playbooks' refusals, without a cluster: reset.yml, rotate-token.yml and
node-remove.yml run against a throwaway inventory whose hosts point at a closed port on
127.0.0.1, so a guard that let a run through could reach nothing; each refusal must come
from the controller-side check before any host is contacted. Also: k3s.yml and gpu.yml
narrowed by sophia_layer_hosts, and node-add.yml running the host, GPU and K3s layers on
the new node only. The drain of node-remove.yml needs a cluster and is not run here.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
UNREACHABLE = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh"}


def inventory(tmp_path, servers, agents=1, **extra):
    hosts = {"server%d" % n: dict(UNREACHABLE) for n in range(1, servers + 1)}
    workers = {"agent%d" % n: dict(UNREACHABLE) for n in range(1, agents + 1)}
    data = {"all": {
        "vars": {"sophia_environment": "itest", "sophia_k3s_token": secrets.token_hex(16),
                 "sophia_kubeconfig": str(tmp_path / "missing-kubeconfig.yaml"), **extra},
        "children": {"k3s_cluster": {"children": {"k3s_server": {"hosts": hosts}, "k3s_agent": {"hosts": workers}}},
                     "gpu": {"hosts": {"agent1": {}}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def play(inv, playbook, *args):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    run = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), "playbooks/%s" % playbook, *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return run.returncode, " ".join((run.stdout + run.stderr).split())


def refused_before_any_host(code, text, message):
    assert code != 0, text
    assert message in text, text
    assert "UNREACHABLE" not in text and "Failed to connect" not in text, text


@pytest.mark.parametrize("args,got", [([], "got ''"), (["-e", "sophia_reset_confirm=prod"], "got 'prod'")])
def test_reset_refused_unless_the_environment_is_named(tmp_path, args, got):
    code, text = play(inventory(tmp_path, 3), "reset.yml", *args)
    refused_before_any_host(code, text, "Confirm with -e sophia_reset_confirm=itest (%s). Nothing was changed." % got)


@pytest.mark.parametrize("case", ["missing", "same", "short", "two-servers"])
def test_rotate_token_refuses_a_bad_request(tmp_path, case):
    old = secrets.token_hex(16)
    new = {"missing": "", "same": old, "short": "abc", "two-servers": secrets.token_hex(16)}[case]
    inv = inventory(tmp_path, 2 if case == "two-servers" else 3, sophia_k3s_token=old)
    args = ["-e", "sophia_k3s_token_new=%s" % new] if new else []
    code, text = play(inv, "rotate-token.yml", *args)
    refused_before_any_host(code, text, "rotate-token.yml needs the new token")
    if new:
        assert new not in text


@pytest.mark.parametrize("servers,node,message", [
    (3, "nosuch", "Set -e sophia_node=<name> to a node of this environment"),
    (1, "server1", "server1 is the last K3s server"),
    (3, "server2", "Removing the K3s server server2 would leave 2 servers"),
    (5, "server5", "Removing the K3s server server5 would leave 4 servers"),
])
def test_node_remove_refuses_before_anything_changes(tmp_path, servers, node, message):
    code, text = play(inventory(tmp_path, servers), "node-remove.yml", "-e", "sophia_node=%s" % node)
    refused_before_any_host(code, text, message)


@pytest.mark.parametrize("servers,node", [(4, "server4"), (3, "agent1")])
def test_node_remove_lets_an_allowed_removal_through_to_the_controller_side_drain(tmp_path, servers, node):
    # Past the checks the first call is the controller's read of the node through the
    # kubeconfig (missing here): the node itself is still not contacted.
    code, text = play(inventory(tmp_path, servers), "node-remove.yml", "-e", "sophia_node=%s" % node)
    assert code != 0
    assert "TASK [Read the node]" in text, text
    assert "Nothing was changed" not in text
    assert "UNREACHABLE" not in text, text


def list_hosts(inv, playbook, *args):
    code, text = play(inv, playbook, "--list-hosts", *args)
    assert code == 0, text
    return text


def test_k3s_and_gpu_layers_narrow_to_sophia_layer_hosts(tmp_path):
    inv = inventory(tmp_path, 3, agents=2)
    whole = list_hosts(inv, "k3s.yml")
    assert "K3s servers TAGS: [] pattern: ['k3s_server:&all'] hosts (3):" in whole
    narrowed = list_hosts(inv, "k3s.yml", "-e", "sophia_layer_hosts=agent1")
    assert "hosts (0)" in narrowed.split("K3s agents", maxsplit=1)[0]
    assert "K3s agents TAGS: [] pattern: ['k3s_agent:&agent1'] hosts (1): agent1" in narrowed
    gpu = list_hosts(inv, "gpu.yml", "-e", "sophia_layer_hosts=agent2")
    assert "hosts (0)" in gpu


def test_k3s_layer_stops_when_its_pattern_matches_no_host(tmp_path):
    code, text = play(inventory(tmp_path, 3), "k3s.yml", "-e", "sophia_layer_hosts=nosuch")
    refused_before_any_host(code, text, "The K3s layer targets 'nosuch', which matches no host")


def test_node_add_runs_the_host_gpu_and_k3s_layers_on_the_new_node_only():
    plays = yaml.safe_load((REPO / "playbooks" / "node-add.yml").read_text())
    imports = [(p["ansible.builtin.import_playbook"], p.get("vars", {}).get("sophia_layer_hosts"))
               for p in plays if "ansible.builtin.import_playbook" in p]
    assert imports == [("hosts.yml", "sophia_new_nodes"), ("gpu.yml", "sophia_new_nodes"), ("k3s.yml", "sophia_new_nodes")]
