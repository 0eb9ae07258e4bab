"""Login policy, limits, permissions, packages and services."""

import pytest

from conftest import HOSTS, host, ssh


@pytest.mark.parametrize("name", HOSTS)
def test_login_defs(name):
    content = host(name).file("/etc/login.defs").content_string
    for line in ["UMASK\t027", "PASS_MAX_DAYS\t365", "PASS_MIN_DAYS\t1", "ENCRYPT_METHOD\tYESCRYPT"]:
        assert line in content


@pytest.mark.parametrize("name", HOSTS)
def test_pam_refuses_a_weak_password_and_accepts_a_strong_one(name):
    """A real password change through PAM (chpasswd's PAM service includes common-password), as root:
    pam_pwquality with enforce_for_root must refuse 13 characters and accept the policy's 14+/4 classes."""
    h = host(name)
    h.check_output("id pwprobe || useradd -M -s /usr/sbin/nologin pwprobe")
    try:
        weak = h.run("echo 'pwprobe:Weak-pass-123' | chpasswd")
        assert weak.rc != 0
        assert "BAD PASSWORD" in weak.stderr and "shorter than 14" in weak.stderr, weak.stderr
        strong = h.run("echo 'pwprobe:Str0ng-Passphrase-2026x' | chpasswd")
        assert strong.rc == 0, strong.stderr
    finally:
        h.run("userdel pwprobe")


def test_no_core_dumps_in_a_login_session():
    result = ssh("hd-worker-01", "debian", "ulimit -Hc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_idle_shells_time_out():
    result = ssh("hd-worker-01", "debian", "bash -lc 'echo $TMOUT'")
    assert result.stdout.strip() == "900"


@pytest.mark.parametrize("name", HOSTS)
@pytest.mark.parametrize("path, mode, group", [
    ("/etc/shadow", 0o640, "shadow"), ("/etc/gshadow", 0o640, "shadow"), ("/etc/passwd", 0o644, "root"),
    ("/etc/sudoers.d", 0o750, "root"), ("/root", 0o700, "root"), ("/etc/ssh/sshd_config", 0o600, "root"),
])
def test_permissions(name, path, mode, group):
    f = host(name).file(path)
    assert f.mode == mode
    assert f.user == "root" and f.group == group


@pytest.mark.parametrize("name", HOSTS)
def test_unneeded_packages_removed(name):
    assert not host(name).package("telnet").is_installed


@pytest.mark.parametrize("name", HOSTS)
def test_ctrl_alt_del_masked(name):
    assert host(name).run("systemctl is-enabled ctrl-alt-del.target").stdout.strip() == "masked"
