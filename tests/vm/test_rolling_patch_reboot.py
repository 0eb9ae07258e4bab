"""After scripts/vm-rolling-patch-test.sh ran playbooks/rolling-patch.yml on a guest whose
/run/reboot-required was set: the guest rebooted (new boot_id), is back, and recorded it."""

import json
import os
import re

import pytest

from conftest import vm

pytestmark = pytest.mark.skipif(os.environ.get("VM_PATCH") != "1", reason="run by scripts/vm-rolling-patch-test.sh")


def test_the_playbook_rebooted_the_guest():
    assert vm("cat /proc/sys/kernel/random/boot_id").stdout.strip() != os.environ["VM_BOOT_BEFORE"]
    with open(os.environ["VM_PLAY_OUTPUT"], encoding="utf-8") as log:
        output = log.read()
    assert re.search(r"TASK \[Reboot for the upgrade\][^\n]*\nchanged: \[vm-kernel\]", output)
    assert re.search(r"vm-kernel\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", output)


def test_the_reboot_cleared_the_request_and_the_patch_was_recorded():
    assert vm("test -e /run/reboot-required", check=False).returncode == 1
    record = json.loads(vm("cat /var/lib/sophia/last-rolling-patch.json").stdout)
    assert record["rebooted"] is True
    assert record["held_included"] is False


def test_the_guest_is_healthy_after_the_reboot():
    assert vm("systemctl is-system-running --wait", check=False).stdout.strip() in ("running", "degraded")
    assert vm("systemctl is-active ssh").stdout.strip() == "active"
