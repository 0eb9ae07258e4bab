"""Unit tests of the shared Lambda Cloud client (plugins/module_utils/_lambda_cloud.py)."""

from __future__ import annotations

import pytest

from ansible_collections.sophia.platform.plugins.module_utils import _lambda_cloud as lc


def test_list_instances_sends_bearer_and_returns_data(fake, make_client):
    fake.add_instance("a")
    client = make_client()
    instances = client.list_instances()
    assert [i["name"] for i in instances] == ["a"]
    assert fake.calls("GET", "/instances")


def test_missing_key_names_env_and_option(monkeypatch):
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    with pytest.raises(lc.LambdaCloudError) as err:
        lc.LambdaCloudClient(api_key=None)
    assert "LAMBDA_API_KEY" in str(err.value) and "api_key" in str(err.value)
    assert err.value.code == "client/missing-api-key"


def test_invalid_key_gives_401_with_code_and_never_the_key(fake, make_client):
    secret = "sk-this-is-the-secret-key-0123456789"
    client = make_client(api_key=secret)
    with pytest.raises(lc.LambdaCloudError) as err:
        client.list_instances()
    exc = err.value
    assert exc.status == 401
    assert exc.code == "global/invalid-api-key"
    assert exc.suggestion
    for text in (str(exc), repr(exc), repr(exc.to_dict()), repr(client), repr(vars(exc))):
        assert secret not in text


def test_429_is_retried_honouring_retry_after(fake, make_client, sleeps):
    fake.fail_next("GET", "/instances", 429, code="global/rate-limited", headers={"Retry-After": "7"}, times=2)
    fake.add_instance("a")
    assert len(make_client().list_instances()) == 1
    assert sleeps == [7.0, 7.0]
    assert len(fake.calls("GET", "/instances")) == 3


