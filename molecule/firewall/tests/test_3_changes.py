"""Changing the rules: refused input, drift, an SSH-applied change, the peer check and the rollbacks."""

import subprocess
import time

from conftest import (
    ADDRESS, CONTROLLER, EPHEMERAL, INVENTORY_FILE, TABLE, boot_file, extra_rules, journal, listing, podman,
    probe, recap, run_playbook, start_playbook, wait_until, write_ssh_inventory,
)


def ruleset_stat(host):
    return podman(host, "stat", "-c", "%Y %s", "/etc/sophia/firewall/ruleset.nft").stdout


def test_bad_network_stops_every_host_before_any_change():
    before = {h: (listing(h), ruleset_stat(h)) for h in ["fw-master-01", "fw-worker-01"]}
    result, output = run_playbook(INVENTORY_FILE, {"firewall_admin_cidrs": ["%s/32" % CONTROLLER, "10.0.0.0/33"]})
    flat = " ".join(output.split())
    assert result.returncode != 0
    assert "firewall_admin_cidrs: '10.0.0.0/33' is not an IP address or network" in flat
    recap = [line for line in output.splitlines() if " : ok=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
    assert before == {h: (listing(h), ruleset_stat(h)) for h in before}


def test_numbers_mapped_addresses_host_bits_and_unaddressed_peers_are_refused():
    """"1" would be 0.0.0.1, ::ffff:a.b.c.d matches no IPv4 packet, host bits hide a typo (here in the
    inventory's sophia_cluster_cidr, which firewall_pod_cidrs follows), and a peer without a private address
    would be named by its public one: each is refused, naming the variable, before any change."""
    host = "fw-worker-01"
    before = (listing(host), ruleset_stat(host))
    inventory = write_ssh_inventory(host, private={"fw-worker-02": None})
    result, output = run_playbook(inventory, {
        "firewall_admin_cidrs": ["%s/32" % CONTROLLER, "1"],
        "firewall_peer_cidrs": ["::ffff:%s" % ADDRESS["fw-outsider"]],
        "sophia_cluster_cidr": "10.42.0.1/16",
    }, limit=host)
    flat = " ".join(output.split())
    assert result.returncode != 0
    assert "firewall_admin_cidrs: '1' is a bare number" in flat
    assert "firewall_peer_cidrs: '::ffff:%s' is an IPv4-mapped IPv6 address" % ADDRESS["fw-outsider"] in flat
    assert "firewall_pod_cidrs: '10.42.0.1/16' has host bits set" in flat
    assert "sophia_private_ip: peer fw-worker-02 has no private address" in flat
    assert recap(output) == {host: 0}
    assert (listing(host), ruleset_stat(host)) == before


def test_broken_ruleset_is_refused_and_the_old_one_stays():
    host = "fw-worker-01"
    before = (listing(host), ruleset_stat(host))
    result, output = run_playbook(INVENTORY_FILE, {"firewall_extra_rules_raw": ["tcp dport 22 acept"]})
    assert result.returncode != 0
    assert "failed to validate" in output or "Error:" in output, output[-2000:]
    assert (listing(host), ruleset_stat(host)) == before
    assert probe("fw-worker-02", "tcp", host, 10250) == "open"


def test_rule_added_by_hand_is_noticed_and_removed():
    host = "fw-master-01"
    confirmed = listing(host)
    podman(host, "nft", "insert", "rule", "inet", TABLE, "input", "tcp", "dport", "2222", "accept", "comment", '"by hand"')
    assert '"by hand"' in listing(host)
    result, output = run_playbook(INVENTORY_FILE, {})
    assert result.returncode == 0, output[-3000:]
    assert recap(output)[host] > 0, output[-3000:]
    assert listing(host) == confirmed
    result, output = run_playbook(INVENTORY_FILE, {})
    assert result.returncode == 0, output[-3000:]
    assert set(recap(output).values()) == {0}, output[-3000:]


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
    before = listing(host)
    extra = {"firewall_extra_rules": extra_rules(
        {"name": "changed over ssh", "proto": "tcp", "ports": [8081], "sources": ["%s/32" % ADDRESS["fw-outsider"]]},
    )}
    result, output = run_playbook(inventory, extra, limit=host)
    assert result.returncode == 0, output[-3000:]
    assert "Reconnect through the new rules" in output
    assert "Check every peer reaches this host through the new rules" in output
    assert listing(host) != before
    assert "8081" in boot_file(host)
    assert session.wait(timeout=60) == 0
    assert "still-connected" in session.stdout.read()
    assert podman(host, "systemctl", "is-active", "sophia-firewall-rollback.timer", check=False).stdout.strip() != "active"


def test_rollback_when_the_controller_is_cut_off():
    """Rules that shut the controller out: they are loaded and really cut it off, the play loses the
    host, and the host's own timer (not the play) restores the previous rules after the rollback time."""
    host = "fw-worker-01"
    inventory = write_ssh_inventory(host)
    before = listing(host)
    boot_before = boot_file(host)
    rollback = 25
    process, output = start_playbook(
        inventory,
        {"firewall_admin_cidrs": ["192.0.2.0/24"], "firewall_lockout_check": False,
         "firewall_rollback_timeout": rollback, "firewall_confirm_timeout": 8},
        limit=host,
    )
    try:
        assert wait_until(lambda: listing(host) not in ("", before), timeout=300, step=0.5), "new rules never loaded"
        assert "192.0.2.0/24" in listing(host)
        assert probe("controller", "tcp", host, 22) == "dropped"
        assert boot_file(host) == boot_before
        assert wait_until(lambda: listing(host) == before, timeout=rollback + 30)
        assert process.wait(timeout=300) != 0
    finally:
        if process.poll() is None:
            process.kill()
        output.seek(0)
        text = output.read()
        output.close()
    assert "Reconnect through the new rules" in text
    lines = journal(host)
    loaded = [t for t, msg in lines if msg.startswith("loaded ")][-1]
    restored = [t for t, msg in lines if msg == "not confirmed: previous ruleset restored"]
    assert restored and restored[-1] > loaded, lines[-5:]
    # The timer was armed just before the load was logged: the restore came a rollback time later.
    assert rollback - 3 <= restored[-1] - loaded <= rollback + 10, lines[-5:]
    assert boot_file(host) == boot_before
    assert probe("controller", "tcp", host, 22) == "open"


def test_rules_that_cut_the_peers_off_are_rolled_back_at_once():
    """Peers named by wrong addresses: the controller still gets in, but the peers' probes do not,
    so the play puts the previous rules back itself and fails."""
    host = "fw-worker-01"
    inventory = write_ssh_inventory(host, private={"fw-master-01": "192.0.2.1", "fw-worker-02": "192.0.2.2"})
    before = listing(host)
    boot_before = boot_file(host)
    result, output = run_playbook(inventory, {"firewall_rollback_timeout": 300, "firewall_peer_check_timeout": 2},
                                  limit=host)
    flat = " ".join(output.split())
    assert result.returncode != 0
    assert "Reconnect through the new rules" in output
    assert "Check every peer reaches this host through the new rules" in flat
    assert "were rolled back" in flat
    assert "dropped (timed out)" in flat
    assert listing(host) == before
    assert boot_file(host) == boot_before
    assert journal(host)[-1][1] == "not confirmed: previous ruleset restored"
    assert podman(host, "systemctl", "is-active", "sophia-firewall-rollback.timer", check=False).stdout.strip() != "active"


def test_lockout_check_refuses_rules_that_shut_out_the_controller():
    host = "fw-worker-01"
    inventory = write_ssh_inventory(host)
    before = listing(host)
    result, output = run_playbook(inventory, {"firewall_admin_cidrs": ["192.0.2.0/24"]}, limit=host)
    assert result.returncode != 0
    assert "the controller connects from %s" % CONTROLLER in " ".join(output.split())
    assert listing(host) == before
