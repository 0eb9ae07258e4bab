"""The day2_summary filter (status.yml, diagnose.yml) on recorded Kubernetes API objects, `k3s etcd-snapshot
list` output, kernel Xid lines and cgroup cpu.stat files (tests/data/day2, provenance in tests/data/README.md)."""

import copy
import json
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.platform.plugins.filter.day2_summary import age_text, day2_summary, quantity

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "data", "day2")


def load(name):
    with open(os.path.join(DATA, name)) as handle:
        return yaml.safe_load(handle)


NODES = load("nodes.yml")["cases"]
CERTS = load("certificates.yml")["cases"]
BACKUPS = load("backups.yml")["cases"]
SNAPSHOTS = load("etcd-snapshot-list.yml")
XID = load("xid.yml")
CPU = load("cpu-stat.yml")["files"]


def test_every_recording_names_its_source():
    sources = [c["source"] for c in NODES + CERTS + BACKUPS + SNAPSHOTS["list_outputs"] + CPU]
    sources += [SNAPSHOTS["snapshot_files"]["source"], load("pods.yml")["source"], load("hpa.yml")["source"],
                load("node-metrics.yml")["source"]] + [line["source"] for line in XID["lines"]]
    assert all(sources)


@pytest.mark.parametrize("case", NODES, ids=[c["name"] for c in NODES])
def test_recorded_node_readiness_roles_and_capacity(case):
    (node,) = day2_summary([case["node"]], "nodes")
    assert {key: node[key] for key in case["expect"]} == case["expect"]
    assert node["metrics"] is False and node["cpu_percent"] is None


def test_node_without_a_metrics_entry_says_so():
    metrics = load("node-metrics.yml")["items"]
    (node,) = day2_summary([NODES[0]["node"]], "nodes", metrics=metrics)
    # The recorded metrics are of other nodes (master, node1, node2): nothing is joined by accident.
    assert node["metrics"] is False and node["cpu_used_cores"] is None


def test_node_usage_from_the_metrics_server_entry_of_the_same_name():
    metrics = copy.deepcopy(load("node-metrics.yml")["items"][0])
    metrics["metadata"]["name"] = "demo-control-plane"  # the one edit: join the recorded usage to the recorded node
    (node,) = day2_summary([NODES[0]["node"]], "nodes", metrics=[metrics])
    # 287982098n cores of 24; 1156520Ki of 131892272Ki
    assert node["cpu_used_cores"] == 0.288
    assert node["cpu_percent"] == 1.2
    assert node["memory_used_mib"] == 1129
    assert node["memory_percent"] == 0.9


@pytest.mark.parametrize("text,value", [("287982098n", 0.287982098), ("1156520Ki", 1156520 * 1024), ("24", 24.0),
                                        ("301m", 0.301), ("322550Mi", 322550 * 2 ** 20), ("bogus", None)])
def test_quantities(text, value):
    assert quantity(text) == pytest.approx(value) if value is not None else quantity(text) is None


def test_recorded_crashlooping_pod_is_reported_with_its_restarts():
    pod = load("pods.yml")["pod"]
    (record,) = day2_summary([pod], "pods")
    assert record == {
        "namespace": "demo", "name": "pod-demo", "node": "longinus-node-1", "phase": "Running",
        "reason": "CrashLoopBackOff", "containers": ["demo: CrashLoopBackOff"], "ready": "1/2", "restarts": 25,
        "last_termination": "demo: Error (exit 1) at 2024-01-19T12:18:25Z",
    }


def test_pod_whose_containers_all_run_is_not_reported():
    pod = copy.deepcopy(load("pods.yml")["pod"])
    statuses = pod["status"]["containerStatuses"]
    # Derived from the recording: the crashing container given the running container's recorded state.
    statuses[0] = dict(statuses[1], name="demo")
    assert day2_summary([pod], "pods") == []


def test_certificates_days_left_at_the_time_of_recording():
    certs = day2_summary([c["certificate"] for c in CERTS], "certificates", now="2023-10-01T00:00:00Z")
    nebula = next(c for c in certs if c["name"] == "nebula-operator-webhook-cert")
    # notAfter 2023-12-19T18:03:06Z is 79 days and 18 hours after 2023-10-01T00:00:00Z.
    assert nebula["days_left"] == 79.8
    assert nebula["expired"] is False and nebula["renewal_overdue"] is False
    assert nebula["ready"] == "True" and nebula["reason"] == "Ready"


def test_certificates_expired_long_after_recording_are_flagged_and_listed_first():
    certs = day2_summary([c["certificate"] for c in CERTS], "certificates", now="2026-11-30T00:00:00Z")
    assert [c["name"] for c in certs] == ["nebula-operator-webhook-cert", "my-root-ca"]
    assert all(c["expired"] and c["renewal_overdue"] and c["days_left"] < 0 for c in certs)
    # cert-manager still said Ready: the report must not take Ready for "valid".
    assert all(c["ready"] == "True" for c in certs)


