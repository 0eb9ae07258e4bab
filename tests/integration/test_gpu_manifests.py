# -*- coding: utf-8 -*-
"""What the GPU roles write for Kubernetes and K3s (gpu_operator now runs in the platform layer), rendered and validated offline.

One ansible-playbook run (connection=local) renders:
- the gpu_operator role's manifests into a temporary "K3s manifests directory";
- the nvidia role's K3s files (containerd config-v3 template, config drop-in) into temporary directories;
- the gpu_operator role's input checks, each expected to refuse.
Nothing outside the temporary directory is written. Built-in kinds are validated with
kubernetes-validate for the Kubernetes versions K3s is pinned to; the HelmChart against the
helm.cattle.io/v1 CRD schema kept in tests/data/crds/.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import jsonschema
import kubernetes_validate
import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from crd_schema import strict  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The HelmChart CRD of helm-controller v0.16.17, the one K3s v1.34.3 embeds (tests/data/crds/README.md).
CRD = os.path.join(REPO, "tests", "data", "crds", "helm-controller", "v0.16.17", "helm.cattle.io_helmcharts.yaml")
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")
# K3s v1.33 and v1.34 (containerd 2.x, config version 3) are the lines this collection targets.
KUBERNETES_VERSIONS = ["1.33", "1.34"]

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not in this environment")

REFUSALS = {
    "chart_not_in_manifest": ({"gpu_operator_chart_version": "v23.9.0"},
                              "gpu_operator_chart_version v23.9.0 is not in the artifact manifest"),
    "driver_with_host_driver": ({"gpu_operator_driver_enabled": True},
                                "so the operator must not install them: driver.enabled=True"),
    "toolkit_through_extra_values": ({"gpu_operator_values_extra": {"toolkit": {"enabled": True}}},
                                     "toolkit.enabled=True"),
    "driver_on_host_with_driver_facts": ({"gpu_operator_driver_enabled": True, "gpu_operator_host_driver": False},
                                         "these GPU hosts already have an NVIDIA driver installed: localhost"),
    "bad_interval": ({"gpu_operator_service_monitor_interval": "soon"}, "a duration such as 15s"),
    "time_slicing_one_replica": ({"gpu_operator_time_slicing_profiles": {"gh200-x1": 1}}, "to replicas from 2 to 16"),
    "time_slicing_profile_named_none": ({"gpu_operator_time_slicing_profiles": {"none": 4}}, "not 'none'"),
    "time_slicing_unknown_default": ({"gpu_operator_time_slicing_profiles": {"gh200-x4": 4},
                                      "gpu_operator_time_slicing_default": "gh200-x8"},
                                     "gpu_operator_time_slicing_default ('gh200-x8') must be 'none' or one of them"),
}


def _case_play(name, variables, results):
    return {
        "name": "Refusal " + name,
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{
            "name": "Run the checks",
            "block": [
                {"name": "Validate", "ansible.builtin.include_role": {
                    "name": "sophia.platform.gpu_operator", "tasks_from": "main.yml"},
                 "vars": dict(variables, gpu_operator_enabled=False)},
                {"name": "Record success", "ansible.builtin.copy": {
                    "dest": os.path.join(results, name + ".json"), "content": "{{ {'failed': false} | to_json }}"}},
            ],
            "rescue": [
                {"name": "Record the failure", "ansible.builtin.copy": {
                    "dest": os.path.join(results, name + ".json"),
                    "content": "{{ {'failed': true, 'msg': ansible_failed_result.msg | default('')} | to_json }}"}},
            ],
        }],
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("gpu-manifests"))
    dirs = {name: os.path.join(tmp, name) for name in ("manifests", "sliced", "containerd", "config.d", "results")}
    os.mkdir(dirs["results"])
    plays = [
        {
            "name": "Render the GPU operator manifests",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": "Run gpu_operator", "ansible.builtin.include_role": {"name": "sophia.platform.gpu_operator"},
                       "vars": {"gpu_operator_manifests_dir": dirs["manifests"], "gpu_operator_wait_for_k3s": False,
                                "gpu_operator_runtimeclass_manage": True,
                                "gpu_operator_service_monitor_labels": {"release": "kube-prometheus-stack"}}}],
        },
        {
            "name": "Render the GPU operator with time-slicing profiles",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": "Run gpu_operator", "ansible.builtin.include_role": {"name": "sophia.platform.gpu_operator"},
                       "vars": {"gpu_operator_manifests_dir": dirs["sliced"], "gpu_operator_wait_for_k3s": False,
                                "gpu_operator_time_slicing_enabled": True,
                                "gpu_operator_time_slicing_profiles": {"gh200-x4": 4, "gh200-x2": 2}}}],
        },
        {
            "name": "Render the nvidia role's K3s files",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": "Run nvidia k3s.yml", "ansible.builtin.include_role": {
                "name": "sophia.platform.nvidia", "tasks_from": "k3s.yml"},
                "vars": {"__nvidia_k3s_containerd_dir": dirs["containerd"], "__nvidia_k3s_config_dir": dirs["config.d"],
                         "nvidia_k3s_node_taints": ["nvidia.com/gpu=present:NoSchedule"]}}],
        },
        {
            "name": "Pretend localhost is a GPU host whose nvidia role found a driver",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": "Set the preflight fact", "ansible.builtin.set_fact": {
                "nvidia_host_preflight": {"driver_installed": True}}}],
        },
    ] + [_case_play(name, variables, dirs["results"]) for name, (variables, _msg) in sorted(REFUSALS.items())]
    playbook = os.path.join(tmp, "render.yml")
    inventory = os.path.join(tmp, "inventory.yml")
    with open(playbook, "w") as handle:
        json.dump(plays, handle)
    with open(inventory, "w") as handle:
        json.dump({"all": {"children": {"gpu": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0")
    run = subprocess.run([PLAYBOOK, "-i", inventory, playbook], cwd=REPO, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:]
    out = {}
    for root, _dirs, files in os.walk(tmp):
        for name in files:
            path = os.path.join(root, name)
            with open(path) as handle:
                out[os.path.relpath(path, tmp)] = handle.read()
    shutil.rmtree(tmp, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def helmchart_schema():
    with open(CRD) as handle:
        crd = yaml.safe_load(handle)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return strict(version["schema"]["openAPIV3Schema"])


def _docs(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _operator_docs(rendered):
    return {doc["kind"]: doc for doc in _docs(rendered["manifests/sophia-gpu-operator.yaml"])}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_kinds_validate(rendered, version):
    docs = _docs(rendered["manifests/sophia-gpu-operator.yaml"]) + _docs(rendered["manifests/sophia-runtimeclass-nvidia.yaml"])
    builtin = [doc for doc in docs if doc["kind"] != "HelmChart"]
    assert sorted(doc["kind"] for doc in builtin) == ["Namespace", "RuntimeClass"]
    for doc in builtin:
        kubernetes_validate.validate(doc, version, strict=True)


def test_helmchart_is_not_a_builtin_kind(rendered):
    """kubernetes-validate has no schema for the CRD: that is why the CRD schema is kept in the repository."""
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(_operator_docs(rendered)["HelmChart"], KUBERNETES_VERSIONS[0], strict=True)


def test_helmchart_validates_against_crd(rendered, helmchart_schema):
    chart = _operator_docs(rendered)["HelmChart"]
    jsonschema.validate(chart, helmchart_schema)
    assert chart["apiVersion"] == "helm.cattle.io/v1"
    assert chart["metadata"]["namespace"] == "kube-system"
    assert chart["spec"]["version"] == "v26.7.0"
    assert chart["spec"]["repo"] == "https://helm.ngc.nvidia.com/nvidia"
    assert chart["spec"]["targetNamespace"] == "gpu-operator"


def test_crd_schema_catches_a_mistyped_field(rendered, helmchart_schema):
    chart = copy.deepcopy(_operator_docs(rendered)["HelmChart"])
    chart["spec"]["valueContent"] = chart["spec"].pop("valuesContent")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(chart, helmchart_schema)
    chart = copy.deepcopy(_operator_docs(rendered)["HelmChart"])
    chart["spec"]["failurePolicy"] = "retry"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(chart, helmchart_schema)


def test_chart_values(rendered):
    values = yaml.safe_load(_operator_docs(rendered)["HelmChart"]["spec"]["valuesContent"])
    assert values["driver"]["enabled"] is False
    assert values["toolkit"]["enabled"] is False
    env = {item["name"]: item["value"] for item in values["toolkit"]["env"]}
    assert env["CONTAINERD_SOCKET"] == "/run/k3s/containerd/containerd.sock"
    assert env["CONTAINERD_CONFIG"] == "/var/lib/rancher/k3s/agent/etc/containerd/config.toml"
    # Chart v26.7.0 has no operator.defaultRuntime (the operator detects containerd); the class name stays.
    assert values["operator"] == {"runtimeClass": "nvidia"}
    assert values["nfd"]["enabled"] is True
    assert values["devicePlugin"]["enabled"] is True
    assert values["dcgmExporter"]["enabled"] is True
    assert values["dcgmExporter"]["serviceMonitor"] == {
        "enabled": True, "interval": "15s", "honorLabels": False,
        "additionalLabels": {"release": "kube-prometheus-stack"}}


def test_dcgm_exporter_collects_the_counters_the_alerts_read(rendered):
    """The exporter's metrics ConfigMap is the collection's counters list, byte for byte: the GPU alert rules
    are checked against that file (test_monitoring_rules.py), so the exporter must be given exactly it."""
    values = yaml.safe_load(_operator_docs(rendered)["HelmChart"]["spec"]["valuesContent"])
    config = values["dcgmExporter"]["config"]
    with open(os.path.join(REPO, "roles", "gpu_operator", "files", "dcgm-counters.csv"), encoding="utf-8") as handle:
        expected = handle.read()
    assert config["create"] is True and config["name"]
    assert config["data"].strip() == expected.strip()
    assert "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL" in config["data"]
    assert values["daemonsets"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert values["devicePlugin"]["config"] == {}  # no sharing unless asked for


def test_time_slicing_profiles(rendered):
    """Each inventory profile becomes one device-plugin config (replicas per GPU); `none` stays the default."""
    docs = {doc["kind"]: doc for doc in _docs(rendered["sliced/sophia-gpu-operator.yaml"])}
    config = yaml.safe_load(docs["HelmChart"]["spec"]["valuesContent"])["devicePlugin"]["config"]
    assert config["create"] is True and config["name"] == "sophia-device-plugin-config"
    assert config["default"] == "none"
    assert sorted(config["data"]) == ["gh200-x2", "gh200-x4", "none"]
    assert yaml.safe_load(config["data"]["none"]) == {"version": "v1", "flags": {"migStrategy": "none"}}
    for name, replicas in (("gh200-x4", 4), ("gh200-x2", 2)):
        profile = yaml.safe_load(config["data"][name])
        assert profile["version"] == "v1"
        assert profile["sharing"]["timeSlicing"] == {
            "renameByDefault": False, "failRequestsGreaterThanOne": True,
            "resources": [{"name": "nvidia.com/gpu", "replicas": replicas}]}


def test_namespace_allows_privileged_operator_pods(rendered):
    labels = _operator_docs(rendered)["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def test_k3s_config_dropin(rendered):
    config = yaml.safe_load(rendered["config.d/60-sophia-nvidia.yaml"])
    assert config == {
        "default-runtime": "nvidia",
        "node-label+": ["nvidia.com/gpu.present=true", "sophia.io/gpu=true"],
        "node-taint+": ["nvidia.com/gpu=present:NoSchedule"],
    }


def test_containerd_template(rendered):
    text = rendered["containerd/config-v3.toml.tmpl"]
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    # K3s's own base template first, so every K3s default stays K3s's.
    assert lines[0] == '{{ template "base" . }}'
    # The fallback runtime only when K3s's detection did not add one: the table must never appear twice.
    assert lines[1] == '{{ if not (index .ExtraRuntimes "nvidia").BinaryName }}'
    assert lines[-1] == "{{ end }}"
    assert "{%" not in text and "{#" not in text  # no Jinja left over
    # What the fallback adds is valid TOML of containerd's config version 3.
    body = "\n".join(lines[2:-1]).replace("{{ .SystemdCgroup }}", "true")
    assert "{{" not in body
    parsed = tomllib.loads(body)
    runtime = parsed["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["nvidia"]
    assert runtime["runtime_type"] == "io.containerd.runc.v2"
    assert runtime["options"] == {"BinaryName": "/usr/bin/nvidia-container-runtime", "SystemdCgroup": True}
    # Go template actions are balanced.
    opens = len(re.findall(r"\{\{\s*(if|range|with)\b", text))
    ends = len(re.findall(r"\{\{\s*end\s*\}\}", text))
    assert opens == ends


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_gpu_operator_refuses(rendered, name):
    result = json.loads(rendered["results/%s.json" % name])
    assert result["failed"] is True, result
    assert REFUSALS[name][1] in result["msg"], result["msg"]
