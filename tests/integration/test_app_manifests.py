# -*- coding: utf-8 -*-
"""What the application layer applies, for every environment, rendered by the real playbook and validated offline.

scripts/render-app.py runs playbooks/app.yml once per environment with k8s_apply_render_dir set (the roles write the
objects they would apply). Then, as for the platform layer (helpers imported from test_platform_manifests.py):
built-in kinds against Kubernetes 1.34 (kubernetes-validate, strict); custom resources against their CRDs at the
pinned versions; HelmChart values keys against the pinned charts' values.yaml; the behaviour the architecture asks
for (replicas and HPA bounds per environment, probes, TLS hosts, restricted pods, secrets only in Secrets, network
flows as a graph, WAL archiving within the recovery point, VPA only where no HPA scales the same resource); checkov;
the roles' and maintenance playbooks' refusals.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import copy
import glob
import importlib.util
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import kubernetes_validate
import pytest
import yaml

from crd_schema import strict
from test_platform_manifests import ARTIFACTS, DATA, KUBERNETES_VERSION, PLAYBOOK, REPO, _checkov, _docs, _find, \
    _freeform, _load, _validate, unknown_keys

ENVIRONMENTS = ["lab", "dev", "staging", "prod"]
RENDER = os.path.join(REPO, "scripts", "render-app.py")
_SPEC = importlib.util.spec_from_file_location("render_app", RENDER)
render_app = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(render_app)

CRDS = {
    ("helm.cattle.io/v1", "HelmChart"): "helm-controller/v0.16.17/helm.cattle.io_helmcharts.yaml",
    ("cert-manager.io/v1", "Certificate"): "cert-manager/v1.21.1/cert-manager.io_certificates.yaml",
    ("postgresql.cnpg.io/v1", "Cluster"): "cloudnative-pg/1.30.0/postgresql.cnpg.io_clusters.yaml",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "cloudnative-pg/1.30.0/postgresql.cnpg.io_scheduledbackups.yaml",
    ("barmancloud.cnpg.io/v1", "ObjectStore"): "plugin-barman-cloud/v0.14.0/barmancloud.cnpg.io_objectstores.yaml",
    ("monitoring.coreos.com/v1", "PodMonitor"): "kube-prometheus-stack/88.5.3/crd-podmonitors.yaml",
    ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"): "vertical-pod-autoscaler/0.9.0/vpa-v1-crd-gen.yaml",
}
VPA_CHART = os.path.join(DATA, "charts", "vertical-pod-autoscaler", "0.9.0")
SECRETS = render_app.secret_values()
MCP = render_app.MCP_SERVERS

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")


@pytest.fixture(scope="module")
def render_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("app"))
    run = subprocess.run([sys.executable, RENDER, "--out", out, "--show-output"], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-6000:]
    manifests = {env: {os.path.basename(path)[:-5]: _load_all(path) for path in sorted(glob.glob(os.path.join(out, env, "*.yaml")))} for env in ENVIRONMENTS}
    return {"out": out, "log": run.stdout, "manifests": manifests}


@pytest.fixture(scope="module")
def rendered(render_run):
    return render_run["manifests"]


def _load_all(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def _inventory(env):
    return _load(os.path.join(REPO, "inventories", env, "group_vars", "all", "app.yml"))


def _domain(env):
    return _load(os.path.join(REPO, "inventories", env, "group_vars", "all", "platform.yml"))["sophia_domain"]


@pytest.fixture(scope="module")
def schemas():
    out = {}
    for (api_version, kind), path in CRDS.items():
        crds = _load_all(os.path.join(DATA, "crds", path))
        group, version = api_version.split("/")
        (crd,) = [c for c in crds if c["spec"]["group"] == group and c["spec"]["names"]["kind"] == kind]
        (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
        out[(api_version, kind)] = strict(entry["schema"]["openAPIV3Schema"])
    return out


# --- rendering and schemas ------------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_object_set_is_rendered(rendered, env):
    assert set(rendered[env]) == {
        "vpa", "postgres-ha-operator", "postgres-ha-secrets", "postgres-ha-cluster", "redis-ha-secrets", "redis-ha",
        "sophia-app-namespace", "sophia-app-network-policies", "sophia-app-secrets", "sophia-app-workloads",
        "sophia-app-vpa"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_builtin_kinds_validate_strictly(rendered, env):
    builtin = [d for d in _docs(rendered, env) if (d["apiVersion"], d["kind"]) not in CRDS]
    kinds = {d["kind"] for d in builtin}
    assert {"Namespace", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
            "NetworkPolicy"} == kinds
    for doc in builtin:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_custom_resources_validate_against_pinned_crds(rendered, schemas, env):
    custom = [d for d in _docs(rendered, env) if (d["apiVersion"], d["kind"]) in CRDS]
    assert {kind for _api, kind in CRDS} == {d["kind"] for d in custom}
    for doc in custom:
        _validate(doc, schemas[(doc["apiVersion"], doc["kind"])])


def test_crd_schemas_catch_mistyped_fields(rendered, schemas):
    cluster = copy.deepcopy(_find(rendered, "prod", "Cluster")[0])
    cluster["spec"]["plugins"][0]["isWalArchiver"] = True
    with pytest.raises(jsonschema.ValidationError):
        _validate(cluster, schemas[("postgresql.cnpg.io/v1", "Cluster")])
    store = copy.deepcopy(_find(rendered, "prod", "ObjectStore")[0])
    store["spec"]["configuration"]["destinationPth"] = store["spec"]["configuration"].pop("destinationPath")
    with pytest.raises(jsonschema.ValidationError):
        _validate(store, schemas[("barmancloud.cnpg.io/v1", "ObjectStore")])


def test_vpa_crd_refuses_what_the_api_server_would_prune_or_reject(rendered, schemas):
    schema = schemas[("autoscaling.k8s.io/v1", "VerticalPodAutoscaler")]
    vpa = copy.deepcopy(_find(rendered, "prod", "VerticalPodAutoscaler", "mcp-slack")[0])
    _validate(vpa, schema)
    mistyped = copy.deepcopy(vpa)
    mistyped["spec"]["resourcePolicy"]["containerPolicies"][0]["controlledResource"] = ["memory"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(mistyped, schema)
    newer = copy.deepcopy(vpa)  # 'InPlace' came with VPA 1.7.0; the pinned 1.6.0 CRD refuses it
    newer["spec"]["updatePolicy"]["updateMode"] = "InPlace"
    with pytest.raises(jsonschema.ValidationError):
        _validate(newer, schema)


def _flatten(node, prefix=""):
    """values.yaml as helm-docs lists it: one path per leaf, lists indexed, empty maps and lists as leaves."""
    if isinstance(node, dict) and node:
        return {k: v for key, value in node.items() for k, v in _flatten(value, prefix + ("." if prefix else "") + str(key)).items()}
    if isinstance(node, list) and node:
        return {k: v for i, value in enumerate(node) for k, v in _flatten(value, "%s[%d]" % (prefix, i)).items()}
    return {prefix: node}


def test_vpa_values_copy_matches_the_0_9_0_release():
    """values.yaml is derived (tests/data/charts/README.md); the release commit's Chart.yaml and the facts derived
    from its README's values table (helm-docs output of the released values.yaml: every key and default) are the
    reference: every key and default of that table is in the copy, and nothing else."""
    chart = _load(os.path.join(VPA_CHART, "Chart.yaml"))
    assert (chart["version"], chart["appVersion"]) == ("0.9.0", "1.6.0")
    release = _load(os.path.join(VPA_CHART, "release-values-table.yml"))
    assert (release["version"], release["appVersion"]) == ("0.9.0", "1.6.0")
    rows = dict(release["values_table"])
    values = _flatten(_load(os.path.join(VPA_CHART, "values.yaml")))
    # helm-docs lists a documented map (a "-- " comment) as one row holding the whole map.
    for key, default in list(rows.items()):
        if isinstance(default, dict) and default:
            del rows[key]
            rows.update(_flatten(default, key))
    assert len(rows) > 100
    assert values == rows


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpa_chart_applies_recommendations_only_with_its_updater_and_admission_controller(rendered, env):
    (chart,) = _find(rendered, env, "HelmChart", "vertical-pod-autoscaler")
    values = yaml.safe_load(chart["spec"]["valuesContent"])
    applying = {v["spec"]["updatePolicy"]["updateMode"] for v in _find(rendered, env, "VerticalPodAutoscaler")} - {"Off"}
    assert applying  # sophia_app's Recreate for what no HPA scales
    assert values["recommender"]["enabled"] and values["updater"]["enabled"] and values["admissionController"]["enabled"]
    for component in ("recommender", "updater", "admissionController"):
        resources = values[component]["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"] and resources["limits"]["memory"], component
    security = values["containerSecurityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]} and security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_vpa_recommend_only_runs_the_recommender_alone(refusals):
    result = refusals["vpa_recommend_only"]
    assert result["failed"] is False
    (chart,) = [d for d in result["objects"] if d["kind"] == "HelmChart"]
    values = yaml.safe_load(chart["spec"]["valuesContent"])
    assert values["recommender"]["enabled"] is True
    assert values["updater"]["enabled"] is False and values["admissionController"]["enabled"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_values_key_exists_in_the_pinned_chart(rendered, env):
    charts = _find(rendered, env, "HelmChart")
    expected = {"cloudnative-pg", "plugin-barman-cloud", "redis-ha", "vertical-pod-autoscaler"}
    assert {c["spec"]["chart"] for c in charts} == expected
    for doc in charts:
        chart, version = doc["spec"]["chart"], str(doc["spec"]["version"])
        values = yaml.safe_load(doc["spec"]["valuesContent"])
        chart_values = _load(os.path.join(DATA, "charts", chart, version, "values.yaml"))
        assert unknown_keys(values, chart_values, _freeform(chart, version)) == [], (chart, version)


def test_pinned_versions_and_images_are_the_artifact_manifests(rendered):
    for doc in _find(rendered, "prod", "HelmChart"):
        entry = ARTIFACTS["charts"][doc["spec"]["chart"]]
        pin = entry["versions"][str(doc["spec"]["version"])]
        assert doc["spec"]["repo"] == entry["repo"] and pin["arm64"] and pin["amd64"]
    images = ARTIFACTS["images"]
    for image in {c["image"] for d in _find(rendered, "prod", "Deployment") for c in d["spec"]["template"]["spec"]["containers"]}:
        assert {"linux/arm64", "linux/amd64"} <= set(images[image.split("@")[0]]["platforms"])
    (cluster,) = _find(rendered, "prod", "Cluster")
    repository, tag = cluster["spec"]["imageName"].split(":")
    assert tag in images[repository]["tags"] and images[repository]["max_page_size"] >= 65536
    redis = yaml.safe_load(_find(rendered, "prod", "HelmChart", "sophia-redis")[0]["spec"]["valuesContent"])["image"]
    assert redis["tag"] in images[redis["repository"]]["tags"]
    assert "%s:%s" % (redis["repository"], redis["tag"]) in ARTIFACTS["charts"]["redis-ha"]["versions"]["4.39.0"]["images"]


# --- workloads ------------------------------------------------------------------------------------------------

def _workloads(rendered, env):
    return {d["metadata"]["name"]: d for d in _find(rendered, env, "Deployment")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_replicas_and_hpa_bounds_come_from_inventory(rendered, env):
    inv = _inventory(env)
    hpas = {d["metadata"]["name"]: d["spec"] for d in _find(rendered, env, "HorizontalPodAutoscaler")}
    deployments = _workloads(rendered, env)
    assert set(hpas) == set(deployments) == {"sophia-api", "mcp-gateway"} | {"mcp-" + name for name in MCP}
    for name, prefix in [("sophia-api", "backend"), ("mcp-gateway", "gateway")] + [("mcp-" + n, "mcp") for n in MCP]:
        assert deployments[name]["spec"]["replicas"] == inv["sophia_app_%s_replicas" % prefix]
        assert hpas[name]["minReplicas"] == inv["sophia_app_%s_hpa_min_replicas" % prefix]
        assert hpas[name]["maxReplicas"] == inv["sophia_app_%s_hpa_max_replicas" % prefix]
        assert hpas[name]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpas["sophia-api"]["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}
    for name in ["mcp-gateway"] + ["mcp-" + n for n in MCP]:
        assert [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in hpas[name]["metrics"]] == [("cpu", 60)]


def test_prod_sizes_are_the_architectures():
    inv = _inventory("prod")
    assert (inv["sophia_app_backend_replicas"], inv["sophia_app_backend_hpa_min_replicas"], inv["sophia_app_backend_hpa_max_replicas"]) == (3, 3, 10)
    assert (inv["sophia_app_mcp_replicas"], inv["sophia_app_mcp_hpa_min_replicas"], inv["sophia_app_mcp_hpa_max_replicas"]) == (2, 2, 5)
    assert len({_inventory(env)["sophia_app_backend_hpa_max_replicas"] for env in ENVIRONMENTS}) > 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probes_resources_spread_and_pdbs(rendered, env):
    pdbs = {d["metadata"]["name"]: d["spec"] for d in _find(rendered, env, "PodDisruptionBudget")}
    for name, deployment in _workloads(rendered, env).items():
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, (name, probe)
        assert set(container["resources"]) == {"requests", "limits"}
        assert spec["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
        assert pdbs[name]["selector"] == deployment["spec"]["selector"] and pdbs[name]["maxUnavailable"] == 1
        assert "@sha256:" in container["image"] and ":latest" not in container["image"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_pod_runs_restricted(rendered, env):
    (namespace,) = _find(rendered, env, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, deployment in _workloads(rendered, env).items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]} and context["runAsNonRoot"] is True, name
    # Redis pods: the chart's own defaults (not overridden) are non-root, no escalation, no capabilities, RuntimeDefault.
    values = _load(os.path.join(DATA, "charts", "redis-ha", "4.39.0", "values.yaml"))
    redis = yaml.safe_load(_find(rendered, env, "HelmChart", "sophia-redis")[0]["spec"]["valuesContent"])
    assert "containerSecurityContext" not in redis and "securityContext" not in redis
    assert values["containerSecurityContext"]["allowPrivilegeEscalation"] is False
    assert values["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert values["containerSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tls_hosts_and_issuer(rendered, env):
    domain = _domain(env)
    ingresses = {d["metadata"]["name"]: d["spec"] for d in _find(rendered, env, "Ingress")}
    certificates = {d["metadata"]["name"]: d["spec"] for d in _find(rendered, env, "Certificate")}
    assert set(ingresses) == set(certificates) == {"sophia-api", "mcp-gateway"}
    for name, host in (("sophia-api", "api." + domain), ("mcp-gateway", "mcp." + domain)):
        assert ingresses[name]["tls"] == [{"hosts": [host], "secretName": name + "-tls"}]
        assert [rule["host"] for rule in ingresses[name]["rules"]] == [host]
        assert certificates[name]["dnsNames"] == [host] and certificates[name]["secretName"] == name + "-tls"
        assert certificates[name]["issuerRef"]["name"] == _inventory(env)["sophia_app_cluster_issuer"]
    if env in ("staging", "dev"):
        assert domain.startswith(env + ".")


# --- secrets --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_appear_only_in_secrets(rendered, env):
    for doc in _docs(rendered, env):
        if doc["kind"] != "Secret":
            text = json.dumps(doc)
            assert not [s for s in SECRETS if s in text], (doc["kind"], doc["metadata"]["name"])
    assert not [d for d in _docs(rendered, env) if d["kind"] == "ConfigMap"]
    secrets = {d["metadata"]["name"]: d["stringData"] for d in _find(rendered, env, "Secret")}
    text = json.dumps(secrets)
    assert all(s in text for s in SECRETS)  # every vault value reaches its Secret
    assert secrets["mcp-github-secrets"] == {"MCP_API_KEY": "render-placeholder-mcp-key-github"}
    api = secrets["sophia-api-secrets"]
    assert api["DATABASE_URL"].startswith("postgresql://sophia:render-placeholder-postgres-password@sophia-postgres-rw.")
    assert api["REDIS_URL"].startswith("redis+sentinel://:render-placeholder-redis-password@")
    assert api["OAUTH_GOOGLE_CLIENT_SECRET"] == "render-placeholder-oauth-google"
    for name, deployment in _workloads(rendered, env).items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": name + "-secrets"}}]


def test_secrets_never_reach_the_play_output(render_run):
    assert "changed" in render_run["log"]
    assert not [s for s in SECRETS if s in render_run["log"]]


# --- network policies as a graph ------------------------------------------------------------------------------

NAMESPACE = "sophia-ai"
PODS = {
    "traefik": ("kube-system", {"app.kubernetes.io/name": "traefik"}),
    "coredns": ("kube-system", {"k8s-app": "kube-dns"}),
    "prometheus": ("monitoring", {"app.kubernetes.io/name": "prometheus"}),
    "cnpg-operator": ("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
    "stranger": ("default", {"app": "stranger"}),
    "postgres": (NAMESPACE, {"cnpg.io/cluster": "sophia-postgres", "cnpg.io/instanceRole": "primary"}),
    "redis": (NAMESPACE, {"app": "redis-ha", "release": "sophia-redis"}),
}
INTERNET = "140.82.112.3"  # a public address (an outside API)


def _pods(rendered):
    pods = dict(PODS)
    for name, deployment in _workloads(rendered, "prod").items():
        pods[name] = (NAMESPACE, deployment["spec"]["template"]["metadata"]["labels"])
    return pods


def _selects(selector, labels):
    return all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer, policy_ns, target, pods):
    if target == INTERNET or target not in pods:
        block = peer.get("ipBlock")
        return bool(block) and ipaddress.ip_address(INTERNET) in ipaddress.ip_network(block["cidr"]) and not any(
            ipaddress.ip_address(INTERNET) in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    namespace, labels = pods[target]
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        ns_ok = _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace})
    else:
        ns_ok = namespace == policy_ns
    return ns_ok and _selects(peer.get("podSelector", {}), labels)


def _rules_allow(rules, peer_key, policy_ns, other, port, pods):
    for rule in rules or []:
        peers = rule.get(peer_key)
        if peers is not None and not any(_peer_matches(p, policy_ns, other, pods) for p in peers):
            continue
        ports = rule.get("ports")
        if ports is None or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports):
            return True
    return False


def _side_allows(policies, direction, pod, other, port, pods):
    if pod == INTERNET:
        return True
    namespace, labels = pods[pod]
    selecting = [p for p in policies if p["metadata"]["namespace"] == namespace and _selects(p["spec"]["podSelector"], labels)
                 and direction in p["spec"]["policyTypes"]]
    if not selecting:
        return True  # no policy isolates the pod in this direction
    key, peer_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    return any(_rules_allow(p["spec"].get(key), peer_key, namespace, other, port, pods) for p in selecting)


def allowed(policies, pods, source, target, port):
    return _side_allows(policies, "Egress", source, target, port, pods) and \
        _side_allows(policies, "Ingress", target, source, port, pods)


ALLOWED = [("traefik", "sophia-api", 8000), ("traefik", "mcp-gateway", 8080), ("sophia-api", "postgres", 5432),
           ("sophia-api", "redis", 6379), ("sophia-api", "redis", 26379), ("mcp-ai-memory", "postgres", 5432),
           ("postgres", "postgres", 5432), ("redis", "redis", 26379), ("cnpg-operator", "postgres", 8000),
           ("prometheus", "postgres", 9187), ("sophia-api", INTERNET, 443), ("postgres", INTERNET, 443)] + \
    [("mcp-gateway", "mcp-" + name, 8080) for name in MCP] + \
    [("mcp-" + name, INTERNET, 443) for name in MCP if name != "ai-memory"] + \
    [(pod, "coredns", 53) for pod in ["sophia-api", "mcp-gateway", "mcp-slack", "postgres", "redis"]]
DENIED = [("stranger", "sophia-api", 8000), ("stranger", "postgres", 5432), ("stranger", "redis", 6379),
          ("traefik", "mcp-github", 8080), ("traefik", "postgres", 5432), ("mcp-gateway", "postgres", 5432),
          ("mcp-gateway", "redis", 6379), ("mcp-gateway", INTERNET, 443), ("mcp-ai-memory", INTERNET, 443),
          ("mcp-github", "postgres", 5432), ("mcp-github", "mcp-slack", 8080), ("mcp-slack", "sophia-api", 8000),
          ("sophia-api", "mcp-github", 8080), ("sophia-api", "postgres", 5433), ("sophia-api", INTERNET, 80),
          ("redis", INTERNET, 443), ("redis", "postgres", 5432), ("mcp-gateway", "sophia-api", 8000),
          ("prometheus", "sophia-api", 8000), ("sophia-api", "coredns", 5353)]


def test_network_flows_are_exactly_the_intended_ones(rendered):
    policies = _find(rendered, "prod", "NetworkPolicy")
    pods = _pods(rendered)
    assert [flow for flow in ALLOWED if not allowed(policies, pods, *flow)] == []
    assert [flow for flow in DENIED if allowed(policies, pods, *flow)] == []


def test_graph_check_fails_without_default_deny(rendered):
    """The evaluator is not vacuous: drop the per-workload policies and a stranger reaches the API again only if
    nothing isolates it; with default deny alone, nothing at all is allowed."""
    policies = _find(rendered, "prod", "NetworkPolicy")
    pods = _pods(rendered)
    deny_only = [p for p in policies if p["metadata"]["name"] == "default-deny"]
    assert not allowed(deny_only, pods, "traefik", "sophia-api", 8000)
    assert allowed([], pods, "stranger", "sophia-api", 8000)


# --- PostgreSQL, Redis, VPA -----------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_postgres_archives_wal_within_the_recovery_point(rendered, env):
    (cluster,) = _find(rendered, env, "Cluster")
    spec = cluster["spec"]
    assert spec["instances"] == 3
    timeout = spec["postgresql"]["parameters"]["archive_timeout"]
    assert timeout.endswith("min") and int(timeout[:-3]) < 15
    (plugin,) = spec["plugins"]
    (store,) = _find(rendered, env, "ObjectStore")
    assert plugin["isWALArchiver"] is True and plugin["parameters"]["barmanObjectName"] == store["metadata"]["name"]
    assert store["spec"]["configuration"]["destinationPath"] == _inventory(env)["postgres_ha_backup_destination"]
    assert spec["storage"]["size"] == _inventory(env)["postgres_ha_storage_size"]
    (backup,) = _find(rendered, env, "ScheduledBackup")
    seconds, minutes, hours, day, month, weekday = backup["spec"]["schedule"].split()
    assert (day, month, weekday) == ("*", "*", "*") and hours.isdigit()  # once a day
    assert backup["spec"]["method"] == "plugin" and backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    (monitor,) = _find(rendered, env, "PodMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == {"cnpg.io/cluster": cluster["metadata"]["name"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_redis_three_nodes_sentinel_aof(rendered, env):
    values = yaml.safe_load(_find(rendered, env, "HelmChart", "sophia-redis")[0]["spec"]["valuesContent"])
    assert values["replicas"] == 3 and values["sentinel"]["quorum"] == 2
    assert values["redis"]["config"]["appendonly"] == "yes" and values["redis"]["config"]["appendfsync"] == "everysec"
    assert values["auth"] is True and values["existingSecret"] == "sophia-redis-auth"
    assert values["persistentVolume"]["size"] == _inventory(env)["redis_ha_storage_size"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpa_applies_only_where_no_hpa_scales_the_resource(rendered, env):
    hpas = {d["metadata"]["name"]: {m["resource"]["name"] for m in d["spec"]["metrics"]}
            for d in _find(rendered, env, "HorizontalPodAutoscaler")}
    vpas = {d["spec"]["targetRef"]["name"]: d["spec"] for d in _find(rendered, env, "VerticalPodAutoscaler")}
    assert set(hpas) | {"sophia-postgres", "sophia-redis-server"} == set(vpas)  # every workload has one
    for name, scaled in hpas.items():
        (policy,) = vpas[name]["resourcePolicy"]["containerPolicies"]
        if vpas[name]["updatePolicy"]["updateMode"] != "Off":
            assert not scaled & set(policy["controlledResources"]), name
    assert vpas["sophia-api"]["updatePolicy"]["updateMode"] == "Off"  # its HPA scales on CPU and memory
    assert vpas["mcp-slack"]["resourcePolicy"]["containerPolicies"][0]["controlledResources"] == ["memory"]
    assert vpas["mcp-slack"]["updatePolicy"]["updateMode"] == "Recreate"


# --- checkov --------------------------------------------------------------------------------------------------

SKIPS = os.path.join(REPO, "tests", "checkov", "app-skips.yml")


def test_checkov_finds_no_unexplained_failure(render_run, tmp_path):
    skips = _load(SKIPS)["skips"] or []
    for skip in skips:
        assert skip.get("id") and len(skip.get("reason", "").strip()) > 40, "checkov skip without a reason: %r" % skip
    # Secrets hold only placeholders here; checkov would flag them as hard-coded secrets otherwise.
    for env in ("prod",):
        target = tmp_path / env
        target.mkdir()
        for name, docs in render_run["manifests"][env].items():
            if not name.endswith("secrets"):
                (target / (name + ".yaml")).write_text(yaml.safe_dump_all(docs))
    failed, passed = _checkov(str(tmp_path), [skip["id"] for skip in skips])
    assert passed > 0
    assert [(c["check_id"], c["check_name"], c["file_path"], c["resource"]) for c in failed] == []


# --- refusals and data-driven rendering -----------------------------------------------------------------------

DIGEST = "sha256:" + "a" * 64
VALID = {
    "sophia_app_domain": "sophia.example.com", "sophia_app_jwt_signing_key": "k" * 40,
    "sophia_app_database_url": "postgresql://sophia:pw@db:5432/sophia", "sophia_app_redis_url": "redis://:pw@redis:6379/0",
    "sophia_app_images": {"backend": "ghcr.io/sophia-ai/backend@" + DIGEST, "mcp-gateway": "ghcr.io/sophia-ai/mcp-gateway@" + DIGEST,
                          "mcp-server": "ghcr.io/sophia-ai/mcp-server@" + DIGEST},
    "sophia_app_mcp_api_keys": {name: "key-" + name for name in MCP},
    "postgres_ha_app_password": "p" * 20, "postgres_ha_backup_access_key_id": "id", "postgres_ha_backup_secret_access_key": "s",
    "postgres_ha_backup_destination": "s3://sophia-backups/postgres", "redis_ha_password": "r" * 20,
}
NINTH = [{"name": n, "internet": n != "ai-memory"} for n in MCP] + [{"name": "jira", "internet": True}]
REFUSALS = {
    "app_tag": ("sophia_app", {"sophia_app_images": dict(VALID["sophia_app_images"], backend="ghcr.io/sophia-ai/backend:latest")},
                "sophia_app_images['backend'] ('ghcr.io/sophia-ai/backend:latest') must be repository@sha256:<digest>"),
    "app_unlisted_repo": ("sophia_app", {"sophia_app_images": dict(VALID["sophia_app_images"], backend="docker.io/x/y@" + DIGEST)},
                          "its repository listed in artifacts.yml"),
    "app_replicas": ("sophia_app", {"sophia_app_backend_replicas": 11},
                     "sophia_app_backend_hpa_min_replicas (3) <= sophia_app_backend_replicas (11)"),
    "app_mcp_key": ("sophia_app", {"sophia_app_mcp_api_keys": {"github": "k"}}, "(missing: ai-memory, codacy, linear"),
    "app_mcp_name": ("sophia_app", {"sophia_app_mcp_servers": [{"name": "Git Hub"}]}, "sophia_app_mcp_servers: every entry"),
    "app_jwt": ("sophia_app", {"sophia_app_jwt_signing_key": "short"}, "sophia_app_jwt_signing_key must have at least 32"),
    "pg_rpo": ("postgres_ha", {"postgres_ha_archive_timeout": "20min"}, "postgres_ha_archive_timeout ('20min') must be"),
    "pg_instances": ("postgres_ha", {"postgres_ha_instances": 2}, "postgres_ha_instances (2) must be at least 3"),
    "pg_version": ("postgres_ha", {"postgres_ha_operator_chart_version": "0.20.0"}, "postgres_ha_operator_chart_version (0.20.0)"),
    "pg_pitr_time": ("postgres_ha", {"postgres_ha_recovery_target_time": "yesterday"}, "postgres_ha_recovery_target_time empty or RFC 3339"),
    "redis_bitnami_64k": ("redis_ha", {"redis_ha_image_repository": "docker.io/bitnami/redis",
                                       "redis_ha_image_tag": "8.2.1-debian-12-r0",
                                       "redis_ha_node_page_size": 65536},
                          "does not run on 65536-byte pages (artifacts.yml records 4096 at most): "
                          "Bitnami's Redis images bundle a jemalloc built for 4 KiB pages"),
    "redis_quorum": ("redis_ha", {"redis_ha_sentinel_quorum": 1}, "redis_ha_sentinel_quorum (1) a majority"),
    "redis_aof": ("redis_ha", {"redis_ha_appendfsync": "no"}, "value of redis_ha_appendfsync must be one of"),
    "vpa_version": ("vpa", {"vpa_chart_version": "0.8.0"}, "vpa_chart_version 0.8.0 must be listed"),
    "vpa_no_memory_limit": ("vpa", {"vpa_updater_resources": {"requests": {"cpu": "50m", "memory": "200Mi"}}},
                            "vpa_updater_resources must be a map of requests (cpu and memory) and limits (memory"),
}
ACCEPTED = {
    "redis_bitnami_4k": ("redis_ha", {"redis_ha_image_repository": "docker.io/bitnami/redis", "redis_ha_image_tag": "8.2.1-debian-12-r0",
                                      "redis_ha_node_page_size": 4096}),
    "redis_official_64k": ("redis_ha", {"redis_ha_node_page_size": 65536}),
    "app_ninth_server": ("sophia_app", {"sophia_app_mcp_servers": NINTH,
                                        "sophia_app_mcp_api_keys": dict(VALID["sophia_app_mcp_api_keys"], jira="key-jira")}),
    "pg_pitr": ("postgres_ha", {"postgres_ha_recovery_target_time": "2026-11-29T10:00:00Z"}),
    "vpa_recommend_only": ("vpa", {"vpa_apply_recommendations": False}),
}


# The failure's message, with each failed loop item's (an assert in a loop reports only "One or more items failed").
FAILURE_RECORD = ("{{ {'failed': true, 'msg': (ansible_failed_result.msg | default('')) ~ ' ' ~ (ansible_failed_result.results"
                  " | default([]) | selectattr('failed', 'defined') | selectattr('failed') | map(attribute='msg') | join(' '))}"
                  " | to_json }}")


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("app-refusals"))
    plays = []
    for name, (role, variables) in sorted((n, v[:2]) for n, v in REFUSALS.items()) + sorted(ACCEPTED.items()):
        os.makedirs(os.path.join(tmp, name))
        plays.append({"name": name, "hosts": "localhost", "gather_facts": False, "tasks": [{"name": "Run", "block": [
            {"name": "Role", "ansible.builtin.include_role": {"name": "sophia.platform." + role},
             "vars": dict(VALID, k8s_apply_render_dir=os.path.join(tmp, name), **variables)},
            {"name": "Ok", "ansible.builtin.copy": {"dest": os.path.join(tmp, name + ".json"), "content": '{"failed": false}'}},
        ], "rescue": [{"name": "Failed", "ansible.builtin.copy": {
            "dest": os.path.join(tmp, name + ".json"),
            "content": FAILURE_RECORD}}]}]})
    playbook = os.path.join(tmp, "refusals.yml")
    with open(playbook, "w") as handle:
        json.dump(plays, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    run = subprocess.run([PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, playbook],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:]
    out = {}
    for name in list(REFUSALS) + list(ACCEPTED):
        out[name] = _load(os.path.join(tmp, name + ".json"))
        out[name]["objects"] = [d for path in sorted(glob.glob(os.path.join(tmp, name, "*.yaml"))) for d in _load_all(path)]
    return out


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_roles_refuse_bad_input(refusals, name):
    result = refusals[name]
    assert result["failed"] is True, result
    assert REFUSALS[name][2] in result["msg"], result["msg"]
    assert result["objects"] == []  # refused before anything was written


def test_redis_page_size_check_depends_on_the_nodes(refusals):
    assert refusals["redis_bitnami_4k"]["failed"] is False
    assert refusals["redis_official_64k"]["failed"] is False


def test_a_ninth_mcp_server_is_one_entry(refusals):
    result = refusals["app_ninth_server"]
    assert result["failed"] is False
    names = {d["metadata"]["name"] for d in result["objects"] if d["kind"] == "Deployment"}
    assert "mcp-jira" in names and len(names) == 11
    kinds = {d["kind"] for d in result["objects"] if d["metadata"]["name"].startswith("mcp-jira")}
    assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Secret",
                     "VerticalPodAutoscaler"}
    (gateway,) = [d for d in result["objects"] if d["kind"] == "Deployment" and d["metadata"]["name"] == "mcp-gateway"]
    env = {e["name"]: e.get("value") for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "jira=http://mcp-jira.sophia-ai.svc:8080" in env["MCP_SERVERS"]


def test_point_in_time_recovery_cluster(refusals, schemas):
    result = refusals["pg_pitr"]
    assert result["failed"] is False
    clusters = {d["metadata"]["name"]: d for d in result["objects"] if d["kind"] == "Cluster"}
    assert set(clusters) == {"sophia-postgres", "sophia-postgres-pitr"}
    recovery = clusters["sophia-postgres-pitr"]
    _validate(recovery, schemas[("postgresql.cnpg.io/v1", "Cluster")])
    assert recovery["spec"]["bootstrap"]["recovery"] == {"source": "origin",
                                                         "recoveryTarget": {"targetTime": "2026-11-29T10:00:00Z"}}
    (origin,) = recovery["spec"]["externalClusters"]
    assert origin["plugin"]["parameters"] == {"barmanObjectName": "sophia-postgres-backup", "serverName": "sophia-postgres"}


# --- maintenance playbooks ------------------------------------------------------------------------------------

MAINTENANCE = {
    "prod_unconfirmed": ("prod", "update-image.yml", {"sophia_app_service": "sophia-api",
                                                      "sophia_app_image": "ghcr.io/sophia-ai/backend@" + DIGEST}),
    "prod_confirmed": ("prod", "update-image.yml", {"sophia_app_service": "sophia-api", "sophia_app_confirm_environment": "prod",
                                                    "sophia_app_image": "ghcr.io/sophia-ai/backend@" + DIGEST}),
    "restart_prod_unconfirmed": ("prod", "restart.yml", {"sophia_app_service": "all"}),
    "restart_unknown": ("dev", "restart.yml", {"sophia_app_service": "mcp-jira"}),
    "update_tag": ("dev", "update-image.yml", {"sophia_app_service": "sophia-api", "sophia_app_image": "ghcr.io/sophia-ai/backend:v2"}),
    "update_wrong_repo": ("dev", "update-image.yml",
                          {"sophia_app_service": "mcp-github", "sophia_app_image": "ghcr.io/sophia-ai/backend@" + DIGEST}),
    "scale_over": ("dev", "scale.yml", {"sophia_app_service": "mcp-github", "sophia_app_scale_hpa_max_replicas": 50}),
    "scale_ok": ("dev", "scale.yml", {"sophia_app_service": "mcp-github", "sophia_app_scale_hpa_max_replicas": 4}),
}


@pytest.fixture(scope="module")
def maintenance():
    workdir = tempfile.mkdtemp(prefix="app-maintenance-")
    inventories = {env: render_app.platform.inventory_for(env, workdir) for env in ("prod", "dev")}

    def run(item):
        name, (env, playbook, variables) = item
        extra = os.path.join(workdir, name + ".json")
        with open(extra, "w") as handle:
            # A kubeconfig that does not exist: whatever passes the checks stops before any cluster call.
            json.dump(dict(variables, ansible_python_interpreter=sys.executable,
                           sophia_kubeconfig=os.path.join(workdir, "no-cluster.yaml")), handle)
        done = subprocess.run([PLAYBOOK, "-i", inventories[env], "-e", "@" + extra, os.path.join(REPO, "playbooks", playbook)],
                              cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
        return name, (done.returncode, " ".join(done.stdout.split()))  # messages are wrapped in the output

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, MAINTENANCE.items()))


@pytest.mark.parametrize("name,message", [
    ("prod_unconfirmed", "Confirm with -e sophia_app_confirm_environment=prod"),
    ("restart_prod_unconfirmed", "Confirm with -e sophia_app_confirm_environment=prod"),
    ("restart_unknown", "sophia_app_service ('mcp-jira') must be one of sophia-api, mcp-gateway, mcp-ai-memory"),
    ("update_tag", "sophia_app_image ('ghcr.io/sophia-ai/backend:v2') must be"),
    ("update_wrong_repo", "must be ghcr.io/sophia-ai/mcp-server@sha256:<digest>"),
    ("scale_over", "got sophia_app_scale_hpa_max_replicas = 50"),
])
def test_maintenance_playbooks_refuse(maintenance, name, message):
    code, log = maintenance[name]
    assert code != 0 and message in log, log[-3000:]


@pytest.mark.parametrize("name", ["prod_confirmed", "scale_ok"])
def test_maintenance_playbooks_accept_and_change_nothing_without_a_cluster(maintenance, name):
    code, log = maintenance[name]
    assert code == 0, log[-3000:]
    assert "does not exist (the K3s layer fetches it): nothing changed." in log
    assert "changed=0" in log
