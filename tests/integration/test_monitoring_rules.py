# -*- coding: utf-8 -*-
"""The monitoring role's alerting: rules, their unit tests, Alertmanager routing, dashboards.

- Prometheus rule files (roles/monitoring/files/rules/) pass `promtool check rules`, and
  `promtool test rules` runs tests/data/promtool/*-test.yml, where every alert has a case in which
  it fires and one in which it stays silent (checked here too, from the files themselves).
- Every DCGM metric an alert or dashboard reads is collected by the counters list the collection
  gives the DCGM exporter (roles/gpu_operator/files/dcgm-counters.csv), and that list is the
  exporter's default list (tests/data/dcgm/) plus fields the exporter knows.
- templates/alertmanager.yaml.j2, rendered by ansible-playbook, passes `amtool check-config`;
  `amtool config routes test` routes critical to PagerDuty and Slack and warning to Slack only;
  a real Alertmanager on 127.0.0.1 delivers to loopback receivers and applies the inhibitions
  (amtool cannot test inhibition).
- Every PromQL expression of the dashboards parses (promtool, Grafana variables replaced).

promtool and amtool come from Debian's prometheus and prometheus-alertmanager packages
(scripts/setup.sh). Without them these tests skip with a loud reason, and fail under CI=true.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import glob
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLE = os.path.join(REPO, "roles", "monitoring")
RULE_FILES = sorted(glob.glob(os.path.join(ROLE, "files", "rules", "*.yml")))
DASHBOARDS = sorted(glob.glob(os.path.join(ROLE, "files", "dashboards", "*.json")))
PROMTOOL_TESTS = sorted(glob.glob(os.path.join(REPO, "tests", "data", "promtool", "*-test.yml")))
COUNTERS = os.path.join(REPO, "roles", "gpu_operator", "files", "dcgm-counters.csv")
DEFAULT_COUNTERS = os.path.join(REPO, "tests", "data", "dcgm", "default-counters.csv")
TEMPLATE = os.path.join(ROLE, "templates", "alertmanager.yaml.j2")
PLAYBOOK = os.path.join(sys.prefix, "bin", "ansible-playbook")
FAKE_ROUTING_KEY = "fake0routing0key0not0a0secret00"


def _tool(name):
    path = shutil.which(name) or (os.path.join("/usr/bin", name) if os.path.exists(os.path.join("/usr/bin", name)) else None)
    if path:
        return path
    message = ("%s is not installed: the alerting tests did NOT run. Install Debian's prometheus and "
               "prometheus-alertmanager packages (scripts/setup.sh does)." % name)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
    return None


@pytest.fixture(scope="module")
def promtool():
    return _tool("promtool")


@pytest.fixture(scope="module")
def amtool():
    return _tool("amtool")


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def _alert_rules():
    for path in RULE_FILES:
        for group in _load(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    yield os.path.basename(path), rule


def _all_exprs():
    for path in RULE_FILES:
        for group in _load(path)["groups"]:
            for rule in group["rules"]:
                yield "%s:%s" % (os.path.basename(path), rule.get("alert") or rule.get("record")), rule["expr"]
    for path, _title, expr in _dashboard_exprs():
        yield os.path.basename(path), expr


def _dashboard_exprs():
    for path in DASHBOARDS:
        with open(path) as handle:
            dashboard = json.load(handle)
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                yield path, panel["title"], target["expr"]


# ---------------------------------------------------------------- rule files


def test_rule_files_exist_one_per_concern():
    assert [os.path.basename(p) for p in RULE_FILES] == ["sophia-cluster.yml", "sophia-gpu.yml", "sophia-slo.yml"]


@pytest.mark.parametrize("path", RULE_FILES, ids=os.path.basename)
def test_promtool_check_rules(promtool, path):
    run = subprocess.run([promtool, "check", "rules", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout
    assert "SUCCESS" in run.stdout


@pytest.mark.parametrize("path", PROMTOOL_TESTS, ids=os.path.basename)
def test_promtool_unit_tests_pass(promtool, path):
    run = subprocess.run([promtool, "test", "rules", os.path.basename(path)], cwd=os.path.dirname(path),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-6000:]


def test_every_alert_has_severity_summary_and_runbook():
    seen = 0
    for name, rule in _alert_rules():
        seen += 1
        where = "%s %s" % (name, rule["alert"])
        assert rule.get("labels", {}).get("severity") in ("critical", "warning"), where
        assert rule.get("annotations", {}).get("summary"), where
        assert len(rule.get("annotations", {}).get("runbook", "")) > 20, where
    assert seen >= 20


def test_every_alert_is_unit_tested_firing_and_silent():
    """Each (alert, severity) fires in some promtool case; each alert is expected silent in another."""
    fires, silent, loaded = set(), set(), set()
    for path in PROMTOOL_TESTS:
        test = _load(path)
        loaded.update(os.path.basename(p) for p in test["rule_files"])
        for case in test["tests"]:
            for check in case.get("alert_rule_test", []):
                expected = check.get("exp_alerts") or []
                if not expected:
                    silent.add(check["alertname"])
                for alert in expected:
                    fires.add((check["alertname"], alert["exp_labels"]["severity"]))
    assert loaded == set(os.path.basename(p) for p in RULE_FILES)
    wanted = set((rule["alert"], rule["labels"]["severity"]) for _name, rule in _alert_rules())
    assert wanted - fires == set(), "alerts never shown to fire"
    assert set(a for a, _s in wanted) - silent == set(), "alerts never shown to stay silent"


def test_api_slo_rules_read_the_backend_metric_contract():
    text = open(os.path.join(ROLE, "files", "rules", "sophia-slo.yml")).read()
    for needle in ('http_requests_total{job="sophia-backend",code=~"5.."}',
                   'http_request_duration_seconds_bucket{job="sophia-backend",le="0.2"}',
                   'http_request_duration_seconds_count{job="sophia-backend"}'):
        assert needle in text
    docs = open(os.path.join(REPO, "docs", "monitoring-alerts.md")).read()
    for name in ("http_requests_total", "http_request_duration_seconds", "sophia_etcd_snapshot_last_success_timestamp_seconds"):
        assert name in docs


# ---------------------------------------------------------------- DCGM counters


def _counters(path, commented=False):
    """Field name -> (type, help) of the active lines (or of the commented-out ones)."""
    out = {}
    with open(path) as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip():
                continue
            first = row[0].strip()
            if first.startswith("#"):
                if not commented:
                    continue
                first = first.lstrip("# ").strip()
                if not re.match(r"^DCGM_[A-Z0-9_]+$", first) or len(row) < 3:
                    continue
            elif commented:
                continue
            out[first] = (row[1].strip(), ",".join(row[2:]).strip())
    return out


def test_default_counters_copy_is_the_recorded_upstream_file():
    with open(DEFAULT_COUNTERS, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    readme = open(os.path.join(REPO, "tests", "data", "dcgm", "README.md")).read()
    assert digest in readme


def test_collected_counters_are_the_exporter_default_plus_known_fields():
    default = _counters(DEFAULT_COUNTERS)
    known = dict(_counters(DEFAULT_COUNTERS, commented=True), **default)
    ours = _counters(COUNTERS)
    assert len(default) > 20
    assert set(default) - set(ours) == set(), "the collection must not drop default counters"
    for field, spec in ours.items():
        assert field in known, "%s is not a field dcgm-exporter's counter list knows" % field
        assert spec == known[field], field
    assert set(ours) - set(default) == {"DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
                                        "DCGM_FI_DEV_THERMAL_VIOLATION", "DCGM_FI_DEV_POWER_VIOLATION"}


def test_every_dcgm_metric_read_is_collected():
    collected = set(_counters(COUNTERS))
    read = {}
    for where, expr in _all_exprs():
        for name in re.findall(r"\b(DCGM_[A-Z0-9_]+)\b", expr):
            read.setdefault(name, where)
    assert len(read) >= 10
    missing = dict((name, where) for name, where in read.items() if name not in collected)
    assert missing == {}, "read but never collected (an alert on it would never fire)"
    # Label-type fields become labels on the other metrics, never series of their own.
    assert not [n for n in read if _counters(COUNTERS)[n][0] == "label"]


# ---------------------------------------------------------------- dashboards


def test_dashboards_are_grafana_dashboards_with_a_datasource_variable():
    assert [os.path.basename(p) for p in DASHBOARDS] == ["api-slo.json", "cluster.json", "gpus.json", "nodes.json"]
    uids = set()
    for path in DASHBOARDS:
        with open(path) as handle:
            dashboard = json.load(handle)
        assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36, path
        uids.add(dashboard["uid"])
        variables = dict((v["name"], v) for v in dashboard["templating"]["list"])
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (path, panel["title"])
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), (path, panel["title"])
    assert len(uids) == len(DASHBOARDS)


def test_gpu_dashboard_shows_utilisation_memory_temperature_power_and_xid():
    exprs = " ".join(e for p, _t, e in _dashboard_exprs() if p.endswith("gpus.json"))
    for metric in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP",
                   "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS"):
        assert metric in exprs


def _substitute(expr):
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1d")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)


def test_every_dashboard_expression_parses(promtool, tmp_path):
    rules = [{"record": "dashboard:expr_%d:check" % i, "expr": _substitute(expr)}
             for i, (_p, _t, expr) in enumerate(_dashboard_exprs())]
    assert len(rules) >= 30
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    run = subprocess.run([promtool, "check", "rules", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout
    assert "SUCCESS: %d rules found" % len(rules) in run.stdout


def test_dashboard_expression_check_can_fail(promtool, tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "x:y:z", "expr": _substitute('sum by (node) (rate(x[$__rate_interval])')}]}]}))
    run = subprocess.run([promtool, "check", "rules", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=120, check=False)
    assert run.returncode != 0


# ---------------------------------------------------------------- Alertmanager


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Stands in for Slack and PagerDuty on 127.0.0.1 and records what it is sent."""

    received = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, json.loads(body.decode("utf-8"))))
        self.send_response(200 if self.path == "/slack" else 202)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"success"}' if self.path != "/slack" else b"ok")

    def log_message(self, *args):
        pass


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def receiver():
    _Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1], _Receiver.received
    server.shutdown()


