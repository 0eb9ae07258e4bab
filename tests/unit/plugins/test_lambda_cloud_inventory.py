"""Unit tests of the inventory plugin sophia.platform.lambda_cloud."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.sophia.platform.plugins.inventory.lambda_cloud import (
    build_hostvars,
    inventory_hostname,
    parse_tag_filters,
)

GH200 = {
    "name": "gpu_1x_gh200", "description": "1x GH200 (96 GB)", "gpu_description": "GH200 (96 GB)",
    "price_cents_per_hour": 229, "specs": {"vcpus": 64, "memory_gib": 432, "storage_gib": 4096, "gpus": 1},
}


def api_instance(**over):
    inst = {
        "id": "0920582c7ff041399e34823a0be62549", "name": "sophia-master-01", "ip": "198.51.100.2",
        "private_ip": "10.0.2.100", "hostname": "sophia-master-01", "status": "active",
        "ssh_key_names": ["ops"], "file_system_names": [], "region": {"name": "us-east-3", "description": "DC"},
        "instance_type": GH200, "actions": {},
        "tags": [{"key": "cluster", "value": "prod"}, {"key": "role", "value": "server"}],
        "firewall_rulesets": [{"id": "c4d291f47f9d436fa39f58493ce3b50d"}],
    }
    inst.update(over)
    return inst


# -- the pure function ---------------------------------------------------------------------

def test_build_hostvars_exposes_every_field_and_derived_ones():
    hv, problems = build_hostvars(api_instance(new_field={"x": 1}), "lambda_")
    assert problems == []
    assert hv["ansible_host"] == "198.51.100.2"
    assert hv["lambda_id"] == "0920582c7ff041399e34823a0be62549"
    assert hv["lambda_private_ip"] == "10.0.2.100"
    assert hv["lambda_region"] == {"name": "us-east-3", "description": "DC"}
    assert hv["lambda_region_name"] == "us-east-3"
    assert hv["lambda_instance_type_name"] == "gpu_1x_gh200"
    assert hv["lambda_architecture"] == "aarch64"
    assert hv["lambda_gpu_count"] == 1
    assert hv["lambda_tags"] == {"cluster": "prod", "role": "server"}
    assert hv["lambda_firewall_rulesets"] == [{"id": "c4d291f47f9d436fa39f58493ce3b50d"}]
    assert hv["lambda_new_field"] == {"x": 1}  # a field added to the API later passes through
    json.dumps(hv)  # plain data, safe for any cache plugin


def test_build_hostvars_x86_and_prefix():
    itype = dict(GH200, name="gpu_8x_h100_sxm5", specs=dict(GH200["specs"], gpus=8))
    hv, dummy = build_hostvars(api_instance(instance_type=itype), "lc_")
    assert hv["lc_architecture"] == "x86_64"
    assert hv["lc_gpu_count"] == 8
    assert not any(k.startswith("lambda_") for k in hv)


@pytest.mark.parametrize("connect_with,expected", [
    ("public_ip", "198.51.100.2"), ("private_ip", "10.0.2.100"), ("hostname", "sophia-master-01"),
])
def test_build_hostvars_connect_with(connect_with, expected):
    hv, dummy = build_hostvars(api_instance(), "lambda_", connect_with=connect_with)
    assert hv["ansible_host"] == expected


def test_build_hostvars_booting_instance_has_no_ansible_host():
    inst = api_instance(status="booting")
    for field in ("ip", "private_ip", "hostname", "name"):
        del inst[field]
    hv, problems = build_hostvars(inst, "lambda_")
    assert "ansible_host" not in hv and problems == []
    assert inventory_hostname(inst) == inst["id"]


def test_build_hostvars_malformed_does_not_crash():
    inst = {"id": "x", "status": "contactable", "tags": "oops"}
    hv, problems = build_hostvars(inst, "lambda_")
    assert hv["lambda_architecture"] is None and hv["lambda_region_name"] is None
    assert hv["lambda_tags"] == {}
    assert any("unknown status" in p for p in problems)
    assert any("no region" in p for p in problems)


def test_build_hostvars_excludes_secrets():
    hv, dummy = build_hostvars(api_instance(jupyter_token="tok", jupyter_url="https://j/?token=tok"), "lambda_",
                               exclude=("jupyter_token", "jupyter_url"))
    assert "tok" not in json.dumps(hv)


def test_inventory_hostname_never_an_address():
    assert inventory_hostname(api_instance()) == "sophia-master-01"
    assert inventory_hostname(api_instance(name="")) == "0920582c7ff041399e34823a0be62549"
    assert inventory_hostname(api_instance(name=None)) == "0920582c7ff041399e34823a0be62549"


def test_parse_tag_filters():
    assert parse_tag_filters(["cluster=prod", "a=b=c"]) == {"cluster": "prod", "a": "b=c"}
    with pytest.raises(ValueError, match="key=value"):
        parse_tag_filters(["cluster"])


# -- parse() against the fake API -------------------------------------------------------------

@pytest.fixture
def inventory_run(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    monkeypatch.delenv("LAMBDA_API_URL", raising=False)

    def _run(config="", key=True, cache=True, filename="test.lambda_cloud.yml"):
        path = tmp_path / filename
        text = "plugin: sophia.platform.lambda_cloud\napi_url: %s\n" % fake.base_url
        if key:
            text += "api_key: %s\n" % fake.api_key
        path.write_text(text + config)
        plugin = inventory_loader.get("sophia.platform.lambda_cloud")
        inventory = InventoryData()
        loader = DataLoader()
        assert plugin.verify_file(str(path))
        plugin.parse(inventory, loader, str(path), cache=cache)
        if plugin.get_option("cache"):
            plugin.update_cache_if_changed()  # what InventoryManager does after parse()
        return inventory, plugin

    return _run


def groups_of(inventory):
    return {name: sorted(h.name for h in g.hosts) for name, g in inventory.groups.items() if g.hosts}


def test_verify_file(tmp_path):
    plugin = inventory_loader.get("sophia.platform.lambda_cloud")
    for name, ok in (("prod.lambda_cloud.yml", True), ("lambda_cloud.yaml", True),
                     ("hosts.yml", False), ("lambda_cloud.json", False)):
        path = tmp_path / name
        path.write_text("plugin: sophia.platform.lambda_cloud\n")
        assert plugin.verify_file(str(path)) is ok, name


def test_groups_like_the_lab(fake, inventory_run):
    fake.add_instance("sophia-master-01", tags={"cluster": "prod", "role": "server"})
    fake.add_instance("sophia-worker-01", tags={"cluster": "prod", "role": "agent"})
    fake.add_instance("sophia-worker-02", tags={"cluster": "prod", "role": "agent"})
    fake.add_instance("dev-worker", tags={"cluster": "dev", "role": "agent"})
    fake.add_instance("cpu-box", instance_type="cpu_4x_general", region="us-east-1",
                      tags={"cluster": "prod", "role": "agent"})
    inventory, dummy = inventory_run("tags: [cluster=prod]\n")
    groups = groups_of(inventory)
    assert groups["k3s_server"] == ["sophia-master-01"]
    assert groups["k3s_agent"] == ["cpu-box", "sophia-worker-01", "sophia-worker-02"]
    assert groups["gpu"] == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    assert sorted(c.name for c in inventory.groups["k3s_cluster"].child_groups) == ["k3s_agent", "k3s_server"]
    assert groups["lambda_region_us_east_3"] == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    assert groups["lambda_type_gpu_1x_gh200"] == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    assert groups["lambda_arch_aarch64"] == ["sophia-master-01", "sophia-worker-01", "sophia-worker-02"]
    assert groups["lambda_arch_x86_64"] == ["cpu-box"]
    assert "dev-worker" not in inventory.hosts
    assert len(fake.calls("GET", "/instances")) == 1


def test_filters(fake, inventory_run):
    fake.add_instance("a-1", region="us-east-3")
    fake.add_instance("a-2", region="us-west-1", instance_type="gpu_8x_h100_sxm5")
    fake.add_instance("b-1", region="us-east-3", status="unhealthy")
    inv, dummy = inventory_run("regions: [us-east-3]\n")
    assert sorted(inv.hosts) == ["a-1"]
    inv, dummy = inventory_run("instance_types: [gpu_8x_h100_sxm5]\n")
    assert sorted(inv.hosts) == ["a-2"]
    inv, dummy = inventory_run("statuses: [active, unhealthy]\nname_pattern: '-1$'\n")
    assert sorted(inv.hosts) == ["a-1", "b-1"]


def test_tag_filter_requires_all_tags(fake, inventory_run):
    fake.add_instance("both", tags={"cluster": "prod", "team": "ml"})
    fake.add_instance("one", tags={"cluster": "prod"})
    inv, dummy = inventory_run("tags: [cluster=prod, team=ml]\n")
    assert sorted(inv.hosts) == ["both"]


def test_booting_instance_skipped_with_verbose_message(fake, inventory_run, monkeypatch):
    from ansible_collections.sophia.platform.plugins.inventory import lambda_cloud as mod

    messages = []
    monkeypatch.setattr(mod.display, "v", messages.append)
    fake.add_instance("ready")
    fake.add_instance("starting", status="booting", ip=False)
    inv, dummy = inventory_run("statuses: [active, booting]\n")
    assert sorted(inv.hosts) == ["ready"]
    assert any("starting" in m and "public_ip" in m for m in messages)


def test_connect_with_private_ip(fake, inventory_run):
    inst = fake.add_instance("n1")
    inv, dummy = inventory_run("connect_with: private_ip\n")
    assert inv.hosts["n1"].vars["ansible_host"] == inst["private_ip"]


def test_compose_groups_keyed_groups(fake, inventory_run):
    fake.add_instance("n1", tags={"team": "ml"})
    inv, dummy = inventory_run(
        "compose:\n  ansible_user: \"'ubuntu'\"\n"
        "groups:\n  big: lambda_gpu_count >= 1\n"
        "keyed_groups:\n  - key: lambda_tags.team\n    prefix: team\n"
    )
    assert inv.hosts["n1"].vars["ansible_user"] == "ubuntu"
    assert "n1" in [h.name for h in inv.groups["big"].hosts]
    assert "n1" in [h.name for h in inv.groups["team_ml"].hosts]


def test_strict_compose_error_fails(fake, inventory_run):
    fake.add_instance("n1")
    with pytest.raises(AnsibleError):
        inventory_run("strict: true\ncompose:\n  x: lambda_no_such_var.attr\n")


def test_malformed_data_never_crashes(fake, inventory_run, monkeypatch):
    from ansible_collections.sophia.platform.plugins.inventory import lambda_cloud as mod

    warnings = []
    monkeypatch.setattr(mod.display, "warning", warnings.append)
    fake.add_instance("good")
    fake.add_raw_instance({"name": "no-id", "status": "active"})
    fake.add_raw_instance("not even a dict")
    fake.add_raw_instance({"id": "f" * 32, "name": "odd", "status": "contactable", "ip": "198.51.100.9"})
    fake.add_raw_instance({"id": "e" * 32, "name": "newtype", "status": "active", "ip": "198.51.100.10",
                           "region": {"name": "us-east-3", "description": "x"},
                           "instance_type": {"name": "gpu_2x_gb300_new"}, "tags": []})
    inv, dummy = inventory_run("statuses: [active, contactable]\n")
    assert sorted(inv.hosts) == ["good", "newtype", "odd"]
    assert inv.hosts["newtype"].vars["lambda_architecture"] == "aarch64"
    assert inv.hosts["newtype"].vars["lambda_gpu_count"] is None
    text = "\n".join(warnings)
    assert "without an id" in text and "unknown status 'contactable'" in text
    assert "gpu_2x_gb300_new without a GPU count" in text


def test_duplicate_names_do_not_merge_hosts(fake, inventory_run):
    a = fake.add_instance("twin")
    b = fake.add_instance("twin")
    inv, dummy = inventory_run()
    assert len(inv.hosts) == 2
    assert {inv.hosts[h].vars["lambda_id"] for h in inv.hosts} == {a["id"], b["id"]}


def test_api_strings_are_not_templated(fake, inventory_run):
    fake.add_instance("{{ lookup('pipe', 'id') }}", tags={"note": "{{ 7 * 6 }}"})
    inv, dummy = inventory_run()
    host = next(iter(inv.hosts.values()))
    templar = Templar(loader=DataLoader(), variables=host.vars)
    # the API's string comes back as it is, not evaluated
    assert templar.template(trust_as_template("{{ lambda_tags.note }}")) == "{{ 7 * 6 }}"
    assert templar.template(trust_as_template("{{ lambda_name }}")) == "{{ lookup('pipe', 'id') }}"
    assert templar.template(trust_as_template("{{ 7 * 6 }}")) == 42  # while a trusted template is


def test_no_api_key_names_env_and_option(inventory_run):
    with pytest.raises(AnsibleError, match="LAMBDA_API_KEY.*api_key"):
        inventory_run(key=False)


def test_api_key_from_env(fake, inventory_run, monkeypatch):
    fake.add_instance("n1")
    monkeypatch.setenv("LAMBDA_API_KEY", fake.api_key)
    inv, dummy = inventory_run(key=False)
    assert "n1" in inv.hosts


def test_api_key_is_templated(fake, inventory_run, monkeypatch):
    fake.add_instance("n1")
    monkeypatch.setenv("SOPHIA_TEST_KEY", fake.api_key)
    inv, dummy = inventory_run("api_key: \"{{ lookup('ansible.builtin.env', 'SOPHIA_TEST_KEY') }}\"\n", key=False)
    assert "n1" in inv.hosts


def test_api_key_templated_from_extra_vars(fake, inventory_run, monkeypatch):
    """api_key: "{{ vault_lambda_api_key }}" with -e @vaulted-file.yml."""
    import ansible.plugins.inventory as base

    fake.add_instance("n1")
    monkeypatch.setattr(base, "load_extra_vars", lambda loader: {"vault_lambda_api_key": fake.api_key})
    inv, dummy = inventory_run('api_key: "{{ vault_lambda_api_key }}"\n', key=False)
    assert "n1" in inv.hosts


def test_invalid_key_is_a_clear_error_without_the_key(fake, inventory_run):
    with pytest.raises(AnsibleError) as err:
        inventory_run("api_key: sk-wrong-secret-123\n", key=False)
    assert "global/invalid-api-key" in str(err.value)
    assert "sk-wrong-secret-123" not in str(err.value)


def test_bad_tag_filter_refused_before_any_call(fake, inventory_run):
    with pytest.raises(AnsibleParserError, match="key=value"):
        inventory_run("tags: [cluster]\n")
    assert fake.requests == []


def test_cache_second_run_makes_no_api_call(fake, inventory_run, tmp_path):
    fake.add_instance("n1")
    cache_dir = tmp_path / "cache"
    config = ("cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 300\n"
              % cache_dir)
    inv1, dummy = inventory_run(config)
    assert len(fake.calls("GET", "/instances")) == 1
    inv2, dummy = inventory_run(config)
    assert len(fake.calls("GET", "/instances")) == 1
    assert sorted(inv1.hosts) == sorted(inv2.hosts) == ["n1"]
    # The cache holds neither the key nor the Jupyter token.
    text = "".join(p.read_text() for p in cache_dir.iterdir())
    assert fake.api_key not in text and "jupyter" not in text and "n1" in text
    # refresh_inventory (cache=False) fetches again and rewrites the cache
    fake.add_instance("n2")
    inv3, dummy = inventory_run(config, cache=False)
    assert sorted(inv3.hosts) == ["n1", "n2"]
    assert len(fake.calls("GET", "/instances")) == 2
    inv4, dummy = inventory_run(config)
    assert sorted(inv4.hosts) == ["n1", "n2"]
    assert len(fake.calls("GET", "/instances")) == 2


def test_api_error_is_reported(fake, inventory_run, monkeypatch):
    from ansible_collections.sophia.platform.plugins.module_utils import _lambda_cloud as lc

    original = lc.LambdaCloudClient.__init__

    def no_real_sleep(self, *args, **kwargs):
        kwargs.update(retries=1, sleep=lambda seconds: None)
        original(self, *args, **kwargs)

    monkeypatch.setattr(lc.LambdaCloudClient, "__init__", no_real_sleep)
    fake.fail_next("GET", "/instances", 503, code="provider/internal-unavailable", times=20)
    with pytest.raises(AnsibleError, match="provider/internal-unavailable"):
        inventory_run()


def test_old_urllib3_is_an_ansible_error_naming_the_minimum(fake, inventory_run, monkeypatch):
    from ansible_collections.sophia.platform.plugins.module_utils import _lambda_cloud as lc

    monkeypatch.setattr(lc, "URLLIB3_VERSION", "1.26.20")
    with pytest.raises(AnsibleError, match=r"urllib3 >= 2\.0\.0"):
        inventory_run()
    assert fake.requests == []


@pytest.mark.parametrize("url", ["http://192.0.2.10/api/v1", "http://[2001:db8::10]:8080/api/v1"])
def test_plain_http_api_url_off_loopback_is_refused(fake, inventory_run, url, monkeypatch):
    import urllib3.util.connection

    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted to %r" % (args[:1],))

    monkeypatch.setattr(urllib3.util.connection, "create_connection", no_connection)
    fake.base_url = url  # the api_url inventory_run writes
    with pytest.raises(AnsibleError, match="plain http") as err:
        inventory_run()
    assert fake.api_key not in str(err.value)
    assert fake.requests == []
