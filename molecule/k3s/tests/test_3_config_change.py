"""A changed setting restarts only the node it changes (runs last: it changes
the cluster)."""

import re

from conftest import ALL, SCENARIO, playbook, starts

CHANGED = "k3s-server-2"


def test_a_config_change_restarts_only_that_node():
    before = {name: len(starts(name)) for name in ALL}
    labels = '{{ ["sophia.io/probe=changed"] if inventory_hostname == "%s" else [] }}' % CHANGED
    result = playbook(SCENARIO / "converge.yml", "-e", '{"k3s_server_node_labels": \'%s\'}' % labels)
    assert result.returncode == 0, result.stdout[-3000:]
    after = {name: len(starts(name)) for name in ALL}
    assert after == {name: before[name] + (1 if name == CHANGED else 0) for name in ALL}
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M))
    assert recap[CHANGED] != "0"
    assert all(recap[name] == "0" for name in ALL if name != CHANGED), recap
