"""Kernel-level settings: written to files, applied live only where allowed."""

import subprocess

import pytest

from conftest import EPHEMERAL, HOSTS, host


@pytest.mark.parametrize("name", HOSTS)
def test_sysctl_file_has_the_kubernetes_profile(name):
    content = host(name).file("/etc/sysctl.d/90-sophia-hardening.conf").content_string
    for line in ["net.ipv4.ip_forward = 1", "net.bridge.bridge-nf-call-iptables = 1", "vm.overcommit_memory = 1",
                 "vm.panic_on_oom = 0", "kernel.panic = 10", "kernel.panic_on_oops = 1",
                 "fs.inotify.max_user_watches = 524288", "net.ipv4.conf.all.accept_redirects = 0"]:
        assert line in content


@pytest.mark.parametrize("name", HOSTS)
def test_namespaced_net_sysctls_are_live_in_the_container(name):
    h = host(name)
    assert h.sysctl("net.ipv4.ip_forward") == 1
    assert h.sysctl("net.ipv4.conf.all.accept_redirects") == 0
    assert h.sysctl("net.ipv4.conf.all.rp_filter") == 2


def test_the_machines_own_kernel_was_left_alone():
    """Containers share this machine's kernel: kernel./vm./fs. values must be as before."""
    before = dict(line.split("=", 1) for line in (EPHEMERAL / "kernel-before.txt").read_text().split())
    for key, value in before.items():
        now = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, check=False).stdout.strip() or "missing"
        assert now == value, key


@pytest.mark.parametrize("name", HOSTS)
def test_modules(name):
    h = host(name)
    disabled = h.file("/etc/modprobe.d/90-sophia-hardening.conf").content_string
    for module in ["cramfs", "dccp", "sctp", "usb-storage", "tipc"]:
        assert "install %s /bin/false" % module in disabled
    for kept in ["overlay", "br_netfilter", "vxlan", "nf_conntrack", "nvidia", "squashfs"]:
        assert "install %s " % kept not in disabled
    efi = h.file("/sys/firmware/efi").exists
    assert ("install vfat /bin/false" in disabled) is (not efi)
    required = h.file("/etc/modules-load.d/90-sophia-kubernetes.conf").content_string.split()
    assert {"overlay", "br_netfilter", "vxlan", "nf_conntrack"} <= set(required)


@pytest.mark.parametrize("name", HOSTS)
def test_auditd_rules_file_written_but_auditd_not_run_in_a_container(name):
    """Only the file: whether the kernel accepts the rules is tests/vm's (auditctl -l), not a container's.

    (`augenrules --check` is not used: it only says whether rules.d differs from audit.rules, and
    exits 0 for rules the kernel would reject.)"""
    h = host(name)
    assert h.package("auditd").is_installed
    rules = h.file("/etc/audit/rules.d/90-sophia.rules").content_string
    for key in ["-k identity", "-k sudo", "-k sshd", "-k k3s", "-k modules"]:
        assert key in rules
    assert h.service("auditd").is_running is False
    assert h.run("systemctl is-enabled auditd.service").stdout.strip() == "masked"


@pytest.mark.parametrize("name", HOSTS)
def test_apparmor_installed_but_left_to_the_machine(name):
    h = host(name)
    assert h.package("apparmor").is_installed
    assert h.run("systemctl is-enabled apparmor.service").stdout.strip() == "masked"
