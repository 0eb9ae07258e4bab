# -*- coding: utf-8 -*-
"""Unit tests of sophia.platform.host_probe on a temporary tree and recorded tool output.

dpkg-query and systemctl output under tests/data/host_probe/ was recorded from the real tools (see the
README there); the fake module replays it for the exact command line the probe sends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pwd

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.sophia.platform.plugins.modules import host_probe

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "data", "host_probe")


def _read(name):
    with open(os.path.join(DATA, name)) as handle:
        return handle.read()


class FakeModule:
    """Answers run_command from recordings and keeps each command line it was given."""

    def __init__(self, answers=None, binaries=("dpkg-query", "systemctl")):
        self.answers = answers or {}
        self.binaries = binaries
        self.commands = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name in self.binaries:
            return "/usr/bin/" + name
        if required:
            raise AssertionError("required binary %s missing" % name)
        return None

    def run_command(self, args, environ_update=None):
        self.commands.append((list(args), environ_update))
        return self.answers[os.path.basename(args[0])]


# ---------------------------------------------------------------- packages


def test_dpkg_recording_keeps_only_installed_packages():
    assert host_probe.parse_dpkg_query(_read("dpkg-query-dev.txt")) == {"bash": "5.2.15-2+b8", "coreutils": "9.1-1"}


def test_packages_one_dpkg_query_call_with_the_spec_format():
    module = FakeModule({"dpkg-query": (1, _read("dpkg-query-lab.txt"), _read("dpkg-query-lab.stderr"))})
    found = host_probe.probe_packages(module, ["chrony", "openssh-server", "sudo", "libc6", "not-a-pkg"])
    assert found == {
        "chrony": "4.3-2+deb12u3",
        "libc6": "2.36-9+deb12u14",
        "openssh-server": "1:9.2p1-2+deb12u10",
        "sudo": "1.9.13p3-1+deb12u4",
    }
    assert "not-a-pkg" not in found
    (args, env), = module.commands
    assert args == ["/usr/bin/dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", "--",
                    "chrony", "openssh-server", "sudo", "libc6", "not-a-pkg"]
    assert env == {"LC_ALL": "C"}


def test_a_held_package_is_installed():
    # Recorded after `apt-mark hold sudo`: dpkg reports "hold ok installed".
    assert host_probe.parse_dpkg_query(_read("dpkg-query-hold.txt")) == {
        "bash": "5.2.15-2+b13", "sudo": "1.9.13p3-1+deb12u4"}


def test_a_package_that_needs_reinstalling_is_not_installed():
    line = _read("dpkg-query-dev.txt").splitlines()[0].replace("install ok installed", "install reinstreq installed")
    assert host_probe.parse_dpkg_query(line + "\n") == {}


def test_packages_not_asked_for_are_not_returned():
    module = FakeModule({"dpkg-query": (0, _read("dpkg-query-lab.txt"), "")})
    assert host_probe.probe_packages(module, ["sudo"]) == {"sudo": "1.9.13p3-1+deb12u4"}


def test_no_packages_asked_runs_nothing():
    module = FakeModule(binaries=())
    assert host_probe.probe_packages(module, []) == {}
    assert module.commands == []


def test_missing_dpkg_query_is_an_error():
    with pytest.raises(host_probe.ProbeError, match="dpkg-query not found"):
        host_probe.probe_packages(FakeModule(binaries=()), ["sudo"])


def test_dpkg_query_hard_failure_is_an_error():
    module = FakeModule({"dpkg-query": (2, "", "dpkg-query: error: cannot access archive")})
    with pytest.raises(host_probe.ProbeError, match="rc 2.*cannot access archive"):
        host_probe.probe_packages(module, ["sudo"])


# ---------------------------------------------------------------- services


def test_systemctl_recording_is_matched_by_position_alias_included():
    module = FakeModule({"systemctl": (0, _read("systemctl-show.txt"), "")})
    states = host_probe.probe_services(
        module, ["chrony", "sshd", "nonexistent-unit", "systemd-journald.service", "ssh.socket"], True)
    assert states["chrony"] == {"load_state": "loaded", "active_state": "active", "sub_state": "running",
                                "unit_file_state": "enabled"}
    assert states["sshd"]["active_state"] == "active"  # the block says Id=ssh.service
    assert states["nonexistent-unit"] == {"load_state": "not-found", "active_state": "inactive",
                                          "sub_state": "dead", "unit_file_state": None}
    assert states["systemd-journald.service"]["unit_file_state"] == "static"
    assert states["ssh.socket"] == {"load_state": "loaded", "active_state": "inactive", "sub_state": "dead",
                                    "unit_file_state": "disabled"}
    (args, env), = module.commands
    assert args == ["/usr/bin/systemctl", "show", "--property=Id,LoadState,ActiveState,SubState,UnitFileState",
                    "--", "chrony.service", "sshd.service", "nonexistent-unit.service",
                    "systemd-journald.service", "ssh.socket"]


def test_a_unit_asked_twice_is_queried_once():
    one_block = _read("systemctl-show.txt").split("\n\n")[0] + "\n"
    module = FakeModule({"systemctl": (0, one_block, "")})
    states = host_probe.probe_services(module, ["chrony", "chrony.service"], True)
    assert states["chrony"] == states["chrony.service"]
    assert module.commands[0][0][-1:] == ["chrony.service"] and len(module.commands[0][0]) == 5


def test_block_count_mismatch_is_an_error():
    module = FakeModule({"systemctl": (0, _read("systemctl-show.txt"), "")})
    with pytest.raises(host_probe.ProbeError, match="5 unit blocks for 2 units"):
        host_probe.probe_services(module, ["chrony", "sshd"], True)


def test_systemctl_failure_is_an_error():
    module = FakeModule({"systemctl": (1, "", "Failed to connect to bus")})
    with pytest.raises(host_probe.ProbeError, match="Failed to connect to bus"):
        host_probe.probe_services(module, ["chrony"], True)


def test_without_systemd_every_state_is_null_and_nothing_runs():
    module = FakeModule()
    states = host_probe.probe_services(module, ["chrony"], False)
    assert states == {"chrony": {"load_state": None, "active_state": None, "sub_state": None,
                                 "unit_file_state": None}}
    assert module.commands == []


# ---------------------------------------------------------------- files and contents


def test_file_attributes_match_the_real_file(tmp_path):
    path = tmp_path / "chrony.conf"
    path.write_text("pool 2.debian.pool.ntp.org iburst\n")
    path.chmod(0o640)
    state = host_probe.probe_file(str(path))
    assert state == {
        "exists": True,
        "type": "file",
        "mode": "0640",
        "owner": pwd.getpwuid(os.getuid()).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
        "size": len("pool 2.debian.pool.ntp.org iburst\n"),
        "checksum": hashlib.sha1(b"pool 2.debian.pool.ntp.org iburst\n").hexdigest(),
        "target": None,
    }


def test_missing_directory_and_link_are_told_apart(tmp_path):
    (tmp_path / "dir").mkdir(mode=0o750)
    (tmp_path / "target").write_text("x")
    os.symlink(str(tmp_path / "target"), str(tmp_path / "link"))
    missing = host_probe.probe_file(str(tmp_path / "missing"))
    assert missing == {"exists": False, "type": None, "mode": None, "owner": None, "group": None,
                       "size": None, "checksum": None, "target": None}
    directory = host_probe.probe_file(str(tmp_path / "dir"))
    assert (directory["type"], directory["mode"], directory["checksum"]) == ("directory", "0750", None)
    link = host_probe.probe_file(str(tmp_path / "link"))
    assert (link["type"], link["checksum"]) == ("link", None)  # lstat: the link, not its target
    assert link["target"] == str(tmp_path / "target")
    os.symlink("../usr/share/zoneinfo/Etc/UTC", str(tmp_path / "localtime"))
    assert host_probe.probe_file(str(tmp_path / "localtime"))["target"] == "../usr/share/zoneinfo/Etc/UTC"


def test_read_returns_text_and_null_for_missing(tmp_path):
    (tmp_path / "hostname").write_text("sophia-master-01\n")
    assert host_probe.read_text(str(tmp_path / "hostname")) == "sophia-master-01\n"
    assert host_probe.read_text(str(tmp_path / "absent")) is None


def test_read_refuses_a_file_over_256_kib_naming_it(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"a" * (256 * 1024 + 1))
    with pytest.raises(host_probe.ProbeError, match=str(big)):
        host_probe.read_text(str(big))
    exact = tmp_path / "exact"
    exact.write_bytes(b"a" * (256 * 1024))
    assert len(host_probe.read_text(str(exact))) == 256 * 1024


def test_read_refuses_a_directory_and_binary_naming_them(tmp_path):
    with pytest.raises(host_probe.ProbeError, match="%s is not a regular file" % tmp_path):
        host_probe.read_text(str(tmp_path))
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(host_probe.ProbeError, match="bin is not UTF-8"):
        host_probe.read_text(str(tmp_path / "bin"))


# ---------------------------------------------------------------- sysctls, users, groups, host facts


def test_sysctls_read_from_proc_sys_with_whitespace_collapsed(tmp_path):
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "net" / "ipv4" / "ip_forward").write_text("1\n")
    (tmp_path / "net" / "ipv4" / "ip_local_port_range").write_text("32768\t60999\n")
    values = host_probe.read_sysctls(["net.ipv4.ip_forward", "net.ipv4.ip_local_port_range", "kernel.absent"],
                                     str(tmp_path))
    assert values == {"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "32768 60999",
                      "kernel.absent": None}


def test_users_from_pwd_and_shadow(tmp_path):
    me = pwd.getpwuid(os.getuid())
    shadow = tmp_path / "shadow"
    shadow.write_text("%s:!$y$j9T$abc:19000:0:99999:7:::\n" % me.pw_name)
    users = host_probe.probe_users([me.pw_name, "no-such-user-x9"], str(shadow))
    assert users[me.pw_name] == {"exists": True, "uid": me.pw_uid, "gid": me.pw_gid, "home": me.pw_dir,
                                 "shell": me.pw_shell, "comment": me.pw_gecos, "password_locked": True,
                                 "password_expire_max": 99999}
    assert users["no-such-user-x9"] == {"exists": False, "uid": None, "gid": None, "home": None,
                                        "shell": None, "comment": None, "password_locked": None,
                                        "password_expire_max": None}


def test_password_lock_states(tmp_path):
    me = pwd.getpwuid(os.getuid()).pw_name
    shadow = tmp_path / "shadow"
    shadow.write_text("%s:$y$j9T$hash:19000::::::\n" % me)
    entry = host_probe.probe_users([me], str(shadow))[me]
    assert (entry["password_locked"], entry["password_expire_max"]) == (False, -1)  # empty max: no aging
    shadow.write_text("%s:*:19000:0:365:7:::\n" % me)
    entry = host_probe.probe_users([me], str(shadow))[me]
    assert (entry["password_locked"], entry["password_expire_max"]) == (True, 365)
    shadow.write_text("someone-else:*:19000:0:365:7:::\n")
    entry = host_probe.probe_users([me], str(shadow))[me]
    assert (entry["password_locked"], entry["password_expire_max"]) == (None, None)
    entry = host_probe.probe_users([me], str(tmp_path / "unreadable"))[me]
    assert (entry["password_locked"], entry["password_expire_max"]) == (None, None)


def test_groups_from_grp():
    mine = grp.getgrgid(os.getgid())
    groups = host_probe.probe_groups([mine.gr_name, "no-such-group-x9"])
    assert groups[mine.gr_name] == {"exists": True, "gid": mine.gr_gid, "members": list(mine.gr_mem)}
    assert groups["no-such-group-x9"] == {"exists": False, "gid": None, "members": []}


@pytest.mark.parametrize("files, expected", [
    ({"run/systemd/container": "podman\n", "run/.containerenv": "", ".dockerenv": ""}, "podman"),
    ({"run/systemd/container": "lxc\n"}, "lxc"),
    ({"run/systemd/container": "", "run/.containerenv": ""}, "podman"),
    ({".dockerenv": ""}, "docker"),
    ({}, "none"),
])
def test_container_detection_order(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert host_probe.detect_container(str(tmp_path)) == expected


def test_kernel_modules_sorted_and_empty_when_unreadable(tmp_path):
    modules = tmp_path / "modules"
    modules.write_text("overlay 151552 0 - Live 0x0\nbr_netfilter 32768 0 - Live 0x0\n")
    assert host_probe.kernel_modules(str(modules)) == ["br_netfilter", "overlay"]
    assert host_probe.kernel_modules(str(tmp_path / "absent")) == []


def test_probe_on_a_systemd_tree_queries_systemctl(tmp_path):
    (tmp_path / "run" / "systemd" / "system").mkdir(parents=True)
    (tmp_path / "run" / "systemd" / "container").write_text("podman")
    one_block = _read("systemctl-show.txt").split("\n\n")[0] + "\n"
    module = FakeModule({"systemctl": (0, one_block, "")})
    params = dict(packages=[], files=[], read=[], services=["chrony"], sysctls=[], users=[], groups=[])
    result = host_probe.probe(module, params, root=str(tmp_path))
    assert result["systemd"] is True
    assert result["container"] == "podman"
    assert result["services"]["chrony"]["sub_state"] == "running"
    assert result["kernel_modules"] == []


def test_probe_without_systemctl_reports_no_systemd(tmp_path):
    (tmp_path / "run" / "systemd" / "system").mkdir(parents=True)
    params = dict(packages=[], files=[], read=[], services=["chrony"], sysctls=[], users=[], groups=[])
    result = host_probe.probe(FakeModule(binaries=()), params, root=str(tmp_path))
    assert result["systemd"] is False
    assert result["services"]["chrony"]["load_state"] is None


# ---------------------------------------------------------------- the module entry point


def _run_main(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            host_probe.main()
    return json.loads(capsys.readouterr().out)


def test_main_reads_and_never_changes_in_check_mode(capsys, tmp_path):
    target = tmp_path / "f"
    target.write_text("hello\n")
    result = _run_main(capsys, {"files": [str(target)], "read": [str(target)], "_ansible_check_mode": True})
    assert result["changed"] is False
    assert result["files"][str(target)]["checksum"] == hashlib.sha1(b"hello\n").hexdigest()
    assert result["contents"] == {str(target): "hello\n"}
    assert target.read_text() == "hello\n"
    for key in ("packages", "services", "sysctls", "users", "groups", "container", "systemd", "kernel_modules"):
        assert key in result


def test_main_fails_naming_the_oversized_file(capsys, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"a" * (256 * 1024 + 1))
    result = _run_main(capsys, {"read": [str(big)]})
    assert result["failed"] is True
    assert str(big) in result["msg"]


def test_main_refuses_an_unknown_option(capsys):
    result = _run_main(capsys, {"package": ["sudo"]})
    assert result["failed"] is True
    assert "package" in result["msg"]
