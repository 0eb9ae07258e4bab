# -*- coding: utf-8 -*-
"""What the platform layer writes for K3s, for every environment, rendered by the real playbook and validated offline.

scripts/render-platform.py runs playbooks/platform.yml once per environment (lab from its inventory; dev, staging
and prod from their group_vars with a synthetic host list, as their inventories need a Lambda API key) with a
local connection and every role's manifests directory in a temporary directory. Then:
- built-in kinds are validated with kubernetes-validate for Kubernetes 1.34 (K3s v1.34.3), strict;
- each custom resource against the CRD schema of the version the artifact manifest pins (tests/data/crds);
- each key of each HelmChart's (and HelmChartConfig's) values must exist in that chart's values.yaml at the pinned
  version (tests/data/charts), because Helm ignores a mistyped key silently;
- what each add-on must do (redirect, HSTS, TLS 1.2+, issuers, Grafana behind TLS and login, scrape targets,
  selectors, storage from inventory, secrets only in Secrets) is read from the rendered objects;
- each role's input checks refuse bad input, naming the variable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import json
import os
import subprocess
import sys

import jsonschema
import kubernetes_validate
import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from crd_schema import strict  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "tests", "data")
RENDER = os.path.join(REPO, "scripts", "render-platform.py")
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")
KUBERNETES_VERSION = "1.34"
ENVIRONMENTS = ["lab", "dev", "staging", "prod"]
CRDS = {
    ("helm.cattle.io/v1", "HelmChart"): "helm-controller/v0.16.17/helm.cattle.io_helmcharts.yaml",
    ("helm.cattle.io/v1", "HelmChartConfig"): "helm-controller/v0.16.17/helm.cattle.io_helmchartconfigs.yaml",
    ("cert-manager.io/v1", "ClusterIssuer"): "cert-manager/v1.21.1/cert-manager.io_clusterissuers.yaml",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "kube-prometheus-stack/88.5.3/crd-prometheusrules.yaml",
}
# What render-platform.py gives the vault_* names (and the lab's generated password).
SECRET_PLACEHOLDERS = ["render-placeholder-not-a-real-password", "render-placeholder-routing-key00",
                       "https://hooks.slack.com/services/RENDER/PLACEHOLDER/not-a-real-hook"]

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


ARTIFACTS = _load(os.path.join(REPO, "artifacts.yml"))


@pytest.fixture(scope="module")
def render_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("platform"))
    run = subprocess.run([sys.executable, RENDER, "--out", out, "--show-output"], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-6000:]
    manifests = {}
    for env in ENVIRONMENTS:
        manifests[env] = {}
        for path in sorted(glob.glob(os.path.join(out, env, "*.yaml"))):
            with open(path) as handle:
                manifests[env][os.path.basename(path)] = [doc for doc in yaml.safe_load_all(handle) if doc]
    return {"out": out, "log": run.stdout, "manifests": manifests}


@pytest.fixture(scope="module")
def rendered(render_run):
    return render_run["manifests"]


def _docs(rendered, env):
    return [doc for docs in rendered[env].values() for doc in docs]


def _find(rendered, env, kind, name=None):
    found = [doc for doc in _docs(rendered, env) if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]
    assert found, "no %s %s rendered for %s" % (kind, name or "", env)
    return found


def _values(rendered, env, name):
    (chart,) = _find(rendered, env, "HelmChart", name)
    return yaml.safe_load(chart["spec"]["valuesContent"])


def _group_vars(env):
    return _load(os.path.join(REPO, "inventories", env, "group_vars", "all", "platform.yml"))


@pytest.fixture(scope="module")
def schemas():
    out = {}
    for (api_version, kind), path in CRDS.items():
        crd = _load(os.path.join(DATA, "crds", path))
        group, version = api_version.split("/")
        assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
        (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
        out[(api_version, kind)] = strict(entry["schema"]["openAPIV3Schema"])
    return out


def _validate(doc, schema):
    """Validate without jsonschema's check of the schema itself: CRDs carry Go (RE2) patterns such as
    '^(?i)(abort|warn)?$' that Python's re refuses as a schema, though it never meets them unless the field is set."""
    jsonschema.Draft7Validator(schema).validate(doc)


