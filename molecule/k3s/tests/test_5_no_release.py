"""With no bundle and no URL (the lab in make lab), the K3s layer says why it
skips and changes nothing: the same playbook and roles, one code path."""

import re

from conftest import AGENTS, SCENARIO, playbook, starts

AGENT = AGENTS[0]


def test_no_release_skips_saying_why_and_changes_nothing():
    before = starts(AGENT)
    result = playbook(SCENARIO / "converge.yml", "--limit", AGENT,
                      "-e", "k3s_install_bundle_dir=", "-e", "k3s_install_base_url=")
    assert result.returncode == 0, result.stdout[-3000:]
    text = " ".join(result.stdout.split())
    assert "K3s layer skipped on %s: no K3s v1.34.3+k3s1 release available" % AGENT in text
    assert "Nothing about K3s was changed" in text
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M))
    assert recap[AGENT] == "0", recap
    assert starts(AGENT) == before
