"""Behaviour of the common role on converged hosts."""

import functools
import time
import uuid

import pytest
import testinfra

from conftest import address, group, ssh

CLUSTER = group("k3s_cluster")
SERVERS = group("k3s_server")
AGENTS = group("k3s_agent")
testinfra_hosts = ["podman://%s" % name for name in CLUSTER]


def test_scenario_has_the_three_hosts():
    # Guards every parametrized test below against silently running on nothing.
    assert len(CLUSTER) == 3 and len(SERVERS) == 1 and len(AGENTS) == 2


def name_of(host):
    return host.backend.name


def test_hostname_is_the_inventory_name(host):
    assert host.check_output("hostname") == name_of(host)
    assert host.file("/etc/hostname").content_string.strip() == name_of(host)


@pytest.mark.parametrize("peer", CLUSTER)
def test_every_peer_resolves_to_its_private_address(host, peer):
    resolved = host.check_output("getent hosts %s", peer).split()[0]
    assert resolved == address(peer)


def test_chrony_answers_and_leaves_the_shared_clock_alone(host):
    tracking = host.run("chronyc -n tracking")
    assert tracking.rc == 0, tracking.stderr
    pid = host.check_output("pidof chronyd").split()[0]
    cmdline = host.file("/proc/%s/cmdline" % pid).content_string.split("\x00")
    # In a container the clock is the machine's: chronyd must run with -x.
    assert "-x" in cmdline


@pytest.mark.parametrize("agent", AGENTS)
def test_agents_take_time_from_the_server(agent):
    agent_host = testinfra.get_host("podman://%s" % agent)
    server_address = address(SERVERS[0])
    deadline = time.monotonic() + 90
    reach = None
    while time.monotonic() < deadline:
        for line in agent_host.check_output("chronyc -n -c sources").splitlines():
            fields = line.split(",")
            if fields[2] == server_address:
                reach = int(fields[5], 8)
        if reach:
            break
        time.sleep(3)
    assert reach, "%s never got an NTP answer from %s" % (agent, server_address)


@pytest.mark.parametrize("target", CLUSTER)
def test_admin_logs_in_with_key_and_has_sudo(target):
    result = ssh(target, "id_ops", "id -nG && sudo -n true && echo sudo-ok")
    assert result.returncode == 0, result.stderr
    assert "sophia-admins" in result.stdout.split()
    assert "sudo-ok" in result.stdout


@pytest.mark.parametrize("target", CLUSTER)
def test_a_key_that_was_not_given_is_refused(target):
    result = ssh(target, "id_stranger", "true")
    assert result.returncode == 255
    assert "Permission denied" in result.stderr


def test_admin_password_is_locked(host):
    assert host.check_output("passwd -S ops").split()[1] == "L"


def test_retired_account_is_gone(host):
    assert not host.user("retired").exists


def test_journal_survives_on_disk(host):
    marker = "molecule-%s" % uuid.uuid4()
    host.check_output("echo %s | systemd-cat -t sophia-verify", marker)
    host.check_output("journalctl --flush --sync")
    on_disk = host.run("journalctl -D /var/log/journal -t sophia-verify --no-pager -o cat")
    assert marker in on_disk.stdout


def test_journald_runs_with_the_size_limit_on_disk(host):
    """journald reports the limit it applies each time it opens the system journal."""
    reports = host.check_output("journalctl -t systemd-journald -o cat --no-pager | grep '^System Journal (/var/log/journal/'")
    assert " max 2.0G," in reports.splitlines()[-1], reports


@functools.lru_cache(maxsize=None)
def _dry_run(name):
    # One run per host (minutes on a loaded machine), read by both tests below.
    return testinfra.get_host("podman://%s" % name).check_output("unattended-upgrade --dry-run --debug 2>&1 || true")


def dry_run(host):
    return _dry_run(name_of(host))


def test_unattended_upgrades_use_only_the_roles_origins(host):
    """The stock lists (Debian's Origins-Pattern, Ubuntu's Allowed-Origins, added in prepare) are cleared."""
    dump = host.check_output("apt-config dump Unattended-Upgrade").splitlines()
    assert [line for line in dump if line.startswith("Unattended-Upgrade::Allowed-Origins::")] == []
    patterns = [line.split(" ", 1)[1] for line in dump if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")]
    assert patterns == [
        '"origin=Debian,codename=${distro_codename},label=Debian-Security";',
        '"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
    ]
    # What unattended-upgrade itself goes by: the two patterns, nothing else.
    line = [l for l in dry_run(host).splitlines() if l.startswith("Allowed origins are:")][0]
    assert line.split(": ", 1)[1].split(", ") == ["origin=Debian,codename=bookworm,label=Debian-Security",
                                                  "origin=Debian,codename=bookworm-security,label=Debian-Security"]


def test_unattended_upgrades_hold_kernel_and_gpu_packages(host):
    dump = host.check_output("apt-config dump Unattended-Upgrade")
    blacklist = [line for line in dump.splitlines() if line.startswith("Unattended-Upgrade::Package-Blacklist:: ")]
    origins = [line for line in dump.splitlines() if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")]
    assert any("nvidia-" in line for line in blacklist)
    assert any("linux-(image" in line for line in blacklist)
    # Only the security archive: the distribution's own list was cleared.
    assert origins and all("security" in line.lower() for line in origins)
    # unattended-upgrade itself reads the same list.
    line = [l for l in dry_run(host).splitlines() if "Initial blacklist" in l][0]
    assert "nvidia-" in line


def test_admin_accounts_have_no_password_aging(host):
    # ops was created under PASS_MAX_DAYS 365 (prepare), veteran existed with it.
    for user in ("ops", "veteran"):
        maximum = host.check_output("chage -l %s | grep '^Maximum number of days'" % user)
        assert maximum.split(":")[1].strip() == "-1", maximum
        assert "never" in host.check_output("chage -l %s | grep '^Password expires'" % user)


def test_an_aged_unmanaged_account_is_refused_a_key_login():
    """The control: same key, password last changed in 2000 under a 365-day maximum; PAM refuses it."""
    result = ssh(CLUSTER[0], "id_ops", "true", user="agedcontrol")
    assert result.returncode != 0
    assert "Password change required" in result.stderr or "password has expired" in result.stderr, result.stderr


@pytest.mark.parametrize("user", ["ops", "veteran"])
def test_admin_key_login_works_years_after_the_last_password_change(user):
    target = CLUSTER[0]
    testinfra.get_host("podman://%s" % target).check_output("chage -d 2000-01-01 %s" % user)
    result = ssh(target, "id_ops", "true", user=user)
    assert result.returncode == 0, result.stderr