def _is_custom(doc):
    return (doc["apiVersion"], doc["kind"]) in CRDS


# --- values keys against the chart's values.yaml ------------------------------------------------------------

def _freeform(chart, version):
    table = _load(os.path.join(DATA, "charts", "freeform.yml")) or {}
    return {entry["path"] for entry in table.get(chart, {}).get(version, [])}


def unknown_keys(values, chart_values, freeform=frozenset(), prefix=""):
    """Keys of values that chart_values does not have. A list, an empty map or a listed free-form path of the
    chart's values ends the walk (the chart passes it through whole, or documents it only in a comment)."""
    missing = []
    for key, value in values.items():
        path = prefix + str(key)
        if path in freeform:
            continue
        if key not in chart_values:
            missing.append(path)
            continue
        known = chart_values[key]
        if path in freeform or not isinstance(known, dict) or not known or not isinstance(value, dict):
            continue
        missing.extend(unknown_keys(value, known, freeform, path + "."))
    return missing


def _chart_of(doc):
    """(chart, version) whose values a HelmChart or HelmChartConfig sets."""
    if doc["kind"] == "HelmChart":
        return doc["spec"]["chart"], str(doc["spec"]["version"])
    assert doc["metadata"]["name"] == "traefik", "only K3s's packaged Traefik is configured"
    (version,) = ARTIFACTS["k3s"]["bundled_charts"]["traefik"]["versions"]
    return "traefik", version


# --- the tests ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_addon_is_rendered(rendered, env):
    expected = {"sophia-cert-manager.yaml", "sophia-cluster-issuers.yaml", "sophia-traefik-config.yaml",
                "sophia-monitoring.yaml", "sophia-monitoring-secrets.yaml", "sophia-monitoring-rules.yaml",
                "sophia-monitoring-dashboards.yaml", "sophia-logging-loki.yaml", "sophia-logging-fluent-bit.yaml"}
    if env != "lab":  # the lab has no GPU host, so no GPU operator
        expected.add("sophia-gpu-operator.yaml")
    assert set(rendered[env]) == expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_builtin_kinds_validate_strictly(rendered, env):
    builtin = [doc for doc in _docs(rendered, env) if not _is_custom(doc)]
    assert {"Namespace", "Secret"} <= {doc["kind"] for doc in builtin}
    for doc in builtin:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_custom_resources_validate_against_pinned_crds(rendered, schemas, env):
    custom = [doc for doc in _docs(rendered, env) if _is_custom(doc)]
    kinds = {doc["kind"] for doc in custom}
    assert {"HelmChart", "HelmChartConfig", "ClusterIssuer"} <= kinds
    for doc in custom:
        _validate(doc, schemas[(doc["apiVersion"], doc["kind"])])


def test_crd_schemas_catch_mistyped_fields(rendered, schemas):
    issuer = copy.deepcopy(_find(rendered, "prod", "ClusterIssuer")[0])
    issuer["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClass_Name"] = "traefik"
    with pytest.raises(jsonschema.ValidationError):
        _validate(issuer, schemas[("cert-manager.io/v1", "ClusterIssuer")])
    config = copy.deepcopy(_find(rendered, "prod", "HelmChartConfig")[0])
    config["spec"]["valueContent"] = config["spec"].pop("valuesContent")
    with pytest.raises(jsonschema.ValidationError):
        _validate(config, schemas[("helm.cattle.io/v1", "HelmChartConfig")])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_values_key_exists_in_the_pinned_chart(rendered, env):
    charts = [doc for doc in _docs(rendered, env) if doc["kind"] in ("HelmChart", "HelmChartConfig")]
    assert len(charts) >= 5
    for doc in charts:
        chart, version = _chart_of(doc)
        path = os.path.join(DATA, "charts", chart, version, "values.yaml")
        assert os.path.exists(path), "no values.yaml of %s %s in tests/data/charts" % (chart, version)
        values = yaml.safe_load(doc["spec"]["valuesContent"])
        assert unknown_keys(values, _load(path), _freeform(chart, version)) == [], (chart, version)


