"""A reboot between loading new rules and confirming them boots the last confirmed rules.

Last in the verify step: it restarts a container (a container's "reboot": a new network namespace,
systemd starting again, transient timers gone). What needs a kernel of its own is in docs/hosts-layer.md.
"""

import subprocess
import time

from conftest import _address, boot_file, journal, listing, podman, wait_until

HOST = "fw-worker-02"
HELPER = "/usr/local/sbin/sophia-firewall-apply"


def _running():
    result = podman(HOST, "systemctl", "is-system-running", check=False)
    return result.stdout.strip() in ("running", "degraded")


def test_reboot_before_confirmation_boots_the_confirmed_rules():
    confirmed = listing(HOST)
    boot_before = boot_file(HOST)
    # A candidate that also opens 8089 to anyone, loaded the way the role loads one, never confirmed.
    podman(HOST, "sh", "-c", "sed 's/iif \"lo\" accept/&\\n\\t\\ttcp dport 8089 accept comment \"pending\"/' "
                             "/etc/sophia/firewall/ruleset.nft > /tmp/pending-test.nft")
    podman(HOST, HELPER, "activate", "/tmp/pending-test.nft", "600")
    assert '"pending"' in listing(HOST)
    assert boot_file(HOST) == boot_before
    assert podman(HOST, "systemctl", "is-active", "sophia-firewall-rollback.timer").stdout.strip() == "active"

    rebooted = time.time()
    subprocess.run(["podman", "restart", "-t", "10", HOST], check=True, capture_output=True, timeout=120)
    assert wait_until(_running, timeout=90)

    assert listing(HOST) == confirmed
    assert '"pending"' not in listing(HOST)
    assert boot_file(HOST) == boot_before
    assert podman(HOST, "systemctl", "is-active", "sophia-firewall.service").stdout.strip() == "active"
    # No timer did it: the timer did not survive the reboot, and the helper restored nothing since.
    assert podman(HOST, "systemctl", "is-active", "sophia-firewall-rollback.timer", check=False).stdout.strip() != "active"
    assert not [msg for t, msg in journal(HOST) if t >= rebooted and "restored" in msg]
    # A peer gets through the booted rules (podman may give the restarted container a new address).
    address = _address(HOST)
    assert wait_until(lambda: podman("fw-master-01", "python3", "/usr/local/bin/probe.py", "tcp", address, "10250",
                                     "1.5").stdout.strip() == "open", timeout=30)
