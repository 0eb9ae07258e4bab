"""Unit tests of lambda_instance, lambda_instance_info and lambda_instance_type_info, run against the fake API."""

from __future__ import annotations

import pytest

from ansible_collections.sophia.platform.plugins.modules import (
    lambda_instance,
    lambda_instance_info,
    lambda_instance_type_info,
)

MUTATING = ("/instance-operations/launch", "/instance-operations/terminate", "/instance-operations/restart")


def mutations(fake):
    return [c for c in fake.requests if c[0] != "GET"]


@pytest.fixture
def base(fake):
    fake.add_ssh_key("sophia-prod")
    return dict(region="us-east-3", instance_type="gpu_1x_gh200", ssh_key_names=["sophia-prod"],
                tags={"cluster": "prod", "role": "server"}, wait_interval=0, launch_interval=0)


def test_launch_waits_until_active_then_is_idempotent(fake, run_module, base):
    fake.boot_polls = 2
    res = run_module(lambda_instance, dict(base, name="sophia-master-01"))
    assert not res.failed, res
    assert res["changed"] and res["launched"] == ["sophia-master-01"]
    assert res["instance"]["status"] == "active" and res["instance"]["ip"]
    assert res["instance"]["architecture"] == "aarch64"
    launch = fake.calls("POST", "/instance-operations/launch")
    assert len(launch) == 1
    body = launch[0][2]
    assert body["name"] == "sophia-master-01" and body["hostname"] == "sophia-master-01"
    assert body["tags"] == [{"key": "cluster", "value": "prod"}, {"key": "role", "value": "server"}]

    again = run_module(lambda_instance, dict(base, name="sophia-master-01"))
    assert not again["changed"] and again["launched"] == []
    assert len(fake.calls("POST", "/instance-operations/launch")) == 1


