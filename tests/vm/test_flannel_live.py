"""Flannel's host side on a real VXLAN device, before a reboot (run by scripts/vm-flannel-test.sh).

flannel.1 is made by hand the way Flannel makes it (flannel_device.py): K3s cannot run here.
"""

import os
import re

import pytest

if "VM_FLANNEL" not in os.environ:
    pytest.skip("run by scripts/vm-flannel-test.sh (needs the guest it boots)", allow_module_level=True)

from conftest import play, vm  # noqa: E402
from flannel_device import FEATURE, IFACE, create_vxlan, iface_mtu, offload  # noqa: E402

ROLE_ONLY = ("--tags", "flannel", "--skip-tags", "hardening")


def recap(result):
    match = re.search(r"vm-kernel\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert match, result.stdout[-3000:]
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[4])}


def test_role_installed_ethtool_where_the_udev_rule_runs_it():
    rule = vm("cat /etc/udev/rules.d/90-sophia-flannel-offload.rules").stdout
    path = re.search(r'RUN\+="(\S+) ', rule)[1]
    assert vm("test -x %s" % path, check=False).returncode == 0, (path, rule)
    assert vm("dpkg-query -W -f='${Status}' ethtool").stdout == "install ok installed"


def test_a_vxlan_device_of_another_name_keeps_offload_on():
    """The kernel's default for a VXLAN device, so the next test can fail."""
    try:
        create_vxlan("vxlan.other", vni=2, port=8473)
        assert offload("vxlan.other") == "on"
    finally:
        vm("ip link del vxlan.other", check=False)


def test_udev_turns_offload_off_on_a_new_flannel_1():
    create_vxlan()
    assert offload() == "off"


def test_offload_is_off_again_on_a_re_created_flannel_1_without_ansible():
    create_vxlan()
    vm("ip link del flannel.1")
    assert vm("test -e /sys/class/net/flannel.1", check=False).returncode != 0
    create_vxlan()
    assert offload() == "off"


def test_kernel_gives_flannel_1_the_mtu_the_role_expects_and_the_role_fixes_live_offload():
    mtu = create_vxlan()
    lower = iface_mtu()
    vm("ethtool -K flannel.1 %s on" % FEATURE)
    assert offload() == "on"
    result = play("flannel.yml", *ROLE_ONLY)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "flannel_node_iface=%s flannel_node_mtu=%d" % (IFACE, lower - 50) in result.stdout
    assert mtu == lower - 50
    assert recap(result)["changed"] == 1, result.stdout[-3000:]
    assert offload() == "off"


def test_role_run_on_a_healthy_live_flannel_1_changes_nothing():
    create_vxlan()
    result = play("flannel.yml", *ROLE_ONLY)
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result)["changed"] == 0, result.stdout[-3000:]


def test_role_fails_naming_a_live_flannel_1_with_a_wrong_mtu():
    lower = iface_mtu()
    assert create_vxlan(mtu=lower - 100) == lower - 100
    try:
        result = play("flannel.yml", *ROLE_ONLY)
    finally:
        create_vxlan()
    assert result.returncode != 0
    assert "flannel.1 on vm-kernel has MTU %d, expected %d" % (lower - 100, lower - 50) in result.stdout, \
        result.stdout[-3000:]


def test_role_fails_naming_each_kernel_setting_that_is_off():
    vm("sysctl -qw net.ipv4.ip_forward=0 && rmmod overlay && rmmod br_netfilter")
    try:
        result = play("flannel.yml", *ROLE_ONLY)
    finally:
        vm("modprobe overlay && modprobe br_netfilter && sysctl -q --system")
    assert result.returncode != 0
    assert "modules not loaded ['overlay']" in result.stdout, result.stdout[-3000:]
    assert "net.ipv4.ip_forward=0" in result.stdout, result.stdout[-3000:]
    assert "net.bridge.bridge-nf-call-iptables=absent" in result.stdout, \
        result.stdout[-3000:]
    assert vm("sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"


def test_role_fails_naming_an_ethtool_path_the_rule_could_not_run():
    result = play("flannel.yml", *ROLE_ONLY, "-e", "__flannel_ethtool=/usr/sbin/ethtool-missing")
    assert result.returncode != 0
    assert "/usr/sbin/ethtool-missing is not an executable on vm-kernel" in result.stdout, result.stdout[-3000:]
    assert "ethtool-missing" not in vm("cat /etc/udev/rules.d/90-sophia-flannel-offload.rules").stdout
