"""The private_ipv4 filter on recorded-shape facts."""

import pytest

from ansible_collections.sophia.platform.plugins.filter.private_ipv4 import private_ipv4

PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
IGNORE = ["lo", "docker", "cni", "flannel", "veth"]


def facts(default="eth0", **interfaces):
    data = {"interfaces": list(interfaces), "default_ipv4": {"interface": default} if default else {}}
    for name, addresses in interfaces.items():
        entry = {}
        if addresses:
            entry["ipv4"] = {"address": addresses[0]}
            entry["ipv4_secondaries"] = [{"address": a} for a in addresses[1:]]
        data[name.replace("-", "_").replace(".", "_")] = entry
    return data


def test_lambda_like_host_uses_the_default_route_interface():
    host = facts(lo=["127.0.0.1"], eth0=["10.19.60.24"], docker0=["172.17.0.1"])
    assert private_ipv4(host, PRIVATE, ignore=IGNORE) == {
        "interface": "eth0", "address": "10.19.60.24", "reason": "found in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16"}


def test_public_default_route_falls_back_to_a_private_interface():
    host = facts(default="enp1s0", enp1s0=["192.0.2.10"], enp2s0=["172.31.4.5"])
    result = private_ipv4(host, PRIVATE, ignore=IGNORE)
    assert (result["interface"], result["address"]) == ("enp2s0", "172.31.4.5")


def test_cni_and_flannel_links_are_never_chosen():
    host = facts(default=None, **{"cni0": ["10.42.0.1"], "flannel.1": ["10.42.0.0"], "eth1": ["192.168.5.9"]})
    result = private_ipv4(host, PRIVATE, ignore=IGNORE)
    assert result["interface"] == "eth1"


def test_secondary_address_in_range_is_found():
    host = facts(eth0=["203.0.113.5", "10.1.2.3"])
    assert private_ipv4(host, PRIVATE, ignore=IGNORE)["address"] == "10.1.2.3"


def test_no_private_address_says_why():
    result = private_ipv4(facts(eth0=["203.0.113.5"]), PRIVATE, ignore=IGNORE)
    assert result["interface"] is None
    assert "no interface has an IPv4 address in 10.0.0.0/8" in result["reason"]


@pytest.mark.parametrize("interface, address, expected", [
    ("eth1", "", ("eth1", "192.168.9.9")),
    ("", "192.168.9.9", ("eth1", "192.168.9.9")),
    ("eth1", "192.168.9.9", ("eth1", "192.168.9.9")),
])
def test_given_interface_or_address_wins(interface, address, expected):
    host = facts(eth0=["10.0.0.5"], eth1=["192.168.9.9"])
    result = private_ipv4(host, PRIVATE, interface=interface, address=address, ignore=IGNORE)
    assert (result["interface"], result["address"]) == expected


@pytest.mark.parametrize("interface, address, reason", [
    ("eth9", "", "interface eth9 does not exist"),
    ("", "10.9.9.9", "no interface has address 10.9.9.9"),
    ("eth0", "192.168.9.9", "address 192.168.9.9 is not on interface eth0"),
    ("eth2", "", "interface eth2 has no IPv4 address"),
])
def test_given_values_that_do_not_exist_are_reported(interface, address, reason):
    host = facts(eth0=["10.0.0.5"], eth1=["192.168.9.9"], eth2=[])
    result = private_ipv4(host, PRIVATE, interface=interface, address=address, ignore=IGNORE)
    assert result["interface"] is None
    assert result["reason"] == reason
