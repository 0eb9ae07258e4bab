"""Day-2 playbooks against the lab (docs/day2.md): status.yml and diagnose.yml change nothing and report the
same under --check, status reports what the hosts really have, diagnose --tags gpu finds an Xid line written to
a lab host's journal the way the kernel's messages are stored there (through the nvidia-smi double of
molecule/nvidia-gpu, installed for the test and removed after it), diagnose --tags ssl reads the dates of a
certificate served on loopback, and logs.yml collects exactly a journal window.

Run by scripts/lab-test.sh (make lab-test). The lab's container hosts share this machine's kernel: nothing here
writes /dev/kmsg; the Xid line goes to the host's own journald (logger --journald, SYSLOG_IDENTIFIER=kernel).
"""

import datetime
import json
import os
import pathlib
import socket
import ssl
import subprocess
import threading
import time
import uuid

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import ENVVARS, FIREWALL_TABLE, LAB_DIR, OLD, REPO, podman

import ansible_runner

LAB_INVENTORY = REPO / "inventories" / "lab"
GPU_HOST = "sophia-worker-02"
DOUBLE = REPO / "molecule" / "nvidia-gpu" / "files" / "nvidia-smi-double"
SMI_DATA = REPO / "tests" / "data" / "nvidia-smi"
# A real Xid line (NVIDIA/open-gpu-kernel-modules#1150, tests/data/day2/xid.yml); journald stores the text
# after "kernel: " as MESSAGE.
XID_MESSAGE = "NVRM: Xid (PCI:0000:dc:00): 45, pid=1818990, name=python3, Ch 00000001 caused by previous Xid 149"


def run(pdd, playbook, extravars=None, inventories=(LAB_INVENTORY,), **kwargs):
    pdd.mkdir(parents=True, exist_ok=True)
    result = ansible_runner.run(private_data_dir=str(pdd), project_dir=str(REPO), playbook=playbook,
                                inventory=[str(path) for path in inventories], envvars=ENVVARS, quiet=True,
                                extravars=extravars or {}, **kwargs)
    return result


def stdout(result):
    return "".join(result.stdout.readlines()) if hasattr(result.stdout, "readlines") else result.stdout.read()


def outcomes(result):
    """Per host, the (task, outcome, changed) of every task, in order: what a --check run must repeat."""
    names = {"runner_on_ok": "ok", "runner_on_skipped": "skipped", "runner_on_failed": "failed",
             "runner_on_unreachable": "unreachable"}
    out = {}
    for event in result.events:
        if event["event"] in names:
            data = event["event_data"]
            out.setdefault(data["host"], []).append(
                (data["task"], names[event["event"]], bool((data.get("res") or {}).get("changed"))))
    return out


def changed(result):
    return {host: [task for task, _outcome, was_changed in tasks if was_changed]
            for host, tasks in outcomes(result).items() if any(c for _t, _o, c in tasks)}


def the_json(directory, prefix):
    (path,) = sorted(pathlib.Path(directory).glob(prefix + "-*.json"))
    return path, json.loads(path.read_text())


@pytest.fixture(scope="module")
def converged_lab(request):
    """The lab with site.yml applied: reused when the shared lab is already converged, else the session's
    site.yml run (make lab-test starts a fresh lab)."""
    if os.environ.get("SOPHIA_LAB_TEST") != "1":
        pytest.skip("run by scripts/lab-test.sh (make lab-test): needs the lab")
    if not (LAB_DIR / "known_hosts").is_file():
        pytest.fail("the lab is not up: run scripts/lab-test.sh (make lab-test)")
    tables = [podman("exec", host, "nft", "list", "table", "inet", FIREWALL_TABLE, check=False).returncode
              for host in OLD]
    if any(tables):
        site = request.getfixturevalue("site")[1]
        assert site.status == "successful", "site.yml failed on the lab"
    return LAB_DIR


@pytest.fixture(scope="module")
def status_runs(converged_lab, tmp_path_factory):
    runs = {}
    for mode in ("real", "check"):
        out = tmp_path_factory.mktemp("status-%s-out" % mode)
        result = run(tmp_path_factory.mktemp("status-%s" % mode), "playbooks/status.yml",
                     {"status_output_dir": str(out), "status_fail_on_problems": True},
                     cmdline="--check" if mode == "check" else None)
        runs[mode] = (result, out)
    return runs


