"""flannel.1 made by hand in the guest, the way Flannel's VXLAN backend makes it (K3s cannot run here).

Flannel creates it over netlink: VNI 1, the private interface as the VTEP device, its address as the
local address, port 8472, learning off and no MTU given, so the kernel takes the interface's less 50.
"""

from conftest import vm

IFACE = "eth0"
ADDRESS = "10.0.2.15"
FEATURE = "tx-checksum-ip-generic"


def create_vxlan(name="flannel.1", vni=1, port=8472, mtu=None):
    """(Re-)create a VXLAN device, set it up, wait until udev has handled it; returns its MTU."""
    vm("ip link del %s 2>/dev/null; ip link add %s%s type vxlan id %d dev %s local %s dstport %d nolearning"
       % (name, name, " mtu %d" % mtu if mtu else "", vni, IFACE, ADDRESS, port))
    vm("ip link set %s up && udevadm settle --timeout=30" % name)
    return int(vm("cat /sys/class/net/%s/mtu" % name).stdout)


def offload(name="flannel.1"):
    """The feature's state as ethtool prints it ('on', 'off', maybe with ' [fixed]')."""
    lines = [row for row in vm("ethtool -k %s" % name).stdout.splitlines() if row.strip().startswith(FEATURE + ":")]
    assert len(lines) == 1, lines
    return lines[0].split(":", 1)[1].strip()


def iface_mtu():
    return int(vm("cat /sys/class/net/%s/mtu" % IFACE).stdout)