def test_retry_after_is_capped(fake, make_client, sleeps):
    fake.fail_next("GET", "/instances", 429, headers={"Retry-After": "3600"})
    make_client(retry_after_max=5).list_instances()
    assert sleeps == [5.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_on_get(fake, make_client, sleeps, status):
    fake.fail_next("GET", "/ssh-keys", status, code="provider/internal-unavailable", times=2)
    assert make_client(backoff_factor=0.5).list_ssh_keys() == []
    assert len(fake.calls("GET", "/ssh-keys")) == 3
    # urllib3 retries the first failure at once, then backs off exponentially (0.5 * 2**1).
    assert sleeps == [1.0]


def test_retries_are_bounded_and_error_carries_status_and_code(fake, make_client):
    fake.fail_next("GET", "/instances", 503, code="provider/internal-unavailable",
                   message="Provider unavailable", suggestion="Try again shortly", times=10)
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client(retries=2).list_instances()
    assert err.value.status == 503
    assert err.value.code == "provider/internal-unavailable"
    assert err.value.suggestion == "Try again shortly"
    assert len(fake.calls("GET", "/instances")) == 3


def test_total_retry_time_is_bounded(fake, make_client, sleeps):
    fake.fail_next("GET", "/instances", 429, headers={"Retry-After": "30"}, times=10)
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client(retries=10, max_retry_time=45).list_instances()
    assert err.value.status == 429
    assert err.value.code == "client/retry-budget-exceeded"
    assert sleeps == [30.0]


def test_post_is_not_retried_after_5xx(fake, make_client):
    fake.add_ssh_key("ops")
    fake.fail_next("POST", "/instance-operations/launch", 500, times=5)
    client = make_client()
    with pytest.raises(lc.LambdaCloudError) as err:
        client.launch_instance({"region_name": "us-east-3", "instance_type_name": "gpu_1x_gh200",
                                "ssh_key_names": ["ops"]})
    assert err.value.status == 500
    assert len(fake.calls("POST", "/instance-operations/launch")) == 1


def test_post_is_retried_after_429(fake, make_client, sleeps):
    fake.add_ssh_key("ops")
    fake.fail_next("POST", "/instance-operations/launch", 429, headers={"Retry-After": "12"})
    ids = make_client().launch_instance({"region_name": "us-east-3", "instance_type_name": "gpu_1x_gh200",
                                         "ssh_key_names": ["ops"]})
    assert len(ids) == 1 and len(fake.instances) == 1
    assert sleeps == [12.0]


def test_launches_are_spaced_by_the_launch_interval(fake, make_client, sleeps, clock):
    fake.add_ssh_key("ops")
    client = make_client(launch_interval=12)
    body = {"region_name": "us-east-3", "instance_type_name": "gpu_1x_gh200", "ssh_key_names": ["ops"]}
    client.launch_instance(body)
    clock.now += 2.0
    client.launch_instance(body)
    assert sleeps == [pytest.approx(10.0)]


def test_read_timeout_is_an_error_with_a_clear_code(fake, make_client):
    fake.fail_next("GET", "/regions", 200, raw=b'{"data": []}', delay=0.6, times=5)
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client(read_timeout=0.2, retries=1).list_regions()
    assert err.value.code == "client/timeout"
    assert err.value.status is None


def test_malformed_json_is_an_error(fake, make_client):
    fake.fail_next("GET", "/instances", 200, raw=b"{not json")
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client().list_instances()
    assert err.value.code == "client/invalid-response"


def test_missing_envelope_is_an_error(fake, make_client):
    fake.fail_next("GET", "/instances", 200, raw=b'[{"id": "x"}]')
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client().list_instances()
    assert "envelope" in str(err.value)


def test_non_json_error_body_still_gives_status(fake, make_client):
    fake.fail_next("GET", "/ssh-keys", 502, raw=b"<html>bad gateway</html>", times=10)
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client(retries=0).list_ssh_keys()
    assert err.value.status == 502
    assert err.value.code == "client/http-502"


def test_connection_refused_is_an_error():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = lc.LambdaCloudClient(api_key="k", api_url="http://127.0.0.1:%d/api/v1" % port,
                                  retries=1, sleep=lambda s: None)
    with pytest.raises(lc.LambdaCloudError) as err:
        client.list_instances()
    assert err.value.code == "client/connection-error"


def test_instance_types_is_a_map(fake, make_client):
    types = make_client().list_instance_types()
    assert types["gpu_1x_gh200"]["regions_with_capacity_available"][0]["name"] == "us-east-3"


def test_error_string_is_actionable():
    exc = lc.LambdaCloudError("Filesystem x is in use.", status=400, code="filesystems/filesystem-in-use",
                              suggestion="Terminate the instances first.", method="DELETE", path="/filesystems/1")
    text = str(exc)
    assert "HTTP 400" in text and "filesystems/filesystem-in-use" in text and "Terminate" in text


@pytest.mark.parametrize("name,arch", [
    ("gpu_1x_gh200", "aarch64"), ("gpu_4x_gb200", "aarch64"), ("GPU_1X_GH200", "aarch64"),
    ("gpu_8x_h100_sxm5", "x86_64"), ("", "x86_64"), (None, "x86_64"),
])
def test_instance_architecture(name, arch):
    assert lc.instance_architecture(name) == arch


def test_tags_round_trip():
    assert lc.tags_to_dict([{"key": "a", "value": "1"}, {"value": "x"}, "junk"]) == {"a": "1"}
    assert lc.dict_to_tags({"b": "2", "a": "1"}) == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]


def test_fake_rejects_off_spec_request_bodies(fake, make_client):
    """The fake itself: a request the OpenAPI document forbids gets 400 and is recorded."""
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client().post("/filesystems", {"name": "9-starts-with-digit", "region": "us-east-3"})
    assert err.value.status == 400
    assert fake.request_errors
    fake.request_errors.clear()


def test_fake_validates_responses(fake, make_client):
    """The fake itself: data off the schema is refused, not served."""
    inst = fake.add_instance("a")
    del inst["actions"]
    with pytest.raises(lc.LambdaCloudError) as err:
        make_client(retries=0).list_instances()
    assert err.value.status == 500
    assert fake.schema_errors
    fake.schema_errors.clear()
