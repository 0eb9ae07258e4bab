"""Real traffic between the scenario's containers decides what the firewall does."""

import pytest

from conftest import probe

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
    ("fw-outsider", "tcp", "fw-worker-01", 443, "open"),
    ("fw-outsider", "tcp", "fw-master-01", 8080, "open"),
    ("fw-outsider", "tcp", "fw-master-01", 6443, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 10250, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 2379, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 9100, "dropped"),
    ("fw-outsider", "udp", "fw-master-01", 8472, "dropped"),
    ("fw-outsider", "udp", "fw-worker-01", 8472, "dropped"),
    ("fw-outsider", "tcp", "fw-master-01", 22, "dropped"),
    ("fw-outsider", "tcp", "fw-worker-01", 22, "dropped"),
    # The controller is the admin network: SSH and the API, not the kubelet.
    ("controller", "tcp", "fw-master-01", 22, "open"),
    ("controller", "tcp", "fw-worker-02", 22, "open"),
    ("controller", "tcp", "fw-master-01", 6443, "open"),
    ("controller", "tcp", "fw-master-01", 10250, "dropped"),
    ("controller", "udp", "fw-master-01", 8472, "dropped"),
]


@pytest.mark.parametrize("source, proto, target, port, expected", MATRIX, ids=str)
def test_traffic(source, proto, target, port, expected):
    assert probe(source, proto, target, port) == expected


def test_outsider_is_not_firewalled_itself():
    """The outsider is no cluster host: the role never ran there."""
    assert probe("fw-master-01", "tcp", "fw-outsider", 22) == "open"
