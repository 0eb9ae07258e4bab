"""The table, its boot unit and its neighbours, read on the hosts themselves."""

import pytest

from conftest import TABLE, boot_file, boot_listing, journal, listing, live_table, podman

CLUSTER = ["fw-master-01", "fw-worker-01", "fw-worker-02"]


@pytest.mark.parametrize("host", CLUSTER)
def test_own_table_has_default_drop_chains(host):
    table = live_table(host)
    assert "hook input priority filter; policy drop;" in table
    assert "hook forward priority filter; policy drop;" in table


@pytest.mark.parametrize("host", CLUSTER)
def test_live_table_is_the_boot_ruleset(host):
    assert listing(host) == boot_listing(host)
    assert "flush ruleset" not in boot_file(host)
    assert podman(host, "ls", "/etc/sophia/firewall").stdout.split() == ["candidate.nft", "ruleset.nft"]


@pytest.mark.parametrize("host", CLUSTER)
def test_boot_unit_loads_it_before_the_network(host):
    assert podman(host, "systemctl", "is-enabled", "sophia-firewall.service").stdout.strip() == "enabled"
    unit = podman(host, "systemctl", "show", "-p", "Before", "-p", "WantedBy", "sophia-firewall.service").stdout
    assert "network-pre.target" in unit and "sysinit.target" in unit


def test_boot_unit_restores_a_lost_table():
    """What a reboot does: the unit loads the table from the boot ruleset."""
    host = "fw-worker-02"
    before = listing(host)
    podman(host, "nft", "delete", "table", "inet", TABLE)
    assert live_table(host) == ""
    podman(host, "systemctl", "restart", "sophia-firewall.service")
    assert listing(host) == before


def test_tables_of_others_survive():
    """The table prepare created, as K3s's would be, is still there after the converges."""
    out = podman("fw-master-01", "nft", "list", "table", "ip", "k3s_sim").stdout
    assert "hook forward priority" in out


def test_only_etcd_on_servers():
    assert "2379-2380" in live_table("fw-master-01")
    assert "2379" not in live_table("fw-worker-01")


def test_rollback_timer_not_left_armed():
    for host in CLUSTER:
        result = podman(host, "systemctl", "is-active", "sophia-firewall-rollback.timer", check=False)
        assert result.stdout.strip() != "active"


def test_first_converge_loaded_and_confirmed_one_host_at_a_time():
    """firewall_apply_batch_size 1: no host loaded its rules before the one before it had confirmed."""
    spans = []
    for host in CLUSTER:
        lines = journal(host)
        loaded = next(t for t, msg in lines if msg.startswith("loaded "))
        confirmed = next(t for t, msg in lines if t >= loaded and msg.startswith("ruleset confirmed"))
        spans.append((loaded, confirmed, host))
    spans.sort()
    for (_loaded, confirmed, host), (loaded, _confirmed, later) in zip(spans, spans[1:]):
        assert confirmed < loaded, "%s loaded before %s confirmed: %s" % (later, host, spans)
