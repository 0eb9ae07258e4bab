"""Unit tests of lambda_ssh_key(_info), lambda_firewall_ruleset and lambda_filesystem(_info) against the fake API."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.sophia.platform.plugins.module_utils._lambda_cloud import normalize_rule
from ansible_collections.sophia.platform.plugins.modules import (
    lambda_filesystem,
    lambda_filesystem_info,
    lambda_firewall_ruleset,
    lambda_ssh_key,
    lambda_ssh_key_info,
)

PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICN+lJwsONkwrdsSnQsu1ydUkIuIg5oOC+Eslvmtt60T ops@example"
PUB2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyMaterialxxxxxxxxxxxxxxxxxxxxxxxxxx ops@example"


def mutations(fake):
    return [c for c in fake.requests if c[0] != "GET"]


# -- lambda_ssh_key ------------------------------------------------------------------------------

def test_ssh_key_add_noop_check_diff(fake, run_module):
    res = run_module(lambda_ssh_key, dict(name="ops", public_key=PUB), check_mode=True, diff=True)
    assert res["changed"] and mutations(fake) == []
    assert res["diff"]["before"] == {} and res["diff"]["after"]["public_key"] == PUB
    res = run_module(lambda_ssh_key, dict(name="ops", public_key=PUB))
    assert res["changed"] and res["ssh_key"]["id"]
    # same key, other comment: no change
    res = run_module(lambda_ssh_key, dict(name="ops", public_key=PUB.replace("ops@example", "laptop")))
    assert not res["changed"]
    assert len(fake.calls("POST", "/ssh-keys")) == 1


def test_ssh_key_different_material_needs_force(fake, run_module):
    fake.add_ssh_key("ops", PUB)
    res = run_module(lambda_ssh_key, dict(name="ops", public_key=PUB2))
    assert res.failed and "force=true" in res["msg"] and mutations(fake) == []
    res = run_module(lambda_ssh_key, dict(name="ops", public_key=PUB2, force=True), diff=True)
    assert res["changed"] and res["ssh_key"]["public_key"] == PUB2
    assert res["diff"]["before"]["public_key"] == PUB


def test_ssh_key_generated_written_0600_not_returned(fake, run_module, tmp_path):
    path = tmp_path / "id_lambda"
    res = run_module(lambda_ssh_key, dict(name="gen", private_key_path=str(path)))
    assert res["changed"] and res["private_key_path"] == str(path)
    assert "private_key" not in res and "PRIVATE KEY" not in str(res)
    assert "PRIVATE KEY" in path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # second run: the key exists, nothing generated, the file left alone
    res = run_module(lambda_ssh_key, dict(name="gen", private_key_path=str(path)))
    assert not res["changed"]


def test_ssh_key_generated_returned_once(fake, run_module):
    res = run_module(lambda_ssh_key, dict(name="gen"))
    assert "PRIVATE KEY" in res["private_key"]
    res = run_module(lambda_ssh_key, dict(name="gen"))
    assert "private_key" not in res


def test_ssh_key_existing_private_key_path_refused_before_create(fake, run_module, tmp_path):
    path = tmp_path / "exists"
    path.write_text("keep me")
    res = run_module(lambda_ssh_key, dict(name="gen", private_key_path=str(path)))
    assert res.failed and "already exists" in res["msg"]
    assert mutations(fake) == [] and path.read_text() == "keep me"
    res = run_module(lambda_ssh_key, dict(name="gen", private_key_path=str(tmp_path / "no" / "dir" / "k")))
    assert res.failed and "does not exist" in res["msg"] and mutations(fake) == []


def test_ssh_key_check_mode_generates_nothing(fake, run_module, tmp_path):
    path = tmp_path / "k"
    res = run_module(lambda_ssh_key, dict(name="gen", private_key_path=str(path)), check_mode=True)
    assert res["changed"] and not path.exists() and mutations(fake) == []


def test_ssh_key_absent(fake, run_module):
    fake.add_ssh_key("ops", PUB)
    res = run_module(lambda_ssh_key, dict(name="ops", state="absent"), check_mode=True)
    assert res["changed"] and mutations(fake) == []
    res = run_module(lambda_ssh_key, dict(name="ops", state="absent"), diff=True)
    assert res["changed"] and res["ssh_key"] is None and res["diff"]["after"] == {}
    assert not fake.ssh_keys
    assert not run_module(lambda_ssh_key, dict(name="ops", state="absent"))["changed"]


def test_ssh_key_bad_input(fake, run_module):
    res = run_module(lambda_ssh_key, dict(name="ops", public_key="not-a-key"))
    assert res.failed and "OpenSSH public key" in res["msg"] and fake.requests == []
    res = run_module(lambda_ssh_key, dict(name="x" * 65, public_key=PUB))
    assert res.failed and "64" in res["msg"]


def test_ssh_key_api_error(fake, run_module):
    fake.fail_next("POST", "/ssh-keys", 400, code="global/invalid-parameters", message="Invalid request data.")
    res = run_module(lambda_ssh_key, dict(name="ops", public_key=PUB))
    assert res.failed and res["code"] == "global/invalid-parameters" and res["status"] == 400


def test_ssh_key_info(fake, run_module):
    fake.add_ssh_key("b", PUB2)
    fake.add_ssh_key("a", PUB)
    res = run_module(lambda_ssh_key_info, {})
    assert [k["name"] for k in res["ssh_keys"]] == ["a", "b"] and not res["changed"]
    assert [k["name"] for k in run_module(lambda_ssh_key_info, dict(name="b"))["ssh_keys"]] == ["b"]
    res = run_module(lambda_ssh_key_info, dict(api_key="nope"))
    assert res.failed and res["status"] == 401


# -- firewall rules ----------------------------------------------------------------------------------

RULES = [
    {"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.0/24", "description": "ssh"},
    {"protocol": "tcp", "port_range": [6443], "source_network": "203.0.113.0/24", "description": "k3s api"},
    {"protocol": "tcp", "port_range": [443, 443], "source_network": "0.0.0.0/0", "description": "https"},
    {"protocol": "icmp", "source_network": "198.51.100.7", "description": "ping"},
]


@pytest.mark.parametrize("rule,problem", [
    ({"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.0/33"}, "not an IPv4 CIDR"),
    ({"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.1/24"}, "host bits"),
    ({"protocol": "tcp", "port_range": [22, 22], "source_network": "2001:db8::/32"}, "IPv4 networks only"),
    ({"protocol": "tcp", "source_network": "0.0.0.0/0"}, "need port_range"),
    ({"protocol": "icmp", "port_range": [1, 1], "source_network": "0.0.0.0/0"}, "no port_range"),
    ({"protocol": "tcp", "port_range": [0, 10], "source_network": "0.0.0.0/0"}, "1 <= min"),
    ({"protocol": "tcp", "port_range": [443, 80], "source_network": "0.0.0.0/0"}, "1 <= min"),
    ({"protocol": "tcp", "port_range": [1, 70000], "source_network": "0.0.0.0/0"}, "65535"),
    ({"protocol": "sctp", "port_range": [1, 2], "source_network": "0.0.0.0/0"}, "protocol"),
    ({"protocol": "udp", "port_range": [1, 2], "source_network": "0.0.0.0/0", "description": "x" * 129}, "128"),
])
def test_normalize_rule_rejects(rule, problem):
    with pytest.raises(ValueError, match=problem):
        normalize_rule(rule)


def test_normalize_rule_canonical():
    assert normalize_rule({"protocol": "TCP", "port_range": [22], "source_network": "198.51.100.7"}) == {
        "protocol": "tcp", "port_range": [22, 22], "source_network": "198.51.100.7/32", "description": ""}


def test_ruleset_create_noop_update_diff(fake, run_module):
    args = dict(name="perimeter", region="us-east-3", rules=RULES)
    res = run_module(lambda_firewall_ruleset, args, check_mode=True)
    assert res["changed"] and mutations(fake) == []
    res = run_module(lambda_firewall_ruleset, args, diff=True)
    assert res["changed"] and res["firewall_ruleset"]["id"] and res["diff"]["before"] == {}
    assert len(fake.rulesets) == 1
    # same rules in another order: no write
    res = run_module(lambda_firewall_ruleset, dict(args, rules=list(reversed(RULES))))
    assert not res["changed"]
    assert len(mutations(fake)) == 1
    # one rule less: one PATCH with the whole new list
    res = run_module(lambda_firewall_ruleset, dict(args, rules=RULES[:3]), diff=True)
    assert res["changed"] and len(res["diff"]["after"]["rules"]) == 3 and len(res["diff"]["before"]["rules"]) == 4
    patch = fake.calls("PATCH")
    assert len(patch) == 1 and len(patch[0][2]["rules"]) == 3


def test_ruleset_bad_rule_refused_before_any_call(fake, run_module):
    bad = RULES + [{"protocol": "tcp", "port_range": [22, 22], "source_network": "10.0.0.300/8"}]
    res = run_module(lambda_firewall_ruleset, dict(name="p", region="us-east-3", rules=bad))
    assert res.failed and "rule 5" in res["msg"] and "10.0.0.300/8" in res["msg"]
    assert fake.requests == []


def test_ruleset_unknown_region_refused(fake, run_module):
    res = run_module(lambda_firewall_ruleset, dict(name="p", region="mars-1", rules=RULES))
    assert res.failed and "Unknown region 'mars-1'" in res["msg"] and mutations(fake) == []


def test_ruleset_absent_and_in_use(fake, run_module):
    inst = fake.add_instance("n1")
    fake.add_ruleset("used", rules=[], instance_ids=[inst["id"]])
    fake.add_ruleset("free")
    res = run_module(lambda_firewall_ruleset, dict(name="free", state="absent"), check_mode=True)
    assert res["changed"] and mutations(fake) == []
    res = run_module(lambda_firewall_ruleset, dict(name="free", state="absent"))
    assert res["changed"] and res["firewall_ruleset"] is None
    assert not run_module(lambda_firewall_ruleset, dict(name="free", state="absent"))["changed"]
    res = run_module(lambda_firewall_ruleset, dict(name="used", state="absent"))
    assert res.failed and res["code"] == "firewall-rulesets/firewall-ruleset-in-use"
    assert "Terminate" in res["hint"]


def test_global_ruleset(fake, run_module):
    res = run_module(lambda_firewall_ruleset, dict(global_ruleset=True, rules=RULES[:2]), diff=True)
    assert res["changed"] and res["firewall_ruleset"]["id"] == "global"
    assert res["diff"]["before"]["rules"] == []
    assert len(fake.global_rules) == 2
    res = run_module(lambda_firewall_ruleset, dict(global_ruleset=True, rules=RULES[:2]))
    assert not res["changed"]
    res = run_module(lambda_firewall_ruleset, dict(global_ruleset=True, rules=[]), check_mode=True)
    assert res["changed"] and len(fake.global_rules) == 2
    res = run_module(lambda_firewall_ruleset, dict(global_ruleset=True, state="absent"))
    assert res.failed and "cannot be removed" in res["msg"]
    assert len(fake.calls("PATCH")) == 1


def test_ruleset_needs_name_or_global(fake, run_module):
    res = run_module(lambda_firewall_ruleset, dict(rules=[]))
    assert res.failed and "name" in res["msg"]


def test_ruleset_api_conflict(fake, run_module):
    fake.add_ruleset("p")
    fake.fail_next("PATCH", "/firewall-rulesets/.*", 409, code="global/internal-error",
                   message="An internal server error occurred.", suggestion="Try again later.", times=20)
    res = run_module(lambda_firewall_ruleset, dict(name="p", region="us-east-3", rules=RULES, api_retries=0))
    assert res.failed and res["status"] == 409 and res["suggestion"] == "Try again later."


# -- file systems --------------------------------------------------------------------------------------

def test_filesystem_create_noop_check_diff(fake, run_module):
    args = dict(name="models", region="us-east-3")
    res = run_module(lambda_filesystem, args, check_mode=True, diff=True)
    assert res["changed"] and mutations(fake) == [] and res["diff"]["before"] == {}
    res = run_module(lambda_filesystem, args)
    assert res["changed"] and res["filesystem"]["mount_point"] == "/lambda/nfs/models"
    assert not run_module(lambda_filesystem, args)["changed"]
    assert len(fake.calls("POST", "/filesystems")) == 1


def test_filesystem_bad_name_and_region(fake, run_module):
    res = run_module(lambda_filesystem, dict(name="9lives", region="us-east-3"))
    assert res.failed and "start with a letter" in res["msg"] and fake.requests == []
    res = run_module(lambda_filesystem, dict(name="models", region="mars-1"))
    assert res.failed and "Unknown region 'mars-1'" in res["msg"] and mutations(fake) == []
    res = run_module(lambda_filesystem, dict(name="models"))
    assert res.failed and "region is required" in res["msg"]


def test_filesystem_other_region_refused(fake, run_module):
    fake.add_filesystem("models", region="us-west-1")
    res = run_module(lambda_filesystem, dict(name="models", region="us-east-3"))
    assert res.failed and "cannot move" in res["msg"]


def test_filesystem_delete_and_in_use(fake, run_module):
    fake.add_filesystem("free")
    fake.add_filesystem("busy", in_use=True)
    res = run_module(lambda_filesystem, dict(name="free", state="absent"), diff=True)
    assert res["changed"] and res["diff"]["after"] == {} and len(fake.filesystems) == 1
    res = run_module(lambda_filesystem, dict(name="busy", state="absent"))
    assert res.failed and res["code"] == "filesystems/filesystem-in-use" and "Terminate" in res["hint"]
    assert len(fake.filesystems) == 1


def test_filesystem_duplicate_from_api(fake, run_module):
    fake.fail_next("POST", "/filesystems", 400, code="global/duplicate", message="Name taken.")
    res = run_module(lambda_filesystem, dict(name="models", region="us-east-3"))
    assert res.failed and res["code"] == "global/duplicate"


def test_filesystem_info(fake, run_module):
    fake.add_filesystem("b", region="us-west-1")
    fake.add_filesystem("a")
    res = run_module(lambda_filesystem_info, {})
    assert [f["name"] for f in res["filesystems"]] == ["a", "b"] and not res["changed"]
    assert [f["name"] for f in run_module(lambda_filesystem_info, dict(region="us-west-1"))["filesystems"]] == ["b"]
    fake.fail_next("GET", "/file-systems", 503, times=50)
    res = run_module(lambda_filesystem_info, dict(api_retries=0))
    assert res.failed and res["status"] == 503


# -- what the Lambda modules share: library version, api_url, no_log -------------------------------

def test_old_urllib3_fails_the_module_with_the_missing_library_message(fake, run_module, monkeypatch):
    from ansible_collections.sophia.platform.plugins.module_utils import _lambda_cloud as lc

    monkeypatch.setattr(lc, "URLLIB3_VERSION", "1.26.20")
    res = run_module(lambda_ssh_key_info, dict())
    assert res.failed and res["code"] == "client/missing-library"
    assert "Failed to import the required Python library (urllib3 >= 2.0.0)" in res["msg"]
    assert "urllib3 1.26.20 is installed" in res["msg"]
    assert fake.requests == []


def no_connection(*args, **kwargs):
    raise AssertionError("a connection was attempted to %r" % (args[:1],))


def test_plain_http_api_url_off_loopback_fails_the_module_before_any_request(fake, run_module, monkeypatch):
    import urllib3.util.connection

    connect = urllib3.util.connection.create_connection
    monkeypatch.setattr(urllib3.util.connection, "create_connection", no_connection)
    res = run_module(lambda_ssh_key_info, dict(api_url="http://192.0.2.10/api/v1"))
    assert res.failed and res["code"] == "client/insecure-api-url"
    assert "https://" in res["suggestion"]
    assert fake.requests == [] and fake.connections == []
    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    assert not run_module(lambda_ssh_key_info, dict()).failed  # http://127.0.0.1 (the fake) is accepted


def test_core_no_log_values_would_erase_a_returned_private_key(capsys):
    """Why lambda_ssh_key does not put the key in no_log_values: core masks it in the result itself,
    so nobody could use it; an action plugin marks the result no_log instead."""
    import json

    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEPRIVATEKEY\n-----END OPENSSH PRIVATE KEY-----\n"
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})
        module.no_log_values.add(secret)
        with pytest.raises(SystemExit):
            module.exit_json(private_key=secret)
    out = json.loads(capsys.readouterr().out)
    assert out["private_key"] != secret and "FAKEPRIVATEKEY" not in out["private_key"]


def test_ssh_key_action_plugin_marks_a_result_with_a_private_key_no_log(monkeypatch):
    from unittest.mock import MagicMock

    from ansible_collections.sophia.platform.plugins.action.lambda_ssh_key import ActionModule

    task = MagicMock(async_val=0, args={}, check_mode=False)
    connection = MagicMock(has_native_async=False)
    action = ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    monkeypatch.setattr("ansible.plugins.action.ActionBase.run", lambda self, tmp=None, task_vars=None: {})
    returned = {}
    monkeypatch.setattr(ActionModule, "_execute_module", lambda self, **kw: dict(returned))

    returned.update(changed=True, private_key="-----BEGIN OPENSSH PRIVATE KEY-----\n...")
    assert action.run(task_vars={})["_ansible_no_log"] is True
    returned.clear()
    returned.update(changed=True, ssh_key={"name": "ops"}, private_key_path="/home/ops/.ssh/k")
    assert "_ansible_no_log" not in action.run(task_vars={})