@pytest.mark.parametrize("case", SNAPSHOTS["list_outputs"], ids=[c["name"] for c in SNAPSHOTS["list_outputs"]])
def test_latest_snapshot_from_recorded_k3s_etcd_snapshot_list(case):
    summary = day2_summary(case["text"], "etcd_snapshots", now=case["expect"]["created"])
    assert summary["count"] == case["expect"]["count"]
    latest = summary["latest"]
    assert (latest["name"], latest["created"], latest["size"]) == (
        case["expect"]["latest"], case["expect"]["created"], case["expect"]["size"])
    assert latest["age_seconds"] == 0


def test_latest_snapshot_from_etcdsnapshotfile_objects_and_its_age():
    files = SNAPSHOTS["snapshot_files"]
    summary = day2_summary(files["items"], "etcd_snapshots", now="2023-10-24T20:18:00Z")
    assert summary["count"] == files["expect"]["count"]
    assert summary["latest"]["name"] == files["expect"]["latest"]
    assert summary["latest"]["size"] == files["expect"]["size"]
    assert summary["latest"]["node"] == "ip-1-1-1-1"
    assert (summary["latest"]["age"], summary["latest"]["age_seconds"]) == ("1d 1h", 90000)


def test_no_snapshot_at_all():
    assert day2_summary([], "etcd_snapshots") == {"count": 0, "latest": None}
    assert day2_summary("", "etcd_snapshots") == {"count": 0, "latest": None}


def test_backups_latest_completed_its_age_and_the_failure():
    summary = day2_summary([c["backup"] for c in BACKUPS], "backups", now="2023-09-19T00:00:00Z")
    assert summary["count"] == 3 and summary["completed"] == 2
    latest = summary["latest_completed"]
    assert (latest["name"], latest["cluster"], latest["method"]) == ("backup-1695072640", "angus", "barmanObjectStore")
    assert (latest["finished"], latest["age"]) == ("2023-09-18T22:36:29Z", "1h 23m")
    # A completed volume snapshot without times cannot have an age; it is named, not guessed.
    assert summary["completed_without_time"] == ["angus-backup-02"]
    (failed,) = summary["failed"]
    assert failed["name"] == "test-backup" and failed["cluster"] == "database-cluster-dev"
    assert failed["error"].startswith("can't execute snapshot backup")


def test_no_completed_backup():
    summary = day2_summary([BACKUPS[2]["backup"]], "backups")
    assert summary["latest_completed"] is None and len(summary["failed"]) == 1


def test_recorded_hpa_at_its_maximum():
    (hpa,) = day2_summary([load("hpa.yml")["hpa"]], "hpa")
    assert hpa["limited"] is True and hpa["active"] == "True"
    assert hpa["metrics"] == ["cpu 150%"]
    assert (hpa["current_replicas"], hpa["desired_replicas"]) == (2, 2)
    assert hpa["conditions"]["ScalingLimited"] == "True (TooManyReplicas)"


@pytest.mark.parametrize("line", XID["lines"], ids=[str(line["expect"]["xid"]) for line in XID["lines"]])
def test_recorded_xid_lines(line):
    (event,) = day2_summary([line["line"]], "xid")
    assert {key: event[key] for key in line["expect"]} == line["expect"]
    assert event["message"].startswith("NVRM: Xid")


def test_other_nvrm_lines_are_not_xid_events():
    assert day2_summary([line["line"] for line in XID["not_xid"]], "xid") == []


def test_recorded_kernel_journal_entry_without_xid_gives_nothing():
    assert day2_summary([XID["journal_entry"]["json"]], "xid") == []


def test_xid_in_a_kernel_journal_entry_keeps_its_time():
    entry = json.loads(XID["journal_entry"]["json"])
    entry["MESSAGE"] = XID["lines"][0]["line"].split("kernel: ", 1)[1]  # journald stores the text after the prefix
    (event,) = day2_summary(json.dumps(entry), "xid")
    assert (event["xid"], event["source"]) == (45, "kernel")
    assert event["time"] == "2026-11-30T01:58:56Z"  # __REALTIME_TIMESTAMP 1796003936400004 us


@pytest.mark.parametrize("case", CPU, ids=[c["name"] for c in CPU])
def test_recorded_cpu_stat(case):
    (record,) = day2_summary([{"path": case["path"], "content": case["content"]}], "cpu_stat")
    assert {key: record[key] for key in case["expect"]} == case["expect"]


def test_cpu_stat_most_throttled_first():
    records = day2_summary([{"path": c["path"], "content": c["content"]} for c in CPU], "cpu_stat")
    assert records[0]["cgroup"] == "/sys/fs/cgroup/burner/cpu.stat"