def test_status_succeeds_and_changes_nothing(status_runs):
    result, _out = status_runs["real"]
    assert result.status == "successful", stdout(result)[-3000:]
    assert not result.stats["failures"] and not result.stats["dark"]
    assert changed(result) == {}


def test_status_under_check_runs_the_same_tasks_with_the_same_outcome(status_runs):
    real, check = status_runs["real"][0], status_runs["check"][0]
    assert check.status == "successful", stdout(check)[-3000:]
    assert changed(check) == {}
    assert outcomes(check) == outcomes(real)


def test_status_under_check_writes_the_same_report(status_runs):
    reports = {mode: the_json(out, "status")[1] for mode, (_r, out) in status_runs.items()}

    def stable(report):
        # Not the rule count: on the shared lab another run may reload a ruleset between the two runs
        # (test_status_firewall_matches_the_loaded_ruleset checks the count against the live table).
        hosts = {name: {"firewall": {key: host["firewall"][key] for key in ("table", "table_present", "input_policy")},
                        "synchronised": host["time"]["synchronised"],
                        "source": host["time"]["source"], "mounts": [d["mount"] for d in host["disks"]],
                        "gpu": host["gpu"]} for name, host in report["hosts"].items()}
        return hosts, report["cluster"], report["problems"], report["unreachable"]

    assert reports["check"]["check_mode"] is True and reports["real"]["check_mode"] is False
    assert stable(reports["check"]) == stable(reports["real"])


@pytest.mark.parametrize("host", sorted(OLD))
def test_status_firewall_matches_the_loaded_ruleset(status_runs, host):
    _path, report = the_json(status_runs["real"][1], "status")
    live = json.loads(podman("exec", host, "nft", "-j", "list", "table", "inet", FIREWALL_TABLE).stdout)["nftables"]
    policy = [item["chain"].get("policy") for item in live if "chain" in item and item["chain"].get("hook") == "input"]
    firewall = report["hosts"][host]["firewall"]
    assert firewall["table_present"] is True
    assert firewall["rules"] == sum(1 for item in live if "rule" in item)
    assert [firewall["input_policy"]] == policy


@pytest.mark.parametrize("host", sorted(OLD))
def test_status_time_sync_matches_chrony(status_runs, host):
    _path, report = the_json(status_runs["real"][1], "status")
    tracking = podman("exec", host, "chronyc", "-n", "-c", "tracking").stdout.strip().split(",")
    time_sync = report["hosts"][host]["time"]
    assert time_sync["synchronised"] is (tracking[13] != "Not synchronised")
    assert time_sync["stratum"] == tracking[2]


def test_status_reads_root_file_system_and_memory(status_runs):
    _path, report = the_json(status_runs["real"][1], "status")
    for host in OLD:
        mounts = {d["mount"]: d for d in report["hosts"][host]["disks"]}
        assert "/" in mounts and 0 < mounts["/"]["percent"] < 100
        assert 0 < float(report["hosts"][host]["memory"]["percent"]) < 100


def test_status_without_kubeconfig_says_the_cluster_was_not_checked(status_runs):
    if (REPO / ".kube" / "lab.yaml").exists():
        pytest.skip("this lab has a kubeconfig")
    result, out = status_runs["real"]
    _path, report = the_json(out, "status")
    assert report["cluster"]["available"] is False
    assert "no kubeconfig at" in report["cluster"]["reason"]
    assert "cluster   NOT CHECKED: no kubeconfig at" in stdout(result)


def test_status_prints_the_report_and_the_path_of_its_json(status_runs):
    result, out = status_runs["real"]
    path, _report = the_json(out, "status")
    text = stdout(result)
    assert "json      %s" % path in text
    for host in OLD:
        assert host in text