def test_check_mode_launches_nothing(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1"), check_mode=True, diff=True)
    assert res["changed"] and res["launched"] == ["n1"]
    assert mutations(fake) == []
    assert res["diff"]["before"] == {"instances": []}
    assert res["diff"]["after"]["instances"][0]["name"] == "n1"


def test_diff_on_launch(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1"), diff=True)
    assert res["diff"]["before"]["instances"] == []
    assert res["diff"]["after"]["instances"][0]["status"] == "active"


def test_same_name_other_tags_is_refused(fake, run_module, base):
    fake.add_instance("sophia-master-01", tags={"cluster": "staging", "role": "server"})
    res = run_module(lambda_instance, dict(base, name="sophia-master-01"))
    assert res.failed and "tags" in res["msg"] and "no second instance" in res["msg"]
    assert mutations(fake) == []


def test_count_fills_lowest_free_numbers(fake, run_module, base):
    tags = {"cluster": "prod", "role": "agent"}
    fake.add_instance("sophia-worker-02", tags=tags)
    fake.add_instance("sophia-worker-01", tags={"cluster": "dev", "role": "agent"}, status="terminated")
    res = run_module(lambda_instance, dict(base, name="sophia-worker", count=3, tags=tags))
    assert res["launched"] == ["sophia-worker-01", "sophia-worker-03"]
    assert sorted(i["name"] for i in res["instances"]) == ["sophia-worker-01", "sophia-worker-02", "sophia-worker-03"]
    again = run_module(lambda_instance, dict(base, name="sophia-worker", count=3, tags=tags))
    assert not again["changed"]
    fewer = run_module(lambda_instance, dict(base, name="sophia-worker", count=1, tags=tags))
    assert not fewer["changed"] and fewer["terminated"] == []


def test_count_grows_to_sixteen_without_touching_running_ones(fake, run_module, base):
    tags = {"cluster": "prod", "role": "agent"}
    first = run_module(lambda_instance, dict(base, name="sophia-worker", count=2, tags=tags))
    ids = {i["id"] for i in first["instances"]}
    grown = run_module(lambda_instance, dict(base, name="sophia-worker", count=16, tags=tags))
    assert len(grown["launched"]) == 14 and grown["launched"][-1] == "sophia-worker-16"
    assert ids <= {i["id"] for i in grown["instances"]}
    assert fake.calls("POST", "/instance-operations/terminate") == []
    assert fake.calls("POST", "/instance-operations/restart") == []


def test_exact_count_terminates_highest_numbers(fake, run_module, base):
    tags = {"cluster": "prod", "role": "agent"}
    for n in (1, 2, 3):
        fake.add_instance("sophia-worker-%02d" % n, tags=tags)
    res = run_module(lambda_instance, dict(base, name="sophia-worker", exact_count=2, tags=tags), check_mode=True)
    assert res["changed"] and res["terminated"] == ["sophia-worker-03"] and mutations(fake) == []
    res = run_module(lambda_instance, dict(base, name="sophia-worker", exact_count=2, tags=tags))
    assert res["terminated"] == ["sophia-worker-03"]
    assert sorted(i["name"] for i in res["instances"]) == ["sophia-worker-01", "sophia-worker-02"]


def test_group_ignores_other_names(fake, run_module, base):
    tags = {"cluster": "prod", "role": "agent"}
    fake.add_instance("sophia-worker-extra", tags=tags)
    fake.add_instance("sophia-workers-01", tags=tags)
    res = run_module(lambda_instance, dict(base, name="sophia-worker", exact_count=0, tags=tags))
    assert not res["changed"]


def test_no_capacity_lists_where_available(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1", instance_type="gpu_8x_h100_sxm5"))
    assert res.failed
    assert "no capacity for gpu_8x_h100_sxm5 in us-east-3" in res["msg"]
    assert "us-south-1" in res["msg"] and "us-west-1" in res["msg"]
    assert mutations(fake) == []


def test_no_capacity_anywhere(fake, run_module, base):
    fake.capacity["gpu_1x_gh200"] = []
    res = run_module(lambda_instance, dict(base, name="n1"))
    assert res.failed and "no capacity in any region" in res["msg"]


def test_unknown_region_type_key_refused_before_launch(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1", region="mars-1", ssh_key_names=["nope"],
                                           firewall_rulesets=["missing"]))
    assert res.failed
    assert "unknown region 'mars-1'" in res["msg"]
    assert "SSH key 'nope'" in res["msg"] and "firewall ruleset 'missing'" in res["msg"]
    res = run_module(lambda_instance, dict(base, name="n1", instance_type="gpu_99x_imaginary"))
    assert res.failed and "unknown instance type 'gpu_99x_imaginary'" in res["msg"]
    assert mutations(fake) == []


def test_bad_tags_and_names_refused_without_any_call(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1", tags={"Bad Key": "x"}))
    assert res.failed and "tag key 'Bad Key'" in res["msg"]
    res = run_module(lambda_instance, dict(base, name="x" * 65))
    assert res.failed and "longer than 64" in res["msg"]
    assert fake.requests == []


def test_missing_launch_options(fake, run_module):
    res = run_module(lambda_instance, dict(name="n1", wait_interval=0))
    assert res.failed and "region" in res["msg"] and "instance_type" in res["msg"]


def test_missing_api_key(fake, run_module):
    res = run_module(lambda_instance, dict(name="n1", api_url=fake.base_url), auth=False)
    assert res.failed and "LAMBDA_API_KEY" in res["msg"] and "api_key" in res["msg"]
    assert fake.requests == []


def test_invalid_api_key_reports_code(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1", api_key="sk-bad-secret"))
    assert res.failed and res["code"] == "global/invalid-api-key" and res["status"] == 401
    assert "sk-bad-secret" not in str(res)


def test_launch_rate_limit_is_retried(fake, run_module, base, monkeypatch):
    from ansible_collections.sophia.platform.plugins.module_utils import _lambda_cloud as lc

    slept = []
    monkeypatch.setattr(lc.time, "sleep", slept.append)
    fake.fail_next("POST", "/instance-operations/launch", 429, headers={"Retry-After": "12"})
    res = run_module(lambda_instance, dict(base, name="n1"))
    assert not res.failed, res
    assert 12.0 in slept
    assert len(fake.instances) == 1


def test_launch_insufficient_capacity_from_api(fake, run_module, base):
    fake.fail_next("POST", "/instance-operations/launch", 400, code="instance-operations/launch/insufficient-capacity",
                   message="Not enough capacity to fulfill launch request.")
    res = run_module(lambda_instance, dict(base, name="n1"))
    assert res.failed and res["code"] == "instance-operations/launch/insufficient-capacity"


def test_wait_timeout(fake, run_module, base):
    fake.boot_polls = 10 ** 6
    res = run_module(lambda_instance, dict(base, name="n1", wait_timeout=0))
    assert res.failed and "Timed out" in res["msg"]


def test_no_wait_returns_booting(fake, run_module, base):
    fake.boot_polls = 5
    res = run_module(lambda_instance, dict(base, name="n1", wait=False))
    assert res["instance"]["status"] == "booting" and res["instance"]["ip"] is None


def test_launch_options_reach_the_api(fake, run_module, base):
    rs = fake.add_ruleset("perimeter")
    fake.add_filesystem("models")
    res = run_module(lambda_instance, dict(base, name="n1", firewall_rulesets=["perimeter"], file_system_names=["models"],
                                           image_family="lambda-stack-22-04", user_data="#cloud-config\n{}\n"))
    assert not res.failed, res
    body = fake.calls("POST", "/instance-operations/launch")[0][2]
    assert body["firewall_rulesets"] == [{"id": rs["id"]}]
    assert body["file_system_names"] == ["models"]
    assert body["image"] == {"family": "lambda-stack-22-04"}
    assert body["user_data"].startswith("#cloud-config")
    assert "#cloud-config" not in str(res)  # user data may hold secrets: never echoed


def test_filesystem_in_other_region_refused(fake, run_module, base):
    fake.add_filesystem("models", region="us-west-1")
    res = run_module(lambda_instance, dict(base, name="n1", file_system_names=["models"]))
    assert res.failed and "is in us-west-1, not us-east-3" in res["msg"]


def test_absent(fake, run_module, base):
    fake.add_instance("n1", tags=base["tags"])
    fake.add_instance("n1", tags={"cluster": "dev"})  # same name, other cluster: left alone
    res = run_module(lambda_instance, dict(name="n1", state="absent", tags=base["tags"], wait_interval=0),
                     check_mode=True)
    assert res["changed"] and mutations(fake) == []
    res = run_module(lambda_instance, dict(name="n1", state="absent", tags=base["tags"], wait_interval=0), diff=True)
    assert res["changed"] and res["terminated"] == ["n1"] and res["instance"] is None
    assert res["diff"]["after"] == {"instances": []}
    assert len(fake.by_name("n1")) == 1
    again = run_module(lambda_instance, dict(name="n1", state="absent", tags=base["tags"], wait_interval=0))
    assert not again["changed"]


def test_restarted(fake, run_module, base):
    fake.add_instance("n1", tags=base["tags"])
    res = run_module(lambda_instance, dict(name="n1", state="restarted", tags=base["tags"], wait_interval=0))
    assert res["changed"] and res["restarted"] == ["n1"]
    assert len(fake.calls("POST", "/instance-operations/restart")) == 1
    res = run_module(lambda_instance, dict(name="nope", state="restarted", wait_interval=0))
    assert res.failed and "No instance nope" in res["msg"]


def test_server_error_on_list_is_reported(fake, run_module, base, monkeypatch):
    from ansible_collections.sophia.platform.plugins.module_utils import _lambda_cloud as lc

    monkeypatch.setattr(lc.time, "sleep", lambda s: None)
    fake.fail_next("GET", "/instances", 500, code="global/internal-error", times=50)
    res = run_module(lambda_instance, dict(base, name="n1", api_retries=1))
    assert res.failed and res["status"] == 500 and res["code"] == "global/internal-error"


# -- info modules ---------------------------------------------------------------------------------

def test_instance_info_filters(fake, run_module):
    fake.add_instance("a", tags={"cluster": "prod"})
    fake.add_instance("b", tags={"cluster": "dev"}, region="us-west-1", instance_type="gpu_8x_h100_sxm5")
    res = run_module(lambda_instance_info, dict(tags={"cluster": "prod"}))
    assert [i["name"] for i in res["instances"]] == ["a"] and not res["changed"]
    res = run_module(lambda_instance_info, dict(region="us-west-1"))
    assert [i["name"] for i in res["instances"]] == ["b"]
    assert res["instances"][0]["architecture"] == "x86_64" and res["instances"][0]["gpu_count"] == 8
    assert "jupyter" not in str(res)
    assert mutations(fake) == []


def test_instance_info_check_mode_and_error(fake, run_module):
    fake.add_instance("a")
    assert len(run_module(lambda_instance_info, {}, check_mode=True)["instances"]) == 1
    res = run_module(lambda_instance_info, dict(api_key="wrong"))
    assert res.failed and res["code"] == "global/invalid-api-key"


def test_instance_type_info(fake, run_module):
    res = run_module(lambda_instance_type_info, dict(names=["gpu_1x_gh200"]))
    (gh200,) = res["instance_types"]
    assert gh200["regions_with_capacity"] == ["us-east-3"] and gh200["architecture"] == "aarch64"
    res = run_module(lambda_instance_type_info, dict(region="us-west-1"))
    assert sorted(t["name"] for t in res["instance_types"]) == ["cpu_4x_general", "gpu_8x_h100_sxm5"]
    fake.capacity["gpu_1x_a10"] = []
    res = run_module(lambda_instance_type_info, dict(available_only=True))
    assert "gpu_1x_a10" not in [t["name"] for t in res["instance_types"]]


def test_instance_type_info_malformed_json(fake, run_module):
    fake.fail_next("GET", "/instance-types", 200, raw=b"<html>")
    res = run_module(lambda_instance_type_info, {})
    assert res.failed and res["code"] == "client/invalid-response"


def test_check_mode_missing_key_and_ruleset_only_warn(fake, run_module, base):
    res = run_module(lambda_instance, dict(base, name="n1", ssh_key_names=["later"], firewall_rulesets=["later"]),
                     check_mode=True)
    assert not res.failed and res["changed"]
    assert any("SSH key 'later'" in w for w in res["warnings"])
    assert any("firewall ruleset 'later'" in w for w in res["warnings"])
    res = run_module(lambda_instance, dict(base, name="n1", region="mars-1", ssh_key_names=["later"]), check_mode=True)
    assert res.failed and "mars-1" in res["msg"] and "later" in res["msg"]


def test_a_launch_and_its_wait_loop_use_one_connection(fake, run_module, base):
    fake.boot_polls = 4
    res = run_module(lambda_instance, dict(base, name="sophia-master-01"))
    assert not res.failed, res
    polls = [c for c in fake.requests if c[0] == "GET" and c[1].startswith("/instances/")]
    assert len(polls) >= 4
    assert len(fake.requests) >= 8
    assert len(fake.connections) == 1, fake.connections


@pytest.mark.parametrize("size", ["count", "exact_count"])
def test_a_launch_failing_part_way_reports_the_instances_already_launched(fake, run_module, base, size):
    tags = {"cluster": "prod", "role": "agent"}
    args = dict(base, name="sophia-worker", tags=tags, **{size: 3})
    fake.fail_next("POST", "/instance-operations/launch", 400, code="instance-operations/launch/insufficient-capacity",
                   message="Not enough capacity to fulfill launch request.", after=1)
    res = run_module(lambda_instance, args)
    assert res.failed
    (running,) = fake.instances.values()
    assert running["name"] == "sophia-worker-01"
    assert res["launched"] == ["sophia-worker-01"]
    assert res["instance_ids"] == [running["id"]]
    assert res["not_launched"] == ["sophia-worker-02", "sophia-worker-03"]
    assert res["changed"] is True
    assert res["code"] == "instance-operations/launch/insufficient-capacity"
    assert "sophia-worker-01" in res["msg"] and running["id"] in res["msg"]

    again = run_module(lambda_instance, args)
    assert not again.failed, again
    assert again["launched"] == ["sophia-worker-02", "sophia-worker-03"]
    assert len(fake.calls("POST", "/instance-operations/launch")) == 4  # 1 + the failed one + 2


def test_a_wait_failing_after_a_launch_reports_the_launched_ids(fake, run_module, base):
    fake.boot_polls = 3
    fake.fail_next("GET", r"/instances/[0-9a-f]+", 404, code="global/object-does-not-exist",
                   message="Specified instance does not exist.", after=1)
    res = run_module(lambda_instance, dict(base, name="sophia-master-01"))
    assert res.failed and res["status"] == 404
    (running,) = fake.instances.values()
    assert res["launched"] == ["sophia-master-01"] and res["instance_ids"] == [running["id"]]


def test_first_launch_failing_reports_nothing_launched(fake, run_module, base):
    fake.fail_next("POST", "/instance-operations/launch", 400, code="instance-operations/launch/insufficient-capacity",
                   message="Not enough capacity to fulfill launch request.")
    res = run_module(lambda_instance, dict(base, name="sophia-worker", count=2))
    assert res.failed and res["launched"] == [] and res["instance_ids"] == []
    assert fake.instances == {}