def test_report_lines_say_what_is_wrong():
    now = "2026-11-30T00:00:00Z"
    report = {
        "generated_at": now, "inventory": "lab",
        "hosts": {
            "a": {"firewall": {"table_present": False, "problem": "no table inet sophia_filter"},
                  "time": {"synchronised": False, "problem": "chronyd not answering"},
                  "disks": [], "memory": {"percent": 1}, "load": "0.1", "gpu": {"gpu_count": 0, "reason": "no nvidia-smi"}},
        },
        "cluster": {"available": True,
                    "nodes": day2_summary([c["node"] for c in NODES], "nodes"),
                    "pods_not_running": day2_summary([load("pods.yml")["pod"]], "pods"),
                    "certificates": day2_summary([c["certificate"] for c in CERTS], "certificates", now=now),
                    "etcd_snapshots": day2_summary([], "etcd_snapshots", now=now),
                    "backups": day2_summary([c["backup"] for c in BACKUPS], "backups", now=now)},
    }
    text = "\n".join(day2_summary(report, "report_lines"))
    for expected in ["NOT IN FORCE: no table inet sophia_filter", "NOT SYNCHRONISED: chronyd not answering",
                     "NONE USABLE: no nvidia-smi", "docker02 NOT READY (NodeStatusUnknown)", "1 not running",
                     "demo/pod-demo CrashLoopBackOff, restarts 25", "EXPIRED", "NO SNAPSHOT FOUND",
                     "last backup backup-1695072640"]:
        assert expected in text


def test_report_without_a_cluster_says_why():
    lines = day2_summary({"hosts": {}, "cluster": {"available": False, "reason": "no kubeconfig at /x"}},
                         "report_lines")
    assert lines[-1] == "cluster   NOT CHECKED: no kubeconfig at /x"


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (59, "59s"), (3600, "1h 0m"), (90000, "1d 1h"),
                                          (-120, "in 2m"), (None, "unknown")])
def test_age_text(seconds, text):
    assert age_text(seconds) == text


def test_bad_arguments_are_refused():
    with pytest.raises(AnsibleFilterError, match="now="):
        day2_summary([], "nodes", now="yesterday")
    with pytest.raises(AnsibleFilterError, match="unknown kind"):
        day2_summary([], "gpus")


HOST = load("host-output.yml")


def test_df_of_a_lab_host_reads_root_and_the_bind_mounted_file():
    disks = day2_summary(HOST["df"][0]["text"], "disks")
    assert [d["mount"] for d in disks] == ["/", "/etc/resolv.conf"]
    root = disks[0]
    # 30207938560 of 270553174016 bytes
    assert (root["fstype"], root["size_gib"], root["used_gib"], root["percent"]) == ("overlay", 252.0, 28.1, 11.2)


def test_df_repeating_a_mount_gives_it_once():
    assert [d["mount"] for d in day2_summary(HOST["df"][1]["text"], "disks")] == ["/"]


def test_grep_output_of_cpu_stat_files():
    (idle,) = day2_summary(HOST["grep_cpu_stat"]["text"], "cpu_stat")
    assert idle == {"cgroup": "/sys/fs/cgroup/cpu/libpod_parent/conmon/cpu.stat", "periods": 0,
                    "throttled_periods": 0, "throttled_percent": 0.0, "throttled_seconds": 0.0}
    (busy,) = day2_summary(HOST["grep_cpu_stat_throttled"]["text"], "cpu_stat")
    # 18 of 23 periods throttled, 1347256756 ns
    assert (busy["throttled_percent"], busy["throttled_seconds"]) == (78.3, 1.347)


def test_problems_of_a_healthy_report_without_a_cluster():
    report = {"hosts": {"a": {"firewall": {"table_present": True}, "time": {"synchronised": True}, "gpu": None}},
              "cluster": {"available": False, "reason": "no kubeconfig"}, "unreachable": []}
    assert day2_summary(report, "problems") == []


def test_problems_name_each_host_and_object():
    now = "2026-11-30T00:00:00Z"
    report = {
        "unreachable": ["c"],
        "hosts": {"a": {"firewall": {"table_present": False, "problem": "no table inet sophia_filter"},
                        "time": {"synchronised": False, "problem": "leap status Not synchronised"},
                        "gpu": {"gpu_count": 0, "reason": "nvidia-smi was not found", "problems": []}}},
        "cluster": {"available": True, "nodes": day2_summary([c["node"] for c in NODES], "nodes"),
                    "pods_not_running": day2_summary([load("pods.yml")["pod"]], "pods"),
                    "certificates": day2_summary([CERTS[0]["certificate"]], "certificates", now=now),
                    "etcd_snapshots": day2_summary(SNAPSHOTS["list_outputs"][0]["text"], "etcd_snapshots", now=now),
                    "backups": day2_summary([BACKUPS[2]["backup"]], "backups", now=now)},
    }
    assert day2_summary(report, "problems") == [
        "c: not reached (unreachable or failed before it was read)",
        "a: firewall not in force (no table inet sophia_filter)",
        "a: time not synchronised (leap status Not synchronised)",
        "a: no usable GPU (nvidia-smi was not found)",
        "node docker02: not ready (NodeStatusUnknown)",
        "pod demo/pod-demo: CrashLoopBackOff",
        "certificate cert-manager/my-root-ca: expired, expires 2024-04-07T16:53:47Z",
        "database: no completed backup found",
    ]