class TLSServer:
    """A TLS server on 127.0.0.1 serving a fresh self-signed certificate with known dates."""

    def __init__(self, directory):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.not_before, self.not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(self.not_before)
                .not_valid_after(self.not_after)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                .sign(key, hashes.SHA256()))
        (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.settimeout(2)
                    try:
                        tls.recv(1)
                    except (OSError, ssl.SSLError):
                        pass
            except (OSError, ssl.SSLError):
                conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    server = TLSServer(tmp_path_factory.mktemp("tls"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def diagnose_runs(converged_lab, tls_server, tmp_path_factory):
    runs = {}
    for mode in ("real", "check"):
        out = tmp_path_factory.mktemp("diagnose-%s-out" % mode)
        result = run(tmp_path_factory.mktemp("diagnose-%s" % mode), "playbooks/diagnose.yml",
                     {"diagnose_output_dir": str(out), "diagnose_ssl_host": "127.0.0.1",
                      "diagnose_ssl_port": tls_server.port, "diagnose_ssl_server_name": "localhost"},
                     cmdline="--check" if mode == "check" else None)
        runs[mode] = (result, out)
    return runs


def test_diagnose_every_tag_succeeds_and_changes_nothing(diagnose_runs):
    result, out = diagnose_runs["real"]
    assert result.status == "successful", stdout(result)[-3000:]
    assert changed(result) == {}
    _path, report = the_json(out, "diagnose")
    assert sorted(report["sections"]) == ["gpu", "high_load", "service_down", "ssl"]


def test_diagnose_under_check_runs_the_same_tasks_with_the_same_outcome(diagnose_runs):
    real, check = diagnose_runs["real"][0], diagnose_runs["check"][0]
    assert check.status == "successful", stdout(check)[-3000:]
    assert changed(check) == {}
    assert outcomes(check) == outcomes(real)


def test_diagnose_high_load_lists_consumers_on_every_host(diagnose_runs):
    _path, report = the_json(diagnose_runs["real"][1], "diagnose")
    for host in OLD:
        section = report["sections"]["high_load"]["hosts"][host]
        assert any(line.split()[:2] == ["PID", "USER"] for line in section["top_cpu"])
        assert section["top_memory"][0].split()[:2] == ["PID", "USER"]
        assert len(section["load"].split()) == 3


def test_diagnose_ssl_reads_the_served_certificate_dates(diagnose_runs, tls_server):
    for mode in ("real", "check"):
        _path, report = the_json(diagnose_runs[mode][1], "diagnose")
        served = report["sections"]["ssl"]["served"]
        assert served["not_after"] == tls_server.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert served["not_before"] == tls_server.not_before.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert served["expired"] is False and 29 <= served["days_left"] <= 30
    assert tls_server.handshakes >= 2


@pytest.fixture
def gpu_double(converged_lab, tmp_path):
    """The nvidia-smi double of molecule/nvidia-gpu on one lab host, in the gpu group of an extra inventory
    file; removed afterwards."""
    podman("exec", GPU_HOST, "mkdir", "-p", "/usr/local/share/nvidia-smi-double")
    for name in ("gh200.xml", "gh200.compute_cap.csv"):
        podman("cp", str(SMI_DATA / name), "%s:/usr/local/share/nvidia-smi-double/%s" % (GPU_HOST, name))
    podman("cp", str(DOUBLE), "%s:/usr/local/bin/nvidia-smi" % GPU_HOST)
    podman("exec", GPU_HOST, "chmod", "0755", "/usr/local/bin/nvidia-smi")
    inventory = tmp_path / "gpu.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"gpu": {"hosts": {GPU_HOST: None}}}}}))
    try:
        yield inventory
    finally:
        podman("exec", GPU_HOST, "rm", "-rf", "/usr/local/bin/nvidia-smi", "/usr/local/share/nvidia-smi-double",
               check=False)


def journal_time(host):
    return podman("exec", host, "date", "-u", "+%Y-%m-%d %H:%M:%S UTC").stdout.strip()


def diagnose_gpu(tmp_path, inventory, since, name):
    out = tmp_path / ("%s-out" % name)
    result = run(tmp_path / name, "playbooks/diagnose.yml",
                 {"diagnose_output_dir": str(out), "diagnose_since": since, "diagnose_ssl_host": ""},
                 inventories=(LAB_INVENTORY, inventory), tags="gpu")
    assert result.status == "successful", stdout(result)[-3000:]
    assert changed(result) == {}
    return the_json(out, "diagnose")[1]["sections"]["gpu"]


def test_diagnose_gpu_finds_an_xid_written_to_the_hosts_kernel_journal(gpu_double, tmp_path):
    since = journal_time(GPU_HOST)
    time.sleep(1.1)
    before = diagnose_gpu(tmp_path, gpu_double, since, "before")
    assert sorted(before["hosts"]) == [GPU_HOST]
    assert before["hosts"][GPU_HOST]["xid_errors"] == []

    # What journald stores for a kernel message (tests/data/day2/xid.yml): identifier "kernel", facility 0
    # (kern). Written to this container's journald, never to /dev/kmsg (the machine's own kernel).
    entry = "MESSAGE=%s\nSYSLOG_IDENTIFIER=kernel\nSYSLOG_FACILITY=0\nPRIORITY=4\n" % XID_MESSAGE
    written = subprocess.run(["podman", "exec", "-i", GPU_HOST, "logger", "--journald"], input=entry, text=True,
                             capture_output=True, timeout=30, check=False)
    assert written.returncode == 0, written.stderr
    found = podman("exec", GPU_HOST, "journalctl", "SYSLOG_IDENTIFIER=kernel", "--since", since, "--grep", "NVRM: Xid",
                   "-o", "cat", check=False).stdout
    assert XID_MESSAGE in found

    after = diagnose_gpu(tmp_path, gpu_double, since, "after")
    host = after["hosts"][GPU_HOST]
    assert [(e["xid"], e["pci"], e["pid"], e["process"], e["source"]) for e in host["xid_errors"]] == [
        (45, "0000:dc:00", 1818990, "python3", "kernel")]
    assert host["xid_errors"][0]["detail"] == "Ch 00000001 caused by previous Xid 149"


def test_diagnose_gpu_reads_the_gpu_through_the_nvidia_smi_double(gpu_double, tmp_path):
    section = diagnose_gpu(tmp_path, gpu_double, "-1h", "facts")
    host = section["hosts"][GPU_HOST]
    assert host["gpu_count"] == 1 and host["driver_version"] == "550.127.05"
    (gpu,) = host["gpus"]
    assert gpu["name"] == "NVIDIA GH200 480GB"
    # The double reports persistence as its persistence daemon recorded it: none runs here.
    assert gpu["persistence_mode"] is False
    assert gpu["ecc"]["volatile_total"] == {"correctable": 0, "uncorrectable": 0}
    assert gpu["remapped_rows"]["pending"] is False
    assert host["driver_library_mismatch"] is False and host["problems"] == []
    assert section["cluster"].startswith("no kubeconfig at") or "operator_pods" in section["cluster"]


def test_diagnose_gpu_on_a_gpu_host_without_nvidia_smi_says_so(converged_lab, tmp_path):
    inventory = tmp_path / "gpu.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"gpu": {"hosts": {"sophia-worker-01": None}}}}}))
    host = diagnose_gpu(tmp_path, inventory, "-1h", "none")["hosts"]["sophia-worker-01"]
    assert host["gpu_count"] == 0 and "nvidia-smi" in host["reason"]


def test_logs_collects_exactly_the_journal_window(converged_lab, tmp_path):
    markers = {name: "sophia-day2-%s-%s" % (name, uuid.uuid4().hex) for name in ("before", "inside", "after")}

    def mark(name):
        for host in OLD:
            podman("exec", host, "logger", "-t", "sophia-day2-test", markers[name])

    mark("before")
    time.sleep(2)
    since = journal_time("sophia-master-01")
    time.sleep(1.1)
    mark("inside")
    time.sleep(1.1)
    until = journal_time("sophia-master-01")
    time.sleep(2)
    mark("after")
    out = tmp_path / "logs"
    result = run(tmp_path / "pdd", "playbooks/logs.yml",
                 {"logs_since": since, "logs_until": until, "logs_output_dir": str(out)})
    assert result.status == "successful", stdout(result)[-3000:]
    assert changed(result) == {}
    assert sorted(p.name for p in out.iterdir()) == sorted(OLD)
    for host in OLD:
        journal = (out / host / "journal.log").read_text()
        assert markers["inside"] in journal
        assert markers["before"] not in journal and markers["after"] not in journal
        # short-iso: every entry starts with its ISO 8601 time
        assert all(line[:4].isdigit() and line[10] == "T" for line in journal.splitlines() if line and line[0] != " ")
