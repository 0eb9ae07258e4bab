"""The offload workaround survives a reboot (run by scripts/vm-flannel-test.sh after rebooting the guest)."""

import os

import pytest

if "VM_FLANNEL" not in os.environ:
    pytest.skip("run by scripts/vm-flannel-test.sh (needs the guest it boots)", allow_module_level=True)

from conftest import vm  # noqa: E402
from flannel_device import create_vxlan, iface_mtu, offload  # noqa: E402


def test_this_is_a_new_boot():
    assert vm("cat /proc/sys/kernel/random/boot_id").stdout.strip() != os.environ["VM_BOOT_BEFORE"]


def test_flannel_1_created_after_the_reboot_has_offload_off():
    assert vm("test -e /sys/class/net/flannel.1", check=False).returncode != 0
    assert create_vxlan() == iface_mtu() - 50
    assert offload() == "off"
