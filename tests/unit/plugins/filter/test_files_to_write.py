"""The files_to_write filter against real host_probe results of a temporary tree."""

import grp
import os
import pwd

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sophia.platform.plugins.filter.files_to_write import files_to_write
from ansible_collections.sophia.platform.plugins.modules.host_probe import probe_file

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def probe(*paths):
    """What host_probe returns for these paths (its own file probe, not a hand-written dict)."""
    return {"changed": False, "files": {str(p): probe_file(str(p)) for p in paths}}


def wanted(path, content="server ntp.example\n", mode="0644", **extra):
    item = {"dest": str(path), "content": content, "mode": mode, "owner": OWNER, "group": GROUP}
    item.update(extra)
    return item


@pytest.fixture
def written(tmp_path):
    path = tmp_path / "chrony.conf"
    path.write_text("server ntp.example\n")
    path.chmod(0o644)
    return path


def test_an_identical_file_needs_no_write(written):
    assert files_to_write([wanted(written)], probe(written)) == []


@pytest.mark.parametrize("mode", ["0644", "644", 0o644])
def test_mode_spellings_compare_equal(written, mode):
    assert files_to_write([wanted(written, mode=mode)], probe(written)) == []


def test_a_missing_file_is_written(tmp_path):
    item = wanted(tmp_path / "absent")
    assert files_to_write([item], probe(tmp_path / "absent")) == [item]


def test_different_content_is_written(written):
    item = wanted(written, content="server other.example\n")
    assert files_to_write([item], probe(written)) == [item]


def test_non_ascii_content_is_hashed_as_utf8(tmp_path):
    path = tmp_path / "motd"
    path.write_text("Grüße\n", encoding="utf-8")
    path.chmod(0o644)
    assert files_to_write([wanted(path, content="Grüße\n")], probe(path)) == []


def test_different_mode_is_written(written):
    item = wanted(written, mode="0600")
    assert files_to_write([item], probe(written)) == [item]


def test_different_owner_or_group_is_written(written):
    by_owner = wanted(written, owner="owner-that-differs")
    by_group = wanted(written, group="group-that-differs")
    assert files_to_write([by_owner, by_group], probe(written)) == [by_owner, by_group]


def test_unset_attributes_are_not_compared(written):
    item = {"dest": str(written), "content": "server ntp.example\n"}
    assert files_to_write([item], probe(written)) == []


def test_a_directory_or_link_in_place_of_the_file_is_written(tmp_path, written):
    (tmp_path / "dir").mkdir()
    os.symlink(str(written), str(tmp_path / "link"))
    items = [wanted(tmp_path / "dir"), wanted(tmp_path / "link")]
    assert files_to_write(items, probe(tmp_path / "dir", tmp_path / "link")) == items


def test_order_and_extra_keys_are_kept(tmp_path, written):
    first = wanted(tmp_path / "a", validate="chronyd -p -f %s")
    second = wanted(written)
    third = wanted(tmp_path / "b", notify_key="journald")
    result = files_to_write([first, second, third], probe(tmp_path / "a", written, tmp_path / "b"))
    assert result == [first, third]
    assert result[0]["validate"] == "chronyd -p -f %s"


def test_a_dest_the_probe_did_not_read_is_refused_by_name(written, tmp_path):
    with pytest.raises(AnsibleFilterError, match="no entry for %s" % (tmp_path / "forgotten")):
        files_to_write([wanted(written), wanted(tmp_path / "forgotten")], probe(written))


def test_a_result_without_files_is_refused():
    with pytest.raises(AnsibleFilterError, match="no 'files'"):
        files_to_write([], {"changed": False})


def test_a_symbolic_mode_is_refused_by_name(written):
    with pytest.raises(AnsibleFilterError, match="mode of %s must be octal" % written):
        files_to_write([wanted(written, mode="u=rw,go=r")], probe(written))
