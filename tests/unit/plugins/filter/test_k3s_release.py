"""K3s release files per architecture from the artifact manifest, and sha256 lists."""

import hashlib
import os
import subprocess

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.platform.plugins.filter.k3s_release import k3s_release
from ansible_collections.sophia.platform.plugins.filter.k3s_sha256_list import k3s_sha256_list

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
K3S = yaml.safe_load(open(os.path.join(ROOT, "artifacts.yml")))["k3s"]


@pytest.mark.parametrize("fact,arch,binary", [
    ("aarch64", "arm64", "k3s-arm64"),
    ("x86_64", "amd64", "k3s"),
])
def test_each_architecture_gets_its_own_files(fact, arch, binary):
    files = k3s_release(K3S, "v1.34.3+k3s1", fact)
    assert files["arch"] == arch
    assert files["binary"] == binary
    assert files["sha256_list"] == "sha256sum-%s.txt" % arch
    assert files["images"] == "k3s-airgap-images-%s.tar.zst" % arch
    assert files["base_url"] == "https://github.com/k3s-io/k3s/releases/download/v1.34.3%2Bk3s1"


def test_an_unlisted_architecture_is_refused_naming_the_listed_ones():
    with pytest.raises(AnsibleFilterError, match=r"architecture 'riscv64' \(listed: amd64, arm64\)"):
        k3s_release(K3S, "v1.34.3+k3s1", "riscv64")


def test_an_unlisted_version_is_refused_naming_the_listed_ones():
    with pytest.raises(AnsibleFilterError, match=r"v1.33.0\+k3s1 is not in the artifact manifest \(listed: v1.34.3\+k3s1\)"):
        k3s_release(K3S, "v1.33.0+k3s1", "aarch64")


def test_sha256sum_output_is_read_with_and_without_binary_marker(tmp_path):
    # Real sha256sum output for two files made here.
    (tmp_path / "k3s-arm64").write_bytes(b"binary")
    (tmp_path / "k3s-airgap-images-arm64.tar.zst").write_bytes(b"images")
    text = subprocess.run(["sha256sum", "k3s-arm64", "k3s-airgap-images-arm64.tar.zst"], cwd=tmp_path,
                          check=True, capture_output=True, text=True).stdout
    text += subprocess.run(["sha256sum", "--binary", "k3s-arm64"], cwd=tmp_path,
                           check=True, capture_output=True, text=True).stdout.replace("k3s-arm64", "other")
    sums = k3s_sha256_list(text)
    assert sums["k3s-arm64"] == hashlib.sha256(b"binary").hexdigest()
    assert sums["k3s-airgap-images-arm64.tar.zst"] == hashlib.sha256(b"images").hexdigest()
    assert sums["other"] == hashlib.sha256(b"binary").hexdigest()


@pytest.mark.parametrize("text", ["", "\n", "not a checksum line\n", "abc  k3s\n"])
def test_an_unreadable_list_never_counts_as_verified(text):
    with pytest.raises(AnsibleFilterError):
        k3s_sha256_list(text)