@pytest.fixture(scope="module")
def rendered(receiver):
    """alertmanager.yaml.j2 rendered by Ansible: with test credentials, and with the role's defaults."""
    if not os.path.exists(PLAYBOOK):
        pytest.skip("ansible-playbook is not in this environment")
    base, _received = receiver
    tmp = tempfile.mkdtemp(prefix="sophia-am-")
    cases = {
        "keys": {"monitoring_alertmanager_pagerduty_routing_key": FAKE_ROUTING_KEY,
                 "monitoring_alertmanager_slack_webhook_url": base + "/slack",
                 "monitoring_alertmanager_slack_channel": "#sophia-alerts",
                 "monitoring_alertmanager_pagerduty_url": base + "/pagerduty",
                 "monitoring_alertmanager_group_wait": "1s",
                 "monitoring_alertmanager_group_interval": "1s"},
        "defaults": {},
    }
    defaults = _load(os.path.join(ROLE, "defaults", "main", "alerting.yml"))
    plays = [{"name": "Render " + name, "hosts": "localhost", "gather_facts": False,
              "vars": dict(defaults, **variables),
              "tasks": [{"name": "Render", "ansible.builtin.template": {
                  "src": TEMPLATE, "dest": os.path.join(tmp, name + ".yml"), "mode": "0600"}}]}
             for name, variables in cases.items()]
    playbook = os.path.join(tmp, "render.yml")
    with open(playbook, "w") as handle:
        json.dump(plays, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0")
    run = subprocess.run([PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable,
                          playbook], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:]
    yield dict((name, os.path.join(tmp, name + ".yml")) for name in cases)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("case", ["keys", "defaults"])
def test_amtool_check_config(amtool, rendered, case):
    run = subprocess.run([amtool, "check-config", rendered[case]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout
    assert "SUCCESS" in run.stdout


def test_rendered_config_puts_credentials_only_where_they_belong(rendered):
    config = _load(rendered["keys"])
    receivers = dict((r["name"], r) for r in config["receivers"])
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key"] == FAKE_ROUTING_KEY
    assert receivers["slack"]["slack_configs"][0]["channel"] == "#sophia-alerts"
    assert "slack_configs" not in receivers["pagerduty"] and "pagerduty_configs" not in receivers["slack"]
    # Without vault values the receivers exist but send nothing (the lab), and the config stays valid.
    empty = dict((r["name"], r) for r in _load(rendered["defaults"])["receivers"])
    assert set(empty) == {"null", "pagerduty", "slack"}
    assert all(set(r) == {"name"} for r in empty.values())


def _routes(amtool, path, *labels):
    run = subprocess.run([amtool, "config", "routes", "test", "--config.file=" + path] + list(labels),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.parametrize("labels,receivers", [
    (["alertname=GpuXidError", "severity=critical", "node=gh200-1", "gpu=0"], "pagerduty,slack"),
    (["alertname=GpuFallenOffBus", "severity=critical", "node=gh200-1"], "pagerduty,slack"),
    (["alertname=GpuXidError", "severity=warning", "node=gh200-1", "gpu=0"], "slack"),
    (["alertname=ApiLatencyBudgetBurn", "severity=warning", "job=sophia-backend"], "slack"),
    (["alertname=Watchdog", "severity=none"], "null"),
])
def test_amtool_routes(amtool, rendered, labels, receivers):
    assert _routes(amtool, rendered["keys"], *labels) == receivers


@pytest.fixture(scope="module")
def alertmanager(rendered, receiver):
    binary = _tool("prometheus-alertmanager")
    port = _free_port()
    storage = tempfile.mkdtemp(prefix="sophia-am-data-")
    proc = subprocess.Popen([binary, "--config.file=" + rendered["keys"], "--storage.path=" + storage,
                             "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    for _attempt in range(100):
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("Alertmanager did not start: %s" % proc.stdout.read().decode("utf-8", "replace")[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    shutil.rmtree(storage, ignore_errors=True)


def _post(url, alerts):
    body = json.dumps([{"labels": dict(a, cluster="lab"), "annotations": {
        "summary": "test " + a["alertname"], "runbook": "test runbook line for " + a["alertname"]}} for a in alerts])
    request = urllib.request.Request(url + "/api/v2/alerts", data=body.encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _delivered(received, path, node):
    """Alert names of the notifications that reached `path` for `node`."""
    out = []
    for got_path, body in received:
        if got_path != path:
            continue
        text = json.dumps(body)
        if node in text:
            out.append(text)
    return out


@pytest.fixture(scope="module")
def delivered(alertmanager, receiver):
    """Posts every scenario at once, then waits until the receivers have heard all that should come."""
    _base, received = receiver
    _post(alertmanager, [
        # critical GPU alert: PagerDuty and Slack
        {"alertname": "GpuXidError", "severity": "critical", "node": "node-crit", "gpu": "0"},
        # warning: Slack only
        {"alertname": "GpuUtilisationOutsideTarget", "severity": "warning", "node": "node-warn", "gpu": "0"},
        # grouped by alertname, cluster and node: one notification for both GPUs
        {"alertname": "GpuUtilisationOutsideTarget", "severity": "warning", "node": "node-warn", "gpu": "1"},
        # NodeDown silences the same node's pod and GPU alerts, not another node's
        {"alertname": "NodeDown", "severity": "critical", "node": "node-down"},
        {"alertname": "PodCrashLooping", "severity": "warning", "node": "node-down", "namespace": "sophia", "pod": "api-1"},
        {"alertname": "GpuFallenOffBus", "severity": "critical", "node": "node-down", "gpu": "0"},
        {"alertname": "PodCrashLooping", "severity": "warning", "node": "node-up", "namespace": "sophia", "pod": "api-2"},
        # critical silences the warning of the same alert and GPU only
        {"alertname": "EtcdSnapshotTooOld", "severity": "critical", "node": "node-etcd"},
        {"alertname": "EtcdSnapshotTooOld", "severity": "warning", "node": "node-etcd"},
    ])
    deadline = time.time() + 60
    while time.time() < deadline:
        paths = [p for p, _b in received]
        if paths.count("/pagerduty") >= 3 and paths.count("/slack") >= 5:
            break
        time.sleep(0.5)
    time.sleep(3)  # anything wrongly routed or not inhibited would arrive within a few group intervals
    with urllib.request.urlopen(alertmanager + "/api/v2/alerts", timeout=10) as response:
        state = json.loads(response.read().decode("utf-8"))
    return received, state


def test_critical_gpu_alert_reaches_pagerduty_and_slack(delivered):
    received, _state = delivered
    pager = _delivered(received, "/pagerduty", "node-crit")
    slack = _delivered(received, "/slack", "node-crit")
    assert len(pager) == 1 and FAKE_ROUTING_KEY in pager[0] and "GpuXidError" in pager[0]
    assert len(slack) == 1 and "#sophia-alerts" in slack[0] and "test runbook line for GpuXidError" in slack[0]


def test_warning_reaches_slack_only(delivered):
    received, _state = delivered
    assert _delivered(received, "/pagerduty", "node-warn") == []
    assert len(_delivered(received, "/slack", "node-warn")) == 1


def test_alerts_of_one_alertname_and_node_are_grouped(delivered):
    received, _state = delivered
    slack = _delivered(received, "/slack", "node-warn")
    assert len(slack) == 1 and "[FIRING:2] warning GpuUtilisationOutsideTarget on node-warn" in slack[0]


def _inhibited_by(state, **labels):
    for alert in state:
        if all(alert["labels"].get(k) == v for k, v in labels.items()):
            return alert["status"]["inhibitedBy"]
    raise AssertionError("alert %s not in Alertmanager" % labels)


def test_node_down_inhibits_that_nodes_pod_and_gpu_alerts(delivered):
    received, state = delivered
    assert _inhibited_by(state, alertname="PodCrashLooping", node="node-down")
    assert _inhibited_by(state, alertname="GpuFallenOffBus", node="node-down")
    assert not _inhibited_by(state, alertname="NodeDown", node="node-down")
    assert not _inhibited_by(state, alertname="PodCrashLooping", node="node-up")
    down = _delivered(received, "/slack", "node-down") + _delivered(received, "/pagerduty", "node-down")
    assert down and all("NodeDown" in text and "PodCrashLooping" not in text and "GpuFallenOffBus" not in text
                        for text in down)
    assert len(_delivered(received, "/slack", "node-up")) == 1


def test_critical_inhibits_the_warning_of_the_same_alert(delivered):
    received, state = delivered
    assert _inhibited_by(state, alertname="EtcdSnapshotTooOld", severity="warning", node="node-etcd")
    assert not _inhibited_by(state, alertname="EtcdSnapshotTooOld", severity="critical", node="node-etcd")
    assert not _inhibited_by(state, alertname="GpuUtilisationOutsideTarget", node="node-warn")
    slack = _delivered(received, "/slack", "node-etcd")
    assert len(slack) == 1 and "*warning*" not in slack[0] and "*critical*" in slack[0]
