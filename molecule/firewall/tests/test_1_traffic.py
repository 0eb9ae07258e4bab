"""Real traffic between the scenario's containers decides what the firewall does."""

import pytest

from conftest import ADDRESS, podman, probe

# (source, protocol, target, port, expected)
MATRIX = [
    # A peer (agent) reaching the server: cluster ports open, etcd and SSH not.
    ("fw-worker-01", "tcp", "fw-master-01", 6443, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 10250, "open"),
    ("fw-worker-01", "udp", "fw-master-01", 8472, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 9100, "open"),
    ("fw-worker-01", "udp", "fw-master-01", 123, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 80, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 2379, "dropped"),
    ("fw-worker-01", "tcp", "fw-master-01", 22, "dropped"),
    # K3s metrics Prometheus scrapes at the nodes' private addresses: from peers only; control plane and etcd
    # metrics on servers only, kube-proxy's on every node.
    ("fw-worker-01", "tcp", "fw-master-01", 10257, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 10259, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 2381, "open"),
    ("fw-worker-01", "tcp", "fw-master-01", 10249, "open"),
    ("fw-master-01", "tcp", "fw-worker-02", 10249, "open"),
    ("fw-worker-01", "tcp", "fw-worker-02", 10257, "dropped"),
    ("fw-worker-01", "tcp", "fw-worker-02", 10259, "dropped"),
    ("fw-worker-01", "tcp", "fw-worker-02", 2381, "dropped"),
    # Agents serve no etcd and no NTP, even to peers.
    ("fw-worker-01", "tcp", "fw-worker-02", 2379, "dropped"),
    ("fw-worker-01", "udp", "fw-worker-02", 123, "dropped"),
    ("fw-worker-01", "tcp", "fw-worker-02", 10250, "open"),
    # A server reaching an agent.
    ("fw-master-01", "tcp", "fw-worker-02", 10250, "open"),
    ("fw-master-01", "udp", "fw-worker-02", 8472, "open"),
    # The host outside the cluster: only ingress and its own extra rule.
    ("fw-outsider", "tcp", "fw-master-01", 80, "open"),
    ("fw-outsider", "tcp", "fw-master-01", 443, "open"),
    ("fw-outsider", "tcp", "fw-worker-02", 443, "open"),
    ("fw-outsider", "tcp", "fw-master-01", 8080, "open"),
    ("fw-outsider", "tcp", "fw-master-01", 6443, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 10250, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 2379, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 9100, "dropped"),
    ("fw-outsider", "udp", "fw-master-01", 8472, "dropped"),
    ("fw-outsider", "udp", "fw-worker-01", 8472, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 22, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 10257, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 10259, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 2381, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 10249, "dropped"),
    ("fw-outsider", "tcp", "fw-worker-02", 10249, "dropped"),
    ("fw-outsider", "tcp", "fw-worker-01", 22, "dropped"),
    # The controller is the admin network: SSH and the API, not the kubelet.
    ("controller", "tcp", "fw-master-01", 22, "open"),
    ("controller", "tcp", "fw-worker-02", 22, "open"),
    ("controller", "tcp", "fw-master-01", 6443, "open"),
    ("controller", "tcp", "fw-master-01", 10250, "dropped"),
    ("controller", "udp", "fw-master-01", 8472, "dropped"),
    ("controller", "tcp", "fw-master-01", 10257, "dropped"),
    ("controller", "tcp", "fw-master-01", 2381, "dropped"),
    ("controller", "tcp", "fw-worker-02", 10249, "dropped"),
    # firewall_ingress_cidrs restricts ingress on the host too: fw-worker-01 takes it from the outsider only.
    ("controller", "tcp", "fw-master-01", 80, "open"),
    ("controller", "tcp", "fw-worker-01", 80, "dropped"),
]

# fw-worker-01 runs a pod double (10.42.0.5 behind cni0) and a kube-proxy double that DNATs
# 30080 (a NodePort) and 443 (ingress through servicelb) to it; the pod greets with "pod-double".
# The nodeports extra rule admits the outsider only; so does fw-worker-01's firewall_ingress_cidrs.
PUBLISHED = [
    ("fw-outsider", 30080, "pod-double"),
    ("controller", 30080, "dropped"),
    ("fw-outsider", 443, "pod-double"),
    ("controller", 443, "dropped"),
]


@pytest.mark.parametrize("source, proto, target, port, expected", MATRIX, ids=str)
def test_traffic(source, proto, target, port, expected):
    assert probe(source, proto, target, port) == expected


def test_outsider_is_not_firewalled_itself():
    """The outsider is no cluster host: the role never ran there."""
    assert probe("fw-master-01", "tcp", "fw-outsider", 22) == "open"


