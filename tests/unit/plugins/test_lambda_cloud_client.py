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


# -- one connection per client -------------------------------------------------------------------

def test_one_client_keeps_one_connection_across_calls_and_retries(fake, make_client, clock):
    fake.add_instance("a")
    client = make_client()
    for dummy in range(3):
        client.list_instances()
    client.list_ssh_keys()
    fake.fail_next("GET", "/instances", 429, headers={"Retry-After": "1"})
    client.list_instances()
    assert len(fake.requests) == 6
    assert len(fake.connections) == 1, fake.connections


def test_retry_budget_counts_from_each_request_not_from_the_client_start(fake, make_client, clock, sleeps):
    client = make_client(max_retry_time=45)
    client.list_instances()
    clock.now += 3600  # a long-lived client: an hour after its first request
    fake.fail_next("GET", "/instances", 429, headers={"Retry-After": "30"})
    assert client.list_instances() == []
    assert sleeps == [30.0]


# -- urllib3 version -----------------------------------------------------------------------------

@pytest.mark.parametrize("version,old", [("1.26.20", True), ("1.21.1", True), ("2.0.0a3", False),
                                         ("2.0.0", False), ("2.8.0", False)])
def test_urllib3_minimum_is_2_0(monkeypatch, version, old):
    monkeypatch.setattr(lc, "URLLIB3_VERSION", version)
    problem = lc.urllib3_too_old()
    assert bool(problem) is old
    if old:
        assert "urllib3 >= 2.0.0" in problem and version in problem


def test_old_urllib3_is_refused_with_the_library_error_not_a_type_error(fake, monkeypatch):
    def retry_of_urllib3_1_26(*args, **kwargs):
        raise TypeError("__init__() got an unexpected keyword argument 'backoff_max'")

    monkeypatch.setattr(lc, "URLLIB3_VERSION", "1.26.20")
    monkeypatch.setattr(lc, "LambdaRetry", retry_of_urllib3_1_26)
    with pytest.raises(lc.LambdaCloudError) as err:
        lc.LambdaCloudClient(api_key=fake.api_key, api_url=fake.base_url)
    assert err.value.code == "client/missing-library"
    assert "urllib3 >= 2.0.0" in str(err.value) and "1.26.20" in str(err.value)
    assert fake.requests == []


# -- api_url -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://cloud.lambda.ai/api/v1",
    "https://lambda-proxy.example.com:8443/api/v1/",
    "http://127.0.0.1:8080/api/v1",
    "http://127.45.6.7/api/v1",
    "http://[::1]:8080/api/v1",
    "http://localhost:8080/api/v1",
    "HTTP://LOCALHOST/api/v1",
])
def test_api_url_https_anywhere_http_only_to_loopback(url):
    client = lc.LambdaCloudClient(api_key="k", api_url=url)
    assert client.api_url == url.rstrip("/")


@pytest.mark.parametrize("url,code", [
    ("http://cloud.lambda.ai/api/v1", "client/insecure-api-url"),
    ("http://10.0.0.5:8080/api/v1", "client/insecure-api-url"),
    ("http://[2001:db8::1]/api/v1", "client/insecure-api-url"),
    ("http://localhost.example.com/api/v1", "client/insecure-api-url"),
    ("http://127.0.0.1.nip.io/api/v1", "client/insecure-api-url"),
    ("ftp://cloud.lambda.ai/api/v1", "client/invalid-api-url"),
    ("cloud.lambda.ai/api/v1", "client/invalid-api-url"),
])
def test_api_url_plain_http_off_loopback_is_refused(url, code):
    with pytest.raises(lc.LambdaCloudError) as err:
        lc.LambdaCloudClient(api_key="sk-never-sent", api_url=url)
    assert err.value.code == code
    assert "sk-never-sent" not in str(err.value)
