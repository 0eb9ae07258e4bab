"""End to end: playbooks/edge.yml against the fake Namecheap and Vercel APIs.

Runs the real ansible-playbook with the prod inventory, whose hosts come from the fake Lambda
Cloud API (the dynamic inventory), and NAMECHEAP_API_URL / VERCEL_API_URL pointing at the fakes
on 127.0.0.1. No play targets the (fake) instances: SSH is /bin/false.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from lambda_fake import FakeLambda  # noqa: E402
from namecheap_fake import FakeNamecheap  # noqa: E402
from vercel_fake import FakeVercel  # noqa: E402

BIN = REPO / ".venv" / "bin"
DOMAIN = "sophia-intel.ai"
# group_vars/all/platform.yml of each environment still holds a placeholder sophia_domain
# (sophia.example.com); the tests give the environment's real name under the zone.
PROD = ("-i", "inventories/prod", "-e", "sophia_domain=sophia-intel.ai")
STAGING = ("-i", "inventories/staging", "-e", "sophia_domain=staging.sophia-intel.ai")
# What the zone holds before the edge layer runs: mail, SPF, DMARC, a staging name.
EXISTING = [("@", "MX", "mx1.mail.example.net.", 1800, 10), ("@", "MX", "mx2.mail.example.net.", 1800, 20),
            ("@", "TXT", "v=spf1 include:mail.example.net ~all", 1800, 10),
            ("_dmarc", "TXT", "v=DMARC1; p=none", 1800, 10), ("api.staging", "A", "198.51.100.200", 300, 10)]


@pytest.fixture
def fakes():
    lam = FakeLambda()
    lam.start()
    servers = [lam.add_instance("sophia-master-01", tags={"cluster": "prod", "role": "server"})]
    agents = [lam.add_instance("sophia-worker-%02d" % n, tags={"cluster": "prod", "role": "agent"}) for n in (1, 2)]
    lam.add_instance("other-env-01", tags={"cluster": "staging", "role": "server"})
    nc = FakeNamecheap()
    nc.start()
    nc.add_domain(DOMAIN, EXISTING, email_type="MX")
    vc = FakeVercel()
    vc.start()
    vc.project = vc.add_project("sophia-frontend")
    vc.verified_apexes.add(DOMAIN)
    yield dict(lambda_=lam, nc=nc, vc=vc, servers=servers, agents=agents)
    for api in (lam, nc, vc):
        api.stop()


@pytest.fixture
def cli(fakes, tmp_path):
    lam, nc, vc = fakes["lambda_"], fakes["nc"], fakes["vc"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAMECHEAP_", "VERCEL_", "LAMBDA_"))}
    env.update(
        HOME=str(tmp_path),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_SSH_EXECUTABLE="/bin/false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        LAMBDA_API_URL=lam.base_url, LAMBDA_API_KEY=lam.api_key,
        NAMECHEAP_API_URL=nc.base_url, NAMECHEAP_API_USER=nc.api_user, NAMECHEAP_API_KEY=nc.api_key,
        NAMECHEAP_CLIENT_IP=nc.client_ip,
        VERCEL_API_URL=vc.base_url, VERCEL_TOKEN=vc.token,
        PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
    )

    def run(*args, drop=()):
        e = {k: v for k, v in env.items() if k not in drop}
        return subprocess.run([str(BIN / "ansible-playbook"), "playbooks/edge.yml", "-e",
                               "ansible_python_interpreter=%s" % (BIN / "python")] + list(args),
                              cwd=REPO, env=e, capture_output=True, text=True, timeout=300, check=False)

    return run


def recap(proc):
    m = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+).*failed=(\d+)", proc.stdout)
    assert m, proc.stdout + proc.stderr
    return dict(ok=int(m.group(1)), changed=int(m.group(2)), failed=int(m.group(3)))


def test_prod_edge_converges_then_changes_nothing(fakes, cli):
    nc, vc = fakes["nc"], fakes["vc"]
    ingress = sorted(i["ip"] for i in fakes["servers"] + fakes["agents"])
    servers = sorted(i["ip"] for i in fakes["servers"])

    check = cli(*PROD, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert recap(check)["changed"] > 0
    assert nc.calls("namecheap.domains.dns.setHosts") == [] and vc.mutations() == []

    first = cli(*PROD)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first)["changed"] > 0
    records = nc.records(DOMAIN)
    for name in ("api", "mcp", "monitor"):
        assert sorted(r[2] for r in records if r[0] == name and r[1] == "A") == ingress
    assert sorted(r[2] for r in records if r[0] == "k3s" and r[1] == "A") == servers
    assert ("@", "A", "76.76.21.21", 300, 10) in records
    assert ("app", "CNAME", "cname.vercel-dns.com", 300, 10) in records
    # Nothing the layer was not asked about was lost: mail records, TXT, the staging name, EmailType.
    assert all(r in records for r in EXISTING)
    assert nc.domains[DOMAIN]["email_type"] == "MX"
    envs = {(e["key"], tuple(e["target"])): e["value"] for e in vc.project["envs"]}
    assert envs == {("VITE_API_URL", ("production",)): "https://api.sophia-intel.ai",
                    ("VITE_ENVIRONMENT", ("production",)): "prod"}
    assert sorted(vc.project["domains"]) == ["app.sophia-intel.ai", "sophia-intel.ai"]
    assert "app.sophia-intel.ai: verified" in first.stdout

    sets, mutations = len(nc.calls("namecheap.domains.dns.setHosts")), len(vc.mutations())
    again = cli(*PROD)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again)["changed"] == 0
    check = cli(*PROD, "--check")
    assert check.returncode == 0 and recap(check)["changed"] == 0, check.stdout
    assert len(nc.calls("namecheap.domains.dns.setHosts")) == sets and len(vc.mutations()) == mutations
    assert nc.api_key not in again.stdout + first.stdout and vc.token not in again.stdout + first.stdout


def test_staging_names_and_target(fakes, cli):
    fakes["lambda_"].instances.clear()
    fakes["lambda_"].add_instance("sophia-master-01", tags={"cluster": "staging", "role": "server"})
    proc = cli(*STAGING)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = fakes["nc"].records(DOMAIN)
    assert [r for r in records if r[0] == "api.staging"] == [("api.staging", "A", fakes["lambda_"].instances[
        next(iter(fakes["lambda_"].instances))]["ip"], 300, 10)]
    assert any(r[0] == "k3s.staging" for r in records) and not any(r[0] == "api" for r in records)
    envs = {(e["key"], tuple(e["target"])): e["value"] for e in fakes["vc"].project["envs"]}
    assert envs[("VITE_API_URL", ("preview",))] == "https://api.staging.sophia-intel.ai"
    assert envs[("VITE_ENVIRONMENT", ("preview",))] == "staging"
    assert fakes["vc"].project["domains"] == {}


def test_node_without_ingress_is_not_published(fakes, cli, tmp_path):
    # A static copy of the prod inventory: the same group_vars, one agent with ingress off.
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "group_vars").symlink_to(REPO / "inventories" / "prod" / "group_vars")
    (inv / "hosts.yml").write_text(
        "all:\n  children:\n    k3s_cluster:\n      children:\n"
        "        k3s_server:\n          hosts:\n            s1: {ansible_host: 192.0.2.10}\n"
        "        k3s_agent:\n          hosts:\n            a1: {ansible_host: 192.0.2.21}\n"
        "            a2: {ansible_host: 192.0.2.22, firewall_ingress_enabled: false}\n")
    proc = cli("-i", str(inv), "-e", "sophia_domain=sophia-intel.ai")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = fakes["nc"].records(DOMAIN)
    assert sorted(r[2] for r in records if r[0] == "api") == ["192.0.2.10", "192.0.2.21"]
    assert [r[2] for r in records if r[0] == "k3s"] == ["192.0.2.10"]


def test_lab_is_skipped_with_a_message(fakes, cli):
    proc = cli("-i", "inventories/lab")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Edge layer skipped for lab: edge_enabled is false" in proc.stdout
    assert fakes["nc"].requests == [] and fakes["vc"].requests == []


def test_no_credentials_skips_with_a_message(fakes, cli):
    proc = cli(*PROD, drop=("NAMECHEAP_API_KEY", "VERCEL_TOKEN"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Edge layer skipped for prod: no credentials for Namecheap" in proc.stdout
    assert fakes["nc"].requests == [] and fakes["vc"].requests == []
    proc = cli(*PROD, drop=("VERCEL_TOKEN",))
    assert proc.returncode == 0 and "Vercel skipped for prod" in proc.stdout
    assert fakes["vc"].requests == [] and fakes["nc"].calls("namecheap.domains.dns.setHosts")


def test_unlisted_client_address_fails_with_the_hint(fakes, cli):
    fakes["nc"].whitelist.clear()
    proc = cli(*PROD, drop=("VERCEL_TOKEN",))
    assert proc.returncode != 0
    assert "1011150" in proc.stdout and "whitelisted" in proc.stdout
    assert fakes["nc"].api_key not in proc.stdout


def test_domain_outside_the_zone_refused_before_any_call(fakes, cli):
    proc = cli("-i", "inventories/prod", "-e", "sophia_domain=sophia.example.com")
    assert proc.returncode != 0
    assert "sophia_domain (sophia.example.com" in proc.stdout and "edge_dns_zone (sophia-intel.ai" in proc.stdout
    assert fakes["nc"].requests == [] and fakes["vc"].requests == []


def test_environments_set_the_same_edge_variables():
    import yaml

    names = {env: set(yaml.safe_load((REPO / "inventories" / env / "group_vars/all/edge.yml").read_text()))
             for env in ("prod", "staging", "dev", "lab")}
    assert names["staging"] == names["dev"] == names["lab"] == names["prod"]
    assert {"edge_dns_zone", "sophia_k3s_api_name", "edge_vercel_target", "edge_enabled"} <= names["prod"]