def test_values_key_check_catches_a_mistyped_key(rendered):
    values = _values(rendered, "prod", "kube-prometheus-stack")
    chart_values = _load(os.path.join(DATA, "charts", "kube-prometheus-stack", "88.5.3", "values.yaml"))
    values["prometheus"]["prometheusSpec"]["serviceMonitorSelectorNillUsesHelmValues"] = False
    values["grafana"]["ingres"] = {"enabled": True}
    assert sorted(unknown_keys(values, chart_values)) == [
        "grafana.ingres", "prometheus.prometheusSpec.serviceMonitorSelectorNillUsesHelmValues"]


def test_pinned_versions_are_the_artifact_manifests(rendered):
    for doc in _find(rendered, "prod", "HelmChart"):
        entry = ARTIFACTS["charts"][doc["spec"]["chart"]]
        assert str(doc["spec"]["version"]) in entry["versions"]
        assert doc["spec"]["repo"] == entry["repo"]
        assert doc["metadata"]["namespace"] == "kube-system"


# Chart.yaml of these carries the release tool's placeholder; the tag the copy came from is in tests/data/charts/README.md.
PLACEHOLDER_CHART_VERSIONS = {"cert-manager": "v0.0.0", "gpu-operator": "v1.0.0-devel"}


def test_artifact_manifest_entries_are_complete_and_match_the_copied_charts():
    for name, entry in ARTIFACTS["charts"].items():
        assert entry["repo"].startswith("https://") and entry["chart"] == name
        for version, pin in entry["versions"].items():
            assert pin.get("source"), (name, version)
            assert all(" " not in image and ":" in image for image in pin.get("images", [])), (name, version)
    checked = 0
    for chart_dir in glob.glob(os.path.join(DATA, "charts", "*", "*", "Chart.yaml")):
        version = os.path.basename(os.path.dirname(chart_dir))
        chart = os.path.basename(os.path.dirname(os.path.dirname(chart_dir)))
        entry = ARTIFACTS["charts"].get(chart) or ARTIFACTS["k3s"]["bundled_charts"][chart]
        assert version in entry["versions"], (chart, version)
        declared = str(_load(chart_dir)["version"])
        assert declared in (version, PLACEHOLDER_CHART_VERSIONS.get(chart)), (chart, version, declared)
        checked += 1
    assert checked == 7  # six platform charts and vertical-pod-autoscaler 0.9.0
    # Each role's default version is one whose values were copied.
    for role, variable, chart in (("cert_manager", "cert_manager_chart_version", "cert-manager"),
                                  ("monitoring", "monitoring_chart_version", "kube-prometheus-stack"),
                                  ("logging", "logging_loki_chart_version", "loki"),
                                  ("logging", "logging_fluent_bit_chart_version", "fluent-bit"),
                                  ("gpu_operator", "gpu_operator_chart_version", "gpu-operator"),
                                  ("traefik_config", "traefik_config_chart_version", "traefik")):
        defaults = glob.glob(os.path.join(REPO, "roles", role, "defaults", "main*"))
        path = defaults[0] if defaults[0].endswith(".yml") else os.path.join(defaults[0], "main.yml")
        version = str(_load(path)[variable])
        assert os.path.exists(os.path.join(DATA, "charts", chart, version, "values.yaml")), (role, version)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_traefik_redirects_to_https_with_hsts_and_tls12(rendered, env):
    (config,) = _find(rendered, env, "HelmChartConfig", "traefik")
    assert config["metadata"]["namespace"] == "kube-system"
    values = yaml.safe_load(config["spec"]["valuesContent"])
    assert values["ports"]["web"]["redirections"]["entryPoint"] == {"to": "websecure", "scheme": "https", "permanent": True}
    assert values["tlsOptions"]["default"]["minVersion"] == "VersionTLS12"
    assert all(suite.startswith("TLS_ECDHE_") for suite in values["tlsOptions"]["default"]["cipherSuites"])
    (middleware,) = [obj for obj in values["extraObjects"] if obj["kind"] == "Middleware"]
    reference = "%s-%s@kubernetescrd" % (middleware["metadata"]["namespace"], middleware["metadata"]["name"])
    assert values["ports"]["websecure"]["middlewares"] == [reference]
    headers = middleware["spec"]["headers"]
    assert headers["stsSeconds"] >= 31536000 and headers["stsIncludeSubdomains"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_issuers_use_http01_through_traefik(rendered, env):
    issuers = {doc["metadata"]["name"]: doc["spec"]["acme"] for doc in _find(rendered, env, "ClusterIssuer")}
    assert set(issuers) == {"letsencrypt-staging", "letsencrypt-production"}
    assert issuers["letsencrypt-staging"]["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert issuers["letsencrypt-production"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    for acme in issuers.values():
        assert acme["email"] == _group_vars(env)["cert_manager_acme_email"]
        assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
    assert _values(rendered, env, "cert-manager")["crds"] == {"enabled": True, "keep": True}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_grafana_behind_tls_with_login_from_a_secret(rendered, env):
    values = _values(rendered, env, "kube-prometheus-stack")
    grafana = values["grafana"]
    domain = _group_vars(env)["sophia_domain"]
    host = "monitor." + domain
    assert grafana["ingress"]["hosts"] == [host]
    assert grafana["ingress"]["tls"][0]["hosts"] == [host]
    assert grafana["ingress"]["annotations"]["cert-manager.io/cluster-issuer"] == \
        _group_vars(env)["monitoring_grafana_cluster_issuer"]
    secret_name = grafana["admin"]["existingSecret"]
    (secret,) = _find(rendered, env, "Secret", secret_name)
    assert secret["metadata"]["namespace"] == _find(rendered, env, "HelmChart", "kube-prometheus-stack")[0]["spec"]["targetNamespace"]
    assert set(secret["stringData"]) == {grafana["admin"]["userKey"], grafana["admin"]["passwordKey"]}
    assert len(secret["stringData"]["admin-password"]) >= 16
    # Nothing turns Grafana's (default off) anonymous access on.
    assert "anonymous" not in json.dumps(grafana).lower()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alertmanager_configuration_is_the_secret_the_operator_reads(rendered, env):
    values = _values(rendered, env, "kube-prometheus-stack")
    assert values["alertmanager"]["alertmanagerSpec"]["useExistingSecret"] is True
    assert "config" not in values["alertmanager"]
    # The operator reads alertmanager-<Alertmanager name>; the chart names it <fullname>-alertmanager.
    name = "alertmanager-%s-alertmanager" % values["fullnameOverride"]
    (secret,) = _find(rendered, env, "Secret", name)
    config = yaml.safe_load(secret["stringData"]["alertmanager.yaml"])
    assert config["route"]["receiver"] and config["receivers"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_appear_only_in_secrets(rendered, env):
    for doc in _docs(rendered, env):
        if doc["kind"] == "Secret":
            continue
        text = json.dumps(doc)
        for secret in SECRET_PLACEHOLDERS:
            assert secret not in text, (doc["kind"], doc["metadata"]["name"])
    secrets = json.dumps(_find(rendered, env, "Secret"))
    assert SECRET_PLACEHOLDERS[0] in secrets
    if env != "lab":  # the lab sends no alert anywhere
        assert SECRET_PLACEHOLDERS[1] in secrets and SECRET_PLACEHOLDERS[2] in secrets


def test_secrets_never_reach_the_play_output(render_run):
    assert "changed" in render_run["log"]
    for secret in SECRET_PLACEHOLDERS:
        assert secret not in render_run["log"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_scrapes_the_control_plane_and_every_monitor(rendered, env):
    values = _values(rendered, env, "kube-prometheus-stack")
    with open(os.path.join(REPO, "inventories", "lab", "hosts.yml")) as handle:
        lab = yaml.safe_load(handle)["all"]["children"]["k3s_cluster"]["children"]
    if env == "lab":
        servers = [h["sophia_private_ip"] for h in lab["k3s_server"]["hosts"].values()]
        nodes = servers + [h["sophia_private_ip"] for h in lab["k3s_agent"]["hosts"].values()]
    else:  # render-platform.py's synthetic hosts: one server, two agents
        servers, nodes = ["10.19.0.11"], ["10.19.0.11", "10.19.0.12", "10.19.0.13"]
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd"):
        assert values[component]["enabled"] is True and values[component]["endpoints"] == servers, component
    assert values["kubeProxy"]["endpoints"] == nodes
    assert values["kubeEtcd"]["service"]["port"] == 2381
    spec = values["prometheus"]["prometheusSpec"]
    for selector in ("serviceMonitor", "podMonitor", "probe", "rule"):
        assert spec[selector + "SelectorNilUsesHelmValues"] is False
    assert values["nodeExporter"]["enabled"] is True and values["kubeStateMetrics"]["enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alerts_carry_the_cluster_and_node_exporter_reads_the_snapshot_gauge(rendered, env):
    """The alert routing groups by `cluster`, and the etcd snapshot alerts read a textfile-collector gauge:
    both need the chart values below, or those alerts never carry the label / never see the metric."""
    values = _values(rendered, env, "kube-prometheus-stack")
    assert values["prometheus"]["prometheusSpec"]["externalLabels"] == {"cluster": env}
    args = values["prometheus-node-exporter"]["extraArgs"]
    assert "--collector.textfile.directory=/host/root/var/lib/node_exporter/textfile_collector" in args
    # Replacing the chart's list must keep its own filesystem exclusions.
    assert any(arg.startswith("--collector.filesystem.mount-points-exclude=") for arg in args)


def test_storage_and_retention_come_from_inventory(rendered):
    for env in ENVIRONMENTS:
        spec = _values(rendered, env, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
        group_vars = _group_vars(env)
        assert spec["retention"] == group_vars["monitoring_prometheus_retention"]
        assert spec["retentionSize"] == group_vars["monitoring_prometheus_retention_size"]
        assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == \
            group_vars["monitoring_prometheus_storage_size"]
        loki = _values(rendered, env, "loki")
        assert loki["singleBinary"]["persistence"]["size"] == group_vars["logging_loki_storage_size"]
        assert loki["loki"]["limits_config"]["retention_period"] == group_vars["logging_loki_retention"]
    sizes = {_values(rendered, env, "loki")["singleBinary"]["persistence"]["size"] for env in ENVIRONMENTS}
    assert len(sizes) > 1  # really per environment


def test_rules_and_dashboards_are_wrapped_one_object_per_file(rendered):
    rule_files = sorted(glob.glob(os.path.join(REPO, "roles", "monitoring", "files", "rules", "*.yml")))
    rules = _find(rendered, "prod", "PrometheusRule")
    assert len(rules) == len(rule_files) > 0
    by_name = {doc["metadata"]["name"]: doc for doc in rules}
    for path in rule_files:
        doc = by_name[os.path.basename(path)[:-4]]
        assert doc["spec"]["groups"] == _load(path)["groups"]
        assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    dashboard_files = sorted(glob.glob(os.path.join(REPO, "roles", "monitoring", "files", "dashboards", "*.json")))
    maps = [doc for doc in _find(rendered, "prod", "ConfigMap") if doc["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert len(maps) == len(dashboard_files)
    contents = {key: json.loads(value) for doc in maps for key, value in doc["data"].items()}
    for path in dashboard_files:
        with open(path) as handle:
            assert contents[os.path.basename(path)] == json.load(handle)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_loki_single_binary_and_fluent_bit_on_every_node(rendered, env):
    loki = _values(rendered, env, "loki")
    assert loki["deploymentMode"] == "SingleBinary" and loki["singleBinary"]["replicas"] == 1
    assert all(loki[target]["replicas"] == 0 for target in ("read", "write", "backend"))
    assert loki["loki"]["storage"]["type"] == "filesystem"
    bit = _values(rendered, env, "fluent-bit")
    assert bit["kind"] == "DaemonSet"
    assert {"operator": "Exists"} in bit["tolerations"]
    assert "multiline.parser cri" in bit["config"]["inputs"] and "Name systemd" in bit["config"]["inputs"]
    filters = bit["config"]["filters"]
    assert "Name kubernetes" in filters and "Merge_Log On" in filters
    assert bit["config"]["outputs"].count("Name loki") == 2
    assert "Host loki.logging.svc.cluster.local" in bit["config"]["outputs"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_gpu_operator_dcgm_service_monitor_is_selected(rendered, env):
    values = _values(rendered, env, "gpu-operator")
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    assert values["dcgmExporter"]["serviceMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}
    assert values["driver"]["enabled"] is False and values["toolkit"]["enabled"] is False
    assert values["devicePlugin"]["config"] == {}  # time-slicing off by default


# --- checkov --------------------------------------------------------------------------------------------------

CHECKOV = os.environ.get("CHECKOV_BIN", os.path.join(REPO, ".cache", "checkov-venv", "bin", "checkov"))
SKIPS = os.path.join(REPO, "tests", "checkov", "skips.yml")


def _checkov(directory, skips=()):
    if not os.path.exists(CHECKOV):
        if os.environ.get("CHECKOV_BIN"):
            pytest.fail("CHECKOV_BIN=%s does not exist" % CHECKOV)
        pytest.skip("checkov's own venv is missing: scripts/test.sh unit creates .cache/checkov-venv")
    command = [CHECKOV, "-d", directory, "--framework", "kubernetes", "--quiet", "--compact", "-o", "json"]
    if skips:
        command += ["--skip-check", ",".join(skips)]
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         timeout=600, check=False)
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 1: some check failed
    report = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    return [check for item in reports for check in item["results"]["failed_checks"]], \
        sum(item["summary"]["passed"] for item in reports)


def test_checkov_finds_no_unexplained_failure(render_run):
    skips = _load(SKIPS)["skips"] or []
    for skip in skips:
        assert skip.get("id") and len(skip.get("reason", "").strip()) > 20, "checkov skip without a reason: %r" % skip
    failed, passed = _checkov(render_run["out"], [skip["id"] for skip in skips])
    assert passed > 0
    assert [(check["check_id"], check["check_name"], check["file_path"], check["resource"]) for check in failed] == []


def test_checkov_run_reports_a_real_failure(tmp_path):
    """The harness above can fail: a privileged pod is reported."""
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"containers": [{"name": "bad", "image": "busybox", "securityContext": {"privileged": True}}]}}))
    failed, _passed = _checkov(str(tmp_path))
    assert "CKV_K8S_16" in {check["check_id"] for check in failed}  # "Container should not be privileged"


# --- refusals -------------------------------------------------------------------------------------------------

REFUSALS = {
    "cert_manager_email": ("cert_manager", {"cert_manager_acme_email": "ops"}, "cert_manager_acme_email ('ops')"),
    "cert_manager_version": ("cert_manager", {"cert_manager_chart_version": "v1.12.0"},
                             "cert_manager_chart_version v1.12.0 is not in the artifact manifest"),
    "traefik_tls11": ("traefik_config", {"traefik_config_tls_min_version": "VersionTLS11"},
                      "traefik_config_tls_min_version must be one of"),
    "traefik_preload": ("traefik_config", {"traefik_config_hsts_preload": True, "traefik_config_hsts_include_subdomains": False},
                        "traefik_config_hsts_preload needs"),
    "monitoring_password": ("monitoring", {"monitoring_grafana_admin_password": "short"},
                            "monitoring_grafana_admin_password is empty or shorter than 16 characters"),
    "monitoring_domain": ("monitoring", {"monitoring_domain": "not a domain"}, "monitoring_domain ('not a domain')"),
    "monitoring_retention_size": ("monitoring", {"monitoring_prometheus_retention_size": "60GB",
                                                 "monitoring_prometheus_storage_size": "50Gi"},
                                  "must be smaller than the volume"),
    "monitoring_endpoint": ("monitoring", {"monitoring_control_plane_endpoints": ["sophia-master-01"]},
                            "monitoring_control_plane_endpoints ([\"sophia-master-01\"])"),
    "logging_retention": ("logging", {"logging_loki_retention": "30d"}, "logging_loki_retention ('30d')"),
    "logging_version": ("logging", {"logging_fluent_bit_chart_version": "0.1.0"}, "logging_fluent_bit_chart_version 0.1.0"),
}
VALID = {"cert_manager_acme_email": "ops@sophia.example.com", "monitoring_domain": "sophia.example.com",
         "monitoring_grafana_admin_password": "a-long-enough-test-password"}


ACCEPTED_ROLES = ["cert_manager", "traefik_config", "monitoring", "logging"]


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("platform-refusals"))
    plays = []
    accepted = [("accepted_" + role, (role, {}, "")) for role in ACCEPTED_ROLES]
    for name, (role, variables, _msg) in sorted(REFUSALS.items()) + accepted:
        plays.append({
            "name": "Refusal " + name, "hosts": "localhost", "gather_facts": False,
            "tasks": [{"name": "Run the checks", "block": [
                {"name": "Validate", "ansible.builtin.include_role": {"name": "sophia.platform." + role},
                 # A manifests directory that does not exist: input that passes would write nothing.
                 "vars": dict(VALID, **dict(variables, **{role + "_manifests_dir": os.path.join(tmp, "no-k3s")}))},
                {"name": "Record success", "ansible.builtin.copy": {
                    "dest": os.path.join(tmp, name + ".json"), "content": "{{ {'failed': false} | to_json }}"}},
            ], "rescue": [
                {"name": "Record the failure", "ansible.builtin.copy": {
                    "dest": os.path.join(tmp, name + ".json"),
                    "content": "{{ {'failed': true, 'msg': ansible_failed_result.msg | default('')} | to_json }}"}},
            ]}],
        })
    playbook = os.path.join(tmp, "refusals.yml")
    with open(playbook, "w") as handle:
        json.dump(plays, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    run = subprocess.run([PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
                          playbook], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:]
    out = {}
    for name in list(REFUSALS) + ["accepted_" + role for role in ACCEPTED_ROLES]:
        with open(os.path.join(tmp, name + ".json")) as handle:
            out[name] = json.load(handle)
    out["k3s_dir_created"] = os.path.exists(os.path.join(tmp, "no-k3s"))
    return out


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_roles_refuse_bad_input(refusals, name):
    result = refusals[name]
    assert result["failed"] is True, result
    assert REFUSALS[name][2] in result["msg"], result["msg"]


@pytest.mark.parametrize("role", ACCEPTED_ROLES)
def test_roles_accept_valid_input(refusals, role):
    """The refusals above are the checks' doing: the same play with valid input passes; without K3s's manifests
    directory (K3s not installed) the role writes nothing, not even the directory."""
    assert refusals["accepted_" + role] == {"failed": False}
    assert refusals["k3s_dir_created"] is False
