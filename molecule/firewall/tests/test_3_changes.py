"""Changing the rules: refused input, an SSH-applied change, and the rollback."""

import subprocess
import time

from conftest import (
    ADDRESS, CONTROLLER, EPHEMERAL, INVENTORY_FILE, digest, extra_rules, podman, probe, run_playbook, wait_until,
    write_ssh_inventory,
)


def ruleset_stat(host):
    return podman(host, "stat", "-c", "%Y %s", "/etc/sophia/firewall/ruleset.nft").stdout


def test_bad_network_stops_every_host_before_any_change():
    before = {h: (digest(h), ruleset_stat(h)) for h in ["fw-master-01", "fw-worker-01"]}
    result, output = run_playbook(INVENTORY_FILE, {"firewall_admin_cidrs": ["%s/32" % CONTROLLER, "10.0.0.0/33"]})
    flat = " ".join(output.split())
    assert result.returncode != 0
    assert "firewall_admin_cidrs: '10.0.0.0/33' is not an IP address or network" in flat
    recap = [line for line in output.splitlines() if " : ok=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
    assert before == {h: (digest(h), ruleset_stat(h)) for h in before}


def test_host_bits_are_refused():
    result, output = run_playbook(INVENTORY_FILE, {"firewall_pod_cidrs": ["10.42.0.1/16"]})
    assert result.returncode != 0
    assert "firewall_pod_cidrs: '10.42.0.1/16' has host bits set" in " ".join(output.split())


def test_broken_ruleset_is_refused_and_the_old_one_stays():
    host = "fw-worker-01"
    before = (digest(host), ruleset_stat(host))
    result, output = run_playbook(INVENTORY_FILE, {"firewall_extra_rules_raw": ["tcp dport 22 acept"]})
    assert result.returncode != 0
    assert "failed to validate" in output or "Error:" in output, output[-2000:]
    assert (digest(host), ruleset_stat(host)) == before
    assert probe("fw-worker-02", "tcp", host, 10250) == "open"


def _ssh(host, *command):
    return [
        "ssh", "-i", str(EPHEMERAL / "id_admin"), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-o", "ConnectTimeout=5", "-o", "ControlPath=none",
        "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=%s" % (EPHEMERAL / "known_hosts"),
        "debian@%s" % ADDRESS[host], *command,
    ]


def test_change_over_ssh_keeps_the_open_session_and_reconnects():
    """A new ruleset applied over SSH: an open session survives, the play reconnects and confirms."""
    host = "fw-worker-02"
    inventory = write_ssh_inventory(host)
    session = subprocess.Popen(_ssh(host, "sleep 25; echo still-connected"), stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    before = digest(host)
    extra = {"firewall_extra_rules": extra_rules(
        {"name": "changed over ssh", "proto": "tcp", "ports": [8081], "sources": ["%s/32" % ADDRESS["fw-outsider"]]},
    )}
    result, output = run_playbook(inventory, extra, limit=host)
    assert result.returncode == 0, output[-3000:]
    assert "Reconnect through the new rules" in output
    assert digest(host) != before
    assert session.wait(timeout=60) == 0
    assert "still-connected" in session.stdout.read()
    assert podman(host, "systemctl", "is-active", "sophia-firewall-rollback.timer", check=False).stdout.strip() != "active"


def test_rollback_when_the_controller_is_cut_off():
    """Rules that shut the controller out: the play loses the host, the host restores itself."""
    host = "fw-worker-01"
    inventory = write_ssh_inventory(host)
    before = digest(host)
    boot_before = podman(host, "cat", "/etc/sophia/firewall/ruleset.nft").stdout
    rollback = 25
    started = time.monotonic()
    result, output = run_playbook(
        inventory,
        {"firewall_admin_cidrs": ["192.0.2.0/24"], "firewall_lockout_check": False,
         "firewall_rollback_timeout": rollback, "firewall_confirm_timeout": 8},
        limit=host,
    )
    assert result.returncode != 0
    assert "Reconnect through the new rules" in output
    # The new rules really shut the controller out for a while...
    assert digest(host) != before or time.monotonic() - started > rollback
    # ...and within the rollback time (plus slack) the host put the old ones back by itself.
    assert wait_until(lambda: digest(host) == before, timeout=rollback + 30), podman(host, "journalctl", "-t", "sophia-firewall", "--no-pager").stdout
    assert podman(host, "cat", "/etc/sophia/firewall/ruleset.nft").stdout == boot_before
    assert probe("controller", "tcp", host, 22) == "open"
    journal = podman(host, "journalctl", "-t", "sophia-firewall", "--no-pager").stdout
    assert "previous ruleset restored" in journal


def test_lockout_check_refuses_rules_that_shut_out_the_controller():
    host = "fw-worker-01"
    inventory = write_ssh_inventory(host)
    before = digest(host)
    result, output = run_playbook(inventory, {"firewall_admin_cidrs": ["192.0.2.0/24"]}, limit=host)
    assert result.returncode != 0
    assert "the controller connects from %s" % CONTROLLER in " ".join(output.split())
    assert digest(host) == before