@pytest.mark.parametrize("source, port, expected", PUBLISHED, ids=str)
def test_dnated_traffic_follows_the_rules_for_its_original_port(source, port, expected):
    assert probe(source, "banner", "fw-worker-01", port) == expected


def pod_probe(address, port, source_address=None):
    """A TCP probe from the pod double on fw-worker-01 (behind its cni0)."""
    return podman("fw-worker-01", "ip", "netns", "exec", "pod-double", "python3", "/usr/local/bin/probe.py",
                  "tcp", address, str(port), "1.5", *([source_address] if source_address else [])).stdout.strip()


@pytest.mark.parametrize("port", [9100, 10249])
def test_pod_behind_the_cni_reaches_the_node(port):
    """Pod sources are accepted from cni0: the pod reaches ports only pods and peers may use."""
    assert pod_probe("10.42.0.1", port) == "open"


# Prometheus in a pod on another node: Flannel (here its double) masquerades it to that node's private address.
@pytest.mark.parametrize("target, port, expected", [
    ("fw-master-01", 10257, "open"),
    ("fw-master-01", 10259, "open"),
    ("fw-master-01", 2381, "open"),
    ("fw-master-01", 10249, "open"),
    ("fw-worker-02", 10249, "open"),
    ("fw-worker-02", 10257, "dropped"),
    ("fw-master-01", 22, "dropped"),
], ids=str)
def test_pod_on_another_node_scrapes_the_metrics_ports(target, port, expected):
    assert pod_probe(ADDRESS[target], port) == expected


def test_service_sources_follow_sophia_service_cidr():
    """The inventory's sophia_service_cidr (10.96.0.0/16 in this scenario) is the Service network the rules
    admit from the CNI, not the role's standalone default (10.43.0.0/16)."""
    sources = {"10.96.0.9": "open", "10.43.0.9": "dropped"}
    for source in sources:
        podman("fw-worker-01", "ip", "netns", "exec", "pod-double", "ip", "addr", "add", source + "/32", "dev", "eth0")
        # The node answers through cni0, so an accepted packet would show.
        podman("fw-worker-01", "ip", "route", "replace", source + "/32", "dev", "cni0")
    try:
        assert {source: pod_probe("10.42.0.1", 9100, source) for source in sources} == sources
    finally:
        for source in sources:
            podman("fw-worker-01", "ip", "netns", "exec", "pod-double", "ip", "addr", "del", source + "/32", "dev", "eth0",
                   check=False)
            podman("fw-worker-01", "ip", "route", "del", source + "/32", check=False)


def test_pod_source_spoofed_by_a_neighbour_is_dropped():
    """The outsider sends from a pod address over the private network: only its ingress gets through."""
    spoofed, target = "10.42.9.9", "fw-worker-02"
    # The target answers the spoofed address through the outsider, so an accepted packet would show.
    podman(target, "ip", "route", "replace", spoofed + "/32", "via", ADDRESS["fw-outsider"])
    podman("fw-outsider", "ip", "addr", "add", spoofed + "/32", "dev", "eth0")
    try:
        assert probe("fw-outsider", "tcp", target, 80, source_address=spoofed) == "open"
        assert probe("fw-outsider", "tcp", target, 9100, source_address=spoofed) == "dropped"
        assert probe("fw-outsider", "tcp", target, 10250, source_address=spoofed) == "dropped"
        assert probe("fw-outsider", "tcp", target, 10249, source_address=spoofed) == "dropped"
    finally:
        podman("fw-outsider", "ip", "addr", "del", spoofed + "/32", "dev", "eth0", check=False)
        podman(target, "ip", "route", "del", spoofed + "/32", check=False)


def test_pod_source_spoofed_towards_a_server_gets_no_control_plane_metrics():
    """The same spoof towards the server: its control-plane and etcd metrics stay closed."""
    spoofed, target = "10.42.9.9", "fw-master-01"
    podman(target, "ip", "route", "replace", spoofed + "/32", "via", ADDRESS["fw-outsider"])
    podman("fw-outsider", "ip", "addr", "add", spoofed + "/32", "dev", "eth0")
    try:
        assert probe("fw-outsider", "tcp", target, 80, source_address=spoofed) == "open"
        for port in (10257, 10259, 2381):
            assert probe("fw-outsider", "tcp", target, port, source_address=spoofed) == "dropped", port
    finally:
        podman("fw-outsider", "ip", "addr", "del", spoofed + "/32", "dev", "eth0", check=False)
        podman(target, "ip", "route", "del", spoofed + "/32", check=False)
