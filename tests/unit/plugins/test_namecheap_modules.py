"""Unit tests of namecheap_dns_record(_info) and the Namecheap client against the fake XML API."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sophia.platform.plugins.module_utils._namecheap import (
    NamecheapClient,
    NamecheapError,
    check_host_name,
    split_domain,
)
from ansible_collections.sophia.platform.plugins.modules import namecheap_dns_record, namecheap_dns_record_info
from namecheap_fake import FakeNamecheap

DOMAIN = "sophia-intel.ai"
MAIL = [("@", "MX", "mx1.mail.example.net.", 1800, 10), ("@", "MX", "mx2.mail.example.net.", 1800, 20),
        ("@", "TXT", "v=spf1 include:mail.example.net ~all", 1800, 10)]
OTHERS = [("@", "A", "76.76.21.21", 1800, 10), ("app", "CNAME", "cname.vercel-dns.com.", 1800, 10),
          ("_dmarc", "TXT", "v=DMARC1; p=none", 1800, 10), ("www", "URL301", "https://sophia-intel.ai", 1800, 10)]


@pytest.fixture
def nc():
    api = FakeNamecheap()
    api.start()
    api.add_domain(DOMAIN, MAIL + OTHERS, email_type="MX")
    yield api
    api.stop()


@pytest.fixture
def run(nc, capsys, monkeypatch):
    from ansible.module_utils.testing import patch_module_args

    for var in ("NAMECHEAP_API_USER", "NAMECHEAP_API_KEY", "NAMECHEAP_USERNAME", "NAMECHEAP_CLIENT_IP",
                "NAMECHEAP_API_URL"):
        monkeypatch.delenv(var, raising=False)

    def _run(module, args, check_mode=False, diff=False, auth=True):
        full = dict(args)
        if auth:
            full.setdefault("api_user", nc.api_user)
            full.setdefault("api_key", nc.api_key)
            full.setdefault("client_ip", nc.client_ip)
            full.setdefault("api_url", nc.base_url)
        full.setdefault("api_retries", 1)
        full["_ansible_check_mode"] = check_mode
        full["_ansible_diff"] = diff
        capsys.readouterr()
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)

    return _run


def sets(nc):
    return nc.calls("namecheap.domains.dns.setHosts")


def unrelated(nc):
    """Every record that is not an api A record, and the mail setting."""
    return [r for r in nc.records(DOMAIN) if not (r[0] == "api" and r[1] == "A")], nc.domains[DOMAIN]["email_type"]


def test_create_keeps_every_other_record_and_the_mail_setting(nc, run):
    before = unrelated(nc)
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10", "198.51.100.11"],
                                         ttl=300))
    assert res["changed"] and not res.get("failed"), res
    assert [r["value"] for r in res["records"]] == ["198.51.100.10", "198.51.100.11"]
    assert res["other_records"] == len(MAIL + OTHERS)
    assert unrelated(nc) == before  # MX, TXT, CNAME, URL301 and EmailType=MX all survive
    (call,) = sets(nc)
    assert call[0] == "POST" and call[2]["EmailType"] == "MX"
    assert ("api", "A", "198.51.100.11", 300, 10) in nc.records(DOMAIN)


def test_without_email_type_the_fake_would_drop_mail_records(nc):
    # The hazard the module guards against, shown on the fake: setHosts without EmailType.
    client = NamecheapClient(nc.api_user, nc.api_key, nc.client_ip, api_url=nc.base_url, retries=0)
    zone = client.get_hosts(DOMAIN)
    client.set_hosts(DOMAIN, zone["hosts"], email_type=None)
    assert not [r for r in nc.records(DOMAIN) if r[1] == "MX"] and nc.domains[DOMAIN]["email_type"] == ""


def test_noop_sends_nothing(nc, run):
    run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"], ttl=300))
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="API", type="A", values=["198.51.100.10"], ttl=300))
    assert not res["changed"]
    assert len(sets(nc)) == 1
    # CNAME targets compare without the trailing dot Namecheap returns
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="app", type="CNAME", values=["CNAME.vercel-dns.com"]))
    assert not res["changed"] and len(sets(nc)) == 1


def test_update_value_and_ttl_with_diff(nc, run):
    run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"], ttl=300))
    before = unrelated(nc)
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.12"], ttl=600),
              diff=True)
    assert res["changed"]
    assert res["diff"]["before"]["records"] == [{"name": "api", "type": "A", "value": "198.51.100.10", "ttl": 300}]
    assert res["diff"]["after"]["records"] == [{"name": "api", "type": "A", "value": "198.51.100.12", "ttl": 600}]
    assert res["diff"]["before"]["email_type"] == res["diff"]["after"]["email_type"] == "MX"
    assert unrelated(nc) == before
    assert [r for r in nc.records(DOMAIN) if r[0] == "api"] == [("api", "A", "198.51.100.12", 600, 10)]


def test_update_a_mail_record_keeps_the_others(nc, run):
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="@", type="MX", values=["mx3.mail.example.net"],
                                         mx_pref=5))
    assert res["changed"]
    assert ("@", "MX", "mx3.mail.example.net", 1800, 5) in nc.records(DOMAIN)
    assert nc.domains[DOMAIN]["email_type"] == "MX"
    assert all(r in nc.records(DOMAIN) for r in OTHERS)


def test_check_mode_writes_nothing(nc, run):
    snapshot = nc.snapshot()
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"]),
              check_mode=True, diff=True)
    assert res["changed"] and res["diff"]["before"]["records"] == [] and sets(nc) == []
    assert nc.snapshot() == snapshot


def test_delete_all_or_some_values(nc, run):
    run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10", "198.51.100.11"]))
    before = unrelated(nc)
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.11"],
                                         state="absent"))
    assert res["changed"] and [r["value"] for r in res["records"]] == ["198.51.100.10"]
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", state="absent"), diff=True)
    assert res["changed"] and res["records"] == [] and res["diff"]["after"]["records"] == []
    assert unrelated(nc) == before and [r for r in nc.records(DOMAIN) if r[0] == "api"] == []
    count = len(sets(nc))
    assert not run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", state="absent"))["changed"]
    assert len(sets(nc)) == count


def test_email_type_change_is_a_change(nc, run):
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="@", type="A", values=["76.76.21.21"],
                                         email_type="MXE"), diff=True)
    assert res["changed"] and res["diff"]["after"]["email_type"] == "MXE"
    assert nc.domains[DOMAIN]["email_type"] == "MXE"


@pytest.mark.parametrize("args,problem", [
    (dict(name="api", type="A", values=["2001:db8::1"]), "not an IPv4 address"),
    (dict(name="api", type="AAAA", values=["198.51.100.1"]), "not an IPv6 address"),
    (dict(name="api", type="A", values=["300.1.1.1"]), "not an IP address"),
    (dict(name="api", type="A", values=["198.51.100.1"], ttl=59), "60 to 60000"),
    (dict(name="api", type="A", values=["198.51.100.1"], ttl=60001), "60 to 60000"),
    (dict(name="bad_host!", type="A", values=["198.51.100.1"]), "not @ or a relative name"),
    (dict(name="api.-x", type="A", values=["198.51.100.1"]), "not @ or a relative name"),
    (dict(name="a.*", type="A", values=["198.51.100.1"]), "wildcard"),
    (dict(name="app", type="CNAME", values=["a.example.com", "b.example.com"]), "one value"),
    (dict(name="app", type="CNAME", values=["not a host"]), "not a host name"),
    (dict(name="api", type="A", values=[]), "at least one value"),
    (dict(name="api", type="A", values=["198.51.100.1"], domain="localhost"), "registered domain"),
])
def test_bad_input_refused_before_any_call(nc, run, args, problem):
    full = dict(domain=DOMAIN)
    full.update(args)
    res = run(namecheap_dns_record, full)
    assert res.get("failed") and problem in res["msg"], res
    assert nc.requests == []


def test_type_outside_documented_list_refused(nc, run):
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="SRV", values=["x"]))
    assert res.get("failed") and "SRV" in res["msg"] and nc.requests == []


@pytest.mark.parametrize("change,code,hint", [
    (dict(client_ip="203.0.113.9"), "1011150", "whitelisted"),
    (dict(api_key="wrong-key"), "1011102", "API access"),
    (dict(username="someone-else"), "1016103", "username"),
    (dict(domain="unknown.ai"), "2019166", "domain is not found"),
])
def test_provider_errors_mapped_to_hints_without_the_key(nc, run, change, code, hint):
    args = dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"])
    args.update(change)
    res = run(namecheap_dns_record, args)
    assert res.get("failed") and res["code"] == code and hint in res["hint"], res
    assert nc.api_key not in json.dumps(res) and "wrong-key" not in json.dumps(res)
    assert sets(nc) == []


def test_domain_of_another_account_and_custom_nameservers(nc, run):
    nc.add_domain("other.ai", owner="someone")
    res = run(namecheap_dns_record, dict(domain="other.ai", name="api", type="A", values=["198.51.100.10"]))
    assert res["code"] == "2016166" and "not associated" in res["hint"]
    nc.add_domain("elsewhere.ai", our_dns=False)
    res = run(namecheap_dns_record, dict(domain="elsewhere.ai", name="api", type="A", values=["198.51.100.10"]))
    assert res["code"] == "2030288" and "DNS servers" in res["hint"]


def test_set_hosts_error_and_server_errors(nc, run):
    nc.fail_next("namecheap.domains.dns.setHosts", "3031510", "Error From Enom when Errorcount <> 0")
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"]))
    assert res["code"] == "3031510" and "Enom" in res["msg"]
    # a 503 is retried (api_retries=1) and then succeeds
    nc.fail_next("namecheap.domains.dns.getHosts", status=503)
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"]))
    assert res["changed"] and not res.get("failed")
    nc.fail_next("*", status=503, times=2)  # the call and its one retry
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"]))
    assert res["status"] == 503 and res["code"] == "client/http-503"
    nc.fail_next("namecheap.domains.dns.getHosts", raw=b"<ApiResponse><unclosed>")
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"]))
    assert res["code"] == "client/invalid-response"


def test_xml_entity_attacks_refused(nc, run):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b'<ApiResponse Status="OK"><Errors/>&b;</ApiResponse>')
    nc.fail_next("namecheap.domains.dns.getHosts", raw=bomb)
    res = run(namecheap_dns_record_info, dict(domain=DOMAIN))
    assert res.get("failed") and res["code"] == "client/invalid-response"


def test_missing_credentials_and_insecure_url(nc, run, monkeypatch):
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"],
                                         api_url=nc.base_url), auth=False)
    assert res["code"] == "client/missing-credentials" and "NAMECHEAP_API_KEY" in res["msg"]
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"],
                                         api_url="http://api.namecheap.com/xml.response"))
    assert res["code"] == "client/insecure-url"
    res = run(namecheap_dns_record, dict(domain=DOMAIN, name="api", type="A", values=["198.51.100.10"],
                                         client_ip="2001:db8::1"))
    assert res["code"] == "client/invalid-client-ip"
    assert nc.requests == []


def test_credentials_from_environment(nc, run, monkeypatch):
    monkeypatch.setenv("NAMECHEAP_API_USER", nc.api_user)
    monkeypatch.setenv("NAMECHEAP_API_KEY", nc.api_key)
    monkeypatch.setenv("NAMECHEAP_CLIENT_IP", nc.client_ip)
    monkeypatch.setenv("NAMECHEAP_API_URL", nc.base_url)
    res = run(namecheap_dns_record_info, dict(domain=DOMAIN, name="app"), auth=False)
    assert res["records"] == [{"name": "app", "type": "CNAME", "value": "cname.vercel-dns.com.", "ttl": 1800}]
    assert res["email_type"] == "MX" and res["is_using_our_dns"] is True
    params = nc.requests[0][2]
    assert params["ApiKey"] == nc.api_key and params["UserName"] == nc.api_user


def test_info_filters_and_changes_nothing(nc, run):
    res = run(namecheap_dns_record_info, dict(domain=DOMAIN, type="MX"))
    assert not res["changed"] and [r["mx_pref"] for r in res["records"]] == [10, 20]
    assert len(run(namecheap_dns_record_info, dict(domain=DOMAIN))["records"]) == len(MAIL + OTHERS)
    assert sets(nc) == []


def test_sandbox_selects_the_sandbox_endpoint():
    client = NamecheapClient("u", "k", "198.51.100.1", sandbox=True)
    assert client.api_url == "https://api.sandbox.namecheap.com/xml.response"
    assert NamecheapClient("u", "k", "198.51.100.1").api_url == "https://api.namecheap.com/xml.response"


def test_split_domain_and_host_names():
    assert split_domain("Sophia-Intel.AI.") == ("sophia-intel", "ai")
    assert split_domain("example.co.uk") == ("example", "co.uk")
    with pytest.raises(NamecheapError):
        split_domain("ai")
    assert check_host_name("API.Staging") == "api.staging"
    assert check_host_name("*") == "*" and check_host_name("_dmarc") == "_dmarc"
