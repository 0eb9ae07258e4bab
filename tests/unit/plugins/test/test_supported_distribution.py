"""The collection's one table of supported distributions, through its filter and test plugins.

Facts have the shape and values Ansible's setup module gives for each release (distribution,
distribution_version from os-release's VERSION_ID or /etc/debian_version, distribution_major_version).
"""

import pytest

from ansible_collections.sophia.platform.plugins.filter.distribution_support import distribution_support
from ansible_collections.sophia.platform.plugins.test.supported_distribution import supported_distribution


def facts(distribution, version, major=None):
    return {"distribution": distribution, "distribution_version": version,
            "distribution_major_version": major or version.split(".")[0]}


@pytest.mark.parametrize("host, cuda_repo", [
    (facts("Debian", "12.11"), "debian12"),
    (facts("Debian", "12.0"), "debian12"),
    (facts("Debian", "12"), "debian12"),
    (facts("Ubuntu", "22.04"), "ubuntu2204"),
    (facts("Ubuntu", "24.04"), "ubuntu2404"),
])
def test_supported_release_is_accepted_with_its_data(host, cuda_repo):
    assert supported_distribution(host) is True
    result = distribution_support(host)
    assert result["supported"] is True
    assert result["data"]["cuda_repo"] == cuda_repo
    assert result["data"]["major"] == host["distribution_major_version"]


def test_debian_point_release_is_debian_12():
    # What validate.yml got wrong before: the full version "12.11" is not the string "12".
    assert distribution_support(facts("Debian", "12.11"))["data"]["release"] == "12"


@pytest.mark.parametrize("host", [
    facts("Debian", "11.9"),
    facts("Ubuntu", "20.04"),
    facts("Ubuntu", "22.10"),
    facts("Ubuntu", "23.04"),
    facts("RedHat", "9.4"),
    facts("Debian", "13.1"),
])
def test_other_release_is_refused_with_a_clear_message(host):
    assert supported_distribution(host) is False
    result = distribution_support(host)
    assert result["data"] == {}
    name = "%s %s" % (host["distribution"], host["distribution_version"])
    assert result["message"] == (
        "%s is not supported by sophia.platform (supported: Debian 12, Ubuntu 22.04, Ubuntu 24.04)." % name)


def test_major_version_is_derived_when_facts_lack_it():
    assert supported_distribution({"distribution": "Debian", "distribution_version": "12.5"}) is True
    assert supported_distribution({"distribution": "Debian", "distribution_version": "11.5"}) is False


@pytest.mark.parametrize("value", [None, {}, "Debian 12", {"distribution": "Ubuntu"}])
def test_missing_facts_are_refused(value):
    assert supported_distribution(value) is False
    assert "is not supported by sophia.platform" in distribution_support(value)["message"]
