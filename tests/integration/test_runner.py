"""CI drives the project through ansible-runner: a call that reaches no host fails.

The run against a real lab host (events, per-host stats, artifacts) needs the lab
and lives in tests/lab/test_runner_lab.py (scripts/lab-test.sh, `make lab-test`).
"""

import json
import pathlib

import ansible_runner

REPO = pathlib.Path(__file__).resolve().parents[2]
ENVVARS = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}


def run(tmp_path, **kwargs):
    kwargs.setdefault("envvars", ENVVARS)
    return ansible_runner.run(private_data_dir=str(tmp_path), project_dir=str(REPO), quiet=True, **kwargs)


def failed_messages(result):
    return [event["event_data"]["res"].get("msg", "") for event in result.events
            if event["event"] == "runner_on_failed"]


def test_site_parses_through_ansible_runner(tmp_path):
    result = run(tmp_path, playbook="site.yml", inventory=str(REPO / "inventories" / "lab"), cmdline="--syntax-check")
    assert result.status == "successful", "".join(result.stdout.readlines())
    assert result.rc == 0


def test_relative_inventory_path_that_runner_reads_as_content_fails(tmp_path):
    # ansible-runner looks for a relative path under private_data_dir/inventory; not
    # finding it there, it writes the string itself out as an inventory file: one
    # host named "inventories/lab" and no k3s_cluster. That run must not go green.
    result = run(tmp_path, playbook="site.yml", inventory="inventories/lab")
    assert result.status == "failed"
    assert result.rc != 0
    written = (tmp_path / "inventory" / "hosts").read_text()
    assert written.strip() == "inventories/lab"
    assert any("matches no host" in msg and "k3s_cluster" in msg for msg in failed_messages(result))
    # Nothing but the check on localhost ran.
    assert set(result.stats["failures"]) == {"localhost"}
    assert set(result.stats["ok"]) <= {"localhost"}
    assert not result.stats["changed"]


def test_host_layer_with_an_empty_cluster_group_fails(tmp_path):
    inventory = tmp_path / "empty.yml"
    inventory.write_text(json.dumps({"all": {"children": {"k3s_cluster": {"children": {
        "k3s_server": {"hosts": {}}, "k3s_agent": {"hosts": {}}}}, "gpu": {"hosts": {}}}}}))
    (tmp_path / "runner").mkdir()
    result = run(tmp_path / "runner", playbook="playbooks/hosts.yml", inventory=str(inventory))
    assert result.status == "failed" and result.rc != 0
    assert any("'k3s_cluster'" in msg and "matches no host" in msg for msg in failed_messages(result))


def test_node_add_of_a_host_outside_the_cluster_fails_before_any_change(tmp_path):
    # The lab path of node-add.yml (a host already started) names a host the
    # inventory does not have: the old nodes would never admit it.
    result = run(tmp_path, playbook="playbooks/node-add.yml", inventory=str(REPO / "inventories" / "lab"),
                 extravars={"sophia_node_add_existing": "sophia-worker-09"})
    assert result.status == "failed" and result.rc != 0
    assert any("sophia-worker-09" in msg and "k3s_cluster" in msg for msg in failed_messages(result))
    assert set(result.stats["ok"]) <= {"localhost"} and not result.stats["changed"]
