"""playbooks/reset.yml (runs last but for the re-converge it ends with): refused
without the environment's name, --check changes nothing, then K3s and what it
left running are gone while the firewall's table, other iptables rules and the
GPU layer's K3s files stay; a second reset changes nothing; k3s.yml installs
K3s again afterwards. Against k3s-double plus planted leftovers
(files/k3s-leftovers.yml), not K3s."""

import re
import subprocess

import pytest
import testinfra

from conftest import AGENTS, ALL, DOUBLE_SHA256, REPO, SCENARIO, SERVERS, playbook, starts

RESET = REPO / "playbooks" / "reset.yml"
UNITS = {host: "k3s" for host in SERVERS} | {host: "k3s-agent" for host in AGENTS}
NVIDIA = ["/etc/rancher/k3s/config.yaml.d/60-sophia-nvidia.yaml",
          "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl"]
GONE = ["/usr/local/bin/k3s", "/usr/local/bin/kubectl", "/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/token",
        "/etc/rancher/k3s/k3s.yaml", "/etc/rancher/k3s/config.yaml.d/50-other.yaml",
        "/var/lib/rancher/k3s/agent/etc/containerd/config.toml", "/var/lib/rancher/k3s/server",
        "/var/lib/rancher/k3s/agent/images", "/var/lib/rancher/k3s/data", "/var/lib/kubelet", "/run/k3s",
        "/var/lib/sophia/k3s"]


def sh(host, command):
    return subprocess.run(["podman", "exec", host, "sh", "-c", command],
                          check=True, capture_output=True, text=True, timeout=60).stdout


def recap(result):
    return dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M))


@pytest.fixture(scope="module")
def runs():
    planted = playbook(SCENARIO / "files" / "k3s-leftovers.yml")
    assert planted.returncode == 0, planted.stdout[-4000:]
    before = {name: {"firewall": sh(name, "nft list table inet sophia_filter"),
                     "nvidia": sh(name, "sha256sum %s; stat -c '%%a %%U' %s" % (" ".join(NVIDIA), " ".join(NVIDIA))),
                     "container": sh(name, "cat /run/k3s-mol-container.pid").strip(),
                     "starts": len(starts(name))} for name in ALL}
    out = {"before": before}
    out["unconfirmed"] = playbook(RESET)
    out["wrong"] = playbook(RESET, "-e", "sophia_reset_confirm=prod")
    out["check"] = playbook(RESET, "--check", "-e", "sophia_reset_confirm=mol")
    out["check_running"] = {name: testinfra.get_host("podman://" + name).service(UNITS[name]).is_running for name in ALL}
    out["reset"] = playbook(RESET, "-e", "sophia_reset_confirm=mol")
    out["state"] = {name: {"firewall": sh(name, "nft list table inet sophia_filter"),
                           "nvidia": sh(name, "sha256sum %s; stat -c '%%a %%U' %s" % (" ".join(NVIDIA), " ".join(NVIDIA))),
                           "tables": sh(name, "nft list tables"),
                           "iptables": sh(name, "iptables-save"),
                           "links": sh(name, "ip -o link show"),
                           "netns": sh(name, "ip netns list"),
                           "mounts": sh(name, "findmnt --raw --noheadings --output TARGET"),
                           "ps": sh(name, "ps -e -o pid=,args="),
                           # Read before the re-converge below puts K3s back.
                           "present": sh(name, "for p in %s /usr/local/bin/.keep-molecule /etc/systemd/system/%s.service "
                                               "/etc/systemd/system/%s.service.env; do [ -e \"$p\" ] || [ -L \"$p\" ] "
                                               "&& echo \"$p\"; done; true" % (" ".join(GONE), UNITS[name], UNITS[name])
                                         ).split(),
                           "active": subprocess.run(["podman", "exec", name, "systemctl", "is-active", UNITS[name]],
                                                    capture_output=True, text=True, timeout=60, check=False).stdout.strip(),
                           } for name in ALL}
    out["again"] = playbook(RESET, "-e", "sophia_reset_confirm=mol")
    out["reconverge"] = playbook(SCENARIO / "converge.yml")
    return out


@pytest.mark.parametrize("case,expected", [("unconfirmed", "got ''"), ("wrong", "got 'prod'")])
def test_refused_unless_the_environment_is_named_before_any_host_is_touched(runs, case, expected):
    result = runs[case]
    assert result.returncode != 0
    text = " ".join(result.stdout.split())
    assert "Confirm with -e sophia_reset_confirm=mol (%s). Nothing was changed." % expected in text
    assert "Reset K3s" not in result.stdout


def test_check_mode_lists_what_would_go_and_changes_nothing(runs):
    result = runs["check"]
    assert result.returncode == 0, result.stdout[-4000:]
    assert "check mode: nothing was changed" in result.stdout
    assert "/usr/local/bin/k3s" in result.stdout and "/var/lib/rancher/k3s/server" in result.stdout
    assert all(runs["check_running"].values()), runs["check_running"]


def test_reset_ran_on_every_node(runs):
    assert runs["reset"].returncode == 0, runs["reset"].stdout[-4000:]
    assert all(recap(runs["reset"])[name] != "0" for name in ALL)


@pytest.mark.parametrize("name", ALL)
def test_k3s_files_service_and_leftovers_are_gone(runs, name):
    state = runs["state"][name]
    assert state["present"] == ["/usr/local/bin/.keep-molecule"]
    assert state["active"] != "active"
    assert "containerd-shim" not in state["ps"]
    assert not re.search(r"^\s*%s\s" % runs["before"][name]["container"], state["ps"], re.M)
    assert "/run/k3s" not in state["mounts"] and "/var/lib/kubelet" not in state["mounts"]
    assert "cni-mol" not in state["netns"]
    for link in ("cni0", "flannel.1", "vethmol"):
        assert not re.search(r"^\d+: %s[@:]" % re.escape(link), state["links"], re.M), link


@pytest.mark.parametrize("name", ALL)
def test_firewall_table_and_other_rules_stay_only_k3s_chains_go(runs, name):
    state = runs["state"][name]
    assert state["firewall"] == runs["before"][name]["firewall"]
    assert "table inet sophia_filter" in state["tables"]
    assert "kube-proxy" not in state["tables"]
    assert "-A FORWARD -s 198.51.100.0/24 -j DROP" in state["iptables"]
    assert not re.search(r"KUBE-|FLANNEL", state["iptables"]), state["iptables"]


@pytest.mark.parametrize("name", ALL)
def test_gpu_layer_files_stay_byte_for_byte(runs, name):
    assert runs["state"][name]["nvidia"] == runs["before"][name]["nvidia"]


def test_a_second_reset_changes_nothing(runs):
    again = runs["again"]
    assert again.returncode == 0, again.stdout[-4000:]
    assert all(recap(again)[name] == "0" for name in ALL), recap(again)


@pytest.mark.parametrize("name", ALL)
def test_k3s_installs_again_after_the_reset(runs, name):
    assert runs["reconverge"].returncode == 0, runs["reconverge"].stdout[-4000:]
    node = testinfra.get_host("podman://" + name)
    assert node.file("/usr/local/bin/k3s").sha256sum == DOUBLE_SHA256
    assert node.service(UNITS[name]).is_running and node.service(UNITS[name]).is_enabled
    assert len(starts(name)) == runs["before"][name]["starts"] + 1
    assert sh(name, "sha256sum %s; stat -c '%%a %%U' %s" % (" ".join(NVIDIA), " ".join(NVIDIA))) == runs["before"][name]["nvidia"]
