"""What the host layer leaves in force in a real kernel after a reboot."""

import os
import time

import pytest

if "VM_SSH_PORT" not in os.environ:
    pytest.skip("run by scripts/vm-test.sh (needs the guest it boots)", allow_module_level=True)

from conftest import vm  # noqa: E402


def test_this_is_a_new_boot():
    assert vm("cat /proc/sys/kernel/random/boot_id").stdout.strip() != os.environ["VM_BOOT_BEFORE"]


@pytest.mark.parametrize("key, value", [
    ("net.ipv4.ip_forward", "1"),
    ("net.bridge.bridge-nf-call-iptables", "1"),
    ("vm.overcommit_memory", "1"),
    ("vm.panic_on_oom", "0"),
    ("kernel.panic", "10"),
    ("kernel.panic_on_oops", "1"),
    ("kernel.keys.root_maxkeys", "1000000"),
    ("fs.inotify.max_user_watches", "524288"),
    ("kernel.kptr_restrict", "2"),
    ("kernel.dmesg_restrict", "1"),
    ("kernel.unprivileged_bpf_disabled", "2"),
    ("net.ipv4.conf.all.accept_redirects", "0"),
    ("net.ipv4.conf.all.rp_filter", "2"),
    ("fs.suid_dumpable", "0"),
])
def test_kernel_parameter(key, value):
    assert vm("sysctl -n %s" % key).stdout.strip() == value


def test_modules_kubernetes_needs_are_loaded_at_boot():
    loaded = {line.split()[0] for line in vm("cat /proc/modules").stdout.splitlines()}
    assert {"overlay", "br_netfilter", "vxlan"} <= loaded, loaded
    assert "nf_conntrack" in loaded


@pytest.mark.parametrize("module", ["cramfs", "dccp", "sctp", "tipc", "usb-storage"])
def test_disabled_module_cannot_be_loaded(module):
    result = vm("modprobe %s" % module, check=False)
    assert result.returncode != 0
    assert module.replace("-", "_") not in vm("cat /proc/modules").stdout


def test_auditd_runs_with_the_rules():
    assert vm("systemctl is-active auditd").stdout.strip() == "active"
    rules = vm("auditctl -l").stdout
    # Watches list as "-k KEY", syscall rules as "-F key=KEY".
    for key in ["identity", "sudo", "sshd", "k3s", "modules", "privilege_escalation"]:
        assert "-k %s" % key in rules or "key=%s" % key in rules, (key, rules)


def test_every_audit_rule_line_is_loaded_in_the_kernel():
    """The kernel holds as many rules as audit.rules (augenrules' output) has rule lines.

    auditctl stops at the first rule the kernel rejects, so an invalid line leaves fewer rules loaded
    (`augenrules --check` would not notice: it only compares rules.d with audit.rules)."""
    compiled = vm("cat /etc/audit/audit.rules").stdout.splitlines()
    wanted = [line for line in compiled if line.startswith(("-w ", "-a "))]
    loaded = [line for line in vm("auditctl -l").stdout.splitlines() if line.startswith(("-w ", "-a "))]
    assert wanted and len(loaded) == len(wanted), (wanted, loaded)


@pytest.mark.xfail(strict=False, reason=(
    "open finding: in the TCG guest no file-watch event is recorded (even for a watch added by hand), "
    "while rules load and execve rules log; see docs/hosts-layer.md"))
def test_audit_records_an_identity_change():
    vm("usermod --comment 'audited change' debian")
    deadline = time.monotonic() + 20
    found = ""
    while time.monotonic() < deadline and "identity" not in found:
        time.sleep(2)
        found = vm("ausearch -k identity -i", check=False).stdout
    assert "identity" in found


def test_firewall_table_loaded_at_boot():
    assert vm("systemctl is-active sophia-firewall.service").stdout.strip() == "active"
    table = vm("nft list table inet sophia_filter").stdout
    assert "hook input priority filter; policy drop;" in table
    assert "sha1:" in table
    assert "sha1:" + table.split("sha1:")[1][:40] in vm("cat /etc/sophia/firewall/ruleset.nft").stdout


def test_distribution_nftables_service_left_disabled():
    assert vm("systemctl is-enabled nftables.service", check=False).stdout.strip() == "disabled"


def test_apparmor_still_enabled():
    assert vm("aa-enabled", check=False).stdout.strip() == "Yes"
