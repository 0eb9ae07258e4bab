"""sophia-deploy, the installed command, against the lab's real hosts: exit codes, the
JSON and JUnit summaries it writes, and a host it cannot reach.

Runs after the `site` fixture has converged the lab (scripts/lab-test.sh, `make lab-test`).
"""

import json
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import OLD, REPO

SCRIPT = shutil.which("sophia-deploy", path=str(pathlib.Path(sys.executable).parent))


def sophia_deploy(runner_dir, *argv, timeout=900):
    assert SCRIPT, "sophia-deploy is not installed in this venv: run scripts/setup.sh"
    done = subprocess.run([SCRIPT, *argv, "--runner-dir", str(runner_dir)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)
    runs = sorted(runner_dir.iterdir())
    assert len(runs) == 1, runs
    artifacts = runs[0] / "artifacts" / "run"
    return done, json.loads((artifacts / "summary.json").read_text()), ET.parse(artifacts / "junit.xml").getroot()


@pytest.fixture(scope="module")
def converged(site):
    assert site[1].status == "successful", "site.yml failed on the lab; sophia-deploy was not tried"


def test_report_on_the_lab_exits_zero_with_every_host_in_json_and_junit(converged, tmp_path):
    done, facts, junit = sophia_deploy(tmp_path, "lab", "report")
    assert done.returncode == 0, done.stdout + done.stderr
    assert facts["exit_code"] == 0 and facts["playbook"] == "playbooks/report.yml"
    assert set(facts["hosts"]) == set(OLD)
    assert all(counts["ok"] > 0 and not counts["failed"] and not counts["unreachable"]
               for counts in facts["hosts"].values())
    assert {case.get("name") for case in junit.iter("testcase")} == set(OLD)
    assert not list(junit.iter("failure"))
    # One progress line per task and a table row per host.
    assert "  Summarise ... ok=3" in done.stdout.splitlines()
    for host in OLD:
        assert [line for line in done.stdout.splitlines() if line.split()[:1] == [host]]


def test_check_mode_of_the_host_layer_on_a_converged_host_changes_nothing(converged, tmp_path):
    done, facts, _junit = sophia_deploy(tmp_path, "lab", "playbooks/hosts.yml", "--check", "--limit", "sophia-worker-02")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert facts["check"] is True and list(facts["hosts"]) == ["sophia-worker-02"]
    assert facts["hosts"]["sophia-worker-02"]["changed"] == 0, done.stdout[-3000:]


def test_a_host_it_cannot_reach_exits_four_and_fails_its_junit_case(converged, tmp_path):
    # Port 1 on a lab host: refused or dropped by its firewall, never SSH.
    done, facts, junit = sophia_deploy(tmp_path, "lab", "report", "--limit", "sophia-worker-02",
                                       "-e", "ansible_port=1")
    assert done.returncode == 4, done.stdout + done.stderr
    assert facts["unreachable_hosts"] == ["sophia-worker-02"] and facts["exit_code"] == 4
    failures = list(junit.iter("failure"))
    assert [failure.get("type") for failure in failures] == ["unreachable"]
    assert "unreachable sophia-worker-02" in done.stdout
